//! `kubectl hpccache manifests` output for both backends against the strict Kubernetes 1.33
//! schemas (tests/schemas/v1.33, vendored: no network at test time).

use std::process::Command;

use hpccache_tests::{LustreSetup, Scratch};
use serde_json::Value;

fn schema(name: &str) -> jsonschema::Validator {
    let path = format!(
        "{}/schemas/v1.33/{name}-v1.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("vendored schema");
    let v: Value = serde_json::from_str(&text).expect("schema JSON");
    jsonschema::validator_for(&v).expect("a valid schema")
}

fn items(c: &mut Command) -> Vec<Value> {
    let out = c
        .args(["-o", "json"])
        .output()
        .expect("run kubectl-hpccache");
    assert!(out.status.success(), "{out:?}");
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    list["items"].as_array().expect("a List").clone()
}

/// Every PV and claim validates; returns how many of each.
fn validate_all(docs: &[Value]) -> (usize, usize) {
    let pv = schema("persistentvolume");
    let pvc = schema("persistentvolumeclaim");
    let (mut pvs, mut claims) = (0, 0);
    for d in docs {
        let (v, n) = match d["kind"].as_str() {
            Some("PersistentVolume") => (&pv, &mut pvs),
            Some("PersistentVolumeClaim") => (&pvc, &mut claims),
            _ => continue,
        };
        let errors: Vec<String> = v.iter_errors(d).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{d:#}\n{errors:#?}");
        *n += 1;
    }
    (pvs, claims)
}

#[test]
fn lustre_manifests_pass_the_1_33_schemas() {
    let s = Scratch::new();
    s.amlfs_deployment(&LustreSetup::new("MyLustre"));
    let docs = items(s.kubectl_sandbox().args([
        "manifests",
        "MyLustre",
        "-n",
        "a,b",
        "--sub-path",
        "team-a",
    ]));
    assert_eq!(
        docs[0]["spec"]["csi"]["driver"],
        "azurelustre.csi.azure.com"
    );
    assert_eq!(validate_all(&docs), (2, 2));
}

#[test]
fn nfs_manifests_pass_the_1_33_schemas() {
    let s = Scratch::new();
    let docs = items(s.cmd("kubectl-hpccache").args([
        "manifests",
        "--server",
        "server.myhpccache.local",
        "--path",
        "/myfilepath",
        "--size",
        "3072Gi",
        "-n",
        "a,b",
    ]));
    assert_eq!(docs[0]["spec"]["nfs"]["server"], "server.myhpccache.local");
    assert_eq!(validate_all(&docs), (2, 2));
}

#[test]
fn the_schemas_are_strict() {
    let pv = schema("persistentvolume");
    let doc = serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": "x"},
        "spec": {"csi": {"driver": "d", "volumeHandle": "h", "volumeAtributes": {}}}});
    assert!(!pv.is_valid(&doc), "a misspelt field is refused");
    let doc = serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": "x"}, "spec": {"csi": {"driver": "d"}}});
    assert!(!pv.is_valid(&doc), "a missing required field is refused");
}
