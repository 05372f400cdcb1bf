//! The blob (clfs) storage target with the namespace path. Role assignments take a while to
//! take effect; a create that fails for want of them is tried again after a pause.

use super::super::context::Ctx;
use super::super::executor::Done;
use super::super::plan::{PlanItem, Step};
use super::{
    created_before, id_of, keys, optional, planned, record_as, record_found, record_planned,
    recorded, succeeded, tagged,
};
use crate::Result;
use crate::azure::ResourceId;
use crate::azure::cache::{self, StorageTarget};
use crate::azure::ids::same_id;
use crate::azure::lro::{self, Until};

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let cache_id = ResourceId::parse(id_of(&recorded(ctx, keys::CACHE)?))?;
    let container = id_of(&recorded(ctx, keys::CONTAINER)?).to_owned();
    let path = ctx.spec.namespace_path.clone();
    let id = cache::storage_target_id(&cache_id, &ctx.spec.storage_target);
    let found = if planned(ctx, keys::CACHE) {
        None
    } else {
        optional(cache::get_storage_target(&ctx.client, &id).await)?
    };
    let ours = created_before(ctx, keys::STORAGE_TARGET, id.as_str());
    let action = match &found {
        Some(t)
            if matches(t, &container, &path)
                && succeeded(t.properties.provisioning_state.as_deref()) =>
        {
            ctx.note(PlanItem::new(
                Step::Target,
                "none",
                &t.id,
                format!("exists with junction {path}"),
            ));
            None
        }
        Some(t)
            if !lro::is_terminal(
                t.properties
                    .provisioning_state
                    .as_deref()
                    .unwrap_or("Succeeded"),
            ) =>
        {
            Some(("wait", "an operation on it is under way".to_owned()))
        }
        Some(t) => Some((
            "update",
            format!(
                "exists ({}) but not as asked: container {container}, junction {path}",
                t.properties
                    .provisioning_state
                    .as_deref()
                    .unwrap_or("Succeeded")
            ),
        )),
        None => Some((
            "create",
            format!(
                "no storage target {}; junction {path} → container",
                ctx.spec.storage_target
            ),
        )),
    };
    if let Some((verb, why)) = action {
        ctx.note(PlanItem::new(Step::Target, verb, id.as_str(), why));
        if ctx.dry_run() {
            record_planned(ctx, keys::STORAGE_TARGET, id.as_str())?;
            return Ok(Done::Finished);
        }
        let of_ours = found.is_some() && tagged(ctx, keys::CACHE);
        record_as(
            ctx,
            keys::STORAGE_TARGET,
            id.as_str(),
            ours || found.is_none(),
            of_ours,
        )?;
        if verb == "wait" {
            lro::wait_for_resource(
                &ctx.client,
                id.as_str(),
                cache::API_VERSION,
                Until::Succeeded,
                &ctx.waits.other,
                &ctx.progress.for_step(Step::Target.name()),
            )
            .await?;
        } else {
            create(ctx, &id, &container, &path).await?;
        }
    } else if let Some(t) = &found {
        // A target of this deployment's cache is this deployment's.
        let of_ours = tagged(ctx, keys::CACHE);
        record_found(ctx, keys::STORAGE_TARGET, &t.id, of_ours)?;
    }
    if ctx.read(|s| s.namespace_paths != [path.clone()]) {
        ctx.update(|s| s.namespace_paths = vec![path])?;
    }
    Ok(Done::Finished)
}

fn matches(t: &StorageTarget, container: &str, path: &str) -> bool {
    let target = t
        .properties
        .extra
        .get("clfs")
        .and_then(|c| c.get("target"))
        .and_then(|v| v.as_str());
    target.is_some_and(|c| same_id(c, container))
        && t.properties
            .junctions
            .iter()
            .any(|j| j.namespace_path.as_deref() == Some(path))
}

async fn create(ctx: &Ctx, id: &ResourceId, container: &str, path: &str) -> Result<()> {
    let retry = cache::TargetRetry {
        delay: ctx.waits.role_retry_delay,
        retries: ctx.waits.role_retries,
    };
    cache::create_blob_target(
        &ctx.client,
        id,
        container,
        path,
        &ctx.waits.other,
        &retry,
        &ctx.progress.for_step(Step::Target.name()),
    )
    .await
    .map(|_| ())
}
