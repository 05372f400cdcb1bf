//! Access tokens as Microsoft Entra ID issues them, for the sandbox and its tests.
//!
//! A JWT-shaped bearer token (`header.payload.signature`, base64url JSON) is checked as ARM
//! and Microsoft Graph check theirs: its audience (`aud`) must be the endpoint's, it must not
//! have expired (`exp`), and for a subscription its tenant (`tid`) must be the world's. The
//! signature is not checked (the sandbox has no keys). Any other non-empty bearer token is an
//! opaque sandbox token ([`crate::sandbox::DEFAULT_TOKEN`], or whatever a test chose) and is
//! accepted everywhere, as before tokens were modelled.
//!
//! [`mint`] makes tokens for tests and for `hpccache-sandbox serve`'s banner.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::world::DEFAULT_TENANT;

/// Azure Resource Manager's audience (what `https://management.azure.com/.default` gives).
pub const ARM_AUDIENCE: &str = "https://management.azure.com/";
/// Microsoft Graph's audience (what `https://graph.microsoft.com/.default` gives).
pub const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";
/// Microsoft Graph's application id, the audience some token flows put instead of its URL.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// The signed-in user of the sandbox (object id and name) when a token does not say.
pub const SANDBOX_USER_OID: &str = "00000000-0000-0000-0000-0000000000aa";
pub const SANDBOX_USER_NAME: &str = "sandbox.user@contoso.onmicrosoft.com";

/// What a minted token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub aud: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    pub tid: String,
    pub oid: String,
    pub upn: String,
}

impl Claims {
    /// A token for `aud` expiring at `exp` (Unix seconds), for the sandbox user in the default
    /// tenant.
    pub fn new(aud: &str, exp: u64) -> Self {
        Claims {
            aud: aud.to_string(),
            exp,
            tid: DEFAULT_TENANT.to_string(),
            oid: SANDBOX_USER_OID.to_string(),
            upn: SANDBOX_USER_NAME.to_string(),
        }
    }

    /// An ARM token valid for `seconds` from now (negative: expired that long ago).
    pub fn arm(seconds: i64) -> Self {
        Self::new(ARM_AUDIENCE, from_now(seconds))
    }

    /// A Microsoft Graph token valid for `seconds` from now (negative: expired).
    pub fn graph(seconds: i64) -> Self {
        Self::new(GRAPH_AUDIENCE, from_now(seconds))
    }

    pub fn with_tenant(mut self, tid: &str) -> Self {
        self.tid = tid.to_string();
        self
    }

    pub fn with_user(mut self, oid: &str, upn: &str) -> Self {
        self.oid = oid.to_string();
        self.upn = upn.to_string();
        self
    }

    /// The token (unsigned: the signature part is a fixed placeholder).
    pub fn mint(&self) -> String {
        mint(&self.payload())
    }

    fn payload(&self) -> Value {
        let now = crate::arm::clock::now_ms() / 1000;
        json!({
            "aud": self.aud,
            "iss": format!("https://sts.windows.net/{}/", self.tid),
            "iat": now.min(self.exp),
            "nbf": now.min(self.exp),
            "exp": self.exp,
            "tid": self.tid,
            "oid": self.oid,
            "upn": self.upn,
            "unique_name": self.upn,
            "ver": "1.0"
        })
    }
}

/// Unix seconds `seconds` from now (clamped at 0).
fn from_now(seconds: i64) -> u64 {
    let now = (crate::arm::clock::now_ms() / 1000) as i64;
    now.saturating_add(seconds).max(0) as u64
}

/// A JWT-shaped token with this payload (any JSON object: tests may leave claims out).
pub fn mint(payload: &Value) -> String {
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "sandbox"});
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap_or_default());
    format!(
        "{}.{}.{}",
        part(&header),
        part(payload),
        URL_SAFE_NO_PAD.encode(b"hpccache-sandbox-unsigned")
    )
}

/// What a bearer token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Bearer {
    /// Not JWT-shaped: an opaque sandbox token.
    Opaque,
    /// JWT-shaped with a JSON object payload.
    Jwt(Value),
    /// JWT-shaped (its header is a JSON object) but the payload is not readable.
    Malformed,
}

/// Reads a bearer token. Only a token whose first part decodes to a JSON object counts as a
/// JWT, so an opaque token that happens to hold dots is still opaque.
pub fn read(token: &str) -> Bearer {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Bearer::Opaque;
    }
    let json = |p: &str| -> Option<Value> {
        let bytes = URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok()?;
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .filter(Value::is_object)
    };
    if json(parts[0]).is_none() {
        return Bearer::Opaque;
    }
    match json(parts[1]) {
        Some(payload) => Bearer::Jwt(payload),
        None => Bearer::Malformed,
    }
}

/// The audiences in a payload's `aud` (a string or, as JWT allows, an array).
pub fn audiences(payload: &Value) -> Vec<String> {
    match &payload["aud"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_read_back_with_their_claims() {
        let t = Claims::arm(3600).with_tenant("t1").mint();
        let Bearer::Jwt(p) = read(&t) else {
            panic!("not a JWT: {t}")
        };
        assert_eq!(audiences(&p), vec![ARM_AUDIENCE.to_string()]);
        assert_eq!(p["tid"], "t1");
        assert!(
            p["exp"]
                .as_u64()
                .is_some_and(|e| e > p["iat"].as_u64().unwrap_or(0))
        );
    }

    #[test]
    fn opaque_and_malformed_tokens_are_told_apart() {
        assert_eq!(read("hpccache-sandbox-token"), Bearer::Opaque);
        assert_eq!(read("a.b.c"), Bearer::Opaque);
        let header = URL_SAFE_NO_PAD.encode(b"{\"alg\":\"none\"}");
        assert_eq!(read(&format!("{header}.not-json.x")), Bearer::Malformed);
    }
}
