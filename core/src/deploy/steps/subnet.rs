//! The cache subnet, through [`crate::converge::subnet`] (placed clear of every subnet, the
//! service CIDR and the pod CIDR; an existing one of the requested name, this tool's from an
//! earlier run or the user's, is used as it is when it fits). The step adds the plan's note and
//! the state record, and reads the vnet the preflight read instead of asking again.

use ipnet::Ipv4Net;

use super::super::context::Ctx;
use super::super::executor::Done;
use super::super::plan::{PlanItem, Step};
use super::{cluster_info, created_before, keys, record, record_planned};
use crate::azure::ResourceId;
use crate::converge::subnet::{self as converge, Decision, Found, Options, Want};
use crate::spec::cidr;
use crate::{Error, Result};

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
    let parse = |c: &Option<String>| c.as_deref().and_then(|c| c.parse::<Ipv4Net>().ok());
    let want = Want {
        vnet: ResourceId::parse(&vnet_id)?,
        name: ctx.spec.subnet_name.clone(),
        prefix: ctx.spec.subnet_prefix,
        size,
        service_cidr: parse(&cluster.service_cidr),
        pod_cidr: parse(&cluster.pod_cidr),
        name_flag: "--subnet-name",
    };
    // Read by the preflight a moment ago, before anything was written.
    let found = Found::of(&ctx.preflight.vnet);
    let decision = converge::decide(&want, &found)?;
    let id = want.id();
    match &decision {
        Decision::Keep { subnet, .. } => ctx.note(PlanItem::new(
            Step::Subnet,
            decision.action(),
            &subnet.id,
            format!("exists with prefix {}", subnet.prefixes().join(", ")),
        )),
        Decision::Create(prefix) => ctx.note(PlanItem::new(
            Step::Subnet,
            decision.action(),
            id.as_str(),
            format!(
                "no subnet {} in vnet {}; {prefix} is free ({} usable addresses)",
                want.name,
                found.vnet_name,
                cidr::usable_addresses(prefix.prefix_len())
            ),
        )),
    }
    if let Decision::Keep { subnet, .. } = &decision {
        let created = created_before(ctx, keys::SUBNET, &subnet.id);
        if !ctx.dry_run() {
            converge_now(ctx, &want, &found).await?;
        }
        record(ctx, keys::SUBNET, &subnet.id, created)?;
    } else if ctx.dry_run() {
        record_planned(ctx, keys::SUBNET, id.as_str())?;
    } else {
        converge_now(ctx, &want, &found).await?;
    }
    Ok(Done::Finished)
}

/// Writes or waits; a new subnet is recorded as this tool's right before its PUT.
async fn converge_now(ctx: &Ctx, want: &Want, found: &Found) -> Result<()> {
    let id = want.id();
    let before_create = || record(ctx, keys::SUBNET, id.as_str(), true);
    converge::converge_found(
        &ctx.client,
        want,
        found,
        Options {
            policy: &ctx.waits.other,
            progress: &ctx.progress.for_step(Step::Subnet.name()),
            before_create: &before_create,
        },
    )
    .await?;
    Ok(())
}
