//! A minimal OpenAPI v3 discovery: the root index and, per group/version, the paths
//! with their operations, kinds and query parameters. kubectl reads it to learn that
//! writes accept `fieldValidation` (server-side validation) instead of downloading full
//! schemas; without it `kubectl apply` refuses to run ("failed to download openapi").
//! There are no schemas: clients then fall back to their built-in types.

use serde_json::{Map, Value, json};

use super::resources::{self, Resource};

fn gv_path(group: &str) -> String {
    if group.is_empty() {
        "api/v1".into()
    } else {
        format!("apis/{group}/v1")
    }
}

/// A hash that changes with the server build, so clients may cache per hash.
const HASH: &str = "5F0C2D7C8E1B4A9D";

/// `/openapi/v3`.
pub fn root() -> Value {
    let mut paths = Map::new();
    for g in std::iter::once("").chain(resources::GROUPS.iter().copied()) {
        let p = gv_path(g);
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={HASH}")}),
        );
    }
    json!({"paths": paths})
}

fn param(name: &str, location: &str) -> Value {
    json!({"name": name, "in": location, "schema": {"type": "string", "uniqueItems": true}})
}

fn op(res: &Resource, action: &str, query: &[&str]) -> Value {
    let mut params: Vec<Value> = query.iter().map(|q| param(q, "query")).collect();
    if action == "patch" {
        params.push(json!({"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}}));
    }
    json!({
        "operationId": format!("{action}{}", res.kind),
        "parameters": params,
        "responses": {"200": {"description": "OK"}, "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": res.group, "version": res.version, "kind": res.kind},
    })
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/v1`.
pub fn group_version(path: &str) -> Option<Value> {
    let group = match path.trim_matches('/') {
        "api/v1" => "",
        other => other.strip_prefix("apis/")?.strip_suffix("/v1")?,
    };
    if !group.is_empty() && !resources::GROUPS.contains(&group) {
        return None;
    }
    const WRITE: &[&str] = &["dryRun", "fieldManager", "fieldValidation"];
    let mut paths = Map::new();
    for res in resources::in_group(group, "v1") {
        let base = format!("/{}", gv_path(group));
        let collection = if res.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", res.plural)
        } else {
            format!("{base}/{}", res.plural)
        };
        paths.insert(
            collection.clone(),
            json!({
                "get": op(res, "list", &["labelSelector", "fieldSelector", "watch", "resourceVersion"]),
                "post": op(res, "post", WRITE),
                "delete": op(res, "deletecollection", &["labelSelector", "fieldSelector", "dryRun"]),
            }),
        );
        paths.insert(
            format!("{collection}/{{name}}"),
            json!({
                "get": op(res, "get", &[]),
                "put": op(res, "put", WRITE),
                "patch": op(res, "patch", WRITE),
                "delete": op(res, "delete", &["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
            }),
        );
        if res.subresources.contains(&"status") {
            paths.insert(
                format!("{collection}/{{name}}/status"),
                json!({"get": op(res, "get", &[]), "put": op(res, "put", WRITE), "patch": op(res, "patch", WRITE)}),
            );
        }
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.2"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
