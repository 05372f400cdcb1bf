//! `aks show-network`: what the cache needs to know about the cluster's network.

use clap::Subcommand;
use hpccache_core::azure::network::VirtualNetwork;
use hpccache_core::azure::{ResourceId, aks};
use hpccache_core::spec::names;
use serde_json::{Value, json};

use super::print;
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::Session;

#[derive(Debug, Subcommand)]
pub enum AksCommand {
    /// Show the cluster's network: node resource group, vnet, subnets, service and pod CIDRs.
    #[command(after_help = "\
Examples:
  Show the network of the guide's cluster:
    az-hpccache-ext aks show-network -g myResourceGroup -n myAKSCluster

  Print only the vnet id:
    az-hpccache-ext aks show-network -g myResourceGroup -n myAKSCluster --query vnet.id -o tsv")]
    ShowNetwork {
        /// Name of resource group. You can configure the default group using `az configure --defaults group=<name>`.
        #[arg(
            short = 'g',
            long,
            env = "AZURE_DEFAULTS_GROUP",
            hide_env_values = true
        )]
        resource_group: String,
        /// Name of the managed cluster.
        #[arg(short = 'n', long)]
        name: String,
    },
}

/// The cluster and the vnet its nodes are in.
#[derive(Debug)]
pub struct ClusterNetwork {
    pub cluster: aks::ManagedCluster,
    pub vnet: VirtualNetwork,
}

impl ClusterNetwork {
    /// Pod CIDR only matters for overlay/kubenet clusters, whose pods take no vnet addresses;
    /// that is exactly when AKS reports one.
    pub fn pod_cidr(&self) -> Option<String> {
        self.cluster.pod_cidrs().into_iter().next()
    }

    pub fn service_cidr(&self) -> Option<String> {
        self.cluster.service_cidrs().into_iter().next()
    }

    pub fn to_json(&self) -> Value {
        let p = &self.cluster.properties;
        let np = p.network_profile.as_ref();
        json!({
            "cluster": self.cluster.id,
            "location": self.cluster.location,
            "nodeResourceGroup": p.node_resource_group,
            "networkPlugin": np.and_then(|n| n.network_plugin.clone()),
            "networkPluginMode": np.and_then(|n| n.network_plugin_mode.clone()),
            "serviceCidr": self.service_cidr(),
            "podCidr": self.pod_cidr(),
            "vnet": {
                "id": self.vnet.id,
                "name": self.vnet.name,
                "resourceGroup": ResourceId::parse(&self.vnet.id).ok().and_then(|i| i.resource_group_name().map(str::to_owned)),
                "addressSpace": self.vnet.properties.address_space.address_prefixes,
            },
            "subnets": self.vnet.properties.subnets.iter().map(|s| json!({
                "id": s.id,
                "name": s.name,
                "addressPrefixes": s.prefixes(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// Reads the cluster and finds its vnet (the agent pools' subnet for bring-your-own vnet, else
/// the one AKS made in the node resource group).
pub async fn cluster_network(
    session: &Session,
    resource_group: &str,
    cluster: &str,
) -> Result<ClusterNetwork, CliError> {
    let id = aks::cluster_id(&session.subscription_id, resource_group, cluster);
    let cluster = aks::get_cluster(&session.arm, &id).await?;
    let vnet = aks::find_vnet(&session.arm, &cluster).await?;
    Ok(ClusterNetwork { cluster, vnet })
}

pub fn run(cli: &Cli, cmd: &AksCommand) -> Result<(), CliError> {
    match cmd {
        AksCommand::ShowNetwork {
            resource_group,
            name,
        } => {
            let rg = names::resource_group("--resource-group", resource_group)?;
            let name = names::aks_cluster("--name", name)?;
            let session = Session::open(cli)?;
            let result = session.run(async {
                cluster_network(&session, &rg, &name)
                    .await
                    .map_err(not_found_3)
            });
            session.close()?;
            print(cli, &result?.to_json())
        }
    }
}

/// A missing cluster is "not found" for a show command (exit 3).
fn not_found_3(e: CliError) -> CliError {
    match e {
        CliError::Core(c) => CliError::not_found_is_3(c),
        other => other,
    }
}
