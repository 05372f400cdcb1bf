//! AKS node resource group lockdown: a managed cluster whose
//! `properties.nodeResourceGroupProfile.restrictionLevel` is `ReadOnly` has a deny
//! assignment on its node resource group. Every write there by the user (PUT, PATCH, DELETE,
//! POST actions, role assignments at scopes inside it, the group itself) is refused 403
//! `DenyAssignmentAuthorizationFailed` before any provider sees it; reads are allowed. The
//! AKS-managed vnet and its subnets live in that group.
//!
//! Checked before request bodies reach a provider, but after the body is validated against
//! the spec (the sandbox validates bodies before routing).

use super::errors::ArmError;
use super::{Ctx, Req, provider_and_type};
use crate::world::{World, fnv, types};

/// The managed cluster whose `ReadOnly` lockdown covers resource group `rg` of `sub`.
pub fn locking_cluster(world: &World, sub: &str, rg: &str) -> Option<String> {
    world
        .of_type(types::MANAGED_CLUSTER)
        .find(|c| {
            let p = &c.body["properties"];
            c.id.split('/')
                .nth(2)
                .is_some_and(|s| s.eq_ignore_ascii_case(sub))
                && p["nodeResourceGroup"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(rg))
                && p["nodeResourceGroupProfile"]["restrictionLevel"]
                    .as_str()
                    .is_some_and(|l| l.eq_ignore_ascii_case("ReadOnly"))
        })
        .map(|c| c.id.clone())
}

/// The RBAC action a write request performs (`Microsoft.Network/virtualNetworks/subnets/write`).
fn action(req: &Req) -> String {
    let verb = match req.method.as_str() {
        "DELETE" => "delete",
        "POST" => "action",
        _ => "write",
    };
    if req.segs.len() == 4 {
        return format!("Microsoft.Resources/subscriptions/resourceGroups/{verb}");
    }
    let (ns, ty) = provider_and_type(&req.segs);
    format!("{ns}/{ty}/{verb}")
}

/// 403 for a write inside a locked node resource group.
pub fn check(ctx: &Ctx<'_>, req: &Req) -> Result<(), ArmError> {
    if !matches!(req.method.as_str(), "PUT" | "PATCH" | "DELETE" | "POST") {
        return Ok(());
    }
    let l = &req.lsegs;
    if l.len() < 4 || l[0] != "subscriptions" || l[2] != "resourcegroups" {
        return Ok(());
    }
    let (sub, rg) = (&req.segs[1], &req.segs[3]);
    let Some(cluster) = locking_cluster(ctx.world, sub, rg) else {
        return Ok(());
    };
    // Stable per cluster, as AKS names its deny assignment once.
    let k = cluster.to_ascii_lowercase();
    let owner = uuid::Uuid::from_u64_pair(fnv(&k), fnv(&format!("{k}/owner")));
    let assignment = uuid::Uuid::from_u64_pair(fnv(&format!("{k}/nrg")), fnv(&format!("{k}/deny")));
    Err(ArmError::new(
        403,
        "DenyAssignmentAuthorizationFailed",
        format!(
            "The client '{}' with object id '{}' has permission to perform action '{}' on scope '{}'; however, the access is denied because of the deny assignment with name 'kubernetes.azure.com/{owner}/{assignment}: node resource group deny assignment created by Azure Kubernetes Services for nrg-lockdown, see: https://aka.ms/aks/nrg_lockdown' and Id '{}' at scope '/subscriptions/{sub}/resourcegroups/{rg}'.",
            ctx.caller.name,
            ctx.caller.oid,
            action(req),
            req.path.trim_end_matches('/'),
            assignment.simple(),
        ),
    ))
}
