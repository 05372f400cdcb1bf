//! `Microsoft.StorageCache/caches`: create (about 20 minutes), update, delete, the POST
//! actions (flush, start, stop, upgrade), health states, mount addresses allocated from the
//! cache's dedicated subnet, SKUs and usage models.

use std::net::Ipv4Addr;
use std::str::FromStr;

use ipnet::Ipv4Net;
use serde_json::{Value, json};

use super::errors::ArmError;
use super::{Ctx, Reply, Req, clock, lro, network, paging, providers};
use crate::settings::NIC_RELEASE_SECONDS;
use crate::world::{OpError, Operation, Resource, SandboxData, World, key, types};

/// (SKU, cache sizes in GB from smallest to largest, throughput GB/s).
pub const SKUS: &[(&str, [u64; 3], &str)] = &[
    ("Standard_2G", [3072, 6144, 12288], "2"),
    ("Standard_4G", [6144, 12288, 24576], "4"),
    ("Standard_8G", [12288, 24576, 49152], "8"),
];
/// Mount addresses per size tier (smallest, middle, largest size of the SKU).
pub const MOUNT_ADDRESSES: [usize; 3] = [3, 6, 12];
/// Azure keeps 5 addresses of every subnet; a cache needs 64 usable ones.
pub const MIN_USABLE_ADDRESSES: u64 = 64;
pub const FIRMWARE: &str = "V5.1.12";

const CREATE_SECONDS: f64 = 20.0 * 60.0;
const UPDATE_SECONDS: f64 = 60.0;
const DELETE_SECONDS: f64 = 10.0 * 60.0;
const POLL_SECONDS: f64 = 30.0;

pub fn skus(ctx: &mut Ctx<'_>, req: &Req) -> Result<Reply, ArmError> {
    let items = SKUS
        .iter()
        .map(|(name, sizes, tput)| {
            json!({
                "resourceType": "caches",
                "name": name,
                "locations": super::REGIONS,
                "locationInfo": super::REGIONS.iter().map(|l| json!({"location": l, "zones": []})).collect::<Vec<_>>(),
                "capabilities": [
                    {"name": "throughput GB/s", "value": tput},
                    {"name": "cache sizes(GB)", "value": sizes.iter().map(u64::to_string).collect::<Vec<_>>().join(",")},
                    {"name": "accountVolumes", "value": "1"}
                ],
                "restrictions": []
            })
        })
        .collect();
    paging::page(ctx, req, items, paging::ARM)
}

pub fn usage_models(ctx: &mut Ctx<'_>, req: &Req) -> Result<Reply, ArmError> {
    let models = [
        ("READ_HEAVY_INFREQ", "Read heavy, infrequent writes"),
        (
            "READ_HEAVY_CHECK_180",
            "Read heavy, checking the back-end every 3 hours",
        ),
        ("WRITE_WORKLOAD_15", "Greater than 15% writes"),
        (
            "WRITE_WORKLOAD_CHECK_30",
            "Greater than 15% writes, checking the back-end every 30 seconds",
        ),
        (
            "WRITE_WORKLOAD_CHECK_60",
            "Greater than 15% writes, checking the back-end every 60 seconds",
        ),
        (
            "WRITE_AROUND",
            "Clients write to the NFS target bypassing the cache",
        ),
        ("READ_ONLY", "Read-only, no writes"),
        ("READ_WRITE", "Read/write"),
    ];
    let items = models
        .iter()
        .map(|(m, d)| json!({"display": {"description": d}, "modelName": m, "targetType": "Nfs"}))
        .collect();
    paging::page(ctx, req, items, paging::ARM)
}

pub fn list(ctx: &mut Ctx<'_>, req: &Req, group: Option<&str>) -> Result<Reply, ArmError> {
    let scope = match group {
        Some(g) => format!("/subscriptions/{}/resourceGroups/{g}", req.segs[1]),
        None => format!("/subscriptions/{}", req.segs[1]),
    };
    let items = ctx
        .world
        .under(&scope, types::CACHE)
        .map(|r| view(ctx.world, r))
        .collect();
    paging::page(ctx, req, items, paging::ARM)
}

pub fn view(_world: &World, r: &Resource) -> Value {
    r.body.clone()
}

fn health(state: &str, description: &str) -> Value {
    json!({"state": state, "statusDescription": description, "conditions": []})
}

/// 409 while any operation runs on the cache or one of its storage targets.
pub fn ensure_idle(world: &World, cache_id: &str, what: &str) -> Result<(), ArmError> {
    if let Some(op) = lro::busy(world, cache_id) {
        return Err(ArmError::conflict(
            "Conflict",
            format!(
                "Operation '{what}' is not allowed on cache '{}' while operation '{}' ({}) is in progress; retry after it completes.",
                super::name_of(cache_id),
                op.action,
                op.id
            ),
        ));
    }
    Ok(())
}

pub fn handle(ctx: &mut Ctx<'_>, req: &Req, group: &str) -> Result<Reply, ArmError> {
    let n = req.segs.len();
    if n == 7 {
        return if req.method == "GET" {
            list(ctx, req, Some(group))
        } else {
            Err(super::not_routable(req))
        };
    }
    let id = super::id_from(req, 8);
    let name = req.segs[7].clone();
    let existing = ctx.world.get(&id).cloned();
    match (req.method.as_str(), n) {
        ("GET", 8) => existing
            .map(|r| Reply::json(200, view(ctx.world, &r)))
            .ok_or_else(|| ArmError::resource_not_found(types::CACHE, &name, group)),
        ("PUT", 8) => put(ctx, req, &id, &name, existing),
        ("PATCH", 8) => {
            let r =
                existing.ok_or_else(|| ArmError::resource_not_found(types::CACHE, &name, group))?;
            ensure_idle(ctx.world, &r.id, "update")?;
            let body = req.json_body().cloned().unwrap_or_else(|_| json!({}));
            if let Some(c) = ctx.world.get_mut(&r.id) {
                if let Some(t) = body.get("tags") {
                    c.body["tags"] = t.clone();
                }
                if let Some(s) = body["properties"].get("securitySettings") {
                    c.body["properties"]["securitySettings"] = s.clone();
                }
                super::set_state(&mut c.body, "Updating");
            }
            let op = lro::start(ctx, &r.id, "update", UPDATE_SECONDS, "cache-update", true);
            let out = ctx
                .world
                .get(&r.id)
                .map(|c| c.body.clone())
                .unwrap_or(Value::Null);
            let headers = lro::headers(ctx, &op, req, lro::ASYNC_ONLY, POLL_SECONDS);
            Ok(Reply::json(200, out).headers(headers))
        }
        ("DELETE", 8) => {
            let Some(r) = existing else {
                return Ok(Reply::empty(204));
            };
            ensure_idle(ctx.world, &r.id, "delete")?;
            if let Some(c) = ctx.world.get_mut(&r.id) {
                super::set_state(&mut c.body, "Deleting");
                c.body["properties"]["health"] =
                    health("Transitioning", "The cache is being deleted.");
            }
            let op = lro::start(ctx, &r.id, "delete", DELETE_SECONDS, "cache-delete", false);
            if ctx.settings().async_nic_release() {
                let delay = ctx.scaled(NIC_RELEASE_SECONDS);
                network::hold_until_released(ctx.world, &r, op.due_ms, delay);
            }
            let headers = lro::headers(ctx, &op, req, lro::BOTH, POLL_SECONDS);
            Ok(Reply::empty(202).headers(headers))
        }
        ("POST", 9) => {
            let r =
                existing.ok_or_else(|| ArmError::resource_not_found(types::CACHE, &name, group))?;
            action(ctx, req, &r)
        }
        _ => Err(super::not_routable(req)),
    }
}

fn put(
    ctx: &mut Ctx<'_>,
    req: &Req,
    id: &str,
    name: &str,
    existing: Option<Resource>,
) -> Result<Reply, ArmError> {
    providers::require_registered(ctx, "Microsoft.StorageCache")?;
    let body = req.json_body()?.clone();
    let location = super::check_location(body["location"].as_str().unwrap_or_default())?;
    let sku = body["sku"]["name"].as_str().unwrap_or_default().to_string();
    let (_, sizes, _) = SKUS
        .iter()
        .find(|(s, _, _)| s.eq_ignore_ascii_case(&sku))
        .ok_or_else(|| {
            ArmError::invalid_parameter(format!(
                "The SKU '{sku}' is not supported. Supported SKUs: {}.",
                SKUS.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
            ))
        })?;
    let size = body["properties"]["cacheSizeGB"].as_u64().unwrap_or(0);
    if !sizes.contains(&size) {
        return Err(ArmError::invalid_parameter(format!(
            "Cache size {size} GB is not valid for SKU {sku}. Valid sizes: {}.",
            sizes
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let subnet_id = body["properties"]["subnet"]
        .as_str()
        .ok_or_else(|| {
            ArmError::invalid_parameter("The cache's subnet (properties.subnet) is required.")
        })?
        .to_string();
    if let Some(e) = &existing {
        ensure_idle(ctx.world, &e.id, "update")?;
        let same = e.body["properties"]["cacheSizeGB"].as_u64() == Some(size)
            && e.body["sku"]["name"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(&sku))
            && e.body["properties"]["subnet"]
                .as_str()
                .is_some_and(|s| key(s) == key(&subnet_id));
        if !same {
            return Err(ArmError::bad_request(
                "BadRequest",
                "The cache's SKU, size and subnet cannot be changed after creation; delete and recreate the cache.",
            ));
        }
        let mut b = e.body.clone();
        b["tags"] = super::tags_of(&body);
        if let Some(s) = body["properties"].get("securitySettings") {
            b["properties"]["securitySettings"] = s.clone();
        }
        super::set_state(&mut b, "Updating");
        if let Some(c) = ctx.world.get_mut(&e.id) {
            c.body = b.clone();
        }
        let op = lro::start(ctx, &e.id, "update", UPDATE_SECONDS, "cache-update", true);
        let headers = lro::headers(ctx, &op, req, lro::ASYNC_ONLY, POLL_SECONDS);
        return Ok(Reply::json(200, b).headers(headers));
    }
    let subnet = ctx.world.get(&subnet_id).cloned().ok_or_else(|| {
        ArmError::invalid_parameter(format!("The subnet '{subnet_id}' was not found."))
    })?;
    let vnet_id = subnet
        .id
        .rsplitn(3, '/')
        .nth(2)
        .unwrap_or_default()
        .to_string();
    let vnet_location = ctx
        .world
        .get(&vnet_id)
        .and_then(|v| v.body["location"].as_str().map(str::to_string));
    if vnet_location
        .as_deref()
        .is_some_and(|l| !l.eq_ignore_ascii_case(&location))
    {
        return Err(ArmError::invalid_parameter(format!(
            "The subnet's virtual network is in '{}' but the cache is in '{location}'; the cache and its subnet must be in the same region.",
            vnet_location.unwrap_or_default()
        )));
    }
    if let Some(user) = network::subnet_user(ctx.world, &subnet.id) {
        return Err(ArmError::invalid_parameter(format!(
            "The subnet '{}' is in use by '{user}'. An HPC Cache needs a dedicated subnet that hosts nothing else.",
            subnet.id
        )));
    }
    let prefix = subnet.body["properties"]["addressPrefix"]
        .as_str()
        .unwrap_or_default();
    let usable = Ipv4Net::from_str(prefix)
        .map(|n| (1u64 << (32 - n.prefix_len())).saturating_sub(5))
        .unwrap_or(0);
    if usable < MIN_USABLE_ADDRESSES {
        return Err(ArmError::invalid_parameter(format!(
            "The subnet '{}' ({prefix}) has {usable} usable IP addresses; an HPC Cache needs at least {MIN_USABLE_ADDRESSES} (Azure keeps 5 of every subnet). Use a /24.",
            subnet.id
        )));
    }
    // `reject-cache-create=CODE`: refused at PUT time, before anything exists (quota).
    if let Some(code) = ctx.faults.rejection_for("cache-create") {
        return Err(ArmError::bad_request(
            code,
            format!(
                "Operation could not be completed as it results in exceeding approved HPC Cache quota for subscription in region '{location}' (injected by the sandbox). Request a quota increase or delete unused caches."
            ),
        ));
    }
    let mut props = json!({
        "cacheSizeGB": size,
        "subnet": subnet.id,
        "provisioningState": "Creating",
        "health": health("Transitioning", "The cache is being created."),
        "mountAddresses": [],
        "upgradeStatus": {
            "currentFirmwareVersion": FIRMWARE,
            "firmwareUpdateStatus": "unavailable",
            "lastFirmwareUpdate": clock::rfc3339(ctx.now)
        },
        "networkSettings": {"mtu": 1500, "utilityAddresses": [], "dnsServers": [], "dnsSearchDomain": "", "ntpServer": "time.windows.com"},
        "securitySettings": {"accessPolicies": [{"name": "default", "accessRules": [
            {"scope": "default", "access": "rw", "suid": false, "submountAccess": true, "rootSquash": false}
        ]}]}
    });
    for k in [
        "securitySettings",
        "encryptionSettings",
        "directoryServicesSettings",
        "upgradeSettings",
        "networkSettings",
    ] {
        if let Some(v) = body["properties"].get(k) {
            props[k] = v.clone();
        }
    }
    if let Some(z) = body.get("zones") {
        props["zones"] = z.clone();
    }
    let mut b = json!({
        "id": id, "name": name, "type": types::CACHE, "location": location,
        "tags": super::tags_of(&body),
        "sku": {"name": SKUS.iter().find(|s| s.0.eq_ignore_ascii_case(&sku)).map(|s| s.0).unwrap_or("Standard_2G")},
        "properties": props
    });
    if let Some(i) = body.get("identity") {
        b["identity"] = i.clone();
    }
    ctx.world.insert(Resource {
        id: id.to_string(),
        rtype: types::CACHE.into(),
        body: b.clone(),
        created_ms: ctx.now,
        sandbox: SandboxData::default(),
    });
    let op = lro::start(ctx, id, "create", CREATE_SECONDS, "cache-create", true);
    let headers = lro::headers(ctx, &op, req, lro::ASYNC_ONLY, POLL_SECONDS);
    Ok(Reply::json(201, b).headers(headers))
}

fn action(ctx: &mut Ctx<'_>, req: &Req, cache: &Resource) -> Result<Reply, ArmError> {
    let verb = req.lsegs[8].as_str();
    let (health_state, description, real) = match verb {
        "flush" => (
            "Flushing",
            "The cache is writing modified data to the storage targets.",
            30.0 + 10.0 * dirty_files(ctx.world, &cache.id) as f64,
        ),
        "stop" => (
            "Stopping",
            "The cache is stopping.",
            120.0 + 10.0 * dirty_files(ctx.world, &cache.id) as f64,
        ),
        "start" => ("Transitioning", "The cache is starting.", 300.0),
        "upgrade" => ("Upgrading", "The cache firmware is being upgraded.", 600.0),
        "debuginfo" => ("Healthy", "Collecting debug information.", 60.0),
        _ => return Err(super::not_routable(req)),
    };
    ensure_idle(ctx.world, &cache.id, verb)?;
    if cache.body["properties"]["provisioningState"] != "Succeeded" {
        return Err(ArmError::conflict(
            "Conflict",
            format!(
                "Operation '{verb}' is not allowed on cache '{}' in provisioning state '{}'.",
                cache.body["name"].as_str().unwrap_or_default(),
                cache.body["properties"]["provisioningState"]
                    .as_str()
                    .unwrap_or_default()
            ),
        ));
    }
    if let Some(c) = ctx.world.get_mut(&cache.id) {
        c.body["properties"]["health"] = health(health_state, description);
    }
    let fault_key = format!("cache-{verb}");
    let op = lro::start(ctx, &cache.id, verb, real, &fault_key, false);
    let headers = lro::headers(ctx, &op, req, lro::BOTH, POLL_SECONDS);
    Ok(Reply::empty(202).headers(headers))
}

/// Files written through the cache and not yet in the backing store.
pub fn dirty_files(world: &World, cache_id: &str) -> usize {
    world
        .under(cache_id, types::STORAGE_TARGET)
        .map(|t| t.sandbox.files.values().filter(|f| f.dirty).count())
        .sum()
}

/// Writes every dirty file of the cache's targets to their backing containers.
pub fn flush_all(world: &mut World, cache_id: &str) {
    let targets: Vec<String> = world
        .under(cache_id, types::STORAGE_TARGET)
        .map(|t| t.id.clone())
        .collect();
    for t in targets {
        super::storage_targets::flush_target(world, &t);
    }
}

/// Allocates `count` mount addresses from the subnet: never the first four or the last
/// address (Azure's), never one another cache holds.
pub fn allocate(world: &World, subnet_prefix: &str, count: usize) -> Vec<String> {
    let Ok(net) = Ipv4Net::from_str(subnet_prefix) else {
        return vec![];
    };
    let taken: Vec<String> = world
        .of_type(types::CACHE)
        .flat_map(|c| {
            c.body["properties"]["mountAddresses"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    let first = u32::from(net.network()) + 4;
    let last = u32::from(net.broadcast());
    (first..last)
        .map(|a| Ipv4Addr::from(a).to_string())
        .filter(|a| !taken.contains(a))
        .take(count)
        .collect()
}

pub fn complete(world: &mut World, op: &Operation, _now: u64) -> Result<(), OpError> {
    let Some(cache) = world.get(&op.resource_id).cloned() else {
        return Ok(());
    };
    if let Some(e) = &op.planned_error {
        if let Some(c) = world.get_mut(&op.resource_id) {
            match op.action.as_str() {
                "create" | "update" | "delete" => {
                    super::set_state(&mut c.body, "Failed");
                    c.body["properties"]["health"] = health("Unknown", "The operation failed.");
                }
                "start" => {
                    c.body["properties"]["health"] =
                        health("StartFailed", "The cache failed to start.")
                }
                "upgrade" => {
                    c.body["properties"]["health"] =
                        health("UpgradeFailed", "The firmware upgrade failed.")
                }
                _ => c.body["properties"]["health"] = health("Degraded", "The operation failed."),
            }
        }
        return Err(e.clone());
    }
    match op.action.as_str() {
        "delete" => {
            // Deleting does not flush: data not yet written back is lost, as in Azure.
            world.remove_tree(&op.resource_id);
        }
        "create" | "update" => {
            let size = cache.body["properties"]["cacheSizeGB"]
                .as_u64()
                .unwrap_or(0);
            let sku = cache.body["sku"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let tier = SKUS
                .iter()
                .find(|s| s.0 == sku)
                .and_then(|s| s.1.iter().position(|x| *x == size))
                .unwrap_or(0);
            let have = cache.body["properties"]["mountAddresses"]
                .as_array()
                .map_or(0, Vec::len);
            let addresses = if have == 0 {
                let subnet = cache.body["properties"]["subnet"]
                    .as_str()
                    .unwrap_or_default();
                let prefix = world
                    .get(subnet)
                    .and_then(|s| {
                        s.body["properties"]["addressPrefix"]
                            .as_str()
                            .map(str::to_string)
                    })
                    .unwrap_or_default();
                Some(allocate(world, &prefix, MOUNT_ADDRESSES[tier]))
            } else {
                None
            };
            if let Some(c) = world.get_mut(&op.resource_id) {
                super::set_state(&mut c.body, "Succeeded");
                c.body["properties"]["health"] = health("Healthy", "The cache is in Running state");
                if let Some(a) = addresses {
                    c.body["properties"]["mountAddresses"] = json!(a);
                }
            }
        }
        "flush" | "stop" => {
            flush_all(world, &op.resource_id);
            if let Some(c) = world.get_mut(&op.resource_id) {
                c.body["properties"]["health"] = if op.action == "stop" {
                    health("Stopped", "The cache is in Stopped state")
                } else {
                    health("Healthy", "The cache is in Running state")
                };
            }
        }
        "start" | "debuginfo" => {
            if let Some(c) = world.get_mut(&op.resource_id) {
                c.body["properties"]["health"] = health("Healthy", "The cache is in Running state");
            }
        }
        "upgrade" => {
            if let Some(c) = world.get_mut(&op.resource_id) {
                c.body["properties"]["health"] = health("Healthy", "The cache is in Running state");
                c.body["properties"]["upgradeStatus"]["firmwareUpdateStatus"] =
                    json!("unavailable");
                c.body["properties"]["upgradeStatus"]["lastFirmwareUpdate"] =
                    json!(clock::rfc3339(op.due_ms));
            }
        }
        _ => {}
    }
    Ok(())
}
