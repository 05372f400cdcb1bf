//! PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and the strategic
//! merge patch of built-in kinds, whose lists merge by key (containers by `name`,
//! ports by `containerPort`, ...) instead of being replaced.

use serde_json::{Map, Value};

use super::status::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Merge,
    Json,
    Strategic,
    Apply,
}

impl PatchType {
    /// From the request's Content-Type.
    pub fn from_content_type(ct: &str) -> Result<Self, ApiError> {
        let base = ct.split(';').next().unwrap_or("").trim();
        match base {
            "application/merge-patch+json" => Ok(PatchType::Merge),
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchType::Apply),
            _ => Err(ApiError::unsupported_media_type(ct)),
        }
    }
}

/// Applies a merge, JSON or strategic patch to `target`.
pub fn apply_patch(kind: PatchType, target: &Value, body: &[u8]) -> Result<Value, ApiError> {
    match kind {
        PatchType::Merge => {
            let p: Value = parse_json(body)?;
            let mut out = target.clone();
            json_patch::merge(&mut out, &p);
            Ok(out)
        }
        PatchType::Json => {
            let p: json_patch::Patch = serde_json::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            })?;
            let mut out = target.clone();
            json_patch::patch(&mut out, &p)
                .map_err(|e| ApiError::internal(e.to_string()).with_code(422, "Invalid"))?;
            Ok(out)
        }
        PatchType::Strategic => {
            let p: Value = parse_json(body)?;
            let mut out = target.clone();
            strategic_merge(&mut out, &p, "");
            Ok(out)
        }
        PatchType::Apply => Err(ApiError::internal("apply is not a plain patch")),
    }
}

fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
}

/// The merge key of a list field of the built-in types, by field name. `None` means the
/// list is atomic (replaced as a whole).
pub fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "volumeMounts"
        | "env"
        | "imagePullSecrets"
        | "hostAliases"
        | "resourceClaims" => match field {
            "hostAliases" => "ip",
            _ => "name",
        },
        "ports" => "containerPort",
        "volumeDevices" => "devicePath",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "topologySpreadConstraints" => "topologyKey",
        _ => return None,
    })
}

/// Lists of scalars that merge as sets.
fn is_set_list(field: &str) -> bool {
    field == "finalizers"
}

/// The strategic merge of `patch` into `target`; `field` names the value being merged.
pub fn strategic_merge(target: &mut Value, patch: &Value, field: &str) {
    let Value::Object(pm) = patch else {
        *target = patch.clone();
        return;
    };
    if pm.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut p = pm.clone();
        p.remove("$patch");
        *target = Value::Object(p);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(tm) = target else { return };
    let retain: Option<Vec<String>> = pm.get("$retainKeys").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect()
    });
    for (k, pv) in pm {
        if k.starts_with('$') {
            if let Some(list) = k.strip_prefix("$deleteFromPrimitiveList/") {
                if let (Some(Value::Array(t)), Value::Array(del)) = (tm.get_mut(list), pv) {
                    t.retain(|x| !del.contains(x));
                }
            } else if let Some(list) = k.strip_prefix("$setElementOrder/") {
                let _ = list; // order hints: the result keeps the target's order
            }
            continue;
        }
        if pv.is_null() {
            tm.remove(k);
            continue;
        }
        match (tm.get_mut(k), pv) {
            (Some(Value::Array(t)), Value::Array(p)) => merge_list(t, p, k),
            (Some(t @ Value::Object(_)), Value::Object(_)) => strategic_merge(t, pv, k),
            _ => {
                let mut fresh = Value::Null;
                if pv.is_object() {
                    strategic_merge(&mut fresh, pv, k);
                    strip_directives(&mut fresh);
                } else if let Value::Array(p) = pv {
                    let mut items = Vec::new();
                    merge_list(&mut items, p, k);
                    fresh = Value::Array(items);
                } else {
                    fresh = pv.clone();
                }
                tm.insert(k.clone(), fresh);
            }
        }
    }
    if let Some(keep) = retain {
        tm.retain(|k, _| keep.contains(k));
    }
    let _ = field;
}

fn merge_list(target: &mut Vec<Value>, patch: &[Value], field: &str) {
    if let Some(key) = merge_key(field) {
        for item in patch {
            let directive = item.get("$patch").and_then(Value::as_str);
            let id = item.get(key);
            let pos = id.and_then(|id| target.iter().position(|t| t.get(key) == Some(id)));
            match (directive, pos) {
                (Some("delete"), Some(i)) => {
                    target.remove(i);
                }
                (Some("delete"), None) => {}
                (_, Some(i)) => strategic_merge(&mut target[i], item, field),
                (_, None) => {
                    let mut fresh = Value::Null;
                    strategic_merge(&mut fresh, item, field);
                    strip_directives(&mut fresh);
                    target.push(fresh);
                }
            }
        }
    } else if is_set_list(field) {
        for item in patch {
            if !target.contains(item) {
                target.push(item.clone());
            }
        }
    } else {
        *target = patch.to_vec();
    }
}

fn strip_directives(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with('$'));
            m.values_mut().for_each(strip_directives);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_directives),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merge_keys_containers_and_mounts_by_name() {
        let mut pod = json!({"spec": {"containers": [
            {"name": "a", "image": "x:1", "volumeMounts": [{"name": "v", "mountPath": "/v"}]},
            {"name": "b", "image": "y:1"}
        ]}});
        let patch = json!({"spec": {"containers": [
            {"name": "a", "volumeMounts": [{"name": "w", "mountPath": "/w"}]},
            {"name": "b", "$patch": "delete"}
        ]}});
        strategic_merge(&mut pod, &patch, "");
        assert_eq!(
            pod,
            json!({"spec": {"containers": [
                {"name": "a", "image": "x:1", "volumeMounts": [
                    {"name": "v", "mountPath": "/v"}, {"name": "w", "mountPath": "/w"}]}
            ]}})
        );
    }

    #[test]
    fn strategic_merge_replaces_atomic_lists_and_deletes_nulls() {
        let mut pv = json!({"spec": {"mountOptions": ["vers=3"], "claimRef": {"name": "x"}}});
        strategic_merge(
            &mut pv,
            &json!({"spec": {"mountOptions": ["vers=3", "hard"], "claimRef": null}}),
            "",
        );
        assert_eq!(pv, json!({"spec": {"mountOptions": ["vers=3", "hard"]}}));
    }
}
