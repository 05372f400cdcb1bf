//! A scriptable ARM stand-in on 127.0.0.1 for the azure_* tests: a closure answers every request
//! and every request is recorded.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use hpccache_core::azure::{ArmClient, ClientOptions, Cloud, PollPolicy, RetryPolicy, StaticToken};
use hpccache_core::progress::Progress;
use serde_json::Value;

pub const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJzZWNyZXQtdG9rZW4tZm9yLXRlc3Rz";

#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Option<Value>,
}

impl Seen {
    pub fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or_default()
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

pub fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        headers: vec![],
        body: if body.is_null() {
            String::new()
        } else {
            body.to_string()
        },
    }
}

impl Reply {
    pub fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_owned(), v.into()));
        self
    }
}

type Script = Arc<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

#[derive(Clone)]
struct Shared {
    script: Script,
    seen: Arc<Mutex<Vec<Seen>>>,
}

pub struct Mock {
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Mock {
    /// Starts a server whose answers come from `script(request, index_of_request)`.
    pub async fn start(script: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Mock {
        let shared = Shared {
            script: Arc::new(script),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let seen = shared.seen.clone();
        let app = axum::Router::new().fallback(handle).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Mock {
            base: format!("http://{addr}"),
            seen,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    pub fn client(&self) -> ArmClient {
        self.client_with(fast_options())
    }

    pub fn client_with(&self, options: ClientOptions) -> ArmClient {
        let cloud = Cloud::custom(&self.base, None).expect("loopback endpoint");
        ArmClient::new(cloud, "sub1", Arc::new(StaticToken::new(TOKEN)), options).expect("client")
    }
}

async fn handle(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen {
        method: method.to_string(),
        uri: uri.to_string(),
        headers,
        body: serde_json::from_slice(&body).ok(),
    };
    let index = {
        let mut v = s.seen.lock().expect("lock");
        v.push(seen.clone());
        v.len() - 1
    };
    let r = (s.script)(&seen, index);
    let mut resp = Response::builder().status(StatusCode::from_u16(r.status).expect("status"));
    if !r.body.is_empty() {
        resp = resp.header("content-type", "application/json");
    }
    for (k, v) in r.headers {
        resp = resp.header(k, v);
    }
    resp.body(Body::from(r.body)).expect("response")
}

/// Retries with tiny delays and server-advised delays scaled to 1/100.
pub fn fast_options() -> ClientOptions {
    ClientOptions {
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(2),
            max_total_delay: Duration::from_secs(5),
        },
        time_scale: 0.01,
        progress: Progress::none(),
        ..ClientOptions::default()
    }
}

pub fn fast_poll() -> PollPolicy {
    PollPolicy {
        default_interval: Duration::from_secs(1),
        first_interval: Duration::from_millis(100),
        min_interval: Duration::from_millis(1),
        timeout: Duration::from_secs(10),
        resume_hint: None,
    }
}

pub fn arm_error(code: &str, message: &str) -> Value {
    serde_json::json!({"error": {"code": code, "message": message}})
}
