//! `Microsoft.ContainerService/managedClusters`: GET, list, and the user credential whose
//! kubeconfig points at the sandbox's Kubernetes API server of that cluster.

use base64::Engine;
use serde_json::json;

use super::errors::ArmError;
use super::{Ctx, Reply, Req, paging};
use crate::world::{key, types};

pub fn list(ctx: &mut Ctx<'_>, req: &Req, group: Option<&str>) -> Result<Reply, ArmError> {
    let scope = match group {
        Some(g) => format!("/subscriptions/{}/resourceGroups/{g}", req.segs[1]),
        None => format!("/subscriptions/{}", req.segs[1]),
    };
    let items = ctx
        .world
        .under(&scope, types::MANAGED_CLUSTER)
        .map(|r| r.body.clone())
        .collect();
    paging::page(ctx, req, items, paging::ARM)
}

pub fn handle(ctx: &mut Ctx<'_>, req: &Req, group: &str) -> Result<Reply, ArmError> {
    let n = req.segs.len();
    if n == 7 && req.method == "GET" {
        return list(ctx, req, Some(group));
    }
    if n < 8 {
        return Err(super::not_routable(req));
    }
    let id = super::id_from(req, 8);
    let name = req.segs[7].clone();
    let cluster = ctx
        .world
        .get(&id)
        .cloned()
        .ok_or_else(|| ArmError::resource_not_found(types::MANAGED_CLUSTER, &name, group))?;
    match (req.method.as_str(), n) {
        ("GET", 8) => Ok(Reply::json(200, cluster.body)),
        ("POST", 9)
            if req.lsegs[8] == "listclusterusercredential"
                || req.lsegs[8] == "listclusteradmincredential" =>
        {
            let cluster_name = cluster.body["name"].as_str().unwrap_or(&name).to_string();
            let admin = req.lsegs[8] == "listclusteradmincredential";
            let user = if admin {
                format!("clusterAdmin_{group}_{cluster_name}")
            } else {
                format!("clusterUser_{group}_{cluster_name}")
            };
            // A cluster whose API server is not running gets its public FQDN, as in Azure:
            // the kubeconfig is valid, the server just does not answer.
            let server = ctx.kube_urls.get(&key(&id)).cloned().unwrap_or_else(|| {
                format!(
                    "https://{}:443",
                    cluster.body["properties"]["fqdn"]
                        .as_str()
                        .unwrap_or("localhost")
                )
            });
            let config = crate::kube::kubeconfig(&server, ctx.kube_token, &cluster_name, &user);
            let value = base64::engine::general_purpose::STANDARD.encode(config);
            let name = if admin { "clusterAdmin" } else { "clusterUser" };
            Ok(Reply::json(
                200,
                json!({"kubeconfigs": [{"name": name, "value": value}]}),
            ))
        }
        _ => Err(super::not_routable(req)),
    }
}
