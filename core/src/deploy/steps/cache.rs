//! The cache (about 20 minutes in Azure). Sent once, followed with the core's poller; with
//! `--no-wait` the operation is saved in the state file for `cache wait` or a later `up`.
//! A cache this tool created that ended Failed is deleted and created again, as Azure advises.
//! An existing cache is brought to the root squash asked for (`--root-squash` or
//! `--no-root-squash`; neither keeps what it has), except while `--owner`'s job has yet to
//! run: the owner step switches it then.

use super::super::context::{Ctx, Mode};
use super::super::executor::Done;
use super::super::owner;
use super::super::plan::{PlanItem, Step};
use super::{
    cluster_info, created_before, id_of, keys, optional, ours_by_tag, record, record_found,
    record_planned, recorded, succeeded,
};
use crate::azure::cache::{self, Cache, NewCache};
use crate::azure::lro::{self, Until};
use crate::azure::{ResourceId, ids::same_id};
use crate::state::CacheInfo;
use crate::{Error, Result};

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let cluster = cluster_info(ctx)?;
    let subnet = id_of(&recorded(ctx, keys::SUBNET)?).to_owned();
    let id = cache::cache_id(
        ctx.client.subscription(),
        &super::resources_group(ctx)?,
        &ctx.spec.deployment,
    );
    let progress = ctx.progress.for_step(Step::Cache.name());
    let found = optional(cache::get_cache(&ctx.client, &id).await)?;
    let cache = match found {
        Some(c) => {
            let state = c.properties.provisioning_state.clone();
            let ours = created_before(ctx, keys::CACHE, &c.id);
            check_same(ctx, &c, &subnet)?;
            if !ours && !ctx.dry_run() && ours_by_tag(ctx, &c.tags) {
                record_found(ctx, keys::CACHE, &c.id, true)?;
                // The subnet a cache of this deployment sits in (a cache needs one of its
                // own) was made for it too.
                if c.properties
                    .subnet
                    .as_deref()
                    .is_some_and(|s| same_id(s, &subnet))
                {
                    record_found(ctx, keys::SUBNET, &subnet, true)?;
                }
            }
            match state.as_deref() {
                s if succeeded(s) => {
                    ctx.note(PlanItem::new(
                        Step::Cache,
                        "none",
                        &c.id,
                        "exists and Succeeded",
                    ));
                    record(ctx, keys::CACHE, &c.id, ours)?;
                    c
                }
                Some(s) if s.eq_ignore_ascii_case("Failed") && ours => {
                    ctx.note(PlanItem::new(
                        Step::Cache,
                        "recreate",
                        &c.id,
                        "this tool's cache ended Failed; it is deleted and created again",
                    ));
                    if ctx.dry_run() {
                        return Ok(Done::Finished);
                    }
                    cache::begin_delete_cache(&ctx.client, &id)
                        .await?
                        .wait(&ctx.client, &ctx.waits.cache)
                        .await?;
                    match create(ctx, &id, &cluster.location, &subnet).await? {
                        Some(c) => c,
                        None => return Ok(Done::Pending),
                    }
                }
                Some(s) if s.eq_ignore_ascii_case("Failed") => {
                    return Err(Error::Lookup {
                        what: format!("a usable cache {}", ctx.spec.deployment),
                        reason: format!(
                            "cache {} exists in state Failed and was not created by this tool; delete it or choose another -n",
                            c.id
                        ),
                    });
                }
                s => {
                    let s = s.unwrap_or("Creating");
                    ctx.note(PlanItem::new(Step::Cache, "wait", &c.id, format!("is {s}")));
                    if ctx.dry_run() {
                        return Ok(Done::Finished);
                    }
                    record(ctx, keys::CACHE, &c.id, ours)?;
                    if ctx.mode == Mode::NoWait {
                        return Ok(Done::Pending);
                    }
                    let saved = ctx.read(|st| st.operations.get(keys::CACHE).cloned());
                    let body = match saved.filter(|op| same_id(&op.resource_id, &c.id)) {
                        Some(op) => {
                            lro::resume(&ctx.client, &op, &ctx.waits.cache, &progress).await?
                        }
                        None => {
                            lro::wait_for_resource(
                                &ctx.client,
                                &c.id,
                                cache::API_VERSION,
                                Until::Succeeded,
                                &ctx.waits.cache,
                                &progress,
                            )
                            .await?
                        }
                    };
                    parse_or_get(ctx, &id, body).await?
                }
            }
        }
        None => {
            ctx.note(PlanItem::new(
                Step::Cache,
                "create",
                id.as_str(),
                format!(
                    "no cache {}; {} GB {} in the new subnet, root squash {}",
                    ctx.spec.deployment,
                    ctx.spec.cache_size_gb,
                    ctx.spec.sku,
                    on_off(ctx.spec.new_cache_root_squash())
                ),
            ));
            if ctx.dry_run() {
                record_planned(ctx, keys::CACHE, id.as_str())?;
                return Ok(Done::Finished);
            }
            match create(ctx, &id, &cluster.location, &subnet).await? {
                Some(c) => c,
                None => return Ok(Done::Pending),
            }
        }
    };
    let cache = converge_root_squash(ctx, cache).await?;
    let info = CacheInfo {
        sku: cache
            .sku
            .as_ref()
            .map(|s| s.name.clone())
            .unwrap_or_else(|| ctx.spec.sku.clone()),
        cache_size_gb: cache
            .properties
            .cache_size_gb
            .unwrap_or(ctx.spec.cache_size_gb),
        mount_addresses: cache.properties.mount_addresses.clone(),
        root_squash: cache
            .root_squash()
            .unwrap_or(ctx.spec.new_cache_root_squash()),
    };
    let changed =
        ctx.read(|s| s.cache.as_ref() != Some(&info) || s.operations.contains_key(keys::CACHE));
    if changed {
        ctx.update(|s| {
            s.cache = Some(info);
            s.operations.remove(keys::CACHE);
        })?;
    }
    Ok(Done::Finished)
}

/// Creates the cache; `None` when `--no-wait` left it creating (the operation is saved).
async fn create(ctx: &Ctx, id: &ResourceId, location: &str, subnet: &str) -> Result<Option<Cache>> {
    record(ctx, keys::CACHE, id.as_str(), true)?;
    let new = NewCache {
        location: location.to_owned(),
        sku: ctx.spec.sku.clone(),
        cache_size_gb: ctx.spec.cache_size_gb,
        subnet_id: subnet.to_owned(),
        root_squash: ctx.spec.new_cache_root_squash(),
        tags: ctx.spec.tags.clone(),
    };
    let poller = cache::begin_create_cache(&ctx.client, id, &new).await?;
    if ctx.mode == Mode::NoWait && !poller.is_done() {
        let op = poller.operation().clone();
        ctx.update(|s| {
            s.operations.insert(keys::CACHE.to_owned(), op);
        })?;
        return Ok(None);
    }
    let body = poller.wait(&ctx.client, &ctx.waits.cache).await?;
    Ok(Some(parse_or_get(ctx, id, body).await?))
}

/// The cache as the operation's result gave it, or a fresh GET when it gave none (or no
/// mount addresses yet).
async fn parse_or_get(
    ctx: &Ctx,
    id: &ResourceId,
    body: Option<serde_json::Value>,
) -> Result<Cache> {
    if let Some(v) = body
        && let Ok(c) = serde_json::from_value::<Cache>(v)
        && !c.properties.mount_addresses.is_empty()
    {
        return Ok(c);
    }
    cache::get_cache(&ctx.client, id).await
}

/// SKU, size and subnet cannot change after creation: say so rather than send a doomed PUT.
fn check_same(ctx: &Ctx, c: &Cache, subnet: &str) -> Result<()> {
    let mut diffs = Vec::new();
    if let Some(s) = &c.sku
        && !s.name.eq_ignore_ascii_case(&ctx.spec.sku)
    {
        diffs.push(format!("SKU {} (asked: {})", s.name, ctx.spec.sku));
    }
    if let Some(gb) = c.properties.cache_size_gb
        && gb != ctx.spec.cache_size_gb
    {
        diffs.push(format!("size {gb} GB (asked: {})", ctx.spec.cache_size_gb));
    }
    if let Some(s) = &c.properties.subnet
        && !subnet.starts_with("planned:")
        && !same_id(s, subnet)
    {
        diffs.push(format!("subnet {s}"));
    }
    if diffs.is_empty() {
        return Ok(());
    }
    Err(Error::Lookup {
        what: format!("a cache {} as asked", ctx.spec.deployment),
        reason: format!(
            "cache {} exists with {}, which cannot change after creation; pass the same values, or delete the cache first",
            c.id,
            diffs.join(", ")
        ),
    })
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// Changes root squash on an existing cache when it differs from what was asked (one
/// PATCH, waited for); the cache as it is afterwards.
async fn converge_root_squash(ctx: &Ctx, cache: Cache) -> Result<Cache> {
    let owner_pending = ctx.spec.owner.is_some() && !ctx.read(|s| owner::done(s, &ctx.spec));
    let Some(want) = ctx.spec.root_squash.filter(|_| !owner_pending) else {
        return Ok(cache);
    };
    let have = cache.root_squash();
    if have == Some(want) {
        return Ok(cache);
    }
    ctx.note(PlanItem::new(
        Step::Cache,
        "update",
        &cache.id,
        format!(
            "root squash is {} on the cache; asked {}",
            have.map(on_off).unwrap_or("unknown"),
            on_off(want)
        ),
    ));
    if ctx.dry_run() {
        return Ok(cache);
    }
    cache::begin_set_root_squash(&ctx.client, &cache, want)
        .await?
        .wait(&ctx.client, &ctx.waits.cache)
        .await?;
    cache::get_cache(&ctx.client, &ResourceId::parse(&cache.id)?).await
}
