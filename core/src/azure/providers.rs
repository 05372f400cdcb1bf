//! Resource provider registration (Microsoft.Resources, api-version 2025-04-01).

use std::time::Instant;

use serde::Deserialize;

use super::client::{ArmClient, ArmRequest};
use super::lro::{Pace, PollPolicy};
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
        self.state_is("Registered")
    }

    /// A registration is under way: wait for it, do not start another.
    pub fn is_registering(&self) -> bool {
        self.state_is("Registering")
    }

    fn state_is(&self, state: &str) -> bool {
        self.registration_state
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(state))
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
/// subscription).
///
/// The registration state is read first and the POST sent only when nothing is under way
/// (`NotRegistered`, `Unregistered`, `Unregistering`): a run resumed after a crash finds the
/// first run's registration `Registering` and only waits for it (issue 12: the re-run sent a
/// second POST). The POST itself may be retried: registering twice is harmless to Azure.
/// The wait is paced by [`Pace`] (the provider API sends no `Retry-After`).
pub async fn register(
    client: &ArmClient,
    namespace: &str,
    policy: &PollPolicy,
    progress: &Progress,
) -> Result<Provider> {
    let current = get_provider(client, namespace).await?;
    register_from(client, current, policy, progress).await
}

/// Starts a registration unless one is done or under way (`--no-wait`); returns the state.
pub async fn begin_register(
    client: &ArmClient,
    current: Provider,
    progress: &Progress,
) -> Result<Provider> {
    if current.is_registered() || current.is_registering() {
        return Ok(current);
    }
    let req = ArmRequest::new(
        Method::Post,
        format!("{}/register", path(client, &current.namespace)),
    )
    .api_version(API_VERSION)
    .retry_non_idempotent()
    .progress(progress.clone());
    client.send(req).await?.json()
}

/// [`register`] from a state the caller has just read.
pub async fn register_from(
    client: &ArmClient,
    current: Provider,
    policy: &PollPolicy,
    progress: &Progress,
) -> Result<Provider> {
    let namespace = current.namespace.clone();
    let namespace = namespace.as_str();
    let mut provider = begin_register(client, current, progress).await?;
    let started = Instant::now();
    let step = progress
        .step()
        .unwrap_or("provider registration")
        .to_owned();
    let mut pace = Pace::new(client, policy);
    while !provider.is_registered() {
        let interval = pace.next(client, None);
        if started.elapsed().saturating_add(interval) > policy.timeout {
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
