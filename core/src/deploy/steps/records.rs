//! One A record set holding every mount address of the cache (3 to 12), so clients spread
//! over all of them, not just the guide's three; through [`crate::converge::dns`], which never
//! changes another deployment's record set. The step adds the plan's note and the state
//! records.

use super::super::context::Ctx;
use super::super::executor::Done;
use super::super::plan::{PlanItem, Step};
use super::{
    created_before, id_of, keys, ours_by_tag, planned, record_as, record_found, record_planned,
    recorded,
};
use crate::Result;
use crate::azure::{ResourceId, dns};
use crate::converge::dns::{self as converge, RecordsDecision, RecordsWant};
use crate::state::DnsInfo;

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let zone = ResourceId::parse(id_of(&recorded(ctx, keys::DNS_ZONE)?))?;
    let name = ctx.spec.dns_name.clone();
    let info = DnsInfo {
        zone: ctx.spec.dns_zone.clone(),
        record: name.clone(),
        fqdn: ctx.spec.fqdn(),
    };
    let addresses = ctx.read(|s| {
        s.cache
            .as_ref()
            .map(|c| c.mount_addresses.clone())
            .unwrap_or_default()
    });
    let want = RecordsWant {
        zone,
        name,
        addresses,
        metadata: ctx.spec.tags.clone(),
    };
    let id = want.id();
    if planned(ctx, keys::CACHE) || planned(ctx, keys::DNS_ZONE) {
        ctx.note(PlanItem::new(
            Step::Records,
            "create",
            id.as_str(),
            format!(
                "A record {} with every mount address of the new cache",
                info.fqdn
            ),
        ));
        record_planned(ctx, keys::DNS_RECORDS, id.as_str())?;
        return Ok(Done::Finished);
    }
    let found = dns::get_a_record_set(&ctx.client, &want.zone, &want.name).await?;
    let ours = created_before(ctx, keys::DNS_RECORDS, id.as_str());
    // The preflight refuses another deployment's record set before any write; it may have
    // been claimed since.
    let decision = converge::decide_records(&want, found.as_ref(), &super::dns::caller(ctx), ours)?;
    match &decision {
        RecordsDecision::Keep(r) => {
            ctx.note(PlanItem::new(
                Step::Records,
                decision.action(),
                &r.id,
                format!("holds all {} mount addresses", want.addresses.len()),
            ));
            record_found(
                ctx,
                keys::DNS_RECORDS,
                &r.id,
                ours_by_tag(ctx, &r.properties.metadata),
            )?;
        }
        RecordsDecision::Create | RecordsDecision::Update(_) => {
            ctx.note(PlanItem::new(
                Step::Records,
                decision.action(),
                id.as_str(),
                format!("A record {} → {}", info.fqdn, want.addresses.join(", ")),
            ));
            if !ctx.dry_run() {
                let tagged = found
                    .as_ref()
                    .is_some_and(|r| ours_by_tag(ctx, &r.properties.metadata));
                let created = ours || found.is_none();
                let before_write =
                    || record_as(ctx, keys::DNS_RECORDS, id.as_str(), created, tagged);
                converge::records(&ctx.client, &want, decision, &before_write).await?;
            }
        }
    }
    if !ctx.dry_run() && ctx.read(|s| s.dns.as_ref() != Some(&info)) {
        ctx.update(|s| s.dns = Some(info))?;
    }
    Ok(Done::Finished)
}
