//! Long-running operations: starting them, answering their status and result URLs, and
//! settling them once their (wall-clock) due time has passed.
//!
//! ARM's contract (async-api-reference): a PUT answers 201/200 with a non-final
//! `provisioningState` and `Azure-AsyncOperation`; DELETE and POST actions answer 202 with
//! `Location` (and `Azure-AsyncOperation` where the provider sends it) and `Retry-After`.
//! The `Azure-AsyncOperation` URL answers 200 with a status document; the `Location` URL
//! answers 202 while running, then what the synchronous call would have returned.

use serde_json::{Value, json};

use super::errors::ArmError;
use super::{Ctx, Reply, Req, amlfs, caches, clock, dns, network, storage, storage_targets};
use crate::world::{OpError, Operation, World, key, types};

/// Which headers an operation's first answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headers {
    pub async_operation: bool,
    pub location: bool,
}

pub const ASYNC_ONLY: Headers = Headers {
    async_operation: true,
    location: false,
};
pub const LOCATION_ONLY: Headers = Headers {
    async_operation: false,
    location: true,
};
pub const BOTH: Headers = Headers {
    async_operation: true,
    location: true,
};

/// Default message for a fault-injected error code.
fn fault_message(code: &str, op: &Operation) -> String {
    match code {
        "AscInternalError" => format!(
            "An internal error has occurred in the cache service; please retry or contact support. Operation: {}",
            op.id
        ),
        _ => format!(
            "The operation failed with {code} (injected by the sandbox). Operation: {}",
            op.id
        ),
    }
}

/// Starts an operation on `resource_id` that takes `real_seconds` in Azure.
/// `fault_key` names it for `fail-<name>=CODE` faults.
pub fn start(
    ctx: &mut Ctx<'_>,
    resource_id: &str,
    action: &str,
    real_seconds: f64,
    fault_key: &str,
    location_returns_resource: bool,
) -> Operation {
    let id = uuid::Uuid::new_v4().to_string();
    let mut op = Operation {
        id: id.clone(),
        resource_id: resource_id.to_string(),
        action: action.to_string(),
        start_ms: ctx.now,
        due_ms: ctx.now + ctx.scaled(real_seconds),
        status: "InProgress".into(),
        end_ms: None,
        error: None,
        planned_error: None,
        location_returns_resource,
    };
    if let Some(code) = ctx.faults.failure_for(fault_key) {
        op.planned_error = Some(OpError {
            code: code.to_string(),
            message: fault_message(code, &op),
        });
    }
    ctx.world.operations.insert(id, op.clone());
    op
}

/// The running operation on `resource_id` or on anything under it, if any.
pub fn busy<'w>(world: &'w World, resource_id: &str) -> Option<&'w Operation> {
    let k = key(resource_id);
    let prefix = format!("{k}/");
    world.operations.values().find(|o| {
        o.in_progress() && (key(&o.resource_id) == k || key(&o.resource_id).starts_with(&prefix))
    })
}

/// The URLs of an operation (async status, location result), per provider convention.
pub fn urls(ctx: &Ctx<'_>, op: &Operation, api_version: &str) -> (String, String) {
    let segs: Vec<&str> = op.resource_id.split('/').collect();
    let sub = segs.get(2).copied().unwrap_or_default();
    let rg = segs.get(4).copied().unwrap_or_default();
    let location = ctx
        .world
        .get(&op.resource_id)
        .and_then(|r| r.body["location"].as_str().map(str::to_string))
        .or_else(|| {
            // Subnets and other children carry no location: their parent's.
            let parent = segs.get(..9).map(|p| p.join("/"))?;
            ctx.world
                .get(&parent)
                .and_then(|r| r.body["location"].as_str().map(str::to_string))
        })
        .unwrap_or_else(|| "eastus".into());
    let base = ctx.base;
    let id = &op.id;
    let lower = op.resource_id.to_ascii_lowercase();
    if lower.contains("/providers/microsoft.storagecache/") {
        let s = format!(
            "{base}/subscriptions/{sub}/providers/Microsoft.StorageCache/locations/{location}/ascOperations/{id}"
        );
        (
            format!("{s}?api-version={api_version}"),
            format!("{s}?monitor=true&api-version={api_version}"),
        )
    } else if lower.contains("/providers/microsoft.network/privatednszones/") {
        let s =
            format!("{base}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network");
        (
            format!("{s}/privateDnsOperationStatuses/{id}?api-version={api_version}"),
            format!("{s}/privateDnsOperationResults/{id}?api-version={api_version}"),
        )
    } else if lower.contains("/providers/microsoft.storage/") {
        let s = format!(
            "{base}/subscriptions/{sub}/providers/Microsoft.Storage/locations/{location}/asyncoperations/{id}"
        );
        (
            format!("{s}?api-version={api_version}"),
            format!("{s}?monitor=true&api-version={api_version}"),
        )
    } else {
        let s =
            format!("{base}/subscriptions/{sub}/providers/Microsoft.Network/locations/{location}");
        (
            format!("{s}/operations/{id}?api-version={api_version}"),
            format!("{s}/operationResults/{id}?api-version={api_version}"),
        )
    }
}

/// The headers of an operation's first answer.
pub fn headers(
    ctx: &Ctx<'_>,
    op: &Operation,
    req: &Req,
    which: Headers,
    poll_real_seconds: f64,
) -> Vec<(String, String)> {
    let (status, location) = urls(ctx, op, &req.api_version);
    let mut h = Vec::new();
    if which.async_operation {
        h.push(("Azure-AsyncOperation".to_string(), status));
    }
    if which.location {
        h.push(("Location".to_string(), location));
    }
    h.extend(poll_after(ctx, poll_real_seconds));
    h
}

/// When to poll next: `Retry-After` in whole seconds as HTTP says, plus `retry-after-ms`
/// (which ARM clients read first). Under a small time scale the whole seconds are far
/// coarser than the scaled interval, and a client pacing itself by them alone would either
/// over-poll or notice completion late.
fn poll_after(ctx: &Ctx<'_>, real_seconds: f64) -> Vec<(String, String)> {
    vec![
        ("Retry-After".to_string(), ctx.retry_after(real_seconds)),
        (
            "retry-after-ms".to_string(),
            ctx.scaled(real_seconds).to_string(),
        ),
    ]
}

/// The polling interval a provider asks for while an operation runs, in real seconds: the
/// same each provider's first answer gave (`headers` callers), so a client keeps one pace.
fn poll_seconds(_ctx: &Ctx<'_>, op: &Operation) -> f64 {
    let id = op.resource_id.to_ascii_lowercase();
    if id.contains("/providers/microsoft.storagecache/") {
        30.0
    } else if id.contains("/providers/microsoft.network/privatednszones/") {
        60.0
    } else if id.contains("/providers/microsoft.storage/") {
        17.0
    } else if id.contains("/providers/microsoft.network/") {
        10.0
    } else {
        15.0
    }
}

/// Answers operation status (`Azure-AsyncOperation`) and result (`Location`) URLs.
pub fn route(ctx: &mut Ctx<'_>, req: &Req) -> Result<Option<Reply>, ArmError> {
    if req.method != "GET" || req.lsegs.len() < 2 {
        return Ok(None);
    }
    let n = req.lsegs.len();
    let kind = req.lsegs[n - 2].as_str();
    let monitor = req
        .query("monitor")
        .is_some_and(|m| m.eq_ignore_ascii_case("true"));
    let result = match kind {
        "ascoperations" | "asyncoperations" => monitor,
        "operations" | "privatednsoperationstatuses" => false,
        "operationresults" | "privatednsoperationresults" => true,
        _ => return Ok(None),
    };
    let id = req.segs[n - 1].to_ascii_lowercase();
    let Some(op) = ctx.world.operations.get(&id).cloned() else {
        if kind == "ascoperations" {
            return Err(ArmError::not_found(
                "NotFound",
                format!("The operation '{}' could not be found.", req.segs[n - 1]),
            ));
        }
        return Ok(None);
    };
    if result {
        location_result(ctx, req, &op).map(Some)
    } else {
        let reply = Reply::json(200, status_doc(ctx, req, &op));
        // ARM repeats Retry-After on every status answer while the operation runs.
        Ok(Some(if op.in_progress() {
            reply.headers(poll_after(ctx, poll_seconds(ctx, &op)))
        } else {
            reply
        }))
    }
}

/// The `Azure-AsyncOperation` document.
pub fn status_doc(ctx: &Ctx<'_>, req: &Req, op: &Operation) -> Value {
    let mut doc = json!({
        "id": req.path,
        "name": op.id,
        "status": op.status,
        "startTime": clock::rfc3339(op.start_ms),
    });
    if let Some(end) = op.end_ms {
        doc["endTime"] = json!(clock::rfc3339(end));
        doc["percentComplete"] = json!(100.0);
    } else {
        let span = op.due_ms.saturating_sub(op.start_ms).max(1);
        let done = ctx.now.saturating_sub(op.start_ms).min(span);
        doc["percentComplete"] = json!(((done * 100) / span) as f64);
    }
    if let Some(e) = &op.error {
        doc["error"] = json!({"code": e.code, "message": e.message});
    }
    doc
}

fn location_result(ctx: &mut Ctx<'_>, req: &Req, op: &Operation) -> Result<Reply, ArmError> {
    match op.status.as_str() {
        "InProgress" => {
            let (_, location) = urls(ctx, op, &req.api_version);
            Ok(Reply::empty(202)
                .header("Location", location)
                .headers(poll_after(ctx, poll_seconds(ctx, op))))
        }
        "Succeeded" => {
            if op.location_returns_resource
                && let Some(r) = ctx.world.get(&op.resource_id)
            {
                return Ok(Reply::json(200, super::view(ctx.world, r)));
            }
            Ok(Reply::empty(204))
        }
        _ => {
            let e = op.error.clone().unwrap_or(OpError {
                code: "Canceled".into(),
                message: "The operation was canceled.".into(),
            });
            let status = if e.code.contains("Internal") {
                500
            } else {
                400
            };
            Err(ArmError::new(status, &e.code, e.message))
        }
    }
}

/// Completes every operation whose due time is at or before `now`, oldest first.
pub fn settle(world: &mut World, now: u64) {
    loop {
        let next = world
            .operations
            .values()
            .filter(|o| o.in_progress() && o.due_ms <= now)
            .min_by_key(|o| (o.due_ms, o.start_ms))
            .cloned();
        let Some(op) = next else { break };
        let outcome = complete(world, &op, now);
        if let Some(stored) = world.operations.get_mut(&op.id) {
            stored.end_ms = Some(op.due_ms.max(op.start_ms));
            match outcome {
                Ok(()) => stored.status = "Succeeded".into(),
                Err(e) => {
                    stored.status = "Failed".into();
                    stored.error = Some(e);
                }
            }
        }
    }
    // Provider registrations are not operations; they finish at their own time.
    for p in world.providers.values_mut() {
        if p.state == "Registering" && p.registered_at_ms.is_some_and(|t| t <= now) {
            p.state = "Registered".into();
        }
    }
}

/// Applies an operation's effect on the world; the error is the operation's failure.
fn complete(world: &mut World, op: &Operation, now: u64) -> Result<(), OpError> {
    let Some(rtype) = world
        .get(&op.resource_id)
        .map(|r| r.rtype.to_ascii_lowercase())
    else {
        // The resource vanished (its parent was deleted): nothing to apply.
        return Ok(());
    };
    let t = |s: &str| s.to_ascii_lowercase();
    if rtype == t(types::CACHE) {
        caches::complete(world, op, now)
    } else if rtype == t(types::AML_FILESYSTEM) || rtype == t(types::AML_IMPORT_JOB) {
        amlfs::complete(world, op, now)
    } else if rtype == t(types::STORAGE_TARGET) {
        storage_targets::complete(world, op, now)
    } else if rtype == t(types::DNS_ZONE) || rtype == t(types::VNET_LINK) {
        dns::complete(world, op)
    } else if rtype == t(types::STORAGE_ACCOUNT) {
        storage::complete(world, op)
    } else if rtype == t(types::VNET) || rtype == t(types::SUBNET) {
        network::complete(world, op)
    } else {
        generic_complete(world, op)
    }
}

/// Create/update → Succeeded (or Failed), delete → gone.
pub fn generic_complete(world: &mut World, op: &Operation) -> Result<(), OpError> {
    if let Some(e) = &op.planned_error {
        if let Some(r) = world.get_mut(&op.resource_id)
            && op.action != "delete"
        {
            super::set_state(&mut r.body, "Failed");
        }
        return Err(e.clone());
    }
    if op.action == "delete" {
        world.remove_tree(&op.resource_id);
    } else if let Some(r) = world.get_mut(&op.resource_id) {
        super::set_state(&mut r.body, "Succeeded");
    }
    Ok(())
}
