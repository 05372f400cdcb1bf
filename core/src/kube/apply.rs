//! The one way this tool writes an object: server-side apply with field manager
//! [`FIELD_MANAGER`] and `force` (our fields are ours even if someone edited them by hand),
//! reporting whether the object was created, changed or left alone.

use std::fmt::Debug;

use ::kube::Api;
use ::kube::api::{Patch, PatchParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{DryRun, FIELD_MANAGER};
use crate::{Error, Result};

/// What an apply did, as kubectl words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    Configured,
    Unchanged,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
        }
    }
}

/// The object as the server holds it after the apply (or would, with a dry run).
#[derive(Debug, Clone)]
pub struct Applied<K> {
    pub object: K,
    pub outcome: Outcome,
}

/// What the caller knows of the object before applying it.
#[derive(Debug, Clone)]
pub enum Current<K> {
    /// Not looked for: [`apply_with`] reads it.
    Unknown,
    /// A list that would have held it did not: it does not exist (yet).
    Absent,
    Present(K),
}

/// Applies `desired`. `adjust` may change it once the current object is known (e.g. keep
/// the binder's `claimRef.uid`, which a real server would otherwise drop, since
/// `claimRef` is an atomic struct).
///
/// `current` comes from a list the caller made when mounting into many namespaces: that
/// saves a GET per object, present or not.
pub async fn apply_with<K>(
    api: &Api<K>,
    mut desired: K,
    current: Current<K>,
    dry_run: DryRun,
    adjust: impl FnOnce(&K, &mut K),
) -> Result<Applied<K>>
where
    K: ::kube::Resource<DynamicType = ()> + Clone + Debug + Serialize + DeserializeOwned,
{
    let kind = K::kind(&()).to_string();
    let name = desired
        .meta()
        .name
        .clone()
        .ok_or_else(|| Error::ClusterInvalid(format!("a {kind} to apply has no name")))?;
    let what = match desired.meta().namespace.as_deref() {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    };
    let before = match current {
        Current::Present(k) => Some(k),
        Current::Absent => None,
        Current::Unknown => api
            .get_opt(&name)
            .await
            .map_err(Error::kube(format!("read {what}")))?,
    };
    if let Some(current) = &before {
        // Already as we want it, and applied by us before: writing again could only churn
        // ownership (e.g. of the fields the binder added), so leave it alone.
        if ours(current) && is_subset(&to_json(&desired), &to_json(current)) {
            return Ok(Applied {
                object: current.clone(),
                outcome: Outcome::Unchanged,
            });
        }
        adjust(current, &mut desired);
    }
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        force: true,
        dry_run: dry_run == DryRun::Server,
        ..PatchParams::default()
    };
    let action = format!("apply {what}");
    let object = api
        .patch(&name, &params, &Patch::Apply(&desired))
        .await
        .map_err(Error::kube(action))?;
    // resourceVersion changes on every real write, and only then.
    let outcome = match &before {
        None => Outcome::Created,
        Some(b) if b.meta().resource_version == object.meta().resource_version => {
            Outcome::Unchanged
        }
        Some(_) => Outcome::Configured,
    };
    Ok(Applied { object, outcome })
}

fn to_json<K: Serialize>(k: &K) -> Value {
    serde_json::to_value(k).unwrap_or(Value::Null)
}

/// Whether our field manager applied this object before.
fn ours<K: ::kube::Resource>(k: &K) -> bool {
    k.meta().managed_fields.iter().flatten().any(|m| {
        m.manager.as_deref() == Some(FIELD_MANAGER) && m.operation.as_deref() == Some("Apply")
    })
}

/// Whether every field `want` sets has the same value in `have` (lists item by item, so a
/// list we set must be exactly as long; extra fields in `have` are someone else's).
pub fn is_subset(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w
            .iter()
            .all(|(k, v)| h.get(k).is_some_and(|hv| is_subset(v, hv))),
        (Value::Array(w), Value::Array(h)) => {
            w.len() == h.len() && w.iter().zip(h).all(|(a, b)| is_subset(a, b))
        }
        _ => want == have,
    }
}

#[cfg(test)]
mod tests {
    use super::is_subset;
    use serde_json::json;

    #[test]
    fn fields_others_added_do_not_count_as_a_change() {
        let want = json!({"spec": {"claimRef": {"name": "c", "namespace": "n"}, "x": [1, 2]}});
        let have = json!({"spec": {"claimRef": {"name": "c", "namespace": "n", "uid": "u"}, "x": [1, 2]}, "status": {}});
        assert!(is_subset(&want, &have));
        assert!(!is_subset(&json!({"spec": {"x": [1]}}), &have));
        assert!(!is_subset(
            &json!({"spec": {"claimRef": {"name": "d"}}}),
            &have
        ));
    }
}
