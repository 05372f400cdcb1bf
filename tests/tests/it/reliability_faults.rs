//! Issue 7, item 2: transient faults and permanent failures.
//!
//! `up`, `status` and `down` under 10 % and 30 % injected faults (500, 503, 429 with
//! Retry-After, dropped connections; seeded) must succeed, honour Retry-After, back off with
//! jitter, stay within the retry budget, and never turn a fault into a duplicate or a delete.
//! The sandbox request log carries each request's arrival time and `x-ms-client-request-id`
//! (shared by the retries of one logical request), so the checks read the client's behaviour
//! from what the server saw.
//!
//! Permanent failures (a cache create ending `Failed` with `AscInternalError`, a quota error
//! refusing the create) stop with `ERROR: (Code) Message`, a resume hint and exit 1, and keep
//! the finished steps in the state file.
//!
//! `cargo test -p hpccache-tests --test it reliability_faults:: -- --nocapture` prints the figures.

// The figures printed with --nocapture are the report (RELIABILITY.md).
#![allow(clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use hpccache_tests::{
    GUIDE_UP, Scratch, WorldCensus, effective_writes, output_within, read_request_log,
};
use serde_json::Value;

const TIME_SCALE: &str = "0.0005";
/// [`GUIDE_UP`], quiet: these suites read the request log, not the output.
const UP_FLAGS: &[&str] = &["-o", "none", "--only-show-errors"];
const STATUS: &[&str] = &["status", "-n", "MyHpcCache", "-o", "json"];
const DOWN: &[&str] = &["down", "-n", "MyHpcCache", "--yes", "-o", "none"];
/// What the sandbox's injected 429 asks for (`Retry-After: 1`), in ms.
const RETRY_AFTER_MS: u64 = 1000;
const LIMIT: Duration = Duration::from_secs(120);

fn az(s: &Scratch, log: &Path, faults: Option<&str>) -> Command {
    let mut c = s.az_sandbox();
    c.env("HPCCACHE_SANDBOX_TIME_SCALE", TIME_SCALE)
        .env("HPCCACHE_SANDBOX_LOG", log);
    if let Some(f) = faults {
        c.env("HPCCACHE_SANDBOX_FAULTS", f);
    }
    c
}

fn run(c: &mut Command, what: &str) -> Output {
    output_within(c, LIMIT).unwrap_or_else(|| panic!("{what}: still running after {LIMIT:?}"))
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// What the log says about the client's retries.
#[derive(Debug, Default)]
struct RetryFigures {
    requests: usize,
    faults: BTreeMap<String, usize>,
    retries: usize,
    max_attempts: usize,
    /// Gap after each injected 429 until the same request came again, ms.
    after_429: Vec<u64>,
    /// Gap after a 500/503/drop until the first retry (backoff attempt 1), ms.
    first_backoffs: Vec<u64>,
    max_gap: u64,
}

fn retry_figures(log: &[Value]) -> RetryFigures {
    let mut f = RetryFigures {
        requests: log.len(),
        ..RetryFigures::default()
    };
    let mut by_id: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for r in log {
        if let Some(fault) = r["fault"].as_str() {
            *f.faults.entry(fault.to_owned()).or_default() += 1;
        }
        if let Some(id) = r["clientRequestId"].as_str() {
            by_id.entry(id).or_default().push(r);
        }
    }
    for attempts in by_id.values_mut() {
        attempts.sort_by_key(|r| r["seq"].as_u64());
        f.max_attempts = f.max_attempts.max(attempts.len());
        f.retries += attempts.len() - 1;
        for (i, pair) in attempts.windows(2).enumerate() {
            let gap = pair[1]["atMs"]
                .as_u64()
                .unwrap_or_default()
                .saturating_sub(pair[0]["atMs"].as_u64().unwrap_or_default());
            f.max_gap = f.max_gap.max(gap);
            match pair[0]["fault"].as_str() {
                Some("429") => f.after_429.push(gap),
                Some(_) if i == 0 => f.first_backoffs.push(gap),
                _ => {}
            }
        }
    }
    f
}

/// The checks on one run's log; returns its figures.
fn check_retries(what: &str, log: &[Value]) -> RetryFigures {
    let f = retry_figures(log);
    let budget = hpccache_core::azure::client::RetryPolicy::default().max_attempts as usize;
    assert!(
        f.max_attempts <= budget,
        "{what}: a request took {} attempts (budget {budget})",
        f.max_attempts
    );
    // Retry-After honoured: the header says whole seconds; allow the log's ms truncation.
    assert!(
        f.after_429.iter().all(|g| *g + 1 >= RETRY_AFTER_MS),
        "{what}: retried sooner than Retry-After: {:?}",
        f.after_429
    );
    // Every fault answered was retried (the run succeeded), so retries >= faults.
    let faults: usize = f.faults.values().sum();
    assert!(f.retries >= faults, "{what}: {f:?}");
    f
}

/// No resource written twice (2xx PUT/POST/PATCH per path ≤ 1), no DELETE at all.
fn check_writes(what: &str, log: &[Value]) {
    let mut per: BTreeMap<(String, String), usize> = BTreeMap::new();
    for w in effective_writes(log) {
        *per.entry(w).or_default() += 1;
    }
    let bad: Vec<_> = per
        .iter()
        .filter(|((m, _), n)| m == "DELETE" || **n > 1)
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: duplicate writes or deletes: {bad:#?}"
    );
}

fn up_status_down_under(rate: f64, seed: u64) -> Vec<(String, RetryFigures)> {
    let each = rate / 4.0;
    let faults = format!("500:{each},503:{each},429:{each},drop:{each},seed={seed}");
    eprintln!("faults {faults}");
    let s = Scratch::new();
    let mut figures = Vec::new();

    let log = s.path().join("up.jsonl");
    let out = run(
        az(&s, &log, Some(&faults)).args(GUIDE_UP).args(UP_FLAGS),
        "up",
    );
    assert!(out.status.success(), "up under {faults}: {}", text(&out));
    let l = read_request_log(&log);
    check_writes("up", &l);
    figures.push(("up".to_owned(), check_retries("up", &l)));
    let census = WorldCensus::of(&s.load_world());
    assert!(census.is_one_of_each("MyHpcCacheSubnet"), "{census:#?}");

    let log = s.path().join("status.jsonl");
    let out = run(az(&s, &log, Some(&faults)).args(STATUS), "status");
    assert!(
        out.status.success(),
        "status under {faults}: {}",
        text(&out)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).expect("status json");
    let rows = rows.as_array().expect("rows");
    assert!(
        rows.len() == 10 && rows.iter().all(|r| r["exists"] == true),
        "{rows:#?}"
    );
    let l = read_request_log(&log);
    assert!(
        effective_writes(&l).is_empty(),
        "status wrote: {:?}",
        effective_writes(&l)
    );
    figures.push(("status".to_owned(), check_retries("status", &l)));

    // Data in the container: it must survive `down` under faults too.
    let mut w = s.load_world();
    let container = w
        .of_type("Microsoft.Storage/storageAccounts/blobServices/containers")
        .map(|r| r.id.clone())
        .next()
        .expect("container");
    w.put_blob(&container, "data/keep.bin").expect("blob");
    s.save_world(&w);

    let log = s.path().join("down.jsonl");
    let out = run(az(&s, &log, Some(&faults)).args(DOWN), "down");
    assert!(out.status.success(), "down under {faults}: {}", text(&out));
    let l = read_request_log(&log);
    // Each resource deleted at most once (a repeated 2xx DELETE would mean a retry of a
    // delete that had already happened); the account and container never.
    let mut deletes: BTreeMap<String, usize> = BTreeMap::new();
    for (m, p) in effective_writes(&l) {
        if m == "DELETE" {
            *deletes.entry(p).or_default() += 1;
        }
    }
    assert!(
        deletes.iter().all(|(p, n)| {
            let data = p.contains("/microsoft.storage/storageaccounts/")
                && !p.contains("/roleassignments/");
            *n == 1 && !data
        }),
        "{deletes:#?}"
    );
    figures.push(("down".to_owned(), check_retries("down", &l)));
    let census = WorldCensus::of(&s.load_world());
    assert!(census.is_torn_down(), "{census:#?}");
    assert_eq!(census.container_data, vec![(true, 1)]);
    figures
}

fn report(rate: f64, runs: &[(u64, Vec<(String, RetryFigures)>)]) {
    for (seed, figs) in runs {
        for (cmd, f) in figs {
            let min_b = f.first_backoffs.iter().min().copied().unwrap_or_default();
            let max_b = f.first_backoffs.iter().max().copied().unwrap_or_default();
            eprintln!(
                "rate {rate} seed {seed} {cmd}: {} requests, faults {:?}, {} retries, max attempts {}, \
                 gaps after 429 {:?} ms, first backoff {min_b}..{max_b} ms ({} samples), max gap {} ms",
                f.requests,
                f.faults,
                f.retries,
                f.max_attempts,
                f.after_429,
                f.first_backoffs.len(),
                f.max_gap
            );
        }
    }
    // Jitter: first backoffs of one rate are not all the same.
    let backoffs: Vec<u64> = runs
        .iter()
        .flat_map(|(_, figs)| figs.iter().flat_map(|(_, f)| f.first_backoffs.clone()))
        .collect();
    if backoffs.len() >= 4 {
        let min = backoffs.iter().min().copied().unwrap_or_default();
        let max = backoffs.iter().max().copied().unwrap_or_default();
        assert!(max > min, "no jitter in {backoffs:?}");
    }
}

#[test]
fn up_status_down_succeed_under_10_percent_faults() {
    let runs: Vec<_> = [1, 2]
        .iter()
        .map(|&seed| (seed, up_status_down_under(0.1, seed)))
        .collect();
    report(0.1, &runs);
}

#[test]
fn up_status_down_succeed_under_30_percent_faults() {
    let runs: Vec<_> = [3, 4]
        .iter()
        .map(|&seed| (seed, up_status_down_under(0.3, seed)))
        .collect();
    report(0.3, &runs);
}

fn assert_permanent_failure(fault: &str, code: &str) -> Scratch {
    let s = Scratch::new();
    let log = s.path().join("up.jsonl");
    let out = run(
        az(&s, &log, Some(fault)).args(GUIDE_UP).args(UP_FLAGS),
        "up",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("ERROR: "))
        .unwrap_or_else(|| panic!("no ERROR line: {err}"));
    assert!(
        line.starts_with(&format!("ERROR: ({code}) ")) && line.len() > code.len() + 12,
        "{line}"
    );
    assert!(
        err.contains("Run the same `up` command again to resume"),
        "{err}"
    );
    // Finished steps are kept; the cache step is not among them.
    let st = hpccache_core::state::read(&s.deployments_dir().join("MyHpcCache.json"))
        .expect("state file");
    for step in ["cluster", "provider", "subnet"] {
        assert!(st.steps.contains_key(step), "{step}: {:?}", st.steps.keys());
    }
    assert!(!st.steps.contains_key("cache"), "{:?}", st.steps.keys());
    let l = read_request_log(&log);
    assert!(
        !l.iter().any(|r| r["method"] == "DELETE"),
        "a failure must not delete anything"
    );
    s
}

#[test]
fn cache_create_failing_with_asc_internal_error_stops_with_code_and_hint() {
    let s = assert_permanent_failure("fail-cache-create=AscInternalError", "AscInternalError");
    // The re-run (fault gone) converges to exactly one cache.
    let out = run(
        az(&s, &s.path().join("again.jsonl"), None)
            .args(GUIDE_UP)
            .args(UP_FLAGS),
        "re-run",
    );
    assert!(out.status.success(), "{}", text(&out));
    let census = WorldCensus::of(&s.load_world());
    assert!(census.is_one_of_each("MyHpcCacheSubnet"), "{census:#?}");
}

#[test]
fn quota_error_at_create_stops_with_code_and_hint() {
    let s = assert_permanent_failure("reject-cache-create=QuotaExceeded", "QuotaExceeded");
    assert_eq!(WorldCensus::of(&s.load_world()).caches, 0);
    // The quota error is not transient: the create was sent once, not retried.
    let puts = read_request_log(&s.path().join("up.jsonl"))
        .iter()
        .filter(|r| {
            r["method"] == "PUT"
                && hpccache_tests::log_path(r)
                    .ends_with("/microsoft.storagecache/caches/myhpccache")
        })
        .count();
    assert_eq!(puts, 1);
    let out = run(
        az(&s, &s.path().join("again.jsonl"), None)
            .args(GUIDE_UP)
            .args(UP_FLAGS),
        "re-run",
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(WorldCensus::of(&s.load_world()).is_one_of_each("MyHpcCacheSubnet"));
}
