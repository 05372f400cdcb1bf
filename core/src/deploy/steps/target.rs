//! The blob (clfs) storage target with the namespace path, through
//! [`crate::converge::target`]: role assignments take a while to take effect, and a create
//! that fails for want of them is tried again after a pause there.

use super::super::context::Ctx;
use super::super::executor::Done;
use super::super::plan::{PlanItem, Step};
use super::{
    created_before, id_of, keys, optional, planned, record_as, record_found, record_planned,
    recorded, tagged,
};
use crate::Result;
use crate::azure::ResourceId;
use crate::azure::cache::{self, TargetRetry};
use crate::converge::target::{self as converge, Decision, Options, Want};

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let cache_id = ResourceId::parse(id_of(&recorded(ctx, keys::CACHE)?))?;
    let want = Want {
        id: cache::storage_target_id(&cache_id, &ctx.spec.storage_target),
        container_id: id_of(&recorded(ctx, keys::CONTAINER)?).to_owned(),
        namespace_path: ctx.spec.namespace_path.clone(),
    };
    let id = &want.id;
    let path = &want.namespace_path;
    let found = if planned(ctx, keys::CACHE) {
        None
    } else {
        optional(cache::get_storage_target(&ctx.client, id).await)?
    };
    let ours = created_before(ctx, keys::STORAGE_TARGET, id.as_str());
    let decision = converge::decide(&want, found.as_ref());
    let why = match &decision {
        Decision::None => format!("exists with junction {path}"),
        Decision::Wait(_) => "an operation on it is under way".to_owned(),
        Decision::Update(why) => why.clone(),
        Decision::Create => format!(
            "no storage target {}; junction {path} → container",
            ctx.spec.storage_target
        ),
    };
    ctx.note(PlanItem::new(
        Step::Target,
        decision.action(),
        id.as_str(),
        why,
    ));
    // A target of this deployment's cache is this deployment's.
    let of_ours = found.is_some() && tagged(ctx, keys::CACHE);
    if decision == Decision::None {
        record_found(ctx, keys::STORAGE_TARGET, id.as_str(), of_ours)?;
    } else {
        if ctx.dry_run() {
            record_planned(ctx, keys::STORAGE_TARGET, id.as_str())?;
            return Ok(Done::Finished);
        }
        record_as(
            ctx,
            keys::STORAGE_TARGET,
            id.as_str(),
            ours || found.is_none(),
            of_ours,
        )?;
        converge::converge_found(
            &ctx.client,
            &want,
            found,
            Options {
                no_wait: false,
                policy: &ctx.waits.other,
                progress: &ctx.progress.for_step(Step::Target.name()),
                retry: &TargetRetry {
                    delay: ctx.waits.role_retry_delay,
                    retries: ctx.waits.role_retries,
                },
            },
        )
        .await?;
    }
    if ctx.read(|s| s.namespace_paths != [path.clone()]) {
        ctx.update(|s| s.namespace_paths = vec![path.clone()])?;
    }
    Ok(Done::Finished)
}
