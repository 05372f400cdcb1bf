//! The wire: one HTTP exchange, no retries, no auth, no logging (the client does those).
//!
//! We talk HTTP through reqwest 0.12 directly rather than azure_core's pipeline: the pipeline
//! brings its own retry policy and hides whether a failed request may have reached the server,
//! and both decisions belong to [`super::client::ArmClient`], the one place every Azure call
//! goes through. The [`Transport`] trait is the seam tests use to script answers and faults.

use std::fmt;
use std::time::Duration;

use super::credential::BoxFuture;

/// HTTP methods ARM uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Put,
    Post,
    Patch,
    Delete,
    Head,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
        }
    }

    /// ARM's contract makes GET, HEAD, PUT and DELETE safe to repeat; POST and PATCH are not.
    pub fn is_idempotent(self) -> bool {
        matches!(
            self,
            Method::Get | Method::Head | Method::Put | Method::Delete
        )
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub url: url::Url,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// An exchange that produced no HTTP answer.
#[derive(Debug, Clone)]
pub struct TransportError {
    pub message: String,
    /// The innermost cause alone (`Connection refused (os error 111)`), for messages that
    /// already say which request failed.
    pub cause: String,
    /// False only when the request certainly never reached the server (connection refused, DNS
    /// failure, connect timeout); then even a POST can be sent again.
    pub maybe_sent: bool,
}

pub trait Transport: Send + Sync {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>>;
}

/// How long a TCP (and TLS) connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The real transport: reqwest with rustls; certificates always verified, redirects not followed
/// (ARM does not redirect, and following one could carry the token elsewhere).
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    pub fn new(request_timeout: Duration) -> crate::Result<Self> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            // A reachable endpoint accepts in well under a second; an unreachable one must not
            // hold a command for long before it says so (issue 12 item 8).
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| crate::Error::Http {
                method: "-".into(),
                url: "-".into(),
                reason: format!("cannot set up the HTTP client: {e}"),
            })?;
        Ok(Self { client })
    }
}

impl Transport for ReqwestTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let method = match request.method {
                Method::Get => reqwest::Method::GET,
                Method::Put => reqwest::Method::PUT,
                Method::Post => reqwest::Method::POST,
                Method::Patch => reqwest::Method::PATCH,
                Method::Delete => reqwest::Method::DELETE,
                Method::Head => reqwest::Method::HEAD,
            };
            let mut builder = self.client.request(method, request.url);
            for (k, v) in &request.headers {
                builder = builder.header(k, v);
            }
            if let Some(body) = request.body {
                builder = builder.body(body);
            }
            let response = builder.send().await.map_err(describe)?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = response.bytes().await.map_err(describe)?.to_vec();
            Ok(HttpResponse {
                status,
                headers,
                body,
            })
        })
    }
}

fn describe(e: reqwest::Error) -> TransportError {
    // Walk the source chain: reqwest's top-level text ("error sending request") says little.
    let mut message = e.to_string();
    let mut cause = message.clone();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        cause = s.to_string();
        message.push_str(": ");
        message.push_str(&cause);
        source = s.source();
    }
    TransportError {
        cause: if e.is_timeout() {
            "timed out".to_owned()
        } else {
            cause
        },
        maybe_sent: !e.is_connect(),
        message: if e.is_timeout() {
            format!("timed out ({message})")
        } else {
            message
        },
    }
}
