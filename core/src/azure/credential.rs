//! Where access tokens come from.
//!
//! Order: an explicit bearer token in `HPCCACHE_ACCESS_TOKEN` (custom endpoints, CI, the
//! sandbox), else the usual chain of `azure_identity` 0.21: `AZURE_CREDENTIAL_KIND` picks one
//! source when set; otherwise environment service principal (which also covers workload
//! identity through `AZURE_FEDERATED_TOKEN_FILE`), managed identity, Azure CLI.
//!
//! Tokens live only in memory: [`AccessToken`]'s `Debug` hides the value and nothing here logs
//! or stores one. The chain caches tokens itself, so asking per request is cheap.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use azure_identity::{DefaultAzureCredential, SpecificAzureCredential, TokenCredentialOptions};

use super::cloud::Cloud;
use crate::{Error, Result};

/// Environment variable holding a bearer token to use as is.
pub const ENV_ACCESS_TOKEN: &str = "HPCCACHE_ACCESS_TOKEN";

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A bearer token. The value is only reachable through [`AccessToken::secret`].
#[derive(Clone)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// Anything that can hand out a token for an OAuth scope (`https://management.azure.com/.default`).
/// Tests and the sandbox implement it to inject tokens.
pub trait TokenSource: Send + Sync + fmt::Debug {
    fn token<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken>>;
}

/// The same token for every scope.
#[derive(Debug, Clone)]
pub struct StaticToken(AccessToken);

impl StaticToken {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(AccessToken::new(secret))
    }
}

impl TokenSource for StaticToken {
    fn token<'a>(&'a self, _scope: &'a str) -> BoxFuture<'a, Result<AccessToken>> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// The `azure_identity` credential chain.
#[derive(Debug, Clone)]
pub struct IdentityChain {
    inner: Arc<dyn azure_core::auth::TokenCredential>,
}

impl IdentityChain {
    /// Builds the chain for `cloud`: sign-in goes to the cloud's authority unless
    /// `AZURE_AUTHORITY_HOST` says otherwise.
    pub fn new(cloud: &Cloud) -> Result<Self> {
        let mut options = TokenCredentialOptions::default();
        if std::env::var_os("AZURE_AUTHORITY_HOST").is_none() && !cloud.is_custom() {
            options.set_authority_host(cloud.authority.as_str().trim_end_matches('/').to_owned());
        }
        let inner: Arc<dyn azure_core::auth::TokenCredential> =
            if std::env::var_os(azure_identity::AZURE_CREDENTIAL_KIND).is_some() {
                Arc::new(SpecificAzureCredential::create(options).map_err(auth_error)?)
            } else {
                Arc::new(DefaultAzureCredential::create(options).map_err(auth_error)?)
            };
        Ok(Self { inner })
    }
}

fn auth_error(e: azure_core::Error) -> Error {
    // The chain's message lists each source's failure; it never includes a token.
    Error::Auth(e.to_string().trim().replace('\n', " "))
}

impl TokenSource for IdentityChain {
    fn token<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken>> {
        Box::pin(async move {
            let token = self.inner.get_token(&[scope]).await.map_err(auth_error)?;
            Ok(AccessToken::new(token.token.secret().to_owned()))
        })
    }
}

/// The token source the tools use: `HPCCACHE_ACCESS_TOKEN` when set, else the identity chain.
pub fn from_env(cloud: &Cloud) -> Result<Arc<dyn TokenSource>> {
    match std::env::var(ENV_ACCESS_TOKEN) {
        Ok(t) if !t.trim().is_empty() => Ok(Arc::new(StaticToken::new(t.trim()))),
        _ => Ok(Arc::new(IdentityChain::new(cloud)?)),
    }
}
