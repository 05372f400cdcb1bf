//! The cache subnet, placed by `spec::cidr::plan` clear of every subnet, the service CIDR and
//! the pod CIDR. A subnet of the requested name that already exists (this tool's from an earlier
//! run, or the user's) is used as it is: re-planning it would overlap itself.

use ipnet::Ipv4Net;

use super::super::context::Ctx;
use super::super::executor::Done;
use super::super::plan::{PlanItem, Step};
use super::{cluster_info, created_before, keys, record, record_planned, succeeded};
use crate::azure::lro::{self, Until};
use crate::azure::{ResourceId, network};
use crate::spec::cidr::{self, SubnetPrefix};
use crate::{Error, InvalidInput, Result};

type Space = (Vec<Ipv4Net>, Vec<(String, Ipv4Net)>);

/// The vnet's address spaces and the prefixes its subnets hold.
pub(in crate::deploy) fn free_space(vnet: &network::VirtualNetwork) -> Space {
    let spaces = vnet
        .properties
        .address_space
        .address_prefixes
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    let taken = vnet
        .properties
        .subnets
        .iter()
        .flat_map(|s| {
            s.prefixes()
                .into_iter()
                .filter_map(|p| p.parse().ok())
                .map(|n| (s.name.clone(), n))
                .collect::<Vec<_>>()
        })
        .collect();
    (spaces, taken)
}

pub async fn run(ctx: &Ctx) -> Result<Done> {
    run_sized(ctx, ctx.spec.subnet_size).await
}

/// The subnet step with a new subnet of prefix length `size` (an existing one is kept as it is).
pub(super) async fn run_sized(ctx: &Ctx, size: u8) -> Result<Done> {
    let cluster = cluster_info(ctx)?;
    let vnet_id = cluster.vnet_id.clone().ok_or_else(|| Error::Lookup {
        what: format!("the vnet of cluster {}", cluster.name),
        reason: "the state file does not record it; run `up` again".to_owned(),
    })?;
    let vnet_rid = ResourceId::parse(&vnet_id)?;
    // Read by the preflight a moment ago, before anything was written.
    let vnet = &ctx.preflight.vnet;
    let name = &ctx.spec.subnet_name;
    if let Some(existing) = vnet
        .properties
        .subnets
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
    {
        let prefixes = existing.prefixes();
        if let SubnetPrefix::Cidr(want) = ctx.spec.subnet_prefix
            && !prefixes
                .iter()
                .any(|p| p.parse::<Ipv4Net>().ok() == Some(want))
        {
            return Err(InvalidInput::new(
                cidr::PREFIX_FLAG,
                format!(
                    "subnet {name} already exists in vnet {} with prefix {}, not {want}",
                    vnet.name,
                    prefixes.join(", ")
                ),
            )
            .hint("Pass --subnet-prefix auto to use it as it is, or another --subnet-name")
            .into());
        }
        let created = created_before(ctx, keys::SUBNET, &existing.id);
        ctx.note(PlanItem::new(
            Step::Subnet,
            "none",
            &existing.id,
            format!("exists with prefix {}", prefixes.join(", ")),
        ));
        if !ctx.dry_run() && !succeeded(existing.properties.provisioning_state.as_deref()) {
            lro::wait_for_resource(
                &ctx.client,
                &existing.id,
                network::API_VERSION,
                Until::Succeeded,
                &ctx.waits.other,
                &ctx.progress.for_step(Step::Subnet.name()),
            )
            .await?;
        }
        record(ctx, keys::SUBNET, &existing.id, created)?;
        return Ok(Done::Finished);
    }

    let (spaces, taken) = free_space(vnet);
    let parse = |c: &Option<String>| c.as_deref().and_then(|c| c.parse::<Ipv4Net>().ok());
    let prefix = cidr::plan(
        ctx.spec.subnet_prefix,
        size,
        &spaces,
        &taken,
        parse(&cluster.service_cidr),
        parse(&cluster.pod_cidr),
    )?;
    let id = vnet_rid.child("subnets", name);
    ctx.note(PlanItem::new(
        Step::Subnet,
        "create",
        id.as_str(),
        format!(
            "no subnet {name} in vnet {}; {prefix} is free ({} usable addresses)",
            vnet.name,
            cidr::usable_addresses(prefix.prefix_len())
        ),
    ));
    if ctx.dry_run() {
        record_planned(ctx, keys::SUBNET, id.as_str())?;
        return Ok(Done::Finished);
    }
    record(ctx, keys::SUBNET, id.as_str(), true)?;
    network::create_subnet(
        &ctx.client,
        &id,
        &prefix.to_string(),
        &ctx.waits.other,
        &ctx.progress.for_step(Step::Subnet.name()),
    )
    .await?;
    Ok(Done::Finished)
}
