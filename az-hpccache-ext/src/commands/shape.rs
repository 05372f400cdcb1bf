//! Results shaped the way `az` prints the same resource types: the ARM `properties` object
//! flattened into the top level (where the spec marks it `x-ms-client-flatten`) and
//! `resourceGroup` added, so scripts written against `az hpc-cache show --query
//! mountAddresses` work unchanged.

use hpccache_core::azure::ResourceId;
use serde::Serialize;
use serde_json::Value;

/// Flattens `properties` into the top level and adds `resourceGroup` from the id.
/// Top-level keys win over a property of the same name (az's flattening keeps both
/// `name` and `id` from the envelope).
pub fn flatten(resource: Value) -> Value {
    let Value::Object(mut top) = resource else {
        return resource;
    };
    if let Some(Value::Object(props)) = top.remove("properties") {
        for (k, v) in props {
            top.entry(k).or_insert(v);
        }
    }
    if let Some(rg) = top
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| ResourceId::parse(id).ok())
        .and_then(|id| id.resource_group_name().map(str::to_owned))
    {
        top.insert("resourceGroup".into(), Value::String(rg));
    }
    Value::Object(top)
}

/// [`flatten`] for a typed core resource.
pub fn flat<T: Serialize>(resource: &T) -> Value {
    flatten(serde_json::to_value(resource).unwrap_or(Value::Null))
}

/// [`flatten`] over a list.
pub fn flat_list<T: Serialize>(items: &[T]) -> Value {
    Value::Array(items.iter().map(flat).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn properties_move_to_the_top_with_the_resource_group() {
        let v = flatten(json!({
            "id": "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.StorageCache/caches/c",
            "name": "c",
            "properties": {"mountAddresses": ["10.0.0.1"], "name": "ignored"}
        }));
        assert_eq!(v["mountAddresses"], json!(["10.0.0.1"]));
        assert_eq!(v["resourceGroup"], "rg1");
        assert_eq!(v["name"], "c");
        assert!(v.get("properties").is_none());
    }
}
