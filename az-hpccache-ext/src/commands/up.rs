//! `up`: the whole Azure side in one command, through the core's plan (hpccache_core::deploy).

use std::path::Path;
use std::time::Duration;

use clap::Args;
use hpccache_core::InvalidInput;
use hpccache_core::azure::ResourceId;
use hpccache_core::deploy::amlfs::AmlfsArgs;
use hpccache_core::deploy::owner::OwnerOptions;
use hpccache_core::deploy::{self, Mode, UpArgs, UpOptions, UpSpec, Waits};
use hpccache_core::state::Backend;
use hpccache_core::state::{self, LockedState};
use serde_json::json;

use super::print;
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::{Session, Wait};

pub const EXAMPLES: &str = "\
Azure HPC Cache was retired on 2025-09-30: new caches cannot be created in Azure, so a new
deployment is Azure Managed Lustre (--backend amlfs) unless --backend hpccache is given; an
existing deployment keeps the backend its state file records.

Examples:
  A 4 TiB Managed Lustre filesystem for the guide's cluster, with every default:
    az-hpccache-ext up -g myResourceGroup --cluster myAKSCluster -n MyLustre

  With blob integration (archive and import through a container) and root squash:
    az-hpccache-ext up -g myResourceGroup --cluster myAKSCluster -n MyLustre \\
      --sku AMLFS-Durable-Premium-250 --capacity-tib 16 --hsm-container lustredata \\
      --root-squash-mode RootOnly --squash-uid 65534 --squash-gid 65534

  Attach a cache to the guide's cluster (sandbox or an existing HPC Cache deployment):
    az-hpccache-ext up --backend hpccache -g myResourceGroup --cluster myAKSCluster -n MyHpcCache

  See what it would do, without writing anything:
    az-hpccache-ext up -g myResourceGroup --cluster myAKSCluster -n MyLustre --dry-run -o table

  Rehearse the whole guide, Azure and cluster, on the in-process sandbox:
    az-hpccache-ext up --sandbox --backend hpccache -g myResourceGroup --cluster myAKSCluster -n MyHpcCache --attach

  Squash root, with the namespace path given to the uid a non-root workload runs as:
    az-hpccache-ext up --backend hpccache -g myResourceGroup --cluster myAKSCluster -n MyHpcCache --root-squash --owner 1000:1000 --attach --as-user 1000

  Start the filesystem and come back later:
    az-hpccache-ext up -g myResourceGroup --cluster myAKSCluster -n MyLustre --no-wait
    az-hpccache-ext up -g myResourceGroup --cluster myAKSCluster -n MyLustre";

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
    /// Name of the deployment and of its filesystem or cache.
    #[arg(short = 'n', long)]
    pub name: String,
    /// The Azure service: amlfs (Azure Managed Lustre) or hpccache (Azure HPC Cache, which
    /// Azure no longer creates since 2025-09-30) [default: the deployment's recorded backend,
    /// else amlfs].
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    /// Name of the subnet [default: <name>Subnet, e.g. MyHpcCacheSubnet: the cache or
    /// filesystem needs a subnet of its own].
    #[arg(long)]
    pub subnet_name: Option<String>,
    /// `auto` (a free prefix in the cluster's vnet) or a CIDR such as 10.225.0.0/24.
    #[arg(long, default_value = "auto")]
    pub subnet_prefix: String,
    /// Size of an automatic subnet prefix [default: hpccache /24 (the cache needs 64 usable
    /// addresses); amlfs: what getRequiredAmlFSSubnetsSize asks for, at least a /24].
    #[arg(long)]
    pub subnet_size: Option<String>,
    /// Storage account [default: derived from the deployment: unique and valid]. With amlfs,
    /// only with --hsm-container.
    #[arg(long)]
    pub storage_account: Option<String>,

    /// Managed Lustre SKU: AMLFS-Durable-Premium-40, -125, -250 or -500 (MB/s per TiB)
    /// [default: AMLFS-Durable-Premium-500, whose 4 TiB minimum is the smallest filesystem].
    #[arg(long, help_heading = "Managed Lustre Arguments (--backend amlfs)")]
    pub sku: Option<String>,
    /// Capacity in TiB, a multiple of the SKU's step (40: 48, 125: 16, 250: 8, 500: 4)
    /// [default: the SKU's minimum].
    #[arg(
        long,
        value_name = "N",
        help_heading = "Managed Lustre Arguments (--backend amlfs)"
    )]
    pub capacity_tib: Option<String>,
    /// Availability zone 1, 2 or 3, or `none` in a region without zones [default: 1].
    #[arg(long, help_heading = "Managed Lustre Arguments (--backend amlfs)")]
    pub zone: Option<String>,
    /// Weekly 30-minute maintenance window start, UTC [default for a new filesystem:
    /// Sunday,02:00; an existing one keeps its own].
    #[arg(
        long,
        value_name = "DAY,HH:MM",
        help_heading = "Managed Lustre Arguments (--backend amlfs)"
    )]
    pub maintenance_window: Option<String>,
    /// Blob integration: a data container of this name (in the storage account made for the
    /// deployment, with a logging container and the provider's two roles); `down` archives
    /// to it before deleting. Without it no storage account is made.
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "Managed Lustre Arguments (--backend amlfs)"
    )]
    pub hsm_container: Option<String>,
    /// The HSM logging container [default: amlfs-logging].
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "Managed Lustre Arguments (--backend amlfs)"
    )]
    pub hsm_logging_container: Option<String>,
    /// Root squash: None, RootOnly or All [default for a new filesystem: None; an existing
    /// one keeps its own].
    #[arg(long, help_heading = "Managed Lustre Arguments (--backend amlfs)")]
    pub root_squash_mode: Option<String>,
    /// The uid squashed users get (required with RootOnly or All).
    #[arg(
        long,
        value_name = "UID",
        help_heading = "Managed Lustre Arguments (--backend amlfs)"
    )]
    pub squash_uid: Option<String>,
    /// The gid squashed users get (required with RootOnly or All).
    #[arg(
        long,
        value_name = "GID",
        help_heading = "Managed Lustre Arguments (--backend amlfs)"
    )]
    pub squash_gid: Option<String>,
    /// Lustre NID ranges exempt from root squash, e.g. 10.224.0.[4-6]@tcp (`;`-separated).
    #[arg(
        long,
        value_name = "NIDS",
        help_heading = "Managed Lustre Arguments (--backend amlfs)"
    )]
    pub no_squash_nids: Option<String>,

    /// Cache size in GB (the SKU decides which sizes exist) [default: 3072].
    #[arg(long, help_heading = HPC)]
    pub cache_size_gb: Option<String>,
    /// Cache SKU [default: Standard_2G].
    #[arg(long, help_heading = HPC)]
    pub sku_name: Option<String>,
    /// Blob container the storage target uses [default: mystoragecontainer].
    #[arg(long, help_heading = HPC)]
    pub container_name: Option<String>,
    /// Name of the storage target [default: MyStorageTarget].
    #[arg(long, help_heading = HPC)]
    pub storage_target: Option<String>,
    /// Namespace path clients mount [default: /myfilepath].
    #[arg(short = 'v', long, help_heading = HPC)]
    pub virtual_namespace_path: Option<String>,
    /// Private DNS zone for the cache's name [default: <name, lower-cased>.hpccache.internal,
    /// one zone per deployment].
    #[arg(long, help_heading = HPC)]
    pub dns_zone: Option<String>,
    /// Name of the A record set in the zone (clients mount <dns-name>.<dns-zone>)
    /// [default: server].
    #[arg(long, help_heading = HPC)]
    pub dns_name: Option<String>,
    /// Map root on clients to the anonymous user (nobody). Off unless asked, as Azure
    /// creates a cache; with it on, a non-root workload needs a directory of its own:
    /// see --owner.
    // Contradictory flags are an argument error (exit 2), not "last one wins": a script that
    // says both has a bug the user should see (reliability suite, issue 7 item 4).
    #[arg(long, conflicts_with = "no_root_squash", help_heading = HPC)]
    pub root_squash: bool,
    /// Let root on clients act as root on the cache (a new cache's default). With either
    /// flag an existing cache is changed to match; with neither it keeps its setting.
    #[arg(long, help_heading = HPC)]
    pub no_root_squash: bool,
    /// Give the namespace path to this uid and gid, so a workload running as them can
    /// write: a one-shot job in the cluster (--namespace) chowns it while root squash is
    /// off, then root squash is set as asked. Recorded; a re-run skips it.
    #[arg(long, value_name = "UID:GID", help_heading = HPC)]
    pub owner: Option<String>,
    /// Turn on auto-registration on the vnet link (a vnet allows one registration link).
    #[arg(long, help_heading = HPC)]
    pub dns_registration: bool,
    /// Space-separated tags: key[=value] [key[=value] ...].
    #[arg(long, num_args = 0..)]
    pub tags: Vec<String>,
    /// Resource group for the cache or filesystem, its storage account and private DNS zone [default: the
    /// group an existing deployment records, else the cluster's own group (-g)]. Not the
    /// cluster's node resource group, which AKS can lock (restrictionLevel ReadOnly).
    #[arg(long, value_name = "GROUP")]
    pub cache_resource_group: Option<String>,
    /// Object id of the HPC Cache Resource Provider's service principal, which Managed Lustre's
    /// blob integration uses too (`az ad sp show --id 4392ab71-2ce2-4b0d-8770-b352745c73f5
    /// --query id -o tsv`). With it no Microsoft Graph lookup is made: for an identity Graph
    /// refuses, or a Resource Manager token alone.
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

const HPC: &str = "HPC Cache Arguments (--backend hpccache)";

/// `--backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    Amlfs,
    Hpccache,
}

impl From<BackendArg> for Backend {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Amlfs => Backend::Amlfs,
            BackendArg::Hpccache => Backend::Hpccache,
        }
    }
}

impl UpCommand {
    /// Flags given that only the other backend takes, by name.
    fn foreign_flags(&self, backend: Backend) -> Vec<&'static str> {
        let hpc = [
            ("--cache-size-gb", self.cache_size_gb.is_some()),
            ("--sku-name", self.sku_name.is_some()),
            ("--container-name", self.container_name.is_some()),
            ("--storage-target", self.storage_target.is_some()),
            (
                "--virtual-namespace-path",
                self.virtual_namespace_path.is_some(),
            ),
            ("--dns-zone", self.dns_zone.is_some()),
            ("--dns-name", self.dns_name.is_some()),
            ("--dns-registration", self.dns_registration),
            ("--root-squash", self.root_squash),
            ("--no-root-squash", self.no_root_squash),
            ("--owner", self.owner.is_some()),
        ];
        let lustre = [
            ("--sku", self.sku.is_some()),
            ("--capacity-tib", self.capacity_tib.is_some()),
            ("--zone", self.zone.is_some()),
            ("--maintenance-window", self.maintenance_window.is_some()),
            ("--hsm-container", self.hsm_container.is_some()),
            (
                "--hsm-logging-container",
                self.hsm_logging_container.is_some(),
            ),
            ("--root-squash-mode", self.root_squash_mode.is_some()),
            ("--squash-uid", self.squash_uid.is_some()),
            ("--squash-gid", self.squash_gid.is_some()),
            ("--no-squash-nids", self.no_squash_nids.is_some()),
        ];
        let other: &[(&'static str, bool)] = match backend {
            Backend::Amlfs => &hpc,
            Backend::Hpccache => &lustre,
        };
        other.iter().filter(|(_, g)| *g).map(|(f, _)| *f).collect()
    }

    /// Refuses flags of the other backend (exit 2, naming the first), before any request.
    fn check_backend_flags(&self, backend: Backend) -> Result<(), CliError> {
        if let Some(flag) = self.foreign_flags(backend).first() {
            let other = match backend {
                Backend::Amlfs => Backend::Hpccache,
                Backend::Hpccache => Backend::Amlfs,
            };
            return Err(InvalidInput::new(
                *flag,
                format!(
                    "applies to --backend {other} only; this deployment's backend is {backend}"
                ),
            )
            .hint(format!(
                "Leave {flag} out, or use another -n with --backend {other}"
            ))
            .into());
        }
        if backend == Backend::Amlfs
            && self.storage_account.is_some()
            && self.hsm_container.is_none()
        {
            return Err(InvalidInput::new(
                "--storage-account",
                "needs --hsm-container: without blob integration a Managed Lustre deployment has no storage account",
            )
            .hint("Add --hsm-container NAME, or leave --storage-account out")
            .into());
        }
        Ok(())
    }

    fn args(&self, backend: Backend) -> UpArgs {
        let mut a = UpArgs::new(&self.resource_group, &self.cluster, &self.name);
        let or = |v: &Option<String>, d: &str| v.clone().unwrap_or_else(|| d.to_owned());
        a.cache_size_gb = or(&self.cache_size_gb, &a.cache_size_gb);
        a.sku_name = or(&self.sku_name, &a.sku_name);
        a.subnet_name = self.subnet_name.clone();
        a.subnet_prefix = self.subnet_prefix.clone();
        if backend == Backend::Hpccache {
            a.subnet_size = or(&self.subnet_size, &a.subnet_size);
        }
        a.storage_account = self.storage_account.clone();
        a.container_name = or(&self.container_name, &a.container_name);
        a.storage_target = or(&self.storage_target, &a.storage_target);
        a.virtual_namespace_path = or(&self.virtual_namespace_path, &a.virtual_namespace_path);
        a.dns_zone = self.dns_zone.clone();
        a.dns_name = or(&self.dns_name, &a.dns_name);
        a.root_squash = match (self.root_squash, self.no_root_squash) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        };
        a.owner = self.owner.clone();
        a.dns_registration = self.dns_registration;
        a.tags = self.tags.clone();
        a.provider_principal_id = self.provider_principal_id.clone();
        a.cache_resource_group = self.cache_resource_group.clone();
        a.amlfs = (backend == Backend::Amlfs).then(|| AmlfsArgs {
            sku: self.sku.clone(),
            capacity_tib: self.capacity_tib.clone(),
            zone: self.zone.clone(),
            maintenance_window: self.maintenance_window.clone(),
            hsm_container: self.hsm_container.clone(),
            hsm_logging_container: self.hsm_logging_container.clone(),
            root_squash_mode: self.root_squash_mode.clone(),
            squash_uid: self.squash_uid.clone(),
            squash_gid: self.squash_gid.clone(),
            no_squash_nids: self.no_squash_nids.clone(),
            subnet_size: self.subnet_size.clone(),
        });
        a
    }

    /// The backend: the state file's for an existing deployment (another `--backend` is
    /// refused, naming it), else `--backend`, else amlfs (HPC Cache can no longer be created
    /// in Azure). The file is only read here; it is locked later.
    fn backend(&self, location: Option<&state::Location>) -> Result<Backend, CliError> {
        let recorded = location
            .and_then(|l| state::read_optional(l.path()).ok().flatten())
            .map(|s| s.backend);
        let given = self.backend.map(Backend::from);
        match (recorded, given) {
            (Some(r), Some(g)) if r != g => Err(InvalidInput::new(
                "--backend",
                format!(
                    "deployment {} is recorded with backend {r}, not {g}",
                    self.name
                ),
            )
            .hint(format!(
                "Pass --backend {r} (or leave it out), or pick another -n for a {g} deployment"
            ))
            .into()),
            (Some(r), _) => Ok(r),
            (None, g) => Ok(g.unwrap_or(Backend::Amlfs)),
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
    let location = state::resolve(cli.global.state.as_deref(), deployment)?;
    Ok(LockedState::lock(location.path())?)
}

pub fn run(cli: &Cli, cmd: &UpCommand) -> Result<(), CliError> {
    // Resolved once for the whole command; an error (no home directory) only counts when the
    // file is locked, after bad input has been refused.
    let location = state::resolve(cli.global.state.as_deref(), Some(&cmd.name));
    // Bad input is refused before any request and before the state file is touched.
    let backend = cmd.backend(location.as_ref().ok())?;
    cmd.check_backend_flags(backend)?;
    let spec = UpSpec::from_args(&cmd.args(backend))?;
    if cmd.no_wait && cmd.dry_run {
        return Err(CliError::Usage(
            "--no-wait and --dry-run cannot be used together".into(),
        ));
    }
    if cmd.attach || spec.owner.is_some() {
        cmd.cluster_side.validate()?;
    }
    let store = LockedState::lock(location?.path())?;
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
        if backend == Backend::Amlfs && cmd.attach && !cmd.dry_run {
            super::attach::require_lustre_driver(&session, &asked.resource_group, &asked.cluster)
                .await?;
        }
        let mut report = deploy::up(&session.arm, spec, store, opts)
            .await
            .map_err(|f| failure(f, &state_path))?;
        // The lock taken above, handed back: the owner step and the cluster side run under it.
        let store = report.store.take().filter(|_| report.pending.is_empty());
        let owner = match &store {
            Some(store) if asked.owner.is_some() => Some(
                deploy::owner::prepare(
                    &session.arm,
                    store,
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
                })?,
            ),
            _ => None,
        };
        let attached = match &store {
            Some(store) if cmd.attach => {
                Some(super::attach::attach_to_cluster(&session, store, &cmd.cluster_side).await?)
            }
            _ => None,
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
        let (what, wait, key) = match backend {
            Backend::Amlfs => (
                "The Managed Lustre filesystem",
                "amlfs",
                deploy::keys::AML_FILESYSTEM,
            ),
            Backend::Hpccache => ("The cache", "cache", deploy::keys::CACHE),
        };
        // The operation records the resource it creates: its group is the deployment's
        // (`--cache-resource-group`), not the cluster's node resource group.
        let target = report
            .state
            .operations
            .get(key)
            .and_then(|op| ResourceId::parse(&op.resource_id).ok())
            .and_then(|id| {
                let rg = id.resource_group_name()?;
                Some(format!("-g {rg} -n {}", id.name()))
            })
            .unwrap_or_else(|| format!("-n {deployment}"));
        tracing::warn!(
            "{what} is being created. Follow it with `az-hpccache-ext {wait} wait {target} --created`, then run the same `up` command again to finish ({} left).",
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
