//! What the user asked `up` for: raw flag values in, a validated [`UpSpec`] out, before any
//! network call. A bad value is an [`InvalidInput`] naming the flag.

use std::collections::BTreeMap;

use crate::spec::cidr::{self, SubnetPrefix};
use crate::spec::nfs::Owner;
use crate::spec::{names, nfs, sku, tags};
use crate::{InvalidInput, Result};

/// The tag every resource `up` creates carries, so a resource can be traced to its deployment.
pub const DEPLOYMENT_TAG: &str = "hpccache-deployment";

/// `up`'s flags as typed (strings), with the documented defaults.
#[derive(Debug, Clone)]
pub struct UpArgs {
    pub resource_group: String,
    pub cluster: String,
    /// `-n`: the deployment's name, also the cache's name.
    pub name: String,
    pub cache_size_gb: String,
    pub sku_name: String,
    pub subnet_name: String,
    pub subnet_prefix: String,
    pub subnet_size: String,
    pub storage_account: Option<String>,
    pub container_name: String,
    pub storage_target: String,
    pub virtual_namespace_path: String,
    pub dns_zone: String,
    pub dns_name: String,
    /// `--root-squash` (`Some(true)`), `--no-root-squash` (`Some(false)`), or neither.
    pub root_squash: Option<bool>,
    /// `--owner UID:GID`.
    pub owner: Option<String>,
    pub dns_registration: bool,
    pub tags: Vec<String>,
}

impl UpArgs {
    /// The guide's deployment with every default.
    pub fn new(resource_group: &str, cluster: &str, name: &str) -> Self {
        Self {
            resource_group: resource_group.to_owned(),
            cluster: cluster.to_owned(),
            name: name.to_owned(),
            cache_size_gb: "3072".to_owned(),
            sku_name: "Standard_2G".to_owned(),
            subnet_name: "MyHpcCacheSubnet".to_owned(),
            subnet_prefix: "auto".to_owned(),
            subnet_size: "/24".to_owned(),
            storage_account: None,
            container_name: "mystoragecontainer".to_owned(),
            storage_target: "MyStorageTarget".to_owned(),
            virtual_namespace_path: "/myfilepath".to_owned(),
            dns_zone: "myhpccache.local".to_owned(),
            dns_name: "server".to_owned(),
            root_squash: None,
            owner: None,
            dns_registration: false,
            tags: Vec::new(),
        }
    }
}

/// A validated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpSpec {
    pub resource_group: String,
    pub cluster: String,
    pub deployment: String,
    pub cache_size_gb: u64,
    pub sku: String,
    pub subnet_name: String,
    pub subnet_prefix: SubnetPrefix,
    pub subnet_size: u8,
    /// `None`: derive one from the deployment ([`default_storage_account`]).
    pub storage_account: Option<String>,
    pub container: String,
    pub storage_target: String,
    pub namespace_path: String,
    pub dns_zone: String,
    pub dns_name: String,
    /// Root squash as asked: `None` keeps an existing cache's setting and creates a new
    /// cache with Azure's default, off ([`UpSpec::new_cache_root_squash`]).
    pub root_squash: Option<bool>,
    /// Who gets the namespace path (`--owner`): made theirs by a one-shot job in the
    /// cluster while root squash is off (`deploy::owner`).
    pub owner: Option<Owner>,
    pub dns_registration: bool,
    /// The user's tags plus [`DEPLOYMENT_TAG`].
    pub tags: BTreeMap<String, String>,
}

impl UpSpec {
    pub fn from_args(a: &UpArgs) -> Result<Self, InvalidInput> {
        let sku = sku::sku("--sku-name", &a.sku_name)?;
        let size = sku::cache_size_gb("--cache-size-gb", sku, &a.cache_size_gb)?;
        let deployment = names::cache("--name", &a.name)?;
        let mut tags: BTreeMap<String, String> = tags::parse("--tags", &a.tags)?
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
            .collect();
        tags.insert(DEPLOYMENT_TAG.to_owned(), deployment.clone());
        Ok(Self {
            resource_group: names::resource_group("--resource-group", &a.resource_group)?,
            cluster: names::aks_cluster("--cluster", &a.cluster)?,
            cache_size_gb: u64::from(size),
            sku: sku.name().to_owned(),
            subnet_name: names::subnet("--subnet-name", &a.subnet_name)?,
            subnet_prefix: cidr::subnet_prefix(cidr::PREFIX_FLAG, &a.subnet_prefix)?,
            subnet_size: cidr::subnet_size(cidr::SIZE_FLAG, &a.subnet_size)?,
            storage_account: a
                .storage_account
                .as_deref()
                .map(|s| names::storage_account("--storage-account", s))
                .transpose()?,
            container: names::blob_container("--container-name", &a.container_name)?,
            storage_target: names::storage_target("--storage-target", &a.storage_target)?,
            namespace_path: nfs::namespace_path(
                "--virtual-namespace-path",
                &a.virtual_namespace_path,
            )?,
            dns_zone: names::private_dns_zone("--dns-zone", &a.dns_zone)?,
            dns_name: names::dns_record_set("--dns-name", &a.dns_name)?,
            root_squash: a.root_squash,
            owner: a
                .owner
                .as_deref()
                .map(|o| nfs::owner("--owner", o))
                .transpose()?,
            dns_registration: a.dns_registration,
            tags,
            deployment,
        })
    }

    pub fn fqdn(&self) -> String {
        format!("{}.{}", self.dns_name, self.dns_zone)
    }

    /// Root squash of a cache this run creates: as asked, else Azure's default (off). With
    /// `--owner` it starts off whatever was asked, so the owner job's root can chown; the
    /// owner step turns it on afterwards when asked.
    pub fn new_cache_root_squash(&self) -> bool {
        self.owner.is_none() && self.root_squash.unwrap_or(false)
    }
}

/// The storage account name `up` uses when none is given: `hpc` + up to 13 characters of the
/// deployment (lowercase letters and digits) + 8 hex digits of a hash of subscription, group
/// and deployment. Deterministic, so a re-run finds the same account; 3–24 lowercase
/// alphanumerics as Azure requires; the hash keeps two deployments of the same name in
/// different subscriptions or groups apart, since account names are global.
pub fn default_storage_account(
    subscription: &str,
    resource_group: &str,
    deployment: &str,
) -> String {
    let stem: String = deployment
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(13)
        .collect();
    let key = format!(
        "{}|{}|{}",
        subscription.to_ascii_lowercase(),
        resource_group.to_ascii_lowercase(),
        deployment
    );
    format!("hpc{stem}{:08x}", fnv1a(key.as_bytes()) as u32)
}

/// FNV-1a: stable across builds and platforms, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        let s = UpSpec::from_args(&UpArgs::new(
            "myResourceGroup",
            "myAKSCluster",
            "MyHpcCache",
        ))
        .expect("valid");
        assert_eq!(s.cache_size_gb, 3072);
        assert_eq!(s.root_squash, None, "the cache's own default");
        assert!(!s.new_cache_root_squash());
        assert_eq!(
            s.tags.get(DEPLOYMENT_TAG).map(String::as_str),
            Some("MyHpcCache")
        );
        assert_eq!(s.fqdn(), "server.myhpccache.local");
    }

    #[test]
    fn bad_size_names_the_flag() {
        let mut a = UpArgs::new("rg", "c", "MyHpcCache");
        a.cache_size_gb = "100".into();
        assert_eq!(UpSpec::from_args(&a).unwrap_err().flag, "--cache-size-gb");
    }

    #[test]
    fn default_account_is_valid_deterministic_and_scoped() {
        let a = default_storage_account("sub", "rg", "My-Hpc_Cache.With.A.Long.Name");
        assert!((3..=24).contains(&a.len()), "{a}");
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "{a}"
        );
        assert_eq!(
            a,
            default_storage_account("sub", "rg", "My-Hpc_Cache.With.A.Long.Name")
        );
        assert_ne!(
            a,
            default_storage_account("sub2", "rg", "My-Hpc_Cache.With.A.Long.Name")
        );
        assert!(names::storage_account("--storage-account", &a).is_ok());
        assert!(names::storage_account("x", &default_storage_account("s", "g", "-")).is_ok());
    }
}
