//! `Microsoft.Network/virtualNetworks` and their `subnets`, with Azure's address checks.

use std::str::FromStr;

use ipnet::Ipv4Net;
use serde_json::{Value, json};

use super::errors::ArmError;
use super::{Ctx, Reply, Req, list_body, lro};
use crate::world::{OpError, Operation, Resource, SandboxData, World, etag, key, types};

/// Seconds a vnet or subnet write takes in Azure.
const NETWORK_WRITE_SECONDS: f64 = 4.0;

pub fn list_vnets(ctx: &mut Ctx<'_>, req: &Req, group: Option<&str>) -> Result<Reply, ArmError> {
    let scope = match group {
        Some(g) => format!("/subscriptions/{}/resourceGroups/{g}", req.segs[1]),
        None => format!("/subscriptions/{}", req.segs[1]),
    };
    let items = ctx
        .world
        .under(&scope, types::VNET)
        .map(|r| view_vnet(ctx.world, r))
        .collect();
    Ok(Reply::json(200, list_body(items)))
}

pub fn view_vnet(world: &World, r: &Resource) -> Value {
    let mut b = r.body.clone();
    let subnets: Vec<Value> = world
        .under(&r.id, types::SUBNET)
        .map(|s| view_subnet(world, s))
        .collect();
    b["properties"]["subnets"] = Value::Array(subnets);
    let peerings: Vec<Value> = world
        .under(&r.id, types::VNET_PEERING)
        .map(|p| super::peerings::view(world, p))
        .collect();
    if !peerings.is_empty() {
        b["properties"]["virtualNetworkPeerings"] = Value::Array(peerings);
    }
    b
}

pub fn view_subnet(world: &World, r: &Resource) -> Value {
    let mut b = r.body.clone();
    let users: Vec<Value> = caches_in_subnet(world, &r.id)
        .into_iter()
        .map(|c| json!({"id": format!("{c}/ipConfigurations/cache")}))
        .chain(
            filesystems_in_subnet(world, &r.id)
                .into_iter()
                .map(|f| json!({"id": format!("{f}/ipConfigurations/mgs")})),
        )
        .collect();
    if !users.is_empty() {
        b["properties"]["ipConfigurations"] = Value::Array(users);
    }
    b
}

/// Ids of the caches whose subnet is `subnet_id`.
pub fn caches_in_subnet(world: &World, subnet_id: &str) -> Vec<String> {
    world
        .of_type(types::CACHE)
        .filter(|c| {
            c.body["properties"]["subnet"]
                .as_str()
                .is_some_and(|s| key(s) == key(subnet_id))
        })
        .map(|c| c.id.clone())
        .collect()
}

/// Ids of the Azure Managed Lustre file systems whose subnet is `subnet_id`.
pub fn filesystems_in_subnet(world: &World, subnet_id: &str) -> Vec<String> {
    super::amlfs::filesystem::in_subnet(world, subnet_id)
}

/// What uses a subnet (a cache, a file system, or a cluster's nodes), if anything.
pub fn subnet_user(world: &World, subnet_id: &str) -> Option<String> {
    if let Some(c) = caches_in_subnet(world, subnet_id)
        .into_iter()
        .chain(filesystems_in_subnet(world, subnet_id))
        .next()
    {
        return Some(c);
    }
    world
        .of_type(types::MANAGED_CLUSTER)
        .find(|c| {
            let node_subnet = c.body["properties"]["agentPoolProfiles"][0]["vnetSubnetID"]
                .as_str()
                .map(str::to_string);
            let managed = world
                .cluster(&c.id)
                .map(|rec| format!("{}/subnets/aks-subnet", rec.vnet_id));
            node_subnet
                .or(managed)
                .is_some_and(|s| key(&s) == key(subnet_id))
        })
        .map(|c| format!("{}/agentPools/nodepool1", c.id))
}

pub fn handle(ctx: &mut Ctx<'_>, req: &Req, group: &str) -> Result<Reply, ArmError> {
    let n = req.segs.len();
    match n {
        7 if req.method == "GET" => list_vnets(ctx, req, Some(group)),
        8 => vnet(ctx, req, group),
        9 if req.lsegs[8] == "subnets" && req.method == "GET" => {
            let vnet_id = super::id_from(req, 8);
            let vnet = ctx
                .world
                .get(&vnet_id)
                .ok_or_else(|| ArmError::resource_not_found(types::VNET, &req.segs[7], group))?;
            let items = ctx
                .world
                .under(&vnet.id, types::SUBNET)
                .map(|s| view_subnet(ctx.world, s))
                .collect();
            Ok(Reply::json(200, list_body(items)))
        }
        10 if req.lsegs[8] == "subnets" => subnet(ctx, req, group),
        9 | 10 if req.lsegs[8] == "virtualnetworkpeerings" => {
            super::peerings::handle(ctx, req, group)
        }
        _ => Err(super::not_routable(req)),
    }
}

fn parse_prefix(p: &str, what: &str) -> Result<Ipv4Net, ArmError> {
    let net = Ipv4Net::from_str(p).map_err(|_| {
        ArmError::bad_request(
            "InvalidCIDRNotation",
            format!("The address prefix {p} in resource {what} has an invalid CIDR notation."),
        )
    })?;
    if net.trunc() != net {
        return Err(ArmError::bad_request(
            "InvalidCIDRNotation",
            format!(
                "The address prefix {p} in resource {what} has an invalid CIDR notation. For the given prefix length, the address prefix should be {}.",
                net.trunc()
            ),
        ));
    }
    Ok(net)
}

fn subnet_prefix(body: &Value) -> Option<String> {
    body["properties"]["addressPrefix"]
        .as_str()
        .or_else(|| body["properties"]["addressPrefixes"][0].as_str())
        .map(str::to_string)
}

fn vnet(ctx: &mut Ctx<'_>, req: &Req, group: &str) -> Result<Reply, ArmError> {
    let id = super::id_from(req, 8);
    let name = req.segs[7].clone();
    let existing = ctx.world.get(&id).cloned();
    match req.method.as_str() {
        "GET" => existing
            .map(|r| Reply::json(200, view_vnet(ctx.world, &r)))
            .ok_or_else(|| ArmError::resource_not_found(types::VNET, &name, group)),
        "PUT" => {
            let body = req.json_body()?.clone();
            let location = super::check_location(body["location"].as_str().unwrap_or_default())?;
            let prefixes: Vec<String> = body["properties"]["addressSpace"]["addressPrefixes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if prefixes.is_empty() {
                return Err(ArmError::invalid_parameter(
                    "The virtual network must have at least one address prefix.",
                ));
            }
            for p in &prefixes {
                parse_prefix(p, &id)?;
            }
            if let Some(op) = existing.as_ref().and_then(|r| lro::busy(ctx.world, &r.id)) {
                return Err(another_operation(&op.id));
            }
            let id = existing.as_ref().map(|r| r.id.clone()).unwrap_or(id);
            let mut b = json!({
                "id": id, "name": name, "type": types::VNET, "location": location,
                "tags": super::tags_of(&body), "etag": etag(),
                "properties": {
                    "provisioningState": "Updating",
                    "resourceGuid": existing.as_ref().map(|r| r.body["properties"]["resourceGuid"].clone()).unwrap_or_else(|| json!(uuid::Uuid::new_v4().to_string())),
                    "addressSpace": {"addressPrefixes": prefixes},
                    "enableDdosProtection": false
                }
            });
            let created = existing.is_none();
            let created_ms = existing.map(|r| r.created_ms).unwrap_or(ctx.now);
            ctx.world.insert(Resource {
                id: id.clone(),
                rtype: types::VNET.into(),
                body: b.clone(),
                created_ms,
                sandbox: SandboxData::default(),
            });
            // Subnets given inline are created with the vnet (same checks as a subnet PUT).
            if let Some(subnets) = body["properties"]["subnets"].as_array() {
                for s in subnets {
                    let sname = s["name"].as_str().unwrap_or_default().to_string();
                    let sid = format!("{id}/subnets/{sname}");
                    put_subnet_record(ctx, &id, &sid, &sname, s, false)?;
                }
            }
            let op = lro::start(
                ctx,
                &id,
                if created { "create" } else { "update" },
                NETWORK_WRITE_SECONDS,
                "vnet-create",
                true,
            );
            b = view_vnet(
                ctx.world,
                ctx.world.get(&id).unwrap_or(&Resource {
                    id: id.clone(),
                    rtype: types::VNET.into(),
                    body: b.clone(),
                    created_ms,
                    sandbox: SandboxData::default(),
                }),
            );
            let headers = lro::headers(ctx, &op, req, lro::ASYNC_ONLY, 10.0);
            Ok(Reply::json(if created { 201 } else { 200 }, b).headers(headers))
        }
        "DELETE" => {
            let Some(r) = existing else {
                return Ok(Reply::empty(204));
            };
            for s in ctx.world.under(&r.id, types::SUBNET) {
                if let Some(user) = subnet_user(ctx.world, &s.id) {
                    return Err(ArmError::bad_request(
                        "InUseSubnetCannotBeDeleted",
                        format!(
                            "Subnet {} is in use by {user} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet.",
                            s.body["name"].as_str().unwrap_or_default()
                        ),
                    ));
                }
            }
            if let Some(op) = lro::busy(ctx.world, &r.id) {
                return Err(another_operation(&op.id));
            }
            if let Some(res) = ctx.world.get_mut(&r.id) {
                super::set_state(&mut res.body, "Deleting");
            }
            let op = lro::start(
                ctx,
                &r.id,
                "delete",
                NETWORK_WRITE_SECONDS,
                "vnet-delete",
                false,
            );
            let headers = lro::headers(ctx, &op, req, lro::BOTH, 10.0);
            Ok(Reply::empty(202).headers(headers))
        }
        _ => Err(super::not_routable(req)),
    }
}

fn another_operation(op: &str) -> ArmError {
    ArmError::conflict(
        "AnotherOperationInProgress",
        format!(
            "Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: operations/{op}."
        ),
    )
}

/// Checks and stores a subnet record (state `Updating`); the caller starts the operation.
fn put_subnet_record(
    ctx: &mut Ctx<'_>,
    vnet_id: &str,
    id: &str,
    name: &str,
    body: &Value,
    exists: bool,
) -> Result<(), ArmError> {
    let prefix_text = subnet_prefix(body).ok_or_else(|| {
        ArmError::invalid_parameter(format!(
            "Subnet {name} must have an address prefix (properties.addressPrefix)."
        ))
    })?;
    let prefix = parse_prefix(&prefix_text, id)?;
    let vnet = ctx.world.get(vnet_id).cloned().ok_or_else(|| {
        ArmError::resource_not_found(
            types::VNET,
            super::name_of(vnet_id),
            &super::group_of(vnet_id),
        )
    })?;
    let vnet_name = vnet.body["name"].as_str().unwrap_or_default().to_string();
    let space: Vec<Ipv4Net> = vnet.body["properties"]["addressSpace"]["addressPrefixes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().and_then(|p| Ipv4Net::from_str(p).ok()))
        .collect();
    if !space.iter().any(|s| s.contains(&prefix)) {
        return Err(ArmError::bad_request(
            "NetcfgSubnetRangeOutsideVnet",
            format!(
                "Subnet '{name}' is not valid because its IP address range is outside the IP address range of virtual network '{vnet_name}'."
            ),
        ));
    }
    for other in ctx.world.under(vnet_id, types::SUBNET) {
        if key(&other.id) == key(id) {
            continue;
        }
        let Some(op) = subnet_prefix(&other.body).and_then(|p| Ipv4Net::from_str(&p).ok()) else {
            continue;
        };
        if op.contains(&prefix) || prefix.contains(&op) {
            return Err(ArmError::bad_request(
                "NetcfgSubnetRangesOverlap",
                format!(
                    "Subnet '{name}' is not valid because its IP address range overlaps with that of an existing subnet in virtual network '{vnet_name}'."
                ),
            ));
        }
    }
    let existing = ctx.world.get(id).cloned();
    if exists
        && let Some(e) = &existing
        && subnet_prefix(&e.body).as_deref() != Some(prefix_text.as_str())
        && let Some(user) = subnet_user(ctx.world, id)
    {
        return Err(ArmError::bad_request(
            "InUseSubnetCannotBeUpdated",
            format!("Subnet {name} is in use by {user} and its address prefix cannot be changed."),
        ));
    }
    let id = existing
        .as_ref()
        .map(|r| r.id.clone())
        .unwrap_or_else(|| id.to_string());
    let mut props = json!({
        "provisioningState": "Updating",
        "addressPrefix": prefix_text,
        "privateEndpointNetworkPolicies": body["properties"]["privateEndpointNetworkPolicies"].as_str().unwrap_or("Disabled"),
        "privateLinkServiceNetworkPolicies": body["properties"]["privateLinkServiceNetworkPolicies"].as_str().unwrap_or("Enabled"),
    });
    for k in [
        "networkSecurityGroup",
        "routeTable",
        "serviceEndpoints",
        "delegations",
        "natGateway",
        "defaultOutboundAccess",
    ] {
        if let Some(v) = body["properties"].get(k) {
            props[k] = v.clone();
        }
    }
    ctx.world.insert(Resource {
        id: id.clone(),
        rtype: types::SUBNET.into(),
        body: json!({"id": id, "name": name, "type": types::SUBNET, "etag": etag(), "properties": props}),
        created_ms: existing.map(|r| r.created_ms).unwrap_or(ctx.now),
        sandbox: SandboxData::default(),
    });
    Ok(())
}

fn subnet(ctx: &mut Ctx<'_>, req: &Req, group: &str) -> Result<Reply, ArmError> {
    let vnet_id = super::id_from(req, 8);
    let id = super::id_from(req, 10);
    let name = req.segs[9].clone();
    if ctx.world.get(&vnet_id).is_none() {
        return Err(ArmError::resource_not_found(
            types::VNET,
            &req.segs[7],
            group,
        ));
    }
    let vnet_id = super::stored_id(ctx.world, &vnet_id);
    let existing = ctx.world.get(&id).cloned();
    match req.method.as_str() {
        "GET" => existing
            .map(|r| Reply::json(200, view_subnet(ctx.world, &r)))
            .ok_or_else(|| ArmError::not_found("NotFound", format!("Resource {id} not found."))),
        "PUT" => {
            let body = req.json_body()?.clone();
            if let Some(op) = lro::busy(ctx.world, &vnet_id) {
                return Err(another_operation(&op.id));
            }
            put_subnet_record(ctx, &vnet_id, &id, &name, &body, existing.is_some())?;
            let id = super::stored_id(ctx.world, &id);
            let op = lro::start(
                ctx,
                &id,
                if existing.is_some() {
                    "update"
                } else {
                    "create"
                },
                NETWORK_WRITE_SECONDS,
                "subnet-create",
                true,
            );
            let out = ctx
                .world
                .get(&id)
                .map(|r| view_subnet(ctx.world, r))
                .unwrap_or(Value::Null);
            let headers = lro::headers(ctx, &op, req, lro::ASYNC_ONLY, 10.0);
            Ok(Reply::json(if existing.is_some() { 200 } else { 201 }, out).headers(headers))
        }
        "DELETE" => {
            let Some(r) = existing else {
                return Ok(Reply::empty(204));
            };
            if let Some(user) = subnet_user(ctx.world, &r.id) {
                return Err(ArmError::bad_request(
                    "InUseSubnetCannotBeDeleted",
                    format!(
                        "Subnet {name} is in use by {user} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet."
                    ),
                ));
            }
            if let Some(op) = lro::busy(ctx.world, &vnet_id) {
                return Err(another_operation(&op.id));
            }
            if let Some(res) = ctx.world.get_mut(&r.id) {
                super::set_state(&mut res.body, "Deleting");
            }
            let op = lro::start(
                ctx,
                &r.id,
                "delete",
                NETWORK_WRITE_SECONDS,
                "subnet-delete",
                false,
            );
            let headers = lro::headers(ctx, &op, req, lro::BOTH, 10.0);
            Ok(Reply::empty(202).headers(headers))
        }
        _ => Err(super::not_routable(req)),
    }
}

/// Vnet and subnet operations: the vnet's inline subnets settle with it.
pub fn complete(world: &mut World, op: &Operation) -> Result<(), OpError> {
    if op.action != "delete" && op.planned_error.is_none() {
        let children: Vec<String> = world
            .under(&op.resource_id, types::SUBNET)
            .map(|s| s.id.clone())
            .collect();
        for c in children {
            if let Some(s) = world.get_mut(&c)
                && s.body["properties"]["provisioningState"] == "Updating"
            {
                super::set_state(&mut s.body, "Succeeded");
            }
        }
    }
    lro::generic_complete(world, op)
}
