//! Reliability suite, item 5 (issue 7): data safety.
//!
//! - `down` flushes the cache before it removes any storage target (order in the request log).
//! - `down` refuses a cache that is not healthy enough to flush (stopped) unless `--force`,
//!   and the refusal explains the risk.
//! - A container holding blobs survives `down` without `--delete-data`; `--delete-data`
//!   without `--yes` is refused.
//! - Resources the tool did not create (a subnet, a DNS zone, a storage account that existed
//!   before `up`) are never deleted by `down`, not even with `--delete-data --yes`.
//! - `kubectl-hpccache unmount` refuses while a foreign pod uses the claim, and never touches
//!   the data (the export's files, the container, the cache and its storage target stay).

use std::future::Future;
use std::process::Output;

use hpccache_sandbox::world::{Resource, World};
use hpccache_tests::{Scratch, resource_counts};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

/// Where `up` puts the cache, its storage account and DNS zone: the cluster's group.
const CACHE_RG: &str = "myResourceGroup";
const SUB: &str = "00000000-0000-0000-0000-000000000000";

fn run(c: &mut std::process::Command) -> Output {
    c.output().expect("run the binary")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn container_id(s: &Scratch) -> String {
    let state = hpccache_core::state::read(&s.state_file("MyHpcCache")).unwrap();
    state.resources["container"].id.clone()
}

fn put_blob(s: &Scratch, container: &str) {
    let mut w = s.load_world();
    w.put_blob(container, "results/run-1.dat").unwrap();
    s.save_world(&w);
}

/// Index of the first logged request matching `method` whose path ends with / contains `part`.
fn position(log: &[serde_json::Value], method: &str, part: &str) -> Option<usize> {
    log.iter().position(|r| {
        r["method"] == method
            && r["path"]
                .as_str()
                .is_some_and(|p| p.to_ascii_lowercase().contains(&part.to_ascii_lowercase()))
    })
}

#[test]
fn down_flushes_before_removing_storage_targets_and_keeps_data() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    let container = container_id(&s);
    put_blob(&s, &container);
    let _ = std::fs::remove_file(s.sandbox_log());

    let out = run(s
        .az_sandbox()
        .args(["down", "-n", "MyHpcCache", "--yes", "-o", "none"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let log = s.sandbox_requests();
    let flush = position(&log, "POST", "/caches/MyHpcCache/flush").expect("a flush request");
    let target = position(&log, "DELETE", "/storageTargets/").expect("a target delete");
    let cache = log
        .iter()
        .rposition(|r| {
            r["method"] == "DELETE"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/caches/MyHpcCache"))
        })
        .expect("a cache delete");
    assert!(
        flush < target,
        "flush #{flush} must come before the target delete #{target}"
    );
    assert!(target < cache, "targets go before the cache");
    // The flush finished (its operation polled to the end) before the first delete.
    assert!(
        log[flush..target]
            .iter()
            .all(|r| r["method"] == "GET" || r["method"] == "POST"),
        "only the flush and its polling between flush and delete"
    );

    let w = s.load_world();
    assert!(w.get(&container).is_some(), "the container survives down");
    assert!(w.container_holds_data(&container), "with its blob");
    let counts = resource_counts(&w);
    assert_eq!(counts.get("Microsoft.Storage/storageAccounts"), Some(&1));
    assert_eq!(counts.get("Microsoft.StorageCache/caches"), None);
}

#[test]
fn delete_data_without_yes_is_refused_and_the_container_survives() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    let container = container_id(&s);
    put_blob(&s, &container);
    let state_before = std::fs::read(s.state_file("MyHpcCache")).unwrap();
    let _ = std::fs::remove_file(s.sandbox_log());
    let out = run(s
        .az_sandbox()
        .args(["down", "-n", "MyHpcCache", "--delete-data"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert!(s.sandbox_requests().is_empty(), "nothing sent");
    assert_eq!(
        std::fs::read(s.state_file("MyHpcCache")).unwrap(),
        state_before
    );
    assert!(s.load_world().container_holds_data(&container));
}

#[test]
fn down_refuses_a_stopped_cache_unless_forced_and_says_why() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    let out = run(s.az_sandbox().args([
        "cache",
        "stop",
        "-g",
        CACHE_RG,
        "-n",
        "MyHpcCache",
        "-o",
        "none",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let _ = std::fs::remove_file(s.sandbox_log());

    let out = run(s.az_sandbox().args(["down", "-n", "MyHpcCache", "--yes"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--force"), "names --force: {err}");
    assert!(
        err.contains("loses any data not yet written back"),
        "explains the risk: {err}"
    );
    let writes = s.sandbox_writes();
    assert!(writes.is_empty(), "refused before any write: {writes:?}");
    assert_eq!(
        resource_counts(&s.load_world()).get("Microsoft.StorageCache/caches"),
        Some(&1)
    );

    let _ = std::fs::remove_file(s.sandbox_log());
    let out =
        run(s
            .az_sandbox()
            .args(["down", "-n", "MyHpcCache", "--yes", "--force", "-o", "none"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let log = s.sandbox_requests();
    assert!(
        position(&log, "POST", "/flush").is_none(),
        "no flush of a stopped cache"
    );
    assert_eq!(
        resource_counts(&s.load_world()).get("Microsoft.StorageCache/caches"),
        None
    );
}

/// A private DNS zone that exists before `up`, as a user's own zone would.
fn pre_existing_zone(w: &mut World, zone: &str) -> String {
    let id = format!(
        "/subscriptions/{SUB}/resourceGroups/{CACHE_RG}/providers/Microsoft.Network/privateDnsZones/{zone}"
    );
    w.insert(Resource {
        id: id.clone(),
        rtype: "Microsoft.Network/privateDnsZones".into(),
        body: json!({
            "id": id, "name": zone, "type": "Microsoft.Network/privateDnsZones",
            "location": "global", "etag": "user-etag", "tags": {"owner": "the-user"},
            "properties": {
                "maxNumberOfRecordSets": 25000, "numberOfRecordSets": 1,
                "maxNumberOfVirtualNetworkLinks": 1000, "numberOfVirtualNetworkLinks": 0,
                "maxNumberOfVirtualNetworkLinksWithRegistration": 100,
                "numberOfVirtualNetworkLinksWithRegistration": 0,
                "provisioningState": "Succeeded"
            }
        }),
        created_ms: 0,
        sandbox: Default::default(),
    });
    id
}

#[test]
fn resources_the_tool_did_not_create_are_never_deleted() {
    let s = Scratch::new();
    // The user's subnet (made by the step command, outside `up`), storage account and zone.
    let out = run(s.az_sandbox().args([
        "subnet",
        "create",
        "-g",
        "myResourceGroup",
        "--cluster",
        "myAKSCluster",
        "-n",
        "MyHpcCacheSubnet",
        "-o",
        "none",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(s.az_sandbox().args([
        "storage",
        "account",
        "create",
        "-g",
        CACHE_RG,
        "-n",
        "usersaccount01",
        "-l",
        "eastus",
        "-o",
        "none",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut w = s.load_world();
    let zone = pre_existing_zone(&mut w, "myhpccache.local");
    s.save_world(&w);

    s.up_sandbox(&[
        "--storage-account",
        "usersaccount01",
        "--dns-zone",
        "myhpccache.local",
    ]);
    let state = hpccache_core::state::read(&s.state_file("MyHpcCache")).unwrap();
    let adopted: Vec<_> = ["subnet", "storageAccount", "dnsZone"]
        .iter()
        .map(|k| {
            let r = state
                .resources
                .get(*k)
                .unwrap_or_else(|| panic!("{k} recorded: {:?}", state.resources.keys()));
            assert!(!r.created, "{k} is recorded as not ours");
            r.id.clone()
        })
        .collect();

    // Even the most destructive down keeps them.
    let out = run(s.az_sandbox().args([
        "down",
        "-n",
        "MyHpcCache",
        "--delete-data",
        "--yes",
        "-o",
        "none",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let w = s.load_world();
    for id in adopted.iter().chain([&zone]) {
        assert!(w.get(id).is_some(), "{id} was deleted");
    }
    let deletes: Vec<String> = s
        .sandbox_requests()
        .iter()
        .filter(|r| r["method"] == "DELETE")
        .filter_map(|r| r["path"].as_str().map(str::to_owned))
        .collect();
    for id in &adopted {
        assert!(
            !deletes.iter().any(|d| d.eq_ignore_ascii_case(id)),
            "DELETE sent for {id}"
        );
    }
}

fn with_cluster<T, F, Fut>(s: &Scratch, f: F) -> T
where
    F: FnOnce(kube::Client) -> Fut,
    Fut: Future<Output = T>,
{
    s.with_cluster(|c, _| f(c))
}

#[test]
fn unmount_refuses_while_foreign_pods_use_the_claim_and_never_touches_data() {
    let s = Scratch::new();
    s.up_sandbox(&["--no-root-squash"]);
    let container = container_id(&s);
    put_blob(&s, &container);
    let out = run(s.kubectl_sandbox().arg("mount"));
    assert!(out.status.success(), "{}", stderr(&out));
    let files = |w: &World| {
        w.resources
            .values()
            .filter(|r| {
                r.rtype
                    .eq_ignore_ascii_case("Microsoft.StorageCache/caches/storageTargets")
            })
            .map(|r| r.sandbox.files.clone())
            .collect::<Vec<_>>()
    };
    let before = s.load_world();
    let files_before = files(&before);

    with_cluster(&s, |c| async move {
        let api: Api<Pod> = Api::namespaced(c, "default");
        let pod: Pod = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "someone-elses"},
            "spec": {"containers": [{"name": "app", "image": "busybox:1.36",
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "hpccache-myhpccache"}}]}
        }))
        .expect("pod");
        api.create(&PostParams::default(), &pod)
            .await
            .expect("create pod");
    });
    let out = run(s.kubectl_sandbox().arg("unmount"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("default/someone-elses"),
        "{}",
        stderr(&out)
    );

    let out = run(s.kubectl_sandbox().args(["unmount", "--force"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let after = s.load_world();
    assert!(
        after.container_holds_data(&container),
        "container data kept"
    );
    assert_eq!(
        files(&after),
        files_before,
        "the export's files are untouched"
    );
    let counts = resource_counts(&after);
    assert_eq!(counts.get("Microsoft.StorageCache/caches"), Some(&1));
    assert_eq!(
        counts.get("Microsoft.StorageCache/caches/storageTargets"),
        Some(&1)
    );
}
