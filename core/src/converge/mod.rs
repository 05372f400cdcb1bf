//! One `converge` function per Azure resource: the wanted resource in, then read → compare →
//! create or update → wait, and [`Converged`] out. `up`'s plan and the step commands
//! (`az-hpccache-ext subnet create`, `amlfs create`, ...) call the same function, so the checks
//! (immutable fields, free subnet space, role retries) live in one place.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Result;
use crate::azure::ArmClient;
use crate::azure::lro::{self, PollPolicy, Until};
use crate::progress::Progress;

/// What a converge function leaves behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Converged {
    /// The resource's ARM id.
    pub id: String,
    /// Whether this call created it (false: it was there and now matches what was wanted).
    pub created: bool,
}

/// What a converge function leaves behind, with the resource as it is now.
#[derive(Debug)]
pub struct Outcome<T> {
    pub converged: Converged,
    pub resource: T,
}

impl<T> Outcome<T> {
    pub fn new(id: impl Into<String>, created: bool, resource: T) -> Self {
        Outcome {
            converged: Converged {
                id: id.into(),
                created,
            },
            resource,
        }
    }
}

/// How a converge function that waits runs.
pub struct Options<'a> {
    pub policy: &'a PollPolicy,
    pub progress: &'a Progress,
    /// Called right before the create PUT, to record the resource as this tool's first.
    pub before_create: &'a (dyn Fn() -> Result<()> + Sync),
}

impl<'a> Options<'a> {
    /// With nothing to record before a create (a step command keeps no state).
    pub fn new(policy: &'a PollPolicy, progress: &'a Progress) -> Self {
        fn nothing() -> Result<()> {
            Ok(())
        }
        Options {
            policy,
            progress,
            before_create: &nothing,
        }
    }
}

/// What converging a long-running resource (an HPC Cache, a Managed Lustre filesystem) would
/// do, from what was read.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Create,
    /// Ours, ended Failed: delete it and create it again.
    Recreate,
    /// Still creating or updating (its provisioning state).
    Wait(String),
    /// Succeeded, with these settings to change (and why).
    Update(Vec<String>),
    None,
}

impl Decision {
    /// The plan's verb.
    pub fn action(&self) -> &'static str {
        match self {
            Decision::Create => "create",
            Decision::Recreate => "recreate",
            Decision::Wait(_) => "wait",
            Decision::Update(_) => "update",
            Decision::None => "none",
        }
    }
}

/// How the converge of a long-running resource (an HPC Cache, a Managed Lustre filesystem)
/// runs.
pub struct LongRunning<'a> {
    /// Return once the create or update has started (the operation is in the outcome).
    pub no_wait: bool,
    pub policy: &'a PollPolicy,
    pub progress: &'a Progress,
    /// An operation an earlier `--no-wait` saved for this resource.
    pub saved: Option<lro::Operation>,
    /// Whether this tool created the resource (a Failed one of ours is re-created).
    pub ours: bool,
    /// Called right before the create PUT, to record the resource as this tool's first.
    pub before_create: &'a (dyn Fn() -> Result<()> + Sync),
}

/// Whether a resource in provisioning state `state` is still being created or updated (no
/// state: it is done).
pub fn settling(state: Option<&str>) -> bool {
    !state.is_none_or(|s| s.eq_ignore_ascii_case("Succeeded"))
}

/// `found` when it is done (`wait` false), else the resource `id` as it is once Succeeded.
pub(crate) async fn settled<T: DeserializeOwned>(
    client: &ArmClient,
    id: &str,
    api_version: &str,
    found: T,
    wait: bool,
    opts: &Options<'_>,
) -> Result<T> {
    if !wait {
        return Ok(found);
    }
    lro::wait_for_resource(
        client,
        id,
        api_version,
        Until::Succeeded,
        opts.policy,
        opts.progress,
    )
    .await?;
    Ok(client.get_optional(id, api_version).await?.unwrap_or(found))
}

pub mod amlfs;
pub mod cache;
pub mod dns;
pub mod roles;
pub mod storage;
pub mod subnet;
pub mod target;
