//! What Azure checks before it starts an Azure Managed Lustre file system: SKU and capacity,
//! availability zones, maintenance window, subscription quota, the filesystem subnet (shared
//! with `checkAmlFSSubnets` and `getRequiredAmlFSSubnetsSize`), root squash and HSM settings.

use std::str::FromStr;

use ipnet::Ipv4Net;
use serde_json::Value;

use super::super::errors::ArmError;
use super::super::network;
use super::nid::NidList;
use crate::world::{World, key, types};

/// (SKU, minimum capacity and step in TiB, throughput in MB/s per TiB).
pub const SKUS: &[(&str, u64, u64)] = &[
    ("AMLFS-Durable-Premium-40", 48, 40),
    ("AMLFS-Durable-Premium-125", 16, 125),
    ("AMLFS-Durable-Premium-250", 8, 250),
    ("AMLFS-Durable-Premium-500", 4, 500),
];

/// Regions of [`super::super::REGIONS`] without availability zones (as in Azure): a file
/// system there has no `zones`; everywhere else it has exactly one.
pub const REGIONS_WITHOUT_ZONES: &[&str] = &["westus", "northcentralus"];

/// Total capacity of the file systems of one subscription (Azure's default quota is a
/// support request away from larger; the sandbox's is fixed).
pub const QUOTA_TIB_PER_SUBSCRIPTION: f64 = 1000.0;

/// Azure keeps 5 addresses of every subnet (network, gateway, two DNS, broadcast).
pub const AZURE_RESERVED_ADDRESSES: u64 = 5;

/// The SKU entry for a name (case-insensitive), or ARM's error.
pub fn sku(name: &str) -> Result<(&'static str, u64, u64), ArmError> {
    SKUS.iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(|| {
            ArmError::invalid_parameter(format!(
                "The SKU '{name}' is not an Azure Managed Lustre SKU. Valid SKUs: {}.",
                SKUS.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
            ))
        })
}

/// Checks `storageCapacityTiB` against the SKU: at least the minimum, a multiple of the step.
pub fn capacity(sku_name: &str, tib: Option<f64>) -> Result<f64, ArmError> {
    let (name, step, _) = sku(sku_name)?;
    let tib = tib.ok_or_else(|| {
        ArmError::invalid_parameter("Required property 'storageCapacityTiB' not found.")
    })?;
    let steps = tib / step as f64;
    if tib < step as f64 || steps.fract() != 0.0 {
        return Err(ArmError::invalid_parameter(format!(
            "The storage capacity {tib} TiB is not valid for SKU {name}: it must be at least {step} TiB and a multiple of {step} TiB (e.g. {step}, {}, {}).",
            2 * step,
            3 * step
        )));
    }
    Ok(tib)
}

/// `throughputProvisionedMBps`: capacity × the SKU's MB/s per TiB.
pub fn throughput_mbps(sku_name: &str, tib: f64) -> u64 {
    SKUS.iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(sku_name))
        .map_or(0, |(_, _, per)| (tib * *per as f64).round() as u64)
}

/// IP addresses a file system of `tib` TiB needs in its subnet: 4 for the management
/// service and metadata servers, and 5 for each started 4 TiB of storage (at least four
/// such slots, so never fewer than 24). It answers the spec's example (16 TiB → 24) and
/// fits Azure's sizing table (4–16 TiB in a /27, 20–40 in a /26, 48–92 in a /25, 96–196 in
/// a /24, 200–400 in a /23; the table puts 44 TiB in a /25, this formula in a /26).
pub fn required_ips(tib: f64) -> u64 {
    4 + 5 * ((tib / 4.0).ceil() as u64).max(4)
}

/// The smallest subnet prefix length holding `ips` usable addresses.
pub fn smallest_prefix(ips: u64) -> u8 {
    (0..=29u8)
        .rev()
        .find(|p| (1u64 << (32 - p)).saturating_sub(AZURE_RESERVED_ADDRESSES) >= ips)
        .unwrap_or(0)
}

/// `zones`: exactly one of "1", "2", "3" in a region with zones, none elsewhere.
pub fn zones(location: &str, zones: &Value) -> Result<(), ArmError> {
    let list: Vec<&str> = zones
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if REGIONS_WITHOUT_ZONES.contains(&location) {
        if !list.is_empty() {
            return Err(ArmError::invalid_parameter(format!(
                "The region '{location}' has no availability zones; remove 'zones' from the request."
            )));
        }
        return Ok(());
    }
    match list.as_slice() {
        [z] if ["1", "2", "3"].contains(z) => Ok(()),
        [z] => Err(ArmError::invalid_parameter(format!(
            "The availability zone '{z}' does not exist in region '{location}'; use '1', '2' or '3'."
        ))),
        _ => Err(ArmError::invalid_parameter(format!(
            "'zones' must hold exactly one availability zone ('1', '2' or '3') in region '{location}'; it holds {}.",
            list.len()
        ))),
    }
}

/// `maintenanceWindow`: both the day and the time (the spec's pattern checks the format).
pub fn maintenance_window(w: &Value) -> Result<(), ArmError> {
    for k in ["dayOfWeek", "timeOfDayUTC"] {
        if !w[k].is_string() {
            return Err(ArmError::invalid_parameter(format!(
                "Required property 'maintenanceWindow.{k}' not found: the maintenance window needs a day of the week and a time of day in UTC (HH:MM)."
            )));
        }
    }
    Ok(())
}

/// Capacity of the subscription's file systems other than `except`, in TiB.
pub fn used_tib(world: &World, subscription: &str, except: &str) -> f64 {
    world
        .under(
            &format!("/subscriptions/{subscription}"),
            types::AML_FILESYSTEM,
        )
        .filter(|r| key(&r.id) != key(except))
        .filter_map(|r| r.body["properties"]["storageCapacityTiB"].as_f64())
        .sum()
}

/// The subscription quota: `QuotaExceeded` when the new file system does not fit.
pub fn quota(world: &World, subscription: &str, id: &str, tib: f64) -> Result<(), ArmError> {
    let used = used_tib(world, subscription, id);
    if used + tib > QUOTA_TIB_PER_SUBSCRIPTION {
        return Err(ArmError::bad_request(
            "QuotaExceeded",
            format!(
                "Operation could not be completed as it results in exceeding approved Azure Managed Lustre storage quota. Subscription: '{subscription}', current usage: {used} TiB, additional required: {tib} TiB, current limit: {QUOTA_TIB_PER_SUBSCRIPTION} TiB. Delete unused file systems or request a quota increase."
            ),
        ));
    }
    Ok(())
}

/// What a subnet offers a file system.
#[derive(Debug, Clone)]
pub struct SubnetFit {
    pub id: String,
    pub prefix: Ipv4Net,
    /// Addresses already taken by a cluster's nodes (and pods, with Azure CNI) sharing it.
    pub taken: u64,
}

/// Addresses a managed cluster takes in `subnet_id` when its nodes are there.
fn cluster_addresses(world: &World, subnet_id: &str) -> u64 {
    world
        .of_type(types::MANAGED_CLUSTER)
        .filter(|c| {
            let pool = &c.body["properties"]["agentPoolProfiles"][0];
            let nodes_subnet = pool["vnetSubnetID"]
                .as_str()
                .map(str::to_string)
                .or_else(|| {
                    world
                        .cluster(&c.id)
                        .map(|rec| format!("{}/subnets/aks-subnet", rec.vnet_id))
                });
            nodes_subnet.is_some_and(|s| key(&s) == key(subnet_id))
        })
        .map(|c| {
            let pool = &c.body["properties"]["agentPoolProfiles"][0];
            let nodes = pool["count"].as_u64().unwrap_or(0);
            let overlay = c.body["properties"]["networkProfile"]["networkPluginMode"] == "overlay";
            // Azure CNI without overlay gives every pod an address of the node subnet.
            let per_node = if overlay {
                1
            } else {
                1 + pool["maxPods"].as_u64().unwrap_or(30)
            };
            nodes * per_node
        })
        .sum()
}

/// The subnet checks of a create and of `checkAmlFSSubnets`; the error is the message.
/// `except` is the file system being updated (its own subnet is not "in use").
pub fn subnet(
    world: &World,
    subnet_id: &str,
    location: &str,
    tib: f64,
    except: &str,
) -> Result<SubnetFit, String> {
    let subnet = world
        .get(subnet_id)
        .filter(|s| s.rtype.eq_ignore_ascii_case(types::SUBNET))
        .ok_or_else(|| format!("The subnet '{subnet_id}' was not found."))?;
    let vnet_id = subnet.id.rsplitn(3, '/').nth(2).unwrap_or_default();
    let vnet_location = world
        .get(vnet_id)
        .and_then(|v| v.body["location"].as_str().map(str::to_string))
        .unwrap_or_default();
    if !vnet_location.eq_ignore_ascii_case(location) {
        return Err(format!(
            "The subnet's virtual network is in '{vnet_location}' but the file system is in '{location}'; the file system and its subnet must be in the same region."
        ));
    }
    if let Some(user) = network::caches_in_subnet(world, &subnet.id)
        .into_iter()
        .chain(network::filesystems_in_subnet(world, &subnet.id))
        .find(|u| key(u) != key(except))
    {
        return Err(format!(
            "The subnet '{}' is in use by '{user}'. An Azure Managed Lustre file system cannot share its subnet with another file system or an HPC cache.",
            subnet.id
        ));
    }
    let text = subnet.body["properties"]["addressPrefix"]
        .as_str()
        .unwrap_or_default();
    let prefix = Ipv4Net::from_str(text)
        .map_err(|_| format!("The subnet '{}' has no IPv4 address prefix.", subnet.id))?;
    let taken = cluster_addresses(world, &subnet.id);
    let usable = (1u64 << (32 - prefix.prefix_len())).saturating_sub(AZURE_RESERVED_ADDRESSES);
    let available = usable.saturating_sub(taken);
    let needed = required_ips(tib);
    if available < needed {
        let shared = if taken > 0 {
            format!(" ({taken} are used by the cluster's nodes and pods sharing it)")
        } else {
            String::new()
        };
        return Err(format!(
            "The subnet '{}' ({text}) has {available} available IP addresses{shared}; a file system of {tib} TiB needs {needed}. A subnet with a minimum size of /{} is required.",
            subnet.id,
            smallest_prefix(needed + taken)
        ));
    }
    Ok(SubnetFit {
        id: subnet.id.clone(),
        prefix,
        taken,
    })
}

/// `rootSquashSettings`: a known mode, squash ids when squashing, a valid NID list.
pub fn root_squash(s: &Value) -> Result<(), ArmError> {
    if s.is_null() {
        return Ok(());
    }
    let mode = s["mode"].as_str().unwrap_or("None");
    if !["None", "RootOnly", "All"].contains(&mode) {
        return Err(ArmError::invalid_parameter(format!(
            "The root squash mode '{mode}' is not valid; use None, RootOnly or All."
        )));
    }
    if mode != "None" {
        for k in ["squashUID", "squashGID"] {
            if !s[k].is_u64() {
                return Err(ArmError::invalid_parameter(format!(
                    "rootSquashSettings.{k} is required when the mode is '{mode}' (the id root is squashed to, e.g. 65534)."
                )));
            }
        }
    }
    if let Some(list) = s["noSquashNidLists"].as_str() {
        NidList::parse(list).map_err(|why| {
            ArmError::invalid_parameter(format!(
                "rootSquashSettings.noSquashNidLists is not a valid Lustre NID list: {why}."
            ))
        })?;
    }
    Ok(())
}

/// The storage account id of a blob container id.
pub fn account_of(container_id: &str) -> String {
    container_id
        .split("/blobServices/")
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `hsm.settings`: two different, existing containers of one storage account, and
/// import prefixes that are paths.
pub fn hsm(world: &World, settings: &Value) -> Result<(), ArmError> {
    if settings.is_null() {
        return Ok(());
    }
    let mut ids = Vec::new();
    for k in ["container", "loggingContainer"] {
        let id = settings[k].as_str().unwrap_or_default();
        let found = world
            .get(id)
            .filter(|c| c.rtype.eq_ignore_ascii_case(types::CONTAINER));
        if found.is_none() {
            return Err(ArmError::invalid_parameter(format!(
                "hsm.settings.{k}: the blob container '{id}' was not found. Create it (and give the HPC Cache resource provider its storage roles) before the file system."
            )));
        }
        ids.push(id);
    }
    if key(ids[0]) == key(ids[1]) {
        return Err(ArmError::invalid_parameter(
            "hsm.settings.container and hsm.settings.loggingContainer must be different containers; the logging container holds import and archive logs.",
        ));
    }
    if key(&account_of(ids[0])) != key(&account_of(ids[1])) {
        return Err(ArmError::invalid_parameter(
            "hsm.settings.loggingContainer must be in the same storage account as hsm.settings.container.",
        ));
    }
    let prefixes = settings["importPrefixesInitial"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(settings.get("importPrefix"));
    for p in prefixes {
        if !p.as_str().is_some_and(|p| p.starts_with('/')) {
            return Err(ArmError::invalid_parameter(format!(
                "The import prefix {p} must be a path starting with '/'."
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_size_formula_answers_the_spec_example_and_the_sizing_table() {
        assert_eq!(required_ips(16.0), 24);
        for (tib, prefix) in [
            (4.0, 27),
            (16.0, 27),
            (20.0, 26),
            (40.0, 26),
            (48.0, 25),
            (92.0, 25),
            (96.0, 24),
            (196.0, 24),
            (200.0, 23),
            (400.0, 23),
        ] {
            assert_eq!(smallest_prefix(required_ips(tib)), prefix, "{tib} TiB");
        }
    }

    #[test]
    fn capacity_must_be_a_multiple_of_the_sku_step() {
        assert!(capacity("AMLFS-Durable-Premium-40", Some(48.0)).is_ok());
        assert!(capacity("AMLFS-Durable-Premium-40", Some(40.0)).is_err());
        assert!(capacity("AMLFS-Durable-Premium-125", Some(24.0)).is_err());
        assert!(capacity("amlfs-durable-premium-500", Some(1204.0)).is_ok());
        assert!(capacity("AMLFS-Durable-Premium-250", Some(12.5)).is_err());
        assert_eq!(throughput_mbps("AMLFS-Durable-Premium-250", 16.0), 4000);
    }
}
