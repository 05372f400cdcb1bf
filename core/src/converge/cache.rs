//! An HPC Cache: the wanted cache in → read → compare → create or PATCH → wait →
//! [`Converged`]. `up` (its cache step), `cache create` and `cache update` call [`converge`].
//!
//! - SKU, size, subnet and location are fixed at creation: a difference is bad input naming
//!   the caller's flag, never a doomed request.
//! - Root squash is read from the default access policy's default rule
//!   ([`Cache::root_squash`]); `None` in [`Want::root_squash`] keeps what the cache has.
//! - An existing cache is changed with one PATCH (the spec's `Caches_Update` takes the
//!   cache's `tags` and `securitySettings`): unlike a PUT of the whole resource it keeps
//!   every other access policy and setting the cache has.
//! - The create PUT is sent once and followed with the core's poller; `no_wait` returns after
//!   it started, with the operation to resume later.
//! - A cache this tool created that ended Failed is deleted and created again (as Azure
//!   advises); someone else's is refused.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Converged;
use crate::azure::cache::{self, Cache, NewCache};
use crate::azure::ids::same_id;
use crate::azure::lro::{self, FinalState, Operation, OperationKind, Poller, Until};
use crate::azure::{ArmClient, Method, ResourceId};
use crate::spec::location;
use crate::{Error, InvalidInput, Result};

/// The flags a caller names in its errors (`up` and `cache create` spell them differently).
#[derive(Debug, Clone, Copy)]
pub struct Flags {
    pub sku: &'static str,
    pub size: &'static str,
    pub subnet: &'static str,
    /// Where the location came from (`up` puts the cache in its cluster's region).
    pub location: &'static str,
}

impl Flags {
    pub const UP: Flags = Flags {
        sku: "--sku-name",
        size: "--cache-size-gb",
        subnet: "--subnet-name",
        location: "--cluster",
    };
    pub const CACHE: Flags = Flags {
        sku: "--sku-name",
        size: "--cache-size-gb",
        subnet: "--subnet",
        location: "--location",
    };
}

/// The cache wanted.
#[derive(Debug, Clone)]
pub struct Want {
    pub id: ResourceId,
    /// What a create sends.
    pub new: NewCache,
    /// Root squash an existing cache is brought to (`None`: left as it is).
    pub root_squash: Option<bool>,
    /// Tags an existing cache is brought to (`None`: left as they are).
    pub tags: Option<BTreeMap<String, String>>,
    pub flags: Flags,
}

pub use super::{Decision, LongRunning as Options};

#[derive(Debug)]
pub enum Outcome {
    Ready {
        converged: Converged,
        cache: Box<Cache>,
    },
    /// Started (or found creating) and not waited for; `operation` when this call started it,
    /// `cache` as the last answer gave it.
    Pending {
        converged: Converged,
        operation: Option<Operation>,
        cache: Option<Box<Cache>>,
    },
}

/// The cache, or `None` when there is none.
pub async fn read(client: &ArmClient, id: &ResourceId) -> Result<Option<Cache>> {
    client.get_optional(id.as_str(), cache::API_VERSION).await
}

/// Compares a found cache with the wanted one: an error for create-only differences (naming
/// the flag), else the decision.
pub fn decide(want: &Want, found: Option<&Cache>, ours: bool) -> Result<Decision> {
    let Some(c) = found else {
        return Ok(Decision::Create);
    };
    check_create_only(want, c)?;
    let state = c
        .properties
        .provisioning_state
        .as_deref()
        .unwrap_or("Succeeded");
    if state.eq_ignore_ascii_case("Failed") || state.eq_ignore_ascii_case("Canceled") {
        if ours {
            return Ok(Decision::Recreate);
        }
        return Err(Error::Lookup {
            what: format!("a usable cache {}", want.id.name()),
            reason: format!(
                "cache {} exists in state {state} and was not created by this tool; delete it (az-hpccache-ext cache delete) or choose another -n",
                want.id
            ),
        });
    }
    if !lro::is_terminal(state) {
        return Ok(Decision::Wait(state.to_owned()));
    }
    let changes = changes(want, c);
    Ok(if changes.is_empty() {
        Decision::None
    } else {
        Decision::Update(changes)
    })
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// What a PATCH would change, as sentences; empty when the cache is as wanted.
fn changes(want: &Want, c: &Cache) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(w) = want.root_squash {
        let have = c.root_squash();
        if have != Some(w) {
            out.push(format!(
                "root squash is {} on the cache; asked {}",
                have.map(on_off).unwrap_or("unknown"),
                on_off(w)
            ));
        }
    }
    if let Some(t) = &want.tags
        && &c.tags != t
    {
        out.push("its tags differ from those asked".to_owned());
    }
    out
}

fn check_create_only(want: &Want, c: &Cache) -> Result<()> {
    let flags = want.flags;
    let new = &want.new;
    let mut diffs: Vec<(&str, String)> = Vec::new();
    if let Some(s) = &c.sku
        && !s.name.eq_ignore_ascii_case(&new.sku)
    {
        diffs.push((flags.sku, format!("SKU {} (asked {})", s.name, new.sku)));
    }
    if let Some(gb) = c.properties.cache_size_gb
        && gb != new.cache_size_gb
    {
        diffs.push((
            flags.size,
            format!("size {gb} GB (asked {})", new.cache_size_gb),
        ));
    }
    // A dry run's subnet may be one the plan has yet to create.
    if let Some(s) = &c.properties.subnet
        && !new.subnet_id.starts_with("planned:")
        && !same_id(s, &new.subnet_id)
    {
        diffs.push((
            flags.subnet,
            format!("subnet {s} (asked {})", new.subnet_id),
        ));
    }
    if !c.location.is_empty()
        && !new.location.is_empty()
        && location::normalise(&c.location) != location::normalise(&new.location)
    {
        diffs.push((
            flags.location,
            format!("location {} (asked {})", c.location, new.location),
        ));
    }
    let Some((flag, _)) = diffs.first() else {
        return Ok(());
    };
    let all: Vec<String> = diffs.iter().map(|(_, d)| d.clone()).collect();
    Err(InvalidInput::new(
        *flag,
        format!(
            "cache {} exists with {}, which cannot change after creation",
            want.id.name(),
            all.join(", ")
        ),
    )
    .hint("Pass the existing values, choose another name, or delete the cache first")
    .into())
}

/// Brings the cache to what is wanted.
pub async fn converge(client: &ArmClient, want: &Want, opts: Options<'_>) -> Result<Outcome> {
    let found = read(client, &want.id).await?;
    converge_found(client, want, found, opts).await
}

/// [`converge`] from a cache the caller has just read (`None`: there is none).
pub async fn converge_found(
    client: &ArmClient,
    want: &Want,
    found: Option<Cache>,
    opts: Options<'_>,
) -> Result<Outcome> {
    let converged = |created| Converged {
        id: want.id.to_string(),
        created,
    };
    match decide(want, found.as_ref(), opts.ours)? {
        Decision::Create => create(client, want, &opts).await,
        Decision::Recreate => {
            cache::begin_delete_cache(client, &want.id)
                .await?
                .wait(client, opts.policy)
                .await?;
            create(client, want, &opts).await
        }
        Decision::Wait(_) => {
            if opts.no_wait {
                return Ok(Outcome::Pending {
                    converged: converged(opts.ours),
                    operation: None,
                    cache: found.map(Box::new),
                });
            }
            let body = match opts
                .saved
                .as_ref()
                .filter(|op| same_id(&op.resource_id, want.id.as_str()))
            {
                Some(op) => lro::resume(client, op, opts.policy, opts.progress).await?,
                None => {
                    lro::wait_for_resource(
                        client,
                        want.id.as_str(),
                        cache::API_VERSION,
                        Until::Succeeded,
                        opts.policy,
                        opts.progress,
                    )
                    .await?
                }
            };
            // It may have ended with settings other than wanted (an earlier run's create).
            let c = parse_or_get(client, &want.id, body).await?;
            update_if_needed(client, want, c, opts.ours, &opts).await
        }
        Decision::Update(_) | Decision::None => {
            let c = found.expect("decide answers Update or None only for a found cache");
            update_if_needed(client, want, c, false, &opts).await
        }
    }
}

async fn create(client: &ArmClient, want: &Want, opts: &Options<'_>) -> Result<Outcome> {
    (opts.before_create)()?;
    let poller = cache::begin_create_cache(client, &want.id, &want.new).await?;
    finish(client, &want.id, poller, true, opts).await
}

/// Follows a started create or update to its end, or with `no_wait` returns it pending.
async fn finish(
    client: &ArmClient,
    id: &ResourceId,
    poller: Poller,
    created: bool,
    opts: &Options<'_>,
) -> Result<Outcome> {
    let converged = Converged {
        id: id.to_string(),
        created,
    };
    if opts.no_wait && !poller.is_done() {
        let cache = poller
            .initial()
            .value()
            .ok()
            .and_then(|v| serde_json::from_value::<Cache>(v).ok());
        return Ok(Outcome::Pending {
            converged,
            operation: Some(poller.operation().clone()),
            cache: cache.map(Box::new),
        });
    }
    let body = poller.wait(client, opts.policy).await?;
    Ok(Outcome::Ready {
        converged,
        cache: Box::new(parse_or_get(client, id, body).await?),
    })
}

/// The cache as an operation's result gave it, or a fresh GET when it gave none (or no mount
/// addresses yet: clients need them).
async fn parse_or_get(client: &ArmClient, id: &ResourceId, body: Option<Value>) -> Result<Cache> {
    if let Some(v) = body
        && let Ok(c) = serde_json::from_value::<Cache>(v)
        && !c.properties.mount_addresses.is_empty()
    {
        return Ok(c);
    }
    cache::get_cache(client, id).await
}

/// The PATCH body that brings `c` to what is wanted: root squash in the default rule (every
/// other policy and rule kept: a policy list is replaced as a whole) and tags.
fn update_body(want: &Want, c: &Cache) -> Value {
    let mut body = match want.root_squash {
        Some(w) if c.root_squash() != Some(w) => cache::root_squash_patch(c, w),
        _ => json!({}),
    };
    if let Some(t) = &want.tags
        && &c.tags != t
    {
        body["tags"] = json!(t);
    }
    body
}

/// One PATCH with what differs (root squash, tags); the cache as it is afterwards.
async fn update_if_needed(
    client: &ArmClient,
    want: &Want,
    c: Cache,
    created: bool,
    opts: &Options<'_>,
) -> Result<Outcome> {
    if changes(want, &c).is_empty() {
        return Ok(Outcome::Ready {
            converged: Converged {
                id: want.id.to_string(),
                created,
            },
            cache: Box::new(c),
        });
    }
    let op = Operation::new(
        "cache update",
        want.id.as_str(),
        cache::API_VERSION,
        OperationKind::CreateOrUpdate,
        FinalState::AzureAsyncOperation,
    );
    // Setting values is idempotent: a lost answer may be sent again.
    let req =
        lro::request_for(&op, Method::Patch, Some(update_body(want, &c))).retry_non_idempotent();
    let poller = lro::start(client, req, op).await?;
    finish(client, &want.id, poller, created, opts).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBNET: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/c";

    fn want() -> Want {
        Want {
            id: cache::cache_id("s", "rg", "c"),
            new: NewCache {
                location: "eastus".into(),
                sku: "Standard_2G".into(),
                cache_size_gb: 3072,
                subnet_id: SUBNET.into(),
                root_squash: false,
                tags: Default::default(),
            },
            root_squash: None,
            tags: None,
            flags: Flags::CACHE,
        }
    }

    fn found(extra: Value) -> Cache {
        let mut raw = json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.StorageCache/caches/c",
            "name": "c",
            "location": "East US",
            "sku": {"name": "Standard_2G"},
            "properties": {
                "cacheSizeGB": 3072,
                "subnet": SUBNET,
                "provisioningState": "Succeeded",
                "securitySettings": {"accessPolicies": [{"name": "default", "accessRules": [
                    {"scope": "default", "access": "rw", "rootSquash": false}
                ]}]}
            }
        });
        json_patch(&mut raw, extra);
        serde_json::from_value(raw).expect("a cache")
    }

    fn json_patch(a: &mut Value, b: Value) {
        match (a, b) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    json_patch(a.entry(k).or_insert(Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    fn squash(on: bool) -> Value {
        json!({"properties": {"securitySettings": {"accessPolicies": [{"name": "default", "accessRules": [
            {"scope": "default", "access": "rw", "rootSquash": on}
        ]}]}}})
    }

    #[test]
    fn an_equal_cache_needs_nothing_and_a_missing_one_is_created() {
        assert_eq!(
            decide(&want(), Some(&found(json!({}))), false).unwrap(),
            Decision::None
        );
        assert_eq!(decide(&want(), None, false).unwrap(), Decision::Create);
        // Neither root squash nor tags asked: what the cache has is kept.
        assert_eq!(
            decide(&want(), Some(&found(squash(true))), false).unwrap(),
            Decision::None
        );
    }

    #[test]
    fn create_only_differences_are_bad_input_naming_the_callers_flag() {
        let flag = |w: &Want, extra| match decide(w, Some(&found(extra)), true) {
            Err(Error::InvalidInput(i)) => i.flag,
            other => panic!("{other:?}"),
        };
        let w = want();
        assert_eq!(
            flag(&w, json!({"properties": {"cacheSizeGB": 6144}})),
            "--cache-size-gb"
        );
        assert_eq!(
            flag(&w, json!({"sku": {"name": "Standard_4G"}})),
            "--sku-name"
        );
        assert_eq!(
            flag(&w, json!({"properties": {"subnet": "/x/subnets/other"}})),
            "--subnet"
        );
        assert_eq!(flag(&w, json!({"location": "westus"})), "--location");
        let up = Want {
            flags: Flags::UP,
            ..want()
        };
        assert_eq!(
            flag(&up, json!({"properties": {"subnet": "/x/subnets/other"}})),
            "--subnet-name"
        );
        assert_eq!(flag(&up, json!({"location": "westus"})), "--cluster");
        // A dry run's planned subnet is not a difference.
        let mut planned = want();
        planned.new.subnet_id = format!("planned:{SUBNET}x");
        assert_eq!(
            decide(&planned, Some(&found(json!({}))), false).unwrap(),
            Decision::None
        );
    }

    #[test]
    fn asked_root_squash_or_tags_that_differ_are_one_update() {
        let mut w = want();
        w.root_squash = Some(true);
        assert!(matches!(
            decide(&w, Some(&found(json!({}))), false).unwrap(),
            Decision::Update(_)
        ));
        assert_eq!(
            decide(&w, Some(&found(squash(true))), false).unwrap(),
            Decision::None
        );
        let body = update_body(&w, &found(json!({})));
        assert_eq!(
            body.pointer("/properties/securitySettings/accessPolicies/0/accessRules/0/rootSquash"),
            Some(&json!(true))
        );
        assert!(body.get("tags").is_none(), "{body}");

        let mut w = want();
        w.tags = Some([("a".to_owned(), "b".to_owned())].into());
        let d = decide(&w, Some(&found(json!({}))), false).unwrap();
        assert!(matches!(d, Decision::Update(_)), "{d:?}");
        let body = update_body(&w, &found(json!({})));
        assert_eq!(body, json!({"tags": {"a": "b"}}));
    }

    #[test]
    fn failed_is_recreated_when_ours_and_refused_when_not() {
        let failed = json!({"properties": {"provisioningState": "Failed"}});
        assert_eq!(
            decide(&want(), Some(&found(failed.clone())), true).unwrap(),
            Decision::Recreate
        );
        assert!(matches!(
            decide(&want(), Some(&found(failed)), false),
            Err(Error::Lookup { .. })
        ));
        let creating = json!({"properties": {"provisioningState": "Creating"}});
        assert_eq!(
            decide(&want(), Some(&found(creating)), false).unwrap(),
            Decision::Wait("Creating".into())
        );
    }
}
