//! Issue 12 (tests and safety), the Azure side: deployments that share a cluster, a state
//! dir or a DNS zone keep to their own resources, and `down` never breaks what is still used.
//!
//! - Two deployments with every default on one cluster each get their own cache subnet, DNS
//!   zone and records, each volume reaches its own cache, and `down` of one leaves the other
//!   working.
//! - A record set another deployment owns is refused before any write, naming it and the
//!   flag to change; `down` keeps a zone that still holds another deployment's records.
//! - `up` of a recorded deployment on another cluster is refused, naming the recorded one.
//! - `down` refuses while pods use the deployment's claim (listing them), unless `--force`,
//!   which unmounts the cluster side before deleting the Azure side.
//! - A lost state file: `up` says which resources carry the deployment's tag, `down` says it
//!   deletes nothing, `down --adopt` takes them down (data kept).

use std::process::{Command, Output};

use hpccache_sandbox::world::{ClusterSpec, DEFAULT_RESOURCE_GROUP, World};
use hpccache_tests::{Scratch, WorldCensus};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};

fn run(c: &mut Command) -> Output {
    c.output().expect("run the binary")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(c: &mut Command) -> Output {
    let out = run(c);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    out
}

fn up_args<'a>(name: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "up",
        "--backend",
        "hpccache",
        "-g",
        DEFAULT_RESOURCE_GROUP,
        "--cluster",
        "myAKSCluster",
        "-n",
        name,
    ];
    v.extend_from_slice(extra);
    v
}

fn state(s: &Scratch, deployment: &str) -> Value {
    let text = std::fs::read_to_string(s.state_file(deployment)).expect("state file");
    serde_json::from_str(&text).expect("state json")
}

/// The A record set `deployment`'s state names, as the sandbox world holds it: its addresses.
fn record_addresses(w: &World, st: &Value) -> Option<Vec<String>> {
    let id = st["resources"]["dnsRecords"]["id"].as_str()?;
    let r = w.get(id)?;
    let mut v: Vec<String> = r.body["properties"]["aRecords"]
        .as_array()?
        .iter()
        .filter_map(|a| a["ipv4Address"].as_str().map(str::to_owned))
        .collect();
    v.sort();
    Some(v)
}

fn cache_addresses(w: &World, st: &Value) -> Vec<String> {
    let id = st["resources"]["cache"]["id"].as_str().expect("cache id");
    let mut v: Vec<String> =
        w.get(id).expect("the cache exists").body["properties"]["mountAddresses"]
            .as_array()
            .expect("mount addresses")
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect();
    v.sort();
    v
}

/// Every check of `up --attach` passed, advice aside (a non-root probe cannot write to the
/// root-owned junction whatever root squash says).
fn verification_passes(v: &Value) -> bool {
    v["kubernetes"]["verification"]["checks"]
        .as_array()
        .is_some_and(|c| {
            !c.is_empty()
                && c.iter()
                    .all(|c| c["status"] == "pass" || c["advisory"] == true)
        })
}

/// `kubectl hpccache verify` of one deployment, both probes as root (so only the volume
/// decides), exits 0.
fn kubectl_verify(s: &Scratch, deployment: &str) {
    ok(s.kubectl_sandbox()
        .args(["verify", deployment, "--as-user", "0"]));
}

#[test]
fn two_deployments_with_defaults_on_one_cluster_each_reach_their_own_cache() {
    let s = Scratch::new();
    for name in ["MyHpcCache", "OtherCache"] {
        let out = ok(s
            .az_sandbox()
            .args(up_args(name, &["--attach", "--no-root-squash"])));
        let v: Value = serde_json::from_slice(&out.stdout).expect("json summary");
        assert!(verification_passes(&v), "{name}: {v:#}");
    }
    let (a, b) = (state(&s, "MyHpcCache"), state(&s, "OtherCache"));
    assert_ne!(
        a["dns"]["fqdn"], b["dns"]["fqdn"],
        "one name per deployment"
    );
    assert_ne!(
        a["resources"]["subnet"]["id"], b["resources"]["subnet"]["id"],
        "one cache subnet per deployment"
    );
    let w = s.load_world();
    for st in [&a, &b] {
        assert_eq!(
            record_addresses(&w, st),
            Some(cache_addresses(&w, st)),
            "{}'s name resolves to its own cache",
            st["deployment"]
        );
    }
    for name in ["MyHpcCache", "OtherCache"] {
        kubectl_verify(&s, name);
    }

    ok(s.az_sandbox()
        .args(["down", "-n", "MyHpcCache", "--yes", "-o", "none"]));
    let w = s.load_world();
    assert_eq!(
        record_addresses(&w, &b),
        Some(cache_addresses(&w, &b)),
        "the other deployment's records are untouched"
    );
    for key in ["dnsZone", "vnetLink", "subnet", "cache"] {
        let id = b["resources"][key]["id"].as_str().expect("id");
        assert!(w.get(id).is_some(), "{key} of OtherCache survives: {id}");
    }
    kubectl_verify(&s, "OtherCache");
}

#[test]
fn a_record_set_another_deployment_owns_is_refused_before_any_write() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    let a = state(&s, "MyHpcCache");
    let zone = a["dns"]["zone"].as_str().expect("zone").to_owned();
    let before = WorldCensus::of(&s.load_world());
    let _ = std::fs::remove_file(s.sandbox_log());

    let out = run(s
        .az_sandbox()
        .args(up_args("OtherCache", &["--dns-zone", &zone, "-o", "none"])));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("MyHpcCache"), "names the owner: {err}");
    assert!(err.contains("--dns-name"), "names the flag: {err}");
    assert!(s.sandbox_writes().is_empty(), "{:#?}", s.sandbox_writes());
    assert!(!s.state_file("OtherCache").exists());
    let w = s.load_world();
    assert_eq!(record_addresses(&w, &a), Some(cache_addresses(&w, &a)));
    assert_eq!(WorldCensus::of(&w), before, "the world is unchanged");
}

#[test]
fn down_keeps_a_zone_that_holds_another_deployments_records() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    let zone = state(&s, "MyHpcCache")["dns"]["zone"]
        .as_str()
        .expect("zone")
        .to_owned();
    ok(s.az_sandbox().args(up_args(
        "OtherCache",
        &["--dns-zone", &zone, "--dns-name", "other", "-o", "none"],
    )));
    let (a, b) = (state(&s, "MyHpcCache"), state(&s, "OtherCache"));

    let out = ok(s.az_sandbox().args(["down", "-n", "MyHpcCache", "--yes"]));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    let w = s.load_world();
    let zone_id = a["resources"]["dnsZone"]["id"].as_str().expect("zone id");
    let link_id = a["resources"]["vnetLink"]["id"].as_str().expect("link id");
    assert!(w.get(zone_id).is_some(), "the shared zone is kept");
    assert!(
        w.get(link_id).is_some(),
        "its link too: the records need it"
    );
    let kept: Vec<&str> = report["kept"]
        .as_array()
        .expect("kept")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        kept.iter().any(|k| k.eq_ignore_ascii_case(zone_id)),
        "{report:#}"
    );
    assert_eq!(record_addresses(&w, &b), Some(cache_addresses(&w, &b)));
    let own = a["resources"]["dnsRecords"]["id"]
        .as_str()
        .expect("records");
    assert!(w.get(own).is_none(), "its own record set is deleted");
}

#[test]
fn up_of_a_recorded_deployment_on_another_cluster_is_refused() {
    let s = Scratch::new();
    let mut w = World::new_default();
    w.add_cluster(ClusterSpec::new("otherAKSCluster", DEFAULT_RESOURCE_GROUP))
        .expect("add a second cluster");
    s.save_world(&w);
    s.up_sandbox(&[]);
    let recorded = std::fs::read(s.state_file("MyHpcCache")).expect("state");
    let _ = std::fs::remove_file(s.sandbox_log());

    let out = run(s.az_sandbox().args([
        "up",
        "--backend",
        "hpccache",
        "-g",
        DEFAULT_RESOURCE_GROUP,
        "--cluster",
        "otherAKSCluster",
        "-n",
        "MyHpcCache",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("myAKSCluster"),
        "names the recorded cluster: {}",
        stderr(&out)
    );
    assert!(s.sandbox_writes().is_empty(), "{:#?}", s.sandbox_writes());
    assert_eq!(
        std::fs::read(s.state_file("MyHpcCache")).expect("state"),
        recorded,
        "the state file is untouched"
    );
}

fn create_pod_using(s: &Scratch, name: &str, claim: &str) {
    let (name, claim) = (name.to_owned(), claim.to_owned());
    s.with_cluster(|c, _| async move {
        let api: Api<Pod> = Api::namespaced(c, "default");
        let pod: Pod = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "app", "image": "busybox:1.36",
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]}
        }))
        .expect("pod");
        api.create(&PostParams::default(), &pod)
            .await
            .expect("create the pod");
    });
}

/// The deployment's PV and claim in the sandbox cluster: `None` when gone, else whether it is
/// being deleted (a claim a pod still mounts stays Terminating until the pod ends, and its PV
/// with it, as in Kubernetes).
fn volume_state(s: &Scratch) -> (Option<bool>, Option<bool>) {
    s.with_cluster(|c, _| async move {
        let pvs: Api<PersistentVolume> = Api::all(c.clone());
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(c, "default");
        let pv = pvs
            .get_opt("hpccache-myhpccache-default")
            .await
            .expect("read the PV");
        let claim = claims
            .get_opt("hpccache-myhpccache")
            .await
            .expect("read the claim");
        (
            pv.map(|o| o.metadata.deletion_timestamp.is_some()),
            claim.map(|o| o.metadata.deletion_timestamp.is_some()),
        )
    })
}

#[test]
fn down_refuses_while_pods_use_the_claim_and_force_unmounts_first() {
    let s = Scratch::new();
    s.up_sandbox(&["--attach", "--no-root-squash"]);
    create_pod_using(&s, "analysis", "hpccache-myhpccache");
    let census = WorldCensus::of(&s.load_world());
    let _ = std::fs::remove_file(s.sandbox_log());

    let out = run(s
        .az_sandbox()
        .args(["down", "-n", "MyHpcCache", "--yes", "-o", "none"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("default/analysis"),
        "lists the pod: {}",
        stderr(&out)
    );
    assert!(s.sandbox_writes().is_empty(), "{:#?}", s.sandbox_writes());
    assert_eq!(WorldCensus::of(&s.load_world()), census, "Azure unchanged");
    assert_eq!(
        volume_state(&s),
        (Some(false), Some(false)),
        "cluster side unchanged"
    );

    ok(s.az_sandbox()
        .args(["down", "-n", "MyHpcCache", "--yes", "--force", "-o", "none"]));
    let (pv, claim) = volume_state(&s);
    assert!(
        pv.is_none_or(|deleting| deleting) && claim.is_none_or(|deleting| deleting),
        "PV and claim deleted: {:?}",
        (pv, claim)
    );
    assert!(WorldCensus::of(&s.load_world()).is_torn_down());
    let st = state(&s, "MyHpcCache");
    assert_eq!(
        st["kube"],
        json!([]),
        "the state records the unmount: {st:#}"
    );
}

#[test]
fn a_lost_state_file_is_reported_and_down_adopt_takes_the_tagged_resources_down() {
    let s = Scratch::new();
    let first = ok(s.az_sandbox().args(up_args("MyHpcCache", &[])));
    std::fs::remove_file(s.state_file("MyHpcCache")).expect("lose the state file");

    let again = ok(s.az_sandbox().args(up_args("MyHpcCache", &[])));
    let keys = |o: &Output| -> Vec<String> {
        let v: Value = serde_json::from_slice(&o.stdout).expect("json summary");
        v.as_object().expect("object").keys().cloned().collect()
    };
    assert_eq!(keys(&again), keys(&first), "-o json keeps its shape");
    assert!(
        stderr(&again).contains("--adopt"),
        "warns with the way out: {}",
        stderr(&again)
    );
    assert!(WorldCensus::of(&s.load_world()).is_one_of_each("MyHpcCacheSubnet"));

    let _ = std::fs::remove_file(s.sandbox_log());
    let out = ok(s.az_sandbox().args(["down", "-n", "MyHpcCache", "--yes"]));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(report["deleted"], json!([]), "{report:#}");
    assert!(
        stderr(&out).contains("--adopt"),
        "says so, with the hint: {}",
        stderr(&out)
    );
    assert!(s.sandbox_writes().is_empty(), "{:#?}", s.sandbox_writes());

    ok(s.az_sandbox()
        .args(["down", "-n", "MyHpcCache", "--adopt", "--yes", "-o", "none"]));
    let census = WorldCensus::of(&s.load_world());
    assert!(census.is_torn_down(), "{census:#?}");
}
