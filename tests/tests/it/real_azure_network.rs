//! Issue 15 items 5, 6, 8 and 9 against the sandbox: contended vnet writes sent again, a blob
//! target whose creation fails while the roles propagate retried however Azure reports it, a
//! `Location` URL that keeps failing, the clfs junction's body, `down` waiting for a deleted
//! cache's NICs to let go of the subnet.

use hpccache_sandbox::world::World;
use hpccache_tests::{GUIDE_UP, Scratch, WorldCensus};

fn up(s: &Scratch, scale: &str, faults: Option<&str>) -> std::process::Output {
    let mut c = s.az_sandbox_scaled(scale);
    if let Some(f) = faults {
        c.env("HPCCACHE_SANDBOX_FAULTS", f);
    }
    c.args(GUIDE_UP).args(["-o", "json"]).output().unwrap()
}

fn down(s: &Scratch, scale: &str, faults: Option<&str>) -> std::process::Output {
    let mut c = s.az_sandbox_scaled(scale);
    if let Some(f) = faults {
        c.env("HPCCACHE_SANDBOX_FAULTS", f);
    }
    c.args(["down", "-n", "MyHpcCache", "--yes", "-o", "json"])
        .output()
        .unwrap()
}

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn contended_vnet_writes_are_sent_again_until_they_land() {
    // The vnet faults roll on the ordinal of the vnet write (subnet, then link, each retry
    // one more), so whether a seed meets them is the same every run; these three do (seed 2
    // does not).
    for seed in [1, 3, 4] {
        let s = Scratch::new();
        let faults = format!("conflict-vnet=0.5,supersede-vnet=0.3,seed={seed}");
        ok(&up(&s, "0", Some(&faults)));
        let w = s.load_world();
        let census = WorldCensus::of(&w);
        assert!(
            census.is_one_of_each("MyHpcCacheSubnet"),
            "seed {seed}: {census:?}"
        );
        let log = s.sandbox_requests();
        let refused = log.iter().filter(|r| r["status"] == 409).count();
        let canceled = w
            .operations
            .values()
            .filter(|o| o.status.eq_ignore_ascii_case("Canceled"))
            .count();
        assert!(refused + canceled > 0, "seed {seed}: the faults never hit");
        ok(&down(&s, "0", Some(&faults)));
        assert!(
            WorldCensus::of(&s.load_world()).is_torn_down(),
            "seed {seed}"
        );
    }
}

#[test]
fn a_target_refused_while_the_roles_propagate_converges_however_azure_says_it() {
    for how in [
        "failed",
        "lowercase",
        "sync400",
        "sync400-lowercase",
        "internal",
    ] {
        let s = Scratch::new();
        let faults = format!("target-role-error={how}");
        ok(&up(&s, "0.002", Some(&faults)));
        let log = s.sandbox_requests();
        let target_puts: Vec<_> = log
            .iter()
            .filter(|r| {
                r["method"] == "PUT"
                    && r["path"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("/storageTargets/")
            })
            .collect();
        assert!(!target_puts.is_empty(), "{how}");
        // The clfs junction carries no nfsExport (the spec's example has none).
        for put in &target_puts {
            let junction = &put["body"]["properties"]["junctions"][0];
            assert!(junction.get("nfsExport").is_none(), "{how}: {junction}");
        }
        let w = s.load_world();
        let target = w
            .of_type("Microsoft.StorageCache/caches/storageTargets")
            .next()
            .unwrap_or_else(|| panic!("{how}: no target"));
        assert_eq!(
            target.body["properties"]["provisioningState"], "Succeeded",
            "{how}"
        );
    }
}

#[test]
fn a_location_url_that_keeps_failing_does_not_stop_up() {
    let s = Scratch::new();
    ok(&up(
        &s,
        "0",
        Some("fail-location-5xx=storage-account-create"),
    ));
    let w = s.load_world();
    assert!(WorldCensus::of(&w).is_one_of_each("MyHpcCacheSubnet"));
}

#[test]
fn down_waits_for_the_deleted_cache_to_let_go_of_the_subnet() {
    let s = Scratch::new();
    let mut world = World::new_default();
    world.settings.async_nic_release = Some(true);
    s.save_world(&world);
    ok(&up(&s, "0.001", None));
    let out = down(&s, "0.001", None);
    ok(&out);
    let log = s.sandbox_requests();
    let in_use = log
        .iter()
        .filter(|r| {
            r["method"] == "DELETE"
                && r["path"].as_str().unwrap_or_default().contains("/subnets/")
                && r["status"] == 400
        })
        .count();
    assert!(
        in_use > 0,
        "the subnet was never refused: the test proves nothing"
    );
    assert!(WorldCensus::of(&s.load_world()).is_torn_down());
}
