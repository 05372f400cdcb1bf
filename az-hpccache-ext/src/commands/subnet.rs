//! `subnet create`: the cache subnet in the cluster's vnet, on a prefix that overlaps nothing.

use clap::Subcommand;
use hpccache_core::InvalidInput;
use hpccache_core::azure::{ResourceId, network};
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
    let vnet_id = ResourceId::parse(&net.vnet.id)?;
    let subnets = network::list_subnets(&session.arm, &vnet_id).await?;
    let parse = |p: &str| p.parse::<Ipv4Net>().ok();
    let spaces: Vec<Ipv4Net> = net
        .vnet
        .properties
        .address_space
        .address_prefixes
        .iter()
        .filter_map(|p| parse(p))
        .collect();
    let others: Vec<(String, Ipv4Net)> = subnets
        .iter()
        .filter(|s| !s.name.eq_ignore_ascii_case(name))
        .flat_map(|s| {
            s.prefixes()
                .into_iter()
                .filter_map(move |p| parse(&p).map(|n| (s.name.clone(), n)))
        })
        .collect();
    let service = net.service_cidr().and_then(|c| parse(&c));
    let pod = net.pod_cidr().and_then(|c| parse(&c));
    if let Some(existing) = subnets.iter().find(|s| s.name.eq_ignore_ascii_case(name)) {
        // Re-running is a no-op when the subnet is what was asked for.
        let current: Vec<Ipv4Net> = existing
            .prefixes()
            .iter()
            .filter_map(|p| parse(p))
            .collect();
        let fits = match prefix {
            cidr::SubnetPrefix::Auto => current.iter().any(|n| {
                n.prefix_len() <= size
                    && cidr::plan(
                        cidr::SubnetPrefix::Cidr(*n),
                        size,
                        &spaces,
                        &others,
                        service,
                        pod,
                    )
                    .is_ok()
            }),
            cidr::SubnetPrefix::Cidr(want) => current.contains(&want.trunc()),
        };
        if fits {
            return Ok(shape::flat(existing));
        }
        return Err(InvalidInput::new(
            "--name",
            format!(
                "subnet {name} already exists in {} with prefix {}, which does not fit --subnet-prefix {prefix}",
                net.vnet.name,
                existing.prefixes().join(", ")
            ),
        )
        .hint("Pass another --name, or --subnet-prefix equal to the existing prefix")
        .into());
    }
    let chosen = cidr::plan(prefix, size, &spaces, &others, service, pod)?;
    let subnet_id = vnet_id.child("subnets", name);
    let body = network::create_subnet(
        &session.arm,
        &subnet_id,
        &chosen.to_string(),
        &session.poll_policy(Wait::Resource),
        &session.progress,
    )
    .await?;
    match body {
        Some(v) => Ok(shape::flatten(v)),
        None => Ok(shape::flat(
            &network::get_subnet(&session.arm, &subnet_id)
                .await?
                .ok_or_else(|| {
                    CliError::Runtime(format!("subnet {subnet_id} vanished after creation"))
                })?,
        )),
    }
}
