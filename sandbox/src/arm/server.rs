//! The HTTP side: accept loop (hyper, so a fault can close a connection without an
//! answer), authentication, throttling, faults, the request log, body validation against
//! the specs, and rendering replies.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use http::{HeaderMap, Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::errors::ArmError;
use super::faults::{Fate, Faults};
use super::log::{RequestLog, RequestRecord};
use super::{Ctx, Reply, Req, clock, graph, lro, spec};
use crate::world::{World, fnv};

/// Largest request body accepted.
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// At most `requests` per `per` for one client (one bearer token), else 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

/// State shared by every connection.
pub struct Shared {
    pub world: Arc<Mutex<World>>,
    pub time_scale: f64,
    pub faults: Faults,
    pub rate_limit: Option<RateLimit>,
    pub log: Arc<RequestLog>,
    pub base: String,
    pub kube_urls: Mutex<BTreeMap<String, String>>,
    pub token: String,
    seq: AtomicU64,
    rate: Mutex<HashMap<u64, VecDeque<Instant>>>,
    stop: watch::Receiver<bool>,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        world: Arc<Mutex<World>>,
        time_scale: f64,
        faults: Faults,
        rate_limit: Option<RateLimit>,
        log: Arc<RequestLog>,
        base: String,
        token: String,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Shared {
            world,
            time_scale,
            faults,
            rate_limit,
            log,
            base,
            kube_urls: Mutex::new(BTreeMap::new()),
            token,
            seq: AtomicU64::new(0),
            rate: Mutex::new(HashMap::new()),
            stop,
        }
    }
}

/// Locks a mutex even if a panicking holder poisoned it (the data is plain state).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A connection closed on purpose (a `drop` fault): hyper closes it without answering.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

/// Serves connections until `stop` turns true.
pub fn spawn(listener: TcpListener, shared: Arc<Shared>) -> tokio::task::JoinHandle<()> {
    let mut stop = shared.stop.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let shared = shared.clone();
                    let mut conn_stop = shared.stop.clone();
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(move |req| {
                            let s = shared.clone();
                            async move { handle(s, req).await }
                        });
                        let conn = hyper::server::conn::http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(TokioIo::new(stream), svc);
                        tokio::select! {
                            _ = conn => {}
                            _ = conn_stop.wait_for(|s| *s) => {}
                        }
                    });
                }
                _ = stop.wait_for(|s| *s) => break,
            }
        }
    })
}

fn decode(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or_default()
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

fn render(reply: Reply) -> Response<Body> {
    let mut b = Response::builder().status(reply.status);
    b = b.header("x-ms-request-id", uuid::Uuid::new_v4().to_string());
    for (k, v) in &reply.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let body = match &reply.body {
        Some(v) => {
            b = b.header(
                http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            );
            Body::from(serde_json::to_vec(v).unwrap_or_default())
        }
        None => Body::empty(),
    };
    b.body(body)
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

fn error_reply(e: &ArmError) -> Reply {
    let mut r = Reply::json(e.status, e.body());
    if let Some(s) = e.retry_after {
        r = r.header("Retry-After", s.to_string());
    }
    if e.status == 401 {
        r = r.header(
            "WWW-Authenticate",
            "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\"",
        );
    }
    r
}

async fn handle(s: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, Dropped> {
    let started = Instant::now();
    let seq = s.seq.fetch_add(1, Ordering::SeqCst) + 1;
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(Body::new(body), BODY_LIMIT)
        .await
        .unwrap_or_default();
    let path = decode(parts.uri.path());
    let query = parse_query(parts.uri.query());
    let api_version = query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
        .map(|(_, v)| v.clone());
    let parsed: Option<Result<Value, String>> = if bytes.is_empty() {
        None
    } else {
        Some(serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
    };
    let mut record = RequestRecord {
        seq,
        method: parts.method.to_string(),
        path: path.clone(),
        api_version: api_version.clone(),
        status: None,
        duration_ms: 0,
        body: parsed.as_ref().map(|p| match p {
            Ok(v) => v.clone(),
            Err(_) => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
        }),
        resource_type: super::resource_type_of(&path),
        fault: None,
        at_ms: super::clock::now_ms(),
        client_request_id: parts
            .headers
            .get("x-ms-client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let reply = match s.faults.fate(seq) {
        Fate::Drop => {
            record.fault = Some("drop".into());
            s.log.push(record);
            return Err(Dropped);
        }
        Fate::Hang => {
            record.fault = Some("hang".into());
            s.log.push(record);
            let mut stop = s.stop.clone();
            let _ = stop.wait_for(|v| *v).await;
            return Err(Dropped);
        }
        Fate::Status(code) => {
            record.fault = Some(code.to_string());
            let e = match code {
                429 => {
                    let mut e = ArmError::new(
                        429,
                        "TooManyRequests",
                        "The request was throttled (injected by the sandbox). Retry after the time in the Retry-After header.",
                    );
                    e.retry_after = Some(1);
                    e
                }
                503 => ArmError::new(
                    503,
                    "ServiceUnavailable",
                    "The service is temporarily unavailable (injected by the sandbox).",
                ),
                _ => ArmError::new(
                    code,
                    "InternalServerError",
                    "Encountered an internal server error (injected by the sandbox).",
                ),
            };
            error_reply(&e)
        }
        Fate::Serve => serve(
            &s,
            &parts.method,
            &path,
            query,
            &parts.headers,
            api_version,
            parsed,
        ),
    };
    record.status = Some(reply.status);
    record.duration_ms = started.elapsed().as_millis() as u64;
    s.log.push(record);
    Ok(render(reply))
}

fn throttled(s: &Shared, token: &str) -> Option<ArmError> {
    let limit = s.rate_limit?;
    let now = Instant::now();
    let mut rate = lock(&s.rate);
    let q = rate.entry(fnv(token)).or_default();
    while q
        .front()
        .is_some_and(|t| now.duration_since(*t) >= limit.per)
    {
        q.pop_front();
    }
    if q.len() >= limit.requests as usize {
        let wait = q
            .front()
            .map(|t| limit.per.saturating_sub(now.duration_since(*t)))
            .unwrap_or(limit.per);
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut e = ArmError::new(
            429,
            "SubscriptionRequestsThrottled",
            format!(
                "Number of requests for subscription exceeded the limit of {} per {} seconds. Please try again after '{secs}' seconds.",
                limit.requests,
                limit.per.as_secs_f64()
            ),
        );
        e.retry_after = Some(secs);
        return Some(e);
    }
    q.push_back(now);
    None
}

fn serve(
    s: &Shared,
    method: &http::Method,
    path: &str,
    query: Vec<(String, String)>,
    headers: &HeaderMap,
    api_version: Option<String>,
    parsed: Option<Result<Value, String>>,
) -> Reply {
    let graph_path = path.strip_prefix("/graph");
    let Some(token) = bearer(headers) else {
        let e = if graph_path.is_some() {
            ArmError::new(401, "InvalidAuthenticationToken", "Access token is empty.")
        } else {
            ArmError::new(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing or is not a bearer token.",
            )
        };
        return error_reply(&e);
    };
    if let Some(e) = throttled(s, &token) {
        return error_reply(&e);
    }
    let body = match parsed {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(why)) => {
            return error_reply(&ArmError::bad_request(
                "InvalidRequestContent",
                format!("The request content was invalid and could not be deserialized: '{why}'."),
            ));
        }
    };
    if graph_path.is_none() && api_version.as_deref().is_none_or(str::is_empty) {
        return error_reply(&ArmError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    }
    let segs: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let req = Req {
        method: method.as_str().to_ascii_uppercase(),
        path: path.to_string(),
        lsegs: segs.iter().map(|p| p.to_ascii_lowercase()).collect(),
        segs,
        query,
        api_version: api_version.unwrap_or_default(),
        body,
        if_match: headers
            .get(http::header::IF_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        if_none_match: headers
            .get(http::header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    // Request bodies are checked against the operation's body schema, as ARM and the
    // resource providers do, before anything else looks at them.
    if graph_path.is_none()
        && matches!(req.method.as_str(), "PUT" | "PATCH" | "POST")
        && let Some(body) = &req.body
        && let Some(op) = spec::index().find(&req.method, &req.path, &req.api_version)
    {
        if let Err(v) = spec::index().validate_request(op, body) {
            return error_reply(&spec::to_arm_error(&v));
        }
        if spec::is_strict(op)
            && let Err(v) = spec::index().check_strict(op, body)
        {
            return error_reply(&spec::strict_error(&v));
        }
    }
    let kube_urls = lock(&s.kube_urls).clone();
    let mut world = lock(&s.world);
    let now = clock::now_ms();
    lro::settle(&mut world, now);
    let mut ctx = Ctx {
        world: &mut world,
        now,
        base: &s.base,
        time_scale: s.time_scale,
        faults: &s.faults,
        kube_urls: &kube_urls,
        kube_token: &s.token,
    };
    if let Some(g) = graph_path {
        return graph::handle(&mut ctx, &req, g);
    }
    match super::route(&mut ctx, &req) {
        Ok(r) => r,
        Err(e) => error_reply(&e),
    }
}
