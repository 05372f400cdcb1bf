//! `Microsoft.Network/privateDnsZones`: zones and virtual network links (long-running,
//! final state via `Location`) and record sets (synchronous), with etag preconditions.

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::contention::{self, Claim};
use super::errors::ArmError;
use super::{Ctx, Reply, Req, lro, paging};
use crate::world::{OpError, Operation, Resource, SandboxData, World, etag, key, types};

const ZONE_WRITE_SECONDS: f64 = 30.0;
const LINK_WRITE_SECONDS: f64 = 30.0;
const RECORD_TYPES: &[&str] = &["A", "AAAA", "CNAME", "MX", "PTR", "SOA", "SRV", "TXT"];

pub fn list_zones(ctx: &mut Ctx<'_>, req: &Req, group: Option<&str>) -> Result<Reply, ArmError> {
    let scope = match group {
        Some(g) => format!("/subscriptions/{}/resourceGroups/{g}", req.segs[1]),
        None => format!("/subscriptions/{}", req.segs[1]),
    };
    let items = ctx
        .world
        .under(&scope, types::DNS_ZONE)
        .map(|r| view_zone(ctx.world, r))
        .collect();
    paging::page(ctx, req, items, paging::PRIVATE_DNS)
}

fn links_of<'w>(world: &'w World, zone_id: &str) -> impl Iterator<Item = &'w Resource> + 'w {
    world.under(zone_id, types::VNET_LINK)
}

fn record_sets_of<'w>(world: &'w World, zone_id: &str) -> Vec<&'w Resource> {
    let prefix = format!("{}/", key(zone_id));
    world
        .resources
        .iter()
        .filter(|(k, r)| {
            k.starts_with(&prefix)
                && r.rtype.len() > types::RECORD_SET_PREFIX.len()
                && r.rtype[..types::RECORD_SET_PREFIX.len()]
                    .eq_ignore_ascii_case(types::RECORD_SET_PREFIX)
                && !r.rtype.eq_ignore_ascii_case(types::VNET_LINK)
        })
        .map(|(_, r)| r)
        .collect()
}

pub fn view_zone(world: &World, r: &Resource) -> Value {
    let mut b = r.body.clone();
    let links: Vec<&Resource> = links_of(world, &r.id).collect();
    let with_reg = links
        .iter()
        .filter(|l| l.body["properties"]["registrationEnabled"] == true)
        .count();
    let p = &mut b["properties"];
    p["numberOfRecordSets"] = json!(record_sets_of(world, &r.id).len() + 1);
    p["numberOfVirtualNetworkLinks"] = json!(links.len());
    p["numberOfVirtualNetworkLinksWithRegistration"] = json!(with_reg);
    b
}

fn soa(zone: &Resource) -> Value {
    let zname = zone.body["name"].as_str().unwrap_or_default();
    json!({
        "id": format!("{}/SOA/@", zone.id), "name": "@", "type": "Microsoft.Network/privateDnsZones/SOA",
        "etag": zone.body["etag"],
        "properties": {"fqdn": format!("{zname}."), "ttl": 3600, "isAutoRegistered": false,
            "soaRecord": {"email": "azureprivatedns-host.microsoft.com", "expireTime": 2_419_200, "host": "azureprivatedns.net",
                "minimumTtl": 10, "refreshTime": 3600, "retryTime": 300, "serialNumber": 1}}
    })
}

fn precondition(req: &Req, existing: Option<&Resource>, what: &str) -> Result<(), ArmError> {
    if req.if_none_match.as_deref() == Some("*") && existing.is_some() {
        return Err(ArmError::new(
            412,
            "PreconditionFailed",
            format!("The {what} exists already."),
        ));
    }
    if let Some(m) = req.if_match.as_deref() {
        let matches = existing
            .is_some_and(|r| m == "*" || r.body["etag"].as_str() == Some(m.trim_matches('"')));
        if !matches {
            return Err(ArmError::new(
                412,
                "PreconditionFailed",
                format!("The {what} has been modified (etag mismatch)."),
            ));
        }
    }
    Ok(())
}

pub fn handle(ctx: &mut Ctx<'_>, req: &Req, group: &str) -> Result<Reply, ArmError> {
    let n = req.segs.len();
    if n == 7 {
        return if req.method == "GET" {
            list_zones(ctx, req, Some(group))
        } else {
            Err(super::not_routable(req))
        };
    }
    let zone_id = super::id_from(req, 8);
    if n == 8 {
        return zone(ctx, req, group, &zone_id);
    }
    let zone = ctx
        .world
        .get(&zone_id)
        .cloned()
        .ok_or_else(|| ArmError::not_found("ParentResourceNotFound", format!("Can not perform requested operation on nested resource. Parent resource '{}' not found.", req.segs[7])))?;
    match (req.lsegs[8].as_str(), n) {
        ("virtualnetworklinks", 9) if req.method == "GET" => {
            let items = links_of(ctx.world, &zone.id)
                .map(|r| r.body.clone())
                .collect();
            paging::page(ctx, req, items, paging::PRIVATE_DNS)
        }
        ("virtualnetworklinks", 10) => link(ctx, req, &zone),
        ("all", 9) if req.method == "GET" => {
            let mut items = vec![soa(&zone)];
            items.extend(
                record_sets_of(ctx.world, &zone.id)
                    .into_iter()
                    .map(|r| r.body.clone()),
            );
            paging::page(ctx, req, items, paging::PRIVATE_DNS)
        }
        (t, 9) if req.method == "GET" && RECORD_TYPES.iter().any(|x| x.eq_ignore_ascii_case(t)) => {
            let rtype = format!("{}{}", types::RECORD_SET_PREFIX, t.to_ascii_uppercase());
            let mut items: Vec<Value> = if t == "soa" { vec![soa(&zone)] } else { vec![] };
            items.extend(ctx.world.under(&zone.id, &rtype).map(|r| r.body.clone()));
            paging::page(ctx, req, items, paging::PRIVATE_DNS)
        }
        (t, 10) if RECORD_TYPES.iter().any(|x| x.eq_ignore_ascii_case(t)) => {
            record_set(ctx, req, group, &zone)
        }
        _ => Err(super::not_routable(req)),
    }
}

fn zone(ctx: &mut Ctx<'_>, req: &Req, group: &str, id: &str) -> Result<Reply, ArmError> {
    let name = req.segs[7].clone();
    let existing = ctx.world.get(id).cloned();
    match req.method.as_str() {
        "GET" => existing
            .map(|r| Reply::json(200, view_zone(ctx.world, &r)))
            .ok_or_else(|| ArmError::resource_not_found(types::DNS_ZONE, &name, group)),
        "PUT" | "PATCH" => {
            precondition(req, existing.as_ref(), &format!("Zone {name}"))?;
            let body = req.json_body()?.clone();
            if req.method == "PUT"
                && !body["location"]
                    .as_str()
                    .is_some_and(|l| l.eq_ignore_ascii_case("global"))
            {
                return Err(ArmError::bad_request(
                    "BadRequest",
                    "The location property of a private DNS zone must be 'global'.",
                ));
            }
            if !name.contains('.') || name.starts_with('.') || name.ends_with('.') {
                return Err(ArmError::bad_request(
                    "BadRequest",
                    format!("The zone name '{name}' is invalid: it needs at least two labels."),
                ));
            }
            if let Some(op) = lro::busy(ctx.world, id) {
                return Err(ArmError::conflict(
                    "Conflict",
                    format!(
                        "Another operation ({}) is in progress on zone {name}.",
                        op.id
                    ),
                ));
            }
            if req.method == "PATCH" && existing.is_none() {
                return Err(ArmError::resource_not_found(types::DNS_ZONE, &name, group));
            }
            let id = existing
                .as_ref()
                .map(|r| r.id.clone())
                .unwrap_or_else(|| id.to_string());
            let tags = if req.method == "PATCH" && body.get("tags").is_none() {
                existing
                    .as_ref()
                    .map(|r| r.body["tags"].clone())
                    .unwrap_or_else(|| json!({}))
            } else {
                super::tags_of(&body)
            };
            let b = json!({
                "id": id, "name": name, "type": types::DNS_ZONE, "location": "global",
                "etag": etag(), "tags": tags,
                "properties": {
                    "maxNumberOfRecordSets": 25000, "numberOfRecordSets": 1,
                    "maxNumberOfVirtualNetworkLinks": 1000, "numberOfVirtualNetworkLinks": 0,
                    "maxNumberOfVirtualNetworkLinksWithRegistration": 100, "numberOfVirtualNetworkLinksWithRegistration": 0,
                    "provisioningState": if existing.is_some() { "Updating" } else { "Creating" },
                    "internalId": existing.as_ref().map(|r| r.body["properties"]["internalId"].clone()).unwrap_or_else(|| json!(format!("Id_{}", uuid::Uuid::new_v4().simple())))
                }
            });
            let created_ms = existing.as_ref().map(|r| r.created_ms).unwrap_or(ctx.now);
            ctx.world.insert(Resource {
                id: id.clone(),
                rtype: types::DNS_ZONE.into(),
                body: b,
                created_ms,
                sandbox: SandboxData::default(),
            });
            let op = lro::start(
                ctx,
                &id,
                if existing.is_some() {
                    "update"
                } else {
                    "create"
                },
                ZONE_WRITE_SECONDS,
                "dns-zone-create",
                true,
            );
            let headers = lro::headers(ctx, &op, req, lro::BOTH, 60.0);
            Ok(Reply::empty(202).headers(headers))
        }
        "DELETE" => {
            let Some(r) = existing else {
                return Ok(Reply::empty(204));
            };
            precondition(req, Some(&r), &format!("Zone {name}"))?;
            if links_of(ctx.world, &r.id).next().is_some() {
                return Err(ArmError::conflict(
                    "CannotDeleteResource",
                    format!(
                        "Can not delete resource before nested resources are deleted. Zone '{name}' still has virtual network links."
                    ),
                ));
            }
            if let Some(op) = lro::busy(ctx.world, &r.id) {
                return Err(ArmError::conflict(
                    "Conflict",
                    format!(
                        "Another operation ({}) is in progress on zone {name}.",
                        op.id
                    ),
                ));
            }
            if let Some(z) = ctx.world.get_mut(&r.id) {
                super::set_state(&mut z.body, "Deleting");
            }
            let op = lro::start(
                ctx,
                &r.id,
                "delete",
                ZONE_WRITE_SECONDS,
                "dns-zone-delete",
                false,
            );
            let headers = lro::headers(ctx, &op, req, lro::BOTH, 60.0);
            Ok(Reply::empty(202).headers(headers))
        }
        _ => Err(super::not_routable(req)),
    }
}

fn link(ctx: &mut Ctx<'_>, req: &Req, zone: &Resource) -> Result<Reply, ArmError> {
    let name = req.segs[9].clone();
    let id = format!("{}/virtualNetworkLinks/{name}", zone.id);
    let existing = ctx.world.get(&id).cloned();
    let zname = zone.body["name"].as_str().unwrap_or_default().to_string();
    match req.method.as_str() {
        "GET" => existing.map(|r| Reply::json(200, r.body)).ok_or_else(|| {
            ArmError::resource_not_found(
                &format!("{}/virtualNetworkLinks", types::DNS_ZONE),
                &format!("{zname}/{name}"),
                &super::group_of(&zone.id),
            )
        }),
        "PUT" | "PATCH" => {
            precondition(
                req,
                existing.as_ref(),
                &format!("virtual network link {name}"),
            )?;
            let body = req.json_body()?.clone();
            if zone.body["properties"]["provisioningState"] != "Succeeded" {
                return Err(ArmError::conflict(
                    "Conflict",
                    format!(
                        "The zone {zname} is not in a state that allows links (provisioningState {}).",
                        zone.body["properties"]["provisioningState"]
                    ),
                ));
            }
            let vnet_id = body["properties"]["virtualNetwork"]["id"]
                .as_str()
                .or_else(|| existing.as_ref().and_then(|e| e.body["properties"]["virtualNetwork"]["id"].as_str()))
                .map(str::to_string)
                .ok_or_else(|| ArmError::bad_request("BadRequest", "The virtual network link must reference a virtual network (properties.virtualNetwork.id)."))?;
            let vnet = ctx.world.get(&vnet_id).cloned().ok_or_else(|| {
                ArmError::bad_request(
                    "BadRequest",
                    format!("Virtual network resource not found for '{vnet_id}'."),
                )
            })?;
            let registration = body["properties"]["registrationEnabled"]
                .as_bool()
                .or_else(|| {
                    existing
                        .as_ref()
                        .and_then(|e| e.body["properties"]["registrationEnabled"].as_bool())
                })
                .unwrap_or(false);
            for other in ctx.world.of_type(types::VNET_LINK) {
                if key(&other.id) == key(&id) {
                    continue;
                }
                let same_vnet = other.body["properties"]["virtualNetwork"]["id"]
                    .as_str()
                    .is_some_and(|v| key(v) == key(&vnet.id));
                if !same_vnet {
                    continue;
                }
                let other_zone = other.id.split('/').nth(8).unwrap_or_default();
                if key(&other.id).starts_with(&format!("{}/", key(&zone.id))) {
                    return Err(ArmError::conflict(
                        "Conflict",
                        format!(
                            "A virtual network cannot be linked to the same zone more than once. Link '{}' already links virtual network '{}' to zone '{zname}'.",
                            super::name_of(&other.id),
                            vnet.body["name"].as_str().unwrap_or_default()
                        ),
                    ));
                }
                if registration && other.body["properties"]["registrationEnabled"] == true {
                    return Err(ArmError::conflict(
                        "Conflict",
                        format!(
                            "A virtual network can have only one registration-enabled link. Virtual network '{}' is already registered with zone '{other_zone}'.",
                            vnet.body["name"].as_str().unwrap_or_default()
                        ),
                    ));
                }
            }
            if let Some(op) = lro::busy(ctx.world, &id) {
                return Err(ArmError::conflict(
                    "Conflict",
                    format!(
                        "Another operation ({}) is in progress on link {name}.",
                        op.id
                    ),
                ));
            }
            // The link's operation also touches the vnet (serialized with its other writes).
            let claim = contention::claim(ctx, req, &vnet.id, true)?;
            let id = existing.as_ref().map(|r| r.id.clone()).unwrap_or(id);
            let b = json!({
                "id": id, "name": name, "type": types::VNET_LINK, "location": "global",
                "etag": etag(), "tags": super::tags_of(&body),
                "properties": {
                    "virtualNetwork": {"id": vnet.id},
                    "registrationEnabled": registration,
                    "resolutionPolicy": body["properties"]["resolutionPolicy"].as_str().unwrap_or("Default"),
                    "virtualNetworkLinkState": "InProgress",
                    "provisioningState": if existing.is_some() { "Updating" } else { "Creating" }
                }
            });
            let created_ms = existing.as_ref().map(|r| r.created_ms).unwrap_or(ctx.now);
            ctx.world.insert(Resource {
                id: id.clone(),
                rtype: types::VNET_LINK.into(),
                body: b,
                created_ms,
                sandbox: SandboxData::default(),
            });
            let op = contention::start(
                ctx,
                claim,
                &id,
                if existing.is_some() {
                    "update"
                } else {
                    "create"
                },
                LINK_WRITE_SECONDS,
                "vnet-link-create",
                true,
            );
            let headers = lro::headers(ctx, &op, req, lro::BOTH, 60.0);
            Ok(Reply::empty(202).headers(headers))
        }
        "DELETE" => {
            let Some(r) = existing else {
                return Ok(Reply::empty(204));
            };
            precondition(req, Some(&r), &format!("virtual network link {name}"))?;
            if let Some(op) = lro::busy(ctx.world, &r.id) {
                return Err(ArmError::conflict(
                    "Conflict",
                    format!(
                        "Another operation ({}) is in progress on link {name}.",
                        op.id
                    ),
                ));
            }
            let claim = match contention::linked_vnet(&r.body) {
                Some(vnet) if ctx.world.get(&vnet).is_some() => {
                    contention::claim(ctx, req, &vnet, true)?
                }
                _ => Claim::default(),
            };
            if let Some(l) = ctx.world.get_mut(&r.id) {
                super::set_state(&mut l.body, "Deleting");
            }
            let op = contention::start(
                ctx,
                claim,
                &r.id,
                "delete",
                LINK_WRITE_SECONDS,
                "vnet-link-delete",
                false,
            );
            let headers = lro::headers(ctx, &op, req, lro::BOTH, 60.0);
            Ok(Reply::empty(202).headers(headers))
        }
        _ => Err(super::not_routable(req)),
    }
}

fn record_set(
    ctx: &mut Ctx<'_>,
    req: &Req,
    group: &str,
    zone: &Resource,
) -> Result<Reply, ArmError> {
    let rtype_name = req.segs[8].to_ascii_uppercase();
    let name = req.segs[9].clone();
    let rtype = format!("{}{}", types::RECORD_SET_PREFIX, rtype_name);
    let id = format!("{}/{rtype_name}/{name}", zone.id);
    let existing = ctx.world.get(&id).cloned();
    let zname = zone.body["name"].as_str().unwrap_or_default().to_string();
    if rtype_name == "SOA" && req.method == "GET" {
        return Ok(Reply::json(200, soa(zone)));
    }
    match req.method.as_str() {
        "GET" => existing.map(|r| Reply::json(200, r.body)).ok_or_else(|| {
            ArmError::not_found(
                "NotFound",
                format!("The resource record '{name}' does not exist in resource group '{group}' of subscription '{}'.", req.segs[1]),
            )
        }),
        "PUT" | "PATCH" => {
            precondition(req, existing.as_ref(), &format!("record set {name}"))?;
            if req.method == "PATCH" && existing.is_none() {
                return Err(ArmError::not_found("NotFound", format!("The resource record '{name}' does not exist.")));
            }
            if zone.body["properties"]["provisioningState"] != "Succeeded" {
                return Err(ArmError::conflict("Conflict", format!("The zone {zname} is not ready (provisioningState {}).", zone.body["properties"]["provisioningState"])));
            }
            let body = req.json_body()?.clone();
            let mut props = existing
                .as_ref()
                .filter(|_| req.method == "PATCH")
                .map(|e| e.body["properties"].clone())
                .unwrap_or_else(|| json!({}));
            let given = &body["properties"];
            props["ttl"] = given.get("ttl").cloned().unwrap_or_else(|| props.get("ttl").cloned().unwrap_or(json!(3600)));
            if let Some(m) = given.get("metadata") {
                props["metadata"] = m.clone();
            }
            for field in ["aRecords", "aaaaRecords", "cnameRecord", "mxRecords", "ptrRecords", "srvRecords", "txtRecords"] {
                if let Some(v) = given.get(field) {
                    props[field] = v.clone();
                }
            }
            if let Some(records) = props["aRecords"].as_array() {
                for rec in records {
                    let ip = rec["ipv4Address"].as_str().unwrap_or_default();
                    if ip.parse::<Ipv4Addr>().is_err() {
                        return Err(ArmError::bad_request("BadRequest", format!("The IPv4 address '{ip}' is invalid.")));
                    }
                }
            }
            let fqdn = if name == "@" { format!("{zname}.") } else { format!("{name}.{zname}.") };
            props["fqdn"] = json!(fqdn);
            props["isAutoRegistered"] = json!(false);
            let created = existing.is_none();
            let id = existing.as_ref().map(|r| r.id.clone()).unwrap_or(id);
            let b = json!({"id": id, "name": name, "type": rtype, "etag": etag(), "properties": props});
            ctx.world.insert(Resource { id, rtype, body: b.clone(), created_ms: ctx.now, sandbox: SandboxData::default() });
            Ok(Reply::json(if created { 201 } else { 200 }, b))
        }
        "DELETE" => match existing {
            Some(r) => {
                precondition(req, Some(&r), &format!("record set {name}"))?;
                ctx.world.remove(&r.id);
                Ok(Reply::empty(200))
            }
            None => Ok(Reply::empty(204)),
        },
        _ => Err(super::not_routable(req)),
    }
}

pub fn complete(world: &mut World, op: &Operation) -> Result<(), OpError> {
    let r = lro::generic_complete(world, op);
    if r.is_ok()
        && let Some(l) = world.get_mut(&op.resource_id)
        && l.rtype.eq_ignore_ascii_case(types::VNET_LINK)
    {
        l.body["properties"]["virtualNetworkLinkState"] = json!("Completed");
    }
    r
}
