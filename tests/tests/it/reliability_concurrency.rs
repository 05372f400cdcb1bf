//! Reliability suite, item 3 (issue 7): concurrency. Two `up` runs on one deployment at once:
//! one fails fast on the state file's lock, naming the lock file, and the world is unharmed
//! (exactly one of each resource). `up` in two different deployments at once: both succeed
//! (they share the sandbox world file, and take turns on its lock).

use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use hpccache_tests::{Scratch, resource_counts};

const SCALE: &str = "0.0005";

fn spawn_up(s: &Scratch, extra: &[&str]) -> Child {
    s.az_sandbox_scaled(SCALE)
        .args([
            "up",
            "--backend",
            "hpccache",
            "-g",
            "myResourceGroup",
            "--cluster",
            "myAKSCluster",
            "-o",
            "none",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start az-hpccache-ext up")
}

/// Waits for a child, returning its output and when it ended.
fn finish(c: Child) -> (Output, Instant) {
    let out = c.wait_with_output().expect("wait for up");
    (out, Instant::now())
}

fn count(s: &Scratch, rtype: &str) -> usize {
    resource_counts(&s.load_world())
        .get(rtype)
        .copied()
        .unwrap_or(0)
}

#[test]
fn two_ups_on_one_deployment_one_fails_fast_on_the_lock_and_the_world_is_unharmed() {
    let s = Scratch::new();
    let a = spawn_up(&s, &["-n", "MyHpcCache"]);
    // Let the first take the state lock before the second starts.
    let lock = s.deployments_dir().join("MyHpcCache.json.lock");
    let started = Instant::now();
    while !lock.exists() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let b = spawn_up(&s, &["-n", "MyHpcCache"]);
    let tb = std::thread::spawn(move || finish(b));
    let (out_a, end_a) = finish(a);
    let (out_b, end_b) = tb.join().unwrap();

    let outs = [(&out_a, end_a), (&out_b, end_b)];
    let ok: Vec<_> = outs.iter().filter(|(o, _)| o.status.success()).collect();
    let failed: Vec<_> = outs.iter().filter(|(o, _)| !o.status.success()).collect();
    assert_eq!(
        (ok.len(), failed.len()),
        (1, 1),
        "expected one success and one lock failure:\nA: {}\nB: {}",
        String::from_utf8_lossy(&out_a.stderr),
        String::from_utf8_lossy(&out_b.stderr)
    );
    let (loser, loser_end) = failed[0];
    let (_, winner_end) = ok[0];
    let msg = String::from_utf8_lossy(&loser.stderr);
    assert_eq!(loser.status.code(), Some(1), "{msg}");
    assert!(
        msg.contains("MyHpcCache.json.lock"),
        "names the lock: {msg}"
    );
    assert!(msg.contains("in use by another hpccache run"), "{msg}");
    // Failing fast: the loser ended while the winner was still working.
    assert!(
        loser_end < winner_end,
        "the second run waited instead of failing fast"
    );

    // Exactly one of each resource afterwards.
    for (rtype, want) in [
        ("Microsoft.StorageCache/caches", 1),
        ("Microsoft.StorageCache/caches/storageTargets", 1),
        ("Microsoft.Storage/storageAccounts", 1),
        (
            "Microsoft.Storage/storageAccounts/blobServices/containers",
            1,
        ),
        ("Microsoft.Authorization/roleAssignments", 2),
        ("Microsoft.Network/privateDnsZones", 1),
        ("Microsoft.Network/privateDnsZones/virtualNetworkLinks", 1),
        ("Microsoft.Network/privateDnsZones/A", 1),
        // aks-subnet and the cache's.
        ("Microsoft.Network/virtualNetworks/subnets", 2),
    ] {
        assert_eq!(
            count(&s, rtype),
            want,
            "{rtype}: {:?}",
            resource_counts(&s.load_world())
        );
    }
    // The state file the winner wrote is valid.
    hpccache_core::state::read(&s.state_file("MyHpcCache")).expect("valid state file");
}

#[test]
fn ups_of_two_deployments_in_parallel_both_succeed() {
    let s = Scratch::new();
    let a = spawn_up(&s, &["-n", "MyHpcCache"]);
    let b = spawn_up(
        &s,
        &[
            "-n",
            "SecondCache",
            "--subnet-name",
            "SecondCacheSubnet",
            "--dns-zone",
            "second.local",
        ],
    );
    let tb = std::thread::spawn(move || finish(b));
    let (out_a, _) = finish(a);
    let (out_b, _) = tb.join().unwrap();
    for (name, out) in [("MyHpcCache", &out_a), ("SecondCache", &out_b)] {
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let state = hpccache_core::state::read(&s.state_file(name)).expect("valid state file");
        assert!(state.cache.is_some(), "{name} has its cache recorded");
    }
    for (rtype, want) in [
        ("Microsoft.StorageCache/caches", 2),
        ("Microsoft.StorageCache/caches/storageTargets", 2),
        ("Microsoft.Storage/storageAccounts", 2),
        ("Microsoft.Network/privateDnsZones", 2),
        ("Microsoft.Network/privateDnsZones/A", 2),
        ("Microsoft.Network/virtualNetworks/subnets", 3),
    ] {
        assert_eq!(
            count(&s, rtype),
            want,
            "{rtype}: {:?}",
            resource_counts(&s.load_world())
        );
    }
}
