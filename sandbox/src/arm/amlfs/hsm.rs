//! Blob integration (`hsm.settings`): the storage roles the HPC Cache resource provider's
//! service principal needs, the namespace hydrated from the data container, and archive
//! (`POST .../archive`, `.../cancelArchive`), which writes files changed in Lustre back to
//! the container. Archive is not a long-running ARM operation: it answers 200 at once and
//! its progress shows in `hsm.archiveStatus`.
//!
//! A missing role makes the create (or archive) end `Failed` with
//! `AuthorizationPermissionMismatch`, the code Azure Storage answers a principal whose
//! roles do not allow the data operation; the resource provider's own wrapper code is not
//! documented.

use serde_json::{Value, json};

use super::super::authorization::{
    STORAGE_ACCOUNT_CONTRIBUTOR, STORAGE_BLOB_DATA_CONTRIBUTOR, has_role,
};
use super::super::errors::ArmError;
use super::super::{Ctx, Reply, Req, clock, lro};
use super::rules::account_of;
use crate::world::{FileEntry, OpError, Operation, Resource, World, key};

/// Seconds an archive takes before counting files, and per file written.
pub const ARCHIVE_BASE_SECONDS: f64 = 120.0;
pub const ARCHIVE_SECONDS_PER_FILE: f64 = 2.0;

fn settings(fs: &Value) -> Option<&Value> {
    fs.pointer("/properties/hsm/settings")
        .filter(|s| s.is_object())
}

/// The data container (`hsm.settings.container`) of a file system, if it has one.
pub fn data_container(fs: &Value) -> Option<String> {
    settings(fs)?["container"].as_str().map(str::to_string)
}

fn not_configured(fs: &Resource) -> ArmError {
    ArmError::bad_request(
        "BadRequest",
        format!(
            "The file system '{}' has no Blob integration (hsm.settings); archive and import jobs need it, and it can only be set when the file system is created.",
            super::super::name_of(&fs.id)
        ),
    )
}

/// Why the resource provider cannot use the file system's containers at `at`, if so.
pub fn access_error(world: &World, fs: &Value, at: u64) -> Option<OpError> {
    let container = data_container(fs)?;
    let account = account_of(&container);
    if world.get(&container).is_none() {
        return Some(OpError {
            code: "ContainerNotFound".into(),
            message: format!(
                "The blob container '{container}' of hsm.settings.container does not exist any more."
            ),
        });
    }
    let sp = world.cache_rp_object_id.clone();
    let missing: Vec<&str> = [
        ("Storage Account Contributor", STORAGE_ACCOUNT_CONTRIBUTOR),
        (
            "Storage Blob Data Contributor",
            STORAGE_BLOB_DATA_CONTRIBUTOR,
        ),
    ]
    .iter()
    .filter(|(_, role)| !has_role(world, &sp, role, &account, at))
    .map(|(n, _)| *n)
    .collect();
    if missing.is_empty() {
        return None;
    }
    Some(OpError {
        code: "AuthorizationPermissionMismatch".into(),
        message: format!(
            "This request is not authorized to perform this operation using this permission: the HPC Cache resource provider (app id 4392ab71-2ce2-4b0d-8770-b352745c73f5) needs the 'Storage Account Contributor' and 'Storage Blob Data Contributor' roles on storage account '{}' to use container '{}'; missing: {}. Assign them, wait for them to propagate, and retry.",
            super::super::name_of(&account),
            super::super::name_of(&container),
            missing.join(", ")
        ),
    })
}

/// The running archive of a file system, if any.
pub fn running_archive<'w>(world: &'w World, fs_id: &str) -> Option<&'w Operation> {
    let k = key(fs_id);
    world
        .operations
        .values()
        .find(|o| o.in_progress() && o.action == "archive" && key(&o.resource_id) == k)
}

/// Normalised Lustre path: leading `/`, no trailing one (the root is `/`).
pub fn norm_path(p: &str) -> String {
    let t = p.trim_matches('/');
    if t.is_empty() {
        "/".to_string()
    } else {
        format!("/{t}")
    }
}

/// Whether `path` is `dir` or under it.
pub fn under(path: &str, dir: &str) -> bool {
    dir == "/" || path == dir || path.starts_with(&format!("{dir}/"))
}

fn set_archive_status(world: &mut World, fs_id: &str, path: &str, status: Value) {
    if let Some(r) = world.get_mut(fs_id) {
        let previous = r
            .body
            .pointer("/properties/hsm/archiveStatus/0/status/lastCompletionTime")
            .cloned();
        let mut status = status;
        if status.get("lastCompletionTime").is_none()
            && let Some(t) = previous
        {
            status["lastCompletionTime"] = t;
        }
        r.body["properties"]["hsm"]["archiveStatus"] =
            json!([{"filesystemPath": path, "status": status}]);
    }
}

pub fn archive(ctx: &mut Ctx<'_>, req: &Req, fs: &Resource) -> Result<Reply, ArmError> {
    if settings(&fs.body).is_none() {
        return Err(not_configured(fs));
    }
    let name = super::super::name_of(&fs.id);
    if fs.body["properties"]["provisioningState"] != "Succeeded" {
        return Err(ArmError::conflict(
            "Conflict",
            format!(
                "The file system '{name}' cannot archive in provisioning state '{}'.",
                fs.body["properties"]["provisioningState"]
                    .as_str()
                    .unwrap_or_default()
            ),
        ));
    }
    if let Some(op) = running_archive(ctx.world, &fs.id) {
        return Err(ArmError::conflict(
            "Conflict",
            format!(
                "An archive of '{name}' is already in progress (started {}); wait for it or cancel it first.",
                clock::rfc3339(op.start_ms)
            ),
        ));
    }
    let asked = req
        .body
        .as_ref()
        .and_then(|b| b["filesystemPath"].as_str())
        .unwrap_or("/");
    if !asked.starts_with('/') {
        return Err(ArmError::invalid_parameter(format!(
            "filesystemPath '{asked}' must be a path from the file system root, starting with '/'."
        )));
    }
    let path = norm_path(asked);
    let dirty = fs
        .sandbox
        .files
        .iter()
        .filter(|(p, f)| f.dirty && under(p, &path))
        .count();
    let seconds = ARCHIVE_BASE_SECONDS + ARCHIVE_SECONDS_PER_FILE * dirty as f64;
    let op = lro::start(ctx, &fs.id, "archive", seconds, "amlfs-archive", false);
    set_archive_status(
        ctx.world,
        &fs.id,
        &path,
        json!({"state": "InProgress", "lastStartedTime": clock::rfc3339(op.start_ms), "percentComplete": 0}),
    );
    // Instant time: the archive is done by the next request, as every operation.
    Ok(Reply::empty(200))
}

pub fn cancel_archive(ctx: &mut Ctx<'_>, fs: &Resource) -> Result<Reply, ArmError> {
    if settings(&fs.body).is_none() {
        return Err(not_configured(fs));
    }
    if running_archive(ctx.world, &fs.id).is_none() {
        return Err(ArmError::conflict(
            "Conflict",
            format!(
                "No archive of '{}' is in progress; there is nothing to cancel.",
                super::super::name_of(&fs.id)
            ),
        ));
    }
    cancel_running(ctx.world, &fs.id, ctx.now);
    Ok(Reply::empty(200))
}

/// Cancels the running archive, if any: the files it had not written stay dirty.
pub fn cancel_running(world: &mut World, fs_id: &str, now: u64) {
    let Some(op) = running_archive(world, fs_id).cloned() else {
        return;
    };
    if let Some(o) = world.operations.get_mut(&op.id) {
        o.status = "Canceled".into();
        o.end_ms = Some(now);
    }
    let path = world
        .get(fs_id)
        .and_then(|r| {
            r.body
                .pointer("/properties/hsm/archiveStatus/0/filesystemPath")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| "/".into());
    set_archive_status(
        world,
        fs_id,
        &path,
        json!({"state": "Canceled", "lastStartedTime": clock::rfc3339(op.start_ms), "percentComplete": super::percent(&op, now)}),
    );
}

/// Ends an archive: the dirty files under its path are written to the data container.
pub fn complete_archive(world: &mut World, op: &Operation) -> Result<(), OpError> {
    let Some(fs) = world.get(&op.resource_id).cloned() else {
        return Ok(());
    };
    let path = fs
        .body
        .pointer("/properties/hsm/archiveStatus/0/filesystemPath")
        .and_then(Value::as_str)
        .unwrap_or("/")
        .to_string();
    let started = clock::rfc3339(op.start_ms);
    let failure = op
        .planned_error
        .clone()
        .or_else(|| access_error(world, &fs.body, op.due_ms));
    if let Some(e) = failure {
        set_archive_status(
            world,
            &fs.id,
            &path,
            json!({"state": "Failed", "lastStartedTime": started, "errorCode": e.code, "errorMessage": e.message}),
        );
        return Err(e);
    }
    let written: Vec<String> = fs
        .sandbox
        .files
        .iter()
        .filter(|(p, f)| f.dirty && !f.dir && under(p, &path))
        .map(|(p, _)| p.clone())
        .collect();
    if let Some(container) = data_container(&fs.body)
        && let Some(c) = world.get_mut(&container)
    {
        for p in &written {
            c.sandbox
                .blobs
                .insert(p.trim_start_matches('/').to_string());
        }
        if !written.is_empty() {
            c.sandbox.holds_data = true;
        }
    }
    if let Some(r) = world.get_mut(&fs.id) {
        for (p, f) in r.sandbox.files.iter_mut() {
            if under(p, &path) {
                f.dirty = false;
            }
        }
    }
    set_archive_status(
        world,
        &fs.id,
        &path,
        json!({"state": "Completed", "lastStartedTime": started, "lastCompletionTime": clock::rfc3339(op.due_ms), "percentComplete": 100}),
    );
    Ok(())
}

/// What an import found: blobs walked, imported, and conflicting with dirty files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    pub walked: u64,
    pub imported: u64,
    pub conflicts: u64,
}

/// Adds the directories above `path` (root-owned, 0755) that do not exist yet.
pub fn ensure_parents(files: &mut std::collections::BTreeMap<String, FileEntry>, path: &str) {
    let mut at = String::new();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        at = format!("{at}/{part}");
        files.entry(at.clone()).or_insert(FileEntry {
            uid: 0,
            gid: 0,
            mode: 0o755,
            dir: true,
            dirty: false,
        });
    }
}

/// Imports the container's blobs under `prefixes` into the namespace. A blob whose file
/// was changed in Lustre (dirty) is a conflict, overwritten only with `overwrite`.
pub fn import_blobs(
    world: &mut World,
    fs_id: &str,
    prefixes: &[String],
    overwrite: bool,
) -> Imported {
    let mut out = Imported::default();
    let Some(container) = world.get(fs_id).and_then(|r| data_container(&r.body)) else {
        return out;
    };
    let blobs: Vec<String> = world
        .get(&container)
        .map(|c| c.sandbox.blobs.iter().cloned().collect())
        .unwrap_or_default();
    let Some(fs) = world.get_mut(fs_id) else {
        return out;
    };
    for blob in blobs {
        let path = norm_path(&blob);
        if !prefixes
            .iter()
            .any(|p| p == "/" || path.starts_with(&norm_path(p)))
        {
            continue;
        }
        out.walked += 1;
        if fs.sandbox.files.get(&path).is_some_and(|f| f.dirty) && !overwrite {
            out.conflicts += 1;
            continue;
        }
        ensure_parents(&mut fs.sandbox.files, &path);
        fs.sandbox.files.insert(
            path,
            FileEntry {
                uid: 0,
                gid: 0,
                mode: 0o644,
                dir: false,
                dirty: false,
            },
        );
        out.imported += 1;
    }
    out
}

/// The import Azure runs when a file system with Blob integration is created
/// (`importPrefixesInitial`, or the older `importPrefix`, default `/`).
pub fn hydrate_initial(world: &mut World, fs_id: &str) {
    let Some(s) = world.get(fs_id).and_then(|r| settings(&r.body).cloned()) else {
        return;
    };
    let mut prefixes: Vec<String> = s["importPrefixesInitial"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect();
    if prefixes.is_empty() {
        prefixes.push(s["importPrefix"].as_str().unwrap_or("/").to_string());
    }
    import_blobs(world, fs_id, &prefixes, false);
}
