//! Which namespaces a cluster command touches, as kubectl scopes them: `unmount` keeps to
//! the current namespace, `-n a,b` or `--all-namespaces`; `mount -n` into a namespace that
//! does not exist changes nothing; `--context` and the context's namespace; API errors
//! rendered as kubectl renders them (issue 12, items 3 and 8).

use std::process::Command;

use hpccache_tests::{Scratch, sample_state};
use k8s_openapi::api::core::v1::{Namespace, PersistentVolume, PersistentVolumeClaim};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().expect("run the binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(c: &mut Command) -> String {
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    out
}

fn state(s: &Scratch) -> hpccache_core::state::State {
    hpccache_core::state::read(&s.deployments_dir().join("MyHpcCache.json")).expect("state file")
}

/// `(namespace, name)` of the records of `kind` in the state file, sorted.
fn recorded(s: &Scratch, kind: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = state(s)
        .kube
        .iter()
        .filter(|o| o.kind == kind)
        .map(|o| (o.namespace.clone().unwrap_or_default(), o.name.clone()))
        .collect();
    v.sort();
    v
}

/// The PVs and claims in the cluster, by name and by `namespace/name`, sorted.
fn cluster_objects(s: &Scratch) -> (Vec<String>, Vec<String>) {
    s.with_cluster(|c, _| async move {
        let pvs: Api<PersistentVolume> = Api::all(c.clone());
        let claims: Api<PersistentVolumeClaim> = Api::all(c);
        let lp = ListParams::default();
        let mut pv: Vec<String> = pvs
            .list(&lp)
            .await
            .expect("list pvs")
            .items
            .into_iter()
            .filter_map(|p| p.metadata.name)
            .collect();
        let mut pvc: Vec<String> = claims
            .list(&lp)
            .await
            .expect("list claims")
            .items
            .into_iter()
            .map(|c| {
                format!(
                    "{}/{}",
                    c.metadata.namespace.unwrap_or_default(),
                    c.metadata.name.unwrap_or_default()
                )
            })
            .collect();
        pv.sort();
        pvc.sort();
        (pv, pvc)
    })
}

async fn create_namespace(client: &kube::Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
    )
    .expect("namespace");
    api.create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
}

/// The guide's deployment, mounted into `default` and `team-a`.
fn mounted_in_default_and_team_a() -> Scratch {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    s.with_cluster(|c, _| async move { create_namespace(&c, "team-a").await });
    ok(s.kubectl_sandbox().args(["mount", "-n", "default,team-a"]));
    assert_eq!(
        cluster_objects(&s),
        (
            vec![
                "hpccache-myhpccache-default".to_string(),
                "hpccache-myhpccache-team-a".to_string()
            ],
            vec![
                "default/hpccache-myhpccache".to_string(),
                "team-a/hpccache-myhpccache".to_string()
            ]
        )
    );
    s
}

#[test]
fn unmount_dash_n_of_a_namespace_without_volumes_deletes_nothing_anywhere() {
    let s = mounted_in_default_and_team_a();
    let before = cluster_objects(&s);
    let records = state(&s).kube;
    for scope in ["nope", "team-a,nope"] {
        let (code, out, err) = run(s.kubectl_sandbox().args(["unmount", "-n", scope]));
        assert_eq!(code, 1, "-n {scope}: {out}\n{err}");
        assert!(err.contains("nope"), "the error names the namespace: {err}");
        assert_eq!(cluster_objects(&s), before, "-n {scope} deleted something");
        assert_eq!(state(&s).kube, records);
    }
}

#[test]
fn unmount_dash_n_removes_only_that_namespaces_volume() {
    let s = mounted_in_default_and_team_a();
    let out = ok(s
        .kubectl_sandbox()
        .args(["unmount", "-n", "team-a", "-o", "name"]));
    assert_eq!(
        out,
        "persistentvolumeclaim/hpccache-myhpccache\npersistentvolume/hpccache-myhpccache-team-a\n"
    );
    assert_eq!(
        cluster_objects(&s),
        (
            vec!["hpccache-myhpccache-default".to_string()],
            vec!["default/hpccache-myhpccache".to_string()]
        )
    );
    // The state file keeps the records of what was not removed.
    assert_eq!(
        recorded(&s, "PersistentVolumeClaim"),
        [("default".to_string(), "hpccache-myhpccache".to_string())]
    );
    assert_eq!(
        recorded(&s, "PersistentVolume"),
        [(String::new(), "hpccache-myhpccache-default".to_string())]
    );
}

#[test]
fn unmount_without_dash_n_keeps_to_the_current_namespace() {
    let s = mounted_in_default_and_team_a();
    ok(s.kubectl_sandbox().arg("unmount"));
    assert_eq!(
        cluster_objects(&s),
        (
            vec!["hpccache-myhpccache-team-a".to_string()],
            vec!["team-a/hpccache-myhpccache".to_string()]
        )
    );
    assert_eq!(
        recorded(&s, "PersistentVolumeClaim"),
        [("team-a".to_string(), "hpccache-myhpccache".to_string())]
    );
}

#[test]
fn unmount_all_namespaces_removes_every_volume_also_one_whose_claim_is_gone() {
    let s = mounted_in_default_and_team_a();
    // team-a's claim deleted by hand: its volume stays, Released, with no claim.
    s.with_cluster(|c, _| async move {
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(c, "team-a");
        claims
            .delete("hpccache-myhpccache", &DeleteParams::default())
            .await
            .expect("delete the claim");
        for _ in 0..100 {
            if claims
                .get_opt("hpccache-myhpccache")
                .await
                .expect("read")
                .is_none()
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the claim was never deleted");
    });
    let (code, _, err) = run(s.kubectl_sandbox().args(["unmount", "-A", "-n", "team-a"]));
    assert_eq!(code, 2, "-A with -n is a contradiction: {err}");
    let out = ok(s.kubectl_sandbox().args(["unmount", "--all-namespaces"]));
    assert!(
        out.contains("persistentvolume/hpccache-myhpccache-team-a deleted"),
        "{out}"
    );
    assert_eq!(cluster_objects(&s), (Vec::new(), Vec::new()));
    assert!(state(&s).kube.is_empty(), "{:?}", state(&s).kube);
}

#[test]
fn mount_into_a_missing_namespace_fails_before_applying_anything() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    for scope in ["ghost", "default,ghost"] {
        let (code, out, err) = run(s.kubectl_sandbox().args(["mount", "-n", scope]));
        assert_eq!(code, 1, "-n {scope}: {out}\n{err}");
        assert!(err.contains(r#"namespaces "ghost" not found"#), "{err}");
        assert!(!err.contains("Status {"), "a raw Status dump: {err}");
        assert_eq!(
            cluster_objects(&s),
            (Vec::new(), Vec::new()),
            "-n {scope} left objects"
        );
        assert!(state(&s).kube.is_empty());
    }
}

#[test]
fn api_errors_are_rendered_like_kubectl_not_as_a_debug_dump() {
    let e = hpccache_core::Error::Kube {
        action: "apply PersistentVolumeClaim ghost/hpccache-myhpccache".into(),
        source: kube::Error::Api(Box::new(kube::core::Status {
            status: Some(kube::core::response::StatusSummary::Failure),
            code: 404,
            message: r#"namespaces "ghost" not found"#.into(),
            reason: "NotFound".into(),
            ..kube::core::Status::default()
        })),
    };
    assert_eq!(
        e.to_string(),
        r#"apply PersistentVolumeClaim ghost/hpccache-myhpccache: Error from server (NotFound): namespaces "ghost" not found"#
    );
}

const KUBECONFIG: &str = r#"apiVersion: v1
kind: Config
current-context: staging
clusters:
- name: prod
  cluster: {server: "https://prod.example:443"}
- name: staging
  cluster: {server: "http://127.0.0.1:9"}
users:
- name: u
  user: {token: not-a-real-token}
contexts:
- name: prod
  context: {cluster: prod, user: u}
- name: staging
  context: {cluster: staging, user: u, namespace: team-a}
"#;

fn kubeconfig(s: &Scratch) -> std::path::PathBuf {
    let path = s.path().join("kubeconfig");
    std::fs::write(&path, KUBECONFIG).expect("write kubeconfig");
    s.write_state("MyHpcCache", &sample_state());
    path
}

#[test]
fn an_unknown_context_lists_the_contexts_there_are() {
    let s = Scratch::new();
    let kc = kubeconfig(&s);
    let (code, out, err) = run(s
        .cmd("kubectl-hpccache")
        .arg("--kubeconfig")
        .arg(&kc)
        .args(["--context", "nope", "status"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains(r#"context "nope" does not exist"#), "{err}");
    assert!(err.contains("prod") && err.contains("staging"), "{err}");
}

fn claim_namespaces(list: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(list).expect("a JSON list");
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|o| o["kind"] == "PersistentVolumeClaim")
        .map(|o| {
            o["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[test]
fn manifests_and_client_dry_run_use_the_contexts_namespace() {
    let s = Scratch::new();
    let kc = kubeconfig(&s);
    let plugin = || {
        let mut c = s.cmd("kubectl-hpccache");
        c.arg("--kubeconfig").arg(&kc);
        c
    };
    let out = ok(plugin().args(["manifests", "-o", "json"]));
    assert_eq!(claim_namespaces(&out), ["team-a"]);
    let out = ok(plugin().args(["mount", "--dry-run=client", "-o", "json"]));
    assert_eq!(claim_namespaces(&out), ["team-a"]);
    // -n still wins, and another context brings its own namespace (none: default).
    let out = ok(plugin().args(["manifests", "-o", "json", "-n", "b"]));
    assert_eq!(claim_namespaces(&out), ["b"]);
    let out = ok(plugin().args(["manifests", "-o", "json", "--context", "prod"]));
    assert_eq!(claim_namespaces(&out), ["default"]);
}
