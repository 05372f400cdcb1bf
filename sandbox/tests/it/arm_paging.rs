//! Lists page with `nextLink` as ARM's do (issue 15 item 9), and a private DNS link shows
//! `virtualNetworkLinkState: InProgress` until its operation completes.

use crate::arm_support;
use crate::real_azure;

use arm_support::*;
use hpccache_sandbox::settings::Settings;
use hpccache_sandbox::world::World;
use real_azure::*;
use serde_json::{Value, json};

fn page_size(n: usize) -> Settings {
    Settings {
        page_size: Some(n),
        ..Settings::default()
    }
}

/// Every page from `path`, following `nextLink` to the end.
async fn pages(c: &Client, path: &str, api: &str) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    let mut url = with_api(path, api);
    for _ in 0..50 {
        let r = c.call("GET", &url, None).await;
        assert_eq!(r.status, 200, "{url}: {:?}", r.body);
        out.push(r.body["value"].as_array().cloned().unwrap_or_default());
        match r.body["nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => return out,
        }
    }
    panic!("nextLink never ended");
}

fn names(pages: &[Vec<Value>]) -> Vec<String> {
    pages
        .iter()
        .flatten()
        .filter_map(|v| v["name"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn short_lists_have_no_next_link_by_default() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    c.finish(&create_subnet(&c, "cache", "10.225.0.0/24").await)
        .await;
    let r = c.get(&format!("{}/subnets", vnet_id()), NET_API).await;
    assert_eq!(r.body["value"].as_array().map(Vec::len), Some(2));
    assert!(r.body.get("nextLink").is_none());
}

#[tokio::test]
async fn a_list_longer_than_the_page_size_pages_with_next_link() {
    let sb = start_with(config(0.0, "", page_size(1))).await;
    let c = Client::new(&sb);
    for (i, n) in ["a", "b"].iter().enumerate() {
        c.finish(&create_subnet(&c, n, &format!("10.225.{i}.0/24")).await)
            .await;
    }
    let p = pages(&c, &format!("{}/subnets", vnet_id()), NET_API).await;
    assert_eq!(p.len(), 3);
    assert!(p.iter().all(|page| page.len() == 1));
    let mut got = names(&p);
    got.sort();
    assert_eq!(got, ["a", "aks-subnet", "b"]);
    let r = c.get(&format!("{}/subnets", vnet_id()), NET_API).await;
    let next = r.body["nextLink"].as_str().unwrap_or_default();
    assert!(
        next.starts_with(&format!("{}{}/subnets?", sb.arm_endpoint(), vnet_id())),
        "{next}"
    );
    assert!(
        next.contains("api-version=2024-07-01") && next.contains("%24skiptoken="),
        "{next}"
    );
}

#[tokio::test]
async fn the_world_setting_sets_the_page_size_and_next_links_keep_the_filter() {
    let mut w = World::new_default();
    w.settings.page_size = Some(2);
    let sb = start_world(w, 0.0).await;
    let c = Client::new(&sb);
    let principal = "12345678-1234-1234-1234-123456789abc";
    let other = "87654321-4321-4321-4321-cba987654321";
    for (p, role) in [
        (principal, "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
        (principal, "b24988ac-6180-42a0-ab88-20f7382dd24c"),
        (principal, "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
        (other, "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
    ] {
        let r = c
            .put(
                &format!(
                    "{}/providers/Microsoft.Authorization/roleAssignments/{}",
                    rg_id(RG),
                    uuid::Uuid::new_v4()
                ),
                AUTH_API,
                json!({"properties": {"roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
                    "principalId": p, "principalType": "User"}}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let p = pages(
        &c,
        &format!(
            "{}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId%20eq%20'{principal}'",
            rg_id(RG)
        ),
        AUTH_API,
    )
    .await;
    assert_eq!(p.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    assert!(
        p.iter()
            .flatten()
            .all(|a| a["properties"]["principalId"] == principal)
    );
}

#[tokio::test]
async fn private_dns_lists_take_top_as_their_page_size() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    zone(&c, "myhpccache.local").await;
    for n in ["a", "b", "c"] {
        let r = c
            .put(
                &format!("{}/A/{n}", zone_id("myhpccache.local")),
                DNS_API,
                json!({"properties": {"ttl": 300, "aRecords": [{"ipv4Address": "10.225.0.4"}]}}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let p = pages(
        &c,
        &format!("{}/A?$top=2", zone_id("myhpccache.local")),
        DNS_API,
    )
    .await;
    assert_eq!(p.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(names(&p), ["a", "b", "c"]);
}

#[tokio::test]
async fn a_bad_skip_token_or_page_size_is_400() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let r = c
        .get(
            &format!("{}/subnets?$skiptoken=nonsense", vnet_id()),
            NET_API,
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "InvalidSkipToken"));
    zone(&c, "myhpccache.local").await;
    let top = c
        .get(
            &format!("{}/A?$top=0", zone_id("myhpccache.local")),
            DNS_API,
        )
        .await;
    assert_eq!((top.status, top.code()), (400, "InvalidParameter"));
}

#[tokio::test]
async fn a_vnet_link_is_in_progress_until_its_operation_completes() {
    // Azure time: the link takes 30 s, so it is still running when read.
    let sb = start_with(config(1.0, "", Settings::default())).await;
    insert_zone(&sb, "myhpccache.local");
    let c = Client::new(&sb);
    let path = link_path("myhpccache.local", "aks-link");
    let r = c.put(&path, DNS_API, link_body()).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let running = c.get(&path, DNS_API).await;
    assert_eq!(
        running.body["properties"]["virtualNetworkLinkState"],
        "InProgress"
    );
    assert_eq!(running.body["properties"]["provisioningState"], "Creating");
    let now = hpccache_sandbox::arm::clock::now_ms();
    sb.with_world(|w| {
        for op in w.operations.values_mut() {
            op.due_ms = now;
        }
    });
    let done = c.get(&path, DNS_API).await;
    assert_eq!(
        done.body["properties"]["virtualNetworkLinkState"],
        "Completed"
    );
    assert_eq!(done.body["properties"]["provisioningState"], "Succeeded");
}
