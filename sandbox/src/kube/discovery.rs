//! `/version`, `/api`, `/apis` and the per-group `APIResourceList`s kubectl and kube-rs
//! read to map kinds and short names to URLs.

use serde_json::{Value, json};

use super::ClusterInfo;
use super::resources::{self, Resource};

pub fn version(info: &ClusterInfo) -> Value {
    let v = info.kubernetes_version.trim_start_matches('v');
    let mut parts = v.split('.');
    let major = parts.next().unwrap_or("1");
    let minor = parts.next().unwrap_or("33");
    json!({
        "major": major,
        "minor": minor,
        "emulationMajor": major,
        "emulationMinor": minor,
        "minCompatibilityMajor": major,
        "minCompatibilityMinor": minor,
        "gitVersion": format!("v{v}"),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24.4",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `/api`: the core group's versions.
pub fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    })
}

fn group_entry(name: &str) -> Value {
    let gv = format!("{name}/v1");
    json!({
        "name": name,
        "versions": [{"groupVersion": gv, "version": "v1"}],
        "preferredVersion": {"groupVersion": gv, "version": "v1"},
    })
}

/// `/apis`: the named groups.
pub fn groups() -> Value {
    json!({
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": resources::GROUPS.iter().map(|g| group_entry(g)).collect::<Vec<_>>(),
    })
}

/// `/apis/{group}`.
pub fn group(name: &str) -> Option<Value> {
    resources::GROUPS.contains(&name).then(|| {
        let mut g = group_entry(name);
        g["kind"] = json!("APIGroup");
        g["apiVersion"] = json!("v1");
        g
    })
}

fn resource_entry(r: &Resource) -> Value {
    let mut e = json!({
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": r.verbs(),
        "storageVersionHash": storage_hash(r),
    });
    if !r.short_names.is_empty() {
        e["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        e["categories"] = json!(r.categories);
    }
    e
}

fn subresource_entry(r: &Resource, sub: &str) -> Value {
    let (kind, verbs): (&str, &[&str]) = match sub {
        "log" => ("Pod", &["get"]),
        "finalize" => (r.kind, &["update"]),
        _ => (r.kind, &["get", "patch", "update"]),
    };
    json!({
        "name": format!("{}/{sub}", r.plural),
        "singularName": "",
        "namespaced": r.namespaced,
        "kind": kind,
        "verbs": verbs,
    })
}

/// A stable short hash per resource, as `storageVersionHash` (clients only compare it).
fn storage_hash(r: &Resource) -> String {
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, r.qualified().as_bytes());
    let b = id.as_bytes();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..11)
        .map(|i| alphabet[b[i] as usize % 64] as char)
        .collect::<String>()
        + "="
}

/// `/api/v1` or `/apis/{group}/{version}`.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let list: Vec<&Resource> = resources::in_group(group, version).collect();
    if list.is_empty() {
        return None;
    }
    let mut entries = Vec::new();
    for r in &list {
        entries.push(resource_entry(r));
        for sub in r.subresources {
            entries.push(subresource_entry(r, sub));
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": entries,
    }))
}
