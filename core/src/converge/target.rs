//! A blob (clfs) storage target: the wanted target in → read → compare → PUT → wait →
//! [`Converged`]. `up` (its target step) and `blob-storage-target add` call [`converge`].
//!
//! - The junction is decided here once: the namespace path over the container's root, the
//!   default access policy, no `nfsExport` (a clfs target has none):
//!   [`cache::blob_target_body`].
//! - A target that differs (another container or no such junction) or ended Failed is PUT
//!   again; one still being written is waited for, not written over.
//! - Role assignments take minutes to reach the cache: a refused creation is sent again for a
//!   bounded time ([`cache::create_blob_target`], the one place that retry lives).
//! - `no_wait` sends the PUT once and returns its operation.

use super::Converged;
use crate::Result;
use crate::azure::cache::{self, StorageTarget, TargetRetry};
use crate::azure::ids::same_id;
use crate::azure::lro::{self, Operation, PollPolicy, Until};
use crate::azure::{ArmClient, ResourceId};
use crate::progress::Progress;

/// The target wanted.
#[derive(Debug, Clone)]
pub struct Want {
    pub id: ResourceId,
    /// The blob container's ARM id.
    pub container_id: String,
    /// Where the container appears in the cache's namespace.
    pub namespace_path: String,
}

/// What converging would do, from what was read.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Create,
    /// Still being written (its provisioning state).
    Wait(String),
    /// There, but not as wanted (why): PUT again.
    Update(String),
    None,
}

impl Decision {
    /// The plan's verb.
    pub fn action(&self) -> &'static str {
        match self {
            Decision::Create => "create",
            Decision::Wait(_) => "wait",
            Decision::Update(_) => "update",
            Decision::None => "none",
        }
    }
}

/// How to run it.
pub struct Options<'a> {
    /// Send the PUT once and return (the operation is in [`Outcome::Pending`]).
    pub no_wait: bool,
    pub policy: &'a PollPolicy,
    pub progress: &'a Progress,
    /// How long a refused creation is tried again while role assignments propagate.
    pub retry: &'a TargetRetry,
}

#[derive(Debug)]
pub enum Outcome {
    Ready {
        converged: Converged,
        target: Box<StorageTarget>,
    },
    /// Started (or found being written) and not waited for; `operation` when this call
    /// started it, `target` as the last answer gave it.
    Pending {
        converged: Converged,
        operation: Option<Operation>,
        target: Option<Box<StorageTarget>>,
    },
}

/// The target, or `None` when there is none.
pub async fn read(client: &ArmClient, id: &ResourceId) -> Result<Option<StorageTarget>> {
    client.get_optional(id.as_str(), cache::API_VERSION).await
}

/// Whether `t` serves the wanted container at the wanted namespace path.
pub fn serves(t: &StorageTarget, want: &Want) -> bool {
    let container = t
        .properties
        .extra
        .get("clfs")
        .and_then(|c| c.get("target"))
        .and_then(|v| v.as_str());
    container.is_some_and(|c| same_id(c, &want.container_id))
        && t.properties
            .junctions
            .iter()
            .any(|j| j.namespace_path.as_deref() == Some(want.namespace_path.as_str()))
}

/// Compares a found target with the wanted one.
pub fn decide(want: &Want, found: Option<&StorageTarget>) -> Decision {
    let Some(t) = found else {
        return Decision::Create;
    };
    let state = t
        .properties
        .provisioning_state
        .as_deref()
        .unwrap_or("Succeeded");
    if !lro::is_terminal(state) {
        return Decision::Wait(state.to_owned());
    }
    if !state.eq_ignore_ascii_case("Succeeded") {
        return Decision::Update(format!("exists but ended {state}"));
    }
    if !serves(t, want) {
        return Decision::Update(format!(
            "exists but not as asked: container {}, junction {}",
            want.container_id, want.namespace_path
        ));
    }
    Decision::None
}

/// Brings the target to what is wanted.
pub async fn converge(client: &ArmClient, want: &Want, opts: Options<'_>) -> Result<Outcome> {
    let found = read(client, &want.id).await?;
    converge_found(client, want, found, opts).await
}

/// [`converge`] from a target the caller has just read (`None`: there is none).
pub async fn converge_found(
    client: &ArmClient,
    want: &Want,
    found: Option<StorageTarget>,
    opts: Options<'_>,
) -> Result<Outcome> {
    let converged = |created| Converged {
        id: want.id.to_string(),
        created,
    };
    let created = found.is_none();
    match decide(want, found.as_ref()) {
        Decision::None => Ok(Outcome::Ready {
            converged: converged(false),
            target: Box::new(found.expect("decide answers None only for a found target")),
        }),
        Decision::Wait(_) if opts.no_wait => Ok(Outcome::Pending {
            converged: converged(false),
            operation: None,
            target: found.map(Box::new),
        }),
        Decision::Wait(_) => {
            let body = lro::wait_for_resource(
                client,
                want.id.as_str(),
                cache::API_VERSION,
                Until::Succeeded,
                opts.policy,
                opts.progress,
            )
            .await?;
            // An earlier run's write may have ended other than wanted.
            let t = parse_or_get(client, &want.id, body).await?;
            if decide(want, Some(&t)) == Decision::None {
                return Ok(Outcome::Ready {
                    converged: converged(false),
                    target: Box::new(t),
                });
            }
            put(client, want, false, &opts).await
        }
        Decision::Create | Decision::Update(_) => put(client, want, created, &opts).await,
    }
}

async fn put(
    client: &ArmClient,
    want: &Want,
    created: bool,
    opts: &Options<'_>,
) -> Result<Outcome> {
    let converged = Converged {
        id: want.id.to_string(),
        created,
    };
    if opts.no_wait {
        let poller = cache::begin_create_blob_target(
            client,
            &want.id,
            &want.container_id,
            &want.namespace_path,
        )
        .await?;
        let target = poller
            .initial()
            .value()
            .ok()
            .and_then(|v| serde_json::from_value::<StorageTarget>(v).ok());
        return Ok(Outcome::Pending {
            converged,
            operation: Some(poller.operation().clone()),
            target: target.map(Box::new),
        });
    }
    let body = cache::create_blob_target(
        client,
        &want.id,
        &want.container_id,
        &want.namespace_path,
        opts.policy,
        opts.retry,
        opts.progress,
    )
    .await?;
    Ok(Outcome::Ready {
        converged,
        target: Box::new(parse_or_get(client, &want.id, body).await?),
    })
}

/// The target as an operation's result gave it, or a fresh GET when it gave none.
async fn parse_or_get(
    client: &ArmClient,
    id: &ResourceId,
    body: Option<serde_json::Value>,
) -> Result<StorageTarget> {
    if let Some(v) = body
        && let Ok(t) = serde_json::from_value::<StorageTarget>(v)
    {
        return Ok(t);
    }
    cache::get_storage_target(client, id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const CONTAINER: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c";

    fn want() -> Want {
        Want {
            id: cache::storage_target_id(&cache::cache_id("s", "rg", "c"), "t"),
            container_id: CONTAINER.into(),
            namespace_path: "/myfilepath".into(),
        }
    }

    fn found(state: &str, container: &str, path: &str) -> StorageTarget {
        let v: Value = json!({
            "id": want().id.to_string(),
            "name": "t",
            "properties": {
                "targetType": "clfs",
                "clfs": {"target": container},
                "junctions": [{"namespacePath": path, "targetPath": "/", "nfsAccessPolicy": "default"}],
                "provisioningState": state
            }
        });
        serde_json::from_value(v).expect("a target")
    }

    #[test]
    fn an_equal_target_needs_nothing_and_a_missing_one_is_created() {
        assert_eq!(decide(&want(), None), Decision::Create);
        let same = found("Succeeded", &CONTAINER.to_uppercase(), "/myfilepath");
        assert_eq!(decide(&want(), Some(&same)), Decision::None);
    }

    #[test]
    fn a_different_or_failed_target_is_put_again_and_a_busy_one_waited_for() {
        let other = found("Succeeded", CONTAINER, "/other");
        assert!(matches!(decide(&want(), Some(&other)), Decision::Update(_)));
        let failed = found("Failed", CONTAINER, "/myfilepath");
        assert!(matches!(
            decide(&want(), Some(&failed)),
            Decision::Update(_)
        ));
        let creating = found("Creating", CONTAINER, "/myfilepath");
        assert_eq!(
            decide(&want(), Some(&creating)),
            Decision::Wait("Creating".into())
        );
    }

    #[test]
    fn the_junction_is_the_namespace_path_without_an_nfs_export() {
        let body = cache::blob_target_body(CONTAINER, "/myfilepath");
        let j = &body["properties"]["junctions"][0];
        assert_eq!(j["namespacePath"], "/myfilepath");
        assert!(j.get("nfsExport").is_none(), "{body}");
        assert_eq!(body["properties"]["targetType"], "clfs");
    }
}
