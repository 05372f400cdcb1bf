//! The cluster: location, node resource group, network profile and the vnet its nodes use
//! (the agent pools' subnet for bring-your-own vnet, else the vnet AKS made).

use super::super::context::Ctx;
use super::super::executor::Done;
use super::super::plan::{PlanItem, Step};
use super::super::spec::default_storage_account;
use crate::state::{ClusterInfo, Settings};
use crate::{Error, Result};

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let spec = &ctx.spec;
    let sub = ctx.client.subscription().to_owned();
    // Read by the preflight, before any step could write (issue 12 item 7).
    let (cluster, vnet) = (&ctx.preflight.cluster, &ctx.preflight.vnet);
    let node_rg = cluster
        .properties
        .node_resource_group
        .clone()
        .ok_or_else(|| Error::Lookup {
            what: format!("the node resource group of cluster {}", spec.cluster),
            reason: "the cluster reports none".to_owned(),
        })?;
    let info = ClusterInfo {
        id: cluster.id.clone(),
        name: cluster.name.clone(),
        resource_group: spec.resource_group.clone(),
        location: cluster.location.clone(),
        node_resource_group: node_rg.clone(),
        vnet_id: Some(vnet.id.clone()),
        service_cidr: cluster
            .service_cidrs()
            .into_iter()
            .find(|c| !c.contains(':')),
        pod_cidr: cluster.pod_cidrs().into_iter().find(|c| !c.contains(':')),
    };
    let group = ctx.preflight.resources_group.clone();
    let settings = Settings {
        storage_account: spec
            .storage_account
            .clone()
            .unwrap_or_else(|| default_storage_account(&sub, &group, &spec.deployment)),
        resource_group: group.clone(),
        container: spec.container.clone(),
        storage_target: spec.storage_target.clone(),
        subnet_name: spec.subnet_name.clone(),
        dns_registration: spec.dns_registration,
    };
    ctx.note(PlanItem::new(
        Step::Cluster,
        "read",
        &cluster.id,
        format!(
            "nodes in vnet {} ({}), node resource group {}; cache, storage and DNS in {}",
            vnet.name, cluster.location, info.node_resource_group, settings.resource_group
        ),
    ));
    let unchanged =
        ctx.read(|s| s.cluster.as_ref() == Some(&info) && s.settings.as_ref() == Some(&settings));
    if !unchanged {
        ctx.update(|s| {
            s.cluster = Some(info);
            s.settings = Some(settings);
        })?;
    }
    Ok(Done::Finished)
}
