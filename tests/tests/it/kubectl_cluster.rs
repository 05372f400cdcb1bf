//! `kubectl hpccache` against the sandbox: the guide's Azure side made by
//! `az-hpccache-ext up --sandbox`, then mount → verify → status → unmount, idempotence,
//! the failures verify names, several namespaces and a workload patch, Ctrl-C.

use std::future::Future;
use std::process::{Command, Output};

use hpccache_sandbox::local::LocalSandbox;
use hpccache_tests::Scratch;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolume, PersistentVolumeClaim, Pod};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::{Value, json};

fn run(c: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().expect("run the binary");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
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

fn with_cluster<T, F, Fut>(s: &Scratch, f: F) -> T
where
    F: FnOnce(kube::Client, &LocalSandbox) -> Fut,
    Fut: Future<Output = T>,
{
    s.with_cluster(f)
}

async fn create_namespace(client: &kube::Client, name: &str, labels: Value) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": labels}
    }))
    .expect("namespace");
    api.create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
}

async fn create_deployment(client: &kube::Client, ns: &str, name: &str) {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let d: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": "nginx:1.15.5-alpine"}]}
            }
        }
    }))
    .expect("deployment");
    api.create(&PostParams::default(), &d)
        .await
        .expect("create deployment");
}

/// resourceVersions of our PV and claims.
async fn versions(client: &kube::Client) -> Vec<(String, String)> {
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let claims: Api<PersistentVolumeClaim> = Api::all(client.clone());
    let lp = ListParams::default().labels("app.kubernetes.io/managed-by=hpccache");
    let mut out: Vec<(String, String)> = Vec::new();
    for pv in pvs.list(&lp).await.expect("list pvs").items {
        out.push((
            pv.metadata.name.unwrap_or_default(),
            pv.metadata.resource_version.unwrap_or_default(),
        ));
    }
    for c in claims.list(&lp).await.expect("list claims").items {
        out.push((
            c.metadata.name.unwrap_or_default(),
            c.metadata.resource_version.unwrap_or_default(),
        ));
    }
    out
}

/// Gives the export's root to uid 1000 (what the verify fix's init container does).
fn chown_root_for_1000(s: &Scratch) {
    let target = state(s).resources["storageTarget"].id.clone();
    with_cluster(s, |_, sb| {
        let fabric = sb.running().fabric();
        async move {
            assert!(fabric.set_owner(&target, "/myfilepath", 1000, 1000, 0o755));
        }
    });
}

#[test]
fn mount_verify_status_unmount_round_trip() {
    let s = Scratch::new();
    s.up_sandbox(&["--no-root-squash"]);
    let out = ok(s.kubectl_sandbox().arg("mount"));
    assert_eq!(
        out,
        "persistentvolume/hpccache-myhpccache-default created\npersistentvolumeclaim/hpccache-myhpccache created\n"
    );
    let recorded: Vec<String> = state(&s)
        .kube
        .iter()
        .map(|o| format!("{}/{}", o.kind, o.name))
        .collect();
    assert_eq!(
        recorded,
        [
            "PersistentVolume/hpccache-myhpccache-default",
            "PersistentVolumeClaim/hpccache-myhpccache"
        ]
    );
    chown_root_for_1000(&s);
    let out = ok(s.kubectl_sandbox().args(["verify", "--as-user", "1000"]));
    // Six checks of the objects, the root probe's mount and write, the uid 1000 probe.
    assert!(out.ends_with("9 of 9 checks passed.\n"), "{out}");
    wait_bound(&s);
    let out = ok(s.kubectl_sandbox().arg("status"));
    assert!(
        out.contains("default     hpccache-myhpccache   Bound"),
        "{out}"
    );
    let out = ok(s.kubectl_sandbox().arg("unmount"));
    assert_eq!(
        out,
        "persistentvolumeclaim/hpccache-myhpccache deleted\npersistentvolume/hpccache-myhpccache-default deleted\n"
    );
    assert!(state(&s).kube.is_empty());
    let out = ok(s.kubectl_sandbox().arg("status"));
    assert!(out.contains("No volumes."), "{out}");
    // No probe pod is left behind (kube-system runs the world's Lustre CSI driver).
    let pods = with_cluster(&s, |client, _| async move {
        let api: Api<Pod> = Api::all(client);
        api.list(&ListParams::default())
            .await
            .expect("pods")
            .items
            .into_iter()
            .filter(|p| p.metadata.namespace.as_deref() != Some("kube-system"))
            .count()
    });
    assert_eq!(pods, 0);
}

#[test]
fn re_running_mount_changes_nothing() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    ok(s.kubectl_sandbox().arg("mount"));
    wait_bound(&s);
    let before = with_cluster(&s, |c, _| async move { versions(&c).await });
    let out = ok(s.kubectl_sandbox().arg("mount"));
    assert_eq!(
        out,
        "persistentvolume/hpccache-myhpccache-default unchanged\npersistentvolumeclaim/hpccache-myhpccache unchanged\n"
    );
    let after = with_cluster(&s, |c, _| async move { versions(&c).await });
    assert_eq!(before, after);
    assert_eq!(state(&s).kube.len(), 2);
}

fn verify_failure(s: &Scratch) -> String {
    let (code, out, err) = run(s.kubectl_sandbox().arg("verify"));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("did not pass"), "{err}");
    out
}

#[test]
fn verify_fails_for_a_wrong_path() {
    let s = Scratch::new();
    s.up_sandbox(&["--no-root-squash"]);
    ok(s.kubectl_sandbox().args(["mount", "--path", "/wrong"]));
    let out = verify_failure(&s);
    assert!(out.contains("[FAIL] NFS path is a namespace path of the cache\n         the volume mounts \"/wrong\"; the cache exports /myfilepath"), "{out}");
    assert!(
        out.contains(
            "mount.nfs: access denied by server while mounting server.myhpccache.hpccache.internal:/wrong"
        ),
        "{out}"
    );
    assert!(out.contains("az-hpccache-ext storage-target list"), "{out}");
}

#[test]
fn verify_fails_for_an_unlinked_dns_zone() {
    let s = Scratch::new();
    s.up_sandbox(&["--no-root-squash"]);
    ok(s.kubectl_sandbox().arg("mount"));
    let link = state(&s).resources["vnetLink"].id.clone();
    with_cluster(&s, |_, sb| {
        sb.running().with_world(|w| w.remove(&link));
        async {}
    });
    let out = verify_failure(&s);
    assert!(
        out.contains(
            "mount.nfs: Failed to resolve server server.myhpccache.hpccache.internal: Name or service not known"
        ),
        "{out}"
    );
    assert!(
        out.contains("az network private-dns link vnet create"),
        "{out}"
    );
}

#[test]
fn verify_fails_for_a_stopped_cache() {
    let s = Scratch::new();
    s.up_sandbox(&["--no-root-squash"]);
    ok(s.kubectl_sandbox().arg("mount"));
    let cache = state(&s).resources["cache"].id.clone();
    with_cluster(&s, |_, sb| {
        sb.running().with_world(|w| {
            if let Some(c) = w.get_mut(&cache) {
                c.body["properties"]["health"]["state"] = json!("Stopped");
            }
        });
        async {}
    });
    let out = verify_failure(&s);
    assert!(out.contains("mount.nfs: Connection timed out"), "{out}");
    assert!(
        out.contains("az-hpccache-ext cache start -g myResourceGroup -n MyHpcCache"),
        "{out}"
    );
}

#[test]
fn verify_fails_under_root_squash_for_a_non_root_user() {
    let s = Scratch::new();
    s.up_sandbox(&["--root-squash"]);
    ok(s.kubectl_sandbox().arg("mount"));
    let (code, out, err) = run(s.kubectl_sandbox().args(["verify", "--as-user", "1000"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("[FAIL] probe as uid 1000 can write"), "{out}");
    // Root's refused write is what root squash is for: not a failure.
    assert!(
        out.contains("[ok]   probe as root cannot write (root squash is on)"),
        "{out}"
    );
    // The fix: root squash off for a one-shot job that gives uid 1000 the path, then on.
    assert!(out.contains("az-hpccache-ext up -g myResourceGroup --cluster myAKSCluster -n MyHpcCache --root-squash --owner 1000:1000"), "{out}");
    insta::assert_snapshot!("verify_root_squash", out);
}

/// Lets the binder bind the claims a `mount` just applied (it runs on the controllers'
/// tick, which may come after the mount's process ended).
fn wait_bound(s: &Scratch) {
    with_cluster(s, |c, _| async move {
        let claims: Api<PersistentVolumeClaim> = Api::all(c);
        for _ in 0..100 {
            let l = claims.list(&ListParams::default()).await.expect("claims");
            if l.items
                .iter()
                .all(|c| c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound"))
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("claims never bound");
    });
}

#[test]
fn status_snapshot() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    ok(s.kubectl_sandbox().arg("mount"));
    wait_bound(&s);
    insta::assert_snapshot!("status", ok(s.kubectl_sandbox().arg("status")));
    insta::assert_snapshot!(
        "status_wide",
        ok(s.kubectl_sandbox().args(["status", "-o", "wide"]))
    );
}

#[test]
fn three_namespaces_and_a_workload_patch() {
    let s = Scratch::new();
    s.up_sandbox(&["--no-root-squash"]);
    with_cluster(&s, |c, _| async move {
        for ns in ["team-a", "team-b", "team-c"] {
            create_namespace(&c, ns, json!({"team": "hpc"})).await;
            create_deployment(&c, ns, "web").await;
        }
        create_namespace(&c, "other", json!({"team": "web"})).await;
    });
    let out = ok(s.kubectl_sandbox().args([
        "mount",
        "--namespace-selector",
        "team=hpc",
        "--to",
        "deployment/web",
        "-o",
        "name",
    ]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 9, "{out}");
    assert!(
        lines.contains(&"persistentvolume/hpccache-myhpccache-team-b"),
        "{out}"
    );
    assert!(lines.contains(&"deployment/web"), "{out}");
    // Re-running patches nothing twice.
    let again = ok(s.kubectl_sandbox().args([
        "mount",
        "-n",
        "team-a,team-b,team-c",
        "--to",
        "deployment/web",
    ]));
    assert!(
        !again.contains("created") && !again.contains("configured"),
        "{again}"
    );
    let (mounts, vols) = with_cluster(&s, |c, _| async move {
        let api: Api<Deployment> = Api::namespaced(c, "team-b");
        let d = api.get("web").await.expect("deployment");
        let spec = d.spec.and_then(|s| s.template.spec).expect("pod spec");
        (
            spec.containers[0].volume_mounts.clone().unwrap_or_default(),
            spec.volumes.unwrap_or_default(),
        )
    });
    assert_eq!(mounts.len(), 1);
    assert_eq!(mounts[0].mount_path, "/mnt/azure");
    assert_eq!(vols.len(), 1);
    assert_eq!(
        vols[0]
            .persistent_volume_claim
            .as_ref()
            .map(|c| c.claim_name.as_str()),
        Some("hpccache-myhpccache")
    );
    // unmount keeps to the namespaces it is given, as kubectl does (the current one is
    // `default`, where nothing was mounted).
    let out = ok(s
        .kubectl_sandbox()
        .args(["unmount", "-n", "team-a,team-b,team-c"]));
    assert_eq!(out.matches("deployment/web patched").count(), 3, "{out}");
    assert_eq!(out.matches(" deleted").count(), 6, "{out}");
    let vols = with_cluster(&s, |c, _| async move {
        let api: Api<Deployment> = Api::namespaced(c, "team-a");
        let d = api.get("web").await.expect("deployment");
        d.spec
            .and_then(|s| s.template.spec)
            .and_then(|s| s.volumes)
            .unwrap_or_default()
    });
    assert!(vols.is_empty());
    assert!(state(&s).kube.is_empty());
}

#[test]
fn unmount_refuses_while_a_pod_it_did_not_patch_uses_the_claim() {
    let s = Scratch::new();
    s.up_sandbox(&["--no-root-squash"]);
    ok(s.kubectl_sandbox().arg("mount"));
    with_cluster(&s, |c, _| async move {
        let api: Api<Pod> = Api::namespaced(c, "default");
        let pod: Pod = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nginx-nfs"},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.15.5-alpine",
                "volumeMounts": [{"name": "disk01", "mountPath": "/mnt/azure"}]}],
                "volumes": [{"name": "disk01", "persistentVolumeClaim": {"claimName": "hpccache-myhpccache"}}]}
        }))
        .expect("pod");
        api.create(&PostParams::default(), &pod)
            .await
            .expect("create pod");
    });
    let (code, _, err) = run(s.kubectl_sandbox().arg("unmount"));
    assert_eq!(code, 1);
    assert!(err.contains("default/nginx-nfs"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(state(&s).kube.len(), 2);
    let out = ok(s.kubectl_sandbox().args(["unmount", "--force"]));
    assert!(
        out.contains("persistentvolume/hpccache-myhpccache-default deleted"),
        "{out}"
    );
}

#[test]
fn dry_run_server_writes_nothing() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    let out = ok(s.kubectl_sandbox().args(["mount", "--dry-run=server"]));
    assert!(
        out.contains("persistentvolume/hpccache-myhpccache-default created (server dry run)"),
        "{out}"
    );
    assert!(state(&s).kube.is_empty());
    let v = with_cluster(&s, |c, _| async move { versions(&c).await });
    assert!(v.is_empty(), "{v:?}");
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_verify_leaves_no_probe_pod() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    // A claim that never binds (its volume is reserved for another claim) keeps the probe
    // pod Pending, so verify is still waiting when Ctrl-C comes.
    with_cluster(&s, |c, _| async move {
        let pvs: Api<PersistentVolume> = Api::all(c.clone());
        let held: PersistentVolume = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "nowhere"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany"],
                "claimRef": {"namespace": "other", "name": "theirs"},
                "nfs": {"server": "10.0.0.99", "path": "/elsewhere"}}
        }))
        .expect("pv");
        pvs.create(&PostParams::default(), &held)
            .await
            .expect("create pv");
        let api: Api<PersistentVolumeClaim> = Api::namespaced(c, "default");
        let pvc: PersistentVolumeClaim = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "stuck"},
            "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "", "volumeName": "nowhere",
                "resources": {"requests": {"storage": "1Gi"}}}
        }))
        .expect("pvc");
        api.create(&PostParams::default(), &pvc)
            .await
            .expect("create pvc");
    });
    let child = s
        .kubectl_sandbox()
        .args(["verify", "--claim", "stuck", "--as-user", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn verify");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let probes = with_cluster(&s, |c, _| async move {
        let api: Api<Pod> = Api::all(c);
        let lp = ListParams::default().labels(hpccache_core::probe::PROBE_LABEL);
        api.list(&lp).await.expect("pods").items.len()
    });
    assert_eq!(probes, 0);
}

#[test]
fn a_guide_claim_binds_to_a_stray_volume_while_ours_cannot() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    with_cluster(&s, |c, _| async move {
        let pvs: Api<PersistentVolume> = Api::all(c.clone());
        let stray: PersistentVolume = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "stray"},
            "spec": {"capacity": {"storage": "100Gi"}, "accessModes": ["ReadWriteMany"],
                "nfs": {"server": "10.0.0.99", "path": "/elsewhere"}}
        }))
        .expect("pv");
        pvs.create(&PostParams::default(), &stray)
            .await
            .expect("create pv");
    });
    ok(s.kubectl_sandbox().arg("mount"));
    with_cluster(&s, |c, _| async move {
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(c, "default");
        let guide: PersistentVolumeClaim = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "pvc-nfs"},
            "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "",
                "resources": {"requests": {"storage": "100Gi"}}}
        }))
        .expect("pvc");
        claims
            .create(&PostParams::default(), &guide)
            .await
            .expect("create pvc");
    });
    let bound = with_cluster(&s, |c, _| async move {
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(c, "default");
        let mut out = Vec::new();
        for name in ["pvc-nfs", "hpccache-myhpccache"] {
            for _ in 0..50 {
                let got = claims.get(name).await.expect("claim");
                let phase = got.status.and_then(|s| s.phase).unwrap_or_default();
                if phase == "Bound" {
                    out.push(got.spec.and_then(|s| s.volume_name).unwrap_or_default());
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        out
    });
    assert_eq!(bound, ["stray", "hpccache-myhpccache-default"]);
}

#[test]
fn verify_in_a_restricted_namespace_probes_only_as_non_root() {
    let s = Scratch::new();
    s.up_sandbox(&["--no-root-squash"]);
    with_cluster(&s, |c, _| async move {
        create_namespace(
            &c,
            "locked",
            json!({"pod-security.kubernetes.io/enforce": "restricted"}),
        )
        .await;
    });
    ok(s.kubectl_sandbox().args(["mount", "-n", "locked"]));
    chown_root_for_1000(&s);
    let out = ok(s
        .kubectl_sandbox()
        .args(["verify", "-n", "locked", "--as-user", "1000"]));
    assert!(
        out.contains("skipped: namespace locked enforces the restricted pod security level"),
        "{out}"
    );
    assert!(out.contains("[ok]   probe as uid 1000 can write"), "{out}");
}

#[test]
fn manifests_print_the_pair_and_the_workload_patch_without_a_cluster() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    // No --sandbox: manifests never connects.
    let out = ok(s.cmd("kubectl-hpccache").args([
        "manifests",
        "-n",
        "team-a",
        "--to",
        "deployment/web",
        "--sub-path",
        "team-a",
    ]));
    let docs: Vec<Value> = out
        .split("\n---\n")
        .map(|d| serde_saphyr::from_str(d).expect("yaml document"))
        .collect();
    assert_eq!(docs.len(), 3, "{out}");
    assert_eq!(docs[0]["kind"], "PersistentVolume");
    assert_eq!(docs[0]["spec"]["nfs"]["path"], "/myfilepath/team-a");
    assert_eq!(docs[0]["spec"]["capacity"]["storage"], "3072Gi");
    assert_eq!(docs[1]["spec"]["volumeName"], "hpccache-myhpccache-team-a");
    assert_eq!(docs[2]["kind"], "Deployment");
    assert_eq!(
        docs[2]["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["mountPath"],
        "/mnt/azure"
    );
    let json_out = ok(s.cmd("kubectl-hpccache").args(["manifests", "-o", "json"]));
    let list: Value = serde_json::from_str(&json_out).expect("json");
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
}

/// What a mount costs on the wire, read from the served cluster's request counters: one
/// list per kind however many namespaces (namespaces, to refuse a missing one before
/// anything is applied; PVs; claims), then one apply per object, and no read of an object
/// the lists showed absent. Re-running lists and writes nothing.
#[test]
fn a_mount_into_many_namespaces_lists_once_and_applies_each_object_once() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    let kubeconfig = s.path().join("kubeconfig");
    let _served = hpccache_tests::ServedSandbox::serve_world(
        &s.world_file(),
        &s.path().join("served.jsonl"),
        &kubeconfig,
    );
    let names: Vec<String> = (1..=5).map(|i| format!("team-{i}")).collect();
    for n in &names {
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}});
        let (code, text) =
            hpccache_tests::kube_http(&kubeconfig, "POST", "/api/v1/namespaces", &body.to_string());
        assert_eq!(code, 201, "{text}");
    }
    let mount = || {
        let mut c = s.cmd("kubectl-hpccache");
        c.arg("--kubeconfig").arg(&kubeconfig).args([
            "mount",
            "-n",
            &names.join(","),
            "-o",
            "name",
        ]);
        let before = hpccache_tests::kube_requests(&kubeconfig);
        let out = ok(&mut c);
        let mut spent = hpccache_tests::kube_requests(&kubeconfig);
        for (verb, n) in before {
            *spent.entry(verb).or_default() -= n;
        }
        spent.retain(|_, n| *n > 0);
        (out, spent)
    };
    let (out, spent) = mount();
    assert_eq!(out.lines().count(), 10, "{out}");
    assert_eq!(
        spent.into_iter().collect::<Vec<_>>(),
        [("APPLY".to_string(), 10), ("LIST".to_string(), 3)]
    );
    let (_, spent) = mount();
    assert_eq!(
        spent.into_iter().collect::<Vec<_>>(),
        [("LIST".to_string(), 3)]
    );
}
