//! `Microsoft.Storage`: account name checks, storage accounts (created asynchronously,
//! names unique across the world as across Azure) and blob containers. A container knows
//! whether it holds data; that is sandbox-only state shown in the world file.

use serde_json::{Value, json};

use super::errors::ArmError;
use super::{Ctx, Reply, Req, clock, lro, paging};
use crate::world::{OpError, Operation, Resource, SandboxData, World, types};

/// Seconds Azure takes to create a storage account.
const ACCOUNT_CREATE_SECONDS: f64 = 25.0;

fn valid_name(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn account_named<'w>(world: &'w World, name: &str) -> Option<&'w Resource> {
    world.of_type(types::STORAGE_ACCOUNT).find(|r| {
        r.body["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

pub fn check_name(ctx: &mut Ctx<'_>, req: &Req) -> Result<Reply, ArmError> {
    let body = req.json_body()?;
    let name = body["name"].as_str().unwrap_or_default();
    if !body["type"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case(types::STORAGE_ACCOUNT))
    {
        return Err(ArmError::invalid_parameter(
            "The type must be 'Microsoft.Storage/storageAccounts'.",
        ));
    }
    let out = if !valid_name(name) {
        json!({"nameAvailable": false, "reason": "AccountNameInvalid",
            "message": format!("{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.")})
    } else if account_named(ctx.world, name).is_some() {
        json!({"nameAvailable": false, "reason": "AlreadyExists",
            "message": format!("The storage account named {name} is already taken.")})
    } else {
        json!({"nameAvailable": true})
    };
    Ok(Reply::json(200, out))
}

pub fn list_accounts(ctx: &mut Ctx<'_>, req: &Req, group: Option<&str>) -> Result<Reply, ArmError> {
    let scope = match group {
        Some(g) => format!("/subscriptions/{}/resourceGroups/{g}", req.segs[1]),
        None => format!("/subscriptions/{}", req.segs[1]),
    };
    let items = ctx
        .world
        .under(&scope, types::STORAGE_ACCOUNT)
        .map(|r| r.body.clone())
        .collect();
    paging::page(ctx, req, items, paging::ARM)
}

pub fn handle(ctx: &mut Ctx<'_>, req: &Req, group: &str) -> Result<Reply, ArmError> {
    let n = req.segs.len();
    match n {
        7 if req.method == "GET" => list_accounts(ctx, req, Some(group)),
        8 => account(ctx, req, group),
        11 | 12
            if req.lsegs[8] == "blobservices"
                && req.lsegs[9] == "default"
                && req.lsegs[10] == "containers" =>
        {
            container(ctx, req, group)
        }
        _ => Err(super::not_routable(req)),
    }
}

fn account_json(
    id: &str,
    name: &str,
    location: &str,
    body: &Value,
    state: &str,
    now: u64,
) -> Value {
    let sku = body
        .get("sku")
        .cloned()
        .unwrap_or_else(|| json!({"name": "Standard_LRS"}));
    let kind = body["kind"].as_str().unwrap_or("StorageV2");
    let mut props = json!({
        "provisioningState": state,
        "creationTime": clock::rfc3339(now),
        "primaryLocation": location,
        "statusOfPrimary": "available",
        "accessTier": body["properties"]["accessTier"].as_str().unwrap_or("Hot"),
        "supportsHttpsTrafficOnly": body["properties"]["supportsHttpsTrafficOnly"].as_bool().unwrap_or(true),
        "minimumTlsVersion": body["properties"]["minimumTlsVersion"].as_str().unwrap_or("TLS1_2"),
        "allowBlobPublicAccess": body["properties"]["allowBlobPublicAccess"].as_bool().unwrap_or(false),
        "primaryEndpoints": {
            "blob": format!("https://{name}.blob.core.windows.net/"),
            "dfs": format!("https://{name}.dfs.core.windows.net/"),
            "file": format!("https://{name}.file.core.windows.net/"),
            "queue": format!("https://{name}.queue.core.windows.net/"),
            "table": format!("https://{name}.table.core.windows.net/"),
            "web": format!("https://{name}.z13.web.core.windows.net/")
        },
        "encryption": {"keySource": "Microsoft.Storage", "services": {"blob": {"enabled": true, "keyType": "Account"}, "file": {"enabled": true, "keyType": "Account"}}},
        "networkAcls": body["properties"].get("networkAcls").cloned().unwrap_or_else(|| json!({"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": []}))
    });
    for k in [
        "isHnsEnabled",
        "isNfsV3Enabled",
        "enableExtendedGroups",
        "largeFileSharesState",
    ] {
        if let Some(v) = body["properties"].get(k) {
            props[k] = v.clone();
        }
    }
    json!({
        "id": id, "name": name, "type": types::STORAGE_ACCOUNT, "location": location,
        "kind": kind, "sku": {"name": sku["name"].as_str().unwrap_or("Standard_LRS"), "tier": if sku["name"].as_str().unwrap_or_default().starts_with("Premium") {"Premium"} else {"Standard"}},
        "tags": super::tags_of(body),
        "properties": props
    })
}

fn account(ctx: &mut Ctx<'_>, req: &Req, group: &str) -> Result<Reply, ArmError> {
    let id = super::id_from(req, 8);
    let name = req.segs[7].clone();
    let existing = ctx.world.get(&id).cloned();
    match req.method.as_str() {
        "GET" => existing
            .map(|r| Reply::json(200, r.body))
            .ok_or_else(|| ArmError::resource_not_found(types::STORAGE_ACCOUNT, &name, group)),
        "PUT" => {
            let body = req.json_body()?.clone();
            if !valid_name(&name) {
                return Err(ArmError::bad_request(
                    "AccountNameInvalid",
                    format!(
                        "{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only."
                    ),
                ));
            }
            let location = super::check_location(body["location"].as_str().unwrap_or_default())?;
            if let Some(e) = existing {
                if let Some(op) = lro::busy(ctx.world, &e.id) {
                    return Err(ArmError::conflict(
                        "OperationInProgress",
                        format!(
                            "The storage account {name} is being created (operation {}).",
                            op.id
                        ),
                    ));
                }
                // An update of an existing account is synchronous.
                let mut b = account_json(&e.id, &name, &location, &body, "Succeeded", e.created_ms);
                b["properties"]["creationTime"] = e.body["properties"]["creationTime"].clone();
                if let Some(r) = ctx.world.get_mut(&e.id) {
                    r.body = b.clone();
                }
                return Ok(Reply::json(200, b));
            }
            if account_named(ctx.world, &name).is_some() {
                return Err(ArmError::conflict(
                    "StorageAccountAlreadyTaken",
                    format!("The storage account named {name} is already taken."),
                ));
            }
            let b = account_json(&id, &name, &location, &body, "Creating", ctx.now);
            ctx.world.insert(Resource {
                id: id.clone(),
                rtype: types::STORAGE_ACCOUNT.into(),
                body: b,
                created_ms: ctx.now,
                sandbox: SandboxData::default(),
            });
            let op = lro::start(
                ctx,
                &id,
                "create",
                ACCOUNT_CREATE_SECONDS,
                "storage-account-create",
                true,
            );
            if ctx.scaled(ACCOUNT_CREATE_SECONDS) == 0 {
                // Instant time: ARM answers synchronously, as storage does for quick creates.
                lro::settle(ctx.world, ctx.now);
                if let Some(r) = ctx.world.get(&id)
                    && r.body["properties"]["provisioningState"] == "Succeeded"
                {
                    return Ok(Reply::json(200, r.body.clone()));
                }
            }
            let headers = lro::headers(ctx, &op, req, lro::LOCATION_ONLY, 17.0);
            Ok(Reply::empty(202).headers(headers))
        }
        "DELETE" => {
            let Some(r) = existing else {
                return Ok(Reply::empty(204));
            };
            ctx.world.remove_tree(&r.id);
            Ok(Reply::empty(200))
        }
        _ => Err(super::not_routable(req)),
    }
}

fn container_json(id: &str, name: &str, body: &Value, now: u64) -> Value {
    let mut props = json!({
        "publicAccess": body["properties"]["publicAccess"].as_str().unwrap_or("None"),
        "leaseStatus": "Unlocked",
        "leaseState": "Available",
        "lastModifiedTime": clock::rfc3339(now),
        "hasImmutabilityPolicy": false,
        "hasLegalHold": false,
        "deleted": false,
        "remainingRetentionDays": 0,
        "defaultEncryptionScope": "$account-encryption-key",
        "denyEncryptionScopeOverride": false
    });
    if let Some(m) = body["properties"].get("metadata") {
        props["metadata"] = m.clone();
    }
    json!({
        "id": id, "name": name,
        "type": types::CONTAINER,
        "etag": format!("\"0x{:X}\"", now),
        "properties": props
    })
}

fn container(ctx: &mut Ctx<'_>, req: &Req, group: &str) -> Result<Reply, ArmError> {
    let account_id = super::id_from(req, 8);
    let account =
        ctx.world.get(&account_id).cloned().ok_or_else(|| {
            ArmError::resource_not_found(types::STORAGE_ACCOUNT, &req.segs[7], group)
        })?;
    if req.segs.len() == 11 {
        if req.method != "GET" {
            return Err(super::not_routable(req));
        }
        let items = ctx
            .world
            .under(&account.id, types::CONTAINER)
            .map(|r| r.body.clone())
            .collect();
        return paging::page(ctx, req, items, paging::ARM);
    }
    let name = req.segs[11].clone();
    let id = format!("{}/blobServices/default/containers/{name}", account.id);
    let existing = ctx.world.get(&id).cloned();
    match req.method.as_str() {
        "GET" => existing.map(|r| Reply::json(200, r.body)).ok_or_else(|| {
            ArmError::not_found(
                "ContainerNotFound",
                "The specified container does not exist.",
            )
        }),
        "PUT" => {
            let body = req.json_body().cloned().unwrap_or_else(|_| json!({}));
            if account.body["properties"]["provisioningState"] != "Succeeded" {
                return Err(ArmError::conflict(
                    "StorageAccountIsNotProvisioned",
                    format!(
                        "The storage account provisioning state must be 'Succeeded' before executing the operation. Account: {}.",
                        req.segs[7]
                    ),
                ));
            }
            let valid = (3..=63).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !name.starts_with('-')
                && !name.contains("--");
            if !valid {
                return Err(ArmError::bad_request(
                    "ContainerOperationFailure",
                    "The specified resource name contains invalid characters.",
                ));
            }
            let created = existing.is_none();
            let id = existing.as_ref().map(|r| r.id.clone()).unwrap_or(id);
            let b = container_json(&id, &name, &body, ctx.now);
            let sandbox = existing.map(|r| r.sandbox).unwrap_or_default();
            ctx.world.insert(Resource {
                id,
                rtype: types::CONTAINER.into(),
                body: b.clone(),
                created_ms: ctx.now,
                sandbox,
            });
            Ok(Reply::json(if created { 201 } else { 200 }, b))
        }
        "DELETE" => match existing {
            Some(r) => {
                ctx.world.remove(&r.id);
                Ok(Reply::empty(200))
            }
            None => Ok(Reply::empty(204)),
        },
        _ => Err(super::not_routable(req)),
    }
}

pub fn complete(world: &mut World, op: &Operation) -> Result<(), OpError> {
    lro::generic_complete(world, op)
}
