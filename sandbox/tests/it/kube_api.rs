//! API server semantics on the wire: authentication, discovery, Status errors with the
//! real messages, optimistic concurrency, dry runs, namespaces, patches, server-side
//! apply ownership, selectors and watches.

use crate::kube_support;

use kube_support::*;
use serde_json::{Value, json};

const JSON: &str = "application/json";

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

async fn create(c: &Cluster, path: &str, obj: Value) -> Value {
    let (code, body) = c.http("POST", path, JSON, &obj.to_string()).await;
    assert_eq!(code, 201, "{body}");
    parse(&body)
}

#[tokio::test]
async fn requests_without_the_token_are_unauthorized() {
    let c = start().await;
    for token in [None, Some("wrong")] {
        let (code, body) = http_request(
            &c.running.url(),
            token,
            "GET",
            "/api/v1/namespaces",
            JSON,
            "",
        )
        .await;
        assert_eq!(code, 401);
        let s = parse(&body);
        assert_eq!(
            (s["kind"].as_str(), s["reason"].as_str(), s["code"].as_i64()),
            (Some("Status"), Some("Unauthorized"), Some(401))
        );
    }
    // The token in the path (for kubectl over plain HTTP) is accepted.
    let path = format!("/sandbox-token/{TOKEN}/api/v1/namespaces/default");
    let (code, _) = http_request(&c.running.url(), None, "GET", &path, JSON, "").await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn discovery_lists_kinds_short_names_and_verbs() {
    let c = start().await;
    let (_, body) = c.http("GET", "/api", JSON, "").await;
    assert_eq!(parse(&body)["versions"], json!(["v1"]));
    let (_, body) = c.http("GET", "/apis", JSON, "").await;
    let groups: Vec<String> = parse(&body)["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(groups, ["apps", "batch", "storage.k8s.io"]);
    let (_, body) = c.http("GET", "/api/v1", JSON, "").await;
    let list = parse(&body);
    let pvc = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "persistentvolumeclaims")
        .unwrap();
    assert_eq!(pvc["kind"], "PersistentVolumeClaim");
    assert_eq!(pvc["shortNames"], json!(["pvc"]));
    assert_eq!(pvc["namespaced"], true);
    assert_eq!(pvc["singularName"], "persistentvolumeclaim");
    assert!(
        list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "pods/log")
    );
    let (_, body) = c.http("GET", "/apis/apps/v1", JSON, "").await;
    assert!(body.contains("\"deploy\"") && body.contains("\"sts\"") && body.contains("\"ds\""));
    // CSIDriver and CSINode: cluster-scoped, in storage.k8s.io/v1.
    let (_, body) = c.http("GET", "/apis/storage.k8s.io/v1", JSON, "").await;
    let storage = parse(&body);
    for (name, kind) in [("csidrivers", "CSIDriver"), ("csinodes", "CSINode")] {
        let r = storage["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {storage}"));
        assert_eq!(r["kind"], kind);
        assert_eq!(r["namespaced"], false);
    }
    let (_, body) = c.http("GET", "/version", JSON, "").await;
    assert_eq!(parse(&body)["gitVersion"], "v1.33.2");
}

#[tokio::test]
async fn errors_are_status_bodies_with_the_real_messages() {
    let c = start().await;
    let (code, body) = c
        .http(
            "GET",
            "/api/v1/namespaces/default/persistentvolumeclaims/pvc-nfs",
            JSON,
            "",
        )
        .await;
    assert_eq!(code, 404);
    let s = parse(&body);
    assert_eq!(s["message"], "persistentvolumeclaims \"pvc-nfs\" not found");
    assert_eq!(s["reason"], "NotFound");
    assert_eq!(
        s["details"],
        json!({"name": "pvc-nfs", "kind": "persistentvolumeclaims"})
    );
    assert_eq!(s["status"], "Failure");

    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
    let (code, body) = c
        .http(
            "POST",
            "/api/v1/namespaces/nope/configmaps",
            JSON,
            &cm.to_string(),
        )
        .await;
    assert_eq!(code, 404);
    assert_eq!(parse(&body)["message"], "namespaces \"nope\" not found");

    create(&c, "/api/v1/namespaces/default/configmaps", cm.clone()).await;
    let (code, body) = c
        .http(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            JSON,
            &cm.to_string(),
        )
        .await;
    assert_eq!(code, 409);
    assert_eq!(parse(&body)["reason"], "AlreadyExists");
    assert_eq!(parse(&body)["message"], "configmaps \"a\" already exists");

    let bad = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "x"}, "spec": {}});
    let (code, body) = c
        .http(
            "POST",
            "/api/v1/namespaces/default/persistentvolumeclaims",
            JSON,
            &bad.to_string(),
        )
        .await;
    assert_eq!(code, 422);
    assert_eq!(parse(&body)["reason"], "Invalid");
    assert!(
        parse(&body)["message"]
            .as_str()
            .unwrap()
            .starts_with("PersistentVolumeClaim \"x\" is invalid: ")
    );

    let (code, body) = c
        .http(
            "POST",
            "/api/v1/namespaces/default/configmaps/a",
            JSON,
            "{}",
        )
        .await;
    assert_eq!(
        (code, parse(&body)["reason"].as_str()),
        (405, Some("MethodNotAllowed"))
    );
}

#[tokio::test]
async fn stale_update_conflicts_and_versions_are_global() {
    let c = start().await;
    let cm = create(
        &c,
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "a"}, "data": {"k": "1"}}),
    )
    .await;
    assert!(
        cm["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| u.len() == 36)
    );
    assert!(cm["metadata"]["creationTimestamp"].is_string());
    let mut v1 = cm.clone();
    v1["data"]["k"] = json!("2");
    let (code, body) = c
        .http(
            "PUT",
            "/api/v1/namespaces/default/configmaps/a",
            JSON,
            &v1.to_string(),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let rv2: u64 = parse(&body)["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let rv1: u64 = cm["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv1);
    // Same old resourceVersion again: stale.
    v1["data"]["k"] = json!("3");
    let (code, body) = c
        .http(
            "PUT",
            "/api/v1/namespaces/default/configmaps/a",
            JSON,
            &v1.to_string(),
        )
        .await;
    assert_eq!(code, 409);
    assert_eq!(
        parse(&body)["message"],
        "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again"
    );
}

#[tokio::test]
async fn dry_run_stores_nothing() {
    let c = start().await;
    let cm = json!({"metadata": {"name": "dry"}, "data": {"k": "1"}});
    let (code, _) = c
        .http(
            "POST",
            "/api/v1/namespaces/default/configmaps?dryRun=All",
            JSON,
            &cm.to_string(),
        )
        .await;
    assert_eq!(code, 201);
    let (code, _) = c
        .http("GET", "/api/v1/namespaces/default/configmaps/dry", JSON, "")
        .await;
    assert_eq!(code, 404);
    create(&c, "/api/v1/namespaces/default/configmaps", cm).await;
    let (code, _) = c
        .http(
            "DELETE",
            "/api/v1/namespaces/default/configmaps/dry?dryRun=All",
            JSON,
            "",
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = c
        .http(
            "PATCH",
            "/api/v1/namespaces/default/configmaps/dry?dryRun=All",
            "application/merge-patch+json",
            r#"{"data":{"k":"2"}}"#,
        )
        .await;
    assert_eq!(code, 200);
    let (_, body) = c
        .http("GET", "/api/v1/namespaces/default/configmaps/dry", JSON, "")
        .await;
    assert_eq!(parse(&body)["data"]["k"], "1");
}

#[tokio::test]
async fn namespace_deletion_terminates_then_removes_its_objects() {
    let c = start().await;
    create(
        &c,
        "/api/v1/namespaces",
        json!({"metadata": {"name": "app"}}),
    )
    .await;
    create(
        &c,
        "/api/v1/namespaces/app/configmaps",
        json!({"metadata": {"name": "a"}}),
    )
    .await;
    let (code, body) = c.http("DELETE", "/api/v1/namespaces/app", JSON, "").await;
    assert_eq!(code, 200);
    assert_eq!(parse(&body)["status"]["phase"], "Terminating");
    let (code, body) = c
        .http(
            "POST",
            "/api/v1/namespaces/app/configmaps",
            JSON,
            r#"{"metadata":{"name":"b"}}"#,
        )
        .await;
    if code != 404 {
        assert_eq!(code, 403, "{body}");
        assert!(
            parse(&body)["message"]
                .as_str()
                .unwrap()
                .ends_with("because it is being terminated")
        );
    }
    eventually(5, || async {
        let (code, _) = c.http("GET", "/api/v1/namespaces/app", JSON, "").await;
        (code == 404).then_some(())
    })
    .await;
    let (_, body) = c
        .http("GET", "/api/v1/namespaces/app/configmaps", JSON, "")
        .await;
    assert_eq!(parse(&body)["items"], json!([]));
}

#[tokio::test]
async fn patches_of_every_type() {
    let c = start().await;
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "p"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "p"}},
                 "template": {"metadata": {"labels": {"app": "p"}},
                              "spec": {"containers": [{"name": "a", "image": "nginx:1", "env": [{"name": "X", "value": "1"}]}]}}}});
    create(&c, "/apis/apps/v1/namespaces/default/deployments", deploy).await;
    let path = "/apis/apps/v1/namespaces/default/deployments/p";
    let (code, body) = c.http("PATCH", path, "application/strategic-merge-patch+json",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"nginx:2","env":[{"name":"Y","value":"2"}]}]}}}}"#).await;
    assert_eq!(code, 200, "{body}");
    let p = parse(&body);
    let container = &p["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "nginx:2");
    assert_eq!(
        container["env"].as_array().unwrap().len(),
        2,
        "env merged by name"
    );
    assert_eq!(p["metadata"]["generation"], 2);
    let (_, body) = c
        .http(
            "PATCH",
            path,
            "application/merge-patch+json",
            r#"{"metadata":{"labels":{"a":"b"}}}"#,
        )
        .await;
    assert_eq!(parse(&body)["metadata"]["labels"]["a"], "b");
    let (_, body) = c
        .http(
            "PATCH",
            path,
            "application/json-patch+json",
            r#"[{"op":"add","path":"/metadata/labels/c","value":"d"}]"#,
        )
        .await;
    assert_eq!(
        parse(&body)["metadata"]["labels"],
        json!({"a": "b", "c": "d"})
    );
    let (code, body) = c.http("PATCH", path, "text/plain", "x").await;
    assert_eq!(
        (code, parse(&body)["reason"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );
    // generateName without a name.
    let g = create(
        &c,
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"generateName": "cfg-"}}),
    )
    .await;
    assert!(g["metadata"]["name"].as_str().unwrap().starts_with("cfg-"));
}

const APPLY: &str = "application/apply-patch+yaml";

#[tokio::test]
async fn server_side_apply_owns_fields_conflicts_and_re_applies_as_no_op() {
    let c = start().await;
    let path = "/api/v1/persistentvolumes/pv-nfs";
    let (code, body) = c
        .http(
            "PATCH",
            &format!("{path}?fieldManager=hpccache"),
            APPLY,
            PV_NFS,
        )
        .await;
    assert_eq!(code, 201, "{body}");
    // Let the binder settle (Available), then re-apply: nothing changes.
    eventually(5, || async {
        let (_, b) = c.http("GET", path, JSON, "").await;
        (parse(&b)["status"]["phase"] == "Available").then_some(())
    })
    .await;
    let (_, before) = c.http("GET", path, JSON, "").await;
    let (code, again) = c
        .http(
            "PATCH",
            &format!("{path}?fieldManager=hpccache"),
            APPLY,
            PV_NFS,
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        parse(&again)["metadata"]["resourceVersion"],
        parse(&before)["metadata"]["resourceVersion"]
    );
    let mf = &parse(&again)["metadata"]["managedFields"][0];
    assert_eq!(
        (mf["manager"].as_str(), mf["operation"].as_str()),
        (Some("hpccache"), Some("Apply"))
    );
    assert!(mf["fieldsV1"]["f:spec"]["f:nfs"]["f:server"].is_object());

    // Another manager changing an owned field conflicts, unless forced.
    let other = PV_NFS
        .replace("server.myhpccache.local", "other.example.com")
        .replace("path: /", "path: /x");
    let (code, body) = c
        .http(
            "PATCH",
            &format!("{path}?fieldManager=someone"),
            APPLY,
            &other,
        )
        .await;
    assert_eq!(code, 409, "{body}");
    let s = parse(&body);
    assert_eq!(s["reason"], "Conflict");
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .starts_with("Apply failed with 2 conflicts: conflicts with \"hpccache\" using v1:"),
        "{s}"
    );
    // Same values are shared, not conflicting.
    let (code, _) = c
        .http(
            "PATCH",
            &format!("{path}?fieldManager=someone"),
            APPLY,
            PV_NFS,
        )
        .await;
    assert_eq!(code, 200);
    let (code, body) = c
        .http(
            "PATCH",
            &format!("{path}?fieldManager=someone&force=true"),
            APPLY,
            &other,
        )
        .await;
    // The volume source is immutable once created: the forced apply reaches validation.
    assert_eq!(code, 422, "{body}");
    assert!(
        parse(&body)["message"]
            .as_str()
            .unwrap()
            .contains("spec.persistentvolumesource is immutable after creation")
    );
    // Missing field manager.
    let (code, _) = c.http("PATCH", path, APPLY, PV_NFS).await;
    assert_eq!(code, 422);
}

#[tokio::test]
async fn selectors_filter_lists() {
    let c = start().await;
    for (name, app) in [("a", "web"), ("b", "db")] {
        create(
            &c,
            "/api/v1/namespaces/default/configmaps",
            json!({"metadata": {"name": name, "labels": {"app": app}}}),
        )
        .await;
    }
    let names = |body: &str| -> Vec<String> {
        parse(body)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, body) = c
        .http(
            "GET",
            "/api/v1/namespaces/default/configmaps?labelSelector=app%3Dweb",
            JSON,
            "",
        )
        .await;
    assert_eq!(names(&body), ["a"]);
    let (_, body) = c
        .http(
            "GET",
            "/api/v1/configmaps?labelSelector=app+in+(web,db)&fieldSelector=metadata.name!%3Da",
            JSON,
            "",
        )
        .await;
    assert_eq!(names(&body), ["b"]);
    let (_, body) = c
        .http(
            "GET",
            "/api/v1/nodes?fieldSelector=metadata.name%3Daks-nodepool1-12345678-vmss000001",
            JSON,
            "",
        )
        .await;
    assert_eq!(names(&body), ["aks-nodepool1-12345678-vmss000001"]);
}

#[tokio::test]
async fn watch_replays_after_a_resource_version_and_expires_old_ones() {
    // A restored cluster keeps no history from before it was served.
    let state = hpccache_sandbox::kube::ClusterState {
        resource_version: 100,
        ..Default::default()
    };
    let c = start_with(state).await;
    let cm = create(
        &c,
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "w"}}),
    )
    .await;
    let rv = cm["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    c.http(
        "PATCH",
        "/api/v1/namespaces/default/configmaps/w",
        "application/merge-patch+json",
        r#"{"data":{"a":"1"}}"#,
    )
    .await;
    c.http(
        "DELETE",
        "/api/v1/namespaces/default/configmaps/w",
        JSON,
        "",
    )
    .await;
    let (code, body) = c.http("GET", &format!("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=1"), JSON, "").await;
    assert_eq!(code, 200);
    let types: Vec<String> = body
        .lines()
        .map(|l| parse(l)["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, ["MODIFIED", "DELETED"]);
    let (code, body) = c
        .http(
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=50&timeoutSeconds=1",
            JSON,
            "",
        )
        .await;
    assert_eq!(code, 410, "{body}");
    assert_eq!(
        parse(&body)["message"],
        "too old resource version: 50 (100)"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_verb_resource_and_code() {
    let c = start().await;
    let pv = "/api/v1/persistentvolumes/pv-nfs";
    c.http(
        "PATCH",
        &format!("{pv}?fieldManager=hpccache"),
        APPLY,
        PV_NFS,
    )
    .await;
    c.http("GET", pv, JSON, "").await;
    c.http("GET", "/api/v1/persistentvolumes/absent", JSON, "")
        .await;
    c.http(
        "GET",
        "/api/v1/namespaces/default/persistentvolumeclaims",
        JSON,
        "",
    )
    .await;
    let (code, text) = c.http("GET", "/metrics", JSON, "").await;
    assert_eq!(code, 200);
    let count = |verb: &str, code: u16, scope: &str, resource: &str| {
        let labels = format!(
            "apiserver_request_total{{code=\"{code}\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"{resource}\",scope=\"{scope}\",subresource=\"\",verb=\"{verb}\",version=\"v1\"}} "
        );
        text.lines()
            .find_map(|l| l.strip_prefix(&labels))
            .and_then(|n| n.parse::<u64>().ok())
    };
    assert_eq!(
        count("APPLY", 201, "resource", "persistentvolumes"),
        Some(1),
        "{text}"
    );
    assert_eq!(
        count("GET", 200, "resource", "persistentvolumes"),
        Some(1),
        "{text}"
    );
    assert_eq!(
        count("GET", 404, "resource", "persistentvolumes"),
        Some(1),
        "{text}"
    );
    assert_eq!(
        count("LIST", 200, "namespace", "persistentvolumeclaims"),
        Some(1),
        "{text}"
    );
}
