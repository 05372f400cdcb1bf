//! The private DNS zone and its link to the cluster's vnet, through [`crate::converge::dns`].
//! Auto-registration stays off unless `--dns-registration`: a vnet allows one registration
//! link, and this zone only resolves. The step adds the plan's notes and the state records.

use super::super::context::Ctx;
use super::super::executor::Done;
use super::super::plan::{PlanItem, Step};
use super::{
    cluster_info, created_before, keys, ours_by_tag, planned, record, record_as, record_found,
    record_planned,
};
use crate::azure::{ResourceId, dns};
use crate::converge::dns::{self as converge, Caller, Flags, LinkDecision, LinkWant};
use crate::{Error, Result};

/// `up` of this deployment, as the DNS converge functions name it.
pub(super) fn caller(ctx: &Ctx) -> Caller {
    Caller {
        deployment: Some(ctx.spec.deployment.clone()),
        flags: Flags::UP,
    }
}

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let cluster = cluster_info(ctx)?;
    let zone = dns::zone_id(
        ctx.client.subscription(),
        &super::resources_group(ctx)?,
        &ctx.spec.dns_zone,
    );
    match dns::get_zone(&ctx.client, &zone).await? {
        Some(z) => {
            ctx.note(PlanItem::new(Step::Dns, "none", &z.id, "exists"));
            record_found(ctx, keys::DNS_ZONE, &z.id, ours_by_tag(ctx, &z.tags))?;
        }
        None => {
            ctx.note(PlanItem::new(
                Step::Dns,
                "create",
                zone.as_str(),
                format!("no private DNS zone {}", ctx.spec.dns_zone),
            ));
            if ctx.dry_run() {
                record_planned(ctx, keys::DNS_ZONE, zone.as_str())?;
            } else {
                let before_create = || record(ctx, keys::DNS_ZONE, zone.as_str(), true);
                converge::zone(
                    &ctx.client,
                    &zone,
                    None,
                    &ctx.spec.tags,
                    &ctx.waits.other,
                    &before_create,
                )
                .await?;
            }
        }
    }

    let vnet_id = cluster.vnet_id.clone().ok_or_else(|| Error::Lookup {
        what: format!("the vnet of cluster {}", cluster.name),
        reason: "the state file does not record it; run `up` again".to_owned(),
    })?;
    let vnet = ResourceId::parse(&vnet_id)?;
    let want = LinkWant {
        id: dns::link_id(&zone, &format!("{}-link", vnet.name())),
        vnet: vnet_id.clone(),
        registration: ctx.spec.dns_registration,
        tags: ctx.spec.tags.clone(),
    };
    let link = &want.id;
    let found = if planned(ctx, keys::DNS_ZONE) {
        None
    } else {
        dns::get_link(&ctx.client, link).await?
    };
    let ours = created_before(ctx, keys::VNET_LINK, link.as_str());
    let decision = converge::decide_link(&want, found.as_ref(), &caller(ctx), ours)?;
    let reason = match &decision {
        LinkDecision::Keep(_) => "links the cluster's vnet".to_owned(),
        LinkDecision::Update(()) => format!(
            "registration should be {}",
            if want.registration { "on" } else { "off" }
        ),
        LinkDecision::Create => format!("the zone is not linked to vnet {}", vnet.name()),
    };
    let shown = match &decision {
        LinkDecision::Keep(l) => l.id.as_str(),
        _ => link.as_str(),
    };
    ctx.note(PlanItem::new(Step::Dns, decision.action(), shown, reason));
    if let LinkDecision::Keep(l) = &decision {
        record_found(ctx, keys::VNET_LINK, &l.id, ours_by_tag(ctx, &l.tags))?;
    } else if ctx.dry_run() {
        record_planned(ctx, keys::VNET_LINK, link.as_str())?;
        return Ok(Done::Finished);
    } else {
        let created = found.is_none() || ours;
        let tagged = found.as_ref().is_some_and(|l| ours_by_tag(ctx, &l.tags));
        record_as(ctx, keys::VNET_LINK, link.as_str(), created, tagged)?;
    }
    if !ctx.dry_run() {
        converge::link(
            &ctx.client,
            &want,
            decision,
            &ctx.waits.other,
            &ctx.progress.for_step(Step::Dns.name()),
        )
        .await?;
    }
    Ok(Done::Finished)
}
