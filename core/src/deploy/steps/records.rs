//! One A record set holding every mount address of the cache (3 to 12), so clients spread
//! over all of them, not just the guide's three.

use std::collections::BTreeSet;

use super::super::context::Ctx;
use super::super::executor::Done;
use super::super::plan::{PlanItem, Step};
use super::super::preflight::other_owner;
use super::{
    created_before, id_of, keys, ours_by_tag, planned, record_as, record_found, record_planned,
    recorded,
};
use crate::azure::{ResourceId, dns};
use crate::state::DnsInfo;
use crate::{InvalidInput, Result};

/// Seconds resolvers keep the answer; short, since a cache's addresses change only on re-create.
pub const TTL: u64 = 300;

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let zone = ResourceId::parse(id_of(&recorded(ctx, keys::DNS_ZONE)?))?;
    let name = ctx.spec.dns_name.clone();
    let id = dns::a_record_set_id(&zone, &name);
    let info = DnsInfo {
        zone: ctx.spec.dns_zone.clone(),
        record: name.clone(),
        fqdn: ctx.spec.fqdn(),
    };
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
    let addresses = ctx.read(|s| {
        s.cache
            .as_ref()
            .map(|c| c.mount_addresses.clone())
            .unwrap_or_default()
    });
    let want: BTreeSet<&str> = addresses.iter().map(String::as_str).collect();
    let found = dns::get_a_record_set(&ctx.client, &zone, &name).await?;
    let ours = created_before(ctx, keys::DNS_RECORDS, id.as_str());
    match &found {
        Some(r) if r.addresses().into_iter().collect::<BTreeSet<_>>() == want => {
            ctx.note(PlanItem::new(
                Step::Records,
                "none",
                &r.id,
                format!("holds all {} mount addresses", want.len()),
            ));
            record_found(
                ctx,
                keys::DNS_RECORDS,
                &r.id,
                ours_by_tag(ctx, &r.properties.metadata),
            )?;
        }
        Some(r) if !ours && other_owner(&r.properties.metadata, &ctx.spec.deployment).is_some() => {
            // The preflight refuses this before any write; the record set may have been
            // claimed since.
            return Err(InvalidInput::new(
                "--dns-name",
                format!(
                    "the A record set {name} in zone {} belongs to deployment {}",
                    ctx.spec.dns_zone,
                    other_owner(&r.properties.metadata, &ctx.spec.deployment).unwrap_or_default()
                ),
            )
            .hint("Pass another --dns-name or --dns-zone")
            .into());
        }
        _ => {
            ctx.note(PlanItem::new(
                Step::Records,
                if found.is_some() { "update" } else { "create" },
                id.as_str(),
                format!("A record {} → {}", info.fqdn, addresses.join(", ")),
            ));
            if !ctx.dry_run() {
                let tagged = found
                    .as_ref()
                    .is_some_and(|r| ours_by_tag(ctx, &r.properties.metadata));
                record_as(
                    ctx,
                    keys::DNS_RECORDS,
                    id.as_str(),
                    ours || found.is_none(),
                    tagged,
                )?;
                // Someone else's record set keeps its own metadata: this tool's tag on it
                // would let a later `down --adopt` take it.
                let metadata = match &found {
                    Some(r) if !ours => r.properties.metadata.clone(),
                    _ => ctx.spec.tags.clone(),
                };
                dns::put_a_record_set(&ctx.client, &zone, &name, &addresses, TTL, &metadata)
                    .await?;
            }
        }
    }
    if !ctx.dry_run() && ctx.read(|s| s.dns.as_ref() != Some(&info)) {
        ctx.update(|s| s.dns = Some(info))?;
    }
    Ok(Done::Finished)
}
