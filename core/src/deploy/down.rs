//! `down`: flush the cache first (a write-back cache holds data not yet in Blob), then delete the
//! storage target, the cache, the DNS record set, link and zone, the role assignments and the
//! subnet, in that order and only those this tool created (with `adopt`, also those that carry
//! the deployment's tag). The storage account and container stay unless `delete_data`. Each
//! deletion is saved at once, so an interrupted `down` resumes.
//!
//! Nothing another deployment uses is deleted (issue 12 item 1): a resource another state file
//! beside this one records, a DNS object tagged for another deployment, and a zone (with its
//! vnet link) that still holds record sets this run did not delete, or other links, are kept
//! and reported with the reason.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::azure::ids::same_id;
use crate::azure::lro::Until;
use crate::azure::{
    ArmClient, ResourceId, amlfs, authorization, cache, dns, lro, network, storage,
};
use crate::progress::{Event, Progress};
use crate::state::{LockedState, Neighbours, State};
use crate::{Error, InvalidInput, Result};

use super::spec::DEPLOYMENT_TAG;

use super::context::Waits;
use super::steps::keys;

#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    /// Also delete the storage account and container (if this tool created them).
    pub delete_data: bool,
    /// Delete a cache that is not healthy enough to flush.
    pub force: bool,
    /// The user confirmed (`--yes`): needed to delete a container that may hold data.
    pub yes: bool,
    /// Start the cache's deletion and stop (the rest needs it gone).
    pub no_wait: bool,
    /// Also delete what carries this deployment's tag without being created by its state file.
    pub adopt: bool,
    pub waits: Waits,
    pub progress: Progress,
}

#[derive(Debug)]
pub struct DownReport {
    /// ARM ids deleted (or found already gone), in order.
    pub deleted: Vec<String>,
    /// Resources left in place: not created by this tool, or data kept.
    pub kept: Vec<String>,
    /// Why some of `kept` were kept although this deployment created them: (id, reason).
    pub reasons: Vec<(String, String)>,
    /// Kept resources that carry this deployment's tag: `adopt` would delete them.
    pub adoptable: Vec<String>,
    /// True when `--no-wait` left the cache deleting; run `down` again to finish.
    pub pending: bool,
    pub state: State,
}

pub async fn down(client: &ArmClient, store: LockedState, opts: DownOptions) -> Result<DownReport> {
    let started = Instant::now();
    let mut state = store.load()?.ok_or_else(|| Error::StateMissing {
        path: store.path().to_path_buf(),
    })?;
    let mut report = DownReport {
        deleted: Vec::new(),
        kept: Vec::new(),
        reasons: Vec::new(),
        adoptable: Vec::new(),
        pending: false,
        state: state.clone(),
    };
    let neighbours = Neighbours::load(store.path(), &state.deployment);
    let owned = |s: &State, key: &str| {
        s.resources
            .get(key)
            .filter(|r| r.created || (opts.adopt && r.tagged))
            .map(|r| r.id.clone())
    };
    // A cache wrote back to the container through its storage target; a filesystem archives
    // to its HSM container.
    let holds_data = state.steps.contains_key("target")
        || (state.steps.contains_key("filesystem") && state.lustre.as_ref().is_some_and(|l| l.hsm));
    if opts.delete_data && holds_data && !opts.yes && owned(&state, keys::CONTAINER).is_some() {
        return Err(InvalidInput::new(
            "--delete-data",
            "the container holds the data the cache wrote back to Blob storage",
        )
        .hint("Pass --yes as well to delete it with everything in it")
        .into());
    }

    if let Some(id) = owned(&state, keys::CACHE) {
        let cache_id = ResourceId::parse(&id)?;
        if let Some(c) = settled_cache(client, &cache_id, &opts.waits.cache).await? {
            let health = c.properties.health.as_ref().and_then(|h| h.state.clone());
            let healthy = health
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case("Healthy"));
            if healthy {
                let step = Step::start(&opts.progress, "flush", &id);
                cache::begin_flush(client, &cache_id)
                    .await?
                    .wait(client, &opts.waits.cache)
                    .await?;
                step.finish(&opts.progress);
            } else if !opts.force {
                return Err(Error::Lookup {
                    what: format!("a cache healthy enough to flush ({})", c.name),
                    reason: format!(
                        "its health is {}. Deleting it without a flush loses any data not yet written back to Blob storage; fix the cache (az-hpccache-ext cache show), or pass --force to delete it anyway",
                        health.as_deref().unwrap_or("unknown")
                    ),
                });
            }
        }
    }

    if let Some(id) = owned(&state, keys::AML_FILESYSTEM) {
        super::down_amlfs::before_delete(client, &id, &state, &opts).await?;
    }

    let plan: [(&str, Kind); 9] = [
        (keys::STORAGE_TARGET, Kind::Target),
        (keys::CACHE, Kind::Cache),
        (keys::AML_FILESYSTEM, Kind::Filesystem),
        (keys::DNS_RECORDS, Kind::Records),
        (keys::VNET_LINK, Kind::Link),
        (keys::DNS_ZONE, Kind::Zone),
        (keys::ROLE_ACCOUNT_CONTRIBUTOR, Kind::Role),
        (keys::ROLE_BLOB_DATA_CONTRIBUTOR, Kind::Role),
        (keys::SUBNET, Kind::Subnet),
    ];
    let data: [(&str, Kind); 3] = [
        (keys::CONTAINER, Kind::Container),
        (keys::LOGGING_CONTAINER, Kind::Container),
        (keys::STORAGE_ACCOUNT, Kind::Account),
    ];
    let all = plan.iter().chain(data.iter().filter(|_| opts.delete_data));
    for (key, kind) in all {
        let Some(r) = state.resources.get(*key).cloned() else {
            continue;
        };
        if !(r.created || (opts.adopt && r.tagged)) {
            if r.tagged {
                report.adoptable.push(r.id.clone());
            }
            report.kept.push(r.id.clone());
            continue;
        }
        if let Some(why) = keep_reason(client, *kind, &r.id, &state, &neighbours, &report).await? {
            report.reasons.push((r.id.clone(), why));
            report.kept.push(r.id.clone());
            continue;
        }
        let step = Step::start(&opts.progress, &format!("delete {key}"), &r.id);
        if matches!(kind, Kind::Cache | Kind::Filesystem) && opts.no_wait {
            let id = ResourceId::parse(&r.id)?;
            let started = if *kind == Kind::Cache {
                cache::begin_delete_cache(client, &id).await
            } else {
                amlfs::begin_delete(client, &id).await
            };
            match started {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
            report.pending = true;
            break;
        }
        let progress = opts.progress.for_step(format!("delete {key}"));
        delete(client, *kind, &r.id, &opts.waits, &progress).await?;
        state.resources.remove(*key);
        state.steps.clear();
        if *kind == Kind::Cache {
            state.cache = None;
            state.operations.remove(keys::CACHE);
        }
        if *kind == Kind::Records {
            state.dns = None;
        }
        if *kind == Kind::Filesystem {
            state.lustre = None;
            state.operations.remove(keys::AML_FILESYSTEM);
        }
        store.save(&state)?;
        report.deleted.push(r.id);
        step.finish(&opts.progress);
    }
    for key in [
        keys::CONTAINER,
        keys::LOGGING_CONTAINER,
        keys::STORAGE_ACCOUNT,
    ] {
        if !opts.delete_data
            && let Some(r) = state.resources.get(key)
        {
            report.kept.push(r.id.clone());
        }
    }
    report.state = state;
    // The last line of a non-interactive log says that (and when) it ended (issue 16).
    if !report.pending {
        opts.progress.emit(Event::StepFinished {
            step: "down".to_owned(),
            elapsed: started.elapsed(),
        });
    }
    Ok(report)
}

/// Why a resource this deployment may delete must stay, if it must: another deployment
/// records it or is tagged on it, or (a zone and its link) something else still needs it.
async fn keep_reason(
    client: &ArmClient,
    kind: Kind,
    id: &str,
    state: &State,
    neighbours: &Neighbours,
    report: &DownReport,
) -> Result<Option<String>> {
    // A zone and its link are in use while records resolve through them, which the zone
    // itself tells (below); another state file naming them says only that it found them, and
    // keeps naming them after its own `down`.
    if !matches!(kind, Kind::Zone | Kind::Link)
        && let Some(other) = neighbours.recording(id)
    {
        return Ok(Some(format!(
            "the state file of deployment {other} records it too"
        )));
    }
    let rid = ResourceId::parse(id)?;
    let deployment = state.deployment.as_str();
    let tagged_for = |tags: &BTreeMap<String, String>| {
        tags.get(DEPLOYMENT_TAG)
            .filter(|d| d.as_str() != deployment)
            .map(|d| format!("it carries the tag {DEPLOYMENT_TAG}={d}"))
    };
    match kind {
        Kind::Records => {
            let zone = rid.parent().ok_or_else(|| bad_id(id))?;
            Ok(dns::get_a_record_set(client, &zone, rid.name())
                .await?
                .and_then(|r| tagged_for(&r.properties.metadata)))
        }
        Kind::Link => {
            if let Some(l) = dns::get_link(client, &rid).await?
                && let Some(why) = tagged_for(&l.tags)
            {
                return Ok(Some(why));
            }
            let zone = rid.parent().ok_or_else(|| bad_id(id))?;
            zone_in_use(client, &zone, id).await
        }
        Kind::Zone => {
            let link_kept = state
                .resources
                .get(keys::VNET_LINK)
                .is_some_and(|l| report.kept.contains(&l.id));
            if link_kept {
                return Ok(Some(
                    "its vnet link is kept, and a zone with links cannot be deleted".to_owned(),
                ));
            }
            if let Some(z) = dns::get_zone(client, &rid).await?
                && let Some(why) = tagged_for(&z.tags)
            {
                return Ok(Some(why));
            }
            zone_in_use(client, &rid, id).await
        }
        _ => Ok(None),
    }
}

/// Why the zone (or its link, `own` being the link's id) must stay: record sets besides its
/// SOA, or links besides `own`, that this run did not delete.
async fn zone_in_use(client: &ArmClient, zone: &ResourceId, own: &str) -> Result<Option<String>> {
    let records: Vec<String> = optional(dns::list_record_sets(client, zone).await)?
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.name)
        .collect();
    if !records.is_empty() {
        return Ok(Some(format!(
            "zone {} still holds record sets this deployment does not delete ({})",
            zone.name(),
            records.join(", ")
        )));
    }
    let links: Vec<String> = optional(dns::list_links(client, zone).await)?
        .unwrap_or_default()
        .into_iter()
        .filter(|l| !same_id(&l.id, own))
        .map(|l| l.name)
        .collect();
    if !links.is_empty() {
        return Ok(Some(format!(
            "zone {} still has other vnet links ({})",
            zone.name(),
            links.join(", ")
        )));
    }
    Ok(None)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Target,
    Cache,
    Filesystem,
    Records,
    Link,
    Zone,
    Role,
    Subnet,
    Container,
    Account,
}

/// One deletion (or the flush) as the user sees it: started, then finished.
struct Step {
    name: String,
    started: Instant,
}

impl Step {
    fn start(progress: &Progress, name: &str, id: &str) -> Step {
        progress.emit(Event::StepStarted {
            step: name.to_owned(),
            detail: Some(id.to_owned()),
        });
        Step {
            name: name.to_owned(),
            started: Instant::now(),
        }
    }

    fn finish(self, progress: &Progress) {
        progress.emit(Event::StepFinished {
            step: self.name,
            elapsed: self.started.elapsed(),
        });
    }
}

/// Deletes one resource and waits until it is gone; one already gone counts as deleted.
async fn delete(
    client: &ArmClient,
    kind: Kind,
    id: &str,
    waits: &Waits,
    progress: &Progress,
) -> Result<()> {
    let rid = ResourceId::parse(id)?;
    let policy = if matches!(kind, Kind::Cache | Kind::Filesystem) {
        &waits.cache
    } else {
        &waits.other
    };
    let settle = |e: Error| async move {
        match e {
            // A resource mid-operation answers 409: wait for it to settle into gone.
            Error::Arm { status: 409, .. } => lro::wait_for_resource(
                client,
                id,
                api_version(kind),
                Until::Deleted,
                policy,
                &Progress::none(),
            )
            .await
            .map(|_| ()),
            e => Err(e),
        }
    };
    let poller = match kind {
        Kind::Target => cache::begin_delete_storage_target(client, &rid).await,
        Kind::Cache => cache::begin_delete_cache(client, &rid).await,
        Kind::Filesystem => amlfs::begin_delete(client, &rid).await,
        Kind::Link => {
            return match dns::delete_link(client, &rid, policy, progress).await {
                Err(e) => settle(e).await,
                ok => ok,
            };
        }
        Kind::Zone => dns::begin_delete_zone(client, &rid).await,
        Kind::Subnet => {
            let release = &waits.subnet_release;
            return match network::delete_subnet(client, &rid, policy, release, progress).await {
                Err(e) => settle(e).await,
                ok => ok,
            };
        }
        Kind::Records => {
            let zone = rid.parent().ok_or_else(|| bad_id(id))?;
            return dns::delete_a_record_set(client, &zone, rid.name()).await;
        }
        Kind::Role => {
            return authorization::delete_role_assignment(client, id)
                .await
                .map(|_| ());
        }
        Kind::Container => {
            let account = rid
                .parent()
                .and_then(|b| b.parent())
                .ok_or_else(|| bad_id(id))?;
            return ignore_404(storage::delete_container(client, &account, rid.name()).await);
        }
        Kind::Account => return ignore_404(storage::delete_account(client, &rid).await),
    };
    match poller {
        Ok(p) => p.wait(client, policy).await.map(|_| ()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => settle(e).await,
    }
}

fn api_version(kind: Kind) -> &'static str {
    match kind {
        Kind::Target | Kind::Cache => cache::API_VERSION,
        Kind::Filesystem => amlfs::API_VERSION,
        Kind::Records | Kind::Link | Kind::Zone => dns::API_VERSION,
        Kind::Role => authorization::API_VERSION,
        Kind::Subnet => network::API_VERSION,
        Kind::Container | Kind::Account => storage::API_VERSION,
    }
}

fn bad_id(id: &str) -> Error {
    Error::UnexpectedResponse {
        url: id.to_owned(),
        reason: "the state file holds a malformed resource id".to_owned(),
    }
}

fn ignore_404(r: Result<()>) -> Result<()> {
    match r {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

/// The cache once no operation is running on it (or `None` when it is gone).
///
/// RELIABILITY.md (fix 3): a `down` killed after it sent the cache's DELETE (or during a flush,
/// or while `up` still creates the cache) leaves the cache `Deleting`/`Flushing`/
/// `Transitioning`. The re-run read that health once and refused ("not healthy enough to
/// flush"), so an interrupted `down` could not finish without `--force`. It now waits for the
/// operation to end first (at the poller's adaptive [`lro::Pace`], within the policy's
/// timeout); a cache being deleted was flushed by the run that deleted it, and one that ends
/// unhealthy is still refused below.
async fn settled_cache(
    client: &ArmClient,
    id: &ResourceId,
    policy: &lro::PollPolicy,
) -> Result<Option<cache::Cache>> {
    let started = Instant::now();
    let mut pace = lro::Pace::new(client, policy);
    loop {
        let Some(c) = optional(cache::get_cache(client, id).await)? else {
            return Ok(None);
        };
        let provisioning = c
            .properties
            .provisioning_state
            .as_deref()
            .unwrap_or("Succeeded");
        let health = c
            .properties
            .health
            .as_ref()
            .and_then(|h| h.state.as_deref())
            .unwrap_or_default();
        let busy = !lro::is_terminal(provisioning)
            || ["Transitioning", "Flushing", "Upgrading"]
                .iter()
                .any(|h| h.eq_ignore_ascii_case(health));
        let interval = pace.next(client, None);
        if !busy || started.elapsed().saturating_add(interval) > policy.timeout {
            return Ok(Some(c));
        }
        tokio::time::sleep(interval).await;
    }
}

fn optional<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
