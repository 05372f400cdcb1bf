//! The PersistentVolume and claim for one namespace, and their default names.
//!
//! The PV carries a `claimRef` and the claim a `volumeName` with `storageClassName: ""`:
//! each names the other, so neither can bind to anything else — the guide's claim (no
//! `volumeName`) can bind to any free PV of the right size.
//!
//! Both backends share this one path: only the PV's volume source differs (an NFS export of
//! an HPC Cache, or a Lustre CSI volume of a Managed Lustre filesystem).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    CSIPersistentVolumeSource, NFSVolumeSource, ObjectReference, PersistentVolume,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeSpec,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{LABEL_DEPLOYMENT, LABEL_MANAGED_BY, LABEL_NAMESPACE, MANAGED_BY};

/// Longest object name (an RFC 1123 subdomain).
const NAME_MAX: usize = 253;
/// Longest label value.
const LABEL_VALUE_MAX: usize = 63;

/// The Azure Lustre CSI driver (kubernetes-sigs/azurelustre-csi-driver).
pub const LUSTRE_DRIVER: &str = "azurelustre.csi.azure.com";
/// The mount options Azure recommends for Lustre clients (`clientInfo.mountCommand`).
pub const LUSTRE_MOUNT_OPTIONS: [&str; 2] = ["noatime", "flock"];

/// Where the volume's data comes from: the only part of a pair that depends on the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// An HPC Cache namespace path over NFS.
    Nfs {
        /// The cache's DNS name (or an address given with `--server`).
        server: String,
        /// The namespace path, plus `--sub-path` when given.
        path: String,
    },
    /// A Managed Lustre filesystem through the Lustre CSI driver.
    Lustre {
        /// `clientInfo.mgsAddress`.
        mgs_address: String,
        /// The Lustre filesystem name (`lustrefs`).
        fs_name: String,
        /// `--sub-path`: a directory of the filesystem (the driver creates it on first mount).
        sub_dir: Option<String>,
    },
}

impl VolumeSource {
    /// What `status` shows as SERVER: the DNS name, or the MGS address.
    pub fn server(&self) -> &str {
        match self {
            VolumeSource::Nfs { server, .. } => server,
            VolumeSource::Lustre { mgs_address, .. } => mgs_address,
        }
    }

    /// What `status` shows as PATH: the export path, or `/<fs-name>[/<sub-dir>]` as a
    /// Lustre mount source spells it (`<mgs>@tcp:/lustrefs/team-a`).
    pub fn path(&self) -> String {
        match self {
            VolumeSource::Nfs { path, .. } => path.clone(),
            VolumeSource::Lustre {
                fs_name, sub_dir, ..
            } => lustre_path(fs_name, sub_dir.as_deref()),
        }
    }
}

/// The source of a PV as this tool writes them; `None` for any other kind of volume.
pub fn source_of(pv: &PersistentVolume) -> Option<VolumeSource> {
    let spec = pv.spec.as_ref()?;
    if let Some(n) = &spec.nfs {
        return Some(VolumeSource::Nfs {
            server: n.server.clone(),
            path: n.path.clone(),
        });
    }
    let csi = spec.csi.as_ref().filter(|c| c.driver == LUSTRE_DRIVER)?;
    let attr = |k: &str| {
        csi.volume_attributes
            .as_ref()
            .and_then(|a| a.get(k))
            .cloned()
    };
    Some(VolumeSource::Lustre {
        mgs_address: attr("mgs-ip-address").unwrap_or_default(),
        fs_name: attr("fs-name").unwrap_or_default(),
        sub_dir: attr("sub-dir"),
    })
}

/// `/lustrefs` or `/lustrefs/team-a`.
pub fn lustre_path(fs_name: &str, sub_dir: Option<&str>) -> String {
    join_path(&format!("/{}", fs_name.trim_matches('/')), sub_dir)
}

/// `--sub-path` as the Lustre driver's `sub-dir`: relative, single slashes, no `.`/`..`.
pub fn lustre_sub_dir(sub: Option<&str>) -> Option<String> {
    let sub = sub?.trim_matches('/');
    (!sub.is_empty()).then(|| sub.to_string())
}

/// What every PV/claim pair of one `mount` shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    /// The deployment (state file) name; names and labels derive from it.
    pub deployment: String,
    pub source: VolumeSource,
    /// Capacity of the PV and request of the claim, as a Kubernetes quantity.
    pub size: String,
    pub mount_options: Vec<String>,
    /// `--pv`: the PV name (suffixed with `-<namespace>` when several namespaces are mounted).
    pub pv: Option<String>,
    /// `--claim`: the claim name, the same in every namespace.
    pub claim: Option<String>,
}

/// The objects for one namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub namespace: String,
    pub pv: PersistentVolume,
    pub claim: PersistentVolumeClaim,
}

impl Pair {
    pub fn pv_name(&self) -> &str {
        self.pv.metadata.name.as_deref().unwrap_or_default()
    }
    pub fn claim_name(&self) -> &str {
        self.claim.metadata.name.as_deref().unwrap_or_default()
    }
}

/// `namespace path` + `sub path`, with single slashes (`/myfilepath` + `team-a` →
/// `/myfilepath/team-a`).
pub fn join_path(base: &str, sub: Option<&str>) -> String {
    let sub = sub.map(|s| s.trim_matches('/')).filter(|s| !s.is_empty());
    match sub {
        None => base.to_string(),
        Some(s) if base == "/" => format!("/{s}"),
        Some(s) => format!("{}/{s}", base.trim_end_matches('/')),
    }
}

/// Lower-cases `raw` and replaces what a DNS-1123 name cannot hold, so any deployment and
/// namespace name gives a valid object name; too long a name keeps a hash of the rest so
/// two long names still differ.
pub fn dns_name(raw: &str, max: usize) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let mut s = s.trim_matches('-').to_string();
    if s.len() > max {
        let hash = format!("{:08x}", fnv(raw) as u32);
        s.truncate(max - hash.len() - 1);
        s = format!("{}-{hash}", s.trim_end_matches('-'));
    }
    if s.is_empty() { "hpccache".into() } else { s }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Default PV name: `hpccache-<deployment>-<namespace>` (PVs are cluster-wide, so one per
/// namespace needs the namespace in its name).
pub fn default_pv_name(deployment: &str, namespace: &str) -> String {
    dns_name(&format!("hpccache-{deployment}-{namespace}"), NAME_MAX)
}

/// Default claim name: `hpccache-<deployment>`, the same in every namespace.
pub fn default_claim_name(deployment: &str) -> String {
    dns_name(&format!("hpccache-{deployment}"), NAME_MAX)
}

/// The labels every object of `deployment` carries, for `status`, `unmount` and selectors.
pub fn labels(deployment: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
        (
            LABEL_DEPLOYMENT.to_string(),
            dns_name(deployment, LABEL_VALUE_MAX),
        ),
    ])
}

/// `app.kubernetes.io/managed-by=hpccache,hpccache.azure.com/deployment=<name>`.
pub fn selector(deployment: &str) -> String {
    labels(deployment)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The labels of the PV and claim for `namespace`: the deployment's, and the namespace.
fn pair_labels(deployment: &str, namespace: &str) -> BTreeMap<String, String> {
    let mut l = labels(deployment);
    l.insert(LABEL_NAMESPACE.to_string(), namespace.to_string());
    l
}

/// The label selector for the pairs of `deployment` in `namespaces`; `None` when it would
/// be too long for a request line, and the caller selects the whole deployment instead.
pub fn namespaces_selector(deployment: &str, namespaces: &[String]) -> Option<String> {
    const MAX: usize = 4096;
    let sel = format!(
        "{},{LABEL_NAMESPACE} in ({})",
        selector(deployment),
        namespaces.join(",")
    );
    (sel.len() <= MAX).then_some(sel)
}

/// The PV and claim for `namespace`. `several` says whether other namespaces get a pair in
/// the same run (then `--pv` is suffixed with the namespace, since PVs are cluster-wide).
pub fn pair(spec: &VolumeSpec, namespace: &str, several: bool) -> Pair {
    let pv_name = match &spec.pv {
        Some(pv) if several => dns_name(&format!("{pv}-{namespace}"), NAME_MAX),
        Some(pv) => pv.clone(),
        None => default_pv_name(&spec.deployment, namespace),
    };
    let claim_name = spec
        .claim
        .clone()
        .unwrap_or_else(|| default_claim_name(&spec.deployment));
    let size = BTreeMap::from([("storage".to_string(), Quantity(spec.size.clone()))]);
    let rwx = Some(vec!["ReadWriteMany".to_string()]);
    let pv = PersistentVolume {
        metadata: ObjectMeta {
            name: Some(pv_name.clone()),
            labels: Some(pair_labels(&spec.deployment, namespace)),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeSpec {
            access_modes: rwx.clone(),
            capacity: Some(size.clone()),
            claim_ref: Some(ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("PersistentVolumeClaim".into()),
                namespace: Some(namespace.to_string()),
                name: Some(claim_name.clone()),
                ..ObjectReference::default()
            }),
            mount_options: Some(spec.mount_options.clone()),
            nfs: match &spec.source {
                VolumeSource::Nfs { server, path } => Some(NFSVolumeSource {
                    server: server.clone(),
                    path: path.clone(),
                    read_only: None,
                }),
                VolumeSource::Lustre { .. } => None,
            },
            csi: match &spec.source {
                VolumeSource::Nfs { .. } => None,
                VolumeSource::Lustre {
                    mgs_address,
                    fs_name,
                    sub_dir,
                } => Some(lustre_csi(
                    &pv_name,
                    mgs_address,
                    fs_name,
                    sub_dir.as_deref(),
                )),
            },
            // Deleting the claim must never delete the data on the cache.
            persistent_volume_reclaim_policy: Some("Retain".into()),
            volume_mode: Some("Filesystem".into()),
            ..PersistentVolumeSpec::default()
        }),
        status: None,
    };
    let claim = PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(claim_name),
            namespace: Some(namespace.to_string()),
            labels: Some(pair_labels(&spec.deployment, namespace)),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: rwx,
            resources: Some(VolumeResourceRequirements {
                requests: Some(size),
                limits: None,
            }),
            // "" and not absent: absent means "the default storage class", which would
            // provision a new disk instead of binding to the cache.
            storage_class_name: Some(String::new()),
            volume_name: Some(pv_name),
            volume_mode: Some("Filesystem".into()),
            ..PersistentVolumeClaimSpec::default()
        }),
        status: None,
    };
    Pair {
        namespace: namespace.to_string(),
        pv,
        claim,
    }
}

/// The Lustre CSI source. The volume handle is the PV's name: PV names are unique in a
/// cluster and ours are deterministic, so a re-run gives the same handle and two volumes
/// (other namespaces, other deployments) never share one — the kubelet keys its mounts by
/// the handle.
fn lustre_csi(
    pv_name: &str,
    mgs_address: &str,
    fs_name: &str,
    sub_dir: Option<&str>,
) -> CSIPersistentVolumeSource {
    let mut attributes = BTreeMap::from([
        ("mgs-ip-address".to_string(), mgs_address.to_string()),
        ("fs-name".to_string(), fs_name.to_string()),
    ]);
    if let Some(sub) = sub_dir {
        attributes.insert("sub-dir".to_string(), sub.to_string());
    }
    CSIPersistentVolumeSource {
        driver: LUSTRE_DRIVER.to_string(),
        volume_handle: pv_name.to_string(),
        volume_attributes: Some(attributes),
        ..CSIPersistentVolumeSource::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> VolumeSpec {
        VolumeSpec {
            deployment: "MyHpcCache".into(),
            source: VolumeSource::Nfs {
                server: "server.myhpccache.local".into(),
                path: "/myfilepath".into(),
            },
            size: "3072Gi".into(),
            mount_options: vec!["vers=3".into(), "hard".into()],
            pv: None,
            claim: None,
        }
    }

    #[test]
    fn names_are_lowercase_dns_names() {
        assert_eq!(
            default_pv_name("MyHpcCache", "default"),
            "hpccache-myhpccache-default"
        );
        assert_eq!(default_claim_name("My_Cache"), "hpccache-my-cache");
        let long = "a".repeat(300);
        let n = default_pv_name(&long, "ns");
        assert!(n.len() <= 253);
        assert_ne!(n, default_pv_name(&long, "other"));
    }

    #[test]
    fn pv_and_claim_name_each_other() {
        let p = pair(&spec(), "team-a", false);
        let pv = p.pv.spec.as_ref().unwrap();
        let cr = pv.claim_ref.as_ref().unwrap();
        assert_eq!(cr.namespace.as_deref(), Some("team-a"));
        assert_eq!(cr.name.as_deref(), Some("hpccache-myhpccache"));
        assert_eq!(
            pv.persistent_volume_reclaim_policy.as_deref(),
            Some("Retain")
        );
        let c = p.claim.spec.as_ref().unwrap();
        assert_eq!(c.storage_class_name.as_deref(), Some(""));
        assert_eq!(c.volume_name.as_deref(), Some("hpccache-myhpccache-team-a"));
        let v = serde_json::to_value(&p.pv).unwrap();
        assert_eq!(v["kind"], "PersistentVolume");
        assert_eq!(v["spec"]["nfs"]["server"], "server.myhpccache.local");
        assert_eq!(v["metadata"]["labels"][LABEL_DEPLOYMENT], "myhpccache");
        assert_eq!(v["metadata"]["labels"][LABEL_NAMESPACE], "team-a");
        let c = serde_json::to_value(&p.claim).unwrap();
        assert_eq!(c["metadata"]["labels"][LABEL_NAMESPACE], "team-a");
    }

    #[test]
    fn a_mount_selects_its_namespaces_until_the_selector_gets_too_long() {
        let few = ["a".to_string(), "b".to_string()];
        assert_eq!(
            namespaces_selector("MyHpcCache", &few).as_deref(),
            Some(
                "app.kubernetes.io/managed-by=hpccache,hpccache.azure.com/deployment=myhpccache,\
                 hpccache.azure.com/namespace in (a,b)"
            )
        );
        let many: Vec<String> = (0..200).map(|i| format!("{i:->40}")).collect();
        assert_eq!(namespaces_selector("MyHpcCache", &many), None);
    }

    #[test]
    fn pv_flag_is_suffixed_only_for_several_namespaces() {
        let mut s = spec();
        s.pv = Some("data".into());
        assert_eq!(pair(&s, "a", false).pv_name(), "data");
        assert_eq!(pair(&s, "a", true).pv_name(), "data-a");
    }

    #[test]
    fn a_lustre_pair_differs_only_in_its_source() {
        let mut s = spec();
        s.deployment = "MyLustre".into();
        s.source = VolumeSource::Lustre {
            mgs_address: "10.0.1.4".into(),
            fs_name: "lustrefs".into(),
            sub_dir: lustre_sub_dir(Some("/team-a/")),
        };
        s.size = "16Ti".into();
        s.mount_options = LUSTRE_MOUNT_OPTIONS.map(String::from).to_vec();
        let p = pair(&s, "team-a", false);
        let v = serde_json::to_value(&p.pv).unwrap();
        assert!(v["spec"].get("nfs").is_none(), "{v}");
        assert_eq!(
            v["spec"]["csi"],
            serde_json::json!({"driver": LUSTRE_DRIVER, "volumeHandle": "hpccache-mylustre-team-a",
                               "volumeAttributes": {"mgs-ip-address": "10.0.1.4", "fs-name": "lustrefs", "sub-dir": "team-a"}})
        );
        assert_eq!(
            v["spec"]["mountOptions"],
            serde_json::json!(["noatime", "flock"])
        );
        assert_eq!(v["spec"]["capacity"]["storage"], "16Ti");
        assert_eq!(v["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        let c = serde_json::to_value(&p.claim).unwrap();
        assert_eq!(c["spec"]["storageClassName"], "");
        assert_eq!(c["spec"]["volumeName"], "hpccache-mylustre-team-a");
        assert_eq!(s.source.path(), "/lustrefs/team-a");
        assert_eq!(s.source.server(), "10.0.1.4");
        // Handles differ per namespace, and stay the same on a re-run.
        assert_ne!(
            pair(&s, "a", true)
                .pv
                .spec
                .unwrap()
                .csi
                .unwrap()
                .volume_handle,
            pair(&s, "b", true)
                .pv
                .spec
                .unwrap()
                .csi
                .unwrap()
                .volume_handle
        );
        assert_eq!(pair(&s, "team-a", false), p);
        assert_eq!(lustre_sub_dir(Some("/")), None);
    }

    #[test]
    fn sub_path_joins_with_one_slash() {
        assert_eq!(
            join_path("/myfilepath", Some("team-a/")),
            "/myfilepath/team-a"
        );
        assert_eq!(join_path("/", Some("x")), "/x");
        assert_eq!(join_path("/p", None), "/p");
    }
}
