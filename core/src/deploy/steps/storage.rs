//! The storage account and its container, both through ARM (no data-plane role needed).
//! The default account name is derived from the deployment; a name held by someone else is
//! refused with the way out (`--storage-account`).

use super::super::context::Ctx;
use super::super::executor::Done;
use super::super::plan::{PlanItem, Step};
use super::{keys, ours_by_tag, planned, record, record_found, record_planned, succeeded, tagged};
use crate::azure::lro::{self, Until};
use crate::azure::storage;
use crate::{Error, InvalidInput, Result};

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
    match storage::get_account(&ctx.client, &account).await? {
        Some(found) => {
            let ours = ours_by_tag(ctx, &found.tags);
            ctx.note(PlanItem::new(Step::Storage, "none", &found.id, "exists"));
            if !ctx.dry_run() && !succeeded(found.properties.provisioning_state.as_deref()) {
                lro::wait_for_resource(
                    &ctx.client,
                    &found.id,
                    storage::API_VERSION,
                    Until::Succeeded,
                    &ctx.waits.other,
                    &ctx.progress.for_step(Step::Storage.name()),
                )
                .await?;
            }
            record_found(ctx, keys::STORAGE_ACCOUNT, &found.id, ours)?;
        }
        None => {
            let check = storage::check_name_availability(&ctx.client, name).await?;
            if !check.name_available {
                let flag = if ctx.spec.storage_account.is_some() {
                    "--storage-account"
                } else {
                    "the derived storage account name"
                };
                return Err(InvalidInput::new(
                    flag,
                    format!(
                        "storage account name '{name}' is not available: {}",
                        check
                            .message
                            .or(check.reason)
                            .unwrap_or_else(|| "it is taken by another account".to_owned())
                    ),
                )
                .hint(
                    "Account names are global across Azure; pass a free one with --storage-account",
                )
                .into());
            }
            ctx.note(PlanItem::new(
                Step::Storage,
                "create",
                account.as_str(),
                format!(
                    "no account {name} in {}; the name is free",
                    settings.resource_group
                ),
            ));
            let location = ctx.read(|s| s.cluster.as_ref().map(|c| c.location.clone()));
            if ctx.dry_run() {
                record_planned(ctx, keys::STORAGE_ACCOUNT, account.as_str())?;
            } else {
                record(ctx, keys::STORAGE_ACCOUNT, account.as_str(), true)?;
                storage::begin_create_account(
                    &ctx.client,
                    &account,
                    location.as_deref().unwrap_or_default(),
                    &ctx.spec.tags,
                )
                .await?
                .wait(&ctx.client, &ctx.waits.other)
                .await?;
            }
        }
    }

    let container = storage::container_id(&account, &settings.container);
    let existing = if planned(ctx, keys::STORAGE_ACCOUNT) {
        None
    } else {
        storage::get_container(&ctx.client, &account, &settings.container).await?
    };
    match existing {
        Some(found) => {
            ctx.note(PlanItem::new(Step::Storage, "none", &found.id, "exists"));
            // A container in this deployment's account is this deployment's.
            let ours = tagged(ctx, keys::STORAGE_ACCOUNT);
            record_found(ctx, keys::CONTAINER, &found.id, ours)?;
        }
        None => {
            ctx.note(PlanItem::new(
                Step::Storage,
                "create",
                container.as_str(),
                format!("no container {} in the account", settings.container),
            ));
            if ctx.dry_run() {
                record_planned(ctx, keys::CONTAINER, container.as_str())?;
            } else {
                record(ctx, keys::CONTAINER, container.as_str(), true)?;
                storage::put_container(&ctx.client, &account, &settings.container).await?;
            }
        }
    }
    Ok(Done::Finished)
}
