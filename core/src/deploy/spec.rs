//! What the user asked `up` for: raw flag values in, a validated [`UpSpec`] out, before any
//! network call. A bad value is an [`InvalidInput`] naming the flag.

use std::collections::BTreeMap;

use super::amlfs::{AmlfsArgs, AmlfsSpec};
use super::plan::Step;
use super::steps::keys;
use crate::spec::cidr::{self, SubnetPrefix};
use crate::spec::nfs::Owner;
use crate::spec::{names, nfs, sku, tags};
use crate::state::{Backend, State};
use crate::{InvalidInput, Result};

/// The tag every resource `up` creates carries, so a resource can be traced to its deployment.
pub const DEPLOYMENT_TAG: &str = "hpccache-deployment";

/// The flag that names the group of the cache, storage account and DNS zone.
pub const CACHE_GROUP_FLAG: &str = "--cache-resource-group";

/// The flag that gives the HPC Cache resource provider's object id.
pub const PROVIDER_PRINCIPAL_FLAG: &str = "--provider-principal-id";

/// `up`'s flags as typed (strings), with the documented defaults.
#[derive(Debug, Clone)]
pub struct UpArgs {
    pub resource_group: String,
    pub cluster: String,
    /// `-n`: the deployment's name, also the cache's name.
    pub name: String,
    pub cache_size_gb: String,
    pub sku_name: String,
    /// `None`: the deployment's recorded one, else [`default_subnet_name`].
    pub subnet_name: Option<String>,
    pub subnet_prefix: String,
    pub subnet_size: String,
    pub storage_account: Option<String>,
    pub container_name: String,
    pub storage_target: String,
    pub virtual_namespace_path: String,
    /// `None`: the deployment's recorded zone, else [`default_dns_zone`].
    pub dns_zone: Option<String>,
    pub dns_name: String,
    /// `--root-squash` (`Some(true)`), `--no-root-squash` (`Some(false)`), or neither.
    pub root_squash: Option<bool>,
    /// `--owner UID:GID`.
    pub owner: Option<String>,
    pub dns_registration: bool,
    pub tags: Vec<String>,
    /// `Some`: a Managed Lustre deployment (`--backend amlfs`) with these flags.
    pub amlfs: Option<AmlfsArgs>,
    /// `--provider-principal-id`: the HPC Cache resource provider's object id, so that no
    /// Microsoft Graph lookup is needed.
    pub provider_principal_id: Option<String>,
    /// `--cache-resource-group`: where the cache, storage account and DNS zone go.
    pub cache_resource_group: Option<String>,
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
            subnet_name: None,
            subnet_prefix: "auto".to_owned(),
            subnet_size: "/24".to_owned(),
            storage_account: None,
            container_name: "mystoragecontainer".to_owned(),
            storage_target: "MyStorageTarget".to_owned(),
            virtual_namespace_path: "/myfilepath".to_owned(),
            dns_zone: None,
            dns_name: "server".to_owned(),
            root_squash: None,
            owner: None,
            dns_registration: false,
            tags: Vec::new(),
            amlfs: None,
            provider_principal_id: None,
            cache_resource_group: None,
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
    /// The HPC Cache resource provider's object id when given (no Graph lookup then).
    pub provider_principal_id: Option<String>,
    /// The group for the cache, storage account and DNS zone when given; else the one the
    /// deployment records, else the cluster's own group.
    pub cache_resource_group: Option<String>,
    /// Which values are defaults derived from the deployment rather than given: an existing
    /// deployment keeps what its state file records for those ([`UpSpec::keep_recorded`]).
    pub derived: Derived,
    /// `Some`: a Managed Lustre deployment; the cache, storage target and DNS values are then
    /// unused.
    pub amlfs: Option<AmlfsSpec>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Derived {
    pub subnet_name: bool,
    pub dns_zone: bool,
}

impl UpSpec {
    /// The steps of this deployment's plan, each listed after its needs: every step for an
    /// HPC Cache, a Managed Lustre filesystem's own (storage and roles only with blob
    /// integration).
    pub fn steps(&self) -> &'static [Step] {
        match &self.amlfs {
            Some(a) => super::amlfs::steps(a.hsm.is_some()),
            None => &Step::ALL,
        }
    }

    pub fn from_args(a: &UpArgs) -> Result<Self, InvalidInput> {
        let sku = sku::sku("--sku-name", &a.sku_name)?;
        let size = sku::cache_size_gb("--cache-size-gb", sku, &a.cache_size_gb)?;
        let deployment = names::cache("--name", &a.name)?;
        let amlfs = a.amlfs.as_ref().map(AmlfsSpec::from_args).transpose()?;
        if amlfs.is_some() {
            super::amlfs::check_name(&deployment)?;
        }
        let mut tags: BTreeMap<String, String> = tags::parse("--tags", &a.tags)?
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
            .collect();
        tags.insert(DEPLOYMENT_TAG.to_owned(), deployment.clone());
        let derived = Derived {
            subnet_name: a.subnet_name.is_none(),
            dns_zone: a.dns_zone.is_none(),
        };
        Ok(Self {
            resource_group: names::resource_group("--resource-group", &a.resource_group)?,
            cluster: names::aks_cluster("--cluster", &a.cluster)?,
            cache_size_gb: u64::from(size),
            sku: sku.name().to_owned(),
            subnet_name: match &a.subnet_name {
                Some(s) => names::subnet("--subnet-name", s)?,
                None => default_subnet_name(&deployment),
            },
            subnet_prefix: cidr::subnet_prefix(cidr::PREFIX_FLAG, &a.subnet_prefix)?,
            subnet_size: cidr::subnet_size(cidr::SIZE_FLAG, &a.subnet_size)?,
            storage_account: a
                .storage_account
                .as_deref()
                .map(|s| names::storage_account("--storage-account", s))
                .transpose()?,
            container: match amlfs.as_ref().and_then(|f| f.hsm.as_ref()) {
                Some(h) => h.container.clone(),
                None => names::blob_container("--container-name", &a.container_name)?,
            },
            storage_target: names::storage_target("--storage-target", &a.storage_target)?,
            namespace_path: nfs::namespace_path(
                "--virtual-namespace-path",
                &a.virtual_namespace_path,
            )?,
            dns_zone: match &a.dns_zone {
                Some(z) => names::private_dns_zone("--dns-zone", z)?,
                None => default_dns_zone(&deployment),
            },
            dns_name: names::dns_record_set("--dns-name", &a.dns_name)?,
            root_squash: a.root_squash,
            owner: a
                .owner
                .as_deref()
                .map(|o| nfs::owner("--owner", o))
                .transpose()?,
            dns_registration: a.dns_registration,
            tags,
            cache_resource_group: a
                .cache_resource_group
                .as_deref()
                .map(|g| names::resource_group(CACHE_GROUP_FLAG, g))
                .transpose()?,
            provider_principal_id: a
                .provider_principal_id
                .as_deref()
                .map(|p| names::object_id(PROVIDER_PRINCIPAL_FLAG, p))
                .transpose()?,
            derived,
            deployment,
            amlfs,
        })
    }

    /// The Azure service this request is for.
    pub fn backend(&self) -> Backend {
        if self.amlfs.is_some() {
            Backend::Amlfs
        } else {
            Backend::Hpccache
        }
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

    /// For values left to their default, what an existing deployment's state file records
    /// wins over today's default: a deployment made when the defaults were the guide's
    /// (`MyHpcCacheSubnet`, `myhpccache.local`) keeps its subnet and zone instead of getting
    /// new ones beside them.
    pub fn keep_recorded(&mut self, state: &State) {
        if self.derived.subnet_name
            && let Some(s) = &state.settings
        {
            self.subnet_name = s.subnet_name.clone();
        }
        if self.derived.dns_zone {
            let zone = state
                .resources
                .get(keys::DNS_ZONE)
                .and_then(|r| r.id.rsplit('/').next().map(str::to_owned))
                .or_else(|| state.dns.as_ref().map(|d| d.zone.clone()));
            if let Some(z) = zone {
                self.dns_zone = z.to_ascii_lowercase();
            }
        }
    }
}

/// The cache subnet's name when none is given: `<deployment>Subnet` (the guide's
/// `MyHpcCacheSubnet` for its `MyHpcCache`), so deployments on one cluster each get the
/// dedicated subnet a cache needs. Leading `-`/`_` go (a subnet name starts with a letter or
/// digit) and the stem is cut to fit 80 characters.
pub fn default_subnet_name(deployment: &str) -> String {
    let stem: String = deployment
        .trim_start_matches(['-', '_'])
        .chars()
        .take(80 - SUBNET_SUFFIX.len())
        .collect();
    if stem.is_empty() {
        format!("HpcCache{SUBNET_SUFFIX}")
    } else {
        format!("{stem}{SUBNET_SUFFIX}")
    }
}

const SUBNET_SUFFIX: &str = "Subnet";

/// The parent of every default zone. `.internal` is reserved for private use (ICANN, 2024):
/// unlike `.local`, which systemd-resolved on the nodes sends to mDNS rather than to the
/// vnet's DNS, it resolves through the private zone like any other name.
pub const DEFAULT_ZONE_PARENT: &str = "hpccache.internal";

/// The private DNS zone when none is given: `<deployment>.hpccache.internal`, one zone per
/// deployment, so two deployments never share (or delete) each other's records. The
/// deployment becomes one DNS label: lower-cased, `_` as `-`, no hyphen at either end, at most
/// 63 characters. Names that differ only in case or `_`/`-` map to the same zone; `up` then
/// refuses the second one by the records' ownership tag.
pub fn default_dns_zone(deployment: &str) -> String {
    let mapped: String = deployment
        .chars()
        .map(|c| match c {
            '_' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    let label: String = mapped.trim_matches('-').chars().take(63).collect();
    let label = label.trim_end_matches('-');
    if label.is_empty() {
        format!("hpccache.{DEFAULT_ZONE_PARENT}")
    } else {
        format!("{label}.{DEFAULT_ZONE_PARENT}")
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
        assert_eq!(s.fqdn(), "server.myhpccache.hpccache.internal");
        assert_eq!(s.subnet_name, "MyHpcCacheSubnet", "the guide's name");
    }

    #[test]
    fn an_existing_deployment_keeps_its_recorded_subnet_and_zone() {
        let mut s = UpSpec::from_args(&UpArgs::new("rg", "c", "MyHpcCache")).expect("valid");
        let mut st = State::new("MyHpcCache", "AzureCloud", "sub");
        st.resources.insert(
            keys::DNS_ZONE.into(),
            crate::state::Resource {
                id: "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/MyHpcCache.local".into(),
                created: true,
                tagged: false,
            },
        );
        st.settings = Some(crate::state::Settings {
            resource_group: "rg".into(),
            storage_account: "a".into(),
            container: "c".into(),
            storage_target: "t".into(),
            subnet_name: "OldSubnet".into(),
            dns_registration: false,
        });
        s.keep_recorded(&st);
        assert_eq!(
            (s.subnet_name.as_str(), s.dns_zone.as_str()),
            ("OldSubnet", "myhpccache.local")
        );
        // Given values win over the record.
        let mut a = UpArgs::new("rg", "c", "MyHpcCache");
        a.dns_zone = Some("given.example".into());
        a.subnet_name = Some("GivenSubnet".into());
        let mut s = UpSpec::from_args(&a).expect("valid");
        s.keep_recorded(&st);
        assert_eq!(
            (s.subnet_name.as_str(), s.dns_zone.as_str()),
            ("GivenSubnet", "given.example")
        );
    }

    proptest::proptest! {
        #[test]
        fn every_valid_deployment_name_derives_a_valid_zone_and_subnet(
            name in "[-0-9a-zA-Z_]{1,80}"
        ) {
            proptest::prop_assert!(names::deployment("--name", &name).is_ok());
            let zone = default_dns_zone(&name);
            proptest::prop_assert_eq!(names::private_dns_zone("--dns-zone", &zone), Ok(zone.clone()));
            proptest::prop_assert!(zone.ends_with(".hpccache.internal"), "{}", zone);
            let subnet = default_subnet_name(&name);
            proptest::prop_assert_eq!(names::subnet("--subnet-name", &subnet), Ok(subnet.clone()));
        }
    }

    #[test]
    fn derived_names_read_as_the_deployment() {
        assert_eq!(
            default_dns_zone("My_Hpc-Cache"),
            "my-hpc-cache.hpccache.internal"
        );
        assert_eq!(default_dns_zone("_-_"), "hpccache.hpccache.internal");
        assert_eq!(default_subnet_name("-x"), "xSubnet");
        assert_eq!(default_subnet_name("__"), "HpcCacheSubnet");
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
