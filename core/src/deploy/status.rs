//! `status`: every resource in the state file, read live, with its provisioning state, the
//! cache's health, and drift from what the state file says.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::Result;
use crate::azure::{ArmClient, ResourceId, authorization, cache, dns, network, storage};
use crate::state::State;

use super::steps::keys;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    /// The resource's role in the deployment (`cache`, `subnet`, ...).
    pub role: String,
    pub name: String,
    pub id: String,
    pub created: bool,
    pub exists: bool,
    pub provisioning_state: Option<String>,
    /// The cache's health state.
    pub health: Option<String>,
    /// What differs from the state file, or between resources; empty when all agree.
    pub drift: Vec<String>,
}

fn api_version(id: &str) -> &'static str {
    let t = ResourceId::parse(id)
        .ok()
        .and_then(|r| r.resource_type())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if t.starts_with("microsoft.storagecache") {
        cache::API_VERSION
    } else if t.starts_with("microsoft.network/privatednszones") {
        dns::API_VERSION
    } else if t.starts_with("microsoft.network") {
        network::API_VERSION
    } else if t.starts_with("microsoft.storage") {
        storage::API_VERSION
    } else {
        authorization::API_VERSION
    }
}

pub async fn status(client: &ArmClient, state: &State) -> Result<Vec<ResourceStatus>> {
    let mut out = Vec::new();
    let mut live_cache_addresses: Option<BTreeSet<String>> = None;
    let mut live_records: Option<BTreeSet<String>> = None;
    for (role, r) in &state.resources {
        let body: Option<Value> = client.get_optional(&r.id, api_version(&r.id)).await?;
        let mut s = ResourceStatus {
            role: role.clone(),
            name: r.id.rsplit('/').next().unwrap_or_default().to_owned(),
            id: r.id.clone(),
            created: r.created,
            exists: body.is_some(),
            provisioning_state: None,
            health: None,
            drift: Vec::new(),
        };
        match &body {
            None => s
                .drift
                .push("missing: the state file records it, Azure does not have it".into()),
            Some(b) => {
                s.provisioning_state = crate::azure::lro::provisioning_state(b).map(str::to_owned);
                if role == keys::CACHE {
                    s.health = b
                        .pointer("/properties/health/state")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    let live = strings(b.pointer("/properties/mountAddresses"));
                    let recorded: BTreeSet<String> = state
                        .cache
                        .as_ref()
                        .map(|c| c.mount_addresses.iter().cloned().collect())
                        .unwrap_or_default();
                    if live != recorded {
                        s.drift
                            .push("mount addresses differ from the state file".into());
                    }
                    live_cache_addresses = Some(live);
                }
                if role == keys::AML_FILESYSTEM {
                    s.health = b
                        .pointer("/properties/health/state")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    s.drift.extend(lustre_drift(b, state));
                }
                if role == keys::DNS_RECORDS {
                    let live: BTreeSet<String> = b
                        .pointer("/properties/aRecords")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|r| r.get("ipv4Address").and_then(Value::as_str))
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default();
                    live_records = Some(live);
                }
            }
        }
        out.push(s);
    }
    if let (Some(cache), Some(records)) = (&live_cache_addresses, &live_records)
        && cache != records
        && let Some(s) = out.iter_mut().find(|s| s.role == keys::DNS_RECORDS)
    {
        s.drift.push(format!(
            "A records ({}) differ from the cache's mount addresses ({}); run `up` again",
            records.iter().cloned().collect::<Vec<_>>().join(", "),
            cache.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(out)
}

/// How a live Managed Lustre filesystem differs from what the state file records of it.
fn lustre_drift(b: &Value, state: &State) -> Vec<String> {
    let Some(l) = &state.lustre else {
        return vec!["the state file records no clientInfo yet; run `up` again".into()];
    };
    let text = |p: &str| b.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let mut out = Vec::new();
    let sku = text("/sku/name");
    if !sku.eq_ignore_ascii_case(&l.sku) {
        out.push(format!("SKU is {sku}; the state file records {}", l.sku));
    }
    let tib = b
        .pointer("/properties/storageCapacityTiB")
        .and_then(Value::as_f64)
        .map_or(0, |t| t.round() as u64);
    if tib != l.storage_capacity_tib {
        out.push(format!(
            "capacity is {tib} TiB; the state file records {} TiB",
            l.storage_capacity_tib
        ));
    }
    let mode = b
        .pointer("/properties/rootSquashSettings/mode")
        .and_then(Value::as_str)
        .unwrap_or("None");
    if !mode.eq_ignore_ascii_case(&l.root_squash_mode) {
        out.push(format!(
            "root squash is {mode}; the state file records {} (run `up` again to record it, or `amlfs update` to change it back)",
            l.root_squash_mode
        ));
    }
    let mgs = text("/properties/clientInfo/mgsAddress");
    if !mgs.is_empty() && mgs != l.mgs_address {
        out.push(format!(
            "MGS address is {mgs}; the state file (and volumes made from it) use {}",
            l.mgs_address
        ));
    }
    out
}

fn strings(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
