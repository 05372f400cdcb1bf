//! `Microsoft.Authorization`: built-in role definitions and role assignments at any scope.

use serde_json::{Value, json};

use super::errors::ArmError;
use super::{Ctx, Reply, Req, clock, graph, paging};
use crate::world::{Resource, SandboxData, World, key, types};

pub const STORAGE_ACCOUNT_CONTRIBUTOR: &str = "17d1049b-9a84-46fb-8f53-869881c3d3ab";
pub const STORAGE_BLOB_DATA_CONTRIBUTOR: &str = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

/// (roleName, id, description) of the built-in roles the sandbox knows.
pub const ROLES: &[(&str, &str, &str)] = &[
    (
        "Owner",
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
    ),
    (
        "Contributor",
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.",
    ),
    (
        "Reader",
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "View all resources, but does not allow you to make any changes.",
    ),
    (
        "Storage Account Contributor",
        STORAGE_ACCOUNT_CONTRIBUTOR,
        "Lets you manage storage accounts, including accessing storage account keys which provide full access to storage account data.",
    ),
    (
        "Storage Blob Data Contributor",
        STORAGE_BLOB_DATA_CONTRIBUTOR,
        "Allows for read, write and delete access to Azure Storage blob containers and data",
    ),
    (
        "Storage Blob Data Reader",
        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        "Allows for read access to Azure Storage blob containers and data",
    ),
    (
        "User Access Administrator",
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "Lets you manage user access to Azure resources.",
    ),
];

/// Seconds a new role assignment takes to be effective (Azure RBAC propagation).
pub const PROPAGATION_SECONDS: f64 = 30.0;

/// Whether the path ends in `providers/Microsoft.Authorization/(roleAssignments|roleDefinitions)[/x]`.
pub fn matches(l: &[&str]) -> bool {
    position(l).is_some()
}

fn position(l: &[&str]) -> Option<usize> {
    let n = l.len();
    (0..n).rev().find(|&p| {
        l[p] == "providers"
            && l.get(p + 1) == Some(&"microsoft.authorization")
            && matches!(
                l.get(p + 2),
                Some(&"roleassignments") | Some(&"roledefinitions")
            )
            && (n == p + 3 || n == p + 4)
    })
}

fn definition_json(scope_sub: Option<&str>, role: &(&str, &str, &str)) -> Value {
    let prefix = scope_sub
        .map(|s| format!("/subscriptions/{s}"))
        .unwrap_or_default();
    json!({
        "id": format!("{prefix}/providers/Microsoft.Authorization/roleDefinitions/{}", role.1),
        "name": role.1,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": role.0,
            "type": "BuiltInRole",
            "description": role.2,
            "assignableScopes": ["/"],
            "permissions": [{"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}],
            "createdOn": "2015-02-02T21:55:09.880Z",
            "updatedOn": "2024-01-01T00:00:00.000Z"
        }
    })
}

/// `roleName eq 'X'` (or `principalId eq 'X'`) from a `$filter`.
fn filter_value(filter: &str, field: &str) -> Option<String> {
    let lower = filter.to_ascii_lowercase();
    let at = lower.find(&format!("{} eq '", field.to_ascii_lowercase()))?;
    let rest = &filter[at + field.len() + 5..];
    rest.split_once('\'').map(|(v, _)| v.to_string())
}

pub fn handle(ctx: &mut Ctx<'_>, req: &Req) -> Result<Reply, ArmError> {
    let l: Vec<&str> = req.lsegs.iter().map(String::as_str).collect();
    let p = position(&l).ok_or_else(|| super::not_routable(req))?;
    let scope = format!("/{}", req.segs[..p].join("/"));
    let sub = if l.first() == Some(&"subscriptions") {
        req.segs.get(1).cloned()
    } else {
        None
    };
    let name = req.segs.get(p + 3).cloned();
    if l[p + 2] == "roledefinitions" {
        return match (req.method.as_str(), name) {
            ("GET", None) => {
                let wanted = req
                    .query("$filter")
                    .and_then(|f| filter_value(f, "roleName"));
                let items = ROLES
                    .iter()
                    .filter(|r| {
                        wanted
                            .as_deref()
                            .is_none_or(|w| w.eq_ignore_ascii_case(r.0))
                    })
                    .map(|r| definition_json(sub.as_deref(), r))
                    .collect();
                paging::page(ctx, req, items, paging::ARM)
            }
            ("GET", Some(id)) => ROLES
                .iter()
                .find(|r| r.1.eq_ignore_ascii_case(&id))
                .map(|r| Reply::json(200, definition_json(sub.as_deref(), r)))
                .ok_or_else(|| {
                    ArmError::not_found(
                        "RoleDefinitionDoesNotExist",
                        format!("The specified role definition with ID '{id}' does not exist."),
                    )
                }),
            _ => Err(ArmError::new(
                403,
                "AuthorizationFailed",
                "The client does not have authorization to perform action 'Microsoft.Authorization/roleDefinitions/write' (built-in roles only in the sandbox).",
            )),
        };
    }
    match (req.method.as_str(), name) {
        ("GET", None) => list_assignments(ctx, req, &scope),
        ("GET", Some(n)) => {
            let id = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{n}");
            ctx.world
                .get(&id)
                .map(|r| Reply::json(200, r.body.clone()))
                .ok_or_else(|| {
                    ArmError::not_found(
                        "RoleAssignmentNotFound",
                        format!("The role assignment '{n}' is not found."),
                    )
                })
        }
        ("PUT", Some(n)) => create(ctx, req, &scope, &n),
        ("DELETE", Some(n)) => {
            let id = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{n}");
            match ctx.world.remove(&id) {
                Some(r) => Ok(Reply::json(200, r.body)),
                None => Ok(Reply::empty(204)),
            }
        }
        _ => Err(super::not_routable(req)),
    }
}

fn scope_exists(world: &World, scope: &str) -> Result<(), ArmError> {
    let segs: Vec<&str> = scope.split('/').filter(|s| !s.is_empty()).collect();
    if segs.len() <= 2 {
        return Ok(());
    }
    if segs.len() >= 4 && world.resource_group(segs[1], segs[3]).is_none() {
        return Err(ArmError::resource_group_not_found(segs[3]));
    }
    if segs.len() > 4 && world.get(scope).is_none() {
        let (ns, ty) =
            super::provider_and_type(&segs.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        return Err(ArmError::resource_not_found(
            &format!("{ns}/{ty}"),
            segs[segs.len() - 1],
            segs[3],
        ));
    }
    Ok(())
}

fn create(ctx: &mut Ctx<'_>, req: &Req, scope: &str, name: &str) -> Result<Reply, ArmError> {
    if uuid::Uuid::parse_str(name).is_err() {
        return Err(ArmError::bad_request(
            "InvalidRoleAssignmentId",
            format!(
                "The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."
            ),
        ));
    }
    let body = req.json_body()?;
    let props = &body["properties"];
    let role_id = props["roleDefinitionId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let principal = props["principalId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let role_guid = role_id.rsplit('/').next().unwrap_or_default();
    if !ROLES.iter().any(|r| r.1.eq_ignore_ascii_case(role_guid)) {
        return Err(ArmError::bad_request(
            "RoleDefinitionDoesNotExist",
            format!("The specified role definition with ID '{role_guid}' does not exist."),
        ));
    }
    if uuid::Uuid::parse_str(&principal).is_err() {
        return Err(ArmError::bad_request(
            "InvalidPrincipalId",
            "A valid principal ID must be provided for role assignment.",
        ));
    }
    scope_exists(ctx.world, scope)?;
    // ARM looks a principal up in the directory unless the request says its type; the
    // cache RP's is not there yet in a tenant that never had it (`rpPrincipalAbsent`).
    if props["principalType"].is_null()
        && principal.eq_ignore_ascii_case(&ctx.world.cache_rp_object_id)
        && !graph::principal_exists(
            ctx.world,
            ctx.settings().rp_principal_absent(),
            ctx.time_scale,
            ctx.now,
        )
    {
        return Err(ArmError::bad_request(
            "PrincipalNotFound",
            format!(
                "Principal {} does not exist in the directory {}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
                principal.replace('-', ""),
                ctx.world.tenant_id
            ),
        ));
    }
    let scope = super::stored_id(ctx.world, scope);
    let id = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}");
    let same = |r: &Resource| {
        let p = &r.body["properties"];
        p["principalId"]
            .as_str()
            .is_some_and(|x| x.eq_ignore_ascii_case(&principal))
            && p["roleDefinitionId"].as_str().is_some_and(|x| {
                x.rsplit('/')
                    .next()
                    .is_some_and(|g| g.eq_ignore_ascii_case(role_guid))
            })
            && p["scope"].as_str().is_some_and(|s| key(s) == key(&scope))
    };
    if let Some(existing) = ctx.world.get(&id) {
        return if same(existing) {
            Ok(Reply::json(200, existing.body.clone()))
        } else {
            Err(ArmError::conflict(
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            ))
        };
    }
    if ctx.world.of_type(types::ROLE_ASSIGNMENT).any(same) {
        return Err(ArmError::conflict(
            "RoleAssignmentExists",
            "The role assignment already exists.",
        ));
    }
    let sub = scope.split('/').nth(2).unwrap_or_default();
    let now = clock::rfc3339(ctx.now);
    let mut properties = json!({
        "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"),
        "principalId": principal,
        "principalType": props["principalType"].as_str().unwrap_or("User"),
        "scope": scope,
        "createdOn": now,
        "updatedOn": now,
        "createdBy": ctx.caller.oid,
        "updatedBy": ctx.caller.oid
    });
    if let Some(d) = props["description"].as_str() {
        properties["description"] = json!(d);
    }
    let out = json!({
        "id": id,
        "name": name,
        "type": types::ROLE_ASSIGNMENT,
        "properties": properties
    });
    ctx.world.insert(Resource {
        id,
        rtype: types::ROLE_ASSIGNMENT.into(),
        body: out.clone(),
        created_ms: ctx.now,
        sandbox: SandboxData {
            effective_ms: Some(ctx.now + ctx.scaled(PROPAGATION_SECONDS)),
            ..SandboxData::default()
        },
    });
    Ok(Reply::json(201, out))
}

/// Whether `a` is `b` or an ancestor scope of `b` (segment-wise, case-insensitive).
pub fn scope_covers(a: &str, b: &str) -> bool {
    let (a, b) = (key(a), key(b));
    a.is_empty() || a == b || b.starts_with(&format!("{a}/"))
}

fn list_assignments(ctx: &mut Ctx<'_>, req: &Req, scope: &str) -> Result<Reply, ArmError> {
    let filter = req.query("$filter").unwrap_or_default().to_string();
    let at_scope = filter.to_ascii_lowercase().contains("atscope()");
    let principal = filter_value(&filter, "principalId").or_else(|| {
        let lower = filter.to_ascii_lowercase();
        let at = lower.find("assignedto('")?;
        filter[at + 12..]
            .split_once('\'')
            .map(|(v, _)| v.to_string())
    });
    let items = ctx
        .world
        .of_type(types::ROLE_ASSIGNMENT)
        .filter(|r| {
            let s = r.body["properties"]["scope"].as_str().unwrap_or_default();
            let related = scope_covers(s, scope) || (!at_scope && scope_covers(scope, s));
            let who = principal.as_deref().is_none_or(|p| {
                r.body["properties"]["principalId"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(p))
            });
            related && who
        })
        .map(|r| r.body.clone())
        .collect();
    paging::page(ctx, req, items, paging::ARM)
}

/// Whether `principal` holds role `role_guid` at `scope` or above, effective by `now`.
pub fn has_role(world: &World, principal: &str, role_guid: &str, scope: &str, now: u64) -> bool {
    world.of_type(types::ROLE_ASSIGNMENT).any(|r| {
        let p = &r.body["properties"];
        p["principalId"]
            .as_str()
            .is_some_and(|x| x.eq_ignore_ascii_case(principal))
            && p["roleDefinitionId"]
                .as_str()
                .is_some_and(|x| x.to_ascii_lowercase().ends_with(role_guid))
            && p["scope"].as_str().is_some_and(|s| scope_covers(s, scope))
            && r.sandbox.effective_ms.unwrap_or(r.created_ms) <= now
    })
}
