//! One `converge` function per Azure resource: the wanted resource in, then read → compare →
//! create or update → wait, and [`Converged`] out. `up`'s plan and the step commands
//! (`az-hpccache-ext subnet create`, `amlfs create`, ...) call the same function, so the checks
//! (immutable fields, free subnet space, role retries) live in one place.

use serde::Serialize;

/// What a converge function leaves behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Converged {
    /// The resource's ARM id.
    pub id: String,
    /// Whether this call created it (false: it was there and now matches what was wanted).
    pub created: bool,
}

pub mod amlfs;
pub mod dns;
pub mod roles;
pub mod storage;
pub mod subnet;
