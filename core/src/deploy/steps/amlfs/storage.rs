//! Blob integration: the storage account and data container (the HPC Cache plan's storage
//! step, with the `--hsm-container` name), then the logging container beside it.

use super::super::super::context::Ctx;
use super::super::super::executor::Done;
use super::super::super::plan::{PlanItem, Step};
use super::super::{id_of, keys, planned, record, record_found, record_planned, recorded, tagged};
use super::spec;
use crate::azure::{ResourceId, storage};
use crate::{Error, Result};

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let hsm = spec(ctx)?.hsm.clone().ok_or_else(|| Error::Lookup {
        what: "the HSM containers of this deployment".to_owned(),
        reason: "no --hsm-container was given".to_owned(),
    })?;
    super::super::storage::run(ctx).await?;
    let account = ResourceId::parse(id_of(&recorded(ctx, keys::STORAGE_ACCOUNT)?))?;
    let name = &hsm.logging_container;
    let existing = if planned(ctx, keys::STORAGE_ACCOUNT) {
        None
    } else {
        storage::get_container(&ctx.client, &account, name).await?
    };
    match existing {
        Some(found) => {
            ctx.note(PlanItem::new(Step::Storage, "none", &found.id, "exists"));
            let ours = tagged(ctx, keys::STORAGE_ACCOUNT);
            record_found(ctx, keys::LOGGING_CONTAINER, &found.id, ours)?;
        }
        None => {
            let id = storage::container_id(&account, name);
            ctx.note(PlanItem::new(
                Step::Storage,
                "create",
                id.as_str(),
                format!("no logging container {name} in the account"),
            ));
            if ctx.dry_run() {
                record_planned(ctx, keys::LOGGING_CONTAINER, id.as_str())?;
            } else {
                record(ctx, keys::LOGGING_CONTAINER, id.as_str(), true)?;
                storage::put_container(&ctx.client, &account, name).await?;
            }
        }
    }
    Ok(Done::Finished)
}
