//! The private DNS zone and its link to the cluster's vnet. Auto-registration stays off unless
//! `--dns-registration`: a vnet allows one registration link, and this zone only resolves.

use super::super::context::Ctx;
use super::super::executor::Done;
use super::super::plan::{PlanItem, Step};
use super::{
    cluster_info, created_before, keys, ours_by_tag, planned, record, record_as, record_found,
    record_planned,
};
use crate::azure::{ResourceId, dns};
use crate::{Error, Result};

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
                record(ctx, keys::DNS_ZONE, zone.as_str(), true)?;
                dns::begin_put_zone(&ctx.client, &zone, &ctx.spec.tags)
                    .await?
                    .wait(&ctx.client, &ctx.waits.other)
                    .await?;
            }
        }
    }

    let vnet_id = cluster.vnet_id.clone().ok_or_else(|| Error::Lookup {
        what: format!("the vnet of cluster {}", cluster.name),
        reason: "the state file does not record it; run `up` again".to_owned(),
    })?;
    let vnet = ResourceId::parse(&vnet_id)?;
    let link = dns::link_id(&zone, &format!("{}-link", vnet.name()));
    let want = ctx.spec.dns_registration;
    let found = if planned(ctx, keys::DNS_ZONE) {
        None
    } else {
        dns::get_link(&ctx.client, &link).await?
    };
    let why = match &found {
        Some(l) if l.properties.registration_enabled.unwrap_or(false) == want => {
            ctx.note(PlanItem::new(
                Step::Dns,
                "none",
                &l.id,
                "links the cluster's vnet",
            ));
            record_found(ctx, keys::VNET_LINK, &l.id, ours_by_tag(ctx, &l.tags))?;
            if !ctx.dry_run() {
                dns::wait_link_completed(&ctx.client, &link, &ctx.waits.other).await?;
            }
            return Ok(Done::Finished);
        }
        Some(_) => (
            "update",
            format!("registration should be {}", if want { "on" } else { "off" }),
        ),
        None => (
            "create",
            format!("the zone is not linked to vnet {}", vnet.name()),
        ),
    };
    ctx.note(PlanItem::new(Step::Dns, why.0, link.as_str(), why.1));
    if ctx.dry_run() {
        record_planned(ctx, keys::VNET_LINK, link.as_str())?;
        return Ok(Done::Finished);
    }
    let created = found.is_none() || created_before(ctx, keys::VNET_LINK, link.as_str());
    let tagged = found.as_ref().is_some_and(|l| ours_by_tag(ctx, &l.tags));
    record_as(ctx, keys::VNET_LINK, link.as_str(), created, tagged)?;
    dns::converge_link(
        &ctx.client,
        &link,
        &vnet_id,
        want,
        &ctx.spec.tags,
        &ctx.waits.other,
        &ctx.progress.for_step(Step::Dns.name()),
    )
    .await?;
    Ok(Done::Finished)
}
