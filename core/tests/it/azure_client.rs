//! ArmClient against a mock ARM on loopback: retries, throttling, errors, redaction.

use crate::azure_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_support::{Mock, TOKEN, arm_error, fast_options, reply};
use hpccache_core::Error;
use hpccache_core::azure::credential::BoxFuture;
use hpccache_core::azure::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use hpccache_core::azure::{ArmClient, ArmRequest, Cloud, Method, StaticToken, authorization};
use hpccache_core::progress::{Event, Recorder};
use serde_json::json;

const V: &str = "2024-03-01";
const CACHE: &str =
    "/subscriptions/sub1/resourceGroups/RG/providers/Microsoft.StorageCache/caches/Cache1";

#[tokio::test]
async fn retries_500_and_503_then_succeeds() {
    let mock = Mock::start(|_, i| match i {
        0 => reply(500, arm_error("InternalServerError", "boom")),
        1 => reply(503, json!(null)),
        _ => reply(200, json!({"name": "Cache1"})),
    })
    .await;
    let client = mock.client();
    let resp = client.request(Method::Get, CACHE, V, None).await.unwrap();
    assert_eq!(resp.value().unwrap()["name"], "Cache1");
    let stats = client.stats();
    assert_eq!((stats.requests, stats.attempts, stats.retries), (1, 3, 2));
    // Path case and api-version as given; the same client request id on every attempt.
    let seen = mock.seen();
    assert!(
        seen.iter()
            .all(|s| s.uri == format!("{CACHE}?api-version={V}"))
    );
    let ids: Vec<_> = seen
        .iter()
        .map(|s| s.headers["x-ms-client-request-id"].clone())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(seen[0].headers["authorization"], format!("Bearer {TOKEN}"));
}

#[tokio::test]
async fn throttling_honours_retry_after() {
    let mock = Mock::start(|_, i| match i {
        0 => reply(429, arm_error("TooManyRequests", "slow down")).header("retry-after", "20"),
        _ => reply(200, json!({})),
    })
    .await;
    let recorder = Recorder::new();
    let mut options = fast_options();
    options.progress = recorder.progress();
    let client = mock.client_with(options);
    let started = Instant::now();
    // POST: a 429 means the request was not processed, so even an action is sent again.
    client
        .send(ArmRequest::new(Method::Post, format!("{CACHE}/flush")).api_version(V))
        .await
        .unwrap();
    let waited = started.elapsed();
    // Retry-After 20 s at time scale 0.01 is 200 ms.
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(client.stats().throttled, 1);
    assert!(
        matches!(recorder.events().as_slice(), [Event::Throttled { delay, .. }] if *delay == Duration::from_millis(200))
    );
}

#[tokio::test]
async fn exhausted_budget_returns_the_last_error() {
    let mock = Mock::start(|_, i| {
        reply(
            503,
            arm_error("ServiceUnavailable", &format!("attempt {i}")),
        )
    })
    .await;
    let client = mock.client();
    let err = client
        .request(Method::Get, CACHE, V, None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "(ServiceUnavailable) attempt 3");
    assert_eq!(mock.seen().len(), 4);
    assert_eq!(client.stats().retries, 3);
}

#[tokio::test]
async fn total_delay_budget_stops_retries() {
    let mock = Mock::start(|_, _| reply(503, json!(null)).header("retry-after", "30")).await;
    let mut options = fast_options();
    options.retry.max_total_delay = Duration::from_millis(500);
    let client = mock.client_with(options);
    // Retry-After 30 s scaled is 300 ms: one wait fits the 500 ms budget, a second does not.
    let started = Instant::now();
    let err = client
        .request(Method::Get, CACHE, V, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Arm { status: 503, .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(mock.seen().len(), 2);
}

#[tokio::test]
async fn post_is_not_retried_unless_opted_in() {
    let mock = Mock::start(|_, _| reply(500, arm_error("InternalServerError", "maybe done"))).await;
    let client = mock.client();
    let err = client
        .send(ArmRequest::new(Method::Post, format!("{CACHE}/upgrade")).api_version(V))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "(InternalServerError) maybe done");
    assert_eq!(mock.seen().len(), 1);

    let mock = Mock::start(|_, i| {
        if i == 0 {
            reply(500, json!(null))
        } else {
            reply(200, json!({}))
        }
    })
    .await;
    let client = mock.client();
    client
        .send(
            ArmRequest::new(Method::Post, format!("{CACHE}/flush"))
                .api_version(V)
                .retry_non_idempotent(),
        )
        .await
        .unwrap();
    assert_eq!(mock.seen().len(), 2);
}

#[tokio::test]
async fn arm_error_body_reads_as_code_and_message() {
    let mock = Mock::start(|_, _| {
        reply(
            400,
            arm_error(
                "InvalidParameter",
                "The value 'x' of cacheSizeGB is invalid.",
            ),
        )
        .header("x-ms-request-id", "req-1")
    })
    .await;
    let err = mock
        .client()
        .request(Method::Put, CACHE, V, Some(&json!({})))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "(InvalidParameter) The value 'x' of cacheSizeGB is invalid."
    );
    assert!(matches!(err, Error::Arm { status: 400, request_id: Some(ref r), .. } if r == "req-1"));
    assert!(!err.is_not_found());
}

#[tokio::test]
async fn not_found_is_distinguishable() {
    let mock = Mock::start(|_, _| reply(404, arm_error("ResourceNotFound", "The Resource 'Microsoft.StorageCache/caches/Cache1' under resource group 'RG' was not found."))).await;
    let client = mock.client();
    let err = client
        .request(Method::Get, CACHE, V, None)
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.arm_code(), Some("ResourceNotFound"));
    let none: Option<serde_json::Value> = client.get_optional(CACHE, V).await.unwrap();
    assert!(none.is_none());
    assert_eq!(mock.seen().len(), 2, "404 is not retried");
}

#[tokio::test]
async fn a_refused_endpoint_that_never_answered_fails_at_once_naming_it() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let cloud = Cloud::custom(&endpoint, None).unwrap();
    let client = ArmClient::new(
        cloud,
        "sub1",
        Arc::new(StaticToken::new(TOKEN)),
        fast_options(),
    )
    .unwrap();
    let err = client
        .send(ArmRequest::new(Method::Post, format!("{CACHE}/upgrade")).api_version(V))
        .await
        .unwrap_err();
    match &err {
        Error::Unreachable { endpoint: e, .. } => assert_eq!(e, &endpoint),
        other => panic!("not Unreachable: {other}"),
    }
    assert!(err.to_string().contains("--arm-endpoint"), "{err}");
    assert_eq!(client.stats().attempts, 1, "no retries");
}

/// Answers the first request, then refuses every connection (a server that went away).
struct AnswersOnceThenRefuses(std::sync::atomic::AtomicUsize);

impl Transport for AnswersOnceThenRefuses {
    fn send(&self, _: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Box::pin(async move {
            if n == 0 {
                Ok(HttpResponse {
                    status: 200,
                    headers: vec![],
                    body: b"{}".to_vec(),
                })
            } else {
                Err(TransportError {
                    message: "tcp connect error: Connection refused".into(),
                    cause: "Connection refused".into(),
                    maybe_sent: false,
                })
            }
        })
    }
}

#[tokio::test]
async fn a_refused_connection_after_the_endpoint_answered_is_retried() {
    let client = ArmClient::with_transport(
        Cloud::custom("http://127.0.0.1:9", None).unwrap(),
        "sub1",
        Arc::new(StaticToken::new(TOKEN)),
        Arc::new(AnswersOnceThenRefuses(Default::default())),
        fast_options(),
    );
    client.request(Method::Get, CACHE, V, None).await.unwrap();
    // Refused connections never reached the server: even a POST is tried again.
    let err = client
        .send(ArmRequest::new(Method::Post, format!("{CACHE}/upgrade")).api_version(V))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Http { .. }), "{err}");
    assert_eq!(client.stats().attempts, 1 + 4);
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused() {
    let err = Cloud::custom("http://management.example.com", None).unwrap_err();
    assert!(err.to_string().contains("--arm-endpoint"), "{err}");
    assert!(err.to_string().contains("http://"), "{err}");
    // And a token never follows an absolute URL to another origin.
    let mock = Mock::start(|_, _| reply(200, json!({}))).await;
    let err = mock
        .client()
        .send(ArmRequest::get("https://evil.example.com/operations/1"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("refusing to send credentials"),
        "{err}"
    );
    assert!(mock.seen().is_empty());
}

#[test]
fn role_assignment_names_are_deterministic() {
    let scope =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct";
    let role = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/17d1049b-9a84-46fb-8f53-869881c3d3ab";
    let a = authorization::assignment_name(scope, role, "11111111-2222-3333-4444-555555555555");
    assert_eq!(
        a,
        authorization::assignment_name(
            &scope.to_uppercase(),
            "17d1049b-9a84-46fb-8f53-869881c3d3ab",
            "11111111-2222-3333-4444-555555555555"
        )
    );
    assert_ne!(
        a,
        authorization::assignment_name(scope, role, "99999999-2222-3333-4444-555555555555")
    );
    assert!(uuid::Uuid::parse_str(&a).is_ok());
    // Pinned: changing the namespace or key format would make re-runs create duplicates.
    assert_eq!(
        a,
        authorization::assignment_name(scope, role, "11111111-2222-3333-4444-555555555555")
    );
}

#[tokio::test]
async fn role_assignment_exists_is_already_done() {
    let mock = Mock::start(|_, _| {
        reply(
            409,
            arm_error(
                "RoleAssignmentExists",
                "The role assignment already exists.",
            ),
        )
    })
    .await;
    let r = authorization::create_role_assignment(
        &mock.client(),
        "/subscriptions/sub1/resourceGroups/rg",
        "/x/roleDefinitions/r",
        "p",
        "ServicePrincipal",
    )
    .await
    .unwrap();
    assert!(matches!(r, authorization::Assigned::AlreadyExists));
}

#[tokio::test]
async fn lists_follow_next_link_and_filters_are_encoded() {
    let mock = Mock::start(|s, _| {
        if s.uri.contains("page=2") {
            reply(200, json!({"value": [{"id": "/b", "name": "b", "properties": {"roleName": "Storage Account Contributor"}}]}))
        } else {
            reply(200, json!({"value": [], "nextLink": format!("{}?api-version=2022-04-01&page=2", s.path())}))
        }
    })
    .await;
    let scope = "/subscriptions/sub1/resourceGroups/rg";
    let id =
        authorization::find_role_definition(&mock.client(), scope, "Storage Account Contributor")
            .await;
    // nextLink is a path here; ARM sends absolute URLs, which are also accepted on its origin.
    let seen = mock.seen();
    assert!(
        seen[0]
            .uri
            .contains("$filter=roleName%20eq%20%27Storage%20Account%20Contributor%27"),
        "{}",
        seen[0].uri
    );
    assert_eq!(id.unwrap(), "/b");
}
