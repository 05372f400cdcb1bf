//! `Microsoft.StorageCache/amlFilesystems` (Azure Managed Lustre): create (about 15
//! minutes), update, delete, lists with `nextLink` paging, archive to and import from Blob
//! storage, and the two subscription helpers that size and check a filesystem subnet.
//!
//! - [`filesystem`] — PUT, PATCH, DELETE and what their operations do when they finish;
//! - [`rules`] — SKU, capacity, zones, window, quota, subnet, root squash and HSM checks;
//! - [`client_info`] — MGS address, mount command, CSI driver manifests;
//! - [`hsm`] — archive, cancel archive, and the storage roles the resource provider needs;
//! - [`import_jobs`] — `amlFilesystems/{name}/importJobs`;
//! - [`subnets`] — `getRequiredAmlFSSubnetsSize` and `checkAmlFSSubnets`;
//! - [`nid`] — Lustre NID lists (`noSquashNidLists`).
//!
//! Written from `stable/2024-03-01/amlfilesystem.json` (the clients' api-version) and
//! `StorageCache/stable/2026-01-01/openapi.json`, whose examples the tests reproduce.

pub mod client_info;
pub mod filesystem;
pub mod hsm;
pub mod import_jobs;
pub mod nid;
pub mod rules;
pub mod subnets;

use serde_json::{Value, json};

use super::errors::ArmError;
use super::{Ctx, Reply, Req, clock};
use crate::world::{OpError, Operation, Resource, World, key, types};

/// Seconds an Azure Managed Lustre create takes in Azure (10–20+ minutes).
pub const CREATE_SECONDS: f64 = 15.0 * 60.0;
/// Seconds a PATCH or PUT update (root squash, maintenance window, encryption) takes.
pub const UPDATE_SECONDS: f64 = 5.0 * 60.0;
/// Seconds a delete takes.
pub const DELETE_SECONDS: f64 = 10.0 * 60.0;
/// `Retry-After` of the provider's long-running operations.
pub const POLL_SECONDS: f64 = 30.0;
/// List page size (`nextLink` carries a `$skipToken` past it).
pub const PAGE_SIZE: usize = 20;

/// `health` object.
pub fn health(state: &str, description: &str) -> Value {
    json!({"state": state, "statusDescription": description})
}

/// The healthy state, as Azure words it.
pub fn available() -> Value {
    health("Available", "amlFilesystem is ok.")
}

/// The running create, update or delete of a file system, if any (archives and import
/// jobs run beside them and do not block writes).
pub fn running_write<'w>(world: &'w World, id: &str) -> Option<&'w Operation> {
    let k = key(id);
    world.operations.values().find(|o| {
        o.in_progress()
            && key(&o.resource_id) == k
            && matches!(o.action.as_str(), "create" | "update" | "delete")
    })
}

/// 409 while the file system is being created, updated or deleted.
pub fn ensure_idle(world: &World, id: &str, what: &str) -> Result<(), ArmError> {
    if let Some(op) = running_write(world, id) {
        return Err(ArmError::conflict(
            "Conflict",
            format!(
                "Operation '{what}' is not allowed on amlFilesystem '{}' while operation '{}' ({}) is in progress; retry after it completes.",
                super::name_of(id),
                op.action,
                op.id
            ),
        ));
    }
    Ok(())
}

/// Percent done of a running operation at `now`.
pub fn percent(op: &Operation, now: u64) -> u64 {
    let span = op.due_ms.saturating_sub(op.start_ms).max(1);
    (now.saturating_sub(op.start_ms).min(span) * 100) / span
}

/// The file system as the provider answers it now (a running archive's progress).
pub fn view(world: &World, r: &Resource) -> Value {
    let mut b = r.body.clone();
    if let Some(op) = hsm::running_archive(world, &r.id)
        && let Some(s) = b.pointer_mut("/properties/hsm/archiveStatus/0/status")
    {
        s["percentComplete"] = json!(percent(op, clock::now_ms()));
    }
    b
}

/// A page of `items` and the `nextLink` to the rest, as `x-ms-pageable` describes.
pub fn page(ctx: &Ctx<'_>, req: &Req, items: Vec<Value>) -> Result<Reply, ArmError> {
    let skip = match req.query("$skipToken") {
        None => 0,
        Some(t) => t.parse::<usize>().map_err(|_| {
            ArmError::bad_request(
                "InvalidSkipToken",
                format!(
                    "The skip token '{t}' is not valid; use the nextLink of the previous page."
                ),
            )
        })?,
    };
    let total = items.len();
    let value: Vec<Value> = items.into_iter().skip(skip).take(PAGE_SIZE).collect();
    let mut body = json!({ "value": value });
    if skip + PAGE_SIZE < total {
        body["nextLink"] = json!(format!(
            "{}{}?api-version={}&$skipToken={}",
            ctx.base,
            req.path,
            req.api_version,
            skip + PAGE_SIZE
        ));
    }
    Ok(Reply::json(200, body))
}

/// Lists by subscription (`group` None) or resource group.
pub fn list(ctx: &mut Ctx<'_>, req: &Req, group: Option<&str>) -> Result<Reply, ArmError> {
    let scope = match group {
        Some(g) => format!("/subscriptions/{}/resourceGroups/{g}", req.segs[1]),
        None => format!("/subscriptions/{}", req.segs[1]),
    };
    let items = ctx
        .world
        .under(&scope, types::AML_FILESYSTEM)
        .map(|r| view(ctx.world, r))
        .collect();
    page(ctx, req, items)
}

/// Routes `.../resourceGroups/{rg}/providers/Microsoft.StorageCache/amlFilesystems[...]`.
pub fn handle(ctx: &mut Ctx<'_>, req: &Req, group: &str) -> Result<Reply, ArmError> {
    let n = req.segs.len();
    let m = req.method.as_str();
    if n == 7 {
        return if m == "GET" {
            list(ctx, req, Some(group))
        } else {
            Err(super::not_routable(req))
        };
    }
    let id = super::id_from(req, 8);
    let name = req.segs[7].clone();
    let existing = ctx.world.get(&id).cloned();
    let found = || {
        existing
            .clone()
            .ok_or_else(|| ArmError::resource_not_found(types::AML_FILESYSTEM, &name, group))
    };
    match (m, n, req.lsegs.get(8).map(String::as_str)) {
        ("GET", 8, _) => Ok(Reply::json(200, view(ctx.world, &found()?))),
        ("PUT", 8, _) => filesystem::put(ctx, req, &id, &name, existing),
        ("PATCH", 8, _) => filesystem::patch(ctx, req, &found()?),
        ("DELETE", 8, _) => filesystem::delete(ctx, req, existing),
        ("POST", 9, Some("archive")) => hsm::archive(ctx, req, &found()?),
        ("POST", 9, Some("cancelarchive")) => hsm::cancel_archive(ctx, &found()?),
        (_, 9 | 10, Some("importjobs")) => import_jobs::handle(ctx, req, &found()?, group),
        _ => Err(super::not_routable(req)),
    }
}

/// Applies a finished operation on a file system or one of its import jobs.
pub fn complete(world: &mut World, op: &Operation, now: u64) -> Result<(), OpError> {
    let is_job = world
        .get(&op.resource_id)
        .is_some_and(|r| r.rtype.eq_ignore_ascii_case(types::AML_IMPORT_JOB));
    if is_job {
        import_jobs::complete(world, op, now)
    } else if op.action == "archive" {
        hsm::complete_archive(world, op)
    } else {
        filesystem::complete(world, op)
    }
}
