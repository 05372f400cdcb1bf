//! The Managed Lustre filesystem, in the deployment's resource group as the cache is, through
//! [`crate::converge::amlfs`]: checked subnet, one PUT followed with the core's poller, and
//! with `--no-wait` the operation saved for `amlfs wait` or a later `up`. What clients need
//! (`clientInfo`) is recorded as the state's `lustre`.

use serde_json::Value;

use super::super::super::amlfs::FILESYSTEM_NAME;
use super::super::super::context::{Ctx, Mode};
use super::super::super::executor::Done;
use super::super::super::plan::{PlanItem, Step};
use super::super::{
    cluster_info, created_before, id_of, keys, ours_by_tag, record, record_found, record_planned,
    recorded, resources_group,
};
use super::spec;
use crate::azure::amlfs::{self, Filesystem, Hsm, NewAmlFilesystem};
use crate::converge::amlfs::{self as converge, Decision, Flags, Options, Outcome, Want};
use crate::state::LustreInfo;
use crate::{Error, Result};

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let a = spec(ctx)?;
    let cluster = cluster_info(ctx)?;
    let subnet = id_of(&recorded(ctx, keys::SUBNET)?).to_owned();
    let id = amlfs::filesystem_id(
        ctx.client.subscription(),
        &resources_group(ctx)?,
        &ctx.spec.deployment,
    );
    let hsm = match &a.hsm {
        Some(_) => Some(Hsm {
            container_id: id_of(&recorded(ctx, keys::CONTAINER)?).to_owned(),
            logging_container_id: id_of(&recorded(ctx, keys::LOGGING_CONTAINER)?).to_owned(),
            import_prefixes: Vec::new(),
        }),
        None => None,
    };
    let want = Want {
        id: id.clone(),
        new: NewAmlFilesystem {
            location: cluster.location.clone(),
            sku: a.sku,
            capacity_tib: a.capacity_tib,
            subnet_id: subnet,
            zone: a.zone,
            maintenance_window: a.window_for_create(),
            hsm,
            root_squash: a.root_squash.clone(),
            tags: ctx.spec.tags.clone(),
        },
        maintenance_window: a.maintenance_window,
        root_squash: a.root_squash.clone(),
        flags: Flags::UP,
    };
    let ours = created_before(ctx, keys::AML_FILESYSTEM, id.as_str());
    let found = converge::read(&ctx.client, &id).await?;
    let decision = converge::decide(&want, found.as_ref(), ours)?;
    ctx.note(PlanItem::new(
        Step::Filesystem,
        decision.action(),
        id.as_str(),
        reason(&decision, a, &ctx.spec.deployment),
    ));
    if ctx.dry_run() {
        if decision == Decision::Create {
            record_planned(ctx, keys::AML_FILESYSTEM, id.as_str())?;
        }
        return Ok(Done::Finished);
    }
    if let Some(f) = &found
        && !ours
    {
        // Not made by this state file: adoptable when it carries this deployment's tag.
        let tagged = ours_by_tag(ctx, &tags_of(f));
        record_found(ctx, keys::AML_FILESYSTEM, id.as_str(), tagged)?;
    }
    let saved = ctx.read(|s| s.operations.get(keys::AML_FILESYSTEM).cloned());
    let progress = ctx.progress.for_step(Step::Filesystem.name());
    let before_create = || record(ctx, keys::AML_FILESYSTEM, id.as_str(), true);
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
    match outcome {
        Outcome::Pending { operation, .. } => {
            if let Some(op) = operation {
                ctx.update(|s| {
                    s.operations.insert(keys::AML_FILESYSTEM.to_owned(), op);
                })?;
            }
            Ok(Done::Pending)
        }
        Outcome::Ready { filesystem, .. } => {
            let info = lustre_info(&filesystem)?;
            let changed = ctx.read(|s| {
                s.lustre.as_ref() != Some(&info) || s.operations.contains_key(keys::AML_FILESYSTEM)
            });
            if changed {
                ctx.update(|s| {
                    s.lustre = Some(info);
                    s.operations.remove(keys::AML_FILESYSTEM);
                })?;
            }
            Ok(Done::Finished)
        }
    }
}

fn reason(d: &Decision, a: &crate::deploy::amlfs::AmlfsSpec, name: &str) -> String {
    match d {
        Decision::Create => format!(
            "no filesystem {name}; {} TiB {} in zone {}, root squash {}, {}",
            a.capacity_tib,
            a.sku.name(),
            crate::spec::amlfs::zone_string(a.zone),
            a.squash_mode_name(),
            if a.hsm.is_some() {
                "with blob integration"
            } else {
                "without blob integration"
            }
        ),
        Decision::Recreate => {
            "this tool's filesystem ended Failed; it is deleted and created again".to_owned()
        }
        Decision::Wait(s) => format!("is {s}"),
        Decision::Update(changes) => changes.join("; "),
        Decision::None => "exists and Succeeded".to_owned(),
    }
}

fn tags_of(f: &Filesystem) -> std::collections::BTreeMap<String, String> {
    f.raw
        .get("tags")
        .and_then(Value::as_object)
        .map(|t| {
            t.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// What clients mount, from the filesystem as it is now.
pub fn lustre_info(f: &Filesystem) -> Result<LustreInfo> {
    let raw = &f.raw;
    let text = |p: &str| raw.pointer(p).and_then(Value::as_str).map(str::to_owned);
    let mgs_address = f
        .mgs_address()
        .map(str::to_owned)
        .ok_or_else(|| Error::Lookup {
            what: format!(
                "the MGS address of filesystem {}",
                f.raw["name"].as_str().unwrap_or("")
            ),
            reason: "its clientInfo has none yet; run `up` again once it is Available".to_owned(),
        })?;
    let mount_command = text("/properties/clientInfo/mountCommand");
    let filesystem_name = mount_command
        .as_deref()
        .and_then(filesystem_name_of)
        .unwrap_or_else(|| FILESYSTEM_NAME.to_owned());
    let squash = raw.pointer("/properties/rootSquashSettings");
    let id = |k: &str| {
        squash
            .and_then(|s| s.get(k))
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    Ok(LustreInfo {
        sku: text("/sku/name").unwrap_or_default(),
        storage_capacity_tib: raw
            .pointer("/properties/storageCapacityTiB")
            .and_then(Value::as_f64)
            .map_or(0, |t| t.round() as u64),
        mgs_address,
        filesystem_name,
        mount_command,
        root_squash_mode: squash
            .and_then(|s| s.get("mode"))
            .and_then(Value::as_str)
            .unwrap_or("None")
            .to_owned(),
        squash_uid: id("squashUID"),
        squash_gid: id("squashGID"),
        hsm: raw.pointer("/properties/hsm/settings/container").is_some(),
    })
}

/// The Lustre filesystem name in a mount command: `... 10.0.0.4@tcp:/lustrefs /mnt` →
/// `lustrefs`.
fn filesystem_name_of(command: &str) -> Option<String> {
    command
        .split_whitespace()
        .find_map(|w| w.split_once("@tcp:/").map(|(_, rest)| rest))
        .map(|rest| rest.split('/').next().unwrap_or_default().to_owned())
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filesystem_name_is_read_from_the_mount_command() {
        assert_eq!(
            filesystem_name_of(
                "sudo mount -t lustre -o noatime,flock 10.224.1.4@tcp:/lustrefs /lustre/x"
            )
            .as_deref(),
            Some("lustrefs")
        );
        assert_eq!(filesystem_name_of("mount something"), None);
    }
}
