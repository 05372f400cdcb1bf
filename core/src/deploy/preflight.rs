//! What `up` reads and checks before anything is written, so a request that cannot work fails
//! with nothing changed (issue 12 items 1, 2 and 7):
//!
//! - the deployment's state file ties it to one cluster: another `--cluster` or `-g` for the
//!   same `-n` would have replaced every recorded id and orphaned the first cache;
//! - the cluster (and so its resource group) is read first: a name that does not exist used
//!   to fail only after the provider registration had been sent, concurrently;
//! - an explicit `--subnet-prefix` must fit the vnet;
//! - the subnet, A record set and vnet link `up` would write must not belong to another
//!   deployment (its tag, or another state file beside this one, says so).
//!
//! The cluster and vnet read here are handed to the steps, which do not read them again.

use ipnet::Ipv4Net;

use super::plan::Step;
use super::spec::{CACHE_GROUP_FLAG, UpSpec};
use super::steps::keys;
use crate::azure::ids::same_id;
use crate::azure::{ArmClient, aks, dns, graph, network};
use crate::spec::cidr::{self, SubnetPrefix};
use crate::state::{Neighbours, State};
use crate::{InvalidInput, Result};

/// The cluster and the vnet its nodes use, as read before the run.
#[derive(Debug, Clone)]
pub struct Preflight {
    pub cluster: aks::ManagedCluster,
    pub vnet: network::VirtualNetwork,
    /// The HPC Cache resource provider's object id: given, or looked up before any write (a
    /// Graph refusal must stop `up` before the storage account exists). `None`: Graph has
    /// none yet; the roles step asks again after the provider's registration.
    pub provider_principal: Option<String>,
    /// Where the cache, storage account and DNS zone go (see [`resources_group`]).
    pub resources_group: String,
}

/// The group for the cache, storage account and DNS zone: `--cache-resource-group`, else
/// what the deployment records (a deployment made when they went to the node resource group
/// keeps them there: nothing moves), else the cluster's own group. Not the node resource
/// group by default: AKS can lock it (`restrictionLevel: ReadOnly`), and it goes with the
/// cluster.
pub fn resources_group(spec: &UpSpec, state: &State) -> String {
    spec.cache_resource_group
        .clone()
        .or_else(|| state.settings.as_ref().map(|s| s.resource_group.clone()))
        .unwrap_or_else(|| spec.resource_group.clone())
}

/// A locked node resource group takes no write: refuse before any, naming the way out.
fn check_lockdown(
    spec: &UpSpec,
    cluster: &aks::ManagedCluster,
    vnet: &network::VirtualNetwork,
    group: &str,
) -> Result<()> {
    if !cluster.node_resource_group_read_only() {
        return Ok(());
    }
    let node_rg = cluster
        .properties
        .node_resource_group
        .as_deref()
        .unwrap_or_default();
    let what = if spec.amlfs.is_some() {
        "filesystem"
    } else {
        "cache"
    };
    if group.eq_ignore_ascii_case(node_rg) {
        return Err(InvalidInput::new(
            CACHE_GROUP_FLAG,
            format!(
                "the {what} would go to node resource group {node_rg}, which cluster {} locks (nodeResourceGroupProfile.restrictionLevel ReadOnly): Azure denies every write there",
                spec.cluster
            ),
        )
        .hint(format!(
            "Pass {CACHE_GROUP_FLAG} {} (the cluster's group) or another group you can write",
            spec.resource_group
        ))
        .into());
    }
    let subnet_exists = vnet
        .properties
        .subnets
        .iter()
        .any(|s| s.name.eq_ignore_ascii_case(&spec.subnet_name));
    let vnet_group = crate::azure::ResourceId::parse(&vnet.id)
        .ok()
        .and_then(|v| v.resource_group_name().map(str::to_owned));
    if !subnet_exists && vnet_group.is_some_and(|g| g.eq_ignore_ascii_case(node_rg)) {
        return Err(InvalidInput::new(
            "--cluster",
            format!(
                "cluster {}'s vnet {} is in its node resource group {node_rg}, which the cluster locks (restrictionLevel ReadOnly): the {what}'s subnet cannot be added to it",
                spec.cluster, vnet.name
            ),
        )
        .hint("Use a cluster on a vnet of your own (bring-your-own vnet), or create the subnet with whoever may write there and pass it with --subnet-name")
        .into());
    }
    Ok(())
}

/// An explicitly named group must exist: found now, before anything is written.
async fn check_group_exists(client: &ArmClient, spec: &UpSpec) -> Result<()> {
    let Some(group) = &spec.cache_resource_group else {
        return Ok(());
    };
    let path = format!(
        "/subscriptions/{}/resourcegroups/{group}",
        client.subscription()
    );
    if client
        .get_optional::<serde_json::Value>(&path, "2021-04-01")
        .await?
        .is_none()
    {
        return Err(InvalidInput::new(
            CACHE_GROUP_FLAG,
            format!(
                "resource group '{group}' does not exist in subscription {}",
                client.subscription()
            ),
        )
        .hint("Create it first (az group create), or leave the flag out for the cluster's group")
        .into());
    }
    Ok(())
}

/// A deployment stays on the cluster its state file records: refuse another one before any
/// request, naming the recorded cluster.
pub fn check_recorded_cluster(spec: &UpSpec, state: &State) -> Result<(), InvalidInput> {
    let Some(c) = &state.cluster else {
        return Ok(());
    };
    let same_group = c.resource_group.eq_ignore_ascii_case(&spec.resource_group);
    if same_group && c.name.eq_ignore_ascii_case(&spec.cluster) {
        return Ok(());
    }
    let (flag, asked) = if same_group {
        ("--cluster", spec.cluster.as_str())
    } else {
        ("--resource-group", spec.resource_group.as_str())
    };
    Err(InvalidInput::new(
        flag,
        format!(
            "deployment {} is recorded on cluster {} in resource group {}, not on '{asked}'; going on would leave its cache and storage behind",
            spec.deployment, c.name, c.resource_group
        ),
    )
    .hint(format!(
        "Pick another -n for a deployment on {}, or take this one down first (az-hpccache-ext down -n {})",
        spec.cluster, spec.deployment
    )))
}

/// Reads the cluster and its vnet and checks what `up` would write against them.
pub async fn run(
    client: &ArmClient,
    spec: &UpSpec,
    state: &State,
    neighbours: &Neighbours,
) -> Result<Preflight> {
    let id = aks::cluster_id(client.subscription(), &spec.resource_group, &spec.cluster);
    let cluster = aks::get_cluster(client, &id).await?;
    let vnet = aks::find_vnet(client, &cluster).await?;
    let resources_group = resources_group(spec, state);
    check_lockdown(spec, &cluster, &vnet, &resources_group)?;
    check_group_exists(client, spec).await?;
    check_subnet(spec, state, neighbours, &cluster, &vnet)?;
    // A Managed Lustre deployment has no DNS objects: clients mount the MGS address.
    if spec.amlfs.is_none() {
        check_dns(client, spec, state, neighbours, &resources_group, &vnet).await?;
    }
    // Only the roles step needs the provider's principal: asking Graph for a plan without
    // one would fail identities Graph refuses for nothing.
    let needs_roles = spec.steps().contains(&Step::Roles);
    let provider_principal = match &spec.provider_principal_id {
        Some(id) => Some(id.clone()),
        None if needs_roles => graph::provider_principal(client).await?,
        None => None,
    };
    Ok(Preflight {
        cluster,
        vnet,
        provider_principal,
        resources_group,
    })
}

fn check_subnet(
    spec: &UpSpec,
    state: &State,
    neighbours: &Neighbours,
    cluster: &aks::ManagedCluster,
    vnet: &network::VirtualNetwork,
) -> Result<()> {
    let existing = vnet
        .properties
        .subnets
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(&spec.subnet_name));
    if let Some(s) = existing {
        if let Some(other) = foreign(state, neighbours, keys::SUBNET, &s.id) {
            return Err(InvalidInput::new(
                "--subnet-name",
                format!(
                    "subnet {} is the cache subnet of deployment {other}, and a cache needs a subnet of its own",
                    s.name
                ),
            )
            .hint("Pass another --subnet-name (or leave it out: the default is one per deployment)")
            .into());
        }
        // An existing subnet is used as it is; the subnet step checks it against the prefix.
        return Ok(());
    }
    // An explicit --subnet-prefix outside the vnet or overlapping is bad input (reliability
    // suite, issue 7 item 4).
    if let SubnetPrefix::Cidr(_) = spec.subnet_prefix {
        let found = crate::converge::subnet::Found::of(vnet);
        let v4 = |c: Vec<String>| c.into_iter().find_map(|c| c.parse::<Ipv4Net>().ok());
        cidr::plan(
            spec.subnet_prefix,
            spec.subnet_size,
            &found.spaces,
            &found.taken(""),
            v4(cluster.service_cidrs()),
            v4(cluster.pod_cidrs()),
        )?;
    }
    Ok(())
}

/// Another deployment's claim on `id`: recorded in its state file. `None` when this
/// deployment's own state records it under `key` (then it is ours, or was adopted by us).
fn foreign<'a>(state: &State, neighbours: &'a Neighbours, key: &str, id: &str) -> Option<&'a str> {
    let ours = state.resources.get(key).is_some_and(|r| same_id(&r.id, id));
    if ours { None } else { neighbours.recording(id) }
}

/// The deployment a tag map names, when it is not `deployment` (the rule is
/// [`crate::converge::dns::other_owner`]'s).
fn other_owner<'a>(
    tags: &'a std::collections::BTreeMap<String, String>,
    deployment: &str,
) -> Option<&'a str> {
    crate::converge::dns::other_owner(tags, Some(deployment))
}

async fn check_dns(
    client: &ArmClient,
    spec: &UpSpec,
    state: &State,
    neighbours: &Neighbours,
    group: &str,
    vnet: &network::VirtualNetwork,
) -> Result<()> {
    let zone = dns::zone_id(client.subscription(), group, &spec.dns_zone);
    if dns::get_zone(client, &zone).await?.is_none() {
        return Ok(());
    }
    let records = dns::a_record_set_id(&zone, &spec.dns_name);
    let mut owner = foreign(state, neighbours, keys::DNS_RECORDS, records.as_str())
        .map(|d| (d.to_owned(), "its state file records it"));
    if owner.is_none()
        && !state
            .resources
            .get(keys::DNS_RECORDS)
            .is_some_and(|r| same_id(&r.id, records.as_str()))
        && let Some(r) = dns::get_a_record_set(client, &zone, &spec.dns_name).await?
        && let Some(d) = other_owner(&r.properties.metadata, &spec.deployment)
    {
        owner = Some((d.to_owned(), "its hpccache-deployment tag says so"));
    }
    if let Some((other, why)) = owner {
        return Err(taken("--dns-name", &spec.deployment, &other, why)(format!(
            "the A record set {} in zone {} belongs to deployment {other}",
            spec.dns_name, spec.dns_zone
        ))
        .into());
    }
    let link = dns::link_id(&zone, &format!("{}-link", vnet.name));
    let Some(found) = dns::get_link(client, &link).await? else {
        return Ok(());
    };
    // A link that is right as it is gets no write: sharing it is harmless.
    if found.properties.registration_enabled.unwrap_or(false) == spec.dns_registration {
        return Ok(());
    }
    let owner = foreign(state, neighbours, keys::VNET_LINK, &found.id)
        .map(|d| (d.to_owned(), "its state file records it"))
        .or_else(|| {
            other_owner(&found.tags, &spec.deployment)
                .map(|d| (d.to_owned(), "its hpccache-deployment tag says so"))
        });
    if let Some((other, why)) = owner {
        return Err(taken("--dns-registration", &spec.deployment, &other, why)(format!(
            "changing registration on vnet link {} of zone {} would change deployment {other}'s link",
            found.name, spec.dns_zone
        ))
        .into());
    }
    Ok(())
}

/// The refusal for a DNS object another deployment owns: names it, why, and the way out.
fn taken<'a>(
    flag: &'a str,
    ours: &'a str,
    other: &'a str,
    why: &'a str,
) -> impl FnOnce(String) -> InvalidInput + 'a {
    move |problem| {
        InvalidInput::new(flag, format!("{problem} ({why})")).hint(format!(
            "Pass another --dns-name or --dns-zone for {ours} (the default zone is one per deployment), or take {other} down first (az-hpccache-ext down -n {other})"
        ))
    }
}
