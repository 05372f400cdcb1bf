//! `amlfs create|show|list|update|delete|wait|archive|cancel-archive|check-subnet|
//! get-subnets-size|import-job ...`, as `az amlfs`. `create` runs the same converge function
//! as `up --backend amlfs` (hpccache_core::converge::amlfs).

use clap::{ArgGroup, Args, Subcommand};
use hpccache_core::InvalidInput;
use hpccache_core::azure::ResourceId;
use hpccache_core::azure::amlfs::{
    self, FilesystemUpdate, Hsm, NewAmlFilesystem, NewImportJob, SubnetCheck,
};
use hpccache_core::azure::lro::Poller;
use hpccache_core::converge::amlfs::{self as converge, Flags, Options, Outcome, Want};
use hpccache_core::spec::amlfs::{
    self as spec, AmlfsSku, MaintenanceWindow, NO_SQUASH_NIDS_FLAG, ROOT_SQUASH_MODE_FLAG,
    RootSquash, SQUASH_GID_FLAG, SQUASH_UID_FLAG,
};
use hpccache_core::spec::{location, names, tags};
use serde_json::{Value, json};

use super::cache::{group_location, string_tags};
use super::confirm::confirm;
use super::print;
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::{Session, Wait};

/// `-g` and `-n` naming one filesystem.
#[derive(Debug, Args)]
pub struct FsName {
    /// Name of resource group. You can configure the default group using `az configure --defaults group=<name>`.
    #[arg(
        short = 'g',
        long,
        env = "AZURE_DEFAULTS_GROUP",
        hide_env_values = true
    )]
    pub resource_group: String,
    /// Name of the Managed Lustre filesystem.
    #[arg(short = 'n', long = "name", visible_alias = "aml-filesystem-name")]
    pub name: String,
}

impl FsName {
    /// Checked before any session exists: bad input sends nothing.
    fn check(&self) -> Result<(String, String), CliError> {
        Ok((
            names::resource_group("--resource-group", &self.resource_group)?,
            names::aml_filesystem("--name", &self.name)?,
        ))
    }

    fn id(&self, sub: &str) -> Result<ResourceId, CliError> {
        let (rg, name) = self.check()?;
        Ok(amlfs::filesystem_id(sub, &rg, &name))
    }
}

/// Root squash flags, shared by create and update.
#[derive(Debug, Args)]
pub struct SquashArgs {
    /// Root squash mode: None, RootOnly or All.
    #[arg(long)]
    pub root_squash_mode: Option<String>,
    /// The uid squashed users get (required with RootOnly or All).
    #[arg(long, value_name = "UID")]
    pub squash_uid: Option<String>,
    /// The gid squashed users get (required with RootOnly or All).
    #[arg(long, value_name = "GID")]
    pub squash_gid: Option<String>,
    /// Lustre NID ranges exempt from root squash, e.g. 10.224.0.[4-6]@tcp.
    #[arg(long, value_name = "NIDS")]
    pub no_squash_nids: Option<String>,
}

impl SquashArgs {
    fn parse(&self) -> Result<Option<RootSquash>, CliError> {
        let id =
            |flag, v: &Option<String>| v.as_deref().map(|v| spec::squash_id(flag, v)).transpose();
        let uid = id(SQUASH_UID_FLAG, &self.squash_uid)?;
        let gid = id(SQUASH_GID_FLAG, &self.squash_gid)?;
        let nids = self
            .no_squash_nids
            .as_deref()
            .map(|v| spec::no_squash_nids(NO_SQUASH_NIDS_FLAG, v))
            .transpose()?;
        match &self.root_squash_mode {
            Some(m) => Ok(Some(spec::root_squash(
                spec::root_squash_mode(ROOT_SQUASH_MODE_FLAG, m)?,
                nids,
                uid,
                gid,
            )?)),
            None if uid.is_some() || gid.is_some() || nids.is_some() => Err(InvalidInput::new(
                ROOT_SQUASH_MODE_FLAG,
                "is required with --squash-uid, --squash-gid or --no-squash-nids",
            )
            .into()),
            None => Ok(None),
        }
    }
}

const EXAMPLES_CREATE: &str = "\
Examples:
  Create a 4 TiB filesystem in a subnet of its own and wait for it (10-20 minutes in Azure):
    az-hpccache-ext amlfs create -g myResourceGroup -n MyLustre --sku AMLFS-Durable-Premium-500 \\
      --storage-capacity 4 --zones 1 --filesystem-subnet $SUBNET_ID --maintenance-window Sunday,02:00

  Start the creation and follow it later:
    az-hpccache-ext amlfs create ... --no-wait
    az-hpccache-ext amlfs wait -g myResourceGroup -n MyLustre --created";

#[derive(Debug, Subcommand)]
pub enum AmlfsCommand {
    /// Create an Azure Managed Lustre filesystem (idempotent: an equal one is returned as it
    /// is; a different maintenance window or root squash is updated).
    #[command(after_help = EXAMPLES_CREATE)]
    Create(Box<CreateArgs>),
    /// Show a filesystem.
    #[command(after_help = "\
Examples:
  The MGS address clients mount:
    az-hpccache-ext amlfs show -g myResourceGroup -n MyLustre --query clientInfo.mgsAddress -o tsv")]
    Show {
        #[command(flatten)]
        fs: FsName,
    },
    /// List filesystems in a resource group, or in the subscription.
    #[command(after_help = "\
Examples:
  List filesystems as a table:
    az-hpccache-ext amlfs list -o table")]
    List {
        /// Name of resource group.
        #[arg(short = 'g', long)]
        resource_group: Option<String>,
    },
    /// Change what can change: the maintenance window, root squash and tags. SKU, capacity,
    /// zone, subnet and blob integration are fixed at creation.
    #[command(group(ArgGroup::new("change").required(true).multiple(true)
        .args(["maintenance_window", "root_squash_mode", "tags"])),
        after_help = "\
Examples:
  Move the maintenance window:
    az-hpccache-ext amlfs update -g myResourceGroup -n MyLustre --maintenance-window Saturday,23:30

  Squash root to nobody:
    az-hpccache-ext amlfs update -g myResourceGroup -n MyLustre --root-squash-mode RootOnly --squash-uid 65534 --squash-gid 65534")]
    Update {
        #[command(flatten)]
        fs: FsName,
        /// Weekly 30-minute maintenance window start, UTC.
        #[arg(long, value_name = "DAY,HH:MM")]
        maintenance_window: Option<String>,
        #[command(flatten)]
        squash: SquashArgs,
        /// Space-separated tags: key[=value] [key[=value] ...] (replace the filesystem's tags).
        #[arg(long, num_args = 0..)]
        tags: Option<Vec<String>>,
        /// Do not wait for the long-running operation to finish.
        #[arg(long)]
        no_wait: bool,
    },
    /// Delete a filesystem. Files not archived to blob storage are lost: archive first.
    #[command(after_help = "\
Examples:
  Archive, then delete without a prompt:
    az-hpccache-ext amlfs archive -g myResourceGroup -n MyLustre
    az-hpccache-ext amlfs delete -g myResourceGroup -n MyLustre --yes")]
    Delete {
        #[command(flatten)]
        fs: FsName,
        /// Do not prompt for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
        /// Do not wait for the long-running operation to finish.
        #[arg(long)]
        no_wait: bool,
    },
    /// Wait for a filesystem to reach a state.
    #[command(group(ArgGroup::new("condition").required(true).args(["created", "updated", "deleted", "exists"])),
        after_help = "\
Examples:
  Wait for a filesystem created with --no-wait:
    az-hpccache-ext amlfs wait -g myResourceGroup -n MyLustre --created")]
    Wait {
        #[command(flatten)]
        fs: FsName,
        #[command(flatten)]
        wait: super::wait::WaitFlags,
    },
    /// Write files changed in Lustre back to the blob container (blob integration only).
    /// Progress shows in `hsm.archiveStatus` (amlfs show).
    #[command(after_help = "\
Examples:
  Archive everything, then follow it:
    az-hpccache-ext amlfs archive -g myResourceGroup -n MyLustre
    az-hpccache-ext amlfs show -g myResourceGroup -n MyLustre --query hsm.archiveStatus")]
    Archive {
        #[command(flatten)]
        fs: FsName,
        /// The path below the root to archive.
        #[arg(long, default_value = "/")]
        filesystem_path: String,
    },
    /// Cancel a running archive.
    #[command(after_help = "\
Examples:
    az-hpccache-ext amlfs cancel-archive -g myResourceGroup -n MyLustre")]
    CancelArchive {
        #[command(flatten)]
        fs: FsName,
    },
    /// Check that a subnet can hold a filesystem of this SKU and capacity (az: check-amlfs-subnet).
    #[command(
        visible_alias = "check-amlfs-subnet",
        after_help = "\
Examples:
    az-hpccache-ext amlfs check-subnet --filesystem-subnet $SUBNET_ID --sku AMLFS-Durable-Premium-500 --storage-capacity 4 -l eastus"
    )]
    CheckSubnet {
        /// Resource id of the subnet.
        #[arg(long)]
        filesystem_subnet: String,
        #[command(flatten)]
        size: SizeArgs,
        /// Location of the filesystem.
        #[arg(
            short = 'l',
            long,
            env = "AZURE_DEFAULTS_LOCATION",
            hide_env_values = true
        )]
        location: String,
    },
    /// How many subnet addresses a filesystem of this SKU and capacity needs.
    #[command(after_help = "\
Examples:
    az-hpccache-ext amlfs get-subnets-size --sku AMLFS-Durable-Premium-500 --storage-capacity 4")]
    GetSubnetsSize {
        #[command(flatten)]
        size: SizeArgs,
    },
    /// Import jobs: hydrate the namespace from the blob container.
    #[command(subcommand)]
    ImportJob(ImportJobCommand),
}

/// `--sku` and `--storage-capacity`.
#[derive(Debug, Args)]
pub struct SizeArgs {
    /// SKU: AMLFS-Durable-Premium-40, -125, -250 or -500.
    #[arg(long)]
    pub sku: String,
    /// Capacity in TiB, a multiple of the SKU's step (40: 48, 125: 16, 250: 8, 500: 4).
    #[arg(long, value_name = "TIB")]
    pub storage_capacity: String,
}

impl SizeArgs {
    fn parse(&self) -> Result<(AmlfsSku, u32), CliError> {
        let sku = spec::sku("--sku", &self.sku)?;
        Ok((
            sku,
            spec::capacity_tib("--storage-capacity", sku, &self.storage_capacity)?,
        ))
    }
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub fs: FsName,
    #[command(flatten)]
    pub size: SizeArgs,
    /// Resource id of the filesystem's subnet (a subnet of its own).
    #[arg(long)]
    pub filesystem_subnet: String,
    /// Availability zone: 1, 2 or 3, or none in a region without zones.
    #[arg(long, default_value = "1")]
    pub zones: String,
    /// Weekly 30-minute maintenance window start, UTC.
    #[arg(long, value_name = "DAY,HH:MM", default_value = "Sunday,02:00")]
    pub maintenance_window: String,
    /// Blob integration: resource id of the data container.
    #[arg(long, value_name = "ID", requires = "hsm_logging_container")]
    pub hsm_container: Option<String>,
    /// Blob integration: resource id of the logging container (same account).
    #[arg(long, value_name = "ID", requires = "hsm_container")]
    pub hsm_logging_container: Option<String>,
    #[command(flatten)]
    pub squash: SquashArgs,
    /// Location [default: the resource group's].
    #[arg(
        short = 'l',
        long,
        env = "AZURE_DEFAULTS_LOCATION",
        hide_env_values = true
    )]
    pub location: Option<String>,
    /// Space-separated tags: key[=value] [key[=value] ...].
    #[arg(long, num_args = 0..)]
    pub tags: Vec<String>,
    /// Do not wait for the long-running operation to finish.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Args)]
pub struct JobName {
    #[command(flatten)]
    pub fs: JobFs,
    /// Name of the import job.
    #[arg(short = 'n', long = "import-job-name", visible_alias = "name")]
    pub name: String,
}

/// `-g` and `--aml-filesystem-name` (import-job commands name the job with `-n`).
#[derive(Debug, Args)]
pub struct JobFs {
    /// Name of resource group.
    #[arg(
        short = 'g',
        long,
        env = "AZURE_DEFAULTS_GROUP",
        hide_env_values = true
    )]
    pub resource_group: String,
    /// Name of the Managed Lustre filesystem.
    #[arg(long)]
    pub aml_filesystem_name: String,
}

impl JobFs {
    fn id(&self, sub: &str) -> Result<ResourceId, CliError> {
        FsName {
            resource_group: self.resource_group.clone(),
            name: self.aml_filesystem_name.clone(),
        }
        .id(sub)
        .map_err(|e| match e {
            CliError::Core(hpccache_core::Error::InvalidInput(mut i)) if i.flag == "--name" => {
                i.flag = "--aml-filesystem-name".into();
                CliError::Core(hpccache_core::Error::InvalidInput(i))
            }
            other => other,
        })
    }
}

impl JobName {
    fn id(&self, sub: &str) -> Result<ResourceId, CliError> {
        let fs = self.fs.id(sub)?;
        let name = names::import_job("--import-job-name", &self.name)?;
        Ok(amlfs::import_job_id(&fs, &name))
    }
}

#[derive(Debug, Subcommand)]
pub enum ImportJobCommand {
    /// Start an import job (blobs under the prefixes into the namespace).
    #[command(after_help = "\
Examples:
  Import everything, skipping files that already exist:
    az-hpccache-ext amlfs import-job create -g myResourceGroup --aml-filesystem-name MyLustre -n import1 --conflict-resolution-mode Skip")]
    Create {
        #[command(flatten)]
        job: JobName,
        /// Blob prefixes to import [default: /, everything].
        #[arg(long, num_args = 1..)]
        import_prefixes: Vec<String>,
        /// Fail, Skip, OverwriteIfDirty or OverwriteAlways.
        #[arg(long, default_value = "Fail")]
        conflict_resolution_mode: String,
        /// Errors tolerated before the job fails (-1: no limit).
        #[arg(long, allow_hyphen_values = true)]
        maximum_errors: Option<i32>,
        /// Do not wait for the long-running operation to finish.
        #[arg(long)]
        no_wait: bool,
    },
    /// Show an import job.
    #[command(after_help = "\
Examples:
    az-hpccache-ext amlfs import-job show -g myResourceGroup --aml-filesystem-name MyLustre -n import1")]
    Show {
        #[command(flatten)]
        job: JobName,
    },
    /// List a filesystem's import jobs.
    #[command(after_help = "\
Examples:
    az-hpccache-ext amlfs import-job list -g myResourceGroup --aml-filesystem-name MyLustre -o table")]
    List {
        #[command(flatten)]
        fs: JobFs,
    },
    /// Delete an import job (cancels it when running).
    #[command(after_help = "\
Examples:
    az-hpccache-ext amlfs import-job delete -g myResourceGroup --aml-filesystem-name MyLustre -n import1 --yes")]
    Delete {
        #[command(flatten)]
        job: JobName,
        /// Do not prompt for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
        /// Do not wait for the long-running operation to finish.
        #[arg(long)]
        no_wait: bool,
    },
}

const ZERO_SUB: &str = "00000000-0000-0000-0000-000000000000";

fn window(v: &str) -> Result<MaintenanceWindow, CliError> {
    Ok(spec::maintenance_window("--maintenance-window", v)?)
}

fn subnet_id(v: &str) -> Result<String, CliError> {
    ResourceId::parse(v)
        .ok()
        .filter(|id| id.is_type("Microsoft.Network/virtualNetworks/subnets"))
        .map(|id| id.to_string())
        .ok_or_else(|| {
            InvalidInput::new(
                "--filesystem-subnet",
                format!("'{v}' is not a subnet resource id"),
            )
            .hint("Pass the id printed by `az-hpccache-ext subnet create --query id -o tsv`")
            .into()
        })
}

fn container_id(flag: &str, v: &str) -> Result<String, CliError> {
    ResourceId::parse(v)
        .ok()
        .filter(|id| id.is_type("Microsoft.Storage/storageAccounts/blobServices/containers"))
        .map(|id| id.to_string())
        .ok_or_else(|| {
            InvalidInput::new(flag, format!("'{v}' is not a blob container resource id"))
                .hint("Pass /subscriptions/.../storageAccounts/ACCOUNT/blobServices/default/containers/NAME")
                .into()
        })
}

pub fn run(cli: &Cli, cmd: &AmlfsCommand) -> Result<(), CliError> {
    match cmd {
        AmlfsCommand::Create(a) => create(cli, a),
        AmlfsCommand::Show { fs } => {
            fs.check()?;
            let session = Session::open(cli)?;
            let id = fs.id(&session.subscription_id)?;
            let result = session.run(async {
                amlfs::get(&session.arm, &id)
                    .await
                    .map_err(CliError::not_found_is_3)
            });
            session.close()?;
            print(cli, &result?.printable())
        }
        AmlfsCommand::List { resource_group } => {
            let rg = resource_group
                .as_deref()
                .map(|g| names::resource_group("--resource-group", g))
                .transpose()?;
            let session = Session::open(cli)?;
            let result = session.run_core(amlfs::list(&session.arm, rg.as_deref()));
            session.close()?;
            let items: Vec<Value> = result?.iter().map(|f| f.printable()).collect();
            print(cli, &Value::Array(items))
        }
        AmlfsCommand::Update {
            fs,
            maintenance_window,
            squash,
            tags,
            no_wait,
        } => {
            fs.check()?;
            let update = FilesystemUpdate {
                maintenance_window: maintenance_window.as_deref().map(window).transpose()?,
                root_squash: squash.parse()?,
                tags: tags
                    .as_deref()
                    .map(|t| tags::parse("--tags", t).map(string_tags))
                    .transpose()?,
            };
            let session = Session::open(cli)?;
            let id = fs.id(&session.subscription_id)?;
            let result = session.run(async {
                let poller = amlfs::begin_update(&session.arm, &id, &update)
                    .await
                    .map_err(CliError::not_found_is_3)?;
                finish(&session, poller, *no_wait).await?;
                Ok(amlfs::get(&session.arm, &id).await?.printable())
            });
            session.close()?;
            print(cli, &result?)
        }
        AmlfsCommand::Delete { fs, yes, no_wait } => {
            fs.check()?;
            confirm(
                "Files not archived to blob storage are lost. Are you sure you want to perform this operation?",
                *yes,
            )?;
            let session = Session::open(cli)?;
            let id = fs.id(&session.subscription_id)?;
            let result = session.run(async {
                match amlfs::begin_delete(&session.arm, &id).await {
                    Err(e) if e.is_not_found() => Ok(()),
                    Err(e) => Err(e.into()),
                    Ok(p) => finish(&session, p, *no_wait).await.map(drop),
                }
            });
            session.close()?;
            result
        }
        AmlfsCommand::Wait { fs, wait } => {
            fs.check()?;
            super::wait::run(cli, wait, "amlfs", amlfs::API_VERSION, |session| {
                fs.id(&session.subscription_id)
            })
        }
        AmlfsCommand::Archive {
            fs,
            filesystem_path,
        } => {
            fs.check()?;
            let session = Session::open(cli)?;
            let id = fs.id(&session.subscription_id)?;
            let result = session.run(async {
                amlfs::archive(&session.arm, &id, filesystem_path)
                    .await
                    .map_err(CliError::not_found_is_3)
            });
            session.close()?;
            result
        }
        AmlfsCommand::CancelArchive { fs } => {
            fs.check()?;
            let session = Session::open(cli)?;
            let id = fs.id(&session.subscription_id)?;
            let result = session.run(async {
                amlfs::cancel_archive(&session.arm, &id)
                    .await
                    .map_err(CliError::not_found_is_3)
            });
            session.close()?;
            result
        }
        AmlfsCommand::CheckSubnet {
            filesystem_subnet,
            size,
            location: l,
        } => {
            let subnet = subnet_id(filesystem_subnet)?;
            let (sku, tib) = size.parse()?;
            let l = location::location("--location", l)?;
            let session = Session::open(cli)?;
            let result = session.run_core(amlfs::check_subnet(&session.arm, &subnet, sku, tib, &l));
            session.close()?;
            match result? {
                SubnetCheck::Valid => Ok(()),
                SubnetCheck::Invalid { message } => Err(CliError::Runtime(format!(
                    "subnet {subnet} cannot hold a {tib} TiB {sku} filesystem: {message}"
                ))),
            }
        }
        AmlfsCommand::GetSubnetsSize { size } => {
            let (sku, tib) = size.parse()?;
            let session = Session::open(cli)?;
            let result = session.run_core(amlfs::required_subnet_size(&session.arm, sku, tib));
            session.close()?;
            print(cli, &json!({ "filesystemSubnetSize": result? }))
        }
        AmlfsCommand::ImportJob(c) => import_job(cli, c),
    }
}

fn create(cli: &Cli, a: &CreateArgs) -> Result<(), CliError> {
    a.fs.check()?;
    let (sku, capacity_tib) = a.size.parse()?;
    let subnet = subnet_id(&a.filesystem_subnet)?;
    let zone = spec::zone("--zones", &a.zones)?;
    let maintenance_window = window(&a.maintenance_window)?;
    let hsm = match (&a.hsm_container, &a.hsm_logging_container) {
        (Some(d), Some(l)) => Some(Hsm {
            container_id: container_id("--hsm-container", d)?,
            logging_container_id: container_id("--hsm-logging-container", l)?,
            import_prefixes: Vec::new(),
        }),
        _ => None,
    };
    let root_squash = a.squash.parse()?;
    let location = a
        .location
        .as_deref()
        .map(|l| location::location("--location", l))
        .transpose()?;
    let tags = string_tags(tags::parse("--tags", &a.tags)?);
    let session = Session::open(cli)?;
    let id = a.fs.id(&session.subscription_id)?;
    let result = session.run(async {
        let location = match location {
            Some(l) => l,
            None => group_location(&session.arm, &a.fs.resource_group).await?,
        };
        let want = Want {
            id: id.clone(),
            new: NewAmlFilesystem {
                location,
                sku,
                capacity_tib,
                subnet_id: subnet,
                zone,
                maintenance_window,
                hsm,
                root_squash: root_squash.clone(),
                tags,
            },
            maintenance_window: Some(maintenance_window),
            root_squash,
            flags: Flags::AMLFS,
        };
        let policy = session.poll_policy(Wait::Cache);
        let progress = session.progress.for_step(format!("amlfs {}", id.name()));
        let nothing = || Ok(());
        let outcome = converge::converge(
            &session.arm,
            &want,
            Options {
                no_wait: a.no_wait,
                policy: &policy,
                progress: &progress,
                saved: None,
                // A Failed filesystem is deleted and created again only by `up`, which knows
                // it made it; here it is reported.
                ours: false,
                before_create: &nothing,
            },
        )
        .await?;
        match outcome {
            Outcome::Ready { filesystem, .. } => Ok(filesystem.printable()),
            Outcome::Pending { .. } => Ok(amlfs::get(&session.arm, &id).await?.printable()),
        }
    });
    session.close()?;
    print(cli, &result?)
}

fn import_job(cli: &Cli, cmd: &ImportJobCommand) -> Result<(), CliError> {
    match cmd {
        ImportJobCommand::Create {
            job,
            import_prefixes,
            conflict_resolution_mode,
            maximum_errors,
            no_wait,
        } => {
            job.id(ZERO_SUB)?;
            let prefixes = spec::import_prefixes("--import-prefixes", import_prefixes)?;
            let mode = spec::conflict_mode("--conflict-resolution-mode", conflict_resolution_mode)?;
            if let Some(n) = maximum_errors
                && *n < -1
            {
                return Err(InvalidInput::new(
                    "--maximum-errors",
                    format!("{n} is not a count of errors"),
                )
                .hint("Give 0 or more, or -1 for no limit")
                .into());
            }
            let session = Session::open(cli)?;
            let id = job.id(&session.subscription_id)?;
            let fs_id = job.fs.id(&session.subscription_id)?;
            let result = session.run(async {
                let fs = amlfs::get(&session.arm, &fs_id)
                    .await
                    .map_err(CliError::not_found_is_3)?;
                let new = NewImportJob {
                    location: fs.model.tracked_resource.location.clone(),
                    import_prefixes: prefixes,
                    conflict_mode: mode,
                    maximum_errors: *maximum_errors,
                    tags: Default::default(),
                };
                let poller = amlfs::begin_put_import_job(&session.arm, &id, &new).await?;
                finish(&session, poller, *no_wait).await?;
                Ok(amlfs::get_import_job(&session.arm, &id).await?.printable())
            });
            session.close()?;
            print(cli, &result?)
        }
        ImportJobCommand::Show { job } => {
            job.id(ZERO_SUB)?;
            let session = Session::open(cli)?;
            let id = job.id(&session.subscription_id)?;
            let result = session.run(async {
                amlfs::get_import_job(&session.arm, &id)
                    .await
                    .map_err(CliError::not_found_is_3)
            });
            session.close()?;
            print(cli, &result?.printable())
        }
        ImportJobCommand::List { fs } => {
            fs.id(ZERO_SUB)?;
            let session = Session::open(cli)?;
            let id = fs.id(&session.subscription_id)?;
            let result = session.run(async {
                amlfs::list_import_jobs(&session.arm, &id)
                    .await
                    .map_err(CliError::not_found_is_3)
            });
            session.close()?;
            let items: Vec<Value> = result?.iter().map(|j| j.printable()).collect();
            print(cli, &Value::Array(items))
        }
        ImportJobCommand::Delete { job, yes, no_wait } => {
            job.id(ZERO_SUB)?;
            confirm("Are you sure you want to perform this operation?", *yes)?;
            let session = Session::open(cli)?;
            let id = job.id(&session.subscription_id)?;
            let result = session.run(async {
                match amlfs::begin_delete_import_job(&session.arm, &id).await {
                    Err(e) if e.is_not_found() => Ok(()),
                    Err(e) => Err(e.into()),
                    Ok(p) => finish(&session, p, *no_wait).await.map(drop),
                }
            });
            session.close()?;
            result
        }
    }
}

/// Waits for a started operation unless `--no-wait`.
async fn finish(
    session: &Session,
    poller: Poller,
    no_wait: bool,
) -> Result<Option<Value>, CliError> {
    if no_wait {
        return Ok(None);
    }
    Ok(poller
        .wait(&session.arm, &session.poll_policy(Wait::Cache))
        .await?)
}
