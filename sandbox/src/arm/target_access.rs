//! Whether the HPC Cache resource provider can reach a Blob storage target's container, and
//! the ways Azure says it cannot while role assignments propagate: the operation ends
//! `Failed` (`StorageTargetCreationFailed`, sometimes spelled `storageTargetCreationFailed`,
//! or an opaque `AscInternalError`), or the PUT itself is refused 400. Which one is a fault
//! (`target-role-error=`, [`super::faults::TargetRoleError`]); the cause, where Azure gives
//! one, is in `error.details`.

use serde_json::Value;

use super::authorization::{STORAGE_ACCOUNT_CONTRIBUTOR, STORAGE_BLOB_DATA_CONTRIBUTOR, has_role};
use super::errors::ArmError;
use super::faults::TargetRoleError;
use super::name_of;
use crate::world::{CACHE_RP_APP_ID, ErrorDetail, OpError, World};

/// What keeps the resource provider from the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The container does not exist.
    NoContainer { container: String },
    /// The provider's service principal lacks these roles (by name) on the account.
    Roles {
        container: String,
        account: String,
        principal: String,
        missing: Vec<&'static str>,
    },
}

/// The container id a Blob-backed target writes to.
pub fn container_of(target: &Value) -> Option<String> {
    let p = &target["properties"];
    p["clfs"]["target"]
        .as_str()
        .or_else(|| p["blobNfs"]["target"].as_str())
        .map(str::to_string)
}

/// What would keep a target with this body from its container at `at`, if anything.
pub fn problem(target: &Value, world: &World, at: u64) -> Option<Problem> {
    let container = container_of(target)?;
    let account = container
        .split("/blobServices/")
        .next()
        .unwrap_or_default()
        .to_string();
    if world.get(&container).is_none() {
        return Some(Problem::NoContainer { container });
    }
    let principal = world.cache_rp_object_id.clone();
    let missing: Vec<&'static str> = [
        ("Storage Account Contributor", STORAGE_ACCOUNT_CONTRIBUTOR),
        (
            "Storage Blob Data Contributor",
            STORAGE_BLOB_DATA_CONTRIBUTOR,
        ),
    ]
    .into_iter()
    .filter(|(_, role)| !has_role(world, &principal, role, &account, at))
    .map(|(n, _)| n)
    .collect();
    (!missing.is_empty()).then_some(Problem::Roles {
        container,
        account,
        principal,
        missing,
    })
}

/// One detail per missing role, as the services the provider calls answer it.
fn role_details(account: &str, principal: &str, missing: &[&str]) -> Vec<ErrorDetail> {
    missing
        .iter()
        .map(|role| match *role {
            "Storage Account Contributor" => ErrorDetail::new(
                "AuthorizationFailed",
                format!(
                    "The client '{CACHE_RP_APP_ID}' with object id '{principal}' does not have authorization to perform action 'Microsoft.Storage/storageAccounts/write' over scope '{account}' or the scope is invalid. If access was recently granted, please refresh your credentials."
                ),
            ),
            _ => ErrorDetail::new(
                "AuthorizationPermissionMismatch",
                "This request is not authorized to perform this operation using this permission.",
            ),
        })
        .collect()
}

fn roles_message(container: &str, account: &str, missing: &[&str]) -> String {
    format!(
        "Unable to access the storage container '{}'. The HPC Cache resource provider (app id {CACHE_RP_APP_ID}) needs the 'Storage Account Contributor' and 'Storage Blob Data Contributor' role assignments on storage account '{}'; missing: {}. Add them, wait for them to propagate, and retry.",
        name_of(container),
        name_of(account),
        missing.join(", ")
    )
}

/// How the operation creating target `name` ends when `problem` stands at its end.
pub fn operation_error(problem: &Problem, variant: TargetRoleError, name: &str) -> OpError {
    match problem {
        Problem::NoContainer { container } => OpError::new(
            "StorageTargetCreationFailed",
            format!(
                "The storage container '{container}' was not found; create it before adding the storage target."
            ),
        ),
        Problem::Roles {
            container,
            account,
            principal,
            missing,
        } => {
            let details = role_details(account, principal, missing);
            let message = roles_message(container, account, missing);
            match variant {
                TargetRoleError::Internal => OpError::new(
                    "AscInternalError",
                    format!("Error encountered deploying the storage target: '{name}'."),
                ),
                TargetRoleError::Lowercase => {
                    OpError::new("storageTargetCreationFailed", message).with_details(details)
                }
                _ => OpError::new("StorageTargetCreationFailed", message).with_details(details),
            }
        }
    }
}

/// The synchronous 400 a PUT gets under `sync400`/`sync400-lowercase` while roles are missing.
pub fn refusal(problem: &Problem, variant: TargetRoleError) -> Option<ArmError> {
    let Problem::Roles {
        container,
        account,
        principal,
        missing,
    } = problem
    else {
        return None;
    };
    let details = role_details(account, principal, missing);
    match variant {
        TargetRoleError::Sync400 => Some(
            ArmError::invalid_parameter(format!(
                "The storage account '{}' cannot be accessed by the HPC Cache resource provider. Check the storage account's access control: the 'HPC Cache Resource Provider' service principal needs the 'Storage Account Contributor' and 'Storage Blob Data Contributor' roles on it.",
                name_of(account)
            ))
            .with_details(
                std::iter::once(ErrorDetail::new(
                    "StorageTargetCreationFailed",
                    roles_message(container, account, missing),
                ))
                .chain(details)
                .collect(),
            ),
        ),
        TargetRoleError::Sync400Lowercase => Some(
            ArmError::bad_request(
                "storageTargetCreationFailed",
                roles_message(container, account, missing),
            )
            .with_details(details),
        ),
        _ => None,
    }
}
