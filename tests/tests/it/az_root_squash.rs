//! Root squash and who can write (issue 12, item 5): `up` keeps the cache's own default
//! (root squash off), `--root-squash` opts in, `--owner UID:GID` gives a directory to a
//! non-root uid through a one-shot job while root squash is off, an existing cache follows
//! the asked setting, a failed write is never reported as passing, and `up --attach` and
//! `kubectl hpccache verify` agree.

use hpccache_tests::{GUIDE_UP, Scratch};
use serde_json::{Value, json};

fn run(c: &mut std::process::Command) -> (i32, String, String) {
    let out = c.output().expect("run the binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `up` of the guide's deployment with `extra` flags: exit code, JSON output, stderr.
fn up(s: &Scratch, extra: &[&str]) -> (i32, Value, String) {
    let (code, out, err) = run(s.az_sandbox().args(GUIDE_UP).args(extra));
    (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}

/// `kubectl hpccache verify -o json` with `extra` flags: exit code and every check.
fn verify(s: &Scratch, extra: &[&str]) -> (i32, Vec<Value>) {
    let (code, out, err) = run(s
        .kubectl_sandbox()
        .args(["verify", "-o", "json"])
        .args(extra));
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}\n{err}"));
    let checks = v[0]["checks"].as_array().cloned().unwrap_or_default();
    (code, checks)
}

fn attach_checks(v: &Value) -> Vec<Value> {
    v["kubernetes"]["verification"]["checks"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no checks in {v:#}"))
}

fn check<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["name"].as_str().unwrap_or("").starts_with(name))
        .unwrap_or_else(|| panic!("no check {name:?} in {checks:#?}"))
}

/// The cache's root squash in the sandbox world (the default policy's default rule).
fn world_root_squash(s: &Scratch) -> bool {
    let world = s.load_world();
    let cache = world
        .resources
        .values()
        .find(|r| {
            r.rtype
                .eq_ignore_ascii_case("Microsoft.StorageCache/caches")
        })
        .expect("a cache in the world");
    cache.body["properties"]["securitySettings"]["accessPolicies"][0]["accessRules"][0]["rootSquash"]
        == true
}

fn recorded_root_squash(s: &Scratch) -> bool {
    hpccache_core::state::read(&s.state_file("MyHpcCache"))
        .expect("state file")
        .cache
        .expect("cache record")
        .root_squash
}

#[test]
fn up_keeps_the_caches_default_root_squash_off_so_root_writes() {
    let s = Scratch::new();
    let (code, v, err) = up(&s, &["--attach"]);
    assert_eq!(code, 0, "{err}");
    assert!(!world_root_squash(&s), "the cache squashes root");
    assert!(!recorded_root_squash(&s));
    let checks = attach_checks(&v);
    assert_eq!(check(&checks, "probe as root can write")["status"], "pass");
    assert!(checks.iter().all(|c| c["status"] == "pass"), "{checks:#?}");
    let (code, checks) = verify(&s, &[]);
    assert_eq!(code, 0, "{checks:#?}");
    assert_eq!(check(&checks, "probe as root can write")["status"], "pass");
}

#[test]
fn a_non_root_probe_that_cannot_write_fails_up_attach_and_verify_alike() {
    let s = Scratch::new();
    // The export's root belongs to root (mode 0755): uid 2000 has no directory of its own.
    let (code, v, err) = up(&s, &["--attach", "--as-user", "2000"]);
    assert_eq!(code, 1, "{err}");
    let checks = attach_checks(&v);
    assert_eq!(
        check(&checks, "probe as uid 2000 can write")["status"],
        "fail"
    );
    let (vcode, vchecks) = verify(&s, &["--as-user", "2000"]);
    assert_eq!(vcode, code);
    let statuses = |c: &[Value]| -> Vec<(String, String)> {
        c.iter()
            .map(|c| (c["name"].to_string(), c["status"].to_string()))
            .collect()
    };
    assert_eq!(statuses(&vchecks), statuses(&checks));
}

#[test]
fn root_squash_with_owner_gives_the_directory_to_that_uid_and_squashes_root() {
    let s = Scratch::new();
    let asked = [
        "--root-squash",
        "--owner",
        "1000:1000",
        "--attach",
        "--as-user",
        "1000",
    ];
    let (code, v, err) = up(&s, &asked);
    assert_eq!(code, 0, "{err}");
    let checks = attach_checks(&v);
    assert_eq!(
        check(&checks, "probe as uid 1000 can write")["status"],
        "pass"
    );
    // Root is squashed, as asked: it cannot write a directory owned by 1000 (mode 0755).
    assert_eq!(
        check(&checks, "probe as root cannot write (root squash is on)")["status"],
        "pass"
    );
    for c in checks.iter().filter(|c| c["status"] == "pass") {
        let detail = c["detail"].as_str().unwrap_or("");
        assert!(
            !detail.contains("Permission denied"),
            "a pass beside a refusal: {c:#}"
        );
    }
    assert!(world_root_squash(&s));
    assert!(recorded_root_squash(&s));
    // The export's root is 1000's in the world, and the job is gone.
    let world = s.load_world();
    let target = world
        .resources
        .values()
        .find(|r| {
            r.rtype
                .eq_ignore_ascii_case("Microsoft.StorageCache/caches/storageTargets")
        })
        .expect("a storage target");
    let dir = target
        .sandbox
        .files
        .get("/myfilepath")
        .expect("the junction's root has an owner");
    assert_eq!((dir.uid, dir.gid), (1000, 1000));
    let leftovers = s.with_cluster(|c, _| async move {
        use k8s_openapi::api::batch::v1::Job;
        let jobs: kube::Api<Job> = kube::Api::all(c);
        jobs.list(&Default::default())
            .await
            .expect("jobs")
            .items
            .len()
    });
    assert_eq!(leftovers, 0, "the owner job was left behind");
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(s.state_file("MyHpcCache")).expect("state file"),
    )
    .expect("state JSON");
    assert_eq!(
        state["owner"],
        json!({"uid": 1000, "gid": 1000, "path": "/myfilepath"})
    );
    // verify agrees, and probes as the recorded owner without being told.
    let (vcode, vchecks) = verify(&s, &[]);
    assert_eq!(vcode, 0, "{vchecks:#?}");
    assert_eq!(
        check(&vchecks, "probe as uid 1000 can write")["status"],
        "pass"
    );
    // Resumable and idempotent: the same command again writes nothing to Azure.
    let before = s.sandbox_writes().len();
    let (code, _, err) = up(&s, &asked);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        s.sandbox_writes().len(),
        before,
        "writes on a finished deployment"
    );
}

#[test]
fn up_converges_an_existing_caches_root_squash_with_one_write() {
    let s = Scratch::new();
    let (code, _, err) = up(&s, &["--root-squash", "-o", "none"]);
    assert_eq!(code, 0, "{err}");
    assert!(world_root_squash(&s));
    // Opting in without an owner says how a non-root writer gets a directory.
    assert!(err.contains("--owner"), "{err}");
    let before = s.sandbox_writes();
    let (code, _, err) = up(&s, &["--no-root-squash", "-o", "none"]);
    assert_eq!(code, 0, "{err}");
    assert!(!world_root_squash(&s), "--no-root-squash was ignored");
    assert!(!recorded_root_squash(&s));
    let after = s.sandbox_writes();
    let new: Vec<&Value> = after[before.len()..].iter().collect();
    assert_eq!(new.len(), 1, "{new:#?}");
    assert!(
        new[0]["path"]
            .as_str()
            .unwrap_or("")
            .ends_with("/caches/MyHpcCache"),
        "{new:#?}"
    );
    // Without either flag, an existing cache keeps its setting.
    let (code, _, err) = up(&s, &["-o", "none"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s.sandbox_writes().len(), after.len());
}

#[test]
fn a_failed_write_is_never_reported_as_passing() {
    let s = Scratch::new();
    s.up_sandbox(&["--no-root-squash"]);
    let (code, out, err) = run(s.kubectl_sandbox().arg("mount"));
    assert_eq!(code, 0, "{out}\n{err}");
    // The cache squashes root behind the state file's back.
    let cache = hpccache_core::state::read(&s.state_file("MyHpcCache"))
        .expect("state")
        .resources["cache"]
        .id
        .clone();
    s.with_cluster(|_, sb| {
        sb.running().with_world(|w| {
            if let Some(c) = w.get_mut(&cache) {
                c.body["properties"]["securitySettings"]["accessPolicies"][0]["accessRules"][0]
                    ["rootSquash"] = json!(true);
            }
        });
        async {}
    });
    let (code, checks) = verify(&s, &[]);
    assert_eq!(code, 1, "{checks:#?}");
    let denied: Vec<&Value> = checks
        .iter()
        .filter(|c| {
            c["detail"]
                .as_str()
                .is_some_and(|d| d.contains("Permission denied"))
        })
        .collect();
    assert!(!denied.is_empty(), "{checks:#?}");
    for c in denied {
        assert_eq!(c["status"], "fail", "{c:#}");
    }
}

#[test]
fn owner_is_checked_before_any_request() {
    let s = Scratch::new();
    for bad in ["1000", "0:0", "x:y", "1000:", "4294967295:1"] {
        let (code, _, err) = up(&s, &["--root-squash", "--owner", bad]);
        assert_eq!(code, 2, "--owner {bad}: {err}");
        assert!(err.contains("--owner"), "{err}");
    }
    let (code, _, err) = up(&s, &["--root-squash", "--no-root-squash"]);
    assert_eq!(code, 2, "{err}");
    assert!(!s.sandbox_log().exists(), "a bad flag sent a request");
}

#[test]
fn dry_run_plans_the_owner_job_and_the_root_squash_switch() {
    let s = Scratch::new();
    let (code, v, err) = up(
        &s,
        &[
            "--root-squash",
            "--owner",
            "1000:1000",
            "--dry-run",
            "-o",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let steps: Vec<&str> = v
        .as_array()
        .unwrap_or_else(|| panic!("{v:#}"))
        .iter()
        .filter_map(|i| i["step"].as_str())
        .collect();
    assert!(steps.contains(&"owner"), "{v:#}");
    assert!(!s.state_file("MyHpcCache").exists());
}

#[test]
fn a_failed_owner_job_leaves_root_squash_as_asked_and_the_same_command_resumes() {
    let s = Scratch::new();
    let asked = ["--root-squash", "--owner", "1000:1000", "-o", "none"];
    let (code, _, err) = up(&s, &["--root-squash", "-o", "none"]);
    assert_eq!(code, 0, "{err}");
    // A namespace whose pod security level forbids the job's root pod: refused before
    // anything changes.
    s.with_cluster(|c, _| async move {
        use k8s_openapi::api::core::v1::Namespace;
        let api: kube::Api<Namespace> = kube::Api::all(c);
        let ns: Namespace = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "locked", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}
        }))
        .expect("namespace");
        api.create(&Default::default(), &ns).await.expect("create");
    });
    let before = s.sandbox_writes().len();
    let (code, _, err) = up(&s, &[&asked[..], &["--namespace", "locked"]].concat());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("locked"), "{err}");
    assert_eq!(
        s.sandbox_writes().len(),
        before,
        "refused, yet Azure was changed"
    );
    // A job that fails on the cache (the user's default rule is read-only): root squash
    // went off for it, and is back on when it fails.
    let cache = hpccache_core::state::read(&s.state_file("MyHpcCache"))
        .expect("state")
        .resources["cache"]
        .id
        .clone();
    let access = |access: &'static str| {
        let cache = cache.clone();
        s.with_cluster(|_, sb| {
            sb.running().with_world(|w| {
                if let Some(c) = w.get_mut(&cache) {
                    c.body["properties"]["securitySettings"]["accessPolicies"][0]["accessRules"]
                        [0]["access"] = json!(access);
                }
            });
            async {}
        })
    };
    access("ro");
    let before = s.sandbox_writes().len();
    let (code, _, err) = up(&s, &[&asked[..], &["--namespace", "default"]].concat());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("Read-only file system"), "{err}");
    let patches: Vec<String> = s.sandbox_writes()[before..]
        .iter()
        .map(|w| format!("{} {}", w["method"], w["path"]))
        .collect();
    assert_eq!(patches.len(), 2, "off for the job, on again: {patches:#?}");
    assert!(
        patches.iter().all(|p| p.starts_with("\"PATCH\"")),
        "{patches:#?}"
    );
    assert!(
        world_root_squash(&s),
        "a failed job left root unsquashed: {err}"
    );
    assert!(recorded_root_squash(&s));
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(s.state_file("MyHpcCache")).expect("state file"),
    )
    .expect("state JSON");
    assert!(state.get("owner").is_none(), "{state:#}");
    // Writable again, the same command finishes: the job runs, root squash ends on.
    access("rw");
    let (code, _, err) = up(&s, &asked);
    assert_eq!(code, 0, "{err}");
    assert!(world_root_squash(&s));
    let world = s.load_world();
    let target = world
        .resources
        .values()
        .find(|r| {
            r.rtype
                .eq_ignore_ascii_case("Microsoft.StorageCache/caches/storageTargets")
        })
        .expect("a storage target");
    let owner = target.sandbox.files.get("/myfilepath").expect("an owner");
    assert_eq!((owner.uid, owner.gid), (1000, 1000));
}
