//! The cache (about 20 minutes in Azure), through [`crate::converge::cache`]: sent once,
//! followed with the core's poller; with `--no-wait` the operation is saved in the state file
//! for `cache wait` or a later `up`. A cache this tool created that ended Failed is deleted and
//! created again, as Azure advises. An existing cache is brought to the root squash asked for
//! (`--root-squash` or `--no-root-squash`; neither keeps what it has), except while `--owner`'s
//! job has yet to run: the owner step switches it then.

use super::super::context::{Ctx, Mode};
use super::super::executor::Done;
use super::super::owner;
use super::super::plan::{PlanItem, Step};
use super::{
    cluster_info, created_before, id_of, keys, ours_by_tag, record, record_found, record_planned,
    recorded,
};
use crate::Result;
use crate::azure::cache::{self, NewCache};
use crate::azure::ids::same_id;
use crate::converge::cache::{self as converge, Decision, Flags, Options, Outcome, Want};
use crate::state::CacheInfo;

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let cluster = cluster_info(ctx)?;
    let subnet = id_of(&recorded(ctx, keys::SUBNET)?).to_owned();
    let id = cache::cache_id(
        ctx.client.subscription(),
        &super::resources_group(ctx)?,
        &ctx.spec.deployment,
    );
    let owner_pending = ctx.spec.owner.is_some() && !ctx.read(|s| owner::done(s, &ctx.spec));
    let want = Want {
        id: id.clone(),
        new: NewCache {
            location: cluster.location.clone(),
            sku: ctx.spec.sku.clone(),
            cache_size_gb: ctx.spec.cache_size_gb,
            subnet_id: subnet.clone(),
            root_squash: ctx.spec.new_cache_root_squash(),
            tags: ctx.spec.tags.clone(),
        },
        root_squash: ctx.spec.root_squash.filter(|_| !owner_pending),
        // An existing cache keeps its tags (`up` adopts a tagged cache, it does not retag).
        tags: None,
        flags: Flags::UP,
    };
    let ours = created_before(ctx, keys::CACHE, id.as_str());
    let found = converge::read(&ctx.client, &id).await?;
    let decision = converge::decide(&want, found.as_ref(), ours)?;
    ctx.note(PlanItem::new(
        Step::Cache,
        decision.action(),
        id.as_str(),
        reason(ctx, &decision),
    ));
    if ctx.dry_run() {
        match decision {
            Decision::Create => record_planned(ctx, keys::CACHE, id.as_str())?,
            Decision::None | Decision::Update(_) => record(ctx, keys::CACHE, id.as_str(), ours)?,
            Decision::Recreate | Decision::Wait(_) => {}
        }
        return Ok(Done::Finished);
    }
    if let Some(c) = &found {
        if !ours && ours_by_tag(ctx, &c.tags) {
            record_found(ctx, keys::CACHE, &c.id, true)?;
            // The subnet a cache of this deployment sits in (a cache needs one of its own)
            // was made for it too.
            if c.properties
                .subnet
                .as_deref()
                .is_some_and(|s| same_id(s, &subnet))
            {
                record_found(ctx, keys::SUBNET, &subnet, true)?;
            }
        }
        if decision != Decision::Recreate {
            record(ctx, keys::CACHE, &c.id, ours)?;
        }
    }
    let saved = ctx.read(|s| s.operations.get(keys::CACHE).cloned());
    let progress = ctx.progress.for_step(Step::Cache.name());
    let before_create = || record(ctx, keys::CACHE, id.as_str(), true);
    let outcome = converge::converge_found(
        &ctx.client,
        &want,
        found,
        Options {
            no_wait: ctx.mode == Mode::NoWait,
            policy: &ctx.waits.cache,
            progress: &progress,
            saved,
            ours,
            before_create: &before_create,
        },
    )
    .await?;
    let cache = match outcome {
        Outcome::Pending { operation, .. } => {
            if let Some(op) = operation {
                ctx.update(|s| {
                    s.operations.insert(keys::CACHE.to_owned(), op);
                })?;
            }
            return Ok(Done::Pending);
        }
        Outcome::Ready { cache, .. } => cache,
    };
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

fn reason(ctx: &Ctx, d: &Decision) -> String {
    match d {
        Decision::Create => format!(
            "no cache {}; {} GB {} in the new subnet, root squash {}",
            ctx.spec.deployment,
            ctx.spec.cache_size_gb,
            ctx.spec.sku,
            if ctx.spec.new_cache_root_squash() {
                "on"
            } else {
                "off"
            }
        ),
        Decision::Recreate => {
            "this tool's cache ended Failed; it is deleted and created again".to_owned()
        }
        Decision::Wait(s) => format!("is {s}"),
        Decision::Update(changes) => changes.join("; "),
        Decision::None => "exists and Succeeded".to_owned(),
    }
}
