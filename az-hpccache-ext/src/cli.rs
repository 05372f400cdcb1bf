//! The command line: clap definitions only. `main` turns them into core calls.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use hpccache_az_output::{OutputFormat, Query};

const EXAMPLES_ROOT: &str = "\
Examples:
  List the deployments recorded on this machine:
    az-hpccache-ext state list -o table

  Show a deployment's state as a table:
    az-hpccache-ext state show -n MyHpcCache -o table

  Install bash completions:
    az-hpccache-ext completion bash > /etc/bash_completion.d/az-hpccache-ext";

/// Attach an Azure HPC Cache to an AKS cluster, the az way.
///
/// Every command follows az conventions: results on stdout in the format chosen with
/// -o/--output, narrowed with --query; logs and errors on stderr; exit code 0 on success,
/// 1 on error, 2 on a bad argument, 3 when a resource is not found.
#[derive(Debug, Parser)]
#[command(name = "az-hpccache-ext", version, after_help = EXAMPLES_ROOT, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Global arguments, accepted by every command as in az.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format: json, jsonc, yaml, yamlc, table, tsv or none.
    #[arg(short = 'o', long, global = true, env = "AZURE_CORE_OUTPUT", default_value = "json",
          value_parser = hpccache_az_output::parse_output, hide_env_values = true,
          help_heading = "Global Arguments")]
    pub output: OutputFormat,

    /// JMESPath query string. See http://jmespath.org/ for more information and examples.
    #[arg(long, global = true, value_parser = Query::parse_arg, help_heading = "Global Arguments")]
    pub query: Option<Query>,

    /// Name or ID of subscription.
    #[arg(long, global = true, help_heading = "Global Arguments")]
    pub subscription: Option<String>,

    /// Increase logging verbosity. Use --debug for full debug logs.
    #[arg(long, global = true, help_heading = "Global Arguments")]
    pub verbose: bool,

    /// Increase logging verbosity to show all debug logs (Authorization headers redacted).
    #[arg(long, global = true, help_heading = "Global Arguments")]
    pub debug: bool,

    /// Only show errors, suppressing warnings.
    #[arg(long, global = true, env = "AZURE_CORE_ONLY_SHOW_ERRORS", hide_env_values = true,
          value_parser = clap::builder::FalseyValueParser::new(),
          conflicts_with_all = ["verbose", "debug"], help_heading = "Global Arguments")]
    pub only_show_errors: bool,

    /// The deployment's state file [default: one file per deployment in the user's state
    /// directory].
    #[arg(
        long,
        global = true,
        env = "HPCCACHE_STATE",
        hide_env_values = true,
        // An empty HPCCACHE_STATE means "not set" (the default file), as it always has:
        // clap's PathBuf parser would refuse the empty value.
        value_parser = clap::builder::TypedValueParser::map(clap::builder::OsStringValueParser::new(), PathBuf::from),
        value_name = "PATH",
        help_heading = "Global Arguments"
    )]
    pub state: Option<PathBuf>,

    #[command(flatten)]
    pub azure: AzureArgs,
}

/// Where Azure is: the cloud, custom endpoints, or the built-in sandbox. Global like az's.
#[derive(Debug, Args, Clone, Default)]
pub struct AzureArgs {
    /// The Azure cloud: AzureCloud (default), AzureChinaCloud or AzureUSGovernment.
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Azure Arguments"
    )]
    pub cloud: Option<String>,

    /// A custom Resource Manager endpoint (Azure Stack, a proxy, a sandbox served elsewhere).
    /// The bearer token then comes from HPCCACHE_ACCESS_TOKEN when set.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "HPCCACHE_ARM_ENDPOINT",
        help_heading = "Azure Arguments"
    )]
    pub arm_endpoint: Option<String>,

    /// A custom Microsoft Graph endpoint [default: the cloud's, or the --arm-endpoint].
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "HPCCACHE_GRAPH_ENDPOINT",
        help_heading = "Azure Arguments"
    )]
    pub graph_endpoint: Option<String>,

    /// Run against the built-in sandbox (an emulated Azure) whose world is saved beside the
    /// state file, instead of Azure.
    #[arg(long, global = true, env = "HPCCACHE_SANDBOX", hide_env_values = true,
          value_parser = clap::builder::FalseyValueParser::new(),
          help_heading = "Azure Arguments")]
    pub sandbox: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create everything the filesystem (or cache) needs, concurrently and resumably, and print
    /// where to mount.
    #[command(after_help = crate::commands::up::EXAMPLES)]
    Up(Box<crate::commands::UpCommand>),

    /// Mount a finished deployment into its AKS cluster and verify it from inside.
    #[command(after_help = crate::commands::attach::EXAMPLES)]
    Attach(crate::commands::attach::AttachCommand),

    /// Delete what `up` created (flushing the cache first); keeps the data unless asked.
    #[command(after_help = crate::commands::down::EXAMPLES)]
    Down(crate::commands::DownCommand),

    /// Read every resource of a deployment live: provisioning state, health, drift.
    #[command(after_help = crate::commands::status::EXAMPLES)]
    Status(crate::commands::StatusCommand),

    /// Read the state files that record what hpccache created.
    #[command(subcommand)]
    State(StateCommand),

    /// Read what the cache needs to know about an AKS cluster.
    #[command(subcommand)]
    Aks(crate::commands::aks::AksCommand),

    /// Create the cache subnet in the cluster's virtual network.
    #[command(subcommand)]
    Subnet(crate::commands::subnet::SubnetCommand),

    /// Register resource providers.
    #[command(subcommand)]
    Provider(crate::commands::provider::ProviderCommand),

    /// Create and manage Azure Managed Lustre filesystems (as `az amlfs`).
    #[command(subcommand)]
    Amlfs(crate::commands::amlfs::AmlfsCommand),

    /// Create and manage HPC Caches (as `az hpc-cache`).
    #[command(subcommand)]
    Cache(crate::commands::cache::CacheCommand),

    /// Storage accounts and blob containers for the cache's storage target.
    #[command(subcommand)]
    Storage(crate::commands::storage::StorageCommand),

    /// Role assignments the cache needs on the storage account.
    #[command(subcommand)]
    Role(crate::commands::role::RoleCommand),

    /// Add blob storage targets to a cache.
    #[command(subcommand)]
    BlobStorageTarget(crate::commands::storage_target::BlobTargetCommand),

    /// List, show and remove a cache's storage targets.
    #[command(subcommand)]
    StorageTarget(crate::commands::storage_target::StorageTargetCommand),

    /// Private DNS: the zone, its vnet link and the round-robin A records.
    #[command(subcommand)]
    Dns(crate::commands::dns::DnsCommand),

    /// Cache SKUs the provider offers.
    #[command(subcommand)]
    Skus(crate::commands::skus::SkusCommand),

    /// Usage models for storage targets.
    #[command(subcommand)]
    UsageModel(crate::commands::skus::UsageModelCommand),

    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  Load completions into the current bash session:
    source <(az-hpccache-ext completion bash)

  Install them for zsh:
    az-hpccache-ext completion zsh > \"${fpath[1]}/_az-hpccache-ext\"")]
    Completion {
        /// The shell to generate completions for.
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff).
    #[command(after_help = "\
Examples:
  Install the man page:
    az-hpccache-ext man > /usr/local/share/man/man1/az-hpccache-ext.1")]
    Man,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Show a deployment's state file.
    #[command(after_help = "\
Examples:
  Show the only deployment's state:
    az-hpccache-ext state show

  Show the mount addresses of one deployment, one per line:
    az-hpccache-ext state show -n MyHpcCache --query cache.mountAddresses -o tsv

  Show a state file kept elsewhere:
    az-hpccache-ext state show --state ./hpccache-state.json")]
    Show {
        /// The deployment (the cache name given to `up`). Optional when only one exists or
        /// when --state or HPCCACHE_STATE names the file.
        // `-d/--deployment` was this flag's name while every other command said `-n/--name`;
        // kept as hidden aliases so scripts written against it keep working.
        #[arg(short = 'n', long, alias = "deployment", short_alias = 'd')]
        name: Option<String>,
    },

    /// List the deployments that have a state file in the user's state directory.
    #[command(after_help = "\
Examples:
  List deployments as a table:
    az-hpccache-ext state list -o table")]
    List,
}
