//! The storage account and its container, through [`crate::converge::storage`] (an existing
//! account must fit; a name held elsewhere is refused with the way out, `--storage-account`).
//! The default account name is derived from the deployment. The step adds the plan's notes and
//! the state records.

use super::super::context::Ctx;
use super::super::executor::Done;
use super::super::plan::{PlanItem, Step};
use super::{keys, ours_by_tag, planned, record, record_found, record_planned, tagged};
use crate::azure::{ResourceId, storage};
use crate::converge::storage::{self as converge, DEFAULT_SKU, Decision, Flags, Options, Want};
use crate::{Error, Result};

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let settings = ctx
        .read(|s| s.settings.clone())
        .ok_or_else(|| Error::Lookup {
            what: "the settings of this deployment".to_owned(),
            reason: "the state file does not record them; run `up` again".to_owned(),
        })?;
    let sub = ctx.client.subscription().to_owned();
    let name = &settings.storage_account;
    let account = storage::account_id(&sub, &settings.resource_group, name);
    let want = Want {
        id: account.clone(),
        location: ctx.read(|s| s.cluster.as_ref().map(|c| c.location.clone())),
        sku: DEFAULT_SKU.to_owned(),
        // Managed Lustre's blob integration takes either; an HPC Cache blob target needs none.
        hns: ctx.spec.amlfs.is_none().then_some(false),
        tags: ctx.spec.tags.clone(),
        flags: if ctx.spec.storage_account.is_some() {
            Flags::UP
        } else {
            Flags::UP_DERIVED
        },
    };
    let found = converge::read(&ctx.client, &want).await?;
    let decision = converge::decide(&want, &found)?;
    match &decision {
        Decision::Keep { account: a, .. } => {
            ctx.note(PlanItem::new(Step::Storage, "none", &a.id, "exists"))
        }
        Decision::Create => ctx.note(PlanItem::new(
            Step::Storage,
            "create",
            account.as_str(),
            format!(
                "no account {name} in {}; the name is free",
                settings.resource_group
            ),
        )),
    }
    if !ctx.dry_run() {
        // Creates (recorded as this tool's right before the PUT) or waits.
        let before_create = || record(ctx, keys::STORAGE_ACCOUNT, account.as_str(), true);
        let progress = ctx.progress.for_step(Step::Storage.name());
        let mut opts = Options::new(&ctx.waits.other, &progress);
        opts.before_create = &before_create;
        converge::converge_found(&ctx.client, &want, &found, opts).await?;
    }
    match &decision {
        Decision::Keep { account: a, .. } => {
            record_found(ctx, keys::STORAGE_ACCOUNT, &a.id, ours_by_tag(ctx, &a.tags))?
        }
        Decision::Create if ctx.dry_run() => {
            record_planned(ctx, keys::STORAGE_ACCOUNT, account.as_str())?
        }
        Decision::Create => {}
    }

    container(
        ctx,
        &account,
        keys::CONTAINER,
        &settings.container,
        "container",
    )
    .await?;
    Ok(Done::Finished)
}

/// The container `name` in the deployment's account, recorded under `key` (`what` names it in
/// the plan): created when missing, this deployment's when the account is.
pub(super) async fn container(
    ctx: &Ctx,
    account: &ResourceId,
    key: &str,
    name: &str,
    what: &str,
) -> Result<()> {
    let id = storage::container_id(account, name);
    let existing = if planned(ctx, keys::STORAGE_ACCOUNT) {
        None
    } else {
        storage::get_container(&ctx.client, account, name).await?
    };
    match &existing {
        Some(found) => {
            ctx.note(PlanItem::new(Step::Storage, "none", &found.id, "exists"));
            // A container in this deployment's account is this deployment's.
            let ours = tagged(ctx, keys::STORAGE_ACCOUNT);
            record_found(ctx, key, &found.id, ours)?;
        }
        None => {
            ctx.note(PlanItem::new(
                Step::Storage,
                "create",
                id.as_str(),
                format!("no {what} {name} in the account"),
            ));
            if ctx.dry_run() {
                record_planned(ctx, key, id.as_str())?;
            } else {
                let before_create = || record(ctx, key, id.as_str(), true);
                converge::container_found(&ctx.client, account, name, existing, &before_create)
                    .await?;
            }
        }
    }
    Ok(())
}
