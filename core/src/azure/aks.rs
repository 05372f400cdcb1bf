//! AKS managed clusters (Microsoft.ContainerService, api-version 2026-08-01): what the tools read
//! of a cluster, its user kubeconfig, and which vnet its nodes live in.

use base64::Engine;
use serde::Deserialize;

use super::client::{ArmClient, ArmRequest};
use super::ids::ResourceId;
use super::network::{self, VirtualNetwork};
use super::transport::Method;
use crate::{Error, Result};

pub const API_VERSION: &str = "2026-08-01";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedCluster {
    pub id: String,
    pub name: String,
    pub location: String,
    #[serde(default)]
    pub properties: ClusterProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterProperties {
    pub node_resource_group: Option<String>,
    pub provisioning_state: Option<String>,
    pub network_profile: Option<NetworkProfile>,
    #[serde(default)]
    pub agent_pool_profiles: Vec<AgentPoolProfile>,
    pub node_resource_group_profile: Option<NodeResourceGroupProfile>,
}

/// Node resource group lockdown: `ReadOnly` denies every write in it to all but AKS.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeResourceGroupProfile {
    pub restriction_level: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkProfile {
    pub network_plugin: Option<String>,
    pub network_plugin_mode: Option<String>,
    pub service_cidr: Option<String>,
    pub pod_cidr: Option<String>,
    #[serde(default)]
    pub service_cidrs: Vec<String>,
    #[serde(default)]
    pub pod_cidrs: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AgentPoolProfile {
    pub name: String,
    #[serde(rename = "vnetSubnetID")]
    pub vnet_subnet_id: Option<String>,
    #[serde(rename = "podSubnetID")]
    pub pod_subnet_id: Option<String>,
}

impl ManagedCluster {
    /// Whether the node resource group is locked down (`restrictionLevel: ReadOnly`).
    pub fn node_resource_group_read_only(&self) -> bool {
        self.properties
            .node_resource_group_profile
            .as_ref()
            .and_then(|p| p.restriction_level.as_deref())
            .is_some_and(|l| l.eq_ignore_ascii_case("ReadOnly"))
    }

    /// Service CIDRs (dual-stack clusters have several); empty when the profile has none.
    pub fn service_cidrs(&self) -> Vec<String> {
        let Some(n) = &self.properties.network_profile else {
            return Vec::new();
        };
        let mut v = n.service_cidrs.clone();
        v.extend(
            n.service_cidr
                .iter()
                .filter(|c| !n.service_cidrs.contains(c))
                .cloned(),
        );
        v
    }

    /// Pod CIDRs (overlay and kubenet); empty for plain Azure CNI, whose pods use the vnet.
    pub fn pod_cidrs(&self) -> Vec<String> {
        let Some(n) = &self.properties.network_profile else {
            return Vec::new();
        };
        let mut v = n.pod_cidrs.clone();
        v.extend(
            n.pod_cidr
                .iter()
                .filter(|c| !n.pod_cidrs.contains(c))
                .cloned(),
        );
        v
    }
}

pub fn cluster_id(sub: &str, rg: &str, name: &str) -> ResourceId {
    ResourceId::resource(
        sub,
        rg,
        "Microsoft.ContainerService",
        "managedClusters",
        name,
    )
}

pub async fn get_cluster(client: &ArmClient, cluster: &ResourceId) -> Result<ManagedCluster> {
    client.get_json(cluster.as_str(), API_VERSION).await
}

/// The cluster-user kubeconfig, decoded. It holds credentials: callers must not log or store it.
pub async fn list_cluster_user_credential(
    client: &ArmClient,
    cluster: &ResourceId,
) -> Result<Vec<u8>> {
    #[derive(Deserialize)]
    struct Results {
        #[serde(default)]
        kubeconfigs: Vec<Kubeconfig>,
    }
    #[derive(Deserialize)]
    struct Kubeconfig {
        value: String,
    }
    // A read-only action: sending it twice does no harm.
    let req = ArmRequest::new(Method::Post, format!("{cluster}/listClusterUserCredential"))
        .api_version(API_VERSION)
        .retry_non_idempotent();
    let resp = client.send(req).await?;
    let results: Results = resp.json()?;
    let first = results
        .kubeconfigs
        .into_iter()
        .next()
        .ok_or_else(|| resp.unexpected("no kubeconfig in the answer"))?;
    base64::engine::general_purpose::STANDARD
        .decode(first.value.trim())
        .map_err(|e| resp.unexpected(format!("the kubeconfig is not base64: {e}")))
}

/// The vnet the cluster's nodes are in: the one holding the agent pools' `vnetSubnetID` (bring
/// your own vnet), else the single vnet AKS made in the node resource group.
pub async fn find_vnet(client: &ArmClient, cluster: &ManagedCluster) -> Result<VirtualNetwork> {
    let mut vnets: Vec<ResourceId> = Vec::new();
    for pool in &cluster.properties.agent_pool_profiles {
        let Some(subnet) = pool.vnet_subnet_id.as_deref().filter(|s| !s.is_empty()) else {
            continue;
        };
        let vnet = ResourceId::parse(subnet)?
            .parent()
            .ok_or_else(|| Error::Lookup {
                what: format!("the vnet of cluster {}", cluster.name),
                reason: format!(
                    "agent pool {} has vnetSubnetID '{subnet}', which is not a subnet id",
                    pool.name
                ),
            })?;
        if !vnets.contains(&vnet) {
            vnets.push(vnet);
        }
    }
    match vnets.as_slice() {
        [one] => return network::get_vnet(client, one).await,
        [] => {}
        many => {
            return Err(Error::Lookup {
                what: format!("the vnet of cluster {}", cluster.name),
                reason: format!(
                    "its agent pools use subnets in {} vnets ({}); pass the vnet to use explicitly",
                    many.len(),
                    many.iter()
                        .map(|v| v.name().to_owned())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    let node_rg = cluster
        .properties
        .node_resource_group
        .as_deref()
        .ok_or_else(|| Error::Lookup {
            what: format!("the vnet of cluster {}", cluster.name),
            reason: "the cluster reports no node resource group and no agent pool subnet"
                .to_owned(),
        })?;
    let sub = ResourceId::parse(&cluster.id)?.subscription_id().to_owned();
    let mut found = network::list_vnets(client, &sub, Some(node_rg)).await?;
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::Lookup {
            what: format!("the vnet of cluster {}", cluster.name),
            reason: format!(
                "node resource group {node_rg} holds no virtual network and no agent pool names a subnet"
            ),
        }),
        n => Err(Error::Lookup {
            what: format!("the vnet of cluster {}", cluster.name),
            reason: format!(
                "node resource group {node_rg} holds {n} virtual networks ({}); pass the vnet to use explicitly",
                found
                    .iter()
                    .map(|v| v.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}
