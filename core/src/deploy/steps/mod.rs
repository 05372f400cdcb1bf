//! One module per step of `up`. Each observes what exists, writes only what differs, waits for
//! it, and records the resource (ARM id, and whether this tool created it) in the state.
//!
//! A resource is recorded as created *before* its create request is sent: after a crash
//! between the two, the next run finds it in the state and still knows it is this tool's.

mod amlfs;
mod cache;
mod cluster;
mod dns;
mod provider;
mod records;
mod roles;
mod storage;
pub(super) mod subnet;
mod target;

use std::collections::BTreeMap;

use super::context::Ctx;
use super::executor::Done;
use super::plan::Step;
use super::spec::DEPLOYMENT_TAG;
use crate::azure::ids::same_id;
use crate::state::Resource;
use crate::{Error, Result};

/// Keys of [`crate::state::State::resources`].
pub mod keys {
    pub const SUBNET: &str = "subnet";
    pub const STORAGE_ACCOUNT: &str = "storageAccount";
    pub const CONTAINER: &str = "container";
    pub const ROLE_ACCOUNT_CONTRIBUTOR: &str = "roleStorageAccountContributor";
    pub const ROLE_BLOB_DATA_CONTRIBUTOR: &str = "roleStorageBlobDataContributor";
    pub const CACHE: &str = "cache";
    /// The Managed Lustre filesystem (backend `amlfs`).
    pub const AML_FILESYSTEM: &str = "amlFilesystem";
    /// The HSM logging container of a Managed Lustre filesystem with blob integration.
    pub const LOGGING_CONTAINER: &str = "loggingContainer";
    pub const STORAGE_TARGET: &str = "storageTarget";
    pub const DNS_ZONE: &str = "dnsZone";
    pub const VNET_LINK: &str = "vnetLink";
    pub const DNS_RECORDS: &str = "dnsRecords";
}

pub async fn run(step: Step, ctx: &Ctx) -> Result<Done> {
    if ctx.spec.amlfs.is_some() {
        return amlfs::run(step, ctx).await;
    }
    match step {
        Step::Cluster => cluster::run(ctx).await,
        Step::Provider => provider::run(ctx).await,
        Step::Subnet => subnet::run(ctx).await,
        Step::Storage => storage::run(ctx).await,
        Step::Roles => roles::run(ctx).await,
        Step::Cache => cache::run(ctx).await,
        Step::Target => target::run(ctx).await,
        Step::Dns => dns::run(ctx).await,
        Step::Records => records::run(ctx).await,
        Step::Filesystem => Err(Error::Lookup {
            what: "the filesystem step".to_owned(),
            reason: "it belongs to the Managed Lustre plan, not to an HPC Cache deployment"
                .to_owned(),
        }),
    }
}

/// True when the state already records `id` under `key` as created by this tool.
fn created_before(ctx: &Ctx, key: &str, id: &str) -> bool {
    ctx.read(|s| {
        s.resources
            .get(key)
            .is_some_and(|r| r.created && same_id(&r.id, id))
    })
}

/// Records `key` → (`id`, `created`), writing the file only when that changes something.
/// A resource already recorded as tagged for this deployment stays so.
fn record(ctx: &Ctx, key: &str, id: &str, created: bool) -> Result<()> {
    record_as(ctx, key, id, created, false)
}

/// Records a resource `up` found in place: this tool's when the state says it created it;
/// else adoptable when `tagged` (it carries this deployment's tag, or belongs to a cache or
/// account that does: a state file was lost); else someone else's.
fn record_found(ctx: &Ctx, key: &str, id: &str, tagged: bool) -> Result<()> {
    let created = created_before(ctx, key, id);
    record_as(ctx, key, id, created, tagged)
}

/// Whether `tags` carry this deployment's [`DEPLOYMENT_TAG`].
fn ours_by_tag(ctx: &Ctx, tags: &BTreeMap<String, String>) -> bool {
    tags.get(DEPLOYMENT_TAG) == Some(&ctx.spec.deployment)
}

/// Whether the state records `key` as tagged for this deployment (not created by this file).
fn tagged(ctx: &Ctx, key: &str) -> bool {
    ctx.read(|s| s.resources.get(key).is_some_and(|r| r.tagged))
}

fn record_as(ctx: &Ctx, key: &str, id: &str, created: bool, tagged: bool) -> Result<()> {
    let kept = ctx.read(|s| {
        s.resources
            .get(key)
            .is_some_and(|r| r.tagged && same_id(&r.id, id))
    });
    let new = Resource {
        id: id.to_owned(),
        created,
        tagged: !created && (tagged || kept),
    };
    if ctx.read(|s| s.resources.get(key) == Some(&new)) {
        return Ok(());
    }
    ctx.update(|s| {
        s.resources.insert(key.to_owned(), new);
    })
}

/// The id recorded under `key`; a dependent step runs only after the step that records it.
fn recorded(ctx: &Ctx, key: &str) -> Result<String> {
    ctx.read(|s| s.resources.get(key).map(|r| r.id.clone()))
        .ok_or_else(|| Error::Lookup {
            what: format!("the {key} of this deployment"),
            reason: "the state file does not record it; run `up` again".to_owned(),
        })
}

/// In a dry run, a resource the plan would create does not exist yet: reads under it are
/// pointless (and would answer 404), so dependents describe themselves without them.
fn planned(ctx: &Ctx, key: &str) -> bool {
    ctx.dry_run()
        && ctx.read(|s| {
            s.resources
                .get(key)
                .is_some_and(|r| r.id.starts_with("planned:"))
        })
}

/// In a dry run, records the resource as planned (in memory only: nothing is saved).
fn record_planned(ctx: &Ctx, key: &str, id: &str) -> Result<()> {
    record(ctx, key, &format!("planned:{id}"), true)
}

/// The real id of a recorded resource, without a dry run's `planned:` mark.
fn id_of(recorded: &str) -> &str {
    recorded.strip_prefix("planned:").unwrap_or(recorded)
}

/// `Ok(None)` for a 404.
fn optional<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

fn cluster_info(ctx: &Ctx) -> Result<crate::state::ClusterInfo> {
    ctx.read(|s| s.cluster.clone())
        .ok_or_else(|| Error::Lookup {
            what: "the cluster of this deployment".to_owned(),
            reason: "the state file does not record it; run `up` again".to_owned(),
        })
}

/// The group of the cache, storage account and DNS zone, as the cluster step recorded it.
fn resources_group(ctx: &Ctx) -> Result<String> {
    ctx.read(|s| s.settings.as_ref().map(|s| s.resource_group.clone()))
        .ok_or_else(|| Error::Lookup {
            what: "the settings of this deployment".to_owned(),
            reason: "the state file does not record them; run `up` again".to_owned(),
        })
}
