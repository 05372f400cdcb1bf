//! Issue 12 (tests and safety), how the Azure side fails and waits:
//!
//! - `up` against a cluster or group that does not exist reads before it writes: nothing
//!   written (the provider stays NotRegistered), exit 3 as az exits on not found, and no
//!   "run the same `up` again" hint for an error a re-run cannot fix.
//! - `cache wait --created` / `--exists` wait for a cache that does not exist yet (az's `wait`).
//! - An `--arm-endpoint` nobody listens on fails at once, naming the endpoint and the flag.
//! - `state show` takes `-n/--name` like every other command (`-d/--deployment` still works).

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hpccache_sandbox::world::DEFAULT_RESOURCE_GROUP;
use hpccache_tests::{GUIDE_UP, Scratch, ServedSandbox, output_within, read_request_log};
use serde_json::Value;

/// Where `up` puts the cache, its storage account and DNS zone: the cluster's group.
const CACHE_RG: &str = "myResourceGroup";

fn run(c: &mut Command) -> Output {
    c.output().expect("run the binary")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn provider_state(s: &Scratch) -> String {
    s.load_world()
        .providers
        .get("microsoft.storagecache")
        .map(|p| p.state.clone())
        .unwrap_or_default()
}

#[test]
fn up_with_a_missing_group_or_cluster_writes_nothing_and_exits_3_without_a_resume_hint() {
    let s = Scratch::new();
    for (group, cluster) in [
        ("nopeRG", "myAKSCluster"),
        (DEFAULT_RESOURCE_GROUP, "nopeCluster"),
    ] {
        let _ = std::fs::remove_file(s.sandbox_log());
        let out = run(s.az_sandbox().args([
            "up",
            "--backend",
            "hpccache",
            "-g",
            group,
            "--cluster",
            cluster,
            "-n",
            "MyHpcCache",
        ]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{group}/{cluster}: {err}");
        assert!(err.starts_with("ERROR: "), "{err}");
        assert!(!err.contains("again to resume"), "no resume hint: {err}");
        assert!(s.sandbox_writes().is_empty(), "{:#?}", s.sandbox_writes());
        assert_eq!(provider_state(&s), "NotRegistered");
        let st =
            hpccache_core::state::read_optional(&s.state_file("MyHpcCache")).expect("readable");
        assert!(
            st.as_ref().is_none_or(|st| st.resources.is_empty()),
            "{st:?}"
        );
    }
}

/// Runs `child` (already spawned) to its end within `limit`; `None` if it is still running.
fn wait_within(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls the request log until `n` logical requests (client request ids) have a line for
/// which `pred` holds, within `limit`.
fn log_until(
    log: &std::path::Path,
    limit: Duration,
    n: usize,
    pred: impl Fn(&Value) -> bool,
) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        let ids: std::collections::BTreeSet<String> = read_request_log(log)
            .iter()
            .filter(|r| pred(r))
            .map(|r| r["clientRequestId"].as_str().unwrap_or_default().to_owned())
            .collect();
        if ids.len() >= n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn cache_wait_created_and_exists_wait_for_a_cache_that_does_not_exist_yet() {
    let s = Scratch::new();
    let log = s.path().join("served.jsonl");
    let served = ServedSandbox::start(&log);
    let cache_get = |r: &Value| {
        r["method"] == "GET"
            && r["status"] == 404
            && r["path"]
                .as_str()
                .is_some_and(|p| p.to_ascii_lowercase().ends_with("/caches/myhpccache"))
    };
    // One wait at a time until each has seen the 404: the first polls every 5 s, so the
    // second logical request that finds nothing is the second wait's.
    let mut waits = Vec::new();
    for (i, (cond, interval)) in [("--created", "5"), ("--exists", "1")]
        .into_iter()
        .enumerate()
    {
        waits.push(
            served
                .az(&s)
                .args(["cache", "wait", "-g", CACHE_RG, "-n", "MyHpcCache", cond])
                .args(["--interval", interval, "--timeout", "120"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start cache wait"),
        );
        assert!(
            log_until(&log, Duration::from_secs(60), i + 1, cache_get),
            "{cond} looked for the cache and found none"
        );
    }
    for w in waits.iter_mut() {
        assert_eq!(
            w.try_wait().expect("poll"),
            None,
            "still waiting after a 404"
        );
    }
    let up = run(served.az(&s).args(GUIDE_UP).args(["-o", "none"]));
    assert!(up.status.success(), "{}", stderr(&up));
    for w in waits.iter_mut() {
        assert_eq!(wait_within(w, Duration::from_secs(60)), Some(0));
    }

    // --updated needs the resource: a missing one is not found at once, as in az.
    let out = run(served.az(&s).args([
        "cache",
        "wait",
        "-g",
        CACHE_RG,
        "-n",
        "NoSuchCache",
        "--updated",
    ]));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn an_unreachable_arm_endpoint_fails_at_once_naming_the_endpoint_and_the_flag() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let s = Scratch::new();
    let started = Instant::now();
    let out = output_within(
        s.cmd("az-hpccache-ext")
            .args(["cache", "show", "-g", "rg", "-n", "cache1"])
            .args(["--arm-endpoint", &endpoint])
            .env("HPCCACHE_ACCESS_TOKEN", "token")
            .env_remove("HPCCACHE_SANDBOX")
            .env_remove("AZURE_SUBSCRIPTION_ID"),
        Duration::from_secs(120),
    )
    .expect("the command ends");
    let took = started.elapsed();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}: {err}");
    assert!(err.contains(&endpoint), "names the endpoint: {err}");
    assert!(err.contains("--arm-endpoint"), "names the flag: {err}");
}

#[test]
fn state_show_takes_n_like_every_other_command() {
    let s = Scratch::new();
    s.write_state("MyHpcCache", &hpccache_tests::sample_state());
    s.write_state("Other", &{
        let mut st = hpccache_tests::sample_state();
        st.deployment = "Other".into();
        st
    });
    for flags in [
        ["-n", "Other"],
        ["--name", "Other"],
        ["-d", "Other"],
        ["--deployment", "Other"],
    ] {
        let out = run(s
            .cmd("az-hpccache-ext")
            .args(["state", "show", "--query", "deployment", "-o", "tsv"])
            .args(flags));
        assert_eq!(
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).trim()
            ),
            (Some(0), "Other"),
            "{flags:?}: {}",
            stderr(&out)
        );
    }
    let help = run(s.cmd("az-hpccache-ext").args(["state", "show", "--help"]));
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--name"), "{help}");
    assert!(
        !help.contains("--deployment"),
        "the old flag is hidden: {help}"
    );
}
