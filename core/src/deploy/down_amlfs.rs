//! What `down` does with a Managed Lustre filesystem's data before deleting it: with blob
//! integration it archives everything to the container first (as a cache is flushed) and waits
//! for the archive to end; without it, deleting loses every file, so it is refused unless the
//! user said `--delete-data`.

use std::time::Instant;

use serde_json::Value;

use super::down::DownOptions;
use crate::azure::{ArmClient, ResourceId, amlfs, lro};
use crate::progress::Event;
use crate::state::State;
use crate::{Error, InvalidInput, Result};

/// Archives (or refuses) before the filesystem `id` is deleted.
pub async fn before_delete(
    client: &ArmClient,
    id: &str,
    state: &State,
    opts: &DownOptions,
) -> Result<()> {
    let rid = ResourceId::parse(id)?;
    let fs = match amlfs::get(client, &rid).await {
        Ok(f) => f,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e),
    };
    let provisioning = fs.provisioning_state().unwrap_or("Succeeded").to_owned();
    if provisioning.eq_ignore_ascii_case("Deleting") {
        // An earlier `down` archived it and started the deletion.
        return Ok(());
    }
    let hsm = fs
        .raw
        .pointer("/properties/hsm/settings/container")
        .is_some();
    if !hsm {
        if opts.delete_data {
            return Ok(());
        }
        return Err(InvalidInput::new(
            "--delete-data",
            format!(
                "Managed Lustre filesystem {} has no blob integration, so deleting it loses every file on it",
                rid.name()
            ),
        )
        .hint(format!(
            "Copy what you need off it first, then run `az-hpccache-ext down -n {} --delete-data --yes`",
            state.deployment
        ))
        .into());
    }
    if !provisioning.eq_ignore_ascii_case("Succeeded") {
        if opts.force {
            return Ok(());
        }
        return Err(Error::Lookup {
            what: format!("a filesystem ready to archive ({})", rid.name()),
            reason: format!(
                "it is {provisioning}. Deleting it without an archive loses files not yet in blob storage; fix it (az-hpccache-ext amlfs show), or pass --force to delete it anyway"
            ),
        });
    }
    let started = Instant::now();
    opts.progress.emit(Event::StepStarted {
        step: "archive".to_owned(),
        detail: Some(id.to_owned()),
    });
    amlfs::archive(client, &rid, "/").await?;
    wait_for_archive(client, &rid, opts).await?;
    opts.progress.emit(Event::StepFinished {
        step: "archive".to_owned(),
        elapsed: started.elapsed(),
    });
    Ok(())
}

/// Polls `hsm.archiveStatus` until the archive ends: Completed is done; Failed and Canceled
/// are errors (the filesystem is kept).
async fn wait_for_archive(client: &ArmClient, id: &ResourceId, opts: &DownOptions) -> Result<()> {
    let policy = &opts.waits.cache;
    let started = Instant::now();
    let mut pace = lro::Pace::new(client, policy);
    loop {
        let fs = amlfs::get(client, id).await?;
        let status = fs
            .raw
            .pointer("/properties/hsm/archiveStatus/0/status")
            .cloned()
            .unwrap_or(Value::Null);
        let state = status
            .get("state")
            .and_then(Value::as_str)
            .unwrap_or("Idle");
        let text = |k: &str| {
            status
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        match state {
            s if s.eq_ignore_ascii_case("Completed") || s.eq_ignore_ascii_case("Idle") => {
                return Ok(());
            }
            s if s.eq_ignore_ascii_case("Failed") => {
                return Err(Error::Arm {
                    code: text("errorCode"),
                    message: format!(
                        "the archive of {} failed, so it was not deleted: {}",
                        id.name(),
                        text("errorMessage")
                    ),
                    status: 0,
                    request_id: None,
                });
            }
            s if s.eq_ignore_ascii_case("Canceled") || s.eq_ignore_ascii_case("Cancelled") => {
                return Err(Error::Lookup {
                    what: format!("a finished archive of {}", id.name()),
                    reason: "the archive was canceled, so the filesystem was kept; run `down` again to archive and delete it".to_owned(),
                });
            }
            _ => {}
        }
        let interval = pace.next(client, None);
        if started.elapsed().saturating_add(interval) > policy.timeout {
            return Err(Error::Lookup {
                what: format!("the end of the archive of {}", id.name()),
                reason: format!(
                    "it is still {state} after {}s; run `down` again to keep waiting",
                    policy.timeout.as_secs()
                ),
            });
        }
        tokio::time::sleep(interval).await;
    }
}
