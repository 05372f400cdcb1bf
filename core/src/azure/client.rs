//! [`ArmClient`]: the one path every Azure call takes.
//!
//! [`ArmClient::send`] builds the URL (ARM endpoint + path as given, `api-version`), attaches the
//! bearer token for the right audience (ARM or Graph; never to a foreign host), retries
//! transient failures with backoff, maps error bodies to [`Error::Arm`], counts requests and
//! logs each exchange at debug level with secrets redacted. Everything above it (the LRO poller,
//! the typed operations) is built from `send`, so retry and redaction rules hold everywhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::cloud::{self, Cloud};
use super::credential::TokenSource;
use super::redact;
use super::transport::{
    HttpRequest, HttpResponse, Method, ReqwestTransport, Transport, TransportError,
};
use crate::progress::{Event, Progress};
use crate::{Error, Result};

/// Log target for `--debug` (binaries enable it with `hpccache::azure=debug`).
pub const LOG_TARGET: &str = "hpccache::azure";

/// Pages [`ArmClient::list`] follows before calling the list endless (ten million items at
/// ARM's usual 1000 a page; a million at private DNS's 100). It used to stop silently at
/// 1000 pages (issue 15 item 9).
pub const MAX_PAGES: usize = 10_000;

/// HTTP statuses worth another try: the server did not do the work, or may do it next time.
const TRANSIENT: [u16; 6] = [408, 429, 500, 502, 503, 504];

/// How hard to try before giving up on one request.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// First backoff; doubles each retry, with jitter.
    pub base_delay: Duration,
    /// Longest single backoff (also caps Retry-After).
    pub max_delay: Duration,
    /// Longest total time spent waiting between attempts of one request.
    pub max_total_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            // RELIABILITY.md (fix 2): 8, not 6. Under a 30 % transient fault rate one request
            // in ~1,400 failed all of 6 attempts, so a full `up` + `status` + `down` (~100
            // requests) failed about one run in 14; with 8 about one in 150. The waits stay
            // bounded by `max_total_delay` (the 7 backoffs sum to 51-102 s against Azure).
            max_attempts: 8,
            base_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(60),
            max_total_delay: Duration::from_secs(180),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub retry: RetryPolicy,
    /// Multiplies delays the server asks for (`Retry-After` in seconds, in retries and polls).
    /// 1.0 against Azure; below 1 against the time-scaled sandbox and in tests.
    pub time_scale: f64,
    /// Per-attempt timeout of the real transport.
    pub request_timeout: Duration,
    pub user_agent: String,
    /// Receives Retrying/Throttled events of requests that carry no progress of their own.
    pub progress: Progress,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            time_scale: 1.0,
            request_timeout: Duration::from_secs(100),
            user_agent: format!("hpccache/{}", env!("CARGO_PKG_VERSION")),
            progress: Progress::none(),
        }
    }
}

/// Counters for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Logical requests ([`ArmClient::send`] calls).
    pub requests: u64,
    /// HTTP exchanges attempted, retries included.
    pub attempts: u64,
    pub retries: u64,
    /// Retries caused by HTTP 429.
    pub throttled: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    attempts: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    /// Some endpoint answered (any HTTP status) during this client's life.
    answered: AtomicBool,
}

/// Which token a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Arm,
    Graph,
}

/// One request as the typed operations describe it.
#[derive(Debug, Clone)]
pub struct ArmRequest {
    pub method: Method,
    /// A path below the ARM endpoint (`/subscriptions/...`, case kept) or an absolute URL on the
    /// ARM or Graph endpoint (operation URLs from `Location`/`Azure-AsyncOperation`).
    pub target: String,
    /// Added as `api-version` unless the target already has one.
    pub api_version: Option<String>,
    /// Extra query parameters, percent-encoded here.
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// POST/PATCH are sent again after an ambiguous failure only when the caller knows the
    /// action is safe to repeat.
    pub retry_non_idempotent: bool,
    /// Overrides the client's progress handle (so retries are attributed to a step).
    pub progress: Option<Progress>,
    /// Non-2xx statuses that are answers of the operation rather than failures (the spec gives
    /// them a body of their own, e.g. checkAmlFSSubnets' 400): returned as an
    /// [`ArmResponse`], never retried.
    pub accept: Vec<u16>,
    /// Fewer attempts than the client's policy: a poll, which the poller repeats at its own
    /// pace anyway, must not spend the whole retry budget on an operation URL that keeps
    /// failing (issue 15 item 8).
    pub max_attempts: Option<u32>,
}

impl ArmRequest {
    pub fn new(method: Method, target: impl Into<String>) -> Self {
        Self {
            method,
            target: target.into(),
            api_version: None,
            query: Vec::new(),
            body: None,
            retry_non_idempotent: false,
            progress: None,
            accept: Vec::new(),
            max_attempts: None,
        }
    }

    pub fn get(target: impl Into<String>) -> Self {
        Self::new(Method::Get, target)
    }

    pub fn api_version(mut self, v: impl Into<String>) -> Self {
        self.api_version = Some(v.into());
        self
    }

    pub fn query(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.query.push((k.into(), v.into()));
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Marks a POST/PATCH as safe to send again (read-only actions, idempotent registrations).
    pub fn retry_non_idempotent(mut self) -> Self {
        self.retry_non_idempotent = true;
        self
    }

    pub fn progress(mut self, p: Progress) -> Self {
        self.progress = Some(p);
        self
    }

    /// At most `n` attempts (see [`ArmRequest::max_attempts`]).
    pub fn attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n.max(1));
        self
    }

    /// Takes a non-2xx `status` as an answer to read (see [`ArmRequest::accept`]).
    pub fn accept_status(mut self, status: u16) -> Self {
        self.accept.push(status);
        self
    }
}

/// A successful (2xx) answer, or one whose status the request accepted.
#[derive(Debug, Clone)]
pub struct ArmResponse {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The URL that answered.
    pub url: Url,
}

impl ArmResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The body as JSON; an empty body reads as `null`.
    pub fn value(&self) -> Result<Value> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| self.unexpected(format!("body is not JSON: {e}")))
    }

    /// The body parsed into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| self.unexpected(format!("cannot read the body: {e}")))
    }

    /// The server-requested delay before the next request, unscaled.
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }

    /// The ARM error this answer carries, for an accepted non-2xx answer that turns out not to
    /// be in the shape the operation expected.
    pub fn arm_error(&self) -> Error {
        arm_error(&HttpResponse {
            status: self.status,
            headers: self.headers.clone(),
            body: self.body.clone(),
        })
    }

    pub fn unexpected(&self, reason: impl Into<String>) -> Error {
        Error::UnexpectedResponse {
            url: redact::url_text(self.url.as_str()),
            reason: reason.into(),
        }
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `Retry-After` as seconds or an HTTP date; `retry-after-ms`/`x-ms-retry-after-ms` first.
fn retry_after(headers: &[(String, String)]) -> Option<Duration> {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = header(headers, name).and_then(|v| v.trim().parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    let v = header(headers, "retry-after")?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The client for Azure Resource Manager and Microsoft Graph. Cheap to clone.
#[derive(Clone)]
pub struct ArmClient {
    inner: Arc<Inner>,
}

struct Inner {
    cloud: Cloud,
    subscription: String,
    tokens: Arc<dyn TokenSource>,
    transport: Arc<dyn Transport>,
    options: ClientOptions,
    counters: Counters,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("cloud", &self.inner.cloud.name)
            .field("arm", &self.inner.cloud.arm.as_str())
            .field("subscription", &self.inner.subscription)
            .finish()
    }
}

impl ArmClient {
    /// A client over the real transport (reqwest + rustls).
    pub fn new(
        cloud: Cloud,
        subscription: impl Into<String>,
        tokens: Arc<dyn TokenSource>,
        options: ClientOptions,
    ) -> Result<Self> {
        let transport = Arc::new(ReqwestTransport::new(options.request_timeout)?);
        Ok(Self::with_transport(
            cloud,
            subscription,
            tokens,
            transport,
            options,
        ))
    }

    /// A client over any transport (tests script answers through this).
    pub fn with_transport(
        cloud: Cloud,
        subscription: impl Into<String>,
        tokens: Arc<dyn TokenSource>,
        transport: Arc<dyn Transport>,
        options: ClientOptions,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                cloud,
                subscription: subscription.into(),
                tokens,
                transport,
                options,
                counters: Counters::default(),
            }),
        }
    }

    pub fn cloud(&self) -> &Cloud {
        &self.inner.cloud
    }

    pub fn subscription(&self) -> &str {
        &self.inner.subscription
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    pub fn progress(&self) -> &Progress {
        &self.inner.options.progress
    }

    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            requests: c.requests.load(Ordering::Relaxed),
            attempts: c.attempts.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
        }
    }

    /// A server-advised delay adjusted by the client's time scale.
    pub fn scaled(&self, d: Duration) -> Duration {
        let s = self.inner.options.time_scale;
        if s == 1.0 || !s.is_finite() || s < 0.0 {
            d
        } else {
            // Not `mul_f64`, which panics when the product overflows: a server may send any
            // Retry-After (`Retry-After: 18446744073709551615`). Found by the ARM response
            // fuzz tests (reliability suite, issue 7 item 7).
            Duration::try_from_secs_f64(d.as_secs_f64() * s).unwrap_or(Duration::MAX)
        }
    }

    /// Shorthand for [`ArmClient::send`] with no extra options.
    pub async fn request(
        &self,
        method: Method,
        path_or_url: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<ArmResponse> {
        let mut req = ArmRequest::new(method, path_or_url).api_version(api_version);
        req.body = body.cloned();
        self.send(req).await
    }

    /// Sends one request, retrying transient failures within the retry budget. Non-2xx answers
    /// become [`Error::Arm`]; no HTTP answer at all becomes [`Error::Http`].
    pub async fn send(&self, req: ArmRequest) -> Result<ArmResponse> {
        let c = &self.inner.counters;
        c.requests.fetch_add(1, Ordering::Relaxed);
        let (url, audience) = self.url(&req)?;
        let scope = match audience {
            Audience::Arm => self.inner.cloud.arm_scope(),
            Audience::Graph => self.inner.cloud.graph_scope(),
        };
        let progress = req
            .progress
            .clone()
            .unwrap_or_else(|| self.progress().clone());
        let body = match &req.body {
            Some(v) => Some(
                serde_json::to_vec(v).map_err(|e| Error::UnexpectedResponse {
                    url: redact::url_text(url.as_str()),
                    reason: format!("cannot encode the request body: {e}"),
                })?,
            ),
            None => None,
        };
        // One id per logical request: its retries share it, so they correlate in Azure's logs.
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let policy = &self.inner.options.retry;
        let max_attempts = req
            .max_attempts
            .map_or(policy.max_attempts, |n| n.min(policy.max_attempts));
        let may_repeat = req.method.is_idempotent() || req.retry_non_idempotent;
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let token = self.inner.tokens.token(&scope).await?;
            let mut headers = vec![
                (
                    "authorization".to_owned(),
                    format!("Bearer {}", token.secret()),
                ),
                (
                    "x-ms-client-request-id".to_owned(),
                    client_request_id.clone(),
                ),
                ("accept".to_owned(), "application/json".to_owned()),
                (
                    "user-agent".to_owned(),
                    self.inner.options.user_agent.clone(),
                ),
            ];
            if body.is_some() {
                headers.push(("content-type".to_owned(), "application/json".to_owned()));
            }
            let http = HttpRequest {
                method: req.method,
                url: url.clone(),
                headers,
                body: body.clone(),
            };
            log_request(&http, attempt);
            c.attempts.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let outcome = self.inner.transport.send(http).await;
            let elapsed = started.elapsed();

            // Decide: done, or retry after `delay` for `reason`.
            let (delay, reason, throttled, failure) = match outcome {
                Ok(resp) => {
                    c.answered.store(true, Ordering::Relaxed);
                    log_response(req.method, &url, &resp, elapsed);
                    if (200..300).contains(&resp.status) || req.accept.contains(&resp.status) {
                        return Ok(ArmResponse {
                            status: resp.status,
                            headers: resp.headers,
                            body: resp.body,
                            url,
                        });
                    }
                    if resp.status == 401
                        && let Some(expired) = expired_token(token.secret(), audience, &resp)
                    {
                        return Err(expired);
                    }
                    let error = arm_error(&resp);
                    // A 429 means the request was turned away unprocessed: always safe to resend.
                    let retryable =
                        TRANSIENT.contains(&resp.status) && (may_repeat || resp.status == 429);
                    if !retryable {
                        return Err(error);
                    }
                    // A server's Retry-After is honoured even beyond `max_delay` (Azure asks for
                    // minutes when throttling hard); the overall budget below still bounds it.
                    let delay = match retry_after(&resp.headers) {
                        Some(d) => self.scaled(d),
                        None => backoff(policy, attempt),
                    };
                    (
                        delay,
                        format!("HTTP {}: {}", resp.status, error),
                        resp.status == 429,
                        error,
                    )
                }
                Err(TransportError {
                    message,
                    cause,
                    maybe_sent,
                }) => {
                    tracing::debug!(target: LOG_TARGET, "{} {} failed after {:?}: {}", req.method, redact::url_text(url.as_str()), elapsed, message);
                    // Issue 12 item 8: a wrong or dead endpoint took 8 attempts and ~64 s of
                    // backoff to report a raw transport error. An endpoint that never took a
                    // connection is a setting to fix, not a blip to ride out; once something
                    // has answered, a refused connection is retried as before.
                    if !maybe_sent && !c.answered.load(Ordering::Relaxed) {
                        return Err(self.unreachable(&url, audience, cause));
                    }
                    let error = Error::Http {
                        method: req.method.to_string(),
                        url: redact::url_text(url.as_str()),
                        reason: message.clone(),
                    };
                    if maybe_sent && !may_repeat {
                        return Err(error);
                    }
                    (backoff(policy, attempt), message, false, error)
                }
            };
            if attempt >= max_attempts || waited.saturating_add(delay) > policy.max_total_delay {
                tracing::debug!(target: LOG_TARGET, "giving up after {attempt} attempts: {reason}");
                return Err(failure);
            }
            c.retries.fetch_add(1, Ordering::Relaxed);
            if throttled {
                c.throttled.fetch_add(1, Ordering::Relaxed);
                progress.emit(Event::Throttled {
                    step: progress.step_owned(),
                    delay,
                });
            } else {
                progress.emit(Event::Retrying {
                    step: progress.step_owned(),
                    attempt,
                    delay,
                    reason,
                });
            }
            tokio::time::sleep(delay).await;
            waited += delay;
        }
    }

    fn unreachable(&self, url: &Url, audience: Audience, cause: String) -> Error {
        let cloud = &self.inner.cloud;
        let hint = match audience {
            Audience::Graph if cloud.is_custom() && !same_origin(&cloud.graph, &cloud.arm) => {
                "Check --graph-endpoint (HPCCACHE_GRAPH_ENDPOINT): is the URL right and the server up?"
            }
            _ if cloud.is_custom() => {
                "Check --arm-endpoint (HPCCACHE_ARM_ENDPOINT): is the URL right and the server up?"
            }
            _ => "Check the network connection and proxy settings (HTTPS_PROXY), and --cloud",
        };
        Error::Unreachable {
            endpoint: url.origin().ascii_serialization(),
            reason: cause,
            hint: hint.to_owned(),
        }
    }

    /// GET a resource and read it as `T`.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str, api_version: &str) -> Result<T> {
        self.send(ArmRequest::get(path).api_version(api_version))
            .await?
            .json()
    }

    /// GET a resource; `None` when ARM says it does not exist (404).
    pub async fn get_optional<T: DeserializeOwned>(
        &self,
        path: &str,
        api_version: &str,
    ) -> Result<Option<T>> {
        match self.get_json(path, api_version).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every item of a list, following `nextLink` pages to the end. A provider that answers
    /// a `nextLink` it already gave (a loop), or more than [`MAX_PAGES`] pages, is an error:
    /// stopping silently would hand back part of the list as if it were all of it.
    pub async fn list<T: DeserializeOwned>(&self, req: ArmRequest) -> Result<Vec<T>> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page<T> {
            #[serde(default = "Vec::new")]
            value: Vec<T>,
            next_link: Option<String>,
        }
        let mut items = Vec::new();
        let mut req = req;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let page: Page<T> = self.send(req.clone()).await?.json()?;
            items.extend(page.value);
            match page.next_link.filter(|l| !l.is_empty()) {
                Some(next) => {
                    if !seen.insert(next.clone()) {
                        return Err(Error::UnexpectedResponse {
                            url: redact::url_text(&next),
                            reason: format!(
                                "the list answered this nextLink twice (after {} items): it would never end",
                                items.len()
                            ),
                        });
                    }
                    req.target = next;
                    req.query.clear();
                }
                None => return Ok(items),
            }
        }
        Err(Error::UnexpectedResponse {
            url: redact::url_text(&req.target),
            reason: format!(
                "the list still had a nextLink after {MAX_PAGES} pages ({} items); refusing to go on",
                items.len()
            ),
        })
    }

    /// The absolute URL of a request and whose token it needs. Absolute targets must be on the
    /// ARM or Graph origin: operation URLs come from response headers, and a token must not
    /// follow one anywhere else.
    fn url(&self, req: &ArmRequest) -> Result<(Url, Audience)> {
        let cloud = &self.inner.cloud;
        let bad = |reason: String| Error::UnexpectedResponse {
            url: redact::url_text(&req.target),
            reason,
        };
        let (mut url, audience) = if req.target.starts_with("https://")
            || req.target.starts_with("http://")
        {
            let url = Url::parse(&req.target).map_err(|e| bad(format!("not a URL: {e}")))?;
            // Graph first when it lives under a path of the ARM origin (the sandbox serves it
            // at /graph): the origin alone would take its URLs for ARM's and send them the
            // Resource Manager token.
            let audience = if cloud.graph != cloud.arm && under(&url, &cloud.graph) {
                Audience::Graph
            } else if same_origin(&url, &cloud.arm) {
                Audience::Arm
            } else if same_origin(&url, &cloud.graph) {
                Audience::Graph
            } else {
                return Err(bad(format!(
                    "refusing to send credentials to '{}', which is neither the ARM endpoint {} nor the Graph endpoint {}",
                    url.origin().ascii_serialization(),
                    cloud::base(&cloud.arm),
                    cloud::base(&cloud.graph)
                )));
            };
            (url, audience)
        } else if req.target.starts_with('/') {
            let text = format!("{}{}", cloud::base(&cloud.arm), req.target);
            (
                Url::parse(&text).map_err(|e| bad(format!("not a valid path: {e}")))?,
                Audience::Arm,
            )
        } else {
            return Err(bad(
                "a request target must be an absolute path or URL".into()
            ));
        };
        cloud::check_transport_security(&url).map_err(bad)?;
        let has_version = url.query_pairs().any(|(k, _)| k == "api-version");
        let mut extra: Vec<(String, String)> = req.query.clone();
        if let (Some(v), false) = (&req.api_version, has_version) {
            extra.push(("api-version".to_owned(), v.clone()));
        }
        if !extra.is_empty() {
            let mut q = url.query().unwrap_or_default().to_owned();
            for (k, v) in extra {
                if !q.is_empty() {
                    q.push('&');
                }
                q.push_str(&encode(&k));
                q.push('=');
                q.push_str(&encode(&v));
            }
            url.set_query(Some(&q));
        }
        Ok((url, audience))
    }
}

/// Reads a JSON value (an operation's result) as `T`; `what` names it in the error.
pub fn parse<T: DeserializeOwned>(value: Value, what: &str) -> Result<T> {
    serde_json::from_value(value).map_err(|e| Error::UnexpectedResponse {
        url: what.to_owned(),
        reason: format!("cannot read the result: {e}"),
    })
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

/// `url` is on `base`'s origin and at or below its path (a path of `/` is any path).
fn under(url: &Url, base: &Url) -> bool {
    let prefix = base.path().trim_end_matches('/');
    same_origin(url, base)
        && !prefix.is_empty()
        && url
            .path()
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Percent-encoding for query keys and values; spaces become `%20` (OData filters).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'$') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Exponential backoff with jitter: half the doubled delay fixed, half random, so that many
/// clients throttled together do not come back together.
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exp = policy
        .base_delay
        .saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
        .min(policy.max_delay);
    let half = exp / 2;
    let jitter = half.mul_f64(rand::random::<f64>());
    half + jitter
}

/// The error an ARM (or Graph) answer carries: `{"error":{"code","message"}}`, a bare
/// `{"code","message"}` (some providers), or just the status.
pub(crate) fn arm_error(resp: &HttpResponse) -> Error {
    let request_id = header(&resp.headers, "x-ms-request-id")
        .or_else(|| header(&resp.headers, "x-ms-correlation-request-id"))
        .or_else(|| header(&resp.headers, "request-id"))
        .map(str::to_owned);
    let parsed: Option<Value> = serde_json::from_slice(&resp.body).ok();
    let error = parsed.as_ref().map(|v| v.get("error").unwrap_or(v));
    let text = |key: &str| {
        error
            .and_then(|e| e.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let code = text("code").unwrap_or_else(|| status_code_name(resp.status).to_owned());
    let message = with_details(
        text("message").unwrap_or_else(|| {
            let body = String::from_utf8_lossy(&resp.body);
            let body = body.trim();
            if body.is_empty() || parsed.is_some() {
                format!("The server answered HTTP {} without details.", resp.status)
            } else {
                redact::body(body.as_bytes())
            }
        }),
        error,
    );
    Error::Arm {
        code,
        message,
        status: resp.status,
        request_id,
    }
}

/// `message` followed by the causes ARM gives in `error.details[]` (the network provider puts
/// the actual reason there: "subnet in use by ..."), which a bare message would lose.
pub(crate) fn with_details(message: String, error: Option<&Value>) -> String {
    let details: Vec<String> = error
        .and_then(|e| e.get("details"))
        .and_then(Value::as_array)
        .map(|ds| {
            ds.iter()
                .filter_map(|d| {
                    let code = d.get("code").and_then(Value::as_str).unwrap_or_default();
                    let msg = d.get("message").and_then(Value::as_str).unwrap_or_default();
                    match (code.is_empty(), msg.is_empty()) {
                        (true, true) => None,
                        (false, true) => Some(format!("({code})")),
                        (true, false) => Some(msg.to_owned()),
                        (false, false) => Some(format!("({code}) {msg}")),
                    }
                })
                .filter(|d| !message.contains(d.as_str()))
                .collect()
        })
        .unwrap_or_default();
    if details.is_empty() {
        message
    } else {
        format!("{message} Details: {}", details.join("; "))
    }
}

/// The error for a 401 whose cause is a bearer token past its expiry (`exp` claim, or ARM's
/// `ExpiredAuthenticationToken`): when it expired and how to get another, instead of ARM's
/// raw "The access token expiry UTC time ... is earlier than current UTC time".
fn expired_token(token: &str, audience: Audience, resp: &HttpResponse) -> Option<Error> {
    let exp = super::credential::token_expiry(token);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let code_says = matches!(arm_error(resp), Error::Arm { ref code, .. } if code.eq_ignore_ascii_case("ExpiredAuthenticationToken"));
    let expired = exp.is_some_and(|e| e <= now) || code_says;
    if !expired {
        return None;
    }
    let (what, env, resource) = match audience {
        Audience::Arm => ("Resource Manager", "HPCCACHE_ACCESS_TOKEN", "arm"),
        Audience::Graph => ("Microsoft Graph", "HPCCACHE_GRAPH_TOKEN", "ms-graph"),
    };
    Some(Error::TokenExpired {
        what: what.to_owned(),
        at: exp.map_or_else(|| "an earlier time".to_owned(), super::credential::rfc3339),
        hint: format!(
            "`az account get-access-token --resource-type {resource} --query accessToken -o tsv` into {env}, or unset {env} to sign in through the Azure CLI"
        ),
    })
}

fn status_code_name(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        408 => "RequestTimeout",
        409 => "Conflict",
        412 => "PreconditionFailed",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "HttpError",
    }
}

fn log_request(req: &HttpRequest, attempt: u32) {
    if !tracing::enabled!(target: LOG_TARGET, tracing::Level::DEBUG) {
        return;
    }
    let headers = req
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {}", redact::header(k, v)))
        .collect::<Vec<_>>()
        .join("\n    ");
    let body = req.body.as_deref().map(redact::body).unwrap_or_default();
    tracing::debug!(
        target: LOG_TARGET,
        "Request (attempt {attempt}): {} {}\n    {headers}\n  body: {body}",
        req.method,
        redact::url_text(req.url.as_str())
    );
}

fn log_response(method: Method, url: &Url, resp: &HttpResponse, elapsed: Duration) {
    if !tracing::enabled!(target: LOG_TARGET, tracing::Level::DEBUG) {
        return;
    }
    let headers = resp
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {}", redact::header(k, v)))
        .collect::<Vec<_>>()
        .join("\n    ");
    tracing::debug!(
        target: LOG_TARGET,
        "Response: {method} {} -> {} in {} ms\n    {headers}\n  body: {}",
        redact::url_text(url.as_str()),
        resp.status,
        elapsed.as_millis(),
        redact::body(&resp.body)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let h = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert_eq!(
            retry_after(&h("retry-after", "7")),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&h("retry-after-ms", "250")),
            Some(Duration::from_millis(250))
        );
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(5));
        assert_eq!(retry_after(&h("retry-after", &past)), Some(Duration::ZERO));
        let future = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        assert!(
            retry_after(&h("retry-after", &future)).is_some_and(|d| d > Duration::from_secs(25))
        );
        assert_eq!(retry_after(&h("retry-after", "soon")), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_total_delay: Duration::from_secs(10),
        };
        let d1 = backoff(&p, 1);
        assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
        let d3 = backoff(&p, 3);
        assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
        assert!(backoff(&p, 40) <= Duration::from_secs(1));
    }

    #[test]
    fn odata_filter_is_percent_encoded() {
        assert_eq!(
            encode("roleName eq 'Reader'"),
            "roleName%20eq%20%27Reader%27"
        );
        assert_eq!(encode("$filter"), "$filter");
    }
}
