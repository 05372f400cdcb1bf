//! The command line, with kubectl's flag names and meanings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCandidates;

const EXAMPLES_ROOT: &str = "\
Examples:
  Mount the cache `az-hpccache-ext up` made into the current namespace, then check it:
    kubectl hpccache mount
    kubectl hpccache verify

  Mount it into three namespaces and into a deployment's pods at /mnt/azure:
    kubectl hpccache mount -n team-a,team-b,team-c --to deployment/web

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
        help_heading = "Global Options"
    )]
    pub state: Option<PathBuf>,

    /// Talk to the built-in sandbox cluster named in the state file (its world lives beside
    /// the state file, shared with `az-hpccache-ext --sandbox`).
    #[arg(long, global = true, env = "HPCCACHE_SANDBOX", hide_env_values = true,
          value_parser = clap::builder::FalseyValueParser::new(),
          help_heading = "Global Options")]
    pub sandbox: bool,

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

    /// If present, the namespace scope for this request [default: the context's namespace,
    /// else default] (mount, manifests, verify and unmount take several, comma-separated).
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
    /// Create (server-side apply) the NFS PersistentVolume and its claim, and optionally
    /// add the volume to a workload.
    #[command(after_help = MOUNT_EXAMPLES)]
    Mount(MountArgs),

    /// Check the volume end to end, with a probe pod as root and as the workload's user.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),

    /// Show each volume and claim this tool made, its phase and the pods using it.
    #[command(after_help = STATUS_EXAMPLES)]
    Status {
        /// The deployment (optional when only one exists or --state names the file).
        #[arg(add = ArgValueCandidates::new(crate::complete::deployments))]
        deployment: Option<String>,
    },

    /// Remove the volume from patched workloads, then delete the claims and volumes
    /// (the data on the cache is never touched).
    ///
    /// Like kubectl, in the current namespace unless -n names others or --all-namespaces
    /// is given; a namespace named that holds none of the deployment's volumes is an error
    /// and nothing is removed.
    #[command(after_help = UNMOUNT_EXAMPLES)]
    Unmount {
        /// The deployment (optional when only one exists or --state names the file).
        #[arg(add = ArgValueCandidates::new(crate::complete::deployments))]
        deployment: Option<String>,
        /// Also when pods this tool did not patch still use a claim.
        #[arg(long)]
        force: bool,
        /// Every namespace's volume and claim, and volumes whose claim is gone.
        #[arg(short = 'A', long)]
        all_namespaces: bool,
    },

    /// Print the PersistentVolume, claim (and workload patch) as YAML, without touching the
    /// cluster.
    #[command(after_help = MANIFESTS_EXAMPLES)]
    Manifests(MountArgs),

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
        #[arg(add = ArgValueCandidates::new(crate::complete::deployments))]
        deployment: Option<String>,
    },
}

const MOUNT_EXAMPLES: &str = "\
Examples:
  Mount the only deployment's cache into the current namespace:
    kubectl hpccache mount

  Mount a cache without a state file:
    kubectl hpccache mount --server server.myhpccache.local --path /myfilepath --size 3072Gi

  A directory of a Managed Lustre deployment's filesystem (a Lustre CSI volume, sub-dir team-a):
    kubectl hpccache mount MyLustre --sub-path team-a

  One volume per namespace labelled team=hpc, and into a statefulset's pods:
    kubectl hpccache mount --namespace-selector team=hpc --to statefulset/solver --mount-path /data

  See what the server would do, without changing anything:
    kubectl hpccache mount --dry-run=server -o yaml";

const VERIFY_EXAMPLES: &str = "\
Examples:
  Check the claim in the current namespace (exit code 0 only if every check passes):
    kubectl hpccache verify

  Check that the uid your workload runs as can write, with an image from your registry:
    kubectl hpccache verify --as-user 2000 --image myregistry.azurecr.io/busybox:1.36";

const STATUS_EXAMPLES: &str = "\
Examples:
  Volumes, claims and the pods using them:
    kubectl hpccache status

  With the NFS servers, paths and mount options:
    kubectl hpccache status -o wide";

const UNMOUNT_EXAMPLES: &str = "\
Examples:
  Remove the volume and claim of the current namespace (the data on the cache stays):
    kubectl hpccache unmount

  Of two namespaces, or of every namespace:
    kubectl hpccache unmount -n team-a,team-b
    kubectl hpccache unmount --all-namespaces

  Also while pods this tool did not patch still use a claim:
    kubectl hpccache unmount --force";

const MANIFESTS_EXAMPLES: &str = "\
Examples:
  Commit the manifests to a GitOps repository:
    kubectl hpccache manifests -n team-a > hpccache.yaml

  Check them with kubectl:
    kubectl hpccache manifests | kubectl apply --dry-run=client -f -";

/// What `mount` and `manifests` make.
#[derive(Debug, Clone, Args)]
pub struct MountArgs {
    /// The deployment (the cache name given to `az-hpccache-ext up`). Optional when only one
    /// exists, when --state names the file, or with --server and --path.
    #[arg(add = ArgValueCandidates::new(crate::complete::deployments))]
    pub deployment: Option<String>,

    /// The NFS server, instead of the state file's DNS name.
    #[arg(long, value_name = "HOST", requires = "path")]
    pub server: Option<String>,

    /// The cache's namespace path, instead of the state file's first one.
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,

    /// A directory under the namespace path to mount instead (one per tenant); for Managed
    /// Lustre, the Lustre CSI volume's sub-dir (created on first mount).
    #[arg(long, value_name = "DIR")]
    pub sub_path: Option<String>,

    /// Capacity of the volume and request of the claim [default: the cache size].
    #[arg(long, value_name = "QUANTITY")]
    pub size: Option<String>,

    /// The PersistentVolume's name [default: hpccache-<deployment>-<namespace>].
    #[arg(long, value_name = "NAME")]
    pub pv: Option<String>,

    /// The claim's name [default: hpccache-<deployment>].
    #[arg(long, value_name = "NAME")]
    pub claim: Option<String>,

    /// Mount options, comma-separated [default: NFS vers=3,hard,proto=tcp,mountproto=tcp,retry=30;
    /// Lustre noatime,flock].
    #[arg(long, value_name = "OPTS")]
    pub mount_options: Option<String>,

    /// Also mount the claim into this workload's pods: deployment/NAME, statefulset/NAME or
    /// daemonset/NAME.
    #[arg(long, value_name = "KIND/NAME")]
    pub to: Option<String>,

    /// Where the workload's containers see the volume.
    #[arg(long, value_name = "PATH", default_value = "/mnt/azure")]
    pub mount_path: String,

    /// Containers of the workload to mount into, for `manifests` (which cannot look them
    /// up) [default: every container; for manifests, one named like the workload].
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub container: Vec<String>,

    /// One volume per namespace whose labels match, instead of -n.
    #[arg(long, value_name = "SELECTOR")]
    pub namespace_selector: Option<String>,

    /// `client`: print what would be sent; `server`: let the server validate without saving.
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: Option<DryRunMode>,

    /// Namespaces applied at the same time.
    #[arg(long, value_name = "N", default_value_t = hpccache_core::kube::mount::DEFAULT_CONCURRENCY, hide = true)]
    pub concurrency: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRunMode {
    Client,
    Server,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The deployment (optional when only one exists or --state names the file).
    #[arg(add = ArgValueCandidates::new(crate::complete::deployments))]
    pub deployment: Option<String>,

    /// The claim to check [default: the one mount made in the namespace].
    #[arg(long, value_name = "NAME")]
    pub claim: Option<String>,

    /// The probe pods' image (needs sh, df, id).
    #[arg(long, value_name = "IMAGE", default_value = "busybox:1.36")]
    pub image: String,

    /// The uid (and gid) of a second probe that must be able to write, as your workload
    /// runs [default: the owner `az-hpccache-ext up --owner` gave the directory to, else no
    /// second probe].
    #[arg(long, value_name = "UID")]
    pub as_user: Option<u32>,

    /// Seconds each probe may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
}
