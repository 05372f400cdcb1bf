//! `blob-storage-target add` and `storage-target list|show|remove`, as `az hpc-cache`.

use std::time::Duration;

use clap::{Args, Subcommand};
use hpccache_core::azure::cache::{self, TargetRetry};
use hpccache_core::azure::{ResourceId, storage};
use hpccache_core::converge::target::{self as converge, Options, Outcome, Want};
use hpccache_core::spec::{names, nfs};

use super::role::{account_ref, resolve_account};
use super::{print, shape};
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::{Session, Wait};

/// Attempts of a blob target while the role assignments propagate (Azure: up to ~5 minutes).
const PROPAGATION_ATTEMPTS: u32 = 10;
const PROPAGATION_DELAY: Duration = Duration::from_secs(30);

/// `-g`, `--cache-name` and `-n` naming one storage target.
#[derive(Debug, Args)]
pub struct TargetName {
    /// Name of resource group.
    #[arg(
        short = 'g',
        long,
        env = "AZURE_DEFAULTS_GROUP",
        hide_env_values = true
    )]
    pub resource_group: String,
    /// Name of the cache.
    #[arg(long)]
    pub cache_name: String,
    /// Name of the storage target.
    #[arg(short = 'n', long)]
    pub name: String,
}

impl TargetName {
    fn ids(&self, sub: &str) -> Result<(ResourceId, ResourceId), CliError> {
        let rg = names::resource_group("--resource-group", &self.resource_group)?;
        let cache_name = names::cache("--cache-name", &self.cache_name)?;
        let name = names::storage_target("--name", &self.name)?;
        let cache_id = cache::cache_id(sub, &rg, &cache_name);
        let target = cache::storage_target_id(&cache_id, &name);
        Ok((cache_id, target))
    }
}

const ANY_SUB: &str = "00000000-0000-0000-0000-000000000000";

#[derive(Debug, Subcommand)]
pub enum BlobTargetCommand {
    /// Add a blob (clfs) storage target to a cache (idempotent).
    ///
    /// Retries while the cache's role assignments on the account propagate.
    #[command(after_help = "\
Examples:
  The guide's storage target:
    az-hpccache-ext blob-storage-target add -g myResourceGroup --cache-name MyHpcCache \\
      -n MyStorageTarget --storage-account $STORAGE_ACCOUNT_ID \\
      --container-name mystoragecontainer -v /myfilepath")]
    Add {
        #[command(flatten)]
        target: TargetName,
        /// Resource id or name of the storage account (a name is looked up in the cache's group, then the subscription).
        #[arg(long)]
        storage_account: String,
        /// Name of the blob container.
        #[arg(long)]
        container_name: String,
        /// Path at which the target appears in the cache's namespace.
        #[arg(short = 'v', long)]
        virtual_namespace_path: String,
        /// Do not wait for the long-running operation to finish.
        #[arg(long)]
        no_wait: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum StorageTargetCommand {
    /// List the storage targets of a cache.
    #[command(after_help = "\
Examples:
    az-hpccache-ext storage-target list -g myResourceGroup --cache-name MyHpcCache -o table")]
    List {
        #[arg(
            short = 'g',
            long,
            env = "AZURE_DEFAULTS_GROUP",
            hide_env_values = true
        )]
        resource_group: String,
        /// Name of the cache.
        #[arg(long)]
        cache_name: String,
    },
    /// Show a storage target.
    #[command(after_help = "\
Examples:
    az-hpccache-ext storage-target show -g myResourceGroup --cache-name MyHpcCache -n MyStorageTarget")]
    Show {
        #[command(flatten)]
        target: TargetName,
    },
    /// Remove a storage target (the cache writes its data back first).
    #[command(after_help = "\
Examples:
    az-hpccache-ext storage-target remove -g myResourceGroup --cache-name MyHpcCache -n MyStorageTarget")]
    Remove {
        #[command(flatten)]
        target: TargetName,
        /// Do not wait for the long-running operation to finish.
        #[arg(long)]
        no_wait: bool,
    },
}

pub fn run_blob(cli: &Cli, cmd: &BlobTargetCommand) -> Result<(), CliError> {
    let BlobTargetCommand::Add {
        target,
        storage_account,
        container_name,
        virtual_namespace_path,
        no_wait,
    } = cmd;
    target.ids(ANY_SUB)?;
    let account = account_ref("--storage-account", storage_account)?;
    let container = names::blob_container("--container-name", container_name)?;
    let path = nfs::namespace_path("--virtual-namespace-path", virtual_namespace_path)?;
    let session = Session::open(cli)?;
    let (_, target_id) = target.ids(&session.subscription_id)?;
    let result = session.run(async {
        let client = &session.arm;
        let account_id = match resolve_account(client, &account, Some(&target.resource_group)).await
        {
            Ok(id) => id,
            Err(_) => resolve_account(client, &account, None).await?,
        };
        let want = Want {
            id: target_id.clone(),
            container_id: storage::container_id(&account_id, &container).to_string(),
            namespace_path: path,
        };
        let retry = TargetRetry {
            delay: session
                .scaled(PROPAGATION_DELAY)
                .max(Duration::from_millis(20)),
            retries: PROPAGATION_ATTEMPTS - 1,
        };
        let policy = session.poll_policy(Wait::StorageTarget);
        let outcome = converge::converge(
            client,
            &want,
            Options {
                no_wait: *no_wait,
                policy: &policy,
                progress: &session.progress,
                retry: &retry,
            },
        )
        .await?;
        Ok(match outcome {
            Outcome::Ready { target, .. }
            | Outcome::Pending {
                target: Some(target),
                ..
            } => shape::flat(&*target),
            Outcome::Pending { target: None, .. } => {
                shape::flat(&cache::get_storage_target(client, &target_id).await?)
            }
        })
    });
    session.close()?;
    print(cli, &result?)
}

pub fn run(cli: &Cli, cmd: &StorageTargetCommand) -> Result<(), CliError> {
    match cmd {
        StorageTargetCommand::List {
            resource_group,
            cache_name,
        } => {
            let rg = names::resource_group("--resource-group", resource_group)?;
            let cache_name = names::cache("--cache-name", cache_name)?;
            let session = Session::open(cli)?;
            let id = cache::cache_id(&session.subscription_id, &rg, &cache_name);
            let result = session.run(async {
                cache::list_storage_targets(&session.arm, &id)
                    .await
                    .map_err(CliError::not_found_is_3)
            });
            session.close()?;
            print(cli, &shape::flat_list(&result?))
        }
        StorageTargetCommand::Show { target } => {
            target.ids(ANY_SUB)?;
            let session = Session::open(cli)?;
            let (_, id) = target.ids(&session.subscription_id)?;
            let result = session.run(async {
                cache::get_storage_target(&session.arm, &id)
                    .await
                    .map_err(CliError::not_found_is_3)
            });
            session.close()?;
            print(cli, &shape::flat(&result?))
        }
        StorageTargetCommand::Remove { target, no_wait } => {
            target.ids(ANY_SUB)?;
            let session = Session::open(cli)?;
            let (_, id) = target.ids(&session.subscription_id)?;
            let result = session.run(async {
                match cache::begin_delete_storage_target(&session.arm, &id).await {
                    Err(e) if e.is_not_found() => Ok(()),
                    Err(e) => Err(e.into()),
                    Ok(_) if *no_wait => Ok(()),
                    Ok(p) => p
                        .wait(&session.arm, &session.poll_policy(Wait::StorageTarget))
                        .await
                        .map(|_| ())
                        .map_err(CliError::from),
                }
            });
            session.close()?;
            result
        }
    }
}
