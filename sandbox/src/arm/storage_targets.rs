//! `Microsoft.StorageCache/caches/storageTargets`: clfs (Blob), blobNfs and nfs3 targets
//! with junctions. A Blob target ends `Failed` when the cache's resource-provider service
//! principal lacks the storage roles on the account (checked when the operation finishes,
//! since role assignments take time to propagate).

use serde_json::{Value, json};

use super::errors::ArmError;
use super::faults::TargetRoleError;
use super::target_access::{self, container_of};
use super::{Ctx, Reply, Req, caches, lro, paging};
use crate::world::{OpError, Operation, Resource, World, types};

const CREATE_SECONDS: f64 = 3.0 * 60.0;
const DELETE_SECONDS: f64 = 60.0;
const POLL_SECONDS: f64 = 30.0;
/// Storage targets per cache (Azure's limit for most sizes).
const MAX_TARGETS: usize = 10;

pub fn handle(ctx: &mut Ctx<'_>, req: &Req, group: &str) -> Result<Reply, ArmError> {
    let cache_id = super::id_from(req, 8);
    let cache = ctx
        .world
        .get(&cache_id)
        .cloned()
        .ok_or_else(|| ArmError::resource_not_found(types::CACHE, &req.segs[7], group))?;
    let n = req.segs.len();
    if n == 9 {
        return if req.method == "GET" {
            let items = ctx
                .world
                .under(&cache.id, types::STORAGE_TARGET)
                .map(|r| r.body.clone())
                .collect();
            paging::page(ctx, req, items, paging::ARM)
        } else {
            Err(super::not_routable(req))
        };
    }
    let name = req.segs[9].clone();
    let id = format!("{}/storageTargets/{name}", cache.id);
    let existing = ctx.world.get(&id).cloned();
    match (req.method.as_str(), n) {
        ("GET", 10) => existing.map(|r| Reply::json(200, r.body)).ok_or_else(|| {
            ArmError::resource_not_found(
                types::STORAGE_TARGET,
                &format!("{}/{name}", cache.body["name"].as_str().unwrap_or_default()),
                group,
            )
        }),
        ("PUT", 10) => put(ctx, req, &cache, &id, &name, existing),
        ("DELETE", 10) => {
            let Some(r) = existing else {
                return Ok(Reply::empty(204));
            };
            caches::ensure_idle(ctx.world, &cache.id, "delete storage target")?;
            if let Some(t) = ctx.world.get_mut(&r.id) {
                super::set_state(&mut t.body, "Deleting");
            }
            let op = lro::start(
                ctx,
                &r.id,
                "delete",
                DELETE_SECONDS,
                "storage-target-delete",
                false,
            );
            let headers = lro::headers(ctx, &op, req, lro::BOTH, POLL_SECONDS);
            Ok(Reply::empty(202).headers(headers))
        }
        ("POST", 11) => {
            let r = existing
                .ok_or_else(|| ArmError::resource_not_found(types::STORAGE_TARGET, &name, group))?;
            let verb = req.lsegs[10].clone();
            if !["flush", "suspend", "resume", "invalidate", "dnsrefresh"].contains(&verb.as_str())
            {
                return Err(super::not_routable(req));
            }
            caches::ensure_idle(ctx.world, &cache.id, &verb)?;
            let op = lro::start(
                ctx,
                &r.id,
                &verb,
                30.0,
                &format!("storage-target-{verb}"),
                false,
            );
            let headers = lro::headers(ctx, &op, req, lro::BOTH, POLL_SECONDS);
            Ok(Reply::empty(202).headers(headers))
        }
        _ => Err(super::not_routable(req)),
    }
}

fn junctions_of(v: &Value) -> Vec<Value> {
    v["properties"]["junctions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn put(
    ctx: &mut Ctx<'_>,
    req: &Req,
    cache: &Resource,
    id: &str,
    name: &str,
    existing: Option<Resource>,
) -> Result<Reply, ArmError> {
    let body = req.json_body()?.clone();
    caches::ensure_idle(ctx.world, &cache.id, "create or update storage target")?;
    let cname = cache.body["name"].as_str().unwrap_or_default();
    if cache.body["properties"]["provisioningState"] != "Succeeded" {
        return Err(ArmError::conflict(
            "Conflict",
            format!(
                "Storage targets cannot be changed while cache '{cname}' is in provisioning state '{}'.",
                cache.body["properties"]["provisioningState"]
                    .as_str()
                    .unwrap_or_default()
            ),
        ));
    }
    if cache.body["properties"]["health"]["state"] == "Stopped" {
        return Err(ArmError::conflict(
            "Conflict",
            format!("Storage targets cannot be changed while cache '{cname}' is stopped."),
        ));
    }
    let props = &body["properties"];
    let target_type = props["targetType"].as_str().unwrap_or_default().to_string();
    let backing = match target_type.as_str() {
        "clfs" => props["clfs"]["target"].as_str(),
        "blobNfs" => props["blobNfs"]["target"].as_str(),
        "nfs3" => props["nfs3"]["target"].as_str(),
        "unknown" => Some(""),
        other => {
            return Err(ArmError::invalid_parameter(format!(
                "The target type '{other}' is not valid; use clfs, blobNfs or nfs3."
            )));
        }
    }
    .ok_or_else(|| {
        ArmError::invalid_parameter(format!(
            "A {target_type} storage target needs properties.{target_type}.target."
        ))
    })?
    .to_string();
    let mut junctions = Vec::new();
    for j in junctions_of(&body) {
        let path = j["namespacePath"].as_str().unwrap_or_default().to_string();
        if !path.starts_with('/') {
            return Err(ArmError::invalid_parameter(format!(
                "The namespace path '{path}' must start with '/'."
            )));
        }
        let clash = ctx.world.under(&cache.id, types::STORAGE_TARGET).any(|t| {
            !t.id.eq_ignore_ascii_case(id)
                && junctions_of(&t.body).iter().any(|o| {
                    o["namespacePath"]
                        .as_str()
                        .is_some_and(|p| p.eq_ignore_ascii_case(&path))
                })
        });
        if clash {
            return Err(ArmError::invalid_parameter(format!(
                "The namespace path '{path}' is already used by another storage target of cache '{cname}'."
            )));
        }
        junctions.push(json!({
            "namespacePath": path,
            "targetPath": j["targetPath"].as_str().unwrap_or("/"),
            "nfsExport": j["nfsExport"].as_str().unwrap_or("/"),
            "nfsAccessPolicy": j["nfsAccessPolicy"].as_str().unwrap_or("default"),
        }));
    }
    if existing.is_none()
        && ctx.world.under(&cache.id, types::STORAGE_TARGET).count() >= MAX_TARGETS
    {
        return Err(ArmError::invalid_parameter(format!(
            "Cache '{cname}' already has the maximum of {MAX_TARGETS} storage targets."
        )));
    }
    let mut p = json!({
        "targetType": target_type,
        "junctions": junctions,
        "provisioningState": if existing.is_some() { "Updating" } else { "Creating" },
        "state": "Ready",
        "allocationPercentage": 100
    });
    match target_type.as_str() {
        "clfs" => p["clfs"] = json!({"target": backing}),
        "blobNfs" => {
            p["blobNfs"] = json!({"target": backing, "usageModel": props["blobNfs"]["usageModel"].as_str().unwrap_or("READ_WRITE")});
        }
        "nfs3" => {
            let mut n = json!({"target": backing, "usageModel": props["nfs3"]["usageModel"].as_str().unwrap_or("WRITE_WORKLOAD_15")});
            for k in ["verificationTimer", "writeBackTimer"] {
                if let Some(v) = props["nfs3"].get(k) {
                    n[k] = v.clone();
                }
            }
            p["nfs3"] = n;
        }
        _ => {}
    }
    let id = existing
        .as_ref()
        .map(|r| r.id.clone())
        .unwrap_or_else(|| id.to_string());
    let b = json!({
        "id": id, "name": name, "type": types::STORAGE_TARGET,
        "location": cache.body["location"],
        "properties": p
    });
    // `target-role-error=sync400…`: refused at once while the roles are not effective.
    let variant = ctx.faults.target_role_error;
    if variant.synchronous()
        && let Some(refusal) = target_access::problem(&b, ctx.world, ctx.now)
            .and_then(|p| target_access::refusal(&p, variant))
    {
        return Err(refusal);
    }
    let created = existing.is_none();
    let sandbox = existing.map(|r| r.sandbox).unwrap_or_default();
    ctx.world.insert(Resource {
        id: id.clone(),
        rtype: types::STORAGE_TARGET.into(),
        body: b.clone(),
        created_ms: ctx.now,
        sandbox,
    });
    let mut op = lro::start(
        ctx,
        &id,
        if created { "create" } else { "update" },
        CREATE_SECONDS,
        "storage-target-create",
        true,
    );
    if variant != TargetRoleError::Failed {
        op.variant = Some(variant.name().to_string());
        ctx.world.operations.insert(op.id.clone(), op.clone());
    }
    let headers = lro::headers(ctx, &op, req, lro::ASYNC_ONLY, POLL_SECONDS);
    Ok(Reply::json(if created { 201 } else { 200 }, b).headers(headers))
}

/// Writes the target's dirty files to its container (Blob targets), marking them clean.
pub fn flush_target(world: &mut World, target_id: &str) {
    let Some(t) = world.get(target_id).cloned() else {
        return;
    };
    let dirty: Vec<String> = t
        .sandbox
        .files
        .iter()
        .filter(|(_, f)| f.dirty)
        .map(|(p, _)| p.clone())
        .collect();
    if dirty.is_empty() {
        return;
    }
    if let Some(c) = container_of(&t.body)
        && let Some(container) = world.get_mut(&c)
    {
        for p in &dirty {
            container
                .sandbox
                .blobs
                .insert(p.trim_start_matches('/').to_string());
        }
        container.sandbox.holds_data = true;
    }
    if let Some(t) = world.get_mut(target_id) {
        for f in t.sandbox.files.values_mut() {
            f.dirty = false;
        }
    }
}

pub fn complete(world: &mut World, op: &Operation, _now: u64) -> Result<(), OpError> {
    let Some(t) = world.get(&op.resource_id).cloned() else {
        return Ok(());
    };
    let failure = op.planned_error.clone().or_else(|| {
        if matches!(op.action.as_str(), "create" | "update") {
            let variant = op
                .variant
                .as_deref()
                .and_then(TargetRoleError::parse)
                .unwrap_or_default();
            let name = super::name_of(&op.resource_id);
            target_access::problem(&t.body, world, op.due_ms)
                .map(|p| target_access::operation_error(&p, variant, name))
        } else {
            None
        }
    });
    if let Some(e) = failure {
        if let Some(r) = world.get_mut(&op.resource_id)
            && matches!(op.action.as_str(), "create" | "update")
        {
            super::set_state(&mut r.body, "Failed");
        }
        return Err(e);
    }
    match op.action.as_str() {
        "delete" => {
            // Removing a target writes its data back first.
            flush_target(world, &op.resource_id);
            world.remove_tree(&op.resource_id);
        }
        "flush" => flush_target(world, &op.resource_id),
        "suspend" | "resume" => {
            if let Some(r) = world.get_mut(&op.resource_id) {
                r.body["properties"]["state"] = json!(if op.action == "suspend" {
                    "Suspended"
                } else {
                    "Ready"
                });
            }
        }
        "create" | "update" => {
            if let Some(r) = world.get_mut(&op.resource_id) {
                super::set_state(&mut r.body, "Succeeded");
                r.body["properties"]["state"] = json!("Ready");
            }
        }
        _ => {}
    }
    Ok(())
}
