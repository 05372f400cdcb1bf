//! Typed accessors on objects stored as JSON, so the rest of the server reads
//! `meta::name(&obj)` instead of repeating JSON pointers.

use serde_json::{Map, Value};

/// `obj.pointer(pointer)` without its allocations: the controllers look up a few fields
/// of every object on every tick, and `Value::pointer` unescapes (so copies) each segment.
pub fn at<'a>(obj: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() || pointer.contains('~') {
        return obj.pointer(pointer);
    }
    pointer
        .strip_prefix('/')?
        .split('/')
        .try_fold(obj, |v, seg| match v {
            Value::Object(m) => m.get(seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        })
}

pub fn str_at<'a>(obj: &'a Value, pointer: &str) -> Option<&'a str> {
    at(obj, pointer).and_then(Value::as_str)
}

pub fn name(obj: &Value) -> &str {
    str_at(obj, "/metadata/name").unwrap_or("")
}

pub fn namespace(obj: &Value) -> Option<&str> {
    str_at(obj, "/metadata/namespace")
}

pub fn uid(obj: &Value) -> &str {
    str_at(obj, "/metadata/uid").unwrap_or("")
}

pub fn resource_version(obj: &Value) -> Option<&str> {
    str_at(obj, "/metadata/resourceVersion").filter(|s| !s.is_empty())
}

pub fn deleting(obj: &Value) -> bool {
    at(obj, "/metadata/deletionTimestamp").is_some_and(|v| !v.is_null())
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    at(obj, "/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

pub fn label<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    at(obj, "/metadata/labels")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
}

pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    at(obj, "/metadata/annotations")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
}

/// The object's `metadata` map, created when missing.
pub fn metadata_mut(obj: &mut Value) -> &mut Map<String, Value> {
    object_at(obj, "metadata")
}

/// A child map of `obj` at `key`, created (or replacing a non-map) when missing.
pub fn object_at<'a>(obj: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let m = obj.as_object_mut().expect("made an object above");
    let child = m
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !child.is_object() {
        *child = Value::Object(Map::new());
    }
    child.as_object_mut().expect("made an object above")
}

/// Sets `metadata.<field>.<key> = value` (labels, annotations).
pub fn set_in_map(obj: &mut Value, field: &str, key: &str, value: &str) {
    let m = object_at(obj, "metadata");
    let e = m
        .entry(field.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !e.is_object() {
        *e = Value::Object(Map::new());
    }
    if let Some(map) = e.as_object_mut() {
        map.insert(key.to_string(), Value::from(value));
    }
}

pub fn set_finalizers(obj: &mut Value, list: &[String]) {
    let m = metadata_mut(obj);
    if list.is_empty() {
        m.remove("finalizers");
    } else {
        m.insert("finalizers".into(), Value::from(list.to_vec()));
    }
}

/// Quantity in bytes (`100Gi`, `10000Gi`, `1Ti`, `500M`, `1e3`), for capacity comparisons.
pub fn quantity_bytes(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        _ => return None,
    };
    Some(n * mult)
}

/// `status.conditions[type=t].status == "True"`.
pub fn condition_true(obj: &Value, t: &str) -> bool {
    at(obj, "/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| {
            c.get("type").and_then(Value::as_str) == Some(t)
                && c.get("status").and_then(Value::as_str) == Some("True")
        })
}

/// The owner reference of kind `kind` (the controller).
pub fn controller_uid<'a>(obj: &'a Value, kind: &str) -> Option<&'a str> {
    at(obj, "/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|o| o.get("kind").and_then(Value::as_str) == Some(kind))
        .and_then(|o| o.get("uid"))
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_compare_in_bytes() {
        assert_eq!(quantity_bytes("1Gi"), Some(1073741824.0));
        assert!(quantity_bytes("10000Gi") > quantity_bytes("100Gi"));
        assert_eq!(quantity_bytes("1e3"), Some(1000.0));
        assert_eq!(quantity_bytes("x"), None);
    }
}

#[cfg(test)]
mod pointer_tests {
    use serde_json::json;

    #[test]
    fn at_agrees_with_json_pointers() {
        let o = json!({"a": {"b/c": 1, "l": [{"x": "y"}], "t~": 2}, "": 3});
        for p in [
            "",
            "/a",
            "/a/b~1c",
            "/a/l/0/x",
            "/a/l/1",
            "/a/t~0",
            "/",
            "/missing/x",
            "a",
        ] {
            assert_eq!(super::at(&o, p), o.pointer(p), "{p}");
        }
    }
}
