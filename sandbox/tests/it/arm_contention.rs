//! Vnet contention (issue 15 item 5): Azure serializes the operations that change one vnet.
//! With the `vnetContention` setting a private DNS link and a subnet write to the same vnet
//! collide: the second is refused 409 `AnotherOperationInProgress` or the first ends
//! `Canceled` (`CanceledAndSupersededDueToAnotherOperation`), chosen by the seed. The
//! `conflict-vnet` and `supersede-vnet` faults force either with no other writer.

use crate::arm_support;
use crate::real_azure;

use arm_support::*;
use hpccache_sandbox::settings::Settings;
use real_azure::*;

const ZONE: &str = "myhpccache.local";

fn contention() -> Settings {
    Settings {
        vnet_contention: Some(true),
        ..Settings::default()
    }
}

/// Contention off explicitly, so these tests hold after its default flips on.
fn no_contention() -> Settings {
    Settings {
        vnet_contention: Some(false),
        ..Settings::default()
    }
}

/// The URL without its query (the api-version differs between providers).
fn path_of(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Refused,
    Superseded,
}

#[tokio::test]
async fn without_contention_a_subnet_and_a_link_to_its_vnet_run_together() {
    // Ten times Azure time (a 40 s subnet write, a 300 s link): both still run when the
    // other starts, however loaded the machine.
    let sb = start_with(config(10.0, "", no_contention())).await;
    insert_zone(&sb, ZONE);
    let c = Client::new(&sb);
    let subnet = create_subnet(&c, "cache", "10.225.0.0/24").await;
    assert_eq!(subnet.status, 201, "{:?}", subnet.body);
    let link = c
        .put(&link_path(ZONE, "aks-link"), DNS_API, link_body())
        .await;
    assert_eq!(link.status, 202, "{:?}", link.body);
    assert_eq!(status_now(&c, &subnet).await["status"], "InProgress");
    assert_eq!(status_now(&c, &link).await["status"], "InProgress");
}

#[tokio::test]
async fn without_contention_a_second_subnet_write_is_still_refused_409() {
    let sb = start_with(config(10.0, "", no_contention())).await;
    let c = Client::new(&sb);
    let first = create_subnet(&c, "a", "10.225.0.0/24").await;
    assert_eq!(first.status, 201);
    let second = create_subnet(&c, "b", "10.225.1.0/24").await;
    assert_eq!(
        (second.status, second.code()),
        (409, "AnotherOperationInProgress")
    );
    assert_eq!(c.get(&subnet_id("b"), NET_API).await.status, 404);
    assert_eq!(status_now(&c, &first).await["status"], "InProgress");
}

/// Subnet write, then a link to the same vnet, under contention with `seed`.
async fn subnet_then_link(seed: u64) -> Outcome {
    let sb = start_with(config(10.0, &format!("seed={seed}"), contention())).await;
    insert_zone(&sb, ZONE);
    let c = Client::new(&sb);
    let subnet = create_subnet(&c, "cache", "10.225.0.0/24").await;
    assert_eq!(subnet.status, 201, "{:?}", subnet.body);
    let before = resource_ids(&sb);
    let link = c
        .put(&link_path(ZONE, "aks-link"), DNS_API, link_body())
        .await;
    if link.status == 409 {
        assert_eq!(link.code(), "AnotherOperationInProgress");
        let m = link.body["error"]["message"].as_str().unwrap_or_default();
        let url = m
            .split("use uri: ")
            .nth(1)
            .map(|u| u.trim_end_matches('.'))
            .unwrap_or_default();
        let own = subnet.header("Azure-AsyncOperation").unwrap_or_default();
        assert_eq!(
            path_of(url),
            path_of(&own),
            "names the running subnet write"
        );
        assert_eq!(link.body["error"]["details"], serde_json::json!([]));
        assert_eq!(
            resource_ids(&sb),
            before,
            "the refused link applied nothing"
        );
        assert_eq!(status_now(&c, &subnet).await["status"], "InProgress");
        return Outcome::Refused;
    }
    assert_eq!(link.status, 202, "{:?}", link.body);
    let doc = status_now(&c, &subnet).await;
    assert_eq!(doc["status"], "Canceled");
    assert_eq!(doc["error"]["code"], "Canceled");
    assert_eq!(
        doc["error"]["details"][0]["code"],
        "CanceledAndSupersededDueToAnotherOperation"
    );
    let detail = doc["error"]["details"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        detail.starts_with("Operation PutSubnetOperation (")
            && detail.contains(
                "was canceled and superseded by operation PutVirtualNetworkLinkOperation ("
            ),
        "{detail}"
    );
    assert_eq!(
        c.get(&subnet_id("cache"), NET_API).await.status,
        404,
        "a canceled create leaves nothing"
    );
    assert_eq!(status_now(&c, &link).await["status"], "InProgress");
    Outcome::Superseded
}

#[tokio::test]
async fn under_contention_a_link_during_a_subnet_write_is_refused_or_supersedes_by_seed() {
    let mut outcomes = Vec::new();
    for seed in 0..8 {
        outcomes.push(subnet_then_link(seed).await);
    }
    assert!(outcomes.contains(&Outcome::Refused), "{outcomes:?}");
    assert!(outcomes.contains(&Outcome::Superseded), "{outcomes:?}");
    for (seed, first) in outcomes.iter().enumerate() {
        assert_eq!(&subnet_then_link(seed as u64).await, first, "seed {seed}");
    }
}

#[tokio::test]
async fn under_contention_a_subnet_write_during_a_link_collides_too() {
    let mut seen = Vec::new();
    for seed in 0..8 {
        let sb = start_with(config(10.0, &format!("seed={seed}"), contention())).await;
        insert_zone(&sb, ZONE);
        let c = Client::new(&sb);
        let link = c
            .put(&link_path(ZONE, "aks-link"), DNS_API, link_body())
            .await;
        assert_eq!(link.status, 202, "{:?}", link.body);
        let subnet = create_subnet(&c, "cache", "10.225.0.0/24").await;
        match subnet.status {
            409 => {
                assert_eq!(subnet.code(), "AnotherOperationInProgress");
                assert_eq!(c.get(&subnet_id("cache"), NET_API).await.status, 404);
                seen.push(Outcome::Refused);
            }
            201 => {
                let doc = status_now(&c, &link).await;
                assert_eq!(doc["status"], "Canceled");
                assert_eq!(
                    c.get(&link_path(ZONE, "aks-link"), DNS_API).await.status,
                    404
                );
                seen.push(Outcome::Superseded);
            }
            s => panic!("{s}: {:?}", subnet.body),
        }
    }
    assert!(
        seen.contains(&Outcome::Refused) && seen.contains(&Outcome::Superseded),
        "{seen:?}"
    );
}

#[tokio::test]
async fn conflict_vnet_refuses_with_a_status_url_that_answers_and_applies_nothing() {
    let sb = start_with(config(0.0, "conflict-vnet=1", no_contention())).await;
    zone(&Client::new(&sb), ZONE).await;
    let c = Client::new(&sb);
    let before = resource_ids(&sb);
    let r = create_subnet(&c, "cache", "10.225.0.0/24").await;
    assert_eq!((r.status, r.code()), (409, "AnotherOperationInProgress"));
    let m = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        m.starts_with("Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: "),
        "{m}"
    );
    let url = m
        .split("use uri: ")
        .nth(1)
        .map(|u| u.trim_end_matches('.'))
        .unwrap_or_default();
    assert!(
        url.contains("/providers/Microsoft.Network/locations/eastus/operations/"),
        "{url}"
    );
    let other = c.call("GET", url, None).await;
    assert_eq!(other.status, 200, "{:?}", other.body);
    let link = c
        .put(&link_path(ZONE, "aks-link"), DNS_API, link_body())
        .await;
    assert_eq!(link.code(), "AnotherOperationInProgress");
    assert_eq!(resource_ids(&sb), before);
}

#[tokio::test]
async fn supersede_vnet_cancels_the_write_and_a_canceled_create_leaves_nothing() {
    let sb = start_with(config(0.0, "supersede-vnet=1", no_contention())).await;
    let c = Client::new(&sb);
    let r = create_subnet(&c, "cache", "10.225.0.0/24").await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        r.body["name"], "cache",
        "the answer shows the accepted subnet"
    );
    let doc = c.finish(&r).await;
    assert_eq!(doc["status"], "Canceled");
    assert_eq!(doc["error"]["message"], "Operation was canceled.");
    let detail = &doc["error"]["details"][0];
    assert_eq!(detail["code"], "CanceledAndSupersededDueToAnotherOperation");
    assert!(
        detail["message"]
            .as_str()
            .is_some_and(|m| m.contains("superseded by operation PutVirtualNetworkOperation")),
        "{detail}"
    );
    assert_eq!(c.get(&subnet_id("cache"), NET_API).await.status, 404);
}

#[tokio::test]
async fn vnet_faults_are_the_same_for_the_same_seed() {
    async fn run(seed: u64) -> Vec<u16> {
        let sb = start_with(config(
            0.0,
            &format!("conflict-vnet=0.5,seed={seed}"),
            no_contention(),
        ))
        .await;
        let c = Client::new(&sb);
        let mut statuses = Vec::new();
        for i in 0..12 {
            let r = create_subnet(&c, &format!("s{i}"), &format!("10.225.{i}.0/24")).await;
            statuses.push(r.status);
        }
        statuses
    }
    let first = run(11).await;
    assert!(first.contains(&409) && first.contains(&201), "{first:?}");
    assert_eq!(run(11).await, first);
}

#[tokio::test]
async fn a_write_superseding_one_on_the_same_subnet_keeps_the_subnet() {
    for seed in 0..32 {
        let sb = start_with(config(10.0, &format!("seed={seed}"), contention())).await;
        let c = Client::new(&sb);
        let first = create_subnet(&c, "cache", "10.225.0.0/24").await;
        assert_eq!(first.status, 201);
        let second = create_subnet(&c, "cache", "10.225.0.0/24").await;
        if second.status == 409 {
            continue;
        }
        assert_eq!(second.status, 200, "{:?}", second.body);
        assert_eq!(status_now(&c, &first).await["status"], "Canceled");
        assert_eq!(status_now(&c, &second).await["status"], "InProgress");
        let subnet = c.get(&subnet_id("cache"), NET_API).await;
        assert_eq!(subnet.status, 200, "the newer write owns the subnet");
        assert_eq!(subnet.body["properties"]["provisioningState"], "Updating");
        return;
    }
    panic!("no seed in 0..32 superseded");
}
