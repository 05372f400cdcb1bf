//! Azure Managed Lustre (`amlFilesystems`) from a plain HTTP client: the long-running
//! create, update and delete, the rules a create must pass (each refused with nothing
//! created), the two subnet helpers, and list paging.

use crate::arm_support;

use arm_support::*;
use base64::Engine;
use hpccache_sandbox::arm::spec;
use serde_json::{Value, json};

fn decode_yaml(b64: &Value) -> Value {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.as_str().expect("base64 string"))
        .expect("base64");
    serde_saphyr::from_str(&String::from_utf8(bytes).expect("utf8")).expect("yaml")
}

fn names(list: &Value) -> Vec<String> {
    list["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|f| f["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn create_is_201_with_async_operation_409_while_running_then_available_with_client_info() {
    // 15 minutes × 0.004 = 3.6 s: long enough to see the running state.
    let sb = start(0.004).await;
    let c = Client::new(&sb);
    let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    let r = c
        .put(&fs_id("fs1"), AML_API, amlfs_body(&subnet, AML_SKU, 16))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["properties"]["provisioningState"], "Creating");
    assert_eq!(r.body["properties"]["health"]["state"], "Transitioning");
    let op_url = r
        .header("Azure-AsyncOperation")
        .expect("Azure-AsyncOperation");
    assert!(op_url.contains("/providers/Microsoft.StorageCache/locations/eastus/ascOperations/"));
    assert!(
        r.header("Location")
            .is_some_and(|l| l.contains("monitor=true"))
    );
    assert!(r.header("Retry-After").is_some());
    assert!(r.header("retry-after-ms").is_some());
    let patch = c
        .call(
            "PATCH",
            &with_api(&fs_id("fs1"), AML_API),
            Some(json!({"tags": {"a": "b"}})),
        )
        .await;
    assert_eq!((patch.status, patch.code()), (409, "Conflict"));
    let again = c
        .put(&fs_id("fs1"), AML_API, amlfs_body(&subnet, AML_SKU, 16))
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(c.delete(&fs_id("fs1"), AML_API).await.status, 409);
    let done = c.wait_async(&op_url).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    let puts = sb
        .requests()
        .iter()
        .filter(|q| q.method == "PUT" && q.path.ends_with("/amlFilesystems/fs1"))
        .count();
    assert_eq!(
        puts, 2,
        "the create and the refused second PUT; polling needs no write"
    );
    let fs = c.get(&fs_id("fs1"), AML_API).await.body;
    let p = &fs["properties"];
    assert_eq!(p["provisioningState"], "Succeeded");
    assert_eq!(p["health"]["state"], "Available");
    assert_eq!(p["throughputProvisionedMBps"], 16 * 250);
    assert_eq!(p["clientInfo"]["mgsAddress"], "10.225.0.4");
    assert_eq!(
        p["clientInfo"]["mountCommand"],
        "sudo mount -t lustre -o noatime,flock 10.225.0.4@tcp:/lustrefs /lustrefs"
    );
    assert!(p["clientInfo"]["lustreVersion"].is_string());
    let csi = &p["clientInfo"]["containerStorageInterface"];
    let pv = decode_yaml(&csi["persistentVolume"]);
    assert_eq!(pv["kind"], "PersistentVolume");
    assert_eq!(pv["spec"]["csi"]["driver"], "azurelustre.csi.azure.com");
    assert_eq!(
        pv["spec"]["csi"]["volumeAttributes"]["mgs-ip-address"],
        "10.225.0.4"
    );
    assert_eq!(pv["spec"]["csi"]["volumeAttributes"]["fs-name"], "lustrefs");
    assert_eq!(pv["spec"]["capacity"]["storage"], "16Ti");
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    let pvc = decode_yaml(&csi["persistentVolumeClaim"]);
    assert_eq!(pvc["spec"]["volumeName"], pv["metadata"]["name"]);
    assert_eq!(pvc["spec"]["storageClassName"], "");
    let sc = decode_yaml(&csi["storageClass"]);
    assert_eq!(sc["provisioner"], "azurelustre.csi.azure.com");
    let op = spec::index()
        .by_operation_id("amlFilesystems_Get", AML_API)
        .expect("spec");
    assert_eq!(spec::index().validate_response(op, 200, &fs), Ok(()));
}

#[tokio::test]
async fn delete_is_202_with_location_then_204_then_get_404_and_the_subnet_is_free() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    create_amlfs(&c, "fs1", amlfs_body(&subnet, AML_SKU, 8)).await;
    let upper = c
        .get(
            &fs_id("fs1")
                .to_uppercase()
                .replace("SUBSCRIPTIONS", "subscriptions"),
            AML_API,
        )
        .await;
    assert_eq!(upper.status, 200, "ids are case-insensitive");
    assert_eq!(upper.body["name"], "fs1");
    let busy = c.delete(&subnet, NET_API).await;
    assert_eq!(
        (busy.status, busy.code()),
        (400, "InUseSubnetCannotBeDeleted")
    );
    let d = c.delete(&fs_id("fs1"), AML_API).await;
    assert_eq!(d.status, 202);
    assert!(d.header("Azure-AsyncOperation").is_some());
    let loc = d.header("Location").expect("Location");
    assert_eq!(c.wait_location(&loc).await.status, 204);
    let gone = c.get(&fs_id("fs1"), AML_API).await;
    assert_eq!((gone.status, gone.code()), (404, "ResourceNotFound"));
    assert_eq!(c.delete(&fs_id("fs1"), AML_API).await.status, 204);
    let s = c.delete(&subnet, NET_API).await;
    assert_eq!(s.status, 202, "{:?}", s.body);
}

#[tokio::test]
async fn create_only_properties_cannot_change_and_updates_apply_root_squash_and_tags() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    let other = amlfs_network(&c, "amlfs2", "10.225.1.0/24").await;
    let body = amlfs_body(&subnet, AML_SKU, 8);
    create_amlfs(&c, "fs1", body.clone()).await;
    let changes: Vec<(&str, Value)> = vec![
        ("/properties/storageCapacityTiB", json!(16)),
        ("/properties/filesystemSubnet", json!(other)),
        ("/zones", json!(["2"])),
        ("/sku/name", json!("AMLFS-Durable-Premium-500")),
    ];
    for (pointer, value) in changes {
        let mut b = body.clone();
        *b.pointer_mut(pointer).expect("pointer") = value;
        let r = c.put(&fs_id("fs1"), AML_API, b).await;
        assert_eq!(
            (r.status, r.code()),
            (400, "PropertyChangeNotAllowed"),
            "{pointer}"
        );
    }
    let mut moved = body.clone();
    moved["location"] = json!("eastus2");
    let r = c.put(&fs_id("fs1"), AML_API, moved).await;
    assert_eq!((r.status, r.code()), (409, "InvalidResourceLocation"));
    let mut tagged = body.clone();
    tagged["tags"] = json!({"team": "hpc"});
    let r = c.put(&fs_id("fs1"), AML_API, tagged).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["properties"]["provisioningState"], "Updating");
    assert_eq!(c.finish(&r).await["status"], "Succeeded");
    let patch = c
        .call(
            "PATCH",
            &with_api(&fs_id("fs1"), AML_API),
            Some(json!({"properties": {
                "rootSquashSettings": {"mode": "RootOnly", "squashUID": 65534, "squashGID": 65534, "noSquashNidLists": "10.224.0.[4-5]@tcp"},
                "maintenanceWindow": {"dayOfWeek": "Sunday", "timeOfDayUTC": "03:30"}
            }})),
        )
        .await;
    assert_eq!(patch.status, 202, "{:?}", patch.body);
    assert!(patch.header("Location").is_some());
    assert_eq!(c.finish(&patch).await["status"], "Succeeded");
    let fs = c.get(&fs_id("fs1"), AML_API).await.body;
    assert_eq!(fs["tags"]["team"], "hpc");
    assert_eq!(fs["properties"]["rootSquashSettings"]["mode"], "RootOnly");
    assert_eq!(
        fs["properties"]["rootSquashSettings"]["status"],
        "nodemap.active=1"
    );
    assert_eq!(fs["properties"]["maintenanceWindow"]["dayOfWeek"], "Sunday");
    assert_eq!(fs["properties"]["health"]["state"], "Available");
    // The update model has no hsm; a PATCH cannot add Blob integration.
    let hsm = c
        .call(
            "PATCH",
            &with_api(&fs_id("fs1"), AML_API),
            Some(json!({"properties": {"hsm": {"settings": {}}}})),
        )
        .await;
    assert_eq!((hsm.status, hsm.code()), (400, "InvalidRequestContent"));
    let bad_nids = c
        .call(
            "PATCH",
            &with_api(&fs_id("fs1"), AML_API),
            Some(json!({"properties": {"rootSquashSettings": {"mode": "All", "squashUID": 1, "squashGID": 1, "noSquashNidLists": "10.0.0.5"}}})),
        )
        .await;
    assert_eq!(
        (bad_nids.status, bad_nids.code()),
        (400, "InvalidParameter")
    );
}

#[tokio::test]
async fn the_provider_must_be_registered() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let s = create_subnet(&c, "amlfs", "10.225.0.0/24").await;
    c.finish(&s).await;
    let r = c
        .put(
            &fs_id("fs1"),
            AML_API,
            amlfs_body(&subnet_id("amlfs"), AML_SKU, 8),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "MissingSubscriptionRegistration")
    );
    assert_eq!(c.get(&fs_id("fs1"), AML_API).await.status, 404);
}

#[tokio::test]
async fn bad_creates_are_400_with_arm_codes_and_create_nothing() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    let small = amlfs_network(&c, "tiny", "10.225.1.0/28").await;
    let (data, logs) = blob_integration(&c, &sb, "lustrestore", true).await;
    // A vnet in another region, and a subnet an HPC cache holds.
    let west = format!(
        "{}/providers/Microsoft.Network/virtualNetworks/westvnet",
        rg_id(RG)
    );
    c.finish(&c.put(&west, NET_API, json!({"location": "westus2", "properties": {"addressSpace": {"addressPrefixes": ["10.50.0.0/16"]}}})).await).await;
    c.finish(
        &c.put(
            &format!("{west}/subnets/s"),
            NET_API,
            json!({"properties": {"addressPrefix": "10.50.0.0/24"}}),
        )
        .await,
    )
    .await;
    let cache_subnet = amlfs_network(&c, "cache", "10.225.2.0/24").await;
    let cache = c
        .put(&cache_id("c1"), CACHE_API, cache_body(&cache_subnet, 3072))
        .await;
    assert_eq!(c.finish(&cache).await["status"], "Succeeded");
    let base = amlfs_body(&subnet, AML_SKU, 8);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = base.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "unknown SKU",
            with(&|b| b["sku"]["name"] = json!("AMLFS-Durable-Premium-999")),
            "InvalidParameter",
        ),
        (
            "below the SKU minimum",
            with(&|b| {
                b["sku"]["name"] = json!("AMLFS-Durable-Premium-40");
                b["properties"]["storageCapacityTiB"] = json!(40);
            }),
            "InvalidParameter",
        ),
        (
            "not a multiple of the step",
            with(&|b| b["properties"]["storageCapacityTiB"] = json!(12)),
            "InvalidParameter",
        ),
        (
            "no zone in a region with zones",
            with(&|b| {
                b.as_object_mut().map(|o| o.remove("zones"));
            }),
            "InvalidParameter",
        ),
        (
            "two zones",
            with(&|b| b["zones"] = json!(["1", "2"])),
            "InvalidParameter",
        ),
        (
            "a zone that does not exist",
            with(&|b| b["zones"] = json!(["4"])),
            "InvalidParameter",
        ),
        (
            "a zone in a region without zones",
            with(&|b| b["location"] = json!("westus")),
            "InvalidParameter",
        ),
        (
            "no maintenance window",
            with(&|b| {
                b["properties"]
                    .as_object_mut()
                    .map(|o| o.remove("maintenanceWindow"));
            }),
            "InvalidParameter",
        ),
        (
            "a window without its time",
            with(&|b| b["properties"]["maintenanceWindow"] = json!({"dayOfWeek": "Monday"})),
            "InvalidParameter",
        ),
        (
            "a time that is no time",
            with(&|b| b["properties"]["maintenanceWindow"]["timeOfDayUTC"] = json!("25:00")),
            "InvalidRequestContent",
        ),
        (
            "a read-only property",
            with(&|b| b["properties"]["clientInfo"] = json!({"mgsAddress": "10.0.0.9"})),
            "InvalidRequestContent",
        ),
        (
            "an unknown property",
            with(&|b| b["properties"]["cacheSizeGB"] = json!(3072)),
            "InvalidRequestContent",
        ),
        (
            "a subnet that does not exist",
            with(&|b| b["properties"]["filesystemSubnet"] = json!(subnet_id("nope"))),
            "InvalidParameter",
        ),
        (
            "a subnet too small",
            with(&|b| b["properties"]["filesystemSubnet"] = json!(small)),
            "InvalidParameter",
        ),
        (
            "a subnet in another region",
            with(&|b| b["properties"]["filesystemSubnet"] = json!(format!("{west}/subnets/s"))),
            "InvalidParameter",
        ),
        (
            "a subnet an HPC cache uses",
            with(&|b| b["properties"]["filesystemSubnet"] = json!(cache_subnet)),
            "InvalidParameter",
        ),
        (
            "a container that does not exist",
            with(
                &|b| b["properties"]["hsm"] = json!({"settings": {"container": container_id("lustrestore", "nope"), "loggingContainer": logs}}),
            ),
            "InvalidParameter",
        ),
        (
            "one container for data and logs",
            with(&|b| {
                b["properties"]["hsm"] =
                    json!({"settings": {"container": data, "loggingContainer": data}})
            }),
            "InvalidParameter",
        ),
        (
            "squashing without squash ids",
            with(&|b| b["properties"]["rootSquashSettings"] = json!({"mode": "All"})),
            "InvalidParameter",
        ),
        (
            "a squash mode that does not exist",
            with(&|b| {
                b["properties"]["rootSquashSettings"] =
                    json!({"mode": "Everyone", "squashUID": 1, "squashGID": 1})
            }),
            "InvalidParameter",
        ),
        (
            "a NID list that is not one",
            with(
                &|b| b["properties"]["rootSquashSettings"] = json!({"mode": "RootOnly", "squashUID": 1, "squashGID": 1, "noSquashNidLists": "10.0.0.[9-1]@tcp"}),
            ),
            "InvalidParameter",
        ),
    ];
    for (what, body, code) in cases {
        let r = c.put(&fs_id("bad"), AML_API, body).await;
        assert_eq!((r.status, r.code()), (400, code), "{what}: {:?}", r.body);
        assert_eq!(c.get(&fs_id("bad"), AML_API).await.status, 404, "{what}");
    }
    let list = c
        .get(
            &format!("/subscriptions/{SUB}/providers/Microsoft.StorageCache/amlFilesystems"),
            AML_API,
        )
        .await;
    assert_eq!(list.body["value"], json!([]));
}

#[tokio::test]
async fn the_subscription_quota_refuses_what_does_not_fit() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    // 996 TiB needs 1249 addresses: a /21.
    let big = amlfs_network(&c, "big", "10.226.0.0/21").await;
    let small = amlfs_network(&c, "small", "10.225.0.0/24").await;
    create_amlfs(
        &c,
        "big",
        amlfs_body(&big, "AMLFS-Durable-Premium-500", 996),
    )
    .await;
    let r = c
        .put(&fs_id("more"), AML_API, amlfs_body(&small, AML_SKU, 8))
        .await;
    assert_eq!((r.status, r.code()), (400, "QuotaExceeded"));
    assert_eq!(c.get(&fs_id("more"), AML_API).await.status, 404);
    let fits = c
        .put(
            &fs_id("fits"),
            AML_API,
            amlfs_body(&small, "AMLFS-Durable-Premium-500", 4),
        )
        .await;
    assert_eq!(fits.status, 201, "{:?}", fits.body);
}

#[tokio::test]
async fn a_subnet_shared_with_the_clusters_nodes_counts_them_and_holds_one_filesystem() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    register_provider(&c).await;
    let aks = subnet_id("aks-subnet");
    let fs = create_amlfs(&c, "fs1", amlfs_body(&aks, AML_SKU, 8)).await;
    // Three nodes with Azure CNI's 30 pods each hold the subnet's first 93 addresses.
    assert_eq!(fs["properties"]["clientInfo"]["mgsAddress"], "10.224.0.97");
    let second = c
        .put(&fs_id("fs2"), AML_API, amlfs_body(&aks, AML_SKU, 8))
        .await;
    assert_eq!((second.status, second.code()), (400, "InvalidParameter"));
    let s = c.get(&aks, NET_API).await;
    assert!(
        s.body["properties"]["ipConfigurations"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["id"]
                .as_str()
                .is_some_and(|id| id.contains("/amlFilesystems/fs1/")))),
        "{:?}",
        s.body
    );
}

#[tokio::test]
async fn helper_endpoints_size_and_check_subnets() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    let subnet = amlfs_network(&c, "amlfs", "10.225.0.0/24").await;
    let tiny = amlfs_network(&c, "tiny", "10.225.1.0/28").await;
    let size_url = format!(
        "/subscriptions/{SUB}/providers/Microsoft.StorageCache/getRequiredAmlFSSubnetsSize"
    );
    let check_url =
        format!("/subscriptions/{SUB}/providers/Microsoft.StorageCache/checkAmlFSSubnets");
    for (sku, tib, ips) in [
        ("AMLFS-Durable-Premium-125", 16, 24),
        ("AMLFS-Durable-Premium-40", 48, 64),
        ("AMLFS-Durable-Premium-500", 200, 254),
    ] {
        let r = c
            .post(
                &size_url,
                AML_API,
                Some(json!({"sku": {"name": sku}, "storageCapacityTiB": tib})),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["filesystemSubnetSize"], ips, "{sku} {tib}");
    }
    let bad = c
        .post(
            &size_url,
            AML_API,
            Some(json!({"sku": {"name": "Premium"}, "storageCapacityTiB": 16})),
        )
        .await;
    assert_eq!((bad.status, bad.code()), (400, "InvalidParameter"));
    let check = |s: &str, loc: &str| json!({"filesystemSubnet": s, "sku": {"name": AML_SKU}, "storageCapacityTiB": 16, "location": loc});
    let ok = c
        .post(&check_url, AML_API, Some(check(&subnet, "eastus")))
        .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let spec_op = spec::index()
        .by_operation_id("checkAmlFSSubnets", AML_API)
        .expect("spec");
    for (what, body) in [
        ("too small", check(&tiny, "eastus")),
        ("missing", check(&subnet_id("nope"), "eastus")),
        ("other region", check(&subnet, "westeurope")),
    ] {
        let r = c.post(&check_url, AML_API, Some(body)).await;
        assert_eq!(r.status, 400, "{what}: {:?}", r.body);
        assert_eq!(r.body["filesystemSubnet"]["status"], "Invalid", "{what}");
        assert!(r.body["filesystemSubnet"]["message"].is_string());
        assert_eq!(r.code(), "InvalidParameter");
        assert_eq!(
            spec::index().validate_response(spec_op, 400, &r.body),
            Ok(()),
            "{what}"
        );
    }
    create_amlfs(&c, "fs1", amlfs_body(&subnet, AML_SKU, 16)).await;
    let used = c
        .post(&check_url, AML_API, Some(check(&subnet, "eastus")))
        .await;
    assert_eq!(used.body["filesystemSubnet"]["status"], "Invalid");
}

#[tokio::test]
async fn lists_page_with_next_link() {
    let sb = start(0.0).await;
    let c = Client::new(&sb);
    register_provider(&c).await;
    for i in 0..21u32 {
        let prefix = format!("10.227.{}.{}/27", i / 8, (i % 8) * 32);
        let s = create_subnet(&c, &format!("fs{i}"), &prefix).await;
        assert_eq!(s.status, 201, "{:?}", s.body);
        c.finish(&s).await;
        let r = c
            .put(
                &fs_id(&format!("fs{i:02}")),
                AML_API,
                amlfs_body(
                    &subnet_id(&format!("fs{i}")),
                    "AMLFS-Durable-Premium-500",
                    4,
                ),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    for scope in [
        format!(
            "{}/providers/Microsoft.StorageCache/amlFilesystems",
            rg_id(RG)
        ),
        format!("/subscriptions/{SUB}/providers/Microsoft.StorageCache/amlFilesystems"),
    ] {
        let first = c.get(&scope, AML_API).await;
        assert_eq!(first.status, 200);
        let mut all = names(&first.body);
        assert_eq!(all.len(), 20);
        let next = first.body["nextLink"]
            .as_str()
            .expect("nextLink")
            .to_string();
        let second = c.call("GET", &next, None).await;
        assert_eq!(second.status, 200, "{:?}", second.body);
        assert!(second.body.get("nextLink").is_none());
        all.extend(names(&second.body));
        let want: Vec<String> = (0..21).map(|i| format!("fs{i:02}")).collect();
        assert_eq!(all, want);
    }
    let bad = c
        .get(
            &format!(
                "/subscriptions/{SUB}/providers/Microsoft.StorageCache/amlFilesystems?$skipToken=x"
            ),
            AML_API,
        )
        .await;
    assert_eq!(bad.status, 400);
}
