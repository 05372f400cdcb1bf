//! hpccache-core: everything that is not argument parsing or drawing.
//!
//! - [`spec`]: every value a user can give, validated before any network call.
//! - [`state`]: the state file shared by `az-hpccache-ext` and `kubectl-hpccache`.
//! - [`probe`]: the one-line report a verification probe pod prints.
//! - [`owner`]: the one-line report the job of `up --owner` prints.
//!
//! The core prints nothing; binaries own their output conventions.

pub mod azure;
pub mod converge;
pub mod deploy;
pub mod error;
pub mod kube;
pub mod owner;
pub mod probe;
pub mod progress;
mod report_line;
pub mod spec;
pub mod state;

pub use error::{Error, InvalidInput, Result};
