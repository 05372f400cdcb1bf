//! The Managed Lustre plan under the reliability suite's conditions (issue 7, for the amlfs
//! backend), kept small so the binary stays well under 20 s:
//! - SIGKILL at a few points of `up --backend amlfs` (an out-of-process sandbox, so the world
//!   outlives the client): the re-run converges to one filesystem and one subnet, no resource
//!   is written twice, and a third `up` writes nothing;
//! - a run under a fault rate (500, 503, 429, dropped connections) converges with one
//!   effective filesystem PUT, and `down --delete-data` then removes it;
//! - `fail-amlfs-create`: the create ends Failed; the re-run deletes this tool's failed
//!   filesystem and creates it again.

#![allow(clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use hpccache_sandbox::world::World;
use hpccache_tests::{
    Scratch, ServedSandbox, effective_writes, is_write, output_within, read_request_log,
    resource_counts,
};

const UP: &[&str] = &[
    "up",
    "--backend",
    "amlfs",
    "-g",
    "myResourceGroup",
    "--cluster",
    "myAKSCluster",
    "-n",
    "MyLustre",
    "-o",
    "none",
    "--only-show-errors",
];
const LIMIT: Duration = Duration::from_secs(60);
const FS: &str = "Microsoft.StorageCache/amlFilesystems";
const SUBNETS: &str = "Microsoft.Network/virtualNetworks/subnets";

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

/// Every resource got at most one effective write, and nothing was deleted.
fn no_double_write(logs: &[&[serde_json::Value]]) -> Result<(), String> {
    let mut per: BTreeMap<(String, String), usize> = BTreeMap::new();
    for log in logs {
        for w in effective_writes(log) {
            *per.entry(w).or_default() += 1;
        }
    }
    let bad: Vec<String> = per
        .iter()
        // Sizing and checking are questions, not writes; asking twice is harmless.
        .filter(|((m, p), n)| {
            m == "DELETE"
                || (**n > 1
                    && !p.ends_with("/getrequiredamlfssubnetssize")
                    && !p.ends_with("/checkamlfssubnets"))
        })
        .map(|((m, p), n)| format!("{n} x {m} {p}"))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("written twice or deleted: {bad:#?}"))
    }
}

/// Spawns `cmd`, waits until `log` has `k` lines (or the command ended), then SIGKILLs it.
fn kill_at(cmd: &mut Command, log: &Path, k: usize) {
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    while read_request_log(log).len() < k
        && started.elapsed() < LIMIT
        && child.try_wait().ok().flatten().is_none()
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn up_converges_after_sigkill_at_several_points() {
    let n = {
        let s = Scratch::new();
        let log = s.path().join("full.jsonl");
        let sv = ServedSandbox::start_with(&s.path().join("w.json"), &log, 0.0005, None);
        let out = run(sv.az(&s).args(UP), "full up");
        sv.stop_and_save();
        assert!(out.status.success(), "{}", text(&out));
        read_request_log(&log).len()
    };
    // After the cluster read, around the subnet, around the filesystem PUT, while polling.
    let ks: Vec<usize> = [3, n / 3, n / 2, (2 * n) / 3, n - 2]
        .into_iter()
        .filter(|k| (1..n).contains(k))
        .collect();
    eprintln!("full amlfs up: {n} requests; SIGKILL at k in {ks:?}");
    let results: Vec<(usize, Result<(), String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = ks
            .iter()
            .map(|&k| {
                scope.spawn(move || {
                    let s = Scratch::new();
                    let world = s.path().join("served.world.json");
                    let first = s.path().join("first.jsonl");
                    let again = s.path().join("again.jsonl");
                    let third = s.path().join("third.jsonl");
                    let sv = ServedSandbox::start_with(&world, &first, 0.0005, None);
                    kill_at(sv.az(&s).args(UP), &first, k);
                    sv.stop_and_save();
                    let sv = ServedSandbox::start_with(&world, &again, 0.0005, None);
                    let out = run(sv.az(&s).args(UP), "re-run");
                    sv.stop_and_save();
                    let check = || -> Result<(), String> {
                        if !out.status.success() {
                            return Err(format!("re-run failed: {}", text(&out)));
                        }
                        let counts = resource_counts(&World::load(&world).expect("world"));
                        if counts.get(FS) != Some(&1) {
                            return Err(format!("filesystems: {counts:?}"));
                        }
                        no_double_write(&[&read_request_log(&first), &read_request_log(&again)])?;
                        let sv = ServedSandbox::start_with(&world, &third, 0.0005, None);
                        let out = run(sv.az(&s).args(UP), "third up");
                        sv.stop_and_save();
                        let writes: Vec<_> = read_request_log(&third)
                            .into_iter()
                            .filter(is_write)
                            .collect();
                        if !out.status.success() || !writes.is_empty() {
                            return Err(format!("third up: {} {writes:#?}", text(&out)));
                        }
                        let st = hpccache_core::state::read(&s.state_file("MyLustre"))
                            .map_err(|e| e.to_string())?;
                        if st.lustre.is_none() || st.steps.len() != 4 {
                            return Err(format!("state: {:?} {:?}", st.lustre, st.steps.keys()));
                        }
                        Ok(())
                    };
                    (k, check())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("sweep thread"))
            .collect()
    });
    let failures: Vec<String> = results
        .iter()
        .filter_map(|(k, r)| r.as_ref().err().map(|e| format!("k={k}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

fn az(s: &Scratch, log: &Path, faults: Option<&str>) -> Command {
    let mut c = s.az_sandbox();
    c.env("HPCCACHE_SANDBOX_TIME_SCALE", "0.0005")
        .env("HPCCACHE_SANDBOX_LOG", log);
    if let Some(f) = faults {
        c.env("HPCCACHE_SANDBOX_FAULTS", f);
    }
    c
}

#[test]
fn up_and_down_converge_under_a_fault_rate() {
    let s = Scratch::new();
    let faults = "500:0.05,503:0.05,429:0.05,drop:0.05,seed=13";
    let log = s.path().join("up.jsonl");
    let out = run(az(&s, &log, Some(faults)).args(UP), "up under faults");
    assert!(out.status.success(), "up under {faults}: {}", text(&out));
    let l = read_request_log(&log);
    no_double_write(&[&l]).unwrap();
    let puts = effective_writes(&l)
        .into_iter()
        .filter(|(m, p)| m == "PUT" && p.ends_with("/amlfilesystems/mylustre"))
        .count();
    assert_eq!(puts, 1, "one effective filesystem create");
    let counts = resource_counts(&s.load_world());
    assert_eq!(counts.get(FS), Some(&1));

    let log = s.path().join("down.jsonl");
    let out = run(
        az(&s, &log, Some(faults)).args([
            "down",
            "-n",
            "MyLustre",
            "--delete-data",
            "--yes",
            "-o",
            "none",
        ]),
        "down under faults",
    );
    assert!(out.status.success(), "down under {faults}: {}", text(&out));
    let counts = resource_counts(&s.load_world());
    assert_eq!(counts.get(FS), None, "{counts:?}");
    assert_eq!(
        counts.get(SUBNETS),
        Some(&1),
        "only the cluster's own subnet: {counts:?}"
    );
}

#[test]
fn a_failed_create_of_ours_is_created_again_by_the_next_up() {
    let s = Scratch::new();
    let log = s.path().join("first.jsonl");
    let out = run(
        az(&s, &log, Some("fail-amlfs-create=InternalServerError")).args(UP),
        "failing up",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("InternalServerError") && err.contains("Run the same `up` command again"),
        "{err}"
    );
    let log = s.path().join("again.jsonl");
    let out = run(az(&s, &log, None).args(UP), "re-run");
    assert!(out.status.success(), "{}", text(&out));
    let w = effective_writes(&read_request_log(&log));
    let fs: Vec<&(String, String)> = w
        .iter()
        .filter(|(_, p)| p.ends_with("/amlfilesystems/mylustre"))
        .collect();
    assert_eq!(
        fs.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>(),
        ["DELETE", "PUT"],
        "the failed filesystem deleted, then created once"
    );
    assert_eq!(resource_counts(&s.load_world()).get(FS), Some(&1));
}
