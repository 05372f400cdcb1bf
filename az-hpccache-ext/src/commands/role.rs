//! `role assign`: the two storage roles the cache's resource provider needs on the account.

use clap::Subcommand;
use hpccache_core::InvalidInput;
use hpccache_core::azure::authorization::{self, Assigned};
use hpccache_core::azure::{ArmClient, ResourceId, graph};
use serde_json::Value;

use super::storage::find_account;
use super::{print, shape};
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::Session;

const ROLES: [&str; 2] = [
    authorization::STORAGE_ACCOUNT_CONTRIBUTOR,
    authorization::STORAGE_BLOB_DATA_CONTRIBUTOR,
];

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Assign "Storage Account Contributor" and "Storage Blob Data Contributor" on a storage
    /// account (idempotent: deterministic assignment names; existing assignments are kept).
    ///
    /// The default assignee is the HPC Cache resource provider's service principal, looked up
    /// through Microsoft Graph by its app id (its display name differs between tenants).
    #[command(after_help = "\
Examples:
  Let the cache reach the account's containers:
    az-hpccache-ext role assign --storage-account $STORAGE_ACCOUNT_ID

  The same without a Microsoft Graph lookup:
    az-hpccache-ext role assign --storage-account $STORAGE_ACCOUNT_ID --provider-principal-id $(az ad sp show --id 4392ab71-2ce2-4b0d-8770-b352745c73f5 --query id -o tsv)")]
    Assign {
        /// Resource id (or name) of the storage account; the scope of the assignments.
        #[arg(long)]
        storage_account: String,
        /// Object id of the principal [default: the HPC Cache resource provider's service principal].
        #[arg(long, conflicts_with = "provider_principal_id")]
        assignee: Option<String>,
        /// Object id of the HPC Cache resource provider's service principal, so that it is not
        /// looked up through Microsoft Graph (an identity Graph refuses, an ARM token alone).
        #[arg(long, env = "HPCCACHE_PROVIDER_PRINCIPAL_ID", value_name = "OBJECT_ID")]
        provider_principal_id: Option<String>,
        /// Type of the assignee: ServicePrincipal, User or Group.
        #[arg(long, default_value = "ServicePrincipal", value_parser = ["ServicePrincipal", "User", "Group"])]
        assignee_principal_type: String,
    },
}

/// `--storage-account` as an id, or a name to look up. Checked before any request.
pub enum AccountRef {
    Id(ResourceId),
    Name(String),
}

pub fn account_ref(flag: &str, v: &str) -> Result<AccountRef, CliError> {
    if v.contains('/') {
        let id = ResourceId::parse(v).ok().filter(|id| id.is_type("Microsoft.Storage/storageAccounts")).ok_or_else(|| {
            InvalidInput::new(flag, format!("'{v}' is not a storage account resource id"))
                .hint("Pass /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/<name>, or the account name")
        })?;
        Ok(AccountRef::Id(id))
    } else {
        Ok(AccountRef::Name(
            hpccache_core::spec::names::storage_account(flag, v)?,
        ))
    }
}

pub async fn resolve_account(
    client: &ArmClient,
    r: &AccountRef,
    rg: Option<&str>,
) -> Result<ResourceId, CliError> {
    match r {
        AccountRef::Id(id) => Ok(id.clone()),
        AccountRef::Name(n) => find_account(client, n, rg).await,
    }
}

pub fn run(cli: &Cli, cmd: &RoleCommand) -> Result<(), CliError> {
    let RoleCommand::Assign {
        storage_account,
        assignee,
        assignee_principal_type,
        provider_principal_id,
    } = cmd;
    let account = account_ref("--storage-account", storage_account)?;
    if let Some(a) = assignee
        && !hpccache_core::spec::names::is_guid(a)
    {
        return Err(InvalidInput::new("--assignee", format!("'{a}' is not an object id"))
            .hint("Pass the principal's object id (a GUID), e.g. from `az ad sp show --id <appId> --query id -o tsv`")
            .into());
    }
    let given = match (assignee, provider_principal_id) {
        (Some(a), _) => Some(a.to_ascii_lowercase()),
        (None, Some(p)) => Some(hpccache_core::spec::names::object_id(
            "--provider-principal-id",
            p,
        )?),
        (None, None) => None,
    };
    let session = Session::open(cli)?;
    let result = session.run(async {
        let client = &session.arm;
        // The principal first: a Graph refusal must come before anything is written.
        let principal = match given {
            Some(p) => p,
            None => graph::provider_principal(client).await?.ok_or_else(|| {
                CliError::Runtime(format!(
                    "Microsoft Graph has no service principal of the HPC Cache resource provider ({}) in this tenant",
                    graph::STORAGE_CACHE_APP_ID
                ))
                .with_hint("Register the provider (az-hpccache-ext provider register), wait a few minutes and run this again, or pass --provider-principal-id")
            })?,
        };
        let scope = resolve_account(client, &account, None).await?;
        assign(client, scope.as_str(), &principal, assignee_principal_type).await
    });
    session.close()?;
    print(cli, &result?)
}

/// Both roles at `scope`; an assignment that already exists (ours or anyone's) is not written again.
pub async fn assign(
    client: &ArmClient,
    scope: &str,
    principal: &str,
    principal_type: &str,
) -> Result<Value, CliError> {
    let existing = authorization::list_role_assignments(client, scope).await?;
    let mut out = Vec::new();
    for role in ROLES {
        let role_id = authorization::find_role_definition(client, scope, role).await?;
        let guid = |id: &str| id.rsplit('/').next().unwrap_or(id).to_ascii_lowercase();
        let found = existing.iter().find(|a| {
            a.properties.principal_id.eq_ignore_ascii_case(principal)
                && guid(&a.properties.role_definition_id) == guid(&role_id)
                && a.properties
                    .scope
                    .as_deref()
                    .is_none_or(|s| hpccache_core::azure::ids::same_id(s, scope))
        });
        if let Some(a) = found {
            out.push(shape::flat(a));
            continue;
        }
        match authorization::create_role_assignment(
            client,
            scope,
            &role_id,
            principal,
            principal_type,
        )
        .await?
        {
            Assigned::Created(a) => out.push(shape::flat(&*a)),
            // Someone else made an equal assignment under another name between our list and PUT.
            Assigned::AlreadyExists => {}
        }
    }
    Ok(Value::Array(out))
}
