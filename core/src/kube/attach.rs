//! `az-hpccache-ext up --attach` / `attach`: the cluster side in the same run as the Azure
//! side, with credentials fetched through ARM. The same mount and verify as
//! `kubectl hpccache mount` and `verify`, from the state file alone.

use serde::Serialize;

use super::DryRun;
use super::client_info::ClientInfoVolume;
use super::manifests::{self, LUSTRE_MOUNT_OPTIONS, VolumeSource, VolumeSpec};
use super::mount::{self, AppliedObject, MountRequest};
use super::verify::{self, Expected, Verification, VerifyOptions};
use crate::spec::{kube::cache_size_quantity, nfs::DEFAULT_MOUNT_OPTIONS};
use crate::state::{Backend, State};
use crate::{Error, Result};

/// A client for the cluster a kubeconfig (as ARM's `listClusterUserCredential` returns it)
/// describes, using its current context.
pub async fn client_from_kubeconfig(yaml: &str) -> Result<::kube::Client> {
    use ::kube::config::{Config, KubeConfigOptions, Kubeconfig};
    let invalid = |e: &dyn std::fmt::Display| {
        Error::ClusterInvalid(format!("the cluster's kubeconfig cannot be used: {e}"))
    };
    let kc = Kubeconfig::from_yaml(yaml).map_err(|e| invalid(&e))?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| invalid(&e))?;
    ::kube::Client::try_from(config).map_err(|e| invalid(&e))
}

/// The volume a finished `up` describes, with the recommended mount options: for an HPC
/// Cache its DNS name, first namespace path and cache size; for Managed Lustre the MGS
/// address, filesystem name and capacity. `None` when `up` has not got that far.
pub fn volume_from_state(state: &State) -> Option<VolumeSpec> {
    let (source, size, mount_options) = match state.backend {
        Backend::Hpccache => {
            let dns = state.dns.as_ref()?;
            let path = state.namespace_paths.first()?;
            let cache = state.cache.as_ref()?;
            (
                VolumeSource::Nfs {
                    server: dns.fqdn.clone(),
                    path: path.clone(),
                },
                cache_size_quantity(u32::try_from(cache.cache_size_gb).unwrap_or(u32::MAX)),
                DEFAULT_MOUNT_OPTIONS
                    .split(',')
                    .map(str::to_string)
                    .collect(),
            )
        }
        Backend::Amlfs => {
            let l = state.lustre.as_ref()?;
            (
                VolumeSource::Lustre {
                    mgs_address: l.mgs_address.clone(),
                    fs_name: l.filesystem_name.clone(),
                    sub_dir: None,
                },
                lustre_size_quantity(l.storage_capacity_tib),
                LUSTRE_MOUNT_OPTIONS.map(String::from).to_vec(),
            )
        }
    };
    Some(VolumeSpec {
        deployment: state.deployment.clone(),
        source,
        size,
        mount_options,
        pv: None,
        claim: None,
    })
}

/// A filesystem's capacity as a Kubernetes quantity (`16Ti`).
pub fn lustre_size_quantity(tib: u64) -> String {
    format!("{tib}Ti")
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attached {
    pub namespace: String,
    pub persistent_volume: String,
    pub claim: String,
    /// `persistentvolume/NAME created|configured|unchanged`, as kubectl prints them.
    pub applied: Vec<String>,
    pub verification: Verification,
}

/// Mounts the deployment's volume into `namespace` (PV + bound claim, server-side apply)
/// and runs the verification checklist. The applied objects are returned so the caller can
/// record them in the state file, whatever verification says.
///
/// `client_info` is a Managed Lustre filesystem's example volume as read through ARM: the
/// checklist then compares the applied volume with it.
pub async fn attach(
    client: &::kube::Client,
    state: &State,
    namespace: &str,
    verify_opts: &VerifyOptions,
    client_info: Option<std::result::Result<ClientInfoVolume, String>>,
) -> Result<(Attached, Vec<AppliedObject>)> {
    let spec = volume_from_state(state).ok_or_else(|| {
        Error::ClusterInvalid(match state.backend {
            Backend::Hpccache => "the state file has no DNS name, namespace path or cache yet: run `up` to the end first".into(),
            Backend::Amlfs => "the state file has no Managed Lustre filesystem (MGS address) yet: run `up --backend amlfs` to the end first".into(),
        })
    })?;
    let req = MountRequest {
        spec,
        namespaces: vec![namespace.to_string()],
        workload: None,
        dry_run: DryRun::None,
        concurrency: 1,
    };
    let pair = manifests::pair(&req.spec, namespace, false);
    let (pv, claim) = (pair.pv_name().to_string(), pair.claim_name().to_string());
    mount::require_namespaces(client, &req.namespaces).await?;
    mount::require_driver(client, &req.spec).await?;
    let result = mount::mount(client, &req).await;
    if let Some((_, e)) = result.failed.into_iter().next() {
        return Err(e);
    }
    let mut expected = Expected::from_state(state, namespace, &claim, &pv);
    if let Some(l) = expected.lustre.as_mut() {
        l.client_info = client_info;
    }
    let verification = verify::verify(client, &expected, verify_opts).await?;
    let attached = Attached {
        namespace: namespace.to_string(),
        persistent_volume: pv,
        claim,
        applied: result
            .applied
            .iter()
            .map(|a| format!("{} {}", a.reference(), a.outcome.as_str()))
            .collect(),
        verification,
    };
    Ok((attached, result.applied))
}
