//! End-to-end tests: the built binaries against the sandbox.
//!
//! One test binary for the crate: each file below was its own binary, each linking the
//! whole dependency tree (about 70 MB and a link of several seconds apiece), which ran a
//! fresh CI machine out of disk. One file's tests: `cargo test -p hpccache-tests --test it {name}::`.

mod az_amlfs_attach;
mod az_amlfs_down;
mod az_amlfs_group;
mod az_amlfs_up;
mod az_attach;
mod az_output_order;
mod az_progress;
mod az_root_squash;
mod az_steps;
mod az_up;
mod az_up_extra;
mod cli_state;
mod converge_commands;
mod krew_manifest;
mod kubectl_cluster;
mod kubectl_completion;
mod kubectl_lustre;
mod kubectl_real;
mod kubectl_scope;
mod manifests_schema;
mod real_azure_graph;
mod real_azure_lockdown;
mod real_azure_network;
mod reliability_amlfs;
mod reliability_concurrency;
mod reliability_crash;
mod reliability_faults;
mod reliability_input;
mod reliability_safety;
mod reliability_secrets;
mod safety_deployments;
mod safety_errors;
