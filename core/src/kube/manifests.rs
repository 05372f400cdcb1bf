//! The PersistentVolume and claim for one namespace, and their default names.
//!
//! The PV carries a `claimRef` and the claim a `volumeName` with `storageClassName: ""`:
//! each names the other, so neither can bind to anything else — the guide's claim (no
//! `volumeName`) can bind to any free PV of the right size.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    NFSVolumeSource, ObjectReference, PersistentVolume, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PersistentVolumeSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{LABEL_DEPLOYMENT, LABEL_MANAGED_BY, LABEL_NAMESPACE, MANAGED_BY};

/// Longest object name (an RFC 1123 subdomain).
const NAME_MAX: usize = 253;
/// Longest label value.
const LABEL_VALUE_MAX: usize = 63;

/// What every PV/claim pair of one `mount` shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    /// The deployment (state file) name; names and labels derive from it.
    pub deployment: String,
    /// The NFS server: the cache's DNS name (or an address given with `--server`).
    pub server: String,
    /// The exported path: the namespace path, plus `--sub-path` when given.
    pub path: String,
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
            nfs: Some(NFSVolumeSource {
                server: spec.server.clone(),
                path: spec.path.clone(),
                read_only: None,
            }),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> VolumeSpec {
        VolumeSpec {
            deployment: "MyHpcCache".into(),
            server: "server.myhpccache.local".into(),
            path: "/myfilepath".into(),
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
    fn sub_path_joins_with_one_slash() {
        assert_eq!(
            join_path("/myfilepath", Some("team-a/")),
            "/myfilepath/team-a"
        );
        assert_eq!(join_path("/", Some("x")), "/x");
        assert_eq!(join_path("/p", None), "/p");
    }
}
