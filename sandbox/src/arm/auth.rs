//! Who is calling, and whether their bearer token is for this endpoint (see [`crate::token`]):
//! ARM and Microsoft Graph answer a missing, malformed, expired or wrong-audience token 401
//! with their own codes, messages and `WWW-Authenticate` headers.

use serde_json::Value;

use super::errors::ArmError;
use super::{Reply, clock, graph};
use crate::token::{
    self, Bearer, GRAPH_APP_ID, GRAPH_AUDIENCE, SANDBOX_USER_NAME, SANDBOX_USER_OID,
};

/// ARM accepts its tokens for these audiences (and the sandbox's own URL).
const ARM_AUDIENCES: &[&str] = &[
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
];

/// Which service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Arm,
    Graph,
}

/// The identity a request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub oid: String,
    /// Sign-in name (`upn`), else the app id of a service principal.
    pub name: String,
    /// The token's tenant, when it says.
    pub tenant: Option<String>,
}

impl Caller {
    /// The sandbox user (opaque tokens).
    pub fn sandbox_user() -> Self {
        Caller {
            oid: SANDBOX_USER_OID.to_string(),
            name: SANDBOX_USER_NAME.to_string(),
            tenant: None,
        }
    }

    fn from_claims(p: &Value) -> Self {
        let text = |k: &str| p[k].as_str().filter(|s| !s.is_empty()).map(str::to_string);
        Caller {
            oid: text("oid").unwrap_or_else(|| SANDBOX_USER_OID.to_string()),
            name: text("upn")
                .or_else(|| text("unique_name"))
                .or_else(|| text("appid"))
                .unwrap_or_else(|| SANDBOX_USER_NAME.to_string()),
            tenant: text("tid"),
        }
    }
}

/// ARM's 401: its code and message, and the message again in `WWW-Authenticate`.
pub fn arm_unauthorized(code: &str, message: &str, authority: &str) -> Reply {
    Reply::json(401, ArmError::new(401, code, message).body()).header(
        "WWW-Authenticate",
        format!(
            "Bearer authorization_uri=\"{authority}\", error=\"invalid_token\", error_description=\"{message}\""
        ),
    )
}

/// Microsoft Graph's 401.
pub fn graph_unauthorized(message: &str) -> Reply {
    graph::error(401, "InvalidAuthenticationToken", message).header(
        "WWW-Authenticate",
        format!(
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"{GRAPH_APP_ID}\""
        ),
    )
}

/// The answer to a request without a bearer token.
pub fn missing(endpoint: Endpoint) -> Reply {
    match endpoint {
        Endpoint::Graph => graph_unauthorized("Access token is empty."),
        Endpoint::Arm => arm_unauthorized(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing or is not a bearer token.",
            "https://login.windows.net/",
        ),
    }
}

/// Checks `token` for `endpoint` at `now_ms`; `base` is the sandbox's own URL (an audience
/// ARM and Graph accept as theirs, for custom-endpoint token requests).
pub fn authenticate(
    token: &str,
    endpoint: Endpoint,
    base: &str,
    now_ms: u64,
) -> Result<Caller, Reply> {
    let payload = match token::read(token) {
        Bearer::Opaque => return Ok(Caller::sandbox_user()),
        Bearer::Jwt(p) => p,
        Bearer::Malformed => {
            return Err(match endpoint {
                Endpoint::Arm => arm_unauthorized(
                    "InvalidAuthenticationToken",
                    "The access token is invalid.",
                    "https://login.windows.net/",
                ),
                Endpoint::Graph => graph_unauthorized("Access token validation failure."),
            });
        }
    };
    let audiences = token::audiences(&payload);
    let own = [base.to_string(), format!("{base}/")];
    let graph_own = [format!("{base}/graph"), format!("{base}/graph/")];
    let fits = |a: &String| match endpoint {
        Endpoint::Arm => ARM_AUDIENCES.contains(&a.as_str()) || own.contains(a),
        Endpoint::Graph => {
            a == GRAPH_AUDIENCE
                || a == &format!("{GRAPH_AUDIENCE}/")
                || a == GRAPH_APP_ID
                || graph_own.contains(a)
        }
    };
    if !audiences.iter().any(fits) {
        let got = audiences.join(",");
        return Err(match endpoint {
            Endpoint::Arm => arm_unauthorized(
                "InvalidAuthenticationTokenAudience",
                &format!(
                    "The access token has been obtained for wrong audience or resource '{got}'. It should exactly match with one of the allowed audiences {}.",
                    ARM_AUDIENCES
                        .iter()
                        .map(|a| a.to_string())
                        .chain(own.iter().cloned())
                        .map(|a| format!("'{a}'"))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                "https://login.windows.net/",
            ),
            Endpoint::Graph => {
                graph_unauthorized("Access token validation failure. Invalid audience.")
            }
        });
    }
    let Some(exp) = payload["exp"].as_u64() else {
        return Err(match endpoint {
            Endpoint::Arm => arm_unauthorized(
                "InvalidAuthenticationToken",
                "The access token is invalid.",
                "https://login.windows.net/",
            ),
            Endpoint::Graph => graph_unauthorized("Access token validation failure."),
        });
    };
    if exp.saturating_mul(1000) <= now_ms {
        return Err(match endpoint {
            Endpoint::Arm => arm_unauthorized(
                "ExpiredAuthenticationToken",
                &format!(
                    "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                    clock::dotnet_utc(exp.saturating_mul(1000)),
                    clock::dotnet_utc(now_ms)
                ),
                "https://login.windows.net/",
            ),
            Endpoint::Graph => graph_unauthorized("Access token has expired or is not yet valid."),
        });
    }
    Ok(Caller::from_claims(&payload))
}

/// ARM's answer to a token from another tenant than the subscription's.
pub fn wrong_tenant(caller: &Caller, tenant: &str) -> Option<Reply> {
    let tid = caller.tenant.as_deref()?;
    if tid.eq_ignore_ascii_case(tenant) {
        return None;
    }
    Some(arm_unauthorized(
        "InvalidAuthenticationTokenTenant",
        &format!(
            "The access token is from the wrong issuer 'https://sts.windows.net/{tid}/'. It must match the tenant 'https://sts.windows.net/{tenant}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/{tenant}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later."
        ),
        &format!("https://login.windows.net/{tenant}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{ARM_AUDIENCE, Claims};

    const BASE: &str = "http://127.0.0.1:1";

    #[test]
    fn opaque_tokens_are_the_sandbox_user() {
        let c = authenticate("anything", Endpoint::Arm, BASE, 0).expect("accepted");
        assert_eq!(c, Caller::sandbox_user());
    }

    #[test]
    fn audiences_are_per_endpoint() {
        let now = clock::now_ms();
        let arm = Claims::arm(600).mint();
        let graph = Claims::graph(600).mint();
        assert!(authenticate(&arm, Endpoint::Arm, BASE, now).is_ok());
        assert!(authenticate(&graph, Endpoint::Graph, BASE, now).is_ok());
        assert_eq!(
            authenticate(&graph, Endpoint::Arm, BASE, now)
                .unwrap_err()
                .status,
            401
        );
        assert!(authenticate(&arm, Endpoint::Graph, BASE, now).is_err());
        let own = Claims::new(BASE, now / 1000 + 600).mint();
        assert!(authenticate(&own, Endpoint::Arm, BASE, now).is_ok());
        let app = Claims::new(GRAPH_APP_ID, now / 1000 + 600).mint();
        assert!(authenticate(&app, Endpoint::Graph, BASE, now).is_ok());
        let _ = ARM_AUDIENCE;
    }
}
