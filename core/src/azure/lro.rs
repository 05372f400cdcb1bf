//! The long-running-operation poller: the ARM async contract, implemented once.
//!
//! A PUT answers 200/201 with a `provisioningState` (only Succeeded, Failed and Canceled are
//! final; absent means Succeeded) and maybe `Azure-AsyncOperation`; DELETE and POST actions answer
//! 202 with `Location` and maybe `Azure-AsyncOperation`. The poller sends the initial request
//! exactly once (unlike the generated azure_mgmt_* futures, which re-send the PUT on each poll),
//! then follows, in order of preference: the `Azure-AsyncOperation` status document, the
//! `Location` URL (202 while running), or the resource's own `provisioningState`.
//!
//! Waiting honours `Retry-After` (scaled by the client's time scale), has an overall timeout
//! whose error says the operation goes on in Azure, reports state through [`Progress`], and can
//! start from a saved [`Operation`] or from nothing but a resource id (`--no-wait`, then `wait`).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{ArmClient, ArmRequest, ArmResponse};
use super::transport::Method;
use crate::progress::{Event, Progress};
use crate::{Error, Result};

/// Where the final result of an operation is read from, as the spec's
/// `x-ms-long-running-operation-options.final-state-via` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FinalState {
    AzureAsyncOperation,
    Location,
    /// GET the resource itself (the default for PUT).
    OriginalUri,
}

/// What success means for the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OperationKind {
    /// PUT/PATCH: the resource exists with a final provisioningState; the result is the resource.
    CreateOrUpdate,
    /// DELETE: the resource is gone; no result.
    Delete,
    /// POST action (flush, start, register...): the result is what the action returns, if anything.
    Action,
}

/// A running operation, as much as is needed to follow it later (`--no-wait` then `wait`).
/// Serializable so the state file can keep it; holds no secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// What the user would call it: "cache creation", "flush".
    pub label: String,
    pub resource_id: String,
    pub api_version: String,
    pub kind: OperationKind,
    pub final_state: FinalState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub async_operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl Operation {
    pub fn new(
        label: impl Into<String>,
        resource_id: impl Into<String>,
        api_version: impl Into<String>,
        kind: OperationKind,
        final_state: FinalState,
    ) -> Self {
        Self {
            label: label.into(),
            resource_id: resource_id.into(),
            api_version: api_version.into(),
            kind,
            final_state,
            async_operation: None,
            location: None,
        }
    }
}

/// How to wait.
#[derive(Debug, Clone)]
pub struct PollPolicy {
    /// The slowest pace when the server gives no `Retry-After` (Azure's contract says 60 s);
    /// scaled by the client's time scale like a server-given one.
    pub default_interval: Duration,
    /// The first wait when the server gives no `Retry-After`; each further wait doubles, up to
    /// `default_interval` (see [`Pace`]). Scaled like `default_interval`.
    pub first_interval: Duration,
    /// Never poll faster than this, whatever the server says (after scaling).
    pub min_interval: Duration,
    /// Give up waiting (not the operation) after this long.
    pub timeout: Duration,
    /// Added to the timeout error: how the user can pick the operation up again.
    pub resume_hint: Option<String>,
}

impl PollPolicy {
    /// Real Azure pacing with the given overall timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            default_interval: Duration::from_secs(60),
            first_interval: Duration::from_secs(1),
            min_interval: Duration::from_secs(1),
            timeout,
            resume_hint: None,
        }
    }

    pub fn resume_hint(mut self, hint: impl Into<String>) -> Self {
        self.resume_hint = Some(hint.into());
        self
    }
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self::with_timeout(Duration::from_secs(30 * 60))
    }
}

/// What to wait for when all that is known is the resource id (the `wait` command).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// The resource exists with provisioningState Succeeded (`--updated`; a step following a
    /// resource it found mid-operation). A 404 is an error.
    Succeeded,
    /// The same, but a resource that does not exist yet is waited for (`--created`).
    Created,
    /// GET answers 404 (`--deleted`).
    Deleted,
    /// GET answers 200, whatever the state (`--exists`); a 404 is waited through.
    Exists,
}

/// The wait before each poll: the one mechanism every wait in the core uses (the poller,
/// provider registration, `down` waiting for a busy cache).
///
/// A server that sends `Retry-After` sets the pace, and keeps it on answers that omit the
/// header. Without one (a resource GET never carries it: a run resumed after a crash has no
/// operation URL and polls the resource itself), the wait starts at the policy's
/// `first_interval` and doubles up to its `default_interval`. Waiting 60 s from the start
/// cost a whole minute for a subnet that finishes in 4 s (issue 16). Doubling sees the end
/// within twice the operation's remaining time plus the first wait (polls go out at 0, 1, 3,
/// 7, 15... first waits: each wait is as long as all the earlier ones together), and against
/// a 20-minute cache it costs about six more polls than a steady 60 s.
#[derive(Debug, Clone)]
pub struct Pace {
    server: Option<Duration>,
    adaptive: Duration,
    ceiling: Duration,
    floor: Duration,
}

impl Pace {
    pub fn new(client: &ArmClient, policy: &PollPolicy) -> Self {
        let floor = policy.min_interval;
        let ceiling = client.scaled(policy.default_interval).max(floor);
        Self {
            server: None,
            adaptive: client.scaled(policy.first_interval).clamp(floor, ceiling),
            ceiling,
            floor,
        }
    }

    /// The wait before the next poll, given the `Retry-After` of the last answer (unscaled).
    pub fn next(&mut self, client: &ArmClient, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            self.server = Some(client.scaled(d).max(self.floor));
        }
        match self.server {
            Some(d) => d,
            None => {
                let d = self.adaptive;
                self.adaptive = d.saturating_mul(2).min(self.ceiling);
                d
            }
        }
    }
}

/// What a 404 while polling means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On404 {
    /// An error (a resource that vanished under a step).
    Fail,
    /// A saved operation URL expired: the resource itself still tells.
    UseResource,
    /// The resource does not exist yet: keep polling (`wait --created/--exists`, as az).
    KeepWaiting,
}

#[derive(Debug, Clone)]
pub(super) enum Phase {
    Done(Option<Value>),
    Async(String),
    Location(String),
    Resource,
}

/// A started operation: the initial answer and how to follow it.
#[derive(Debug)]
pub struct Poller {
    operation: Operation,
    initial: ArmResponse,
    phase: Phase,
    progress: Progress,
}

/// Sends the operation's initial request (once) and decides how it completes.
pub async fn start(
    client: &ArmClient,
    request: ArmRequest,
    mut operation: Operation,
) -> Result<Poller> {
    let progress = request
        .progress
        .clone()
        .unwrap_or_else(|| client.progress().clone());
    let initial = client.send(request).await?;
    operation.async_operation = initial.header("azure-asyncoperation").map(str::to_owned);
    operation.location = initial.header("location").map(str::to_owned);
    let phase = first_phase(&operation, &initial)?;
    Ok(Poller {
        operation,
        initial,
        phase,
        progress,
    })
}

pub(super) fn first_phase(op: &Operation, initial: &ArmResponse) -> Result<Phase> {
    let follow = || match (&op.async_operation, &op.location) {
        (Some(a), _) => Some(Phase::Async(a.clone())),
        (None, Some(l)) => Some(Phase::Location(l.clone())),
        (None, None) => None,
    };
    Ok(match (op.kind, initial.status) {
        (OperationKind::CreateOrUpdate, 200 | 201) => {
            let body = initial.value()?;
            match provisioning_state(&body) {
                None => Phase::Done(Some(body)),
                Some(s) if s.eq_ignore_ascii_case("Succeeded") => Phase::Done(Some(body)),
                Some(s) if is_terminal(s) => return Err(provisioning_failed(op, s, &body)),
                Some(_) => follow().unwrap_or(Phase::Resource),
            }
        }
        (OperationKind::CreateOrUpdate | OperationKind::Delete, 202) => {
            follow().unwrap_or(Phase::Resource)
        }
        (OperationKind::Delete, _) => Phase::Done(None),
        (OperationKind::Action, 202) => follow().unwrap_or(Phase::Done(None)),
        (OperationKind::Action, _) => {
            let body = initial.value()?;
            Phase::Done((!body.is_null()).then_some(body))
        }
        (OperationKind::CreateOrUpdate, _) => Phase::Resource,
    })
}

impl Poller {
    /// The handle to keep for a later `wait` (`--no-wait`).
    pub fn operation(&self) -> &Operation {
        &self.operation
    }

    pub fn initial(&self) -> &ArmResponse {
        &self.initial
    }

    /// True when the initial answer already finished the operation.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done(_))
    }

    /// Waits for the end. For a create/update the result is the resource; for a delete `None`;
    /// for an action whatever it returns.
    pub async fn wait(self, client: &ArmClient, policy: &PollPolicy) -> Result<Option<Value>> {
        let delay = First::After(self.initial.retry_after());
        run(
            client,
            &self.operation,
            self.phase,
            delay,
            policy,
            &self.progress,
            On404::Fail,
        )
        .await
    }
}

/// Picks up a saved operation (after `--no-wait`). If its operation URL has expired, falls back
/// to the resource itself.
pub async fn resume(
    client: &ArmClient,
    operation: &Operation,
    policy: &PollPolicy,
    progress: &Progress,
) -> Result<Option<Value>> {
    // A saved operation URL on another origin than this client's ARM endpoint cannot be
    // polled (the client refuses to send credentials there): a `--sandbox` run listens on a
    // new port every time, so the URL a `--no-wait` run saved is stale. The resource itself
    // still tells (found by tests/tests/az_up.rs `no_wait_then_up_again_finishes` under load).
    let ours =
        |u: &String| url::Url::parse(u).is_ok_and(|u| u.origin() == client.cloud().arm.origin());
    let phase = match (
        operation.async_operation.as_ref().filter(|u| ours(u)),
        operation.location.as_ref().filter(|u| ours(u)),
    ) {
        (Some(a), _) => Phase::Async(a.clone()),
        (None, Some(l)) => Phase::Location(l.clone()),
        (None, None) => Phase::Resource,
    };
    run(
        client,
        operation,
        phase,
        First::Now,
        policy,
        progress,
        On404::UseResource,
    )
    .await
}

/// Waits on a resource by id alone: the `wait` command, or a step that finds a resource some
/// earlier run left mid-operation.
pub async fn wait_for_resource(
    client: &ArmClient,
    resource_id: &str,
    api_version: &str,
    until: Until,
    policy: &PollPolicy,
    progress: &Progress,
) -> Result<Option<Value>> {
    let (kind, label) = match until {
        Until::Succeeded | Until::Created => (OperationKind::CreateOrUpdate, "provisioning"),
        Until::Deleted => (OperationKind::Delete, "deletion"),
        Until::Exists => (OperationKind::Action, "creation"),
    };
    let op = Operation::new(
        label,
        resource_id,
        api_version,
        kind,
        FinalState::OriginalUri,
    );
    run(
        client,
        &op,
        Phase::Resource,
        First::Now,
        policy,
        progress,
        match until {
            Until::Created | Until::Exists => On404::KeepWaiting,
            Until::Succeeded | Until::Deleted => On404::Fail,
        },
    )
    .await
}

/// When the first poll goes out.
enum First {
    /// At once: a resumed wait, whose operation may have ended long ago.
    Now,
    /// After the initial answer's `Retry-After`, or the adaptive first wait without one.
    After(Option<Duration>),
}

async fn run(
    client: &ArmClient,
    op: &Operation,
    mut phase: Phase,
    first: First,
    policy: &PollPolicy,
    progress: &Progress,
    on_404: On404,
) -> Result<Option<Value>> {
    let started = Instant::now();
    let step = progress
        .step()
        .map(str::to_owned)
        .unwrap_or_else(|| op.label.clone());
    let request_progress = progress.for_step(step.clone());
    let mut pace = Pace::new(client, policy);
    let mut interval = match first {
        First::Now => Duration::ZERO,
        First::After(retry_after) => pace.next(client, retry_after),
    };
    loop {
        if let Phase::Done(result) = phase {
            return Ok(result);
        }
        // saturating: `+` panics on overflow, and the interval can be a server's Retry-After of
        // any size (reliability suite, issue 7 item 7).
        if started.elapsed().saturating_add(interval) > policy.timeout {
            return Err(timeout_error(op, policy));
        }
        tokio::time::sleep(interval).await;
        match poll_once(client, op, &phase, &request_progress).await {
            Ok(Poll::Done(result)) => return Ok(result),
            Ok(Poll::Running {
                state,
                percent,
                retry_after,
            }) => {
                progress.emit(Event::StepProgress {
                    step: step.clone(),
                    state,
                    percent,
                    elapsed: started.elapsed(),
                });
                interval = pace.next(client, retry_after);
            }
            // A Location URL that keeps failing: the resource itself tells how a create or
            // delete went; an action has nothing else to ask, so its error (with details) stands.
            Err(e)
                if location_failed(&e)
                    && matches!(phase, Phase::Location(_))
                    && op.kind != OperationKind::Action =>
            {
                tracing::debug!(target: super::client::LOG_TARGET, "{}'s Location URL failed ({e}); following the resource instead", op.label);
                phase = Phase::Resource;
                pace = Pace::new(client, policy);
                interval = Duration::ZERO;
            }
            // An operation URL kept across runs may have expired; the resource still tells,
            // at its own (adaptive) pace.
            Err(e)
                if on_404 == On404::UseResource
                    && e.is_not_found()
                    && !matches!(phase, Phase::Resource)
                    && op.kind != OperationKind::Action =>
            {
                phase = Phase::Resource;
                pace = Pace::new(client, policy);
                interval = Duration::ZERO;
            }
            Err(e)
                if on_404 == On404::KeepWaiting
                    && e.is_not_found()
                    && matches!(phase, Phase::Resource) =>
            {
                progress.emit(Event::StepProgress {
                    step: step.clone(),
                    state: "NotFound".to_owned(),
                    percent: None,
                    elapsed: started.elapsed(),
                });
                // A 404 carries no Retry-After: the adaptive pace, as for a resource GET.
                interval = pace.next(client, None);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Attempts of one GET of a `Location` URL. Azure's operation URLs sometimes answer 5xx for
/// good (issue 15 item 8): eight attempts each, poll after poll, only delayed the failure.
const LOCATION_ATTEMPTS: u32 = 3;

/// A `Location` URL that failed with a server error: transient for [`LOCATION_ATTEMPTS`]
/// attempts, then the resource itself is asked when it can tell (create, update, delete).
fn location_failed(e: &Error) -> bool {
    matches!(e, Error::Arm { status, .. } if *status >= 500)
}

enum Poll {
    Done(Option<Value>),
    Running {
        state: String,
        percent: Option<f64>,
        retry_after: Option<Duration>,
    },
}

async fn poll_once(
    client: &ArmClient,
    op: &Operation,
    phase: &Phase,
    progress: &Progress,
) -> Result<Poll> {
    let get = |target: &str| {
        ArmRequest::get(target)
            .api_version(op.api_version.clone())
            .progress(progress.clone())
    };
    match phase {
        Phase::Done(v) => Ok(Poll::Done(v.clone())),
        Phase::Async(url) => {
            let resp = client.send(get(url)).await?;
            let doc = resp.value()?;
            let status = doc
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("InProgress");
            if status.eq_ignore_ascii_case("Succeeded") {
                return final_result(client, op, Some(&doc), progress)
                    .await
                    .map(Poll::Done);
            }
            if is_terminal(status) {
                return Err(operation_failed(op, status, doc.get("error")));
            }
            Ok(Poll::Running {
                state: status.to_owned(),
                percent: doc.get("percentComplete").and_then(Value::as_f64),
                retry_after: resp.retry_after(),
            })
        }
        Phase::Location(url) => {
            let resp = match client.send(get(url).attempts(LOCATION_ATTEMPTS)).await {
                Err(e) if e.is_not_found() && op.kind == OperationKind::Delete => {
                    return Ok(Poll::Done(None));
                }
                other => other?,
            };
            if resp.status == 202 {
                return Ok(Poll::Running {
                    state: "InProgress".to_owned(),
                    percent: None,
                    retry_after: resp.retry_after(),
                });
            }
            match op.kind {
                OperationKind::Delete => Ok(Poll::Done(None)),
                OperationKind::CreateOrUpdate => {
                    let body = resp.value()?;
                    if body.is_null() || op.final_state != FinalState::Location {
                        fetch_resource(client, op, progress)
                            .await
                            .map(|v| Poll::Done(Some(v)))
                    } else {
                        Ok(Poll::Done(Some(body)))
                    }
                }
                OperationKind::Action => {
                    let body = resp.value()?;
                    Ok(Poll::Done((!body.is_null()).then_some(body)))
                }
            }
        }
        Phase::Resource => {
            let resp = match client.send(get(&op.resource_id)).await {
                Err(e) if e.is_not_found() && op.kind == OperationKind::Delete => {
                    return Ok(Poll::Done(None));
                }
                other => other?,
            };
            let body = resp.value()?;
            let state = provisioning_state(&body).map(str::to_owned);
            match (op.kind, state.as_deref()) {
                (OperationKind::Action, _) => Ok(Poll::Done(Some(body))),
                (OperationKind::CreateOrUpdate, None) => Ok(Poll::Done(Some(body))),
                (OperationKind::CreateOrUpdate, Some(s)) if s.eq_ignore_ascii_case("Succeeded") => {
                    Ok(Poll::Done(Some(body)))
                }
                (OperationKind::CreateOrUpdate, Some(s)) if is_terminal(s) => {
                    Err(provisioning_failed(op, s, &body))
                }
                (_, s) => Ok(Poll::Running {
                    state: s.unwrap_or("Deleting").to_owned(),
                    percent: None,
                    retry_after: resp.retry_after(),
                }),
            }
        }
    }
}

/// The result of a finished operation, read where the spec says it is.
async fn final_result(
    client: &ArmClient,
    op: &Operation,
    status_doc: Option<&Value>,
    progress: &Progress,
) -> Result<Option<Value>> {
    match op.kind {
        OperationKind::Delete => Ok(None),
        OperationKind::CreateOrUpdate => match (&op.final_state, &op.location) {
            (FinalState::Location, Some(l)) => {
                let sent = client
                    .send(
                        ArmRequest::get(l)
                            .api_version(op.api_version.clone())
                            .progress(progress.clone())
                            .attempts(LOCATION_ATTEMPTS),
                    )
                    .await;
                match sent {
                    Ok(resp) => Ok(Some(resp.value()?)),
                    Err(e) if location_failed(&e) => {
                        fetch_resource(client, op, progress).await.map(Some)
                    }
                    Err(e) => Err(e),
                }
            }
            _ => fetch_resource(client, op, progress).await.map(Some),
        },
        OperationKind::Action => match (&op.final_state, &op.location) {
            (FinalState::Location, Some(l)) => {
                let resp = client
                    .send(
                        ArmRequest::get(l)
                            .api_version(op.api_version.clone())
                            .progress(progress.clone())
                            .attempts(LOCATION_ATTEMPTS),
                    )
                    .await?;
                let body = resp.value()?;
                Ok((!body.is_null()).then_some(body))
            }
            _ => Ok(status_doc.and_then(|d| d.get("properties")).cloned()),
        },
    }
}

async fn fetch_resource(client: &ArmClient, op: &Operation, progress: &Progress) -> Result<Value> {
    let resp = client
        .send(
            ArmRequest::get(op.resource_id.clone())
                .api_version(op.api_version.clone())
                .progress(progress.clone()),
        )
        .await?;
    resp.value()
}

/// `properties.provisioningState`, or a top-level one (some providers put it there).
pub fn provisioning_state(body: &Value) -> Option<&str> {
    body.pointer("/properties/provisioningState")
        .or_else(|| body.get("provisioningState"))
        .and_then(Value::as_str)
}

/// Succeeded, Failed and Canceled end an operation; every other state means it is still going.
pub fn is_terminal(state: &str) -> bool {
    ["Succeeded", "Failed", "Canceled", "Cancelled"]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(state))
}

pub(super) fn operation_failed(op: &Operation, status: &str, error: Option<&Value>) -> Error {
    let text = |k: &str| {
        error
            .and_then(|e| e.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Error::Arm {
        code: text("code").unwrap_or_else(|| {
            if status.eq_ignore_ascii_case("Failed") {
                "OperationFailed".to_owned()
            } else {
                "OperationCanceled".to_owned()
            }
        }),
        message: super::client::with_details(
            text("message").unwrap_or_else(|| {
                format!(
                    "The {} of {} ended with status {status}.",
                    op.label, op.resource_id
                )
            }),
            error,
        ),
        status: 0,
        request_id: None,
    }
}

pub(super) fn provisioning_failed(op: &Operation, state: &str, body: &Value) -> Error {
    // Some providers leave the cause in the resource (caches: properties.health).
    let detail = body
        .pointer("/properties/health/statusDescription")
        .and_then(Value::as_str)
        .map(|d| format!(" {d}"))
        .unwrap_or_default();
    Error::Arm {
        code: if state.eq_ignore_ascii_case("Failed") {
            "ProvisioningFailed".to_owned()
        } else {
            "ProvisioningCanceled".to_owned()
        },
        message: format!(
            "The {} of {} ended with provisioningState {state}.{detail}",
            op.label, op.resource_id
        ),
        status: 0,
        request_id: None,
    }
}

fn timeout_error(op: &Operation, policy: &PollPolicy) -> Error {
    Error::Timeout {
        operation: op.label.clone(),
        resource: op.resource_id.clone(),
        after: policy.timeout,
        hint: policy.resume_hint.clone().unwrap_or_else(|| {
            "run the `wait` command for this resource to follow it to the end, or `show` to see its state".to_owned()
        }),
    }
}

/// Sends a long-running request and waits for it: the common case of [`start`] + [`Poller::wait`].
pub async fn run_to_end(
    client: &ArmClient,
    request: ArmRequest,
    operation: Operation,
    policy: &PollPolicy,
) -> Result<Option<Value>> {
    start(client, request, operation)
        .await?
        .wait(client, policy)
        .await
}

/// Builds the request for an operation on its own resource id.
pub fn request_for(op: &Operation, method: Method, body: Option<Value>) -> ArmRequest {
    let mut req =
        ArmRequest::new(method, op.resource_id.clone()).api_version(op.api_version.clone());
    req.body = body;
    req
}

/// Why a write to a vnet may be sent again: ARM refused it while another operation ran on the
/// same vnet (409 `AnotherOperationInProgress`), or accepted it and then ended it `Canceled`,
/// superseded by another operation (`CanceledAndSupersededDueToAnotherOperation`). Azure
/// serializes every write that changes a vnet (its subnets, peerings, private DNS links).
pub fn is_vnet_contention(e: &Error) -> bool {
    match e {
        Error::Arm { code, message, .. } => {
            code.eq_ignore_ascii_case("AnotherOperationInProgress")
                || code.eq_ignore_ascii_case("CanceledAndSupersededDueToAnotherOperation")
                || message.contains("CanceledAndSupersededDueToAnotherOperation")
        }
        _ => false,
    }
}

/// A subnet still used by the NICs of a deleted service, which Azure releases minutes after
/// the delete (400 `InUseSubnetCannotBeDeleted`).
pub fn is_subnet_in_use(e: &Error) -> bool {
    matches!(e, Error::Arm { code, .. } if code.eq_ignore_ascii_case("InUseSubnetCannotBeDeleted"))
}

/// Runs `attempt` (a whole write: send and wait) again while it fails as `retry_if` says, at
/// the poller's adaptive pace and for at most `policy.timeout`; the last error stands after
/// that. Each retry is reported as [`Event::Retrying`].
pub async fn again<T, F, Fut>(
    client: &ArmClient,
    policy: &PollPolicy,
    progress: &Progress,
    retry_if: impl Fn(&Error) -> bool,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let started = Instant::now();
    let mut pace = Pace::new(client, policy);
    let mut n = 0;
    loop {
        match attempt().await {
            Err(e) if retry_if(&e) => {
                let delay = pace.next(client, None);
                if started.elapsed().saturating_add(delay) > policy.timeout {
                    return Err(e);
                }
                n += 1;
                progress.emit(Event::Retrying {
                    step: progress.step_owned(),
                    attempt: n,
                    delay,
                    reason: e.to_string(),
                });
                tokio::time::sleep(delay).await;
            }
            other => return other,
        }
    }
}

/// Deletes a resource and waits until it is gone (one already gone counts), sending the delete
/// again while it fails as `retry_if` says, for at most `retry.timeout` (see [`again`]).
pub async fn delete_retrying<F, Fut>(
    client: &ArmClient,
    policy: &PollPolicy,
    retry: &PollPolicy,
    progress: &Progress,
    retry_if: impl Fn(&Error) -> bool,
    begin: F,
) -> Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Poller>>,
{
    again(client, retry, progress, retry_if, || async {
        match begin().await {
            Ok(p) => p.wait(client, policy).await.map(|_| ()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    })
    .await
}
