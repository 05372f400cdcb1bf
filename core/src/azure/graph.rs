//! Microsoft Graph: the one lookup the tools need, the service principal of a first-party app.

use serde::Deserialize;

use super::client::{ArmClient, ArmRequest};
use super::cloud;
use crate::Result;

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
