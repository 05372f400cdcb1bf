//! Emulated Azure Resource Manager (and the Microsoft Graph lookup the tools need).
//!
//! One HTTP server ([`server`]) answers ARM and Graph on loopback; the world it serves is
//! [`crate::world::World`]. Requests are routed here by path (case-insensitive, as in ARM)
//! to one module per resource provider; long-running operations live in [`lro`].

pub mod amlfs;
pub mod authorization;
pub mod caches;
pub mod clock;
pub mod clusters;
pub mod dns;
pub mod errors;
pub mod faults;
pub mod graph;
pub mod log;
pub mod lro;
pub mod lustre;
pub mod network;
pub mod nfs;
pub mod peerings;
pub mod providers;
pub mod resources;
pub mod server;
pub mod spec;
pub mod storage;
pub mod storage_targets;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::world::{Resource, World, types};
use errors::ArmError;
use faults::Faults;

/// One parsed request.
#[derive(Debug, Clone)]
pub struct Req {
    /// Upper-case method.
    pub method: String,
    /// Decoded path, original case.
    pub path: String,
    /// Path segments, original case.
    pub segs: Vec<String>,
    /// Path segments, lower case (for matching).
    pub lsegs: Vec<String>,
    pub query: Vec<(String, String)>,
    pub api_version: String,
    pub body: Option<Value>,
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
}

impl Req {
    /// A query parameter by case-insensitive name.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body, or ARM's error for a missing one.
    pub fn json_body(&self) -> Result<&Value, ArmError> {
        match &self.body {
            Some(v) if v.is_object() => Ok(v),
            Some(_) => Err(ArmError::bad_request(
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: the body must be a JSON object.",
            )),
            None => Err(ArmError::bad_request(
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: the request body is empty.",
            )),
        }
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Some(body),
        }
    }

    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn headers(mut self, headers: Vec<(String, String)>) -> Self {
        self.headers.extend(headers);
        self
    }
}

/// Everything a handler may use: the world (locked), the time and the settings.
pub struct Ctx<'a> {
    pub world: &'a mut World,
    pub now: u64,
    /// `http://127.0.0.1:<port>`, for the URLs in headers.
    pub base: &'a str,
    pub time_scale: f64,
    pub faults: &'a Faults,
    /// Kubernetes API URLs of the running clusters, by lower-case managed-cluster id.
    pub kube_urls: &'a BTreeMap<String, String>,
    pub kube_token: &'a str,
}

impl Ctx<'_> {
    pub fn scaled(&self, real_seconds: f64) -> u64 {
        clock::scaled_ms(real_seconds, self.time_scale)
    }

    pub fn retry_after(&self, real_seconds: f64) -> String {
        clock::retry_after_secs(real_seconds, self.time_scale).to_string()
    }
}

/// Routes one request (the world already settled to `ctx.now`).
pub fn route(ctx: &mut Ctx<'_>, req: &Req) -> Result<Reply, ArmError> {
    let l: Vec<&str> = req.lsegs.iter().map(String::as_str).collect();
    if let Some(reply) = lro::route(ctx, req)? {
        return Ok(reply);
    }
    if authorization::matches(&l) {
        check_subscription(ctx.world, req)?;
        return authorization::handle(ctx, req);
    }
    match l.as_slice() {
        ["subscriptions"] if req.method == "GET" => Ok(resources::list_subscriptions(ctx)),
        ["subscriptions", ..] => {
            check_subscription(ctx.world, req)?;
            route_subscription(ctx, req, &l)
        }
        _ => Err(not_routable(req)),
    }
}

fn check_subscription(world: &World, req: &Req) -> Result<(), ArmError> {
    if req.lsegs.first().map(String::as_str) != Some("subscriptions") {
        return Ok(());
    }
    let sub = req.segs.get(1).map(String::as_str).unwrap_or_default();
    if world.has_subscription(sub) {
        Ok(())
    } else {
        Err(ArmError::not_found(
            "SubscriptionNotFound",
            format!("The subscription '{sub}' could not be found."),
        ))
    }
}

fn route_subscription(ctx: &mut Ctx<'_>, req: &Req, l: &[&str]) -> Result<Reply, ArmError> {
    let m = req.method.as_str();
    match l {
        [_, _] if m == "GET" => resources::get_subscription(ctx, req),
        [_, _, "resourcegroups"] if m == "GET" => resources::list_groups(ctx, req),
        [_, _, "resourcegroups", _] => resources::group(ctx, req),
        [_, _, "providers"] if m == "GET" => providers::list(ctx, req),
        [_, _, "providers", _] if m == "GET" => providers::get(ctx, req),
        [_, _, "providers", _, "register"] if m == "POST" => providers::register(ctx, req),
        [
            _,
            _,
            "providers",
            "microsoft.storage",
            "checknameavailability",
        ] if m == "POST" => storage::check_name(ctx, req),
        [_, _, "providers", "microsoft.storage", "storageaccounts"] if m == "GET" => {
            storage::list_accounts(ctx, req, None)
        }
        [_, _, "providers", "microsoft.storagecache", "skus"] if m == "GET" => {
            caches::skus(ctx, req)
        }
        [_, _, "providers", "microsoft.storagecache", "usagemodels"] if m == "GET" => {
            caches::usage_models(ctx, req)
        }
        [_, _, "providers", "microsoft.storagecache", "caches"] if m == "GET" => {
            caches::list(ctx, req, None)
        }
        [
            _,
            _,
            "providers",
            "microsoft.storagecache",
            "amlfilesystems",
        ] if m == "GET" => amlfs::list(ctx, req, None),
        [
            _,
            _,
            "providers",
            "microsoft.storagecache",
            "checkamlfssubnets",
        ] if m == "POST" => amlfs::subnets::check(ctx, req),
        [
            _,
            _,
            "providers",
            "microsoft.storagecache",
            "getrequiredamlfssubnetssize",
        ] if m == "POST" => amlfs::subnets::required_size(ctx, req),
        [_, _, "providers", "microsoft.network", "virtualnetworks"] if m == "GET" => {
            network::list_vnets(ctx, req, None)
        }
        [_, _, "providers", "microsoft.network", "privatednszones"] if m == "GET" => {
            dns::list_zones(ctx, req, None)
        }
        [
            _,
            _,
            "providers",
            "microsoft.containerservice",
            "managedclusters",
        ] if m == "GET" => clusters::list(ctx, req, None),
        [_, _, "resourcegroups", _, "providers", ns, rest @ ..] if !rest.is_empty() => {
            let rg = req.segs[3].clone();
            let group = ctx
                .world
                .resource_group(&req.segs[1], &rg)
                .map(|r| r.body["name"].as_str().unwrap_or(&rg).to_string())
                .ok_or_else(|| ArmError::resource_group_not_found(&rg))?;
            match (*ns, rest) {
                ("microsoft.containerservice", ["managedclusters", ..]) => {
                    clusters::handle(ctx, req, &group)
                }
                ("microsoft.network", ["virtualnetworks", ..]) => network::handle(ctx, req, &group),
                ("microsoft.network", ["privatednszones", ..]) => dns::handle(ctx, req, &group),
                ("microsoft.storage", ["storageaccounts", ..]) => storage::handle(ctx, req, &group),
                ("microsoft.storagecache", ["caches", _, "storagetargets", ..]) => {
                    storage_targets::handle(ctx, req, &group)
                }
                ("microsoft.storagecache", ["caches", ..]) => caches::handle(ctx, req, &group),
                ("microsoft.storagecache", ["amlfilesystems", ..]) => {
                    amlfs::handle(ctx, req, &group)
                }
                _ => Err(not_routable(req)),
            }
        }
        _ => Err(not_routable(req)),
    }
}

/// ARM's answer for a path no provider serves.
pub fn not_routable(req: &Req) -> ArmError {
    let (ns, ty) = provider_and_type(&req.segs);
    if ns.is_empty() {
        ArmError::not_found(
            "NotFound",
            format!("The requested path '{}' was not found.", req.path),
        )
    } else {
        ArmError::bad_request(
            "InvalidResourceType",
            format!(
                "The resource type '{ty}' could not be found in the namespace '{ns}' for api version '{}'.",
                req.api_version
            ),
        )
    }
}

/// (namespace, type) of the last `providers/<ns>/<type>` in a path.
pub fn provider_and_type(segs: &[String]) -> (String, String) {
    let Some(p) = segs
        .iter()
        .rposition(|s| s.eq_ignore_ascii_case("providers"))
    else {
        if segs.len() >= 3 && segs[2].eq_ignore_ascii_case("resourcegroups") {
            return ("Microsoft.Resources".into(), "resourceGroups".into());
        }
        return (String::new(), String::new());
    };
    let ns = segs.get(p + 1).cloned().unwrap_or_default();
    let types: Vec<&str> = segs
        .iter()
        .skip(p + 2)
        .step_by(2)
        .map(String::as_str)
        .collect();
    (ns, types.join("/"))
}

/// Resource type a request path addresses, for logs and counters.
pub fn resource_type_of(path: &str) -> String {
    if path.starts_with("/graph") {
        return "Microsoft.Graph/servicePrincipals".into();
    }
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let (ns, ty) = provider_and_type(&segs);
    if ns.is_empty() {
        return if segs.is_empty() {
            String::new()
        } else {
            "Microsoft.Resources/subscriptions".into()
        };
    }
    if ty.is_empty() {
        ns
    } else {
        format!("{ns}/{ty}")
    }
}

/// A tracked resource's JSON as the provider answers it now.
pub fn view(world: &World, r: &Resource) -> Value {
    let t = r.rtype.to_ascii_lowercase();
    if t == types::CACHE.to_ascii_lowercase() {
        caches::view(world, r)
    } else if t == types::VNET.to_ascii_lowercase() {
        network::view_vnet(world, r)
    } else if t == types::SUBNET.to_ascii_lowercase() {
        network::view_subnet(world, r)
    } else if t == types::DNS_ZONE.to_ascii_lowercase() {
        dns::view_zone(world, r)
    } else if t == types::AML_FILESYSTEM.to_ascii_lowercase() {
        amlfs::view(world, r)
    } else if t == types::VNET_PEERING.to_ascii_lowercase() {
        peerings::view(world, r)
    } else {
        r.body.clone()
    }
}

/// `{"value":[...]}`.
pub fn list_body(items: Vec<Value>) -> Value {
    json!({ "value": items })
}

/// The last segment (resource name) of an id.
pub fn name_of(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// `/subscriptions/{s}/resourceGroups/{rg}` prefix of an id.
pub fn group_id_of(id: &str) -> Option<String> {
    let segs: Vec<&str> = id.split('/').collect();
    if segs.len() >= 5
        && segs[1].eq_ignore_ascii_case("subscriptions")
        && segs[3].eq_ignore_ascii_case("resourcegroups")
    {
        Some(segs[..5].join("/"))
    } else {
        None
    }
}

/// The resource group name of an id.
pub fn group_of(id: &str) -> String {
    id.split('/').nth(4).unwrap_or_default().to_string()
}

/// Sets `properties.provisioningState`.
pub fn set_state(body: &mut Value, state: &str) {
    if !body["properties"].is_object() {
        body["properties"] = json!({});
    }
    body["properties"]["provisioningState"] = json!(state);
}

/// The path of a request as an id (original case), `count` segments long.
pub fn id_from(req: &Req, count: usize) -> String {
    format!("/{}", req.segs[..count.min(req.segs.len())].join("/"))
}

/// Id in the case first used when the resource exists, else the request's case.
pub fn stored_id(world: &World, id: &str) -> String {
    world
        .get(id)
        .map(|r| r.id.clone())
        .unwrap_or_else(|| id.to_string())
}

/// Tags from a request body (object of strings), or none.
pub fn tags_of(body: &Value) -> Value {
    body.get("tags")
        .filter(|t| t.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}))
}

/// ARM's check of `location` against the known regions.
pub fn check_location(location: &str) -> Result<String, ArmError> {
    let norm: String = location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    if REGIONS.contains(&norm.as_str()) {
        Ok(norm)
    } else {
        Err(ArmError::bad_request(
            "LocationNotAvailableForResourceType",
            format!(
                "The provided location '{location}' is not available for resource type. List of available regions is '{}'.",
                REGIONS.join(",")
            ),
        ))
    }
}

pub const REGIONS: &[&str] = &[
    "eastus",
    "eastus2",
    "westus",
    "westus2",
    "westus3",
    "centralus",
    "northcentralus",
    "southcentralus",
    "westeurope",
    "northeurope",
    "uksouth",
    "francecentral",
    "germanywestcentral",
    "swedencentral",
    "japaneast",
    "australiaeast",
    "southeastasia",
    "eastasia",
    "koreacentral",
    "canadacentral",
    "brazilsouth",
];
