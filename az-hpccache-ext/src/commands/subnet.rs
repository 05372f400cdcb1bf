//! `subnet create`: the cache subnet in the cluster's vnet, on a prefix that overlaps nothing.

use clap::Subcommand;
use hpccache_core::azure::{ResourceId, network};
use hpccache_core::converge::subnet::{self as converge, Found, Options, Want};
use hpccache_core::spec::{cidr, names};
use ipnet::Ipv4Net;

use super::aks::cluster_network;
use super::{print, shape};
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::{Session, Wait};

#[derive(Debug, Subcommand)]
pub enum SubnetCommand {
    /// Create the cache subnet in the cluster's vnet (idempotent).
    ///
    /// With `--subnet-prefix auto` the lowest free prefix of `--subnet-size` inside the vnet's
    /// address space is used, overlapping no subnet, the service CIDR or the pod CIDR. An
    /// existing subnet of that name with a fitting prefix is returned unchanged.
    #[command(after_help = "\
Examples:
  Create the guide's cache subnet on a free /24:
    az-hpccache-ext subnet create -g myResourceGroup --cluster myAKSCluster

  Use a prefix of your choice:
    az-hpccache-ext subnet create -g myResourceGroup --cluster myAKSCluster --subnet-prefix 10.225.0.0/24

  Print the subnet id for `cache create --subnet`:
    az-hpccache-ext subnet create -g myResourceGroup --cluster myAKSCluster --query id -o tsv")]
    Create {
        /// Resource group of the AKS cluster.
        #[arg(
            short = 'g',
            long,
            env = "AZURE_DEFAULTS_GROUP",
            hide_env_values = true
        )]
        resource_group: String,
        /// Name of the AKS cluster whose vnet gets the subnet.
        #[arg(long)]
        cluster: String,
        /// Name of the subnet.
        #[arg(short = 'n', long, default_value = "MyHpcCacheSubnet")]
        name: String,
        /// `auto` (a free prefix) or a CIDR such as 10.225.0.0/24.
        #[arg(long, default_value = "auto")]
        subnet_prefix: String,
        /// Size of an automatic prefix; the cache needs at least 64 usable addresses.
        #[arg(long, default_value = "/24")]
        subnet_size: String,
    },
}

pub fn run(cli: &Cli, cmd: &SubnetCommand) -> Result<(), CliError> {
    let SubnetCommand::Create {
        resource_group,
        cluster,
        name,
        subnet_prefix,
        subnet_size,
    } = cmd;
    let rg = names::resource_group("--resource-group", resource_group)?;
    let cluster = names::aks_cluster("--cluster", cluster)?;
    let name = names::subnet("--name", name)?;
    let prefix = cidr::subnet_prefix(cidr::PREFIX_FLAG, subnet_prefix)?;
    let size = cidr::subnet_size(cidr::SIZE_FLAG, subnet_size)?;
    let session = Session::open(cli)?;
    let result = session.run(create(&session, &rg, &cluster, &name, prefix, size));
    session.close()?;
    print(cli, &result?)
}

async fn create(
    session: &Session,
    rg: &str,
    cluster: &str,
    name: &str,
    prefix: cidr::SubnetPrefix,
    size: u8,
) -> Result<serde_json::Value, CliError> {
    let net = cluster_network(session, rg, cluster).await?;
    let parse = |c: Option<String>| c.and_then(|c| c.parse::<Ipv4Net>().ok());
    let want = Want {
        vnet: ResourceId::parse(&net.vnet.id)?,
        name: name.to_owned(),
        prefix,
        size,
        service_cidr: parse(net.service_cidr()),
        pod_cidr: parse(net.pod_cidr()),
        name_flag: "--name",
    };
    let mut found = Found::of(&net.vnet);
    found.subnets = network::list_subnets(&session.arm, &want.vnet).await?;
    let outcome = converge::converge_found(
        &session.arm,
        &want,
        &found,
        Options::new(&session.poll_policy(Wait::Resource), &session.progress),
    )
    .await?;
    Ok(shape::flat(&outcome.resource))
}
