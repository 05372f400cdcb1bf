//! Where access tokens come from.
//!
//! Order: an explicit bearer token in `HPCCACHE_ACCESS_TOKEN` (custom endpoints, CI, the
//! sandbox) for Resource Manager only, with `HPCCACHE_GRAPH_TOKEN` for Microsoft Graph (an ARM
//! token is never sent to Graph, whose audience it is not); else the usual chain of
//! `azure_identity` 0.21: `AZURE_CREDENTIAL_KIND` picks one source when set; otherwise
//! environment service principal (which also covers workload identity through
//! `AZURE_FEDERATED_TOKEN_FILE`), managed identity, Azure CLI. When no service principal is
//! configured and the Azure CLI is signed in, the CLI is asked directly ([`AzCli`]) with the
//! tenant of the subscription in use, which `azure_identity`'s CLI source cannot pass.
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

/// Environment variable holding a Resource Manager bearer token to use as is.
pub const ENV_ACCESS_TOKEN: &str = "HPCCACHE_ACCESS_TOKEN";
/// Environment variable holding a Microsoft Graph bearer token (beside [`ENV_ACCESS_TOKEN`]).
pub const ENV_GRAPH_TOKEN: &str = "HPCCACHE_GRAPH_TOKEN";

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

/// Tokens given in the environment: one for Resource Manager, maybe one for Graph. A request
/// for any other scope (Graph without [`ENV_GRAPH_TOKEN`]) is refused before anything is sent.
#[derive(Debug, Clone)]
pub struct EnvTokens {
    arm: AccessToken,
    graph: Option<AccessToken>,
    arm_scope: String,
    graph_scope: String,
}

impl EnvTokens {
    pub fn new(cloud: &Cloud, arm: impl Into<String>, graph: Option<String>) -> Self {
        Self {
            arm: AccessToken::new(arm),
            graph: graph.map(AccessToken::new),
            arm_scope: cloud.arm_scope(),
            graph_scope: cloud.graph_scope(),
        }
    }
}

impl TokenSource for EnvTokens {
    fn token<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken>> {
        Box::pin(async move {
            // A custom cloud without its own Graph endpoint has one scope for both.
            if scope == self.arm_scope || scope != self.graph_scope {
                return Ok(self.arm.clone());
            }
            self.graph.clone().ok_or_else(|| no_graph_token().into())
        })
    }
}

/// Why there is no Graph token, and the two ways on.
pub fn no_graph_token() -> crate::InvalidInput {
    crate::InvalidInput::new(
        "--provider-principal-id",
        format!(
            "is needed: {ENV_ACCESS_TOKEN} holds a Resource Manager token, which is not sent to Microsoft Graph to look up the HPC Cache resource provider's service principal"
        ),
    )
    .hint(format!(
        "Pass its object id (az ad sp show --id {} --query id -o tsv), or set {ENV_GRAPH_TOKEN} to a Graph token (az account get-access-token --resource-type ms-graph --query accessToken -o tsv)",
        super::graph::STORAGE_CACHE_APP_ID
    ))
}

/// The token source the tools use: `HPCCACHE_ACCESS_TOKEN` (and `HPCCACHE_GRAPH_TOKEN`) when
/// set, else the Azure CLI for the subscription's tenant when it is the one signed in and no
/// service principal is configured, else the identity chain.
pub fn for_subscription(cloud: &Cloud, subscription: Option<&str>) -> Result<Arc<dyn TokenSource>> {
    let env = |k: &str| {
        std::env::var(k)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if let Some(arm) = env(ENV_ACCESS_TOKEN) {
        return Ok(Arc::new(EnvTokens::new(cloud, arm, env(ENV_GRAPH_TOKEN))));
    }
    let service_principal = [
        "AZURE_CREDENTIAL_KIND",
        "AZURE_CLIENT_ID",
        "AZURE_FEDERATED_TOKEN_FILE",
        "IDENTITY_ENDPOINT",
        "MSI_ENDPOINT",
    ]
    .iter()
    .any(|k| env(k).is_some());
    if !service_principal
        && !cloud.is_custom()
        && let Some(dir) = super::az_profile::config_dir()
        && let Some(profile) = super::az_profile::Profile::read(&dir)
        && let Some(tenant) = profile.tenant_of(subscription)
    {
        return Ok(Arc::new(AzCli::new(tenant)));
    }
    Ok(Arc::new(IdentityChain::new(cloud)?))
}

/// The token source for the default subscription (see [`for_subscription`]).
pub fn from_env(cloud: &Cloud) -> Result<Arc<dyn TokenSource>> {
    for_subscription(cloud, None)
}

/// The Azure CLI asked for a token of one tenant: `az account get-access-token --scope S
/// --tenant T`. Tokens are kept in memory until five minutes before they expire.
#[derive(Debug)]
pub struct AzCli {
    program: std::path::PathBuf,
    tenant: String,
    cache: tokio::sync::Mutex<std::collections::HashMap<String, (AccessToken, u64)>>,
}

impl AzCli {
    pub fn new(tenant: impl Into<String>) -> Self {
        Self::with_program("az", tenant)
    }

    /// The same with another `az` (tests: a script that answers as az does).
    pub fn with_program(program: impl Into<std::path::PathBuf>, tenant: impl Into<String>) -> Self {
        Self {
            program: program.into(),
            tenant: tenant.into(),
            cache: tokio::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// The arguments of one token request.
    pub fn args(&self, scope: &str) -> Vec<String> {
        [
            "account",
            "get-access-token",
            "--output",
            "json",
            "--scope",
            scope,
            "--tenant",
            &self.tenant,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }
}

impl TokenSource for AzCli {
    fn token<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken>> {
        Box::pin(async move {
            let now = unix_now();
            let mut cache = self.cache.lock().await;
            if let Some((t, exp)) = cache.get(scope)
                && *exp > now + 300
            {
                return Ok(t.clone());
            }
            let out = tokio::process::Command::new(&self.program)
                .args(self.args(scope))
                .output()
                .await
                .map_err(|e| {
                    Error::Auth(format!("cannot run `{}`: {e}", self.program.display()))
                })?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                return Err(Error::Auth(format!(
                    "`az account get-access-token --tenant {}` failed: {}",
                    self.tenant,
                    err.trim().replace('\n', " ")
                )));
            }
            // az prints `expiresOn` as local time text and `expires_on` as Unix seconds.
            #[derive(serde::Deserialize)]
            struct Answer {
                #[serde(rename = "accessToken")]
                access_token: String,
                expires_on: Option<u64>,
            }
            let answer: Answer = serde_json::from_slice(&out.stdout).map_err(|e| {
                Error::Auth(format!(
                    "cannot read what `az account get-access-token` printed: {e}"
                ))
            })?;
            let token = AccessToken::new(answer.access_token);
            let exp = answer
                .expires_on
                .or_else(|| token_expiry(token.secret()))
                .unwrap_or(now + 600);
            cache.insert(scope.to_owned(), (token.clone(), exp));
            Ok(token)
        })
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The `exp` claim (Unix seconds) of a JWT-shaped token; `None` for an opaque one.
pub fn token_expiry(token: &str) -> Option<u64> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp").and_then(|e| {
        e.as_u64()
            .or_else(|| e.as_f64().map(|f| f as u64))
            .or_else(|| e.as_str().and_then(|s| s.parse().ok()))
    })
}

/// Unix seconds as RFC 3339 UTC (`2026-11-28T03:09:41Z`).
pub fn rfc3339(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_read_from_a_jwt_and_formatted() {
        use base64::Engine;
        let part = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let jwt = format!(
            "{}.{}.sig",
            part("{\"alg\":\"none\"}"),
            part("{\"exp\":1700000000}")
        );
        assert_eq!(token_expiry(&jwt), Some(1_700_000_000));
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(token_expiry("hpccache-sandbox-token"), None);
    }

    #[tokio::test]
    async fn an_arm_token_is_never_handed_out_for_graph() {
        let cloud = Cloud::azure();
        let only_arm = EnvTokens::new(&cloud, "arm-token", None);
        let t = only_arm.token(&cloud.arm_scope()).await.expect("arm");
        assert_eq!(t.secret(), "arm-token");
        let e = only_arm
            .token(&cloud.graph_scope())
            .await
            .expect_err("graph");
        assert!(e.to_string().contains("--provider-principal-id"), "{e}");
        assert!(e.to_string().contains(ENV_GRAPH_TOKEN), "{e}");
        let both = EnvTokens::new(&cloud, "arm-token", Some("graph-token".into()));
        let g = both.token(&cloud.graph_scope()).await.expect("graph");
        assert_eq!(g.secret(), "graph-token");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn az_cli_is_asked_for_the_subscription_tenant() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let args_file = dir.path().join("args");
        let script = dir.path().join("az");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$@\" >> '{}'\necho '{{\"accessToken\":\"tok\",\"expiresOn\":\"2099-01-01 00:00:00.000000\",\"expires_on\":4070908800,\"tenant\":\"t1\"}}'\n",
                args_file.display()
            ),
        )
        .expect("script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let az = AzCli::with_program(&script, "11111111-2222-3333-4444-555555555555");
        let scope = Cloud::china().arm_scope();
        assert_eq!(az.token(&scope).await.expect("token").secret(), "tok");
        // Cached until near its expiry: az runs once.
        az.token(&scope).await.expect("token");
        let seen = std::fs::read_to_string(&args_file).expect("args");
        assert_eq!(seen.lines().count(), 1, "{seen}");
        assert!(
            seen.contains("--tenant 11111111-2222-3333-4444-555555555555")
                && seen.contains("--scope https://management.chinacloudapi.cn/.default"),
            "{seen}"
        );
    }
}
