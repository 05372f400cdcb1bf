//! Subscriptions and resource groups (`Microsoft.Resources`).

use serde_json::{Value, json};

use super::errors::ArmError;
use super::{Ctx, Reply, Req, check_location, list_body, lro, paging};
use crate::world::{Resource, SandboxData, types};

fn subscription_json(ctx: &Ctx<'_>, id: &str, name: &str) -> Value {
    json!({
        "id": format!("/subscriptions/{id}"),
        "subscriptionId": id,
        "tenantId": ctx.world.tenant_id,
        "displayName": name,
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
        "authorizationSource": "RoleBased"
    })
}

pub fn list_subscriptions(ctx: &mut Ctx<'_>) -> Reply {
    let items = ctx
        .world
        .subscriptions
        .iter()
        .map(|s| subscription_json(ctx, &s.id, &s.display_name))
        .collect();
    Reply::json(200, list_body(items))
}

pub fn get_subscription(ctx: &mut Ctx<'_>, req: &Req) -> Result<Reply, ArmError> {
    let sub = ctx
        .world
        .subscriptions
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(&req.segs[1]))
        .cloned()
        .ok_or_else(|| {
            ArmError::not_found(
                "SubscriptionNotFound",
                "The subscription could not be found.",
            )
        })?;
    Ok(Reply::json(
        200,
        subscription_json(ctx, &sub.id, &sub.display_name),
    ))
}

pub fn list_groups(ctx: &mut Ctx<'_>, req: &Req) -> Result<Reply, ArmError> {
    let scope = format!("/subscriptions/{}", req.segs[1]);
    let items = ctx
        .world
        .under(&scope, types::RESOURCE_GROUP)
        .map(|r| r.body.clone())
        .collect();
    paging::page(ctx, req, items, paging::ARM)
}

/// GET/PUT/DELETE/HEAD of one resource group.
pub fn group(ctx: &mut Ctx<'_>, req: &Req) -> Result<Reply, ArmError> {
    let sub = req.segs[1].clone();
    let name = req.segs[3].clone();
    let existing = ctx.world.resource_group(&sub, &name).cloned();
    match req.method.as_str() {
        "GET" => existing
            .map(|r| Reply::json(200, r.body))
            .ok_or_else(|| ArmError::resource_group_not_found(&name)),
        "HEAD" => Ok(Reply::empty(if existing.is_some() { 204 } else { 404 })),
        "PUT" => {
            let body = req.json_body()?;
            let location = body["location"].as_str().ok_or_else(|| {
                ArmError::invalid_parameter("The 'location' property is required.")
            })?;
            let location = check_location(location)?;
            if let Some(mut r) = existing {
                r.body["tags"] = super::tags_of(body);
                let out = r.body.clone();
                ctx.world.insert(r);
                return Ok(Reply::json(200, out));
            }
            let id = format!("/subscriptions/{sub}/resourceGroups/{name}");
            let b = json!({
                "id": id, "name": name, "type": types::RESOURCE_GROUP, "location": location,
                "tags": super::tags_of(body), "properties": {"provisioningState": "Succeeded"}
            });
            ctx.world.insert(Resource {
                id,
                rtype: types::RESOURCE_GROUP.into(),
                body: b.clone(),
                created_ms: ctx.now,
                sandbox: SandboxData::default(),
            });
            Ok(Reply::json(201, b))
        }
        "DELETE" => {
            let Some(r) = existing else {
                return Ok(Reply::empty(204));
            };
            if let Some(op) = lro::busy(ctx.world, &r.id) {
                return Err(ArmError::conflict(
                    "ResourceGroupDeletionBlocked",
                    format!(
                        "Deletion of resource group '{name}' is blocked by the running operation {}.",
                        op.id
                    ),
                ));
            }
            let op = lro::start(ctx, &r.id, "delete", 60.0, "resource-group-delete", false);
            let headers = lro::headers(ctx, &op, req, lro::LOCATION_ONLY, 15.0);
            Ok(Reply::empty(202).headers(headers))
        }
        _ => Err(super::not_routable(req)),
    }
}
