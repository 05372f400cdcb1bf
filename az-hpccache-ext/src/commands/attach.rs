//! `attach` and `up --attach`: mount the deployment's volume into its AKS cluster and verify
//! it, with the cluster credentials fetched through ARM (`listClusterUserCredential`), so one
//! command runs the whole guide. The same mount and checklist as `kubectl hpccache mount`
//! and `kubectl hpccache verify` (hpccache_core::kube).

use std::time::Duration;

use clap::Args;
use hpccache_core::azure::{aks, amlfs, ids::ResourceId};
use hpccache_core::deploy::keys;
use hpccache_core::kube::attach::{self, Attached};
use hpccache_core::kube::client_info::{self, ClientInfoVolume};
use hpccache_core::kube::probe;
use hpccache_core::kube::verify::VerifyOptions;
use hpccache_core::state::{Backend, KubeObject, LockedState};
use serde_json::Value;

use super::print;
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::Session;

pub const EXAMPLES: &str = "\
Examples:
  Mount a finished deployment into the cluster's default namespace and verify it:
    az-hpccache-ext attach -n MyHpcCache

  Into another namespace, checking that uid 2000 can write:
    az-hpccache-ext attach -n MyHpcCache --namespace team-a --as-user 2000";

/// How to reach into the cluster: shared by `attach`, `up --attach` and `up --owner`.
#[derive(Debug, Clone, Args)]
pub struct AttachArgs {
    /// Kubernetes namespace of the claim (and of the job of `up --owner`).
    #[arg(long = "namespace", value_name = "NAME", default_value = "default")]
    pub kube_namespace: String,
    /// uid (and gid) of a second verification probe that must be able to write, as your
    /// workload runs [default: the owner `up --owner` gave the directory to, else no second
    /// probe].
    #[arg(long, value_name = "UID")]
    pub as_user: Option<u32>,
    /// Image of the verification probe pods (and of the job of `up --owner`).
    #[arg(long, value_name = "IMAGE", default_value = probe::DEFAULT_IMAGE)]
    pub probe_image: String,
}

/// `attach`'s own flags.
#[derive(Debug, Args)]
pub struct AttachCommand {
    /// The deployment (the `-n` given to `up`).
    #[arg(short = 'n', long)]
    pub name: String,
    #[command(flatten)]
    pub attach: AttachArgs,
}

impl AttachArgs {
    /// Checked before any request, like every other argument.
    pub fn validate(&self) -> Result<(), CliError> {
        hpccache_core::spec::kube::dns1123_label("--namespace", &self.kube_namespace)?;
        Ok(())
    }
}

pub fn run(cli: &Cli, cmd: &AttachCommand) -> Result<(), CliError> {
    hpccache_core::spec::names::deployment("--name", &cmd.name)?;
    cmd.attach.validate()?;
    let store = super::up::lock_state(cli, Some(&cmd.name))?;
    store.load()?;
    let session = Session::open_with_clusters(cli)?;
    let result = session.run(attach_to_cluster(&session, &store, &cmd.attach));
    session.close()?;
    let attached = result?;
    print(cli, &to_value(&attached)?)?;
    fail_unless_verified(&attached)
}

pub fn to_value(attached: &Attached) -> Result<Value, CliError> {
    serde_json::to_value(attached).map_err(|e| CliError::Runtime(e.to_string()))
}

/// Fetches the credentials, mounts, verifies and records the Kubernetes objects in the
/// state file. Returns the `kubernetes` part of the summary.
pub async fn attach_to_cluster(
    session: &Session,
    store: &LockedState,
    args: &AttachArgs,
) -> Result<Attached, CliError> {
    let mut doc = store.load()?.ok_or_else(|| {
        CliError::Core(hpccache_core::Error::StateMissing {
            path: store.path().to_path_buf(),
        })
    })?;
    let client = cluster_client(session, &doc).await?;
    let kube_err = |e: hpccache_core::Error| CliError::Runtime(e.to_string());
    let opts = VerifyOptions {
        image: args.probe_image.clone(),
        as_user: args.as_user,
        timeout: session
            .scaled(Duration::from_secs(120))
            .max(Duration::from_secs(20)),
    };
    let client_info = filesystem_client_info(session, &doc).await?;
    let (attached, applied) =
        attach::attach(&client, &doc, &args.kube_namespace, &opts, client_info)
            .await
            .map_err(kube_err)?;
    let same = |a: &KubeObject, b: &KubeObject| {
        a.kind == b.kind && a.namespace == b.namespace && a.name == b.name
    };
    for o in applied.iter().map(|a| a.record()) {
        if !doc.kube.iter().any(|x| same(x, &o)) {
            doc.kube.push(o);
        }
    }
    store.save(&doc)?;
    Ok(attached)
}

/// A Managed Lustre deployment's filesystem as ARM has it now, decoded to the example
/// volume of its `clientInfo`, for the checklist to compare the applied volume with.
/// `None` for an HPC Cache deployment; an unreadable example is a failed check, not an
/// error, so the volume is still mounted and verified.
async fn filesystem_client_info(
    session: &Session,
    doc: &hpccache_core::state::State,
) -> Result<Option<Result<ClientInfoVolume, String>>, CliError> {
    if doc.backend != Backend::Amlfs {
        return Ok(None);
    }
    let Some(r) = doc.resources.get(keys::AML_FILESYSTEM) else {
        return Ok(None);
    };
    let id = ResourceId::parse(&r.id).map_err(CliError::Core)?;
    let fs = amlfs::get(&session.arm, &id).await?;
    Ok(Some(client_info::from_filesystem(&fs.raw)))
}

/// A client for the deployment's cluster, with the user credentials fetched through ARM
/// (`listClusterUserCredential`): no kubeconfig needed.
pub async fn cluster_client(
    session: &Session,
    doc: &hpccache_core::state::State,
) -> Result<::kube::Client, CliError> {
    let cluster = doc.cluster.clone().ok_or_else(|| {
        CliError::Runtime("the state file names no cluster yet: run `up` first".into())
    })?;
    cluster_client_by_id(session, &cluster.id).await
}

/// Before `up --backend amlfs --attach` writes anything: a cluster without a ready Lustre
/// CSI driver could never mount the filesystem, which takes ten minutes or more to create,
/// so it is refused first, with the install steps. Reads only (the cluster, its credential,
/// the driver's objects).
pub async fn require_lustre_driver(
    session: &Session,
    resource_group: &str,
    cluster: &str,
) -> Result<(), CliError> {
    let id = aks::cluster_id(session.arm.subscription(), resource_group, cluster);
    let client = cluster_client_by_id(session, id.as_str()).await?;
    hpccache_core::kube::driver::require(
        &client,
        "nothing was created in Azure or applied in the cluster",
    )
    .await
    .map_err(|e| {
        CliError::Runtime(e.to_string()).with_hint(
            "Install the driver, then run the same `up` again; or leave out --attach and mount later with `kubectl hpccache mount`",
        )
    })
}

async fn cluster_client_by_id(session: &Session, id: &str) -> Result<::kube::Client, CliError> {
    let id = ResourceId::parse(id).map_err(CliError::Core)?;
    let kubeconfig = aks::list_cluster_user_credential(&session.arm, &id).await?;
    let kubeconfig = String::from_utf8(kubeconfig)
        .map_err(|_| CliError::Runtime("the cluster's kubeconfig is not UTF-8".into()))?;
    attach::client_from_kubeconfig(&kubeconfig)
        .await
        .map_err(|e| CliError::Runtime(e.to_string()))
}

/// The command succeeds when every check passed — the same judgement as `kubectl hpccache
/// verify` (`Verification::passed`), so the two agree on the exit code. The printed
/// result lists every check either way, each failure with its fix.
pub fn fail_unless_verified(attached: &Attached) -> Result<(), CliError> {
    let v = &attached.verification;
    if v.passed() {
        return Ok(());
    }
    let failed: Vec<&str> = v.not_passed().map(|c| c.name.as_str()).collect();
    Err(CliError::Runtime(format!(
        "the volume is mounted, but {} verification check{} did not pass: {}",
        failed.len(),
        if failed.len() == 1 { "" } else { "s" },
        failed.join("; ")
    ))
    .with_hint("Each check's fix is in the output above; `kubectl hpccache verify` runs the checklist again"))
}
