//! The command line, with kubectl's flag names and meanings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES_ROOT: &str = "\
Examples:
  Show what `az-hpccache-ext up` recorded for the only deployment:
    kubectl hpccache state show

  The same as JSON, for another cluster context:
    kubectl hpccache state show -o json --context staging

  Install bash completions:
    kubectl-hpccache completion bash > /etc/bash_completion.d/kubectl-hpccache";

/// Mount an Azure HPC Cache into AKS workloads as an NFS volume.
///
/// The Azure side (cache, storage, DNS) is made by `az-hpccache-ext up`; this plugin reads
/// the same state file and manages the cluster side.
#[derive(Debug, Parser)]
#[command(name = "kubectl-hpccache", bin_name = "kubectl hpccache", version,
          after_help = EXAMPLES_ROOT, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub kube: KubeArgs,

    /// Output format.
    #[arg(
        short = 'o',
        long,
        global = true,
        value_enum,
        help_heading = "Global Options"
    )]
    pub output: Option<Format>,

    /// The deployment's state file [default: $HPCCACHE_STATE, else one file per deployment in
    /// the user's state directory].
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Global Options"
    )]
    pub state: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// How to reach the cluster, as kubectl spells it.
#[derive(Debug, Clone, Default, Args)]
pub struct KubeArgs {
    /// Path to the kubeconfig file to use [default: $KUBECONFIG, else ~/.kube/config, else
    /// the in-cluster service account].
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Global Options"
    )]
    pub kubeconfig: Option<PathBuf>,

    /// The name of the kubeconfig context to use.
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Global Options"
    )]
    pub context: Option<String>,

    /// If present, the namespace scope for this request.
    #[arg(
        short = 'n',
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Global Options"
    )]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Yaml,
    Json,
    Wide,
    Name,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the state file that `az-hpccache-ext up` wrote.
    #[command(subcommand)]
    State(StateCommand),

    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  Load completions into the current bash session:
    source <(kubectl-hpccache completion bash)")]
    Completion {
        /// The shell to generate completions for.
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff).
    #[command(after_help = "\
Examples:
  Install the man page:
    kubectl-hpccache man > /usr/local/share/man/man1/kubectl-hpccache.1")]
    Man,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Show a deployment's state: the cache, its DNS name and paths, and the objects made.
    #[command(after_help = "\
Examples:
  Show the only deployment's state as YAML:
    kubectl hpccache state show

  Show one deployment's resources as a table:
    kubectl hpccache state show MyHpcCache -o wide")]
    Show {
        /// The deployment (the cache name given to `az-hpccache-ext up`). Optional when
        /// only one exists or when --state or HPCCACHE_STATE names the file.
        deployment: Option<String>,
    },
}
