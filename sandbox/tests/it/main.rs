//! Integration tests of the sandbox's ARM and Kubernetes APIs.
//!
//! One test binary for the crate: each file below was its own binary, each linking the
//! whole dependency tree (about 70 MB and a link of several seconds apiece), which ran a
//! fresh CI machine out of disk. One file's tests: `cargo test -p hpccache-sandbox --test it {name}::`.

mod arm_support;
mod kube_support;
#[path = "arm_support/real_azure.rs"]
mod real_azure;

mod arm_amlfs;
mod arm_amlfs_hsm;
mod arm_contention;
mod arm_examples;
mod arm_fabric;
mod arm_failures;
mod arm_faults;
mod arm_lockdown;
mod arm_lro;
mod arm_lustre_fabric;
mod arm_paging;
mod arm_persistence;
mod arm_rules;
mod arm_tenant;
mod arm_tokens;
mod cli_settings;
mod kube_api;
mod kube_binder;
mod kube_client;
mod kube_kubectl;
mod kube_kubelet;
mod kube_lustre;
mod world_lustre_csi;
