//! What a mount finds already in the cluster: the deployment's PVs and claims, listed once
//! (two requests however many namespaces) instead of read one by one.
//!
//! A cluster may hold thousands of the deployment's objects while a mount touches a few
//! hundred, so list items are kept as raw JSON, read only as far as their names, and
//! parsed in full only for the objects the mount applies.

use std::collections::BTreeMap;

use ::kube::api::ListParams;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::apply::Current;
use super::manifests;

/// Listed objects by (namespace, name). `None` when the list failed: then each object is
/// read before it is applied.
type Listed = Option<BTreeMap<(Option<String>, String), Box<RawValue>>>;

pub struct Existing {
    pvs: Listed,
    claims: Listed,
}

impl Existing {
    pub fn pv(&self, name: &str) -> Current<PersistentVolume> {
        current(&self.pvs, None, name)
    }

    pub fn claim(&self, namespace: &str, name: &str) -> Current<PersistentVolumeClaim> {
        current(&self.claims, Some(namespace), name)
    }
}

fn current<K: DeserializeOwned>(
    listed: &Listed,
    namespace: Option<&str>,
    name: &str,
) -> Current<K> {
    let Some(map) = listed else {
        return Current::Unknown;
    };
    match map.get(&(namespace.map(String::from), name.to_string())) {
        None => Current::Absent,
        // An item that does not parse as its kind is read again instead.
        Some(raw) => serde_json::from_str(raw.get()).map_or(Current::Unknown, Current::Present),
    }
}

/// What the deployment has in `namespaces` (by their label; the whole deployment when
/// there are too many names for one selector). A failed list only costs the GETs it would
/// have saved.
pub async fn list(client: &::kube::Client, deployment: &str, namespaces: &[String]) -> Existing {
    let selector = manifests::namespaces_selector(deployment, namespaces)
        .unwrap_or_else(|| manifests::selector(deployment));
    let lp = ListParams::default().labels(&selector);
    let (pvs, claims) = futures::join!(
        raw_list::<PersistentVolume>(client, &lp),
        raw_list::<PersistentVolumeClaim>(client, &lp)
    );
    Existing { pvs, claims }
}

#[derive(Deserialize)]
struct RawList {
    items: Vec<Box<RawValue>>,
}

/// Just the names of an item: serde skips everything else without building it.
#[derive(Deserialize)]
struct Names {
    metadata: NamesMeta,
}

#[derive(Deserialize)]
struct NamesMeta {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

async fn raw_list<K>(client: &::kube::Client, lp: &ListParams) -> Listed
where
    K: ::kube::Resource<DynamicType = ()>,
{
    let request = ::kube::core::Request::new(K::url_path(&(), None))
        .list(lp)
        .ok()?;
    let list: RawList = client.request(request).await.ok()?;
    let mut out = BTreeMap::new();
    for raw in list.items {
        let names: Names = serde_json::from_str(raw.get()).ok()?;
        out.insert((names.metadata.namespace, names.metadata.name), raw);
    }
    Some(out)
}
