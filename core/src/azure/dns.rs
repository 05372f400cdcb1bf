//! Private DNS: zone, vnet link and A record sets (Microsoft.Network/privateDnsZones,
//! api-version 2024-06-01). Zones and links are global resources; their writes are long-running
//! and complete via `Location`; record sets are written synchronously.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::client::{ArmClient, ArmRequest};
use super::ids::ResourceId;
use super::lro::{self, FinalState, Operation, OperationKind, Poller};
use super::transport::Method;
use crate::Result;

pub const API_VERSION: &str = "2024-06-01";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateZone {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub properties: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNetworkLink {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub properties: LinkProperties,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_network: Option<SubResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_enabled: Option<bool>,
    /// `InProgress` or `Completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_network_link_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SubResource {
    pub id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordSet {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub properties: RecordSetProperties,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordSetProperties {
    /// A record set's tags: record sets have no `tags`, only this.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub a_records: Vec<ARecord>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ARecord {
    pub ipv4_address: String,
}

impl RecordSet {
    pub fn addresses(&self) -> Vec<&str> {
        self.properties
            .a_records
            .iter()
            .map(|r| r.ipv4_address.as_str())
            .collect()
    }
}

pub fn zone_id(sub: &str, rg: &str, zone: &str) -> ResourceId {
    ResourceId::resource(sub, rg, "Microsoft.Network", "privateDnsZones", zone)
}

pub fn link_id(zone: &ResourceId, name: &str) -> ResourceId {
    zone.child("virtualNetworkLinks", name)
}

pub fn a_record_set_id(zone: &ResourceId, name: &str) -> ResourceId {
    zone.child("A", name)
}

pub fn zone_body(tags: &BTreeMap<String, String>) -> Value {
    json!({ "location": "global", "tags": tags })
}

pub async fn begin_put_zone(
    client: &ArmClient,
    zone: &ResourceId,
    tags: &BTreeMap<String, String>,
) -> Result<Poller> {
    let op = Operation::new(
        "DNS zone creation",
        zone.as_str(),
        API_VERSION,
        OperationKind::CreateOrUpdate,
        FinalState::Location,
    );
    lro::start(
        client,
        lro::request_for(&op, Method::Put, Some(zone_body(tags))),
        op,
    )
    .await
}

pub async fn get_zone(client: &ArmClient, zone: &ResourceId) -> Result<Option<PrivateZone>> {
    client.get_optional(zone.as_str(), API_VERSION).await
}

/// Deleting a zone fails while it has vnet links: delete those first.
pub async fn begin_delete_zone(client: &ArmClient, zone: &ResourceId) -> Result<Poller> {
    let op = Operation::new(
        "DNS zone deletion",
        zone.as_str(),
        API_VERSION,
        OperationKind::Delete,
        FinalState::Location,
    );
    lro::start(client, lro::request_for(&op, Method::Delete, None), op).await
}

/// Auto-registration stays off unless asked: a vnet allows only one registration link.
pub fn link_body(
    vnet_id: &str,
    registration_enabled: bool,
    tags: &BTreeMap<String, String>,
) -> Value {
    json!({
        "location": "global",
        "tags": tags,
        "properties": {
            "virtualNetwork": { "id": vnet_id },
            "registrationEnabled": registration_enabled
        }
    })
}

pub async fn begin_put_link(
    client: &ArmClient,
    link: &ResourceId,
    vnet_id: &str,
    registration_enabled: bool,
    tags: &BTreeMap<String, String>,
) -> Result<Poller> {
    let op = Operation::new(
        "vnet link creation",
        link.as_str(),
        API_VERSION,
        OperationKind::CreateOrUpdate,
        FinalState::Location,
    );
    let body = link_body(vnet_id, registration_enabled, tags);
    lro::start(client, lro::request_for(&op, Method::Put, Some(body)), op).await
}

pub async fn get_link(client: &ArmClient, link: &ResourceId) -> Result<Option<VirtualNetworkLink>> {
    client.get_optional(link.as_str(), API_VERSION).await
}

/// The zone's vnet links.
pub async fn list_links(client: &ArmClient, zone: &ResourceId) -> Result<Vec<VirtualNetworkLink>> {
    client
        .list(ArmRequest::get(format!("{zone}/virtualNetworkLinks")).api_version(API_VERSION))
        .await
}

pub async fn begin_delete_link(client: &ArmClient, link: &ResourceId) -> Result<Poller> {
    let op = Operation::new(
        "vnet link deletion",
        link.as_str(),
        API_VERSION,
        OperationKind::Delete,
        FinalState::Location,
    );
    lro::start(client, lro::request_for(&op, Method::Delete, None), op).await
}

pub fn a_record_set_body(
    addresses: &[String],
    ttl: u64,
    metadata: &BTreeMap<String, String>,
) -> Value {
    let mut body = json!({
        "properties": {
            "ttl": ttl,
            "aRecords": addresses.iter().map(|a| json!({ "ipv4Address": a })).collect::<Vec<_>>()
        }
    });
    if !metadata.is_empty() {
        body["properties"]["metadata"] = json!(metadata);
    }
    body
}

/// Writes the A record set with exactly `addresses` (every mount address of the cache), and
/// `metadata` (what a record set has for tags).
pub async fn put_a_record_set(
    client: &ArmClient,
    zone: &ResourceId,
    name: &str,
    addresses: &[String],
    ttl: u64,
    metadata: &BTreeMap<String, String>,
) -> Result<RecordSet> {
    let id = a_record_set_id(zone, name);
    let body = a_record_set_body(addresses, ttl, metadata);
    client
        .request(Method::Put, id.as_str(), API_VERSION, Some(&body))
        .await?
        .json()
}

pub async fn get_a_record_set(
    client: &ArmClient,
    zone: &ResourceId,
    name: &str,
) -> Result<Option<RecordSet>> {
    client
        .get_optional(a_record_set_id(zone, name).as_str(), API_VERSION)
        .await
}

/// Every record set of the zone but its SOA (which goes with the zone), as ids.
pub async fn list_record_sets(client: &ArmClient, zone: &ResourceId) -> Result<Vec<RecordSet>> {
    let all: Vec<RecordSet> = client
        .list(ArmRequest::get(format!("{zone}/ALL")).api_version(API_VERSION))
        .await?;
    Ok(all
        .into_iter()
        .filter(|r| {
            !r.extra
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.to_ascii_lowercase().ends_with("/soa"))
        })
        .collect())
}

pub async fn delete_a_record_set(client: &ArmClient, zone: &ResourceId, name: &str) -> Result<()> {
    match client
        .request(
            Method::Delete,
            a_record_set_id(zone, name).as_str(),
            API_VERSION,
            None,
        )
        .await
    {
        Err(e) if !e.is_not_found() => Err(e),
        _ => Ok(()),
    }
}

/// Creates or updates a vnet link and waits until it works: its operation done (sent again
/// while another operation on the vnet is in the way) and `virtualNetworkLinkState`
/// `Completed`, which comes after `provisioningState` Succeeded; names do not resolve
/// through the link before.
pub async fn converge_link(
    client: &ArmClient,
    link: &ResourceId,
    vnet_id: &str,
    registration: bool,
    tags: &BTreeMap<String, String>,
    policy: &lro::PollPolicy,
    progress: &crate::progress::Progress,
) -> Result<VirtualNetworkLink> {
    lro::again(
        client,
        policy,
        progress,
        lro::is_vnet_contention,
        || async {
            begin_put_link(client, link, vnet_id, registration, tags)
                .await?
                .wait(client, policy)
                .await
        },
    )
    .await?;
    wait_link_completed(client, link, policy).await
}

/// Polls a vnet link until its `virtualNetworkLinkState` is `Completed` (absent counts as
/// completed: older api-versions do not report it).
pub async fn wait_link_completed(
    client: &ArmClient,
    link: &ResourceId,
    policy: &lro::PollPolicy,
) -> Result<VirtualNetworkLink> {
    let started = std::time::Instant::now();
    let mut pace = lro::Pace::new(client, policy);
    loop {
        let found = get_link(client, link)
            .await?
            .ok_or_else(|| crate::Error::Lookup {
                what: format!("vnet link {}", link.as_str()),
                reason: "it vanished right after it was written".to_owned(),
            })?;
        let state = found.properties.virtual_network_link_state.as_deref();
        if state.is_none_or(|s| s.eq_ignore_ascii_case("Completed")) {
            return Ok(found);
        }
        let wait = pace.next(client, None);
        if started.elapsed().saturating_add(wait) > policy.timeout {
            return Err(crate::Error::Timeout {
                operation: "linking".to_owned(),
                resource: link.as_str().to_owned(),
                after: policy.timeout,
                hint: format!(
                    "its virtualNetworkLinkState is still {}; run the command again later",
                    state.unwrap_or_default()
                ),
            });
        }
        tokio::time::sleep(wait).await;
    }
}

/// Deletes a vnet link and waits until it is gone, sent again while another operation on the
/// vnet is in the way.
pub async fn delete_link(
    client: &ArmClient,
    link: &ResourceId,
    policy: &lro::PollPolicy,
    progress: &crate::progress::Progress,
) -> Result<()> {
    lro::delete_retrying(
        client,
        policy,
        policy,
        progress,
        lro::is_vnet_contention,
        || begin_delete_link(client, link),
    )
    .await
}
