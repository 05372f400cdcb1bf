//! Blob integration: the storage account and data container (the HPC Cache plan's storage
//! step, with the `--hsm-container` name), then the logging container beside it.

use super::super::super::context::Ctx;
use super::super::super::executor::Done;
use super::super::{id_of, keys, recorded};
use super::spec;
use crate::azure::ResourceId;
use crate::{Error, Result};

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let hsm = spec(ctx)?.hsm.clone().ok_or_else(|| Error::Lookup {
        what: "the HSM containers of this deployment".to_owned(),
        reason: "no --hsm-container was given".to_owned(),
    })?;
    super::super::storage::run(ctx).await?;
    let account = ResourceId::parse(id_of(&recorded(ctx, keys::STORAGE_ACCOUNT)?))?;
    super::super::storage::container(
        ctx,
        &account,
        keys::LOGGING_CONTAINER,
        &hsm.logging_container,
        "logging container",
    )
    .await?;
    Ok(Done::Finished)
}
