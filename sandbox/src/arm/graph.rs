//! The Microsoft Graph lookup the tools need: the HPC Cache resource provider's service
//! principal by app id. Served under `/graph/v1.0/` on the ARM port.

use serde_json::{Value, json};

use super::{Ctx, Reply, Req};
use crate::world::CACHE_RP_APP_ID;

fn principal(ctx: &Ctx<'_>) -> Value {
    json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity",
        "id": ctx.world.cache_rp_object_id,
        "appId": CACHE_RP_APP_ID,
        "displayName": "HPC Cache Resource Provider",
        "appDisplayName": "HPC Cache Resource Provider",
        "servicePrincipalType": "Application",
        "accountEnabled": true,
        "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
        "servicePrincipalNames": [CACHE_RP_APP_ID]
    })
}

fn not_found(what: &str) -> Reply {
    Reply::json(
        404,
        json!({"error": {"code": "Request_ResourceNotFound",
            "message": format!("Resource '{what}' does not exist or one of its queried reference-property objects are not present.")}}),
    )
}

/// `path` is what follows `/graph`.
pub fn handle(ctx: &mut Ctx<'_>, req: &Req, path: &str) -> Reply {
    if req.method != "GET" {
        return Reply::json(
            405,
            json!({"error": {"code": "Request_BadRequest", "message": "Method not allowed."}}),
        );
    }
    let p = path.trim_end_matches('/');
    // servicePrincipals(appId='...')
    if let Some(rest) = p.strip_prefix("/v1.0/servicePrincipals(appId=") {
        let app = rest.trim_end_matches(')').trim_matches('\'');
        return if app.eq_ignore_ascii_case(CACHE_RP_APP_ID) {
            Reply::json(200, principal(ctx))
        } else {
            not_found(app)
        };
    }
    if p == "/v1.0/servicePrincipals" {
        let filter = req
            .query("$filter")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let wants = filter.contains(&CACHE_RP_APP_ID.to_ascii_lowercase())
            || filter.contains("hpc cache resource provider");
        let items: Vec<Value> = if wants || filter.is_empty() {
            vec![principal(ctx)]
        } else {
            vec![]
        };
        return Reply::json(
            200,
            json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals", "value": items}),
        );
    }
    if let Some(id) = p.strip_prefix("/v1.0/servicePrincipals/") {
        return if id.eq_ignore_ascii_case(&ctx.world.cache_rp_object_id) {
            Reply::json(200, principal(ctx))
        } else {
            not_found(id)
        };
    }
    not_found(p)
}
