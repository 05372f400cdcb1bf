//! The steps of a Managed Lustre `up` (`deploy::amlfs` orders them). The cluster, provider and
//! roles steps are the HPC Cache plan's own; the subnet is sized for the filesystem, the
//! storage step adds the HSM logging container, and the filesystem step replaces the cache,
//! storage target and DNS steps.

mod filesystem;
mod storage;
mod subnet;

use super::super::context::Ctx;
use super::super::executor::Done;
use super::super::plan::Step;
use crate::{Error, Result};

pub async fn run(step: Step, ctx: &Ctx) -> Result<Done> {
    match step {
        Step::Cluster => super::cluster::run(ctx).await,
        Step::Provider => super::provider::run(ctx).await,
        Step::Subnet => subnet::run(ctx).await,
        Step::Storage => storage::run(ctx).await,
        Step::Roles => super::roles::run(ctx).await,
        Step::Filesystem => filesystem::run(ctx).await,
        other => Err(Error::Lookup {
            what: format!("the {} step", other.name()),
            reason: "it belongs to the HPC Cache plan, not to a Managed Lustre deployment"
                .to_owned(),
        }),
    }
}

/// The Managed Lustre part of the request; the plan runs these steps only when it is there.
fn spec(ctx: &Ctx) -> Result<&crate::deploy::amlfs::AmlfsSpec> {
    ctx.spec.amlfs.as_ref().ok_or_else(|| Error::Lookup {
        what: "the Managed Lustre settings of this run".to_owned(),
        reason: "the request is for an HPC Cache".to_owned(),
    })
}
