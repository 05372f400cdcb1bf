//! `role assign`: the two storage roles the cache's resource provider needs on the account.

use clap::Subcommand;
use hpccache_core::InvalidInput;
use hpccache_core::azure::{ArmClient, ResourceId};
use hpccache_core::converge::roles as converge;
use serde_json::{Value, json};

use super::storage::find_account;
use super::{print, shape};
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::{Session, Wait};

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Assign "Storage Account Contributor" and "Storage Blob Data Contributor" on a storage
    /// account (idempotent: deterministic assignment names; existing assignments are kept).
    ///
    /// The default assignee is the HPC Cache resource provider's service principal, looked up
    /// through Microsoft Graph by its app id (its display name differs between tenants). Graph
    /// knows it only minutes after `provider register`: that is waited for.
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
        let principal = converge::principal(
            client,
            given.as_deref(),
            &session.poll_policy(Wait::Provider),
        )
        .await?;
        let scope = resolve_account(client, &account, None).await?;
        let outcomes =
            converge::converge(client, scope.as_str(), &principal, assignee_principal_type).await?;
        Ok::<_, CliError>(Value::Array(
            outcomes
                .iter()
                .map(|o| match &o.resource {
                    Some(a) => shape::flat(a),
                    None => json!({ "id": o.converged.id }),
                })
                .collect(),
        ))
    });
    session.close()?;
    print(cli, &result?)
}
