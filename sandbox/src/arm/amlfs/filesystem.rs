//! Create, update and delete of a file system, and what their operations leave behind.
//! Every rule is checked before anything is stored, so a refused create leaves no trace.

use serde_json::{Value, json};

use super::super::errors::ArmError;
use super::super::{Ctx, Reply, Req, lro, providers};
use super::{
    CREATE_SECONDS, DELETE_SECONDS, POLL_SECONDS, UPDATE_SECONDS, available, client_info,
    ensure_idle, health, hsm, rules,
};
use crate::world::{OpError, Operation, Resource, SandboxData, World, key, types};

/// Properties a PUT may not change once the file system exists (`x-ms-mutability`
/// read+create in the spec), with where they live in the body.
const CREATE_ONLY: &[(&str, &str)] = &[
    ("sku", "/sku/name"),
    ("zones", "/zones"),
    ("storageCapacityTiB", "/properties/storageCapacityTiB"),
    ("filesystemSubnet", "/properties/filesystemSubnet"),
    ("hsm.settings", "/properties/hsm/settings"),
    ("identity", "/identity"),
];

/// `rootSquashSettings` as stored: what was asked, with the nodemap status Azure reports.
fn root_squash(s: &Value) -> Value {
    let mut out = s.clone();
    let active = s["mode"].as_str().is_some_and(|m| m != "None");
    out["status"] = json!(format!("nodemap.active={}", u8::from(active)));
    out
}

/// Comparable form: ids and names case-insensitive, numbers as numbers, `[]` as absent.
fn norm(v: &Value) -> Value {
    match v {
        Value::Array(a) if a.is_empty() => Value::Null,
        Value::Array(a) => Value::Array(a.iter().map(norm).collect()),
        Value::String(s) => json!(s.to_ascii_lowercase()),
        Value::Number(n) => json!(n.as_f64()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), norm(v))).collect()),
        other => other.clone(),
    }
}

/// Whether a PUT keeps the stored value at `pointer` (not sending it keeps it).
fn same(stored: &Value, asked: &Value, pointer: &str) -> bool {
    match asked.pointer(pointer) {
        None | Some(Value::Null) => true,
        Some(a) => norm(stored.pointer(pointer).unwrap_or(&Value::Null)) == norm(a),
    }
}

pub fn put(
    ctx: &mut Ctx<'_>,
    req: &Req,
    id: &str,
    name: &str,
    existing: Option<Resource>,
) -> Result<Reply, ArmError> {
    providers::require_registered(ctx, "Microsoft.StorageCache")?;
    let body = req.json_body()?.clone();
    let props = &body["properties"];
    let location = super::super::check_location(body["location"].as_str().unwrap_or_default())?;
    let sku_name = body["sku"]["name"].as_str().ok_or_else(|| {
        ArmError::invalid_parameter(format!(
            "Required property 'sku.name' not found: use one of {}.",
            rules::SKUS
                .iter()
                .map(|s| s.0)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let (sku, _, _) = rules::sku(sku_name)?;
    let tib = rules::capacity(sku, props["storageCapacityTiB"].as_f64())?;
    rules::zones(&location, &body["zones"])?;
    rules::maintenance_window(&props["maintenanceWindow"])?;
    rules::root_squash(&props["rootSquashSettings"])?;
    if let Some(e) = existing {
        return update_by_put(ctx, req, &e, &body, &location);
    }
    rules::hsm(ctx.world, &props["hsm"]["settings"])?;
    let subnet_id = props["filesystemSubnet"].as_str().unwrap_or_default();
    let fit = rules::subnet(ctx.world, subnet_id, &location, tib, id)
        .map_err(ArmError::invalid_parameter)?;
    rules::quota(ctx.world, &req.segs[1], id, tib)?;
    // `reject-amlfs-create=CODE`: refused at PUT time, before anything exists.
    if let Some(code) = ctx.faults.rejection_for("amlfs-create") {
        return Err(ArmError::bad_request(
            code,
            format!(
                "The Azure Managed Lustre file system cannot be created in region '{location}' (refused with {code}, injected by the sandbox)."
            ),
        ));
    }
    let mgs = client_info::mgs_address(&fit);
    let mut p = json!({
        "storageCapacityTiB": tib,
        "currentStorageCapacityTiB": tib,
        "clusterUuid": uuid::Uuid::new_v4().to_string(),
        "filesystemSubnet": fit.id,
        "provisioningState": "Creating",
        "health": health("Transitioning", "The file system is being created."),
        "throughputProvisionedMBps": rules::throughput_mbps(sku, tib),
        "maintenanceWindow": props["maintenanceWindow"],
        "clientInfo": client_info::client_info(name, &mgs, tib),
    });
    if props["rootSquashSettings"].is_object() {
        p["rootSquashSettings"] = root_squash(&props["rootSquashSettings"]);
    }
    if let Some(e) = props.get("encryptionSettings").filter(|v| !v.is_null()) {
        p["encryptionSettings"] = e.clone();
    }
    if props["hsm"]["settings"].is_object() {
        p["hsm"] = json!({
            "settings": props["hsm"]["settings"],
            "archiveStatus": [{"filesystemPath": "/", "status": {"state": "Idle"}}]
        });
    }
    let mut b = json!({
        "id": id, "name": name, "type": types::AML_FILESYSTEM, "location": location,
        "tags": super::super::tags_of(&body),
        "sku": {"name": sku},
        "properties": p
    });
    if let Some(z) = body["zones"].as_array().filter(|z| !z.is_empty()) {
        b["zones"] = json!(z);
    }
    if let Some(i) = body.get("identity").filter(|v| !v.is_null()) {
        b["identity"] = i.clone();
    }
    ctx.world.insert(Resource {
        id: id.to_string(),
        rtype: types::AML_FILESYSTEM.into(),
        body: b.clone(),
        created_ms: ctx.now,
        sandbox: SandboxData::default(),
    });
    let op = lro::start(ctx, id, "create", CREATE_SECONDS, "amlfs-create", true);
    let headers = lro::headers(ctx, &op, req, lro::BOTH, POLL_SECONDS);
    Ok(Reply::json(201, b).headers(headers))
}

/// A PUT on an existing file system: create-only properties must be unchanged; the rest
/// is an update. A file system whose create failed is created again.
fn update_by_put(
    ctx: &mut Ctx<'_>,
    req: &Req,
    e: &Resource,
    body: &Value,
    location: &str,
) -> Result<Reply, ArmError> {
    ensure_idle(ctx.world, &e.id, "update")?;
    let stored_location = e.body["location"].as_str().unwrap_or_default();
    if !stored_location.eq_ignore_ascii_case(location) {
        return Err(ArmError::conflict(
            "InvalidResourceLocation",
            format!(
                "The resource '{}' already exists in location '{stored_location}' in resource group '{}'. A resource with the same name cannot be created in location '{location}'. Please select a new resource name.",
                super::super::name_of(&e.id),
                super::super::group_of(&e.id)
            ),
        ));
    }
    for (what, pointer) in CREATE_ONLY {
        if !same(&e.body, body, pointer) {
            return Err(ArmError::bad_request(
                "PropertyChangeNotAllowed",
                format!(
                    "Changing property '{what}' is not allowed: it is set when the file system is created. Delete and recreate the file system to change it."
                ),
            ));
        }
    }
    let failed = e.body["properties"]["provisioningState"] == "Failed";
    let mut b = e.body.clone();
    b["tags"] = super::super::tags_of(body);
    apply_mutable(&mut b, &body["properties"]);
    let (action, seconds, state, description) = if failed {
        (
            "create",
            CREATE_SECONDS,
            "Creating",
            "The file system is being created.",
        )
    } else {
        (
            "update",
            UPDATE_SECONDS,
            "Updating",
            "The file system is being updated.",
        )
    };
    super::super::set_state(&mut b, state);
    b["properties"]["health"] = health("Transitioning", description);
    if let Some(r) = ctx.world.get_mut(&e.id) {
        r.body = b.clone();
    }
    let fault = if failed {
        "amlfs-create"
    } else {
        "amlfs-update"
    };
    let op = lro::start(ctx, &e.id, action, seconds, fault, true);
    let headers = lro::headers(ctx, &op, req, lro::BOTH, POLL_SECONDS);
    Ok(Reply::json(200, b).headers(headers))
}

/// The properties an update may change.
fn apply_mutable(b: &mut Value, props: &Value) {
    if props["maintenanceWindow"].is_object() {
        b["properties"]["maintenanceWindow"] = props["maintenanceWindow"].clone();
    }
    if props["rootSquashSettings"].is_object() {
        b["properties"]["rootSquashSettings"] = root_squash(&props["rootSquashSettings"]);
    }
    if props["encryptionSettings"].is_object() {
        b["properties"]["encryptionSettings"] = props["encryptionSettings"].clone();
    }
}

pub fn patch(ctx: &mut Ctx<'_>, req: &Req, fs: &Resource) -> Result<Reply, ArmError> {
    ensure_idle(ctx.world, &fs.id, "update")?;
    let body = req.json_body()?.clone();
    let props = &body["properties"];
    if props["maintenanceWindow"].is_object() {
        rules::maintenance_window(&props["maintenanceWindow"])?;
    }
    rules::root_squash(&props["rootSquashSettings"])?;
    if fs.body["properties"]["provisioningState"] != "Succeeded" {
        return Err(ArmError::conflict(
            "Conflict",
            format!(
                "The file system '{}' cannot be updated in provisioning state '{}'.",
                super::super::name_of(&fs.id),
                fs.body["properties"]["provisioningState"]
                    .as_str()
                    .unwrap_or_default()
            ),
        ));
    }
    let mut b = fs.body.clone();
    if let Some(t) = body.get("tags").filter(|t| t.is_object()) {
        b["tags"] = t.clone();
    }
    apply_mutable(&mut b, props);
    super::super::set_state(&mut b, "Updating");
    b["properties"]["health"] = health("Transitioning", "The file system is being updated.");
    if let Some(r) = ctx.world.get_mut(&fs.id) {
        r.body = b;
    }
    let op = lro::start(ctx, &fs.id, "update", UPDATE_SECONDS, "amlfs-update", true);
    let headers = lro::headers(ctx, &op, req, lro::BOTH, POLL_SECONDS);
    Ok(Reply::empty(202).headers(headers))
}

pub fn delete(ctx: &mut Ctx<'_>, req: &Req, existing: Option<Resource>) -> Result<Reply, ArmError> {
    let Some(fs) = existing else {
        return Ok(Reply::empty(204));
    };
    ensure_idle(ctx.world, &fs.id, "delete")?;
    if let Some(r) = ctx.world.get_mut(&fs.id) {
        super::super::set_state(&mut r.body, "Deleting");
        r.body["properties"]["health"] =
            health("Transitioning", "The file system is being deleted.");
    }
    // A running archive ends with the file system: what it had not written is lost.
    hsm::cancel_running(ctx.world, &fs.id, ctx.now);
    let op = lro::start(ctx, &fs.id, "delete", DELETE_SECONDS, "amlfs-delete", false);
    let headers = lro::headers(ctx, &op, req, lro::BOTH, POLL_SECONDS);
    Ok(Reply::empty(202).headers(headers))
}

/// Ends a create, update or delete.
pub fn complete(world: &mut World, op: &Operation) -> Result<(), OpError> {
    let failure = op.planned_error.clone().or_else(|| {
        if op.action == "create" {
            let fs = world.get(&op.resource_id)?;
            hsm::access_error(world, &fs.body, op.due_ms)
        } else {
            None
        }
    });
    if let Some(e) = failure {
        if let Some(r) = world.get_mut(&op.resource_id) {
            super::super::set_state(&mut r.body, "Failed");
            r.body["properties"]["health"] = json!({
                "state": if op.action == "create" { "Unavailable" } else { "Degraded" },
                "statusCode": e.code,
                "statusDescription": e.message
            });
        }
        return Err(e);
    }
    match op.action.as_str() {
        // Files not archived are gone with the file system, as in Azure.
        "delete" => world.remove_tree(&op.resource_id),
        _ => {
            let hydrate = op.action == "create";
            if let Some(r) = world.get_mut(&op.resource_id) {
                super::super::set_state(&mut r.body, "Succeeded");
                r.body["properties"]["health"] = available();
            }
            if hydrate {
                hsm::hydrate_initial(world, &op.resource_id);
            }
        }
    }
    Ok(())
}

/// Ids of file systems whose subnet is `subnet_id`.
pub fn in_subnet(world: &World, subnet_id: &str) -> Vec<String> {
    world
        .of_type(types::AML_FILESYSTEM)
        .filter(|f| {
            f.body["properties"]["filesystemSubnet"]
                .as_str()
                .is_some_and(|s| key(s) == key(subnet_id))
        })
        .map(|f| f.id.clone())
        .collect()
}
