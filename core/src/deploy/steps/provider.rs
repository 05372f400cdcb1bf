//! `Microsoft.StorageCache` registration: a no-op when already Registered.

use super::super::context::Ctx;
use super::super::executor::Done;
use super::super::plan::{PlanItem, Step};
use crate::Result;
use crate::azure::providers;

pub const NAMESPACE: &str = "Microsoft.StorageCache";

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let current = providers::get_provider(&ctx.client, NAMESPACE).await?;
    let what = format!("resource provider {NAMESPACE}");
    if current.is_registered() {
        ctx.note(PlanItem::new(
            Step::Provider,
            "none",
            what,
            "already Registered",
        ));
        return Ok(Done::Finished);
    }
    let state = current
        .registration_state
        .clone()
        .unwrap_or_else(|| "NotRegistered".to_owned());
    // A registration under way (an earlier run's) is only waited for, never sent again.
    let verb = if current.is_registering() {
        "wait"
    } else {
        "update"
    };
    ctx.note(PlanItem::new(
        Step::Provider,
        verb,
        what,
        format!("registration state is {state}; the cache needs it Registered"),
    ));
    if ctx.dry_run() {
        return Ok(Done::Finished);
    }
    providers::register_from(
        &ctx.client,
        current,
        &ctx.waits.other,
        &ctx.progress.for_step(Step::Provider.name()),
    )
    .await?;
    Ok(Done::Finished)
}
