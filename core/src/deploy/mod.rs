//! `up`, `down` and `status`: the Azure side of a deployment, as data (DESIGN.md, "The flow as
//! data").
//!
//! - [`spec`]: the flags, validated ([`UpSpec`]).
//! - [`plan`]: the steps and their needs; [`PlanItem`], one line of a plan.
//! - [`executor`]: runs the steps concurrently, recording each in the state file.
//! - [`steps`]: one module per step: observe → write what differs → wait.
//! - [`summary`]: what `up` prints at the end.
//! - [`owner`]: `up --owner`, after the plan: a directory for a non-root user (a job in
//!   the cluster, with root squash off meanwhile).
//! - [`down`], [`status`]: taking a deployment apart; reading it back live.
//! - [`amlfs`]: the Managed Lustre backend's flags and plan shape (`up --backend amlfs`); its
//!   steps are in `steps::amlfs`, its filesystem in [`crate::converge::amlfs`], and what
//!   `down` does with its data in `down_amlfs`.

pub mod amlfs;
pub mod context;
pub mod down;
mod down_amlfs;
pub mod executor;
pub mod owner;
pub mod plan;
pub mod preflight;
pub mod spec;
pub mod status;
mod steps;
pub mod summary;

use std::sync::Arc;

pub use context::{Mode, Waits};
pub use executor::StepFailure;
pub use plan::{PlanItem, Step};
pub use spec::{UpArgs, UpSpec};
pub use steps::keys;
pub use summary::Summary;

use crate::Error;
use crate::azure::ArmClient;
use crate::progress::Progress;
use crate::state::{LockedState, Neighbours, State};

/// Who runs `up` and how.
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub mode: Mode,
    pub waits: Waits,
    pub progress: Progress,
    /// Recorded in a new state file: the cloud's name, the custom ARM endpoint, sandbox or not.
    pub cloud: String,
    pub arm_endpoint: Option<String>,
    pub sandbox: bool,
}

/// What a run of `up` did or (dry run) would do.
#[derive(Debug)]
pub struct UpReport {
    pub plan: Vec<PlanItem>,
    /// Steps not finished because `--no-wait` left the cache creating (and what needs it).
    pub pending: Vec<Step>,
    pub state: State,
    /// The state file, still locked (none in a dry run), so the rest of the command (owner
    /// step, cluster side) runs under the same lock and no other command slips in between.
    pub store: Option<LockedState>,
}

impl UpReport {
    pub fn summary(&self) -> Summary {
        Summary::of(&self.state)
    }
}

/// Why `up` stopped: a step's error (the state file keeps what finished), or one before any step.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct UpFailure {
    pub step: Option<Step>,
    #[source]
    pub error: Error,
}

impl From<Error> for UpFailure {
    fn from(error: Error) -> Self {
        Self { step: None, error }
    }
}

/// A deployment keeps the backend its state file records: refuse another before any request.
pub fn check_recorded_backend(spec: &UpSpec, state: &State) -> Result<(), crate::InvalidInput> {
    if state.backend == spec.backend() {
        return Ok(());
    }
    Err(crate::InvalidInput::new(
        "--backend",
        format!(
            "deployment {} is recorded with backend {}, not {}",
            state.deployment,
            state.backend,
            spec.backend()
        ),
    )
    .hint(format!(
        "Pass --backend {} (or leave it out), or pick another -n for a {} deployment",
        state.backend,
        spec.backend()
    )))
}

/// Runs the plan of `up` against `client`, holding `store` (the deployment's locked state file).
/// In a dry run nothing is written, neither to Azure nor to the file.
pub async fn up(
    client: &ArmClient,
    mut spec: UpSpec,
    store: LockedState,
    opts: UpOptions,
) -> Result<UpReport, UpFailure> {
    let state = match store.load()? {
        Some(s) => s,
        None => {
            let mut s = State::new(&spec.deployment, &opts.cloud, client.subscription());
            s.arm_endpoint = opts.arm_endpoint.clone();
            s.sandbox = opts.sandbox;
            s.backend = spec.backend();
            s
        }
    };
    check_recorded_backend(&spec, &state).map_err(Error::from)?;
    if !state
        .subscription_id
        .eq_ignore_ascii_case(client.subscription())
    {
        return Err(Error::Lookup {
            what: format!(
                "deployment {} in subscription {}",
                spec.deployment,
                client.subscription()
            ),
            reason: format!(
                "its state file records subscription {}; pass --subscription {} or another -n",
                state.subscription_id, state.subscription_id
            ),
        }
        .into());
    }
    spec.keep_recorded(&state);
    preflight::check_recorded_cluster(&spec, &state).map_err(Error::from)?;
    let neighbours = Neighbours::load(store.path(), &spec.deployment);
    // Reads only: nothing is written before the cluster is known and the request checked.
    let pre = preflight::run(client, &spec, &state, &neighbours).await?;
    let ctx = Arc::new(context::Ctx::new(
        client.clone(),
        spec,
        &opts,
        state,
        store,
        pre,
        neighbours,
    ));
    let outcome = executor::run(ctx.clone()).await.map_err(|f| UpFailure {
        step: Some(f.step),
        error: f.error,
    })?;
    let plan = ctx.plan();
    // Every task holding the context has ended: the executor joined them all.
    let ctx = Arc::try_unwrap(ctx).map_err(|_| Error::Lookup {
        what: "the result of up".into(),
        reason: "a step is still running".into(),
    })?;
    let (state, store) = ctx.into_state();
    Ok(UpReport {
        plan,
        pending: outcome.pending,
        state,
        store,
    })
}
