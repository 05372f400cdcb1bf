//! The state file: one JSON document per deployment, shared by both binaries.
//!
//! - [`schema`]: what the file holds ([`State`]), with a schema `version`.
//! - [`file`]: reading, atomic writing (temp file + fsync + rename, mode 0600) and the
//!   exclusive lock a writing run holds for its whole duration.
//! - [`locate`]: where the file is (`--state`, `HPCCACHE_STATE`, the user's state dir).
//!
//! It never holds a secret: no keys, no tokens, no kubeconfigs.

mod cache_settings;
mod file;
#[cfg(test)]
mod fuzz_tests;
mod locate;
mod neighbours;
mod schema;

pub use cache_settings::record_root_squash;
pub use file::{LockedState, read, read_optional};
pub use locate::{Location, STATE_ENV, deployments_dir, list_deployments, resolve};
pub use neighbours::Neighbours;
pub use schema::{
    Backend, CacheInfo, ClusterInfo, DnsInfo, KIND, KubeObject, LustreInfo, OwnerRecord, Resource,
    SCHEMA_VERSION, Settings, State, StepRecord,
};
