//! Microsoft Graph: the one lookup the tools need, the service principal of a first-party app.

use serde::Deserialize;

use std::time::Instant;

use super::client::{ArmClient, ArmRequest};
use super::cloud;
use super::lro::{Pace, PollPolicy};
use crate::{Error, Result};

/// App id of the HPC Cache resource provider. Its display name differs between tenants ("HPC
/// Cache Resource Provider" or "StorageCache Resource Provider"), its app id does not.
pub const STORAGE_CACHE_APP_ID: &str = "4392ab71-2ce2-4b0d-8770-b352745c73f5";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    /// The object id role assignments name as principalId.
    pub id: String,
    pub app_id: Option<String>,
    pub display_name: Option<String>,
}

/// The tenant's service principal for `app_id`. 404 (`Request_ResourceNotFound`) when the app has
/// none in this tenant.
pub async fn service_principal_by_app_id(
    client: &ArmClient,
    app_id: &str,
) -> Result<ServicePrincipal> {
    let url = format!(
        "{}/v1.0/servicePrincipals(appId='{app_id}')",
        cloud::base(&client.cloud().graph)
    );
    client.send(ArmRequest::get(url)).await?.json()
}

/// The HPC Cache resource provider's object id, or `None` while Graph says it has none in this
/// tenant (404: the provider was never registered here; its principal appears minutes after
/// the registration). A Graph refusal (403: an identity without `Application.Read.All`) is an
/// error naming the way round it.
pub async fn provider_principal(client: &ArmClient) -> Result<Option<String>> {
    match service_principal_by_app_id(client, STORAGE_CACHE_APP_ID).await {
        Ok(sp) => Ok(Some(sp.id)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(Error::Arm {
            status: 403,
            code,
            message,
            ..
        }) => Err(Error::Lookup {
            what: "the HPC Cache resource provider's service principal".to_owned(),
            reason: format!(
                "Microsoft Graph refused to look it up (({code}) {message}). Pass its object id with --provider-principal-id (or HPCCACHE_PROVIDER_PRINCIPAL_ID); someone who may read service principals gets it with `az ad sp show --id {STORAGE_CACHE_APP_ID} --query id -o tsv`"
            ),
        }),
        Err(e) => Err(e),
    }
}

/// [`provider_principal`], asked again while it is 404 (directory replication after the
/// provider's registration takes minutes) for at most `policy.timeout`, at `policy`'s pace.
pub async fn wait_for_provider_principal(
    client: &ArmClient,
    policy: &PollPolicy,
) -> Result<String> {
    let started = Instant::now();
    let mut pace = Pace::new(client, policy);
    loop {
        if let Some(id) = provider_principal(client).await? {
            return Ok(id);
        }
        let wait = pace.next(client, None);
        if started.elapsed().saturating_add(wait) > policy.timeout {
            return Err(Error::Lookup {
                what: "the HPC Cache resource provider's service principal".to_owned(),
                reason: format!(
                    "Microsoft Graph has none in this tenant after {} s, although Microsoft.StorageCache is registered. Run `up` again in a few minutes, or pass its object id with --provider-principal-id",
                    started.elapsed().as_secs()
                ),
            });
        }
        tokio::time::sleep(wait).await;
    }
}
