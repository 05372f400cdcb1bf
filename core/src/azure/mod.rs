//! Azure access: every call the tools make to Resource Manager and Microsoft Graph.
//!
//! - [`cloud`]: endpoints and token scopes per cloud; the TLS/loopback rule.
//! - [`credential`]: where tokens come from ([`credential::TokenSource`]).
//! - [`client`]: [`client::ArmClient`], the one request function (retry, throttling, redaction).
//! - [`lro`]: the one long-running-operation poller.
//! - one module per provider with the typed operations the tools need: [`aks`], [`network`],
//!   [`providers`], [`storage`], [`authorization`], [`graph`], [`cache`], [`dns`], [`amlfs`]
//!   (Azure Managed Lustre); [`ids`] for resource ids.
//!
//! The generated azure_mgmt_* crates are not used to send anything: their long-running futures
//! re-send the PUT on every poll. Bodies here are small serde structs, or for Managed Lustre the
//! generated models of azure_mgmt_storagecache, checked against the official specs
//! (tests/it/azure_spec_bodies.rs).

pub mod aks;
pub mod amlfs;
pub mod authorization;
pub mod az_profile;
pub mod cache;
pub mod client;
pub mod cloud;
pub mod credential;
pub mod dns;
pub mod graph;
pub mod ids;
pub mod lro;
pub mod network;
pub mod providers;
pub mod redact;
pub mod storage;
pub mod transport;

pub use client::{ArmClient, ArmRequest, ArmResponse, ClientOptions, RetryPolicy, Stats};
pub use cloud::Cloud;
pub use credential::{AccessToken, StaticToken, TokenSource};
pub use ids::ResourceId;
pub use lro::{FinalState, Operation, OperationKind, PollPolicy, Until};
pub use transport::Method;
#[cfg(test)]
mod fuzz_tests;
