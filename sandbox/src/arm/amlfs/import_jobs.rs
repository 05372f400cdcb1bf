//! `amlFilesystems/{name}/importJobs/{job}`: hydrating the Lustre namespace from the data
//! container. The PUT is long-running (the job resource is provisioned), then the import
//! itself runs: `status.state` goes `InProgress` → `Completed` (or `CompletedPartial` when
//! conflicts were skipped, `Failed` when a conflict stops a `Fail` job, `Canceled`). A blob
//! conflicts with a file changed in Lustre and not archived yet.

use serde_json::{Value, json};

use super::super::errors::ArmError;
use super::super::{Ctx, Reply, Req, clock, lro};
use super::hsm::{self, data_container};
use super::{POLL_SECONDS, page};
use crate::world::{OpError, Operation, Resource, SandboxData, World, key, types};

/// Seconds Azure takes to provision an import job, to start importing, and per blob.
pub const CREATE_SECONDS: f64 = 60.0;
pub const IMPORT_BASE_SECONDS: f64 = 120.0;
pub const IMPORT_SECONDS_PER_BLOB: f64 = 1.0;
pub const DELETE_SECONDS: f64 = 60.0;

const MODES: &[&str] = &["Fail", "Skip", "OverwriteIfDirty", "OverwriteAlways"];

fn job_op<'w>(world: &'w World, job_id: &str, actions: &[&str]) -> Option<&'w Operation> {
    let k = key(job_id);
    world.operations.values().find(|o| {
        o.in_progress() && key(&o.resource_id) == k && actions.contains(&o.action.as_str())
    })
}

/// The import job of the file system that is importing now, if any.
fn importing(world: &World, fs_id: &str) -> Option<String> {
    world
        .under(fs_id, types::AML_IMPORT_JOB)
        .find(|j| job_op(world, &j.id, &["create", "import"]).is_some())
        .map(|j| j.id.clone())
}

pub fn handle(ctx: &mut Ctx<'_>, req: &Req, fs: &Resource, group: &str) -> Result<Reply, ArmError> {
    if req.segs.len() == 9 {
        if req.method != "GET" {
            return Err(super::super::not_routable(req));
        }
        let items = ctx
            .world
            .under(&fs.id, types::AML_IMPORT_JOB)
            .map(|r| r.body.clone())
            .collect();
        return page(ctx, req, items);
    }
    let name = req.segs[9].clone();
    let id = format!("{}/importJobs/{name}", fs.id);
    let existing = ctx.world.get(&id).cloned();
    let not_found = || {
        ArmError::resource_not_found(
            types::AML_IMPORT_JOB,
            &format!("{}/{name}", super::super::name_of(&fs.id)),
            group,
        )
    };
    match req.method.as_str() {
        "GET" => existing
            .map(|r| Reply::json(200, r.body))
            .ok_or_else(not_found),
        "PUT" => put(ctx, req, fs, &id, &name, existing),
        "PATCH" => {
            let job = existing.ok_or_else(not_found)?;
            let body = req.json_body()?.clone();
            if let Some(t) = body.get("tags").filter(|t| t.is_object())
                && let Some(r) = ctx.world.get_mut(&job.id)
            {
                r.body["tags"] = t.clone();
            }
            if body["properties"]["adminStatus"] == "Cancel" {
                cancel(ctx.world, &job.id, ctx.now);
                if let Some(r) = ctx.world.get_mut(&job.id) {
                    r.body["properties"]["adminStatus"] = json!("Cancel");
                }
            }
            let out = ctx
                .world
                .get(&job.id)
                .map(|r| r.body.clone())
                .unwrap_or(Value::Null);
            Ok(Reply::json(200, out))
        }
        "DELETE" => {
            let Some(job) = existing else {
                return Ok(Reply::empty(204));
            };
            if let Some(op) = job_op(ctx.world, &job.id, &["create", "delete"]) {
                return Err(busy(&job.id, op));
            }
            cancel(ctx.world, &job.id, ctx.now);
            if let Some(r) = ctx.world.get_mut(&job.id) {
                super::super::set_state(&mut r.body, "Deleting");
            }
            let op = lro::start(
                ctx,
                &job.id,
                "delete",
                DELETE_SECONDS,
                "amlfs-import-job-delete",
                false,
            );
            let headers = lro::headers(ctx, &op, req, lro::BOTH, POLL_SECONDS);
            Ok(Reply::empty(202).headers(headers))
        }
        _ => Err(super::super::not_routable(req)),
    }
}

fn busy(job_id: &str, op: &Operation) -> ArmError {
    ArmError::conflict(
        "Conflict",
        format!(
            "The import job '{}' is being {} (operation {}); retry after it completes.",
            super::super::name_of(job_id),
            if op.action == "delete" {
                "deleted"
            } else {
                "created"
            },
            op.id
        ),
    )
}

fn put(
    ctx: &mut Ctx<'_>,
    req: &Req,
    fs: &Resource,
    id: &str,
    name: &str,
    existing: Option<Resource>,
) -> Result<Reply, ArmError> {
    let body = req.json_body()?.clone();
    let props = &body["properties"];
    if data_container(&fs.body).is_none() {
        return Err(ArmError::bad_request(
            "BadRequest",
            format!(
                "The file system '{}' has no Blob integration (hsm.settings); import jobs need it, and it can only be set when the file system is created.",
                super::super::name_of(&fs.id)
            ),
        ));
    }
    let prefixes: Vec<String> = match props["importPrefixes"].as_array() {
        Some(a) => a
            .iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect(),
        None => vec!["/".to_string()],
    };
    if let Some(bad) = prefixes.iter().find(|p| !p.starts_with('/')) {
        return Err(ArmError::invalid_parameter(format!(
            "The import prefix '{bad}' must be a path starting with '/'."
        )));
    }
    let mode = props["conflictResolutionMode"].as_str().unwrap_or("Fail");
    if !MODES.contains(&mode) {
        return Err(ArmError::invalid_parameter(format!(
            "The conflict resolution mode '{mode}' is not valid; use {}.",
            MODES.join(", ")
        )));
    }
    if let Some(job) = existing {
        if let Some(op) = job_op(ctx.world, &job.id, &["create", "delete"]) {
            return Err(busy(&job.id, op));
        }
        let stored = &job.body["properties"];
        let same = stored["importPrefixes"] == json!(prefixes)
            && stored["conflictResolutionMode"] == mode
            && props
                .get("maximumErrors")
                .is_none_or(|m| *m == stored["maximumErrors"]);
        if !same {
            return Err(ArmError::bad_request(
                "PropertyChangeNotAllowed",
                "The import prefixes, conflict resolution mode and maximum errors of an import job are set when it is created. Create another import job instead.",
            ));
        }
        let mut b = job.body.clone();
        b["tags"] = super::super::tags_of(&body);
        if let Some(r) = ctx.world.get_mut(&job.id) {
            r.body = b.clone();
        }
        return Ok(Reply::json(200, b));
    }
    if fs.body["properties"]["provisioningState"] != "Succeeded" {
        return Err(ArmError::conflict(
            "Conflict",
            format!(
                "Import jobs cannot be created while the file system '{}' is in provisioning state '{}'.",
                super::super::name_of(&fs.id),
                fs.body["properties"]["provisioningState"]
                    .as_str()
                    .unwrap_or_default()
            ),
        ));
    }
    if let Some(other) = importing(ctx.world, &fs.id) {
        return Err(ArmError::conflict(
            "Conflict",
            format!(
                "The import job '{}' is still running on file system '{}'; only one import job runs at a time.",
                super::super::name_of(&other),
                super::super::name_of(&fs.id)
            ),
        ));
    }
    let blobs = data_container(&fs.body)
        .and_then(|c| ctx.world.get(&c).map(|c| c.sandbox.blobs.len()))
        .unwrap_or(0);
    let location = body["location"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| fs.body["location"].as_str().unwrap_or_default().to_string());
    let b = json!({
        "id": id, "name": name, "type": types::AML_IMPORT_JOB, "location": location,
        "tags": super::super::tags_of(&body),
        "properties": {
            "provisioningState": "Creating",
            "importPrefixes": prefixes,
            "conflictResolutionMode": mode,
            "maximumErrors": props["maximumErrors"].as_i64().unwrap_or(0),
            "adminStatus": "Active",
            "status": {
                "state": "InProgress",
                "statusMessage": "The import job is starting.",
                "totalBlobsWalked": 0, "blobsWalkedPerSecond": 0,
                "totalBlobsImported": 0, "blobsImportedPerSecond": 0,
                "lastStartedTime": clock::rfc3339(ctx.now),
                "totalErrors": 0, "totalConflicts": 0
            }
        }
    });
    ctx.world.insert(Resource {
        id: id.to_string(),
        rtype: types::AML_IMPORT_JOB.into(),
        body: b.clone(),
        created_ms: ctx.now,
        sandbox: SandboxData::default(),
    });
    let op = lro::start(
        ctx,
        id,
        "create",
        CREATE_SECONDS,
        "amlfs-import-job-create",
        true,
    );
    // The import itself, after the job is provisioned: wall-clock like every operation.
    let run = CREATE_SECONDS + IMPORT_BASE_SECONDS + IMPORT_SECONDS_PER_BLOB * blobs as f64;
    lro::start(ctx, id, "import", run, "amlfs-import", false);
    let headers = lro::headers(ctx, &op, req, lro::ASYNC_ONLY, POLL_SECONDS);
    Ok(Reply::json(201, b).headers(headers))
}

fn set_status(world: &mut World, job_id: &str, changes: Value) {
    if let Some(r) = world.get_mut(job_id)
        && let (Some(status), Some(c)) = (
            r.body["properties"]["status"].as_object_mut(),
            changes.as_object(),
        )
    {
        for (k, v) in c {
            status.insert(k.clone(), v.clone());
        }
    }
}

/// Stops a running import; what it imported stays.
fn cancel(world: &mut World, job_id: &str, now: u64) {
    let Some(op) = job_op(world, job_id, &["import"]).cloned() else {
        return;
    };
    if let Some(o) = world.operations.get_mut(&op.id) {
        o.status = "Canceled".into();
        o.end_ms = Some(now);
    }
    set_status(
        world,
        job_id,
        json!({"state": "Canceled", "statusMessage": "The import job was canceled.", "lastCompletionTime": clock::rfc3339(now)}),
    );
}

pub fn complete(world: &mut World, op: &Operation, now: u64) -> Result<(), OpError> {
    let Some(job) = world.get(&op.resource_id).cloned() else {
        return Ok(());
    };
    match op.action.as_str() {
        "delete" => {
            world.remove_tree(&op.resource_id);
            Ok(())
        }
        "create" => {
            if let Some(e) = &op.planned_error {
                if let Some(r) = world.get_mut(&job.id) {
                    super::super::set_state(&mut r.body, "Failed");
                }
                cancel(world, &job.id, now);
                set_status(
                    world,
                    &job.id,
                    json!({"state": "Failed", "statusMessage": e.message}),
                );
                return Err(e.clone());
            }
            if let Some(r) = world.get_mut(&job.id) {
                super::super::set_state(&mut r.body, "Succeeded");
            }
            if job.body["properties"]["status"]["state"] == "InProgress" {
                set_status(
                    world,
                    &job.id,
                    json!({"statusMessage": "The import job is importing blobs."}),
                );
            }
            Ok(())
        }
        "import" => run_import(world, &job, op),
        _ => Ok(()),
    }
}

fn run_import(world: &mut World, job: &Resource, op: &Operation) -> Result<(), OpError> {
    let fs_id = job
        .id
        .rsplitn(3, '/')
        .nth(2)
        .unwrap_or_default()
        .to_string();
    let props = &job.body["properties"];
    let prefixes: Vec<String> = props["importPrefixes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect();
    let mode = props["conflictResolutionMode"].as_str().unwrap_or("Fail");
    let done = clock::rfc3339(op.due_ms);
    let access = world
        .get(&fs_id)
        .and_then(|fs| hsm::access_error(world, &fs.body, op.due_ms));
    if let Some(e) = op.planned_error.clone().or(access) {
        set_status(
            world,
            &job.id,
            json!({"state": "Failed", "statusMessage": e.message, "totalErrors": 1, "lastCompletionTime": done}),
        );
        return Err(e);
    }
    let overwrite = mode.starts_with("Overwrite");
    let r = hsm::import_blobs(world, &fs_id, &prefixes, overwrite);
    let (state, message) = match (r.conflicts, mode) {
        (0, _) => ("Completed", "The import job completed.".to_string()),
        (n, "Fail") => (
            "Failed",
            format!(
                "The import job stopped at a conflict: {n} blob(s) conflict with files changed in the file system and not archived (conflictResolutionMode Fail)."
            ),
        ),
        (n, _) => (
            "CompletedPartial",
            format!("The import job completed; {n} conflicting blob(s) were skipped."),
        ),
    };
    set_status(
        world,
        &job.id,
        json!({
            "state": state, "statusMessage": message,
            "totalBlobsWalked": r.walked, "totalBlobsImported": r.imported,
            "totalConflicts": r.conflicts, "lastCompletionTime": done
        }),
    );
    Ok(())
}
