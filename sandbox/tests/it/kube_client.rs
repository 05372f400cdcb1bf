//! kube-rs against the emulated API server: typed get/list/create, server-side apply
//! with a field manager, and a watch stream.

use crate::kube_support;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, PersistentVolume};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube_support::*;
use serde_json::{Value, json};

#[tokio::test]
async fn typed_get_list_create_and_apply() {
    let c = start().await;
    let client = c.client().await;
    let nodes: Api<Node> = Api::all(client.clone());
    let list = nodes.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 3);
    let labels = list.items[0].metadata.labels.clone().unwrap();
    assert_eq!(labels["kubernetes.azure.com/agentpool"], "nodepool1");
    let ns: Api<Namespace> = Api::all(client.clone());
    for n in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert_eq!(
            ns.get(n).await.unwrap().status.unwrap().phase.as_deref(),
            Some("Active")
        );
    }

    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pv: Value = serde_saphyr::from_str(PV_NFS).unwrap();
    let pp = PatchParams::apply("hpccache").force();
    let first = pvs.patch("pv-nfs", &pp, &Patch::Apply(&pv)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let settled = pvs.get("pv-nfs").await.unwrap();
    let again = pvs.patch("pv-nfs", &pp, &Patch::Apply(&pv)).await.unwrap();
    assert_eq!(
        again.metadata.resource_version, settled.metadata.resource_version,
        "re-apply is a no-op"
    );
    assert_eq!(first.metadata.uid, again.metadata.uid);
    let mf = again.metadata.managed_fields.unwrap();
    assert_eq!(mf[0].manager.as_deref(), Some("hpccache"));

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "c"}, "data": {"a": "1"}})).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let err = cms.create(&PostParams::default(), &cm).await.unwrap_err();
    match err {
        kube::Error::Api(s) => assert_eq!((s.code, s.reason.as_str()), (409, "AlreadyExists")),
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test]
async fn watch_streams_added_and_modified() {
    let c = start().await;
    let client = c.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let list = cms.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    let mut stream = cms
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .unwrap()
        .boxed();
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "w"}})).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    cms.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await
    .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match stream.try_next().await.unwrap() {
            Some(WatchEvent::Added(o)) => seen.push(("ADDED", o.metadata.name.unwrap())),
            Some(WatchEvent::Modified(o)) => seen.push(("MODIFIED", o.metadata.name.unwrap())),
            Some(WatchEvent::Bookmark(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        seen,
        [("ADDED", "w".to_string()), ("MODIFIED", "w".to_string())]
    );
}
