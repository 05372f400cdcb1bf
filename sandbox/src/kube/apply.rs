//! Server-side apply and field ownership: `metadata.managedFields` with `FieldsV1` sets,
//! per manager and operation, conflicts with other managers, and removal of fields a
//! manager stopped applying.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::patch::merge_key;
use super::resources::Resource;
use super::status::ApiError;
use super::store::Store;
use super::{meta, time};

/// One element of a field path, in FieldsV1 notation without the prefix:
/// a field (`f:`), a list item by key (`k:`), a set member (`v:`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Elem {
    Field(String),
    Key(String),
    Value(String),
}

type Path = Vec<Elem>;
type FieldSet = BTreeSet<Path>;

/// Metadata fields that belong to the object's identity or to the server, not to managers.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "generateName",
];

/// Map-typed fields: FieldsV1 marks them with `.` like real servers do.
const MAP_FIELDS: &[&str] = &[
    "labels",
    "annotations",
    "capacity",
    "requests",
    "limits",
    "data",
    "nodeSelector",
    "matchLabels",
];

fn set_list(field: &str) -> bool {
    field == "finalizers"
}

/// The fields an object sets (leaves, list items and maps), as a set of paths.
fn fields_of(obj: &Value, status: bool) -> FieldSet {
    let mut out = FieldSet::new();
    if let Value::Object(m) = obj {
        for (k, v) in m {
            let top = k.as_str();
            if top == "apiVersion" || top == "kind" || (top == "status") != status {
                continue;
            }
            if top == "metadata" {
                if let Value::Object(mm) = v {
                    for (mk, mv) in mm {
                        if SERVER_METADATA.contains(&mk.as_str()) {
                            continue;
                        }
                        let p = vec![Elem::Field("metadata".into()), Elem::Field(mk.clone())];
                        walk(mv, mk, p, &mut out);
                    }
                }
                continue;
            }
            walk(v, k, vec![Elem::Field(k.clone())], &mut out);
        }
    }
    out
}

fn walk(v: &Value, field: &str, path: Path, out: &mut FieldSet) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            if MAP_FIELDS.contains(&field) {
                out.insert(path.clone());
            }
            for (k, child) in m {
                let mut p = path.clone();
                p.push(Elem::Field(k.clone()));
                walk(child, k, p, out);
            }
        }
        Value::Array(items) if merge_key(field).is_some() => {
            let key = merge_key(field).unwrap_or("name");
            for item in items {
                let Some(id) = item.get(key) else { continue };
                let mut p = path.clone();
                p.push(Elem::Key(json!({ key: id }).to_string()));
                out.insert(p.clone());
                if let Value::Object(im) = item {
                    for (k, child) in im {
                        let mut c = p.clone();
                        c.push(Elem::Field(k.clone()));
                        walk(child, k, c, out);
                    }
                }
            }
        }
        Value::Array(items) if set_list(field) => {
            for item in items {
                let mut p = path.clone();
                p.push(Elem::Value(item.to_string()));
                out.insert(p);
            }
        }
        _ => {
            out.insert(path);
        }
    }
}

/// Whether a path names a leaf (something compared for conflicts) in `obj`.
fn is_leaf(set: &FieldSet, path: &Path) -> bool {
    !matches!(path.last(), Some(Elem::Key(_)))
        && !set
            .range(path.clone()..)
            .nth(1)
            .is_some_and(|next| next.starts_with(path))
}

fn value_at<'a>(obj: &'a Value, path: &Path) -> Option<&'a Value> {
    let mut cur = obj;
    for e in path {
        cur = match e {
            Elem::Field(f) => cur.get(f)?,
            Elem::Key(k) => {
                let key: Map<String, Value> = serde_json::from_str(k).ok()?;
                cur.as_array()?
                    .iter()
                    .find(|item| key.iter().all(|(kk, kv)| item.get(kk) == Some(kv)))?
            }
            Elem::Value(v) => {
                let want: Value = serde_json::from_str(v).ok()?;
                cur.as_array()?.iter().find(|x| **x == want)?
            }
        };
    }
    Some(cur)
}

fn remove_at(obj: &mut Value, path: &Path) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for e in parent_path {
        let next = match e {
            Elem::Field(f) => cur.get_mut(f),
            Elem::Key(k) => {
                let Ok(key) = serde_json::from_str::<Map<String, Value>>(k) else {
                    return;
                };
                cur.as_array_mut().and_then(|a| {
                    a.iter_mut()
                        .find(|item| key.iter().all(|(kk, kv)| item.get(kk) == Some(kv)))
                })
            }
            Elem::Value(_) => None,
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    match last {
        Elem::Field(f) => {
            if let Value::Object(m) = cur {
                m.remove(f);
            }
        }
        Elem::Key(k) => {
            if let (Ok(key), Value::Array(a)) = (serde_json::from_str::<Map<String, Value>>(k), cur)
            {
                a.retain(|item| !key.iter().all(|(kk, kv)| item.get(kk) == Some(kv)));
            }
        }
        Elem::Value(v) => {
            if let (Ok(want), Value::Array(a)) = (serde_json::from_str::<Value>(v), cur) {
                a.retain(|x| *x != want);
            }
        }
    }
}

/// `.spec.containers[name="nginx"].image`, as conflict messages print paths.
fn display(path: &Path) -> String {
    let mut s = String::new();
    for e in path {
        match e {
            Elem::Field(f) => {
                s.push('.');
                s.push_str(f);
            }
            Elem::Key(k) => {
                let key: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                let inner: Vec<String> = key.iter().map(|(kk, kv)| format!("{kk}={kv}")).collect();
                s.push_str(&format!("[{}]", inner.join(",")));
            }
            Elem::Value(v) => s.push_str(&format!("[={v}]")),
        }
    }
    s
}

fn to_fields_v1(set: &FieldSet) -> Value {
    fn insert(map: &mut Map<String, Value>, path: &[Elem], dot: bool) {
        let Some((first, rest)) = path.split_first() else {
            if dot {
                map.insert(".".into(), json!({}));
            }
            return;
        };
        let k = match first {
            Elem::Field(f) => format!("f:{f}"),
            Elem::Key(k) => format!("k:{k}"),
            Elem::Value(v) => format!("v:{v}"),
        };
        let child = map.entry(k).or_insert_with(|| json!({}));
        if let Value::Object(c) = child {
            insert(c, rest, dot);
        }
    }
    let mut root = Map::new();
    for path in set {
        // A member that also has members below it is marked with `.`.
        let dot = set
            .range(path.clone()..)
            .nth(1)
            .is_some_and(|n| n.starts_with(path));
        insert(&mut root, path, dot);
    }
    Value::Object(root)
}

fn from_fields_v1(v: &Value) -> FieldSet {
    fn go(v: &Value, path: &Path, out: &mut FieldSet) {
        let Value::Object(m) = v else { return };
        if (m.is_empty() || m.contains_key(".")) && !path.is_empty() {
            out.insert(path.clone());
        }
        for (k, child) in m {
            let elem = if let Some(f) = k.strip_prefix("f:") {
                Elem::Field(f.into())
            } else if let Some(x) = k.strip_prefix("k:") {
                Elem::Key(x.into())
            } else if let Some(x) = k.strip_prefix("v:") {
                Elem::Value(x.into())
            } else {
                continue;
            };
            let mut p = path.clone();
            p.push(elem);
            go(child, &p, out);
        }
    }
    let mut out = FieldSet::new();
    go(v, &Vec::new(), &mut out);
    out
}

/// One `managedFields` entry, parsed.
#[derive(Debug, Clone)]
struct Entry {
    raw: Value,
    manager: String,
    operation: String,
    subresource: String,
    set: FieldSet,
}

fn entries(obj: &Value) -> Vec<Entry> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| Entry {
            raw: e.clone(),
            manager: e
                .get("manager")
                .and_then(Value::as_str)
                .unwrap_or("")
                .into(),
            operation: e
                .get("operation")
                .and_then(Value::as_str)
                .unwrap_or("")
                .into(),
            subresource: e
                .get("subresource")
                .and_then(Value::as_str)
                .unwrap_or("")
                .into(),
            set: e.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
        })
        .collect()
}

fn entry_value(
    manager: &str,
    operation: &str,
    api_version: &str,
    set: &FieldSet,
    subresource: Option<&str>,
) -> Value {
    let mut e = json!({
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": time::now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(set),
    });
    if let Some(s) = subresource {
        e["subresource"] = Value::from(s);
    }
    e
}

fn write_entries(obj: &mut Value, list: Vec<Value>) {
    let m = meta::metadata_mut(obj);
    if list.is_empty() {
        m.remove("managedFields");
    } else {
        m.insert("managedFields".into(), Value::Array(list));
    }
}

/// Records an `Update` by `manager` (PUT, PATCH, POST): the fields it changed become its
/// own and leave other managers; fields it removed leave everyone. A client that sends
/// `managedFields` different from the stored ones sets them itself (kubectl does that
/// when it moves a client-side-applied object to server-side apply).
pub fn track_update(old: Option<&Value>, new: &mut Value, manager: &str, api_version: &str) {
    let old_mf = old.and_then(|o| o.pointer("/metadata/managedFields"));
    if let Some(o) = old
        && new.pointer("/metadata/managedFields") != old_mf
        && new.pointer("/metadata/managedFields").is_some()
    {
        let _ = o;
        return;
    }
    let new_set = fields_of(new, false);
    let old_set = old.map(|o| fields_of(o, false)).unwrap_or_default();
    let changed: FieldSet = new_set
        .iter()
        .filter(|p| {
            !old_set.contains(*p)
                || (is_leaf(&new_set, p) && old.and_then(|o| value_at(o, p)) != value_at(new, p))
        })
        .cloned()
        .collect();
    let removed: FieldSet = old_set.difference(&new_set).cloned().collect();
    if changed.is_empty() && removed.is_empty() {
        return;
    }
    let mut list = Vec::new();
    let mut mine: Option<FieldSet> = None;
    for mut e in old.map(entries).unwrap_or_default() {
        let is_mine = e.manager == manager && e.operation == "Update" && e.subresource.is_empty();
        let before = e.set.len();
        e.set
            .retain(|p| !changed.contains(p) && !removed.contains(p));
        if is_mine {
            mine = Some(e.set);
            continue;
        }
        if e.set.is_empty() {
            continue;
        }
        if e.set.len() == before {
            list.push(e.raw);
        } else {
            let mut raw = e.raw;
            raw["fieldsV1"] = to_fields_v1(&e.set);
            list.push(raw);
        }
    }
    let mut mine = mine.unwrap_or_default();
    mine.extend(changed);
    if !mine.is_empty() {
        list.push(entry_value(manager, "Update", api_version, &mine, None));
    }
    write_entries(new, list);
}

/// Merges an applied configuration into the live object: maps recursively, keyed lists
/// item by item, sets as unions, everything else replaced.
fn merge(live: &mut Value, config: &Value, field: &str) {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) => {
            for (k, cv) in c {
                match l.get_mut(k) {
                    Some(lv) => merge(lv, cv, k),
                    None => {
                        l.insert(k.clone(), cv.clone());
                    }
                }
            }
        }
        (Value::Array(l), Value::Array(c)) if merge_key(field).is_some() => {
            let key = merge_key(field).unwrap_or("name");
            for item in c {
                match l
                    .iter_mut()
                    .find(|x| x.get(key).is_some() && x.get(key) == item.get(key))
                {
                    Some(existing) => merge(existing, item, field),
                    None => l.push(item.clone()),
                }
            }
        }
        (Value::Array(l), Value::Array(c)) if set_list(field) => {
            for item in c {
                if !l.contains(item) {
                    l.push(item.clone());
                }
            }
        }
        (l, c) => *l = c.clone(),
    }
}

/// Parses an apply body: YAML (`application/apply-patch+yaml`) or JSON.
pub fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Ok(v);
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("error decoding YAML: body is not UTF-8"))?;
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
}

/// Server-side apply of `body` (the request body as [`parse_body`] read it, before the
/// store was locked) by `manager` to the object at the URL. Creates the object when
/// missing. Returns the stored object and whether it was created.
#[allow(clippy::too_many_arguments)]
pub fn server_side_apply(
    store: &mut Store,
    res: &'static Resource,
    ns: Option<&str>,
    name: &str,
    body: Result<Value, ApiError>,
    manager: Option<&str>,
    force: bool,
    dry_run: bool,
    subresource: Option<&str>,
) -> Result<(Value, bool), ApiError> {
    let manager = manager.filter(|m| !m.is_empty()).ok_or_else(|| {
        ApiError::bad_request(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        )
        .with_code(422, "Invalid")
    })?;
    let mut config = body?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "error decoding YAML: the apply body is not an object",
        ));
    }
    let (api_version, kind) = (
        config
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or(""),
        config.get("kind").and_then(Value::as_str).unwrap_or(""),
    );
    if kind.is_empty() {
        return Err(ApiError::bad_request(
            "Object 'Kind' is missing in the apply configuration",
        ));
    }
    if api_version != res.api_version() || kind != res.kind {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            res.api_version()
        )));
    }
    match meta::str_at(&config, "/metadata/name") {
        Some(n) if n == name => {}
        None | Some("") => {
            meta::metadata_mut(&mut config).insert("name".into(), Value::from(name));
        }
        Some(n) => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
    }
    let status = subresource == Some("status");
    let new_set = fields_of(&config, status);
    let apply_version = res.api_version();
    let sub = if status { Some("status") } else { None };

    let Some(live) = store.get(res, ns, name).cloned() else {
        if status {
            return Err(ApiError::not_found(res, name));
        }
        let mut obj = config.clone();
        obj.as_object_mut().map(|m| m.remove("status"));
        write_entries(
            &mut obj,
            vec![entry_value(
                manager,
                "Apply",
                &apply_version,
                &new_set,
                None,
            )],
        );
        let created = store.create(res, ns, obj, dry_run, manager)?;
        return Ok((created, true));
    };
    if let Some(rv) = meta::resource_version(&config)
        && Some(rv) != meta::resource_version(&live)
    {
        return Err(ApiError::conflict(res, name));
    }

    let mut list = entries(&live);
    let mut conflicts = Vec::new();
    for e in list.iter_mut() {
        let is_me = e.manager == manager && e.operation == "Apply";
        if is_me || e.subresource.as_str() != sub.unwrap_or("") {
            continue;
        }
        let clash: Vec<Path> = e
            .set
            .intersection(&new_set)
            .filter(|p| is_leaf(&new_set, p) && value_at(&live, p) != value_at(&config, p))
            .cloned()
            .collect();
        if force {
            e.set.retain(|p| !clash.contains(p));
        } else {
            conflicts.extend(clash.iter().map(|p| (e.manager.clone(), display(p))));
        }
    }
    if !conflicts.is_empty() {
        return Err(ApiError::apply_conflict(res, name, &conflicts));
    }

    let mut merged = live.clone();
    let mut cfg = config.clone();
    if let Value::Object(m) = &mut cfg {
        if status {
            m.retain(|k, _| k == "status");
        } else {
            m.remove("status");
        }
        if let Some(Value::Object(md)) = m.get_mut("metadata") {
            md.retain(|k, _| !SERVER_METADATA.contains(&k.as_str()));
        }
    }
    merge(&mut merged, &cfg, "");

    let old_mine = list
        .iter()
        .find(|e| {
            e.manager == manager
                && e.operation == "Apply"
                && e.subresource.as_str() == sub.unwrap_or("")
        })
        .map(|e| e.set.clone())
        .unwrap_or_default();
    let others: FieldSet = list
        .iter()
        .filter(|e| !(e.manager == manager && e.operation == "Apply"))
        .flat_map(|e| e.set.iter().cloned())
        .collect();
    // Deeper paths first so a removed item's fields go before the item.
    let mut dropped: Vec<&Path> = old_mine
        .difference(&new_set)
        .filter(|p| !others.contains(*p))
        .collect();
    dropped.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in dropped {
        remove_at(&mut merged, p);
    }

    let mut out = Vec::new();
    let mut placed = false;
    for e in list {
        if e.manager == manager
            && e.operation == "Apply"
            && e.subresource.as_str() == sub.unwrap_or("")
        {
            placed = true;
            if e.set == new_set {
                out.push(e.raw);
            } else {
                out.push(entry_value(manager, "Apply", &apply_version, &new_set, sub));
            }
            continue;
        }
        if e.set.is_empty() {
            continue;
        }
        let mut raw = e.raw;
        raw["fieldsV1"] = to_fields_v1(&e.set);
        out.push(raw);
    }
    if !placed {
        out.push(entry_value(manager, "Apply", &apply_version, &new_set, sub));
    }
    write_entries(&mut merged, out);
    let stored = store.update(res, ns, name, merged, subresource, dry_run, None)?;
    Ok((stored, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_v1_round_trips_with_keyed_items() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]}});
        let set = fields_of(&pod, false);
        let v1 = to_fields_v1(&set);
        assert_eq!(
            v1,
            json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                   "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}, "f:name": {}}}}})
        );
        assert_eq!(from_fields_v1(&v1), set);
    }

    #[test]
    fn conflict_paths_print_like_the_server() {
        let p = vec![
            Elem::Field("spec".into()),
            Elem::Field("containers".into()),
            Elem::Key("{\"name\":\"nginx\"}".into()),
            Elem::Field("image".into()),
        ];
        assert_eq!(display(&p), ".spec.containers[name=\"nginx\"].image");
    }
}
