//! Resource provider registration (Microsoft.Resources, api-version 2025-04-01).

use std::time::Instant;

use serde::Deserialize;

use super::client::{ArmClient, ArmRequest};
use super::lro::PollPolicy;
use super::transport::Method;
use crate::progress::{Event, Progress};
use crate::{Error, Result};

pub const API_VERSION: &str = "2025-04-01";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    pub namespace: String,
    /// `Registered`, `Registering`, `NotRegistered`, `Unregistering`.
    pub registration_state: Option<String>,
}

impl Provider {
    pub fn is_registered(&self) -> bool {
        self.registration_state
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("Registered"))
    }
}

fn path(client: &ArmClient, namespace: &str) -> String {
    format!(
        "/subscriptions/{}/providers/{namespace}",
        client.subscription()
    )
}

pub async fn get_provider(client: &ArmClient, namespace: &str) -> Result<Provider> {
    client.get_json(&path(client, namespace), API_VERSION).await
}

/// Registers the provider if needed and waits until Registered (a few minutes on a new
/// subscription). Registering twice is harmless, so the POST may be retried.
pub async fn register(
    client: &ArmClient,
    namespace: &str,
    policy: &PollPolicy,
    progress: &Progress,
) -> Result<Provider> {
    let current = get_provider(client, namespace).await?;
    if current.is_registered() {
        return Ok(current);
    }
    let req = ArmRequest::new(
        Method::Post,
        format!("{}/register", path(client, namespace)),
    )
    .api_version(API_VERSION)
    .retry_non_idempotent()
    .progress(progress.clone());
    let mut provider: Provider = client.send(req).await?.json()?;
    let started = Instant::now();
    let step = progress
        .step()
        .unwrap_or("provider registration")
        .to_owned();
    while !provider.is_registered() {
        let interval = client
            .scaled(
                policy
                    .default_interval
                    .min(std::time::Duration::from_secs(10)),
            )
            .max(policy.min_interval);
        if started.elapsed() + interval > policy.timeout {
            return Err(Error::Timeout {
                operation: "registration".to_owned(),
                resource: format!("resource provider {namespace}"),
                after: policy.timeout,
                hint: format!(
                    "check it with `az provider show -n {namespace}` and run again once it is Registered"
                ),
            });
        }
        progress.emit(Event::StepProgress {
            step: step.clone(),
            state: provider
                .registration_state
                .clone()
                .unwrap_or_else(|| "Registering".to_owned()),
            percent: None,
            elapsed: started.elapsed(),
        });
        tokio::time::sleep(interval).await;
        provider = get_provider(client, namespace).await?;
    }
    Ok(provider)
}
