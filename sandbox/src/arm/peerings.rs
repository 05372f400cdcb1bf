//! `Microsoft.Network/virtualNetworks/{vnet}/virtualNetworkPeerings`: PUT, GET, list,
//! DELETE (virtualNetwork.json, 2024-07-01). A peering is `Initiated` until the remote vnet
//! has a peering back, then `Connected` on both sides; when one side goes away the other
//! reads `Disconnected`. Only `Connected` peerings carry traffic (what the Lustre fabric
//! asks).

use std::str::FromStr;

use ipnet::Ipv4Net;
use serde_json::{Value, json};

use super::errors::ArmError;
use super::{Ctx, Reply, Req, list_body, lro};
use crate::world::{Resource, SandboxData, World, etag, key, types};

/// Seconds a peering write takes in Azure.
const WRITE_SECONDS: f64 = 10.0;

fn remote_of(p: &Value) -> String {
    p["properties"]["remoteVirtualNetwork"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn vnet_of(peering_id: &str) -> &str {
    peering_id.rsplitn(3, '/').nth(2).unwrap_or_default()
}

/// The peering of `from` to `to`, if one exists (any state but deleting).
fn peering<'w>(world: &'w World, from: &str, to: &str) -> Option<&'w Resource> {
    world.under(from, types::VNET_PEERING).find(|p| {
        key(&remote_of(&p.body)) == key(to)
            && p.body["properties"]["provisioningState"] != "Deleting"
    })
}

/// Whether traffic flows between two vnets: both have a peering to the other.
pub fn connected(world: &World, a: &str, b: &str) -> bool {
    peering(world, a, b).is_some() && peering(world, b, a).is_some()
}

/// The peering as answered: its state follows the remote side.
pub fn view(world: &World, r: &Resource) -> Value {
    let mut b = r.body.clone();
    let local = vnet_of(&r.id);
    let remote = remote_of(&r.body);
    let state = if peering(world, &remote, local).is_some() {
        "Connected"
    } else if r.body["properties"]["peeringState"] == "Connected" {
        "Disconnected"
    } else {
        "Initiated"
    };
    b["properties"]["peeringState"] = json!(state);
    b["properties"]["peeringSyncLevel"] = json!(if state == "Connected" {
        "FullyInSync"
    } else {
        "RemoteNotInSync"
    });
    b
}

fn prefixes(v: &Value) -> Vec<Ipv4Net> {
    v["properties"]["addressSpace"]["addressPrefixes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().and_then(|p| Ipv4Net::from_str(p).ok()))
        .collect()
}

pub fn handle(ctx: &mut Ctx<'_>, req: &Req, group: &str) -> Result<Reply, ArmError> {
    let vnet_id = super::id_from(req, 8);
    let vnet = ctx
        .world
        .get(&vnet_id)
        .cloned()
        .ok_or_else(|| ArmError::resource_not_found(types::VNET, &req.segs[7], group))?;
    if req.segs.len() == 9 {
        if req.method != "GET" {
            return Err(super::not_routable(req));
        }
        let items = ctx
            .world
            .under(&vnet.id, types::VNET_PEERING)
            .map(|p| view(ctx.world, p))
            .collect();
        return Ok(Reply::json(200, list_body(items)));
    }
    let name = req.segs[9].clone();
    let id = format!("{}/virtualNetworkPeerings/{name}", vnet.id);
    let existing = ctx.world.get(&id).cloned();
    match req.method.as_str() {
        "GET" => existing
            .map(|r| Reply::json(200, view(ctx.world, &r)))
            .ok_or_else(|| ArmError::not_found("NotFound", format!("Resource {id} not found."))),
        "PUT" => put(ctx, req, &vnet, &id, &name, existing),
        "DELETE" => {
            let Some(r) = existing else {
                return Ok(Reply::empty(204));
            };
            if let Some(res) = ctx.world.get_mut(&r.id) {
                super::set_state(&mut res.body, "Deleting");
            }
            let op = lro::start(
                ctx,
                &r.id,
                "delete",
                WRITE_SECONDS,
                "vnet-peering-delete",
                false,
            );
            let headers = lro::headers(ctx, &op, req, lro::BOTH, 10.0);
            Ok(Reply::empty(202).headers(headers))
        }
        _ => Err(super::not_routable(req)),
    }
}

fn put(
    ctx: &mut Ctx<'_>,
    req: &Req,
    vnet: &Resource,
    id: &str,
    name: &str,
    existing: Option<Resource>,
) -> Result<Reply, ArmError> {
    let body = req.json_body()?.clone();
    let remote_id = remote_of(&body);
    let remote = ctx.world.get(&remote_id).cloned().ok_or_else(|| {
        ArmError::bad_request(
            "InvalidResourceReference",
            format!(
                "Resource {remote_id} referenced by resource {id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."
            ),
        )
    })?;
    if key(&remote.id) == key(&vnet.id) {
        return Err(ArmError::bad_request(
            "CannotPeerVirtualNetworkWithItself",
            format!("Virtual network {} cannot be peered with itself.", vnet.id),
        ));
    }
    let overlap = prefixes(&vnet.body).iter().any(|a| {
        prefixes(&remote.body)
            .iter()
            .any(|b| a.contains(b) || b.contains(a))
    });
    if overlap {
        return Err(ArmError::bad_request(
            "VnetAddressSpacesOverlap",
            format!(
                "Cannot create or update peering {id}. Virtual networks {} and {} cannot be peered because their address spaces overlap.",
                vnet.id, remote.id
            ),
        ));
    }
    if let Some(other) = ctx
        .world
        .under(&vnet.id, types::VNET_PEERING)
        .find(|p| key(&remote_of(&p.body)) == key(&remote.id) && key(&p.id) != key(id))
    {
        return Err(ArmError::bad_request(
            "PeeringWithSameRemoteVnetAlreadyExists",
            format!(
                "Cannot create peering {id} because peering {} to the same remote virtual network already exists.",
                other.id
            ),
        ));
    }
    if let Some(op) = lro::busy(ctx.world, &vnet.id) {
        return Err(ArmError::conflict(
            "AnotherOperationInProgress",
            format!(
                "Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: operations/{}.",
                op.id
            ),
        ));
    }
    let p = &body["properties"];
    let flag = |k: &str, default: bool| p[k].as_bool().unwrap_or(default);
    let b = json!({
        "id": id, "name": name, "type": types::VNET_PEERING, "etag": etag(),
        "properties": {
            "provisioningState": "Updating",
            "resourceGuid": uuid::Uuid::new_v4().to_string(),
            "remoteVirtualNetwork": {"id": remote.id},
            "allowVirtualNetworkAccess": flag("allowVirtualNetworkAccess", true),
            "allowForwardedTraffic": flag("allowForwardedTraffic", false),
            "allowGatewayTransit": flag("allowGatewayTransit", false),
            "useRemoteGateways": flag("useRemoteGateways", false),
            "remoteAddressSpace": remote.body["properties"]["addressSpace"],
            "remoteVirtualNetworkAddressSpace": remote.body["properties"]["addressSpace"],
            "peeringState": "Initiated"
        }
    });
    let created = existing.is_none();
    let r = Resource {
        id: id.to_string(),
        rtype: types::VNET_PEERING.into(),
        body: b,
        created_ms: existing.as_ref().map_or(ctx.now, |e| e.created_ms),
        sandbox: SandboxData::default(),
    };
    ctx.world.insert(r.clone());
    // Both sides now exist: each stores `Connected`, so it reads `Disconnected` (not
    // `Initiated`) once the other goes away.
    if let Some(back) = peering(ctx.world, &remote.id, &vnet.id).map(|p| p.id.clone()) {
        for side in [back.as_str(), id] {
            if let Some(p) = ctx.world.get_mut(side) {
                p.body["properties"]["peeringState"] = json!("Connected");
            }
        }
    }
    let r = ctx.world.get(id).cloned().unwrap_or(r);
    let op = lro::start(
        ctx,
        id,
        if created { "create" } else { "update" },
        WRITE_SECONDS,
        "vnet-peering-create",
        true,
    );
    let out = view(ctx.world, &r);
    let headers = lro::headers(ctx, &op, req, lro::ASYNC_ONLY, 10.0);
    Ok(Reply::json(if created { 201 } else { 200 }, out).headers(headers))
}
