//! `storage account create|check-name` and `storage container create`, through ARM only (no
//! data-plane role is needed to make the container).

use clap::Subcommand;
use hpccache_core::InvalidInput;
use hpccache_core::azure::client::ArmRequest;
use hpccache_core::azure::{ArmClient, ResourceId, storage};
use hpccache_core::converge::storage::{self as converge, Flags, Options, Want};
use hpccache_core::spec::{location, names, tags};
use serde_json::{Value, json};

use super::cache::{group_location, string_tags};
use super::{print, shape};
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::{Session, Wait};

const SKUS: &[&str] = &[
    "Standard_LRS",
    "Standard_GRS",
    "Standard_RAGRS",
    "Standard_ZRS",
    "Standard_GZRS",
    "Standard_RAGZRS",
    "Premium_LRS",
    "Premium_ZRS",
];

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Storage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Blob containers.
    #[command(subcommand)]
    Container(ContainerCommand),
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create a StorageV2 account for the cache's blob target (idempotent).
    ///
    /// An existing account of that name is returned as it is when it fits: StorageV2, the
    /// `--sku`, the `--location` when given, and no hierarchical namespace (a blob storage target
    /// cannot use one); otherwise nothing is written and the flag is named. Account names are
    /// global across Azure: a name taken by an account elsewhere is refused before any write.
    #[command(after_help = "\
Examples:
  Create the account in the cluster's resource group:
    az-hpccache-ext storage account create -g myResourceGroup -n mystorageacct123 -l eastus

  Check an account made earlier, and print its id for `role assign`:
    az-hpccache-ext storage account create -g myResourceGroup -n mystorageacct123 --query id -o tsv")]
    Create {
        #[arg(
            short = 'g',
            long,
            env = "AZURE_DEFAULTS_GROUP",
            hide_env_values = true
        )]
        resource_group: String,
        /// The storage account name (3-24 lower-case letters and digits, unique in Azure).
        #[arg(short = 'n', long)]
        name: String,
        /// Location [default: the resource group's].
        #[arg(
            short = 'l',
            long,
            env = "AZURE_DEFAULTS_LOCATION",
            hide_env_values = true
        )]
        location: Option<String>,
        /// The storage SKU.
        #[arg(long, default_value = "Standard_LRS")]
        sku: String,
        /// Space-separated tags: key[=value] [key[=value] ...].
        #[arg(long, num_args = 0..)]
        tags: Vec<String>,
    },
    /// Check that a storage account name is valid and not yet taken.
    #[command(after_help = "\
Examples:
    az-hpccache-ext storage account check-name -n mystorageacct123 --query nameAvailable")]
    CheckName {
        #[arg(short = 'n', long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Create a blob container through ARM (idempotent; prints {"created": true|false} like az).
    #[command(after_help = "\
Examples:
    az-hpccache-ext storage container create --account-name mystorageacct123 -n mystoragecontainer")]
    Create {
        /// The storage account name.
        #[arg(long)]
        account_name: String,
        /// The container name.
        #[arg(short = 'n', long)]
        name: String,
        /// The account's resource group [default: looked up from the account name].
        #[arg(short = 'g', long)]
        resource_group: Option<String>,
    },
}

pub fn run(cli: &Cli, cmd: &StorageCommand) -> Result<(), CliError> {
    match cmd {
        StorageCommand::Account(AccountCommand::Create {
            resource_group,
            name,
            location,
            sku,
            tags,
        }) => {
            let rg = names::resource_group("--resource-group", resource_group)?;
            let name = names::storage_account("--name", name)?;
            let location = location
                .as_deref()
                .map(|l| location::location("--location", l))
                .transpose()?;
            let sku = SKUS
                .iter()
                .find(|s| s.eq_ignore_ascii_case(sku))
                .ok_or_else(|| {
                    InvalidInput::new("--sku", format!("'{sku}' is not a storage SKU"))
                        .hint(format!("Choose one of {}", SKUS.join(", ")))
                })?;
            let tags = string_tags(tags::parse("--tags", tags)?);
            let session = Session::open(cli)?;
            let result = session.run(async {
                let mut want = Want {
                    id: storage::account_id(&session.subscription_id, &rg, &name),
                    location,
                    sku: (*sku).to_owned(),
                    hns: Some(false),
                    tags,
                    flags: Flags::ACCOUNT_CREATE,
                };
                let found = converge::read(&session.arm, &want).await?;
                if found.account.is_none() && want.location.is_none() {
                    want.location = Some(group_location(&session.arm, &rg).await?);
                }
                let outcome = converge::converge_found(
                    &session.arm,
                    &want,
                    &found,
                    Options::new(&session.poll_policy(Wait::Resource), &session.progress),
                )
                .await?;
                Ok::<_, CliError>(shape::flat(&outcome.resource))
            });
            session.close()?;
            print(cli, &result?)
        }
        StorageCommand::Account(AccountCommand::CheckName { name }) => {
            // A malformed name is answered locally, as az does, without asking Azure.
            if let Err(e) = names::storage_account("--name", name) {
                return print(
                    cli,
                    &json!({"message": e.to_string(), "nameAvailable": false, "reason": "AccountNameInvalid"}),
                );
            }
            let session = Session::open(cli)?;
            let result = session.run_core(storage::check_name_availability(&session.arm, name));
            session.close()?;
            let a = result?;
            print(
                cli,
                &json!({"message": a.message, "nameAvailable": a.name_available, "reason": a.reason}),
            )
        }
        StorageCommand::Container(ContainerCommand::Create {
            account_name,
            name,
            resource_group,
        }) => {
            let account = names::storage_account("--account-name", account_name)?;
            let container = names::blob_container("--name", name)?;
            let rg = resource_group
                .as_deref()
                .map(|g| names::resource_group("--resource-group", g))
                .transpose()?;
            let session = Session::open(cli)?;
            let result = session.run(async {
                let id = find_account(&session.arm, &account, rg.as_deref()).await?;
                let c = converge::container(&session.arm, &id, &container, &|| Ok(())).await?;
                Ok::<_, CliError>(json!({"created": c.created}))
            });
            session.close()?;
            print(cli, &result?)
        }
    }
}

/// The account's id: from its resource group when given, else found by name in the subscription.
pub async fn find_account(
    client: &ArmClient,
    name: &str,
    rg: Option<&str>,
) -> Result<ResourceId, CliError> {
    if let Some(rg) = rg {
        return Ok(storage::account_id(client.subscription(), rg, name));
    }
    let accounts: Vec<Value> = client
        .list(
            ArmRequest::get(format!(
                "/subscriptions/{}/providers/Microsoft.Storage/storageAccounts",
                client.subscription()
            ))
            .api_version(storage::API_VERSION),
        )
        .await?;
    accounts
        .iter()
        .find(|a| {
            a.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .and_then(|a| a.get("id").and_then(Value::as_str))
        .map(ResourceId::parse)
        .transpose()?
        .ok_or_else(|| {
            CliError::Runtime(format!(
                "storage account {name} was not found in subscription {}",
                client.subscription()
            ))
            .with_hint("Create it with `az-hpccache-ext storage account create`, or pass -g")
        })
}
