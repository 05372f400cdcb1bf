//! hpccache-sandbox: an emulated Azure Resource Manager and Kubernetes API on loopback.
//!
//! - [`arm`]: Azure Resource Manager, Microsoft Graph lookup, the world's Azure resources.
//! - [`kube`]: one Kubernetes API server per sandbox cluster, with binder and kubelet model.
//! - [`fabric`]: what the kubelet model asks the Azure side about NFS mounts.
//!
//! The sandbox shares no request-building or response-parsing code with hpccache-core's
//! clients: it is the other side of the wire, written from the specs.

pub mod arm;
pub mod fabric;
pub mod kube;
pub mod local;
pub mod sandbox;
pub mod settings;
pub mod token;
pub mod world;
