//! Integration tests of hpccache-core against a scripted ARM stand-in.
//!
//! One test binary for the crate: each file below was its own binary, each linking the
//! whole dependency tree (about 70 MB and a link of several seconds apiece), which ran a
//! fresh CI machine out of disk. One file's tests: `cargo test -p hpccache-core --test it {name}::`.

mod azure_support;

mod azure_amlfs;
mod azure_client;
mod azure_debug_log;
mod azure_examples;
mod azure_lro;
mod azure_operations;
mod azure_real_failures;
mod azure_spec_bodies;
