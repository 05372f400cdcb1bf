//! Azure's rules the sandbox enforces: address checks, dedicated subnets, role
//! assignments, storage target access, private DNS links, request body validation.

use crate::arm_support;

use arm_support::*;
use serde_json::json;

#[tokio::test]
async fn subnet_overlap_outside_and_bad_cidr_are_400_with_azure_codes() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let overlap = create_subnet(&c, "s1", "10.224.1.0/24").await;
    assert_eq!(
        (overlap.status, overlap.code()),
        (400, "NetcfgSubnetRangesOverlap")
    );
    let outside = create_subnet(&c, "s2", "10.0.0.0/26").await;
    assert_eq!(
        (outside.status, outside.code()),
        (400, "NetcfgSubnetRangeOutsideVnet")
    );
    let bad = create_subnet(&c, "s3", "10.225.0.1/24").await;
    assert_eq!((bad.status, bad.code()), (400, "InvalidCIDRNotation"));
    let garbage = create_subnet(&c, "s4", "not-a-prefix").await;
    assert_eq!(garbage.code(), "InvalidCIDRNotation");
    let ok = create_subnet(&c, "s5", "10.225.0.0/24").await;
    assert_eq!(ok.status, 201);
    assert_eq!(ok.body["properties"]["provisioningState"], "Updating");
    c.finish(&ok).await;
    let list = c.get(&format!("{}/subnets", vnet_id()), NET_API).await;
    assert_eq!(list.body["value"].as_array().map(Vec::len), Some(2));
    let vnet = c.get(&vnet_id(), NET_API).await;
    assert_eq!(
        vnet.body["properties"]["subnets"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn a_subnet_in_use_by_a_cache_cannot_be_deleted_nor_host_another_cache() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    register_provider(&c).await;
    c.finish(&create_subnet(&c, "cache", "10.225.0.0/24").await)
        .await;
    c.finish(
        &c.put(
            &cache_id("c1"),
            CACHE_API,
            cache_body(&subnet_id("cache"), 3072),
        )
        .await,
    )
    .await;
    let d = c.delete(&subnet_id("cache"), NET_API).await;
    assert_eq!((d.status, d.code()), (400, "InUseSubnetCannotBeDeleted"));
    let second = c
        .put(
            &cache_id("c2"),
            CACHE_API,
            cache_body(&subnet_id("cache"), 3072),
        )
        .await;
    assert_eq!(second.status, 400);
    let nodes = c
        .put(
            &cache_id("c3"),
            CACHE_API,
            cache_body(&subnet_id("aks-subnet"), 3072),
        )
        .await;
    assert_eq!(nodes.status, 400, "the node subnet hosts the cluster");
}

#[tokio::test]
async fn a_cache_needs_64_usable_addresses_a_valid_size_and_an_existing_subnet() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    register_provider(&c).await;
    c.finish(&create_subnet(&c, "small", "10.225.0.0/26").await)
        .await;
    let small = c
        .put(
            &cache_id("c1"),
            CACHE_API,
            cache_body(&subnet_id("small"), 3072),
        )
        .await;
    assert_eq!(small.status, 400);
    assert!(
        small.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("59 usable")
    );
    c.finish(&create_subnet(&c, "big", "10.226.0.0/24").await)
        .await;
    let size = c
        .put(
            &cache_id("c1"),
            CACHE_API,
            cache_body(&subnet_id("big"), 1000),
        )
        .await;
    assert_eq!((size.status, size.code()), (400, "InvalidParameter"));
    let none = c
        .put(
            &cache_id("c1"),
            CACHE_API,
            cache_body(&subnet_id("missing"), 3072),
        )
        .await;
    assert_eq!(none.status, 400);
}

#[tokio::test]
async fn invalid_request_bodies_are_400_not_silently_accepted() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    register_provider(&c).await;
    let wrong_type = c
        .put(&cache_id("c1"), CACHE_API, json!({"location": "eastus", "sku": {"name": "Standard_2G"}, "properties": {"cacheSizeGB": "3072", "subnet": subnet_id("x")}}))
        .await;
    assert_eq!(
        (wrong_type.status, wrong_type.code()),
        (400, "InvalidRequestContent")
    );
    let missing = c
        .put(
            &format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/{}",
                account_id("nope"),
                uuid::Uuid::new_v4()
            ),
            AUTH_API,
            json!({"properties": {"principalId": uuid::Uuid::new_v4().to_string()}}),
        )
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.code(), "InvalidParameter", "{:?}", missing.body);
    let not_json = c
        .call(
            "PUT",
            &with_api(&zone_id("z.local"), DNS_API),
            Some(json!("text")),
        )
        .await;
    assert_eq!(not_json.status, 400);
    let bad_ttl = c
        .put(
            &zone_id("z.local"),
            DNS_API,
            json!({"location": "global", "tags": "x"}),
        )
        .await;
    assert_eq!(bad_ttl.status, 400);
}

#[tokio::test]
async fn a_second_assignment_of_the_same_role_is_409_role_assignment_exists() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    c.finish(
        &c.put(
            &account_id("acct1"),
            STORAGE_API,
            json!({"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}),
        )
        .await,
    )
    .await;
    let body = json!({"properties": {
        "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/17d1049b-9a84-46fb-8f53-869881c3d3ab"),
        "principalId": "11111111-2222-3333-4444-555555555555", "principalType": "ServicePrincipal"}});
    let name = uuid::Uuid::new_v4();
    let path = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{name}",
        account_id("acct1")
    );
    assert_eq!(c.put(&path, AUTH_API, body.clone()).await.status, 201);
    assert_eq!(
        c.put(&path, AUTH_API, body.clone()).await.status,
        200,
        "same name and body: idempotent"
    );
    let other = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{}",
        account_id("acct1"),
        uuid::Uuid::new_v4()
    );
    let dup = c.put(&other, AUTH_API, body.clone()).await;
    assert_eq!((dup.status, dup.code()), (409, "RoleAssignmentExists"));
    let list = c
        .get(
            &format!(
                "{}/providers/Microsoft.Authorization/roleAssignments",
                account_id("acct1")
            ),
            AUTH_API,
        )
        .await;
    assert_eq!(list.body["value"].as_array().map(Vec::len), Some(1));
    let defs = c
        .get(&format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName%20eq%20'Storage%20Blob%20Data%20Contributor'"), AUTH_API)
        .await;
    assert_eq!(
        defs.body["value"][0]["name"],
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    );
    assert_eq!(c.delete(&path, AUTH_API).await.status, 200);
    assert_eq!(c.get(&path, AUTH_API).await.status, 404);
}

#[tokio::test]
async fn a_blob_target_without_the_roles_ends_failed_with_the_reason() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    register_provider(&c).await;
    c.finish(&create_subnet(&c, "cache", "10.225.0.0/24").await)
        .await;
    c.finish(
        &c.put(
            &cache_id("c1"),
            CACHE_API,
            cache_body(&subnet_id("cache"), 3072),
        )
        .await,
    )
    .await;
    c.finish(
        &c.put(
            &account_id("acct1"),
            STORAGE_API,
            json!({"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}),
        )
        .await,
    )
    .await;
    c.put(&container_id("acct1", "data"), STORAGE_API, json!({}))
        .await;
    let t = c
        .put(&format!("{}/storageTargets/t1", cache_id("c1")), CACHE_API,
            json!({"properties": {"targetType": "clfs", "junctions": [{"namespacePath": "/data"}], "clfs": {"target": container_id("acct1", "data")}}}))
        .await;
    assert_eq!(t.status, 201, "{:?}", t.body);
    let op = c.finish(&t).await;
    assert_eq!(op["status"], "Failed");
    assert_eq!(op["error"]["code"], "StorageTargetCreationFailed");
    assert!(
        op["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Storage Blob Data Contributor")
    );
    let g = c
        .get(&format!("{}/storageTargets/t1", cache_id("c1")), CACHE_API)
        .await;
    assert_eq!(g.body["properties"]["provisioningState"], "Failed");
}

#[tokio::test]
async fn private_dns_rules_links_and_deletion() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let z = c
        .put(
            &zone_id("myhpccache.local"),
            DNS_API,
            json!({"location": "global"}),
        )
        .await;
    assert_eq!(z.status, 202);
    assert!(z.header("Location").is_some());
    let fin = c
        .wait_location(&z.header("Location").unwrap_or_default())
        .await;
    assert_eq!(fin.status, 200);
    assert_eq!(fin.body["properties"]["provisioningState"], "Succeeded");
    let link = |name: &str, reg: bool, zone: &str| {
        (
            format!("{}/virtualNetworkLinks/{name}", zone_id(zone)),
            json!({"location": "global", "properties": {"virtualNetwork": {"id": vnet_id()}, "registrationEnabled": reg}}),
        )
    };
    let (p, b) = link("l1", true, "myhpccache.local");
    c.finish(&c.put(&p, DNS_API, b).await).await;
    let (p2, b2) = link("l2", false, "myhpccache.local");
    let twice = c.put(&p2, DNS_API, b2).await;
    assert_eq!(twice.status, 409, "same vnet linked twice to one zone");
    c.finish(
        &c.put(
            &zone_id("other.local"),
            DNS_API,
            json!({"location": "global"}),
        )
        .await,
    )
    .await;
    let (p3, b3) = link("l3", true, "other.local");
    let reg = c.put(&p3, DNS_API, b3).await;
    assert_eq!(
        reg.status, 409,
        "one registration-enabled link per vnet: {:?}",
        reg.body
    );
    let del = c.delete(&zone_id("myhpccache.local"), DNS_API).await;
    assert_eq!((del.status, del.code()), (409, "CannotDeleteResource"));
    let r = c
        .put(
            &format!("{}/A/server", zone_id("myhpccache.local")),
            DNS_API,
            json!({"properties": {"ttl": 300, "aRecords": [{"ipv4Address": "10.225.0.4"}]}}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["properties"]["fqdn"], "server.myhpccache.local.");
    let exists = c
        .call(
            "PUT",
            &with_api(
                &format!("{}/A/server", zone_id("myhpccache.local")),
                DNS_API,
            ),
            Some(json!({"properties": {"ttl": 1}})),
        )
        .await;
    assert_eq!(exists.status, 200);
    c.finish(&c.delete(&p, DNS_API).await).await;
    let del = c.delete(&zone_id("myhpccache.local"), DNS_API).await;
    assert_eq!(del.status, 202);
    c.finish(&del).await;
    assert_eq!(
        c.get(&zone_id("myhpccache.local"), DNS_API).await.status,
        404
    );
}

#[tokio::test]
async fn the_guide_flow_completes_and_the_container_holds_data_after_flush() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let addrs = guide_up(&c, &sb, false).await;
    assert_eq!(addrs.len(), 3);
    let rs = c
        .get(
            &format!("{}/A/server", zone_id("myhpccache.local")),
            DNS_API,
        )
        .await;
    assert_eq!(
        rs.body["properties"]["aRecords"].as_array().map(Vec::len),
        Some(3)
    );
    let cid = container_id("hpcstore1", "mystoragecontainer");
    assert!(!sb.with_world(|w| w.container_holds_data(&cid)));
    let root = hpccache_sandbox::fabric::Identity { uid: 0, gid: 0 };
    sb.fabric()
        .write_file(
            &cluster_id(),
            "server.myhpccache.local",
            "/myfilepath",
            root,
            "outfile",
        )
        .expect("write");
    assert!(
        !sb.with_world(|w| w.container_holds_data(&cid)),
        "write-back: not yet in Blob"
    );
    c.finish(
        &c.post(
            &format!("{}/flush", cache_id("MyHpcCache")),
            CACHE_API,
            None,
        )
        .await,
    )
    .await;
    assert!(sb.with_world(|w| w.container_holds_data(&cid)));
}
