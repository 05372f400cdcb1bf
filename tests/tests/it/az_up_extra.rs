//! More of `az-hpccache-ext up` end to end on the in-process sandbox: a cluster on the user's
//! own vnet, every request body checked against the REST specs, and `--no-wait` followed by
//! `cache wait`.

use std::process::{Command, Output};

use hpccache_sandbox::world::{
    ClusterNetwork, ClusterSpec, DEFAULT_RESOURCE_GROUP, Resource, SandboxData, World, key, types,
};
use hpccache_tests::{Scratch, resource_group_of, spec_body_violations};
use ipnet::Ipv4Net;
use serde_json::{Value, json};

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

fn az(s: &Scratch, args: &[&str]) -> Command {
    let mut c = s.az_sandbox();
    c.args(args);
    c
}

fn state(s: &Scratch, deployment: &str) -> Value {
    let path = s.deployments_dir().join(format!("{deployment}.json"));
    let text = std::fs::read_to_string(&path).expect("state file");
    serde_json::from_str(&text).expect("state json")
}

fn net(prefix: &str) -> Ipv4Net {
    prefix
        .parse()
        .unwrap_or_else(|e| panic!("{prefix} is not an IPv4 prefix: {e}"))
}

fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[test]
fn up_on_a_bring_your_own_vnet_cluster_puts_a_free_subnet_in_that_vnet() {
    let s = Scratch::new();
    let mut world = World::new_default();
    let cluster_id = world
        .add_cluster(
            ClusterSpec::new("myByoCluster", DEFAULT_RESOURCE_GROUP).with_network(
                ClusterNetwork::BringYourOwn {
                    vnet_name: "myVnet".into(),
                    address_prefix: "10.10.0.0/16".into(),
                    subnet_name: "aks-nodes".into(),
                    subnet_prefix: "10.10.0.0/22".into(),
                },
            ),
        )
        .expect("add the BYO cluster");
    let vnet_id = world.clusters[&key(&cluster_id)].vnet_id.clone();
    // A second subnet the user already has right after the nodes' one: an automatic prefix
    // that only stepped past the cluster's own subnet would collide with it.
    let appgw_id = format!("{vnet_id}/subnets/appgw");
    world.insert(Resource {
        id: appgw_id.clone(),
        rtype: types::SUBNET.to_string(),
        body: json!({
            "id": appgw_id,
            "name": "appgw",
            "type": types::SUBNET,
            "etag": "W/\"1\"",
            "properties": {"provisioningState": "Succeeded", "addressPrefix": "10.10.4.0/24"}
        }),
        created_ms: 0,
        sandbox: SandboxData::default(),
    });
    s.save_world(&world);

    let out = ok(&mut az(
        &s,
        &[
            "up",
            "--backend",
            "hpccache",
            "-g",
            DEFAULT_RESOURCE_GROUP,
            "--cluster",
            "myByoCluster",
            "-n",
            "ByoCache",
        ],
    ));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("json summary");
    // The zone is the deployment's own.
    assert_eq!(summary["fqdn"], "server.byocache.hpccache.internal");

    let st = state(&s, "ByoCache");
    assert!(
        st["cluster"]["vnetId"]
            .as_str()
            .is_some_and(|v| v.eq_ignore_ascii_case(&vnet_id)),
        "the state records the BYO vnet: {st:#}"
    );
    let subnet_id = st["resources"]["subnet"]["id"].as_str().expect("subnet id");
    assert!(
        subnet_id
            .to_ascii_lowercase()
            .starts_with(&format!("{}/subnets/", vnet_id.to_ascii_lowercase())),
        "{subnet_id} is not in {vnet_id}"
    );

    let world = s.load_world();
    let vnet = world.get(&vnet_id).expect("BYO vnet still there");
    let space: Vec<Ipv4Net> = vnet.body["properties"]["addressSpace"]["addressPrefixes"]
        .as_array()
        .expect("address space")
        .iter()
        .map(|p| net(p.as_str().unwrap_or_default()))
        .collect();
    let ours = world.get(subnet_id).expect("the cache subnet exists");
    let prefix = net(ours.body["properties"]["addressPrefix"]
        .as_str()
        .expect("subnet prefix"));
    assert!(
        space.iter().any(|s| s.contains(&prefix)),
        "{prefix} outside {space:?}"
    );
    assert!(
        prefix.prefix_len() <= 26,
        "{prefix}: the cache needs 64 addresses"
    );
    let others: Vec<(String, Ipv4Net)> = world
        .under(&vnet_id, types::SUBNET)
        .filter(|r| key(&r.id) != key(subnet_id))
        .map(|r| {
            (
                r.id.clone(),
                net(r.body["properties"]["addressPrefix"]
                    .as_str()
                    .unwrap_or_default()),
            )
        })
        .collect();
    assert_eq!(others.len(), 2, "the nodes' subnet and appgw: {others:?}");
    for (id, other) in &others {
        assert!(
            !overlaps(prefix, *other),
            "{prefix} overlaps {other} ({id})"
        );
    }
    // Nor may the cache take addresses the cluster's services use.
    assert!(!overlaps(prefix, net("10.0.0.0/16")));

    // The DNS zone is linked to the vnet the cluster's nodes resolve through.
    let links: Vec<&Resource> = world.of_type(types::VNET_LINK).collect();
    assert_eq!(links.len(), 1);
    assert!(
        links[0].body["properties"]["virtualNetwork"]["id"]
            .as_str()
            .is_some_and(|v| v.eq_ignore_ascii_case(&vnet_id)),
        "{:#}",
        links[0].body
    );
}

#[test]
fn every_request_body_of_a_full_up_validates_against_the_specs() {
    let s = Scratch::new();
    ok(&mut az(
        &s,
        &[
            "up",
            "--backend",
            "hpccache",
            "-g",
            "myResourceGroup",
            "--cluster",
            "myAKSCluster",
            "-n",
            "MyHpcCache",
        ],
    ));
    let log = s.sandbox_requests();
    let (checked, problems) = spec_body_violations(&log);
    assert!(problems.is_empty(), "{problems:#?}");
    // Subnet, provider, cache, account, container, two roles, target, zone, link, records:
    // fewer would mean the log (or the replay) missed writes.
    assert!(checked > 10, "only {checked} bodies checked");
}

#[test]
fn no_wait_then_cache_wait_then_up_converges_without_rewriting_the_cache() {
    let s = Scratch::new();
    let up = [
        "up",
        "--backend",
        "hpccache",
        "-g",
        "myResourceGroup",
        "--cluster",
        "myAKSCluster",
        "-n",
        "MyHpcCache",
    ];
    // Time must pass for `--no-wait` to leave something pending: 20 min of cache -> 0.6 s.
    let scaled = |args: &[&str]| {
        let mut c = az(&s, args);
        c.env("HPCCACHE_SANDBOX_TIME_SCALE", "0.0005");
        c
    };
    let mut args = up.to_vec();
    args.push("--no-wait");
    let out = ok(&mut scaled(&args));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        v["pending"]
            .as_array()
            .is_some_and(|p| p.iter().any(|x| x == "cache")),
        "{v:#}"
    );
    let st = state(&s, "MyHpcCache");
    let cache_id = st["resources"]["cache"]["id"]
        .as_str()
        .expect("cache id recorded before waiting")
        .to_string();
    let rg = resource_group_of(&cache_id)
        .expect("resource group")
        .to_string();

    let out = ok(&mut scaled(&[
        "cache",
        "wait",
        "-g",
        &rg,
        "-n",
        "MyHpcCache",
        "--created",
    ]));
    assert!(out.stdout.is_empty() || serde_json::from_slice::<Value>(&out.stdout).is_ok());
    let out = ok(&mut scaled(&[
        "cache",
        "show",
        "-g",
        &rg,
        "-n",
        "MyHpcCache",
    ]));
    let cache: Value = serde_json::from_slice(&out.stdout).expect("json cache");
    assert_eq!(cache["provisioningState"], "Succeeded", "{cache:#}");

    let before = s.sandbox_requests().len();
    ok(&mut scaled(&up));
    let after = s.sandbox_requests();
    let cache_writes: Vec<String> = after[before..]
        .iter()
        .filter(|r| r["method"] != "GET")
        .map(|r| r["path"].as_str().unwrap_or_default().to_string())
        .filter(|p| p.eq_ignore_ascii_case(&cache_id))
        .collect();
    assert_eq!(
        cache_writes,
        Vec::<String>::new(),
        "the cache was written again"
    );
    let st = state(&s, "MyHpcCache");
    assert!(st.get("operations").is_none(), "{st:#}");
    assert_eq!(st["steps"].as_object().map(|o| o.len()), Some(9), "{st:#}");
}

#[test]
fn every_request_body_of_up_against_a_served_sandbox_validates_against_the_specs() {
    let s = Scratch::new();
    let log = s.path().join("served.jsonl");
    let served = hpccache_tests::ServedSandbox::start(&log);
    // Without --sandbox: the binary's ordinary custom-endpoint path (token from the
    // environment, subscription found by listing), the way CI reaches a shared sandbox.
    let out = s
        .cmd("az-hpccache-ext")
        .args([
            "up",
            "--backend",
            "hpccache",
            "-g",
            "myResourceGroup",
            "--cluster",
            "myAKSCluster",
            "-n",
            "MyHpcCache",
            "--arm-endpoint",
            &served.arm_endpoint,
            "--graph-endpoint",
            &served.graph_endpoint(),
        ])
        .env("HPCCACHE_ACCESS_TOKEN", "a-test-token")
        .env("HPCCACHE_GRAPH_TOKEN", "a-graph-test-token")
        .env_remove("HPCCACHE_SANDBOX")
        .env_remove("AZURE_SUBSCRIPTION_ID")
        .output()
        .expect("run az-hpccache-ext");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(served);
    let records: Vec<Value> = std::fs::read_to_string(&log)
        .expect("serve request log")
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let (checked, problems) = spec_body_violations(&records);
    assert!(problems.is_empty(), "{problems:#?}");
    let sent: Vec<String> = records
        .iter()
        .filter(|r| r["method"] != "GET")
        .map(|r| format!("{} {} {}", r["method"], r["status"], r["path"]))
        .collect();
    assert!(checked > 10, "only {checked} bodies checked: {sent:#?}");
}
