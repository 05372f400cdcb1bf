//! Virtual networks and subnets (Microsoft.Network, api-version 2024-07-01).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::client::{ArmClient, ArmRequest};
use super::ids::ResourceId;
use super::lro::{self, FinalState, Operation, OperationKind, Poller};
use super::transport::Method;
use crate::Result;

pub const API_VERSION: &str = "2024-07-01";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNetwork {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub properties: VirtualNetworkProperties,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNetworkProperties {
    #[serde(default)]
    pub address_space: AddressSpace,
    #[serde(default)]
    pub subnets: Vec<Subnet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressSpace {
    #[serde(default)]
    pub address_prefixes: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subnet {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub properties: SubnetProperties,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address_prefixes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Subnet {
    /// Every prefix of the subnet (`addressPrefix` and `addressPrefixes` both occur).
    pub fn prefixes(&self) -> Vec<String> {
        let mut p: Vec<String> = self.properties.address_prefix.iter().cloned().collect();
        p.extend(self.properties.address_prefixes.iter().cloned());
        p.dedup();
        p
    }
}

pub fn vnet_id(sub: &str, rg: &str, name: &str) -> ResourceId {
    ResourceId::resource(sub, rg, "Microsoft.Network", "virtualNetworks", name)
}

pub async fn get_vnet(client: &ArmClient, vnet: &ResourceId) -> Result<VirtualNetwork> {
    client.get_json(vnet.as_str(), API_VERSION).await
}

/// The vnets of a resource group, or of the whole subscription when `resource_group` is `None`.
pub async fn list_vnets(
    client: &ArmClient,
    subscription: &str,
    resource_group: Option<&str>,
) -> Result<Vec<VirtualNetwork>> {
    let scope = match resource_group {
        Some(rg) => ResourceId::resource_group(subscription, rg),
        None => ResourceId::subscription(subscription),
    };
    let path = format!("{scope}/providers/Microsoft.Network/virtualNetworks");
    client
        .list(ArmRequest::get(path).api_version(API_VERSION))
        .await
}

pub async fn get_subnet(client: &ArmClient, subnet: &ResourceId) -> Result<Option<Subnet>> {
    client.get_optional(subnet.as_str(), API_VERSION).await
}

pub async fn list_subnets(client: &ArmClient, vnet: &ResourceId) -> Result<Vec<Subnet>> {
    client
        .list(ArmRequest::get(format!("{vnet}/subnets")).api_version(API_VERSION))
        .await
}

/// The PUT body of a new subnet: its prefix, nothing else (no delegation: HPC Cache needs none).
pub fn subnet_body(prefix: &str) -> Value {
    json!({ "properties": { "addressPrefix": prefix } })
}

/// Starts creating (or updating) a subnet. Completion comes via `Azure-AsyncOperation`.
pub async fn begin_create_subnet(
    client: &ArmClient,
    subnet: &ResourceId,
    prefix: &str,
) -> Result<Poller> {
    let op = Operation::new(
        "subnet creation",
        subnet.as_str(),
        API_VERSION,
        OperationKind::CreateOrUpdate,
        FinalState::AzureAsyncOperation,
    );
    let req = lro::request_for(&op, Method::Put, Some(subnet_body(prefix)));
    lro::start(client, req, op).await
}

pub async fn begin_delete_subnet(client: &ArmClient, subnet: &ResourceId) -> Result<Poller> {
    let op = Operation::new(
        "subnet deletion",
        subnet.as_str(),
        API_VERSION,
        OperationKind::Delete,
        FinalState::Location,
    );
    let req = lro::request_for(&op, Method::Delete, None);
    lro::start(client, req, op).await
}

/// Creates (or updates) a subnet and waits for it, sending it again while another operation on
/// the vnet is in the way (see [`lro::is_vnet_contention`]).
pub async fn create_subnet(
    client: &ArmClient,
    subnet: &ResourceId,
    prefix: &str,
    policy: &lro::PollPolicy,
    progress: &crate::progress::Progress,
) -> Result<Option<serde_json::Value>> {
    lro::again(
        client,
        policy,
        progress,
        lro::is_vnet_contention,
        || async {
            begin_create_subnet(client, subnet, prefix)
                .await?
                .wait(client, policy)
                .await
        },
    )
    .await
}

/// Deletes a subnet and waits until it is gone; sent again while another operation on the vnet
/// is in the way, or while a deleted service's NICs still hold it (`release` bounds that wait).
pub async fn delete_subnet(
    client: &ArmClient,
    subnet: &ResourceId,
    policy: &lro::PollPolicy,
    release: &lro::PollPolicy,
    progress: &crate::progress::Progress,
) -> Result<()> {
    let retry = |e: &crate::Error| lro::is_vnet_contention(e) || lro::is_subnet_in_use(e);
    lro::delete_retrying(client, policy, release, progress, retry, || {
        begin_delete_subnet(client, subnet)
    })
    .await
}
