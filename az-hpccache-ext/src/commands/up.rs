//! `up`: the whole Azure side in one command, through the core's plan (hpccache_core::deploy).

use std::path::Path;
use std::time::Duration;

use clap::Args;
use hpccache_core::deploy::owner::OwnerOptions;
use hpccache_core::deploy::{self, Mode, UpArgs, UpOptions, UpSpec, Waits};
use hpccache_core::state::{self, LockedState};
use serde_json::json;

use super::print;
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::{Session, Wait};

pub const EXAMPLES: &str = "\
Examples:
  Attach a cache to the guide's cluster with every default:
    az-hpccache-ext up -g myResourceGroup --cluster myAKSCluster -n MyHpcCache

  See what it would do, without writing anything:
    az-hpccache-ext up -g myResourceGroup --cluster myAKSCluster -n MyHpcCache --dry-run -o table

  Rehearse the whole guide, Azure and cluster, on the in-process sandbox:
    az-hpccache-ext up --sandbox -g myResourceGroup --cluster myAKSCluster -n MyHpcCache --attach

  Squash root, with the namespace path given to the uid a non-root workload runs as:
    az-hpccache-ext up -g myResourceGroup --cluster myAKSCluster -n MyHpcCache --root-squash --owner 1000:1000 --attach --as-user 1000

  Start the cache and come back later:
    az-hpccache-ext up -g myResourceGroup --cluster myAKSCluster -n MyHpcCache --no-wait
    az-hpccache-ext up -g myResourceGroup --cluster myAKSCluster -n MyHpcCache";

/// `up`'s flags.
#[derive(Debug, Args)]
pub struct UpCommand {
    /// Resource group of the AKS cluster.
    #[arg(
        short = 'g',
        long,
        env = "AZURE_DEFAULTS_GROUP",
        hide_env_values = true
    )]
    pub resource_group: String,
    /// Name of the AKS cluster.
    #[arg(long)]
    pub cluster: String,
    /// Name of the deployment and of the cache.
    #[arg(short = 'n', long)]
    pub name: String,
    /// Cache size in GB (the SKU decides which sizes exist).
    #[arg(long, default_value = "3072")]
    pub cache_size_gb: String,
    /// Cache SKU.
    #[arg(long, default_value = "Standard_2G")]
    pub sku_name: String,
    /// Name of the cache subnet [default: <name>Subnet, e.g. MyHpcCacheSubnet: a cache needs
    /// a subnet of its own].
    #[arg(long)]
    pub subnet_name: Option<String>,
    /// `auto` (a free prefix in the cluster's vnet) or a CIDR such as 10.225.0.0/24.
    #[arg(long, default_value = "auto")]
    pub subnet_prefix: String,
    /// Size of an automatic subnet prefix (the cache needs 64 usable addresses).
    #[arg(long, default_value = "/24")]
    pub subnet_size: String,
    /// Storage account [default: derived from the deployment: unique and valid].
    #[arg(long)]
    pub storage_account: Option<String>,
    /// Blob container the storage target uses.
    #[arg(long, default_value = "mystoragecontainer")]
    pub container_name: String,
    /// Name of the storage target.
    #[arg(long, default_value = "MyStorageTarget")]
    pub storage_target: String,
    /// Namespace path clients mount.
    #[arg(short = 'v', long, default_value = "/myfilepath")]
    pub virtual_namespace_path: String,
    /// Private DNS zone for the cache's name [default: <name, lower-cased>.hpccache.internal,
    /// one zone per deployment].
    #[arg(long)]
    pub dns_zone: Option<String>,
    /// Name of the A record set in the zone (clients mount <dns-name>.<dns-zone>).
    #[arg(long, default_value = "server")]
    pub dns_name: String,
    /// Map root on clients to the anonymous user (nobody). Off unless asked, as Azure
    /// creates a cache; with it on, a non-root workload needs a directory of its own:
    /// see --owner.
    // Contradictory flags are an argument error (exit 2), not "last one wins": a script that
    // says both has a bug the user should see (reliability suite, issue 7 item 4).
    #[arg(long, conflicts_with = "no_root_squash")]
    pub root_squash: bool,
    /// Let root on clients act as root on the cache (a new cache's default). With either
    /// flag an existing cache is changed to match; with neither it keeps its setting.
    #[arg(long)]
    pub no_root_squash: bool,
    /// Give the namespace path to this uid and gid, so a workload running as them can
    /// write: a one-shot job in the cluster (--namespace) chowns it while root squash is
    /// off, then root squash is set as asked. Recorded; a re-run skips it.
    #[arg(long, value_name = "UID:GID")]
    pub owner: Option<String>,
    /// Turn on auto-registration on the vnet link (a vnet allows one registration link).
    #[arg(long)]
    pub dns_registration: bool,
    /// Space-separated tags: key[=value] [key[=value] ...].
    #[arg(long, num_args = 0..)]
    pub tags: Vec<String>,
    /// Resource group for the cache, its storage account and private DNS zone [default: the
    /// group an existing deployment records, else the cluster's own group (-g)]. Not the
    /// cluster's node resource group, which AKS can lock (restrictionLevel ReadOnly).
    #[arg(long, value_name = "GROUP")]
    pub cache_resource_group: Option<String>,
    /// Object id of the HPC Cache resource provider's service principal (`az ad sp show --id
    /// 4392ab71-2ce2-4b0d-8770-b352745c73f5 --query id -o tsv`). With it no Microsoft Graph
    /// lookup is made: for an identity Graph refuses, or a Resource Manager token alone.
    #[arg(long, env = "HPCCACHE_PROVIDER_PRINCIPAL_ID", value_name = "OBJECT_ID")]
    pub provider_principal_id: Option<String>,
    /// Do not wait for the long-running operation to finish.
    #[arg(long)]
    pub no_wait: bool,
    /// Print the plan (each step, what it would create or change, and why) without writing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not prompt for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Then mount the volume into the cluster and verify it (what `attach` does), with the
    /// cluster's credentials fetched through Azure: the whole guide in one command.
    #[arg(long, conflicts_with_all = ["no_wait", "dry_run"])]
    pub attach: bool,
    #[command(
        flatten,
        next_help_heading = "Cluster Arguments (with --attach or --owner)"
    )]
    pub cluster_side: super::attach::AttachArgs,
}

impl UpCommand {
    fn args(&self) -> UpArgs {
        UpArgs {
            resource_group: self.resource_group.clone(),
            cluster: self.cluster.clone(),
            name: self.name.clone(),
            cache_size_gb: self.cache_size_gb.clone(),
            sku_name: self.sku_name.clone(),
            subnet_name: self.subnet_name.clone(),
            subnet_prefix: self.subnet_prefix.clone(),
            subnet_size: self.subnet_size.clone(),
            storage_account: self.storage_account.clone(),
            container_name: self.container_name.clone(),
            storage_target: self.storage_target.clone(),
            virtual_namespace_path: self.virtual_namespace_path.clone(),
            dns_zone: self.dns_zone.clone(),
            dns_name: self.dns_name.clone(),
            root_squash: match (self.root_squash, self.no_root_squash) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            owner: self.owner.clone(),
            dns_registration: self.dns_registration,
            tags: self.tags.clone(),
            provider_principal_id: self.provider_principal_id.clone(),
            cache_resource_group: self.cache_resource_group.clone(),
        }
    }
}

/// The waits of a deployment run, from the session's per-kind policies.
pub fn waits(session: &Session) -> Waits {
    let default = Waits::default();
    Waits {
        cache: session.poll_policy(Wait::Cache),
        other: session.poll_policy(Wait::Resource),
        // A delay the tool chooses itself: sandbox time, like the poll intervals.
        role_retry_delay: session
            .scaled(default.role_retry_delay)
            .max(Duration::from_millis(20)),
        principal: {
            let mut p = session.poll_policy(Wait::Provider);
            p.timeout = session
                .scaled(default.principal.timeout)
                .max(Duration::from_secs(5));
            p
        },
        subnet_release: {
            let mut p = session.poll_policy(Wait::Resource);
            p.timeout = session
                .scaled(default.subnet_release.timeout)
                .max(Duration::from_secs(5));
            p
        },
        ..default
    }
}

/// Why `up` stopped, with what to do next. Only an error a re-run can get past (a fault on the
/// way, an operation that failed or was refused for a cause since fixed) gets the resume hint;
/// one the same command would hit again gets none (issue 12 item 7): bad input (exit 2), a
/// group or cluster that does not exist (exit 3), an immutable value changed.
fn failure(f: deploy::UpFailure, state_path: &Path) -> CliError {
    use hpccache_core::Error;
    let step = f
        .step
        .map(|s| format!("The {} step failed. ", s.name()))
        .unwrap_or_default();
    match f.error {
        e @ Error::InvalidInput(_) => CliError::Core(e),
        e if e.is_not_found() && f.step.is_none() => CliError::NotFound(e).with_hint(
            "Check --resource-group and --cluster (az aks list -o table lists the clusters you can see)",
        ),
        e if e.is_not_found() => CliError::NotFound(e).with_hint(format!(
            "{step}What finished is recorded in {}.",
            state_path.display()
        )),
        e @ Error::Lookup { .. } => CliError::Core(e),
        e => CliError::Core(e).with_hint(format!(
            "{step}What finished is recorded in {}. Run the same `up` command again to resume.",
            state_path.display()
        )),
    }
}

/// Resources that carry this deployment's tag but were not created by its state file (a
/// lost or replaced file): `down` keeps them, `down --adopt` deletes them. Said on every `up`
/// while it is so, with the list (issue 12 item 6).
fn warn_tagged(state: &hpccache_core::state::State) {
    let tagged: Vec<&str> = state
        .resources
        .values()
        .filter(|r| r.tagged)
        .map(|r| r.id.as_str())
        .collect();
    if tagged.is_empty() {
        return;
    }
    tracing::warn!(
        "{} resources carry the tag hpccache-deployment={} but were not created by this state file (it was lost or replaced), so `down` keeps them. `az-hpccache-ext down -n {} --adopt` deletes them (the storage account and container only with --delete-data):",
        tagged.len(),
        state.deployment,
        state.deployment
    );
    for id in tagged {
        tracing::warn!("  {id}");
    }
}

/// The state file of `deployment`, locked for the whole run.
pub fn lock_state(cli: &Cli, deployment: Option<&str>) -> Result<LockedState, CliError> {
    let env = std::env::var_os(state::STATE_ENV);
    let location = state::resolve(
        cli.global.state.as_deref(),
        env.as_deref().map(Path::new),
        deployment,
    )?;
    Ok(LockedState::lock(location.path())?)
}

pub fn run(cli: &Cli, cmd: &UpCommand) -> Result<(), CliError> {
    // Bad input is refused before any request and before the state file is touched.
    let spec = UpSpec::from_args(&cmd.args())?;
    if cmd.no_wait && cmd.dry_run {
        return Err(CliError::Usage(
            "--no-wait and --dry-run cannot be used together".into(),
        ));
    }
    if cmd.attach || spec.owner.is_some() {
        cmd.cluster_side.validate()?;
    }
    let store = lock_state(cli, Some(&spec.deployment))?;
    // A corrupt, foreign or newer state file is refused before the first request (the session
    // lists subscriptions when it opens), not after (reliability suite, issue 7 item 4).
    store.load()?;
    let state_path = store.path().to_path_buf();
    let session = if cmd.attach || spec.owner.is_some() {
        Session::open_with_clusters(cli)?
    } else {
        Session::open(cli)?
    };
    let mode = if cmd.dry_run {
        Mode::DryRun
    } else if cmd.no_wait {
        Mode::NoWait
    } else {
        Mode::Apply
    };
    let opts = UpOptions {
        mode,
        waits: waits(&session),
        progress: session.progress.clone(),
        cloud: if session.is_sandbox() {
            "Custom".into()
        } else {
            session.arm.cloud().name.clone()
        },
        arm_endpoint: session.arm_endpoint(),
        sandbox: session.is_sandbox(),
    };
    let deployment = spec.deployment.clone();
    let asked = spec.clone();
    let owner_opts = OwnerOptions {
        namespace: cmd.cluster_side.kube_namespace.clone(),
        image: cmd.cluster_side.probe_image.clone(),
        timeout: session
            .scaled(Duration::from_secs(300))
            .max(Duration::from_secs(30)),
    };
    let waits = opts.waits.clone();
    let progress = opts.progress.clone();
    let result = session.run(async {
        let report = deploy::up(&session.arm, spec, store, opts)
            .await
            .map_err(|f| failure(f, &state_path))?;
        let finished = report.pending.is_empty() && !cmd.dry_run;
        // `deploy::up` released the state file; the cluster side takes it again.
        let owner = if asked.owner.is_some() && finished {
            let store = LockedState::lock(&state_path)?;
            let done = deploy::owner::prepare(
                &session.arm,
                &store,
                &asked,
                &owner_opts,
                &waits,
                &progress,
            )
            .await
            .map_err(|e| {
                CliError::Core(e).with_hint(format!(
                    "The owner step failed; the Azure side is finished and recorded in {}. Run the same `up` command again to resume.",
                    state_path.display()
                ))
            })?;
            Some(done)
        } else {
            None
        };
        let attached = if cmd.attach && finished {
            let store = LockedState::lock(&state_path)?;
            Some(super::attach::attach_to_cluster(&session, &store, &cmd.cluster_side).await?)
        } else {
            None
        };
        Ok((report, owner, attached))
    });
    session.close()?;
    let (report, owner, attached) = result?;
    warn_tagged(&report.state);
    if cmd.dry_run {
        let mut plan = report.plan.clone();
        plan.extend(deploy::owner::plan(&asked, &report.state, &owner_opts));
        let plan = serde_json::to_value(&plan).map_err(|e| CliError::Runtime(e.to_string()))?;
        return print(cli, &plan);
    }
    if asked.root_squash == Some(true) && asked.owner.is_none() && report.state.owner.is_none() {
        tracing::warn!(
            "Root squash is on: root in the cluster is nobody on the cache, so a workload running as a non-root user can write only in a directory of its own. Give it the namespace path with `az-hpccache-ext up -g {} --cluster {} -n {deployment} --root-squash --owner UID:GID`.",
            asked.resource_group,
            asked.cluster
        );
    }
    if !report.pending.is_empty() {
        tracing::warn!(
            "The cache is being created. Follow it with `az-hpccache-ext cache wait -g {} -n {deployment} --created`, then run the same `up` command again to finish ({} left).",
            report
                .state
                .cluster
                .as_ref()
                .map(|c| c.node_resource_group.as_str())
                .unwrap_or(""),
            report
                .pending
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut v =
            serde_json::to_value(report.summary()).map_err(|e| CliError::Runtime(e.to_string()))?;
        v["pending"] = json!(report.pending.iter().map(|s| s.name()).collect::<Vec<_>>());
        return print(cli, &v);
    }
    let mut v =
        serde_json::to_value(report.summary()).map_err(|e| CliError::Runtime(e.to_string()))?;
    if let Some(owner) = owner {
        v["owner"] = serde_json::to_value(owner).map_err(|e| CliError::Runtime(e.to_string()))?;
    }
    if let Some(attached) = attached {
        // The cluster side is done too: the next command is a workload, not a mount.
        v["kubernetes"] = super::attach::to_value(&attached)?;
        v["nextCommand"] = json!(format!(
            "kubectl hpccache verify {deployment} -n {}",
            cmd.cluster_side.kube_namespace
        ));
        print(cli, &v)?;
        return super::attach::fail_unless_verified(&attached);
    }
    print(cli, &v)
}
