//! `cache create|show|list|delete|flush|start|stop|upgrade-firmware|wait`, as `az hpc-cache`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand};
use hpccache_core::azure::cache::{self, Cache, NewCache};
use hpccache_core::azure::lro::Poller;
use hpccache_core::azure::{ArmClient, ResourceId};
use hpccache_core::converge::cache::{self as converge, Flags, Options, Outcome, Want};
use hpccache_core::spec::{location, names, sku, tags};
use hpccache_core::state;
use serde_json::Value;

use super::confirm::confirm;
use super::{print, shape};
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::{Session, Wait, explicit_state_file};

/// `-g` and `-n` naming one cache.
#[derive(Debug, Args)]
pub struct CacheName {
    /// Name of resource group. You can configure the default group using `az configure --defaults group=<name>`.
    #[arg(
        short = 'g',
        long,
        env = "AZURE_DEFAULTS_GROUP",
        hide_env_values = true
    )]
    pub resource_group: String,
    /// Name of the cache.
    #[arg(short = 'n', long = "name", visible_alias = "cache-name")]
    pub name: String,
}

impl CacheName {
    fn validate(&self, session_sub: &str) -> Result<ResourceId, CliError> {
        let rg = names::resource_group("--resource-group", &self.resource_group)?;
        let name = names::cache("--name", &self.name)?;
        Ok(cache::cache_id(session_sub, &rg, &name))
    }

    /// Validation before the session exists (no request may go out for bad input).
    fn check(&self) -> Result<(), CliError> {
        self.validate("00000000-0000-0000-0000-000000000000")
            .map(|_| ())
    }
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Create an HPC Cache (idempotent: an equal cache is returned unchanged; an existing one
    /// gets the root squash and tags asked, as `up` converges it).
    #[command(after_help = "\
Examples:
  Create the guide's cache and wait for it (about 20 minutes in Azure):
    az-hpccache-ext cache create -g myResourceGroup -n MyHpcCache -l eastus \\
      --sku-name Standard_2G --cache-size-gb 3072 --subnet $SUBNET_ID

  Start the creation and follow it later:
    az-hpccache-ext cache create ... --no-wait
    az-hpccache-ext cache wait -g myResourceGroup -n MyHpcCache --created")]
    Create {
        #[command(flatten)]
        cache: CacheName,
        /// Resource id of the cache subnet (see `subnet create`).
        #[arg(long)]
        subnet: String,
        /// SKU of the cache: Standard_2G, Standard_4G, Standard_8G, Standard_L4_5G, Standard_L9G, Standard_L16G.
        #[arg(long, default_value = "Standard_2G")]
        sku_name: String,
        /// Cache size in GB, one of the sizes the SKU offers.
        #[arg(long, default_value = "3072")]
        cache_size_gb: String,
        /// Location [default: the resource group's].
        #[arg(
            short = 'l',
            long,
            env = "AZURE_DEFAULTS_LOCATION",
            hide_env_values = true
        )]
        location: Option<String>,
        /// Map the root user of NFS clients to an anonymous user (a new cache has it off unless
        /// given, as Azure creates one; an existing cache keeps its setting unless given).
        // Contradictory flags are an argument error (exit 2), not "last one wins": a script that
        // says both has a bug the user should see (reliability suite, issue 7 item 4).
        #[arg(long, conflicts_with = "no_root_squash")]
        root_squash: bool,
        /// Let NFS clients act as root on the cache (the default for a new cache).
        #[arg(long)]
        no_root_squash: bool,
        /// Space-separated tags: key[=value] [key[=value] ...].
        #[arg(long, num_args = 0..)]
        tags: Vec<String>,
        /// Do not wait for the long-running operation to finish.
        #[arg(long)]
        no_wait: bool,
    },
    /// Change what can change on an existing cache: root squash in its default access
    /// policy, and tags. SKU, size, subnet and location are fixed at creation.
    #[command(after_help = "\
Examples:
  Let root on the clients act as root (to chown a directory for a non-root workload):
    az-hpccache-ext cache update -g MC_myResourceGroup_myAKSCluster_eastus -n MyHpcCache --no-root-squash

  Turn root squash back on:
    az-hpccache-ext cache update -g MC_myResourceGroup_myAKSCluster_eastus -n MyHpcCache --root-squash")]
    Update {
        #[command(flatten)]
        cache: CacheName,
        /// Map the root user of NFS clients to an anonymous user.
        #[arg(long, conflicts_with = "no_root_squash", required_unless_present_any = ["no_root_squash", "tags"])]
        root_squash: bool,
        /// Let NFS clients act as root on the cache.
        #[arg(long)]
        no_root_squash: bool,
        /// Space-separated tags: key[=value] [key[=value] ...] (replace the cache's tags).
        #[arg(long, num_args = 0..)]
        tags: Option<Vec<String>>,
        /// Do not wait for the long-running operation to finish.
        #[arg(long)]
        no_wait: bool,
    },
    /// Show a cache.
    #[command(after_help = "\
Examples:
  The mount addresses, one per line:
    az-hpccache-ext cache show -g myResourceGroup -n MyHpcCache --query mountAddresses -o tsv")]
    Show {
        #[command(flatten)]
        cache: CacheName,
    },
    /// List caches in a resource group, or in the subscription.
    #[command(after_help = "\
Examples:
  List caches as a table:
    az-hpccache-ext cache list -o table")]
    List {
        /// Name of resource group.
        #[arg(short = 'g', long)]
        resource_group: Option<String>,
    },
    /// Delete a cache. Flush it first if it holds data not yet written to storage.
    #[command(after_help = "\
Examples:
  Delete without a prompt:
    az-hpccache-ext cache delete -g myResourceGroup -n MyHpcCache --yes")]
    Delete {
        #[command(flatten)]
        cache: CacheName,
        /// Do not prompt for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
        /// Do not wait for the long-running operation to finish.
        #[arg(long)]
        no_wait: bool,
    },
    /// Write all data the cache holds back to its storage targets.
    #[command(after_help = "\
Examples:
  Flush before deleting:
    az-hpccache-ext cache flush -g myResourceGroup -n MyHpcCache")]
    Flush(CacheAction),
    /// Start a stopped cache.
    #[command(after_help = "\
Examples:
    az-hpccache-ext cache start -g myResourceGroup -n MyHpcCache")]
    Start(CacheAction),
    /// Stop a cache (it keeps its data; billing continues for storage).
    #[command(after_help = "\
Examples:
    az-hpccache-ext cache stop -g myResourceGroup -n MyHpcCache")]
    Stop(CacheAction),
    /// Upgrade the cache's firmware when an upgrade is available.
    #[command(after_help = "\
Examples:
    az-hpccache-ext cache upgrade-firmware -g myResourceGroup -n MyHpcCache")]
    UpgradeFirmware(CacheAction),
    /// Wait for a cache to reach a state.
    #[command(group(ArgGroup::new("condition").required(true).args(["created", "updated", "deleted", "exists"])),
        after_help = "\
Examples:
  Wait for a cache created with --no-wait:
    az-hpccache-ext cache wait -g myResourceGroup -n MyHpcCache --created")]
    Wait {
        #[command(flatten)]
        cache: CacheName,
        #[command(flatten)]
        wait: super::wait::WaitFlags,
    },
}

#[derive(Debug, Args)]
pub struct CacheAction {
    #[command(flatten)]
    pub cache: CacheName,
    /// Do not wait for the long-running operation to finish.
    #[arg(long)]
    pub no_wait: bool,
}

pub fn run(cli: &Cli, cmd: &CacheCommand) -> Result<(), CliError> {
    match cmd {
        CacheCommand::Create {
            cache,
            subnet,
            sku_name,
            cache_size_gb,
            location,
            root_squash,
            no_root_squash,
            tags,
            no_wait,
        } => {
            cache.check()?;
            let sku = sku::sku("--sku-name", sku_name)?;
            let size = sku::cache_size_gb("--cache-size-gb", sku, cache_size_gb)?;
            let subnet_id = ResourceId::parse(subnet)
                .ok()
                .filter(|id| id.is_type("Microsoft.Network/virtualNetworks/subnets"))
                .ok_or_else(|| {
                    hpccache_core::InvalidInput::new(
                        "--subnet",
                        format!("'{subnet}' is not a subnet resource id"),
                    )
                    .hint(
                        "Pass the id printed by `az-hpccache-ext subnet create --query id -o tsv`",
                    )
                })?;
            let location = location
                .as_deref()
                .map(|l| location::location("--location", l))
                .transpose()?;
            let tags = string_tags(tags::parse("--tags", tags)?);
            let session = Session::open(cli)?;
            let id = cache.validate(&session.subscription_id)?;
            let result = session.run(async {
                let location = match location {
                    Some(l) => l,
                    None => group_location(&session.arm, &cache.resource_group).await?,
                };
                let want = Want {
                    id: id.clone(),
                    new: NewCache {
                        location,
                        sku: sku.to_string(),
                        cache_size_gb: u64::from(size),
                        subnet_id: subnet_id.to_string(),
                        root_squash: *root_squash,
                        tags: tags.clone(),
                    },
                    // Neither flag keeps what an existing cache has, as `up` does.
                    root_squash: squash_flag(*root_squash, *no_root_squash),
                    tags: Some(tags),
                    flags: Flags::CACHE,
                };
                converge_cache(&session, &want, None, *no_wait).await
            });
            session.close()?;
            print(cli, &result?.0)
        }
        CacheCommand::Update {
            cache,
            root_squash,
            no_root_squash,
            tags,
            no_wait,
        } => {
            cache.check()?;
            let tags = tags
                .as_deref()
                .map(|t| tags::parse("--tags", t).map(string_tags))
                .transpose()?;
            let session = Session::open(cli)?;
            let id = cache.validate(&session.subscription_id)?;
            let result = session.run(async {
                let c = cache::get_cache(&session.arm, &id)
                    .await
                    .map_err(CliError::not_found_is_3)?;
                // What it is, with the asked changes; nothing is sent when they are so.
                let want = Want {
                    id: id.clone(),
                    new: NewCache {
                        location: c.location.clone(),
                        sku: c.sku.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
                        cache_size_gb: c.properties.cache_size_gb.unwrap_or_default(),
                        subnet_id: c.properties.subnet.clone().unwrap_or_default(),
                        root_squash: c.root_squash().unwrap_or(false),
                        tags: c.tags.clone(),
                    },
                    root_squash: squash_flag(*root_squash, *no_root_squash),
                    tags: tags.clone(),
                    flags: Flags::CACHE,
                };
                converge_cache(&session, &want, Some(c), *no_wait).await
            });
            session.close()?;
            let (shown, root_squash) = result?;
            // With --no-wait the change may still fail: the record follows once it is done.
            if let Some(root_squash) = root_squash {
                record_root_squash(cli, id.as_str(), root_squash);
            }
            print(cli, &shown)
        }
        CacheCommand::Show { cache } => {
            cache.check()?;
            let session = Session::open(cli)?;
            let id = cache.validate(&session.subscription_id)?;
            let result = session.run(async {
                cache::get_cache(&session.arm, &id)
                    .await
                    .map_err(CliError::not_found_is_3)
            });
            session.close()?;
            print(cli, &shape::flat(&result?))
        }
        CacheCommand::List { resource_group } => {
            let rg = resource_group
                .as_deref()
                .map(|g| names::resource_group("--resource-group", g))
                .transpose()?;
            let session = Session::open(cli)?;
            let result = session.run_core(cache::list_caches(&session.arm, rg.as_deref()));
            session.close()?;
            print(cli, &shape::flat_list(&result?))
        }
        CacheCommand::Delete {
            cache,
            yes,
            no_wait,
        } => {
            cache.check()?;
            confirm("Are you sure you want to perform this operation?", *yes)?;
            let session = Session::open(cli)?;
            let id = cache.validate(&session.subscription_id)?;
            let result = session.run(async {
                match cache::begin_delete_cache(&session.arm, &id).await {
                    // Already gone: deleting is idempotent.
                    Err(e) if e.is_not_found() => Ok(()),
                    Err(e) => Err(e.into()),
                    Ok(p) => finish(&session, p, *no_wait).await.map(|_| ()),
                }
            });
            session.close()?;
            result
        }
        CacheCommand::Flush(a) => action(cli, a, Action::Flush),
        CacheCommand::Start(a) => action(cli, a, Action::Start),
        CacheCommand::Stop(a) => action(cli, a, Action::Stop),
        CacheCommand::UpgradeFirmware(a) => action(cli, a, Action::Upgrade),
        CacheCommand::Wait { cache, wait } => {
            cache.check()?;
            super::wait::run(cli, wait, "cache", cache::API_VERSION, |session| {
                cache.validate(&session.subscription_id)
            })
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Flush,
    Start,
    Stop,
    Upgrade,
}

fn action(cli: &Cli, a: &CacheAction, what: Action) -> Result<(), CliError> {
    a.cache.check()?;
    let session = Session::open(cli)?;
    let id = a.cache.validate(&session.subscription_id)?;
    let result = session.run(async {
        let client = &session.arm;
        let poller = match what {
            Action::Flush => cache::begin_flush(client, &id).await,
            Action::Start => cache::begin_start(client, &id).await,
            Action::Stop => cache::begin_stop(client, &id).await,
            Action::Upgrade => cache::begin_upgrade_firmware(client, &id).await,
        }
        .map_err(CliError::not_found_is_3)?;
        finish(&session, poller, a.no_wait).await.map(|_| ())
    });
    session.close()?;
    result
}

/// Waits for a started cache operation unless `--no-wait`.
async fn finish(
    session: &Session,
    poller: Poller,
    no_wait: bool,
) -> Result<Option<Value>, CliError> {
    if no_wait {
        return Ok(poller.initial().value().ok().filter(|v| !v.is_null()));
    }
    Ok(poller
        .wait(&session.arm, &session.poll_policy(Wait::Cache))
        .await?)
}

/// Runs [`converge_found`] (reading the cache first unless `found` is given); the cache to
/// print, and its root squash when the change is done (not with `--no-wait`).
async fn converge_cache(
    session: &Session,
    want: &Want,
    found: Option<Cache>,
    no_wait: bool,
) -> Result<(Value, Option<bool>), CliError> {
    let client = &session.arm;
    let found = match found {
        Some(c) => Some(c),
        None => converge::read(client, &want.id).await?,
    };
    let policy = session.poll_policy(Wait::Cache);
    let progress = session
        .progress
        .for_step(format!("cache {}", want.id.name()));
    let nothing = || Ok(());
    let outcome = converge::converge_found(
        client,
        want,
        found,
        Options {
            no_wait,
            policy: &policy,
            progress: &progress,
            saved: None,
            // A Failed cache is deleted and created again only by `up`, which knows it made
            // it; here it is reported.
            ours: false,
            before_create: &nothing,
        },
    )
    .await?;
    Ok(match outcome {
        Outcome::Ready { cache, .. } => (shape::flat(&*cache), cache.root_squash()),
        Outcome::Pending { cache: Some(c), .. } => (shape::flat(&*c), None),
        Outcome::Pending { cache: None, .. } => (
            shape::flat(&cache::get_cache(client, &want.id).await?),
            None,
        ),
    })
}

/// `--root-squash` on, `--no-root-squash` off, neither: as it is.
fn squash_flag(on: bool, off: bool) -> Option<bool> {
    (on || off).then_some(on)
}

/// Deployments made with this cache record its root-squash setting (`status` shows it,
/// `verify`'s advice depends on it): they follow a change made here. The cache is already
/// changed, so a state file that cannot be updated (another run holds it) is a warning.
fn record_root_squash(cli: &Cli, cache_id: &str, root_squash: bool) {
    let files = match state_files(cli) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!("the deployments' state files were not updated: {e}");
            return;
        }
    };
    for path in files {
        match state::record_root_squash(&path, cache_id, root_squash) {
            Ok(true) => tracing::info!("recorded rootSquash={root_squash} in {}", path.display()),
            Ok(false) => {}
            Err(e) => tracing::warn!(
                "{} still records the old root squash setting: {e}",
                path.display()
            ),
        }
    }
}

/// The state file `--state`/`HPCCACHE_STATE` names, else every deployment's in the user's
/// state directory.
fn state_files(cli: &Cli) -> Result<Vec<PathBuf>, hpccache_core::Error> {
    if let Some(file) = explicit_state_file(&cli.global) {
        return Ok(if file.is_file() {
            vec![file]
        } else {
            Vec::new()
        });
    }
    let dir = state::deployments_dir()?;
    Ok(state::list_deployments(&dir)?
        .into_iter()
        .map(|name| dir.join(format!("{name}.json")))
        .collect())
}

/// Tags as the typed bodies take them (values are strings; a bare key has "").
pub fn string_tags(map: serde_json::Map<String, Value>) -> BTreeMap<String, String> {
    map.into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, v)
        })
        .collect()
}

/// The resource group's location: the default for new resources, as az does.
pub async fn group_location(client: &ArmClient, rg: &str) -> Result<String, CliError> {
    let id = ResourceId::resource_group(client.subscription(), rg);
    let v: Value = client.get_json(id.as_str(), "2021-04-01").await?;
    v.get("location")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            CliError::Runtime(format!(
                "resource group {rg} reports no location; pass --location"
            ))
        })
}
