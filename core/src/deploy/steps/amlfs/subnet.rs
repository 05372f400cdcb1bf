//! The filesystem's subnet: `<name>Subnet` in the cluster's vnet, as the cache's, but sized
//! from `getRequiredAmlFSSubnetsSize` (a count of addresses) instead of a fixed /24. An
//! existing subnet of that name is used as it is (`checkAmlFSSubnets` judges it before the
//! filesystem is created), without asking for the size.

use super::super::super::context::Ctx;
use super::super::super::executor::Done;
use super::super::super::plan::{PlanItem, Step};
use super::super::subnet as cache_subnet;
use super::spec;
use crate::azure::amlfs;
use crate::spec::amlfs::{prefix_len_for, subnet_room};
use crate::spec::cidr::{self, SubnetPrefix};
use crate::{InvalidInput, Result};

/// The longest prefix an automatic subnet gets: a /24 (251 addresses), as the cache's, holds
/// every filesystem up to about 200 TiB and leaves room beside it; the cache tooling's
/// 64-address floor (`spec::cidr`) also rules out anything smaller than a /25.
const MAX_AUTO_PREFIX_LEN: u8 = 24;

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let a = spec(ctx)?;
    let exists = ctx
        .preflight
        .vnet
        .properties
        .subnets
        .iter()
        .any(|s| s.name.eq_ignore_ascii_case(&ctx.spec.subnet_name));
    if exists {
        return cache_subnet::run_sized(ctx, ctx.spec.subnet_size).await;
    }
    let required =
        u64::from(amlfs::required_subnet_size(&ctx.client, a.sku, a.capacity_tib).await?);
    let fits = prefix_len_for(required).ok_or_else(|| {
        InvalidInput::new(
            "--capacity-tib",
            format!(
                "a {} TiB filesystem needs {required} addresses, more than any IPv4 subnet holds",
                a.capacity_tib
            ),
        )
    })?;
    let size = match (ctx.spec.subnet_prefix, a.subnet_size) {
        (SubnetPrefix::Cidr(net), _) => {
            subnet_room(cidr::PREFIX_FLAG, net.prefix_len(), required)?;
            net.prefix_len()
        }
        (SubnetPrefix::Auto, Some(len)) => {
            subnet_room(cidr::SIZE_FLAG, len, required)?;
            len
        }
        (SubnetPrefix::Auto, None) => fits.min(MAX_AUTO_PREFIX_LEN),
    };
    ctx.note(PlanItem::new(
        Step::Subnet,
        "read",
        "getRequiredAmlFSSubnetsSize",
        format!(
            "a {} TiB {} filesystem needs {required} addresses; a /{size} has {}",
            a.capacity_tib,
            a.sku.name(),
            cidr::usable_addresses(size)
        ),
    ));
    cache_subnet::run_sized(ctx, size).await
}
