//! Runs the steps of `up` as a DAG: every step whose needs are finished starts at once, so the
//! wall time is the critical path. A finished step is written to the state file before any
//! step that needs it starts. The first failure stops the run: steps still running are
//! cancelled (each is resumable, and Azure carries on with what it accepted).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

use super::context::{Ctx, now_rfc3339};
use super::plan::Step;
use super::steps;
use crate::Error;
use crate::progress::Event;
use crate::state::StepRecord;

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Finished,
    /// Started something long and did not wait for it (`--no-wait`).
    Pending,
}

/// A step that failed, and why.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct StepFailure {
    pub step: Step,
    #[source]
    pub error: Error,
}

/// Steps that finished and those left pending (with everything that needs them).
#[derive(Debug, Default)]
pub struct Outcome {
    pub finished: Vec<Step>,
    pub pending: Vec<Step>,
}

pub async fn run(ctx: Arc<Ctx>) -> Result<Outcome, StepFailure> {
    let mut finished: BTreeSet<Step> = BTreeSet::new();
    let mut pending: BTreeSet<Step> = BTreeSet::new();
    let mut started: BTreeSet<Step> = BTreeSet::new();
    let mut running: JoinSet<(Step, Result<Done, Error>)> = JoinSet::new();
    loop {
        for &step in ctx.steps() {
            if started.contains(&step) || !ctx.needs(step).iter().all(|n| finished.contains(n)) {
                continue;
            }
            started.insert(step);
            let ctx = ctx.clone();
            running.spawn(async move {
                let t = Instant::now();
                ctx.progress.emit(Event::StepStarted {
                    step: step.name().to_owned(),
                    detail: None,
                });
                let r = steps::run(step, &ctx).await;
                if r.is_ok() {
                    ctx.progress.emit(Event::StepFinished {
                        step: step.name().to_owned(),
                        elapsed: t.elapsed(),
                    });
                }
                (step, r)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (step, result) = match joined {
            Ok(pair) => pair,
            Err(e) => {
                running.abort_all();
                return Err(StepFailure {
                    step: Step::Cluster,
                    error: Error::Lookup {
                        what: "a step's result".into(),
                        reason: format!("the step's task ended abnormally: {e}"),
                    },
                });
            }
        };
        match result {
            Ok(Done::Finished) => {
                if !ctx.dry_run() {
                    let record = ctx.update(|s| {
                        s.steps.insert(
                            step.name().to_owned(),
                            StepRecord {
                                finished: now_rfc3339(),
                            },
                        );
                    });
                    if let Err(error) = record {
                        running.abort_all();
                        return Err(StepFailure { step, error });
                    }
                }
                finished.insert(step);
            }
            Ok(Done::Pending) => {
                pending.insert(step);
            }
            Err(error) => {
                ctx.progress.emit(Event::StepFailed {
                    step: step.name().to_owned(),
                    error: error.to_string(),
                });
                running.abort_all();
                // Let cancelled steps go before the caller saves or reports anything.
                while running.join_next().await.is_some() {}
                return Err(StepFailure { step, error });
            }
        }
    }
    let blocked: Vec<Step> = ctx
        .steps()
        .iter()
        .copied()
        .filter(|s| !finished.contains(s))
        .collect();
    Ok(Outcome {
        finished: finished.into_iter().collect(),
        pending: if pending.is_empty() {
            Vec::new()
        } else {
            blocked
        },
    })
}
