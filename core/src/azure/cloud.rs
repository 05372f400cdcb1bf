//! Azure clouds: where ARM, Microsoft Graph and the sign-in authority live.
//!
//! Every endpoint is checked once, here: TLS is mandatory except on loopback, where the sandbox
//! listens on plain `http://127.0.0.1:PORT`. A token must never travel in clear text over a
//! network, so `http://` to any other host is refused rather than warned about.

use std::net::IpAddr;

use url::Url;

use crate::{InvalidInput, Result};

/// Environment variable naming a custom ARM endpoint (same as `--arm-endpoint`).
pub const ENV_ARM_ENDPOINT: &str = "HPCCACHE_ARM_ENDPOINT";
/// Environment variable naming a custom Graph endpoint (same as `--graph-endpoint`).
pub const ENV_GRAPH_ENDPOINT: &str = "HPCCACHE_GRAPH_ENDPOINT";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    /// `AzureCloud`, `AzureChinaCloud`, `AzureUSGovernment` or `Custom`, as az names them.
    pub name: String,
    /// Resource Manager base URL, without a trailing slash.
    pub arm: Url,
    /// Microsoft Graph base URL, without a trailing slash.
    pub graph: Url,
    /// Microsoft Entra sign-in authority used by the credential chain.
    pub authority: Url,
}

fn fixed(name: &str, arm: &str, graph: &str, authority: &str) -> Cloud {
    // These literals are known-good URLs; parsing them cannot fail.
    let parse = |s: &str| Url::parse(s).unwrap_or_else(|_| unreachable!("built-in URL {s}"));
    Cloud {
        name: name.to_owned(),
        arm: parse(arm),
        graph: parse(graph),
        authority: parse(authority),
    }
}

impl Cloud {
    pub fn azure() -> Self {
        fixed(
            "AzureCloud",
            "https://management.azure.com",
            "https://graph.microsoft.com",
            "https://login.microsoftonline.com",
        )
    }

    pub fn china() -> Self {
        fixed(
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            "https://microsoftgraph.chinacloudapi.cn",
            "https://login.chinacloudapi.cn",
        )
    }

    pub fn us_government() -> Self {
        fixed(
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            "https://graph.microsoft.us",
            "https://login.microsoftonline.us",
        )
    }

    /// A cloud by its az name (case-insensitive), as `az cloud set --name` takes it.
    pub fn by_name(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "azurecloud" => Ok(Self::azure()),
            "azurechinacloud" => Ok(Self::china()),
            "azureusgovernment" => Ok(Self::us_government()),
            _ => Err(InvalidInput::new("--cloud", format!("unknown cloud '{name}'"))
                .hint("use AzureCloud, AzureChinaCloud or AzureUSGovernment, or --arm-endpoint for any other")
                .into()),
        }
    }

    /// A custom cloud (Azure Stack, the sandbox, a proxy). Graph defaults to the ARM endpoint,
    /// which is where the sandbox serves it. The authority stays the public one unless the
    /// credential chain is told otherwise (AZURE_AUTHORITY_HOST).
    pub fn custom(arm: &str, graph: Option<&str>) -> Result<Self> {
        let arm_url = endpoint(arm, "--arm-endpoint")?;
        let graph_url = match graph {
            Some(g) => endpoint(g, "--graph-endpoint")?,
            None => arm_url.clone(),
        };
        Ok(Cloud {
            name: "Custom".to_owned(),
            arm: arm_url,
            graph: graph_url,
            authority: Self::azure().authority,
        })
    }

    /// The cloud to use given the flags: explicit endpoints (flag, then environment) win over a
    /// cloud name; no name means the Azure CLI's active cloud (`az cloud set`), else AzureCloud.
    pub fn resolve(
        name: Option<&str>,
        arm_endpoint: Option<&str>,
        graph_endpoint: Option<&str>,
    ) -> Result<Self> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let arm = arm_endpoint
            .map(str::to_owned)
            .or_else(|| env(ENV_ARM_ENDPOINT));
        let graph = graph_endpoint
            .map(str::to_owned)
            .or_else(|| env(ENV_GRAPH_ENDPOINT));
        match (arm, name) {
            (Some(arm), _) => Self::custom(&arm, graph.as_deref()),
            (None, Some(n)) => {
                let mut cloud = Self::by_name(n)?;
                if let Some(g) = graph {
                    cloud.graph = endpoint(&g, "--graph-endpoint")?;
                }
                Ok(cloud)
            }
            (None, None) => {
                // An unknown name there is a custom cloud registered with az: its endpoints
                // are az's business, so fall back to the public cloud rather than fail.
                let mut cloud = super::az_profile::config_dir()
                    .and_then(|d| super::az_profile::active_cloud(&d))
                    .and_then(|n| Self::by_name(&n).ok())
                    .unwrap_or_else(Self::azure);
                if let Some(g) = graph {
                    cloud.graph = endpoint(&g, "--graph-endpoint")?;
                }
                Ok(cloud)
            }
        }
    }

    pub fn is_custom(&self) -> bool {
        self.name == "Custom"
    }

    /// OAuth scope for Resource Manager tokens.
    pub fn arm_scope(&self) -> String {
        format!("{}/.default", base(&self.arm))
    }

    /// OAuth scope for Microsoft Graph tokens.
    pub fn graph_scope(&self) -> String {
        format!("{}/.default", base(&self.graph))
    }
}

/// The URL as text without a trailing slash, so paths can be appended with their leading `/`.
pub(crate) fn base(url: &Url) -> &str {
    url.as_str().trim_end_matches('/')
}

/// Parses and checks an endpoint a user gave for `flag`.
pub fn endpoint(text: &str, flag: &str) -> Result<Url> {
    let url = Url::parse(text.trim()).map_err(|e| {
        InvalidInput::new(flag, format!("'{text}' is not a URL ({e})"))
            .hint("give a full URL such as https://management.azure.com")
    })?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(InvalidInput::new(
            flag,
            format!("'{text}' must not carry a query or fragment"),
        )
        .into());
    }
    check_transport_security(&url).map_err(|problem| InvalidInput::new(flag, problem))?;
    Ok(url)
}

/// `Ok` when a bearer token may be sent to `url`: https anywhere, http only to loopback.
pub fn check_transport_security(url: &Url) -> std::result::Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(format!(
            "refusing plain http:// to '{}': credentials would cross the network unencrypted; use https://, or http:// only on loopback (127.0.0.1, ::1, localhost)",
            url.host_str().unwrap_or_default()
        )),
        other => Err(format!(
            "unsupported scheme '{other}' in '{url}': use https://"
        )),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_the_endpoint() {
        assert_eq!(
            Cloud::azure().arm_scope(),
            "https://management.azure.com/.default"
        );
        assert_eq!(
            Cloud::china().graph_scope(),
            "https://microsoftgraph.chinacloudapi.cn/.default"
        );
        let c = Cloud::custom("http://127.0.0.1:8080/", None).unwrap();
        assert_eq!(c.arm_scope(), "http://127.0.0.1:8080/.default");
    }

    #[test]
    fn plain_http_only_on_loopback() {
        for ok in [
            "http://127.0.0.1:1",
            "http://127.9.0.1",
            "http://[::1]:80",
            "http://LOCALHOST:9",
            "https://example.com",
        ] {
            assert!(Cloud::custom(ok, None).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1",
            "http://example.com",
            "http://localhost.example.com",
            "ftp://127.0.0.1",
        ] {
            assert!(Cloud::custom(bad, None).is_err(), "{bad}");
        }
    }
}
