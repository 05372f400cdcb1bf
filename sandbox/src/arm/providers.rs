//! Resource provider registration (`Microsoft.Resources` providers API):
//! `NotRegistered` → `Registering` → `Registered` about a minute after `register`.

use serde_json::{Value, json};

use super::errors::ArmError;
use super::{Ctx, Reply, Req, list_body};
use crate::world::ProviderState;

/// Seconds Azure takes to register a provider.
const REGISTRATION_SECONDS: f64 = 60.0;

fn resource_types(namespace: &str) -> Value {
    let types: &[&str] = match namespace.to_ascii_lowercase().as_str() {
        "microsoft.storagecache" => &[
            "caches",
            "caches/storageTargets",
            "amlFilesystems",
            "amlFilesystems/importJobs",
            "checkAmlFSSubnets",
            "getRequiredAmlFSSubnetsSize",
            "locations/ascOperations",
            "skus",
            "usageModels",
        ],
        "microsoft.network" => &[
            "virtualNetworks",
            "virtualNetworks/subnets",
            "virtualNetworks/virtualNetworkPeerings",
            "privateDnsZones",
            "privateDnsZones/virtualNetworkLinks",
        ],
        "microsoft.storage" => &["storageAccounts", "storageAccounts/blobServices"],
        "microsoft.containerservice" => &["managedClusters"],
        _ => &[],
    };
    Value::Array(
        types
            .iter()
            .map(|t| json!({"resourceType": t, "locations": ["East US", "West US 2", "West Europe"], "apiVersions": []}))
            .collect(),
    )
}

fn provider_json(sub: &str, p: &ProviderState) -> Value {
    json!({
        "id": format!("/subscriptions/{sub}/providers/{}", p.namespace),
        "namespace": p.namespace,
        "registrationState": p.state,
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": resource_types(&p.namespace),
    })
}

fn lookup(ctx: &Ctx<'_>, ns: &str) -> Result<ProviderState, ArmError> {
    ctx.world
        .providers
        .get(&ns.to_ascii_lowercase())
        .cloned()
        .ok_or_else(|| {
            ArmError::not_found(
                "InvalidResourceNamespace",
                format!("The resource namespace '{ns}' is invalid."),
            )
        })
}

pub fn list(ctx: &mut Ctx<'_>, req: &Req) -> Result<Reply, ArmError> {
    let items = ctx
        .world
        .providers
        .values()
        .map(|p| provider_json(&req.segs[1], p))
        .collect();
    Ok(Reply::json(200, list_body(items)))
}

pub fn get(ctx: &mut Ctx<'_>, req: &Req) -> Result<Reply, ArmError> {
    let p = lookup(ctx, &req.segs[3])?;
    Ok(Reply::json(200, provider_json(&req.segs[1], &p)))
}

pub fn register(ctx: &mut Ctx<'_>, req: &Req) -> Result<Reply, ArmError> {
    let mut p = lookup(ctx, &req.segs[3])?;
    if p.state == "NotRegistered" || p.state == "Unregistered" {
        p.state = "Registering".into();
        p.registered_at_ms = Some(ctx.now + ctx.scaled(REGISTRATION_SECONDS));
        if ctx.scaled(REGISTRATION_SECONDS) == 0 {
            p.state = "Registered".into();
        }
        ctx.world
            .providers
            .insert(p.namespace.to_ascii_lowercase(), p.clone());
    }
    Ok(Reply::json(200, provider_json(&req.segs[1], &p)))
}

/// Whether the subscription may use `namespace` (`MissingSubscriptionRegistration` otherwise).
pub fn require_registered(ctx: &Ctx<'_>, namespace: &str) -> Result<(), ArmError> {
    let registered = ctx
        .world
        .providers
        .get(&namespace.to_ascii_lowercase())
        .is_some_and(|p| p.state == "Registered");
    if registered {
        Ok(())
    } else {
        Err(ArmError::conflict(
            "MissingSubscriptionRegistration",
            format!(
                "The subscription is not registered to use namespace '{namespace}'. \
                 See https://aka.ms/rps-not-found for how to register subscriptions."
            ),
        ))
    }
}
