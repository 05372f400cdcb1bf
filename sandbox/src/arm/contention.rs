//! Azure serializes the operations that change one virtual network: subnet PUT/DELETE, the
//! vnet's own PUT/DELETE, peering PUTs, and private DNS virtual network links (whose
//! operation also touches the vnet). A second such write while one runs is either refused 409
//! `AnotherOperationInProgress` (naming the running operation's status URL) or accepted while
//! the running operation ends `Canceled`, `CanceledAndSupersededDueToAnotherOperation`.
//!
//! - Always (as before): a subnet or vnet write while an operation runs on the vnet or one of
//!   its subnets is refused 409.
//! - With the `vnetContention` setting ([`crate::settings`]): private DNS links count too, and
//!   which of the two answers a write gets is rolled on the fault seed and the request's
//!   sequence number.
//! - Faults force it with no other writer: `conflict-vnet=RATE` refuses that share of vnet
//!   writes, `supersede-vnet=RATE` lets that share start and end `Canceled` when they would
//!   have completed; in both, the other operation is a short one of another actor on the vnet
//!   (as AKS reconciling it), so the status URL in the message answers and the vnet is busy
//!   for a moment.
//!
//! Call [`claim`] once a write is valid and before it changes anything, then [`start`] in
//! place of [`lro::start`].

use super::errors::ArmError;
use super::{Ctx, Req, lro};
use crate::world::{ErrorDetail, Operation, World, key, types};

/// Seconds (Azure time) another actor's operation holds the vnet.
const OTHER_ACTOR_SECONDS: f64 = 4.0;

/// What a vnet write must do once its own operation has started.
#[derive(Debug, Default)]
#[must_use = "pass the claim to contention::start"]
pub struct Claim {
    vnet_id: String,
    /// Running operations this write supersedes.
    supersedes: Vec<String>,
    /// Whether another actor supersedes this write (`supersede-vnet`).
    superseded: bool,
}

/// The operations running now that change `vnet_id`.
fn running(world: &World, vnet_id: &str, with_links: bool) -> Vec<Operation> {
    let k = key(vnet_id);
    let prefix = format!("{k}/");
    let links_to = |op: &Operation| {
        with_links
            && world.get(&op.resource_id).is_some_and(|r| {
                r.rtype.eq_ignore_ascii_case(types::VNET_LINK)
                    && r.body["properties"]["virtualNetwork"]["id"]
                        .as_str()
                        .is_some_and(|v| key(v) == k)
            })
    };
    let mut ops: Vec<Operation> = world
        .operations
        .values()
        .filter(|o| o.in_progress())
        .filter(|o| {
            let r = key(&o.resource_id);
            r == k || r.starts_with(&prefix) || links_to(o)
        })
        .cloned()
        .collect();
    ops.sort_by(|a, b| (a.start_ms, &a.id).cmp(&(b.start_ms, &b.id)));
    ops
}

/// ARM's 409 naming `op`'s status URL.
pub fn another_operation(ctx: &Ctx<'_>, req: &Req, op: &Operation) -> ArmError {
    let (status, _) = lro::urls(ctx, op, &req.api_version);
    ArmError::conflict(
        "AnotherOperationInProgress",
        format!(
            "Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: {status}."
        ),
    )
    .with_details(Vec::<ErrorDetail>::new())
}

/// A short operation of another actor on the vnet.
fn other_actor(ctx: &mut Ctx<'_>, vnet_id: &str) -> Operation {
    lro::start(
        ctx,
        vnet_id,
        "reconcile",
        OTHER_ACTOR_SECONDS,
        "vnet-reconcile",
        false,
    )
}

/// Decides whether a write changing `vnet_id` may go on. `link` is true for a private DNS
/// link (which contends only under the `vnetContention` setting). An error is the 409 to
/// answer; nothing of the request has been applied.
pub fn claim(ctx: &mut Ctx<'_>, req: &Req, vnet_id: &str, link: bool) -> Result<Claim, ArmError> {
    let vnet_id = super::stored_id(ctx.world, vnet_id);
    ctx.world.vnet_writes += 1;
    let nth = ctx.world.vnet_writes;
    if ctx.faults.vnet_conflict(nth) {
        let other = other_actor(ctx, &vnet_id);
        return Err(another_operation(ctx, req, &other));
    }
    let contention = ctx.settings().vnet_contention();
    let mut claim = Claim {
        vnet_id: vnet_id.clone(),
        supersedes: Vec::new(),
        superseded: ctx.faults.vnet_supersede(nth),
    };
    if link && !contention {
        return Ok(claim);
    }
    let ops = running(ctx.world, &vnet_id, contention);
    let Some(first) = ops.first() else {
        return Ok(claim);
    };
    if contention && ctx.faults.contention_supersedes(ctx.seq) {
        claim.supersedes = ops.iter().map(|o| o.id.clone()).collect();
        return Ok(claim);
    }
    Err(another_operation(ctx, req, first))
}

/// Starts the write's operation (as [`lro::start`]) and carries out its claim.
pub fn start(
    ctx: &mut Ctx<'_>,
    claim: Claim,
    resource_id: &str,
    action: &str,
    real_seconds: f64,
    fault_key: &str,
    location_returns_resource: bool,
) -> Operation {
    let op = lro::start(
        ctx,
        resource_id,
        action,
        real_seconds,
        fault_key,
        location_returns_resource,
    );
    for id in &claim.supersedes {
        lro::supersede(ctx.world, id, &op, ctx.now);
    }
    if claim.superseded {
        // Another actor's operation starts now and cancels this one when it would have ended.
        let other = other_actor(ctx, &claim.vnet_id);
        let mut op = op;
        op.planned_error = Some(lro::superseded_error(&op, &other));
        ctx.world.operations.insert(op.id.clone(), op.clone());
        return op;
    }
    op
}

/// The vnet a private DNS link body references, if any.
pub fn linked_vnet(link_body: &serde_json::Value) -> Option<String> {
    link_body["properties"]["virtualNetwork"]["id"]
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn links_count_only_when_asked() {
        let mut w = World::new_default();
        let vnet = w.clusters.values().next().expect("cluster").vnet_id.clone();
        let link = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/z.local/virtualNetworkLinks/l";
        w.insert(crate::world::Resource {
            id: link.into(),
            rtype: types::VNET_LINK.into(),
            body: json!({"properties": {"virtualNetwork": {"id": vnet.to_ascii_uppercase()}}}),
            created_ms: 0,
            sandbox: Default::default(),
        });
        w.operations.insert(
            "op1".into(),
            Operation {
                id: "op1".into(),
                resource_id: link.into(),
                action: "create".into(),
                start_ms: 0,
                due_ms: u64::MAX,
                status: "InProgress".into(),
                end_ms: None,
                error: None,
                planned_error: None,
                location_returns_resource: true,
                kind: None,
                variant: None,
            },
        );
        assert!(running(&w, &vnet, false).is_empty());
        assert_eq!(running(&w, &vnet, true).len(), 1);
    }
}
