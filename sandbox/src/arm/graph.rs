//! The Microsoft Graph lookup the tools need: the HPC Cache resource provider's service
//! principal by app id. Served under `/graph/v1.0/` on the ARM port.
//!
//! Two tenants the world can describe ([`crate::settings`]): an identity without
//! Application.Read.All (every lookup 403 `Authorization_RequestDenied`), and a tenant that
//! never had the resource provider, where its service principal appears only some time after
//! `Microsoft.StorageCache` is registered (404 until then, an empty `$filter` list).

use serde_json::{Value, json};

use super::{Ctx, Reply, Req, clock};
use crate::settings::PRINCIPAL_APPEARS_SECONDS;
use crate::world::{CACHE_RP_APP_ID, World};

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

/// Graph's error shape: `{"error":{"code","message","innerError":{...}}}`.
pub fn error(status: u16, code: &str, message: &str) -> Reply {
    let now = clock::rfc3339(clock::now_ms());
    Reply::json(
        status,
        json!({"error": {"code": code, "message": message, "innerError": {
            "date": now.split('.').next().unwrap_or_default(),
            "request-id": uuid::Uuid::new_v4().to_string(),
            "client-request-id": uuid::Uuid::new_v4().to_string()
        }}}),
    )
}

fn not_found(what: &str) -> Reply {
    error(
        404,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{what}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// Whether the resource provider's service principal exists in the tenant at `now`.
pub fn principal_exists(world: &World, absent: bool, time_scale: f64, now: u64) -> bool {
    if !absent {
        return true;
    }
    let Some(p) = world.providers.get("microsoft.storagecache") else {
        return false;
    };
    if p.state != "Registered" {
        return false;
    }
    // A provider registered before the world was made has no time: its principal is there.
    p.registered_at_ms
        .is_none_or(|at| at + clock::scaled_ms(PRINCIPAL_APPEARS_SECONDS, time_scale) <= now)
}

/// `path` is what follows `/graph`.
pub fn handle(ctx: &mut Ctx<'_>, req: &Req, path: &str) -> Reply {
    if req.method != "GET" {
        return error(405, "Request_BadRequest", "Method not allowed.");
    }
    let settings = ctx.settings();
    if settings.graph_lookup_denied() {
        return error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    let exists = principal_exists(
        ctx.world,
        settings.rp_principal_absent(),
        ctx.time_scale,
        ctx.now,
    );
    let p = path.trim_end_matches('/');
    // servicePrincipals(appId='...')
    if let Some(rest) = p.strip_prefix("/v1.0/servicePrincipals(appId=") {
        let app = rest.trim_end_matches(')').trim_matches('\'');
        return if exists && app.eq_ignore_ascii_case(CACHE_RP_APP_ID) {
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
        let items: Vec<Value> = if exists && (wants || filter.is_empty()) {
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
        return if exists && id.eq_ignore_ascii_case(&ctx.world.cache_rp_object_id) {
            Reply::json(200, principal(ctx))
        } else {
            not_found(id)
        };
    }
    not_found(p)
}
