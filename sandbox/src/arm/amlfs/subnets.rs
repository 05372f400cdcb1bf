//! The two subscription-scope helpers (not long-running):
//! `POST /subscriptions/{sub}/providers/Microsoft.StorageCache/getRequiredAmlFSSubnetsSize`
//! answers how many addresses a file system needs ([`rules::required_ips`]), and
//! `.../checkAmlFSSubnets` runs the create's subnet checks: 200 with no body when the subnet
//! fits, else 400 with the spec's `AmlFilesystemCheckSubnetError`
//! (`filesystemSubnet: {status: Invalid, message}`) and, for clients that read ARM's usual
//! error shape, `error: {code, message}` beside it.

use serde_json::json;

use super::super::errors::ArmError;
use super::super::{Ctx, Reply, Req};
use super::rules;

fn sku_and_capacity(body: &serde_json::Value) -> Result<(&'static str, f64), ArmError> {
    let name = body["sku"]["name"].as_str().ok_or_else(|| {
        ArmError::invalid_parameter("Required property 'sku.name' not found in the request body.")
    })?;
    let (sku, _, _) = rules::sku(name)?;
    Ok((
        sku,
        rules::capacity(sku, body["storageCapacityTiB"].as_f64())?,
    ))
}

pub fn required_size(_ctx: &mut Ctx<'_>, req: &Req) -> Result<Reply, ArmError> {
    let (_, tib) = sku_and_capacity(req.json_body()?)?;
    Ok(Reply::json(
        200,
        json!({"filesystemSubnetSize": rules::required_ips(tib)}),
    ))
}

pub fn check(ctx: &mut Ctx<'_>, req: &Req) -> Result<Reply, ArmError> {
    let body = req.json_body()?;
    let (_, tib) = sku_and_capacity(body)?;
    let subnet = body["filesystemSubnet"].as_str().ok_or_else(|| {
        ArmError::invalid_parameter(
            "Required property 'filesystemSubnet' not found in the request body.",
        )
    })?;
    let location = match body["location"].as_str() {
        Some(l) => super::super::check_location(l)?,
        // Without a region, the subnet's own is the one the file system would use.
        None => {
            let vnet = subnet.rsplitn(3, '/').nth(2).unwrap_or_default();
            ctx.world
                .get(vnet)
                .and_then(|v| v.body["location"].as_str().map(str::to_string))
                .unwrap_or_default()
        }
    };
    match rules::subnet(ctx.world, subnet, &location, tib, "") {
        Ok(_) => Ok(Reply::empty(200)),
        Err(message) => Ok(Reply::json(
            400,
            json!({
                "error": {"code": "InvalidParameter", "message": message},
                "filesystemSubnet": {"status": "Invalid", "message": message}
            }),
        )),
    }
}
