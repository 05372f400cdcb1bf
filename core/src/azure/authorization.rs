//! Role definitions and assignments (Microsoft.Authorization, api-version 2022-04-01).
//!
//! Assignment names are UUID v5 of (scope, role, principal): a re-run PUTs the same name, which
//! ARM answers as an update of the same assignment, never a duplicate.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::client::{ArmClient, ArmRequest};
use super::transport::Method;
use crate::{Error, Result};

pub const API_VERSION: &str = "2022-04-01";

/// Built-in roles the cache's service principal needs on the storage account.
pub const STORAGE_ACCOUNT_CONTRIBUTOR: &str = "Storage Account Contributor";
pub const STORAGE_BLOB_DATA_CONTRIBUTOR: &str = "Storage Blob Data Contributor";

/// Namespace of the assignment-name UUIDs; fixed forever, or re-runs would stop being no-ops.
const ASSIGNMENT_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6f1d_5e4a_8c3b_4f2e_9a7d_1b2c_3d4e_5f60);

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinition {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub properties: RoleDefinitionProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinitionProperties {
    pub role_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub properties: RoleAssignmentProperties,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    #[serde(default)]
    pub role_definition_id: String,
    #[serde(default)]
    pub principal_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What a create did.
#[derive(Debug, Clone)]
pub enum Assigned {
    /// The assignment with our deterministic name now exists (new, or from an earlier run).
    Created(Box<RoleAssignment>),
    /// ARM said an equal assignment already exists under another name (made by someone else).
    AlreadyExists,
}

/// The id of the role definition called `role_name`, as seen at `scope`.
pub async fn find_role_definition(
    client: &ArmClient,
    scope: &str,
    role_name: &str,
) -> Result<String> {
    let req = ArmRequest::get(format!(
        "{scope}/providers/Microsoft.Authorization/roleDefinitions"
    ))
    .api_version(API_VERSION)
    .query("$filter", format!("roleName eq '{role_name}'"));
    let defs: Vec<RoleDefinition> = client.list(req).await?;
    defs.into_iter()
        .find(|d| {
            d.properties
                .role_name
                .as_deref()
                .is_none_or(|n| n.eq_ignore_ascii_case(role_name))
        })
        .map(|d| d.id)
        .ok_or_else(|| Error::Lookup {
            what: format!("role definition '{role_name}'"),
            reason: format!("no role by that name is visible at {scope}"),
        })
}

/// The deterministic assignment name for (scope, role, principal). Case and the form of the role
/// id (full id or bare GUID) do not change it.
pub fn assignment_name(scope: &str, role_definition_id: &str, principal_id: &str) -> String {
    let role = role_definition_id
        .rsplit('/')
        .next()
        .unwrap_or(role_definition_id);
    let key = format!(
        "{}|{}|{}",
        scope.trim_end_matches('/').to_ascii_lowercase(),
        role.to_ascii_lowercase(),
        principal_id.to_ascii_lowercase()
    );
    uuid::Uuid::new_v5(&ASSIGNMENT_NAMESPACE, key.as_bytes()).to_string()
}

pub fn assignment_body(
    role_definition_id: &str,
    principal_id: &str,
    principal_type: &str,
) -> Value {
    json!({
        "properties": {
            "roleDefinitionId": role_definition_id,
            "principalId": principal_id,
            "principalType": principal_type
        }
    })
}

/// Assigns a role to a principal (`ServicePrincipal`, `User`, `Group`) at `scope`.
pub async fn create_role_assignment(
    client: &ArmClient,
    scope: &str,
    role_definition_id: &str,
    principal_id: &str,
    principal_type: &str,
) -> Result<Assigned> {
    let name = assignment_name(scope, role_definition_id, principal_id);
    let path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}");
    let body = assignment_body(role_definition_id, principal_id, principal_type);
    match client
        .request(Method::Put, &path, API_VERSION, Some(&body))
        .await
    {
        Ok(resp) => Ok(Assigned::Created(Box::new(resp.json()?))),
        Err(Error::Arm { code, .. }) if code.eq_ignore_ascii_case("RoleAssignmentExists") => {
            Ok(Assigned::AlreadyExists)
        }
        Err(e) => Err(e),
    }
}

/// Assignments that apply at `scope` (at it, above it and below it, as ARM lists them).
pub async fn list_role_assignments(client: &ArmClient, scope: &str) -> Result<Vec<RoleAssignment>> {
    client
        .list(
            ArmRequest::get(format!(
                "{scope}/providers/Microsoft.Authorization/roleAssignments"
            ))
            .api_version(API_VERSION),
        )
        .await
}

/// Deletes an assignment by id; `false` when it was already gone.
pub async fn delete_role_assignment(client: &ArmClient, assignment_id: &str) -> Result<bool> {
    match client
        .request(Method::Delete, assignment_id, API_VERSION, None)
        .await
    {
        Ok(resp) => Ok(resp.status != 204),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}
