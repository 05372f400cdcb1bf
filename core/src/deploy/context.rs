//! What every step of a run shares: the client, the request, how to wait, the state (in memory
//! and, unless this is a dry run, in the locked file) and the plan lines gathered so far.

use std::sync::Mutex;
use std::time::Duration;

use super::UpOptions;
use super::plan::{PlanItem, Step};
use super::preflight::Preflight;
use super::spec::UpSpec;
use crate::Result;
use crate::azure::{ArmClient, PollPolicy};
use crate::progress::Progress;
use crate::state::{LockedState, Neighbours, State};

/// How long to wait for what.
#[derive(Debug, Clone)]
pub struct Waits {
    /// The cache's create, delete and flush (Azure: ~20 min; 60 min timeout).
    pub cache: PollPolicy,
    /// Every other long-running operation.
    pub other: PollPolicy,
    /// Pause before re-creating a storage target that failed because the cache's roles had not
    /// yet taken effect (RBAC propagation), and how many times to try.
    pub role_retry_delay: Duration,
    pub role_retries: u32,
    /// How long the HPC Cache resource provider's service principal is looked for after the
    /// provider's registration (Azure: it appears within minutes).
    pub principal: PollPolicy,
    /// How long `down` tries to delete a subnet the NICs of a deleted cache still hold (Azure
    /// releases them minutes after the delete).
    pub subnet_release: PollPolicy,
}

impl Default for Waits {
    fn default() -> Self {
        Self {
            cache: PollPolicy::with_timeout(Duration::from_secs(60 * 60)),
            other: PollPolicy::with_timeout(Duration::from_secs(30 * 60)),
            role_retry_delay: Duration::from_secs(30),
            role_retries: 10,
            principal: PollPolicy::with_timeout(Duration::from_secs(15 * 60)),
            subnet_release: PollPolicy::with_timeout(Duration::from_secs(20 * 60)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Observe, write what differs, wait.
    Apply,
    /// Observe only; describe the writes.
    DryRun,
    /// As Apply, but start the cache and do not wait for it (nor run what needs it).
    NoWait,
}

pub struct Ctx {
    pub client: ArmClient,
    pub spec: UpSpec,
    pub mode: Mode,
    pub waits: Waits,
    pub progress: Progress,
    /// The cluster and vnet, read before the run.
    pub preflight: Preflight,
    /// What the other deployments' state files beside this one record.
    pub neighbours: Neighbours,
    state: Mutex<State>,
    store: Option<LockedState>,
    plan: Mutex<Vec<PlanItem>>,
}

impl Ctx {
    /// In a dry run the store is dropped: nothing is written, not even the state file.
    pub fn new(
        client: ArmClient,
        spec: UpSpec,
        opts: &UpOptions,
        state: State,
        store: LockedState,
        preflight: Preflight,
        neighbours: Neighbours,
    ) -> Self {
        let mode = opts.mode;
        Self {
            client,
            spec,
            mode,
            waits: opts.waits.clone(),
            progress: opts.progress.clone(),
            preflight,
            neighbours,
            state: Mutex::new(state),
            store: (mode != Mode::DryRun).then_some(store),
            plan: Mutex::new(Vec::new()),
        }
    }

    /// The steps of this run's plan, each listed after its needs.
    pub fn steps(&self) -> &'static [Step] {
        self.spec.steps()
    }

    /// What `step` needs in this run's plan.
    pub fn needs(&self, step: Step) -> &'static [Step] {
        match &self.spec.amlfs {
            Some(a) => super::amlfs::needs(step, a.hsm.is_some()),
            None => step.needs(),
        }
    }

    pub fn dry_run(&self) -> bool {
        self.mode == Mode::DryRun
    }

    /// Reads the state as it stands now.
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        // A panic while holding the lock leaves a State that is still whole: keep using it.
        let guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&guard)
    }

    /// Changes the state and writes the file at once (atomic), so a crash right after keeps it.
    pub fn update(&self, f: impl FnOnce(&mut State)) -> Result<()> {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard);
        match &self.store {
            Some(store) => store.save(&guard),
            None => Ok(()),
        }
    }

    pub fn note(&self, item: PlanItem) {
        self.plan
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(item);
    }

    pub fn plan(&self) -> Vec<PlanItem> {
        self.plan.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn into_state(self) -> (State, Option<LockedState>) {
        (
            self.state.into_inner().unwrap_or_else(|p| p.into_inner()),
            self.store,
        )
    }
}

/// Now as RFC 3339 UTC (`2026-11-28T03:09:41Z`), for the state file's step records.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    crate::azure::credential::rfc3339(secs)
}
