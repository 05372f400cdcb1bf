//! `az-hpccache-ext up`, `status` and `down` end to end on the in-process sandbox: the
//! request log (HPCCACHE_SANDBOX_LOG) shows what was sent.

use std::process::{Command, Output};

use hpccache_tests::Scratch;
use serde_json::Value;

const UP: &[&str] = &[
    "up",
    "--backend",
    "hpccache",
    "--sandbox",
    "-g",
    "myResourceGroup",
    "--cluster",
    "myAKSCluster",
    "-n",
    "MyHpcCache",
];

fn az(s: &Scratch, args: &[&str]) -> Command {
    let mut c = s.cmd("az-hpccache-ext");
    c.args(args)
        .env("HPCCACHE_SANDBOX_TIME_SCALE", "0.0005")
        .env("HPCCACHE_SANDBOX_LOG", s.path().join("requests.jsonl"))
        .env_remove("HPCCACHE_SANDBOX_FAULTS");
    c
}

fn ok(c: &mut Command) -> Output {
    let out = c.output().expect("run az-hpccache-ext");
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The sandbox request log since the last call, emptied.
fn take_log(s: &Scratch) -> Vec<Value> {
    let path = s.path().join("requests.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn writes(log: &[Value]) -> Vec<String> {
    log.iter()
        .filter(|r| {
            let m = r["method"].as_str().unwrap_or_default();
            let p = r["path"].as_str().unwrap_or_default();
            m != "GET" && !p.ends_with("/checkNameAvailability")
        })
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or_default(),
                r["path"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

fn state(s: &Scratch) -> Value {
    let text =
        std::fs::read_to_string(s.deployments_dir().join("MyHpcCache.json")).expect("state file");
    serde_json::from_str(&text).expect("state json")
}

#[test]
fn up_on_default_world_prints_summary_and_records_every_resource() {
    let s = Scratch::new();
    let out = ok(&mut az(&s, UP));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("json summary");
    assert_eq!(summary["fqdn"], "server.myhpccache.hpccache.internal");
    assert!(
        summary["mountAddresses"]
            .as_array()
            .is_some_and(|a| a.len() >= 3)
    );
    assert_eq!(
        summary["mountCommand"],
        "sudo mount -t nfs -o vers=3,hard,proto=tcp,mountproto=tcp,retry=30 server.myhpccache.hpccache.internal:/myfilepath /mnt/hpccache"
    );
    assert_eq!(summary["nextCommand"], "kubectl hpccache mount MyHpcCache");
    let st = state(&s);
    for key in [
        "subnet",
        "storageAccount",
        "container",
        "roleStorageAccountContributor",
        "roleStorageBlobDataContributor",
        "cache",
        "storageTarget",
        "dnsZone",
        "vnetLink",
        "dnsRecords",
    ] {
        assert_eq!(st["resources"][key]["created"], true, "{key} in {st:#}");
    }
    assert_eq!(st["steps"].as_object().map(|o| o.len()), Some(9));
    let text = std::fs::read_to_string(s.deployments_dir().join("MyHpcCache.json")).unwrap();
    assert!(
        !text.to_ascii_lowercase().contains("token"),
        "state holds no token"
    );
    // One write per created resource (the provider registration and the two roles included).
    let log = take_log(&s);
    let w = writes(&log);
    let mut unique = w.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        w.len(),
        unique.len(),
        "a resource was written twice: {w:#?}"
    );
}

#[test]
fn second_up_makes_no_write() {
    let s = Scratch::new();
    ok(&mut az(&s, UP));
    take_log(&s);
    ok(&mut az(&s, UP));
    let log = take_log(&s);
    assert!(!log.is_empty());
    assert_eq!(writes(&log), Vec::<String>::new());
}

#[test]
fn dry_run_only_reads_and_writes_no_state() {
    let s = Scratch::new();
    let mut args = UP.to_vec();
    args.push("--dry-run");
    let out = ok(&mut az(&s, &args));
    let plan: Value = serde_json::from_slice(&out.stdout).expect("json plan");
    let creates = plan
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == "create")
        .count();
    assert!(creates >= 10, "{plan:#}");
    assert_eq!(writes(&take_log(&s)), Vec::<String>::new());
    assert!(!s.deployments_dir().join("MyHpcCache.json").exists());
}

#[test]
fn status_reads_every_resource_live() {
    let s = Scratch::new();
    ok(&mut az(&s, UP));
    let out = ok(&mut az(&s, &["status", "--sandbox", "-n", "MyHpcCache"]));
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 10);
    assert!(
        rows.iter()
            .all(|r| r["exists"] == true && r["drift"].as_array().unwrap().is_empty()),
        "{rows:#?}"
    );
    let cache = rows.iter().find(|r| r["role"] == "cache").unwrap();
    assert_eq!(cache["health"], "Healthy");
}

#[test]
fn down_flushes_before_deleting_and_keeps_the_data() {
    let s = Scratch::new();
    ok(&mut az(&s, UP));
    take_log(&s);
    let out = az(&s, &["down", "--sandbox", "-n", "MyHpcCache"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("Unable to prompt for confirmation as no tty available. Use --yes.")
    );
    ok(&mut az(
        &s,
        &["down", "--sandbox", "-n", "MyHpcCache", "--yes"],
    ));
    let w = writes(&take_log(&s));
    let flush = w
        .iter()
        .position(|x| x.ends_with("/flush"))
        .expect("flush sent");
    let target = w
        .iter()
        .position(|x| x.starts_with("DELETE") && x.contains("/storageTargets/"))
        .expect("target deleted");
    assert!(flush < target, "{w:#?}");
    assert!(
        !w.iter().any(|x| x.contains("/storageAccounts/")
            && x.starts_with("DELETE")
            && !x.contains("roleAssignments")),
        "{w:#?}"
    );
    let st = state(&s);
    let keys: Vec<&String> = st["resources"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["container", "storageAccount"]);
}

#[test]
fn failed_cache_create_stops_with_code_and_resume_hint_then_converges() {
    let s = Scratch::new();
    let out = az(&s, UP)
        .env(
            "HPCCACHE_SANDBOX_FAULTS",
            "fail-cache-create=AscInternalError",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("(AscInternalError)"), "{err}");
    assert!(
        err.contains("Run the same `up` command again to resume"),
        "{err}"
    );
    assert!(state(&s)["steps"]["cluster"].is_object());
    ok(&mut az(&s, UP));
    let st = state(&s);
    assert_eq!(st["steps"].as_object().map(|o| o.len()), Some(9), "{st:#}");
}

#[test]
fn no_wait_then_up_again_finishes() {
    let s = Scratch::new();
    let mut args = UP.to_vec();
    args.push("--no-wait");
    let out = ok(&mut az(&s, &args));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["pending"]
            .as_array()
            .is_some_and(|p| p.iter().any(|x| x == "cache")),
        "{v:#}"
    );
    assert!(state(&s)["operations"]["cache"].is_object());
    ok(&mut az(&s, UP));
    let st = state(&s);
    assert!(st.get("operations").is_none(), "{st:#}");
    assert_eq!(st["steps"].as_object().map(|o| o.len()), Some(9));
}
