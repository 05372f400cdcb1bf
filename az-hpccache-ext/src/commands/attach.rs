//! `attach` and `up --attach`: mount the deployment's volume into its AKS cluster and verify
//! it, with the cluster credentials fetched through ARM (`listClusterUserCredential`), so one
//! command runs the whole guide. The same mount and checklist as `kubectl hpccache mount`
//! and `kubectl hpccache verify` (hpccache_core::kube).

use std::time::Duration;

use clap::Args;
use hpccache_core::azure::{aks, ids::ResourceId};
use hpccache_core::kube::{attach, probe, verify::VerifyOptions};
use hpccache_core::state::{KubeObject, LockedState};
use serde_json::Value;

use super::print;
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::Session;

pub const EXAMPLES: &str = "\
Examples:
  Mount a finished deployment into the cluster's default namespace and verify it:
    az-hpccache-ext attach -n MyHpcCache

  Into another namespace, checking root squash for uid 2000:
    az-hpccache-ext attach -n MyHpcCache --namespace team-a --as-user 2000";

/// How to reach into the cluster: shared by `attach` and `up --attach`.
#[derive(Debug, Clone, Args)]
pub struct AttachArgs {
    /// Kubernetes namespace of the claim.
    #[arg(long = "namespace", value_name = "NAME", default_value = "default")]
    pub kube_namespace: String,
    /// uid of the second, non-root verification probe (shows whether root squash stops a
    /// non-root workload).
    #[arg(long, value_name = "UID", default_value_t = 1000)]
    pub as_user: u32,
    /// Image of the verification probe pods.
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
    print(cli, &attached)?;
    fail_unless_verified(&attached)
}

/// Fetches the credentials, mounts, verifies and records the Kubernetes objects in the
/// state file. Returns the `kubernetes` part of the summary.
pub async fn attach_to_cluster(
    session: &Session,
    store: &LockedState,
    args: &AttachArgs,
) -> Result<Value, CliError> {
    let mut doc = store.load()?.ok_or_else(|| {
        CliError::Core(hpccache_core::Error::StateMissing {
            path: store.path().to_path_buf(),
        })
    })?;
    let client = cluster_client(session, &doc).await?;
    let kube_err = |e: hpccache_core::kube::Error| CliError::Runtime(e.to_string());
    let opts = VerifyOptions {
        image: args.probe_image.clone(),
        as_user: args.as_user,
        timeout: session
            .scaled(Duration::from_secs(120))
            .max(Duration::from_secs(20)),
    };
    let (attached, applied) = attach::attach(&client, &doc, &args.kube_namespace, &opts)
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
    serde_json::to_value(&attached).map_err(|e| CliError::Runtime(e.to_string()))
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
    let id = ResourceId::parse(&cluster.id).map_err(CliError::Core)?;
    let kubeconfig = aks::list_cluster_user_credential(&session.arm, &id).await?;
    let kubeconfig = String::from_utf8(kubeconfig)
        .map_err(|_| CliError::Runtime("the cluster's kubeconfig is not UTF-8".into()))?;
    attach::client_from_kubeconfig(&kubeconfig)
        .await
        .map_err(|e| CliError::Runtime(e.to_string()))
}

/// The command succeeds when the volume works: every check passed except advisory ones
/// (a non-root probe that mounts but cannot write), which are warnings with their fixes.
/// The printed result lists every check either way.
pub fn fail_unless_verified(attached: &Value) -> Result<(), CliError> {
    let checks = attached["verification"]["checks"].as_array();
    let not_passed = || {
        checks
            .into_iter()
            .flatten()
            .filter(|c| c["status"] != "pass")
    };
    for c in not_passed().filter(|c| c["advisory"] == true) {
        tracing::warn!(
            "{} failed: {}",
            c["name"].as_str().unwrap_or_default(),
            c["detail"].as_str().unwrap_or_default()
        );
        for line in c["fix"].as_array().into_iter().flatten() {
            tracing::warn!("  {}", line.as_str().unwrap_or_default());
        }
    }
    let failed: Vec<&str> = not_passed()
        .filter(|c| c["advisory"] != true)
        .filter_map(|c| c["name"].as_str())
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(CliError::Runtime(format!(
        "the volume is mounted, but {} verification check{} did not pass: {}",
        failed.len(),
        if failed.len() == 1 { "" } else { "s" },
        failed.join("; ")
    ))
    .with_hint("Each check's fix is in the output above; `kubectl hpccache verify` runs the checklist again"))
}
