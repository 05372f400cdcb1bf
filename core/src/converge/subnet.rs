//! The cache subnet: the wanted subnet in → read the vnet → compare → create → wait →
//! [`super::Converged`]. `up`'s subnet step and `subnet create` call [`converge_found`] /
//! [`converge`].
//!
//! - A new subnet is placed by [`cidr::plan`] clear of every other subnet, the service CIDR and
//!   the pod CIDR (`--subnet-prefix auto` picks the lowest free prefix of `--subnet-size`).
//! - An existing subnet of the wanted name is used as it is when it fits: with a CIDR asked,
//!   it must hold exactly that prefix; with `auto`, one of its prefixes must be at least
//!   `--subnet-size` and overlap neither the service nor the pod CIDR (a cache there would be
//!   unreachable from pods). Otherwise it is bad input naming `--subnet-prefix`, never a PUT
//!   that would re-address it.
//! - An existing subnet still being created or updated is waited for.

use ipnet::Ipv4Net;

use crate::azure::{ArmClient, ResourceId, network};
use crate::spec::cidr::{self, SubnetPrefix};
use crate::{InvalidInput, Result};

/// The subnet wanted.
#[derive(Debug, Clone)]
pub struct Want {
    /// The vnet that holds it.
    pub vnet: ResourceId,
    pub name: String,
    pub prefix: SubnetPrefix,
    /// The prefix length of an automatic prefix.
    pub size: u8,
    pub service_cidr: Option<Ipv4Net>,
    /// Only for overlay and kubenet clusters, whose pods take no vnet addresses.
    pub pod_cidr: Option<Ipv4Net>,
    /// How the caller spells the subnet-name flag (`up`: `--subnet-name`, `subnet create`:
    /// `--name`), for hints.
    pub name_flag: &'static str,
}

impl Want {
    pub fn id(&self) -> ResourceId {
        self.vnet.child("subnets", &self.name)
    }
}

/// The vnet as read: its name, IPv4 address spaces and subnets.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub vnet_name: String,
    pub spaces: Vec<Ipv4Net>,
    pub subnets: Vec<network::Subnet>,
}

impl Found {
    /// From a vnet read with its subnets.
    pub fn of(vnet: &network::VirtualNetwork) -> Found {
        Found {
            vnet_name: vnet.name.clone(),
            spaces: vnet
                .properties
                .address_space
                .address_prefixes
                .iter()
                .filter_map(|p| p.parse().ok())
                .collect(),
            subnets: vnet.properties.subnets.clone(),
        }
    }

    /// `(name, prefix)` of every subnet but `except` (a subnet never overlaps itself).
    pub fn taken(&self, except: &str) -> Vec<(String, Ipv4Net)> {
        self.subnets
            .iter()
            .filter(|s| !s.name.eq_ignore_ascii_case(except))
            .flat_map(|s| {
                s.prefixes()
                    .into_iter()
                    .filter_map(|p| p.parse().ok())
                    .map(|n| (s.name.clone(), n))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn named(&self, name: &str) -> Option<&network::Subnet> {
        self.subnets
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }
}

/// What converging would do, from what was read.
#[derive(Debug, Clone)]
pub enum Decision {
    /// No subnet of that name: create it on this prefix.
    Create(Ipv4Net),
    /// It exists and fits; `wait` while it is not yet Succeeded.
    Keep {
        subnet: Box<network::Subnet>,
        wait: bool,
    },
}

impl Decision {
    /// The plan's verb.
    pub fn action(&self) -> &'static str {
        match self {
            Decision::Create(_) => "create",
            Decision::Keep { .. } => "none",
        }
    }
}

/// Compares the vnet as found with the wanted subnet: bad input when a subnet of that name
/// exists and does not fit, else the decision.
pub fn decide(want: &Want, found: &Found) -> Result<Decision> {
    let others = found.taken(&want.name);
    let Some(existing) = found.named(&want.name) else {
        let prefix = cidr::plan(
            want.prefix,
            want.size,
            &found.spaces,
            &others,
            want.service_cidr,
            want.pod_cidr,
        )?;
        return Ok(Decision::Create(prefix));
    };
    let current: Vec<Ipv4Net> = existing
        .prefixes()
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    let fits = match want.prefix {
        SubnetPrefix::Cidr(asked) => current.contains(&asked.trunc()),
        SubnetPrefix::Auto => current.iter().any(|n| {
            [want.service_cidr, want.pod_cidr]
                .into_iter()
                .flatten()
                .all(|c| !c.contains(&n.network()) && !n.contains(&c.network()))
        }),
    };
    if !fits {
        let why = match want.prefix {
            SubnetPrefix::Cidr(asked) => format!("not {asked}"),
            SubnetPrefix::Auto => {
                "which overlaps the cluster's service or pod CIDR (pods could not reach a cache there)"
                    .to_owned()
            }
        };
        return Err(InvalidInput::new(
            cidr::PREFIX_FLAG,
            format!(
                "subnet {} already exists in vnet {} with prefix {}, {why}",
                want.name,
                found.vnet_name,
                existing.prefixes().join(", ")
            ),
        )
        .hint(format!(
            "Pass --subnet-prefix equal to the existing prefix, or another {}",
            want.name_flag
        ))
        .into());
    }
    let wait = super::settling(existing.properties.provisioning_state.as_deref());
    Ok(Decision::Keep {
        subnet: Box::new(existing.clone()),
        wait,
    })
}

pub use super::Options;

/// The subnet as the create answered it, or as it was found.
pub type Outcome = super::Outcome<network::Subnet>;

/// The vnet's address spaces and its subnets.
pub async fn read(client: &ArmClient, vnet: &ResourceId) -> Result<Found> {
    let v = network::get_vnet(client, vnet).await?;
    let mut found = Found::of(&v);
    found.subnets = network::list_subnets(client, vnet).await?;
    Ok(found)
}

/// Brings the subnet to what is wanted.
pub async fn converge(client: &ArmClient, want: &Want, opts: Options<'_>) -> Result<Outcome> {
    let found = read(client, &want.vnet).await?;
    converge_found(client, want, &found, opts).await
}

/// [`converge`] from a vnet the caller has just read.
pub async fn converge_found(
    client: &ArmClient,
    want: &Want,
    found: &Found,
    opts: Options<'_>,
) -> Result<Outcome> {
    let id = want.id();
    match decide(want, found)? {
        Decision::Keep { subnet, wait } => {
            let subnet = super::settled(
                client,
                id.as_str(),
                network::API_VERSION,
                *subnet,
                wait,
                &opts,
            )
            .await?;
            Ok(Outcome::new(subnet.id.clone(), false, subnet))
        }
        Decision::Create(prefix) => {
            (opts.before_create)()?;
            let body = network::create_subnet(
                client,
                &id,
                &prefix.to_string(),
                opts.policy,
                opts.progress,
            )
            .await?;
            let subnet =
                match body.and_then(|v| serde_json::from_value(v).ok()) {
                    Some(s) => s,
                    None => network::get_subnet(client, &id).await?.ok_or_else(|| {
                        crate::Error::Lookup {
                            what: format!("subnet {id}"),
                            reason: "it vanished after its creation".to_owned(),
                        }
                    })?,
                };
            Ok(Outcome::new(id.to_string(), true, subnet))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn subnet(name: &str, prefix: &str, state: &str) -> network::Subnet {
        network::Subnet {
            id: format!(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/{name}"
            ),
            name: name.into(),
            properties: network::SubnetProperties {
                address_prefix: Some(prefix.into()),
                provisioning_state: Some(state.into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn found(subnets: Vec<network::Subnet>) -> Found {
        Found {
            vnet_name: "v".into(),
            spaces: vec!["10.224.0.0/12".parse().unwrap()],
            subnets,
        }
    }

    fn want(prefix: SubnetPrefix) -> Want {
        Want {
            vnet: ResourceId::parse(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v",
            )
            .unwrap(),
            name: "cache".into(),
            prefix,
            size: 24,
            service_cidr: Some("10.0.0.0/16".parse().unwrap()),
            pod_cidr: Some("10.244.0.0/16".parse().unwrap()),
            name_flag: "--name",
        }
    }

    fn flag(r: Result<Decision>) -> String {
        match r {
            Err(Error::InvalidInput(i)) => i.flag.to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_missing_subnet_is_created_on_the_lowest_free_prefix() {
        let f = found(vec![subnet("aks", "10.224.0.0/16", "Succeeded")]);
        match decide(&want(SubnetPrefix::Auto), &f).unwrap() {
            Decision::Create(p) => assert_eq!(p.to_string(), "10.225.0.0/24"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_existing_subnet_that_fits_needs_nothing_and_one_still_updating_is_waited_for() {
        let f = found(vec![subnet("cache", "10.225.0.0/24", "Succeeded")]);
        let asked = SubnetPrefix::Cidr("10.225.0.0/24".parse().unwrap());
        for w in [want(SubnetPrefix::Auto), want(asked)] {
            match decide(&w, &f).unwrap() {
                Decision::Keep { wait, .. } => assert!(!wait),
                other => panic!("{other:?}"),
            }
        }
        let f = found(vec![subnet("Cache", "10.225.0.0/24", "Updating")]);
        match decide(&want(SubnetPrefix::Auto), &f).unwrap() {
            Decision::Keep { wait, .. } => assert!(wait),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_existing_subnet_that_does_not_fit_names_the_prefix_flag() {
        let f = found(vec![subnet("cache", "10.225.0.0/24", "Succeeded")]);
        let other = SubnetPrefix::Cidr("10.226.0.0/24".parse().unwrap());
        assert_eq!(flag(decide(&want(other), &f)), "--subnet-prefix");
        // Smaller than --subnet-size is the service's to judge.
        let f = found(vec![subnet("cache", "10.225.0.0/25", "Succeeded")]);
        assert!(decide(&want(SubnetPrefix::Auto), &f).is_ok());
        // Inside the pod CIDR: unreachable from pods.
        let mut w = want(SubnetPrefix::Auto);
        w.pod_cidr = Some("10.225.0.0/16".parse().unwrap());
        let f = found(vec![subnet("cache", "10.225.0.0/24", "Succeeded")]);
        assert_eq!(flag(decide(&w, &f)), "--subnet-prefix");
    }
}
