//! Issue 15 item 8 (client side), against a mock ARM on loopback: error details kept, a
//! `Location` URL that keeps failing bounded, Retry-After beyond a minute honoured within the
//! budget, lists followed to the end or refused, an expired token named as such.

use crate::azure_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_support::{Mock, arm_error, fast_options, fast_poll, reply};
use hpccache_core::Error;
use hpccache_core::azure::lro::{self, FinalState, Operation, OperationKind};
use hpccache_core::azure::{ArmClient, ArmRequest, Cloud, Method, StaticToken};
use serde_json::{Value, json};

const V: &str = "2024-03-01";
const CACHE: &str =
    "/subscriptions/sub1/resourceGroups/RG/providers/Microsoft.StorageCache/caches/Cache1";

fn with_details() -> Value {
    json!({"error": {"code": "InUseSubnetCannotBeDeleted", "message": "Subnet S is in use.",
        "details": [{"code": "InUseNetworkInterface", "message": "NIC nic-1 uses it."}]}})
}

#[tokio::test]
async fn error_details_reach_the_message() {
    let mock = Mock::start(|_, _| reply(400, with_details())).await;
    let e = mock
        .client()
        .request(Method::Delete, CACHE, V, None)
        .await
        .expect_err("400");
    let text = e.to_string();
    assert!(
        text.contains("(InUseSubnetCannotBeDeleted) Subnet S is in use."),
        "{text}"
    );
    assert!(
        text.contains("(InUseNetworkInterface) NIC nic-1 uses it."),
        "{text}"
    );
}

#[tokio::test]
async fn a_failed_operation_keeps_its_details() {
    let mock = Mock::start(|s, _| {
        if s.method == "PUT" {
            reply(201, json!({"properties": {"provisioningState": "Creating"}}))
                .header("azure-asyncoperation", "/op/1")
        } else {
            reply(
                200,
                json!({"status": "Canceled", "error": {"code": "Canceled", "message": "Operation was canceled.",
                    "details": [{"code": "CanceledAndSupersededDueToAnotherOperation", "message": "Superseded by op 2."}]}}),
            )
        }
    })
    .await;
    let client = mock.client();
    let mut req = ArmRequest::new(Method::Put, CACHE).api_version(V);
    req.body = Some(json!({}));
    let op = Operation::new(
        "creation",
        CACHE,
        V,
        OperationKind::CreateOrUpdate,
        FinalState::OriginalUri,
    );
    let e = lro::run_to_end(&client, req, op, &fast_poll())
        .await
        .expect_err("canceled");
    assert!(
        e.to_string()
            .contains("CanceledAndSupersededDueToAnotherOperation"),
        "{e}"
    );
}

#[tokio::test]
async fn a_delete_whose_location_keeps_failing_follows_the_resource() {
    let mock = Mock::start(|s, _| match (s.method.as_str(), s.path()) {
        ("DELETE", _) => reply(202, Value::Null).header("location", "/op/loc"),
        (_, "/op/loc") => reply(
            500,
            arm_error("InternalServerError", "Encountered internal server error."),
        ),
        _ => reply(404, arm_error("ResourceNotFound", "gone")),
    })
    .await;
    let client = mock.client();
    let op = Operation::new(
        "deletion",
        CACHE,
        V,
        OperationKind::Delete,
        FinalState::Location,
    );
    let req = lro::request_for(&op, Method::Delete, None);
    lro::run_to_end(&client, req, op, &fast_poll())
        .await
        .expect("the resource is gone: the delete is done");
    let location_gets = mock.seen().iter().filter(|s| s.path() == "/op/loc").count();
    assert_eq!(
        location_gets, 3,
        "bounded like a transient, not 8 attempts per poll"
    );
}

#[tokio::test]
async fn an_action_whose_location_keeps_failing_fails_with_the_detail() {
    let mock = Mock::start(|s, _| match (s.method.as_str(), s.path()) {
        ("POST", _) => reply(202, Value::Null).header("location", "/op/loc"),
        _ => reply(
            500,
            json!({"error": {"code": "InternalServerError", "message": "Encountered internal server error.",
                "details": [{"code": "FlushStuck", "message": "the flush is stuck"}]}}),
        ),
    })
    .await;
    let client = mock.client();
    let op = Operation::new(
        "flush",
        CACHE,
        V,
        OperationKind::Action,
        FinalState::Location,
    );
    let req = ArmRequest::new(Method::Post, format!("{CACHE}/flush")).api_version(V);
    let e = lro::run_to_end(&client, req, op, &fast_poll())
        .await
        .expect_err("fails");
    assert!(
        e.to_string().contains("(FlushStuck) the flush is stuck"),
        "{e}"
    );
    assert_eq!(mock.seen().len(), 1 + 3);
}

#[tokio::test]
async fn retry_after_beyond_the_longest_backoff_is_honoured_within_the_budget() {
    let mock = Mock::start(|_, i| match i {
        0 => reply(429, arm_error("TooManyRequests", "slow down")).header("retry-after", "120"),
        _ => reply(200, json!({})),
    })
    .await;
    let mut options = fast_options();
    // 120 s at time scale 0.01 is 1.2 s: more than the longest backoff, within the budget.
    options.retry.max_delay = Duration::from_millis(300);
    let client = mock.client_with(options);
    let started = Instant::now();
    client
        .request(Method::Get, CACHE, V, None)
        .await
        .expect("retried");
    assert!(
        started.elapsed() >= Duration::from_millis(1150),
        "{:?}",
        started.elapsed()
    );

    // Beyond the whole budget (5 s): fail at once instead of sleeping it through.
    let mock = Mock::start(|_, _| {
        reply(429, arm_error("TooManyRequests", "slow down")).header("retry-after", "1000")
    })
    .await;
    let started = Instant::now();
    let e = mock
        .client()
        .request(Method::Get, CACHE, V, None)
        .await
        .expect_err("over budget");
    assert_eq!(e.arm_code(), Some("TooManyRequests"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

fn paged(last: usize) -> impl Fn(&azure_support::Seen, usize) -> azure_support::Reply {
    move |s, _| {
        let page: usize = s
            .uri
            .split("page=")
            .nth(1)
            .and_then(|p| p.split('&').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let next = (page < last).then(|| format!("/items?page={}", page + 1));
        reply(200, json!({"value": [page], "nextLink": next}))
    }
}

#[tokio::test]
async fn lists_are_followed_to_the_end_and_an_endless_one_is_an_error() {
    // Past the thousand pages where the list used to stop without a word.
    let mock = Mock::start(paged(1499)).await;
    let items = mock
        .client()
        .list::<usize>(ArmRequest::get("/items").api_version(V))
        .await
        .expect("every page");
    assert_eq!(items, (0..1500).collect::<Vec<_>>());

    let endless = Mock::start(paged(usize::MAX)).await;
    let e = endless
        .client()
        .list::<usize>(ArmRequest::get("/items").api_version(V))
        .await
        .expect_err("more than the cap");
    assert!(
        e.to_string().contains(&format!(
            "nextLink after {} pages",
            hpccache_core::azure::client::MAX_PAGES
        )),
        "{e}"
    );

    let looping =
        Mock::start(|_, _| reply(200, json!({"value": [1], "nextLink": "/items?page=1"}))).await;
    let e = looping
        .client()
        .list::<usize>(ArmRequest::get("/items").api_version(V))
        .await
        .expect_err("loop");
    assert!(e.to_string().contains("nextLink twice"), "{e}");
}

#[tokio::test]
async fn an_expired_token_says_when_and_what_to_do() {
    use base64::Engine;
    let part = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let token = format!(
        "{}.{}.x",
        part("{\"alg\":\"none\"}"),
        part("{\"exp\":1700000000}")
    );
    let mock = Mock::start(|_, _| {
        reply(401, arm_error("ExpiredAuthenticationToken", "The access token expiry UTC time '11/14/2023 10:13:20 PM' is earlier than current UTC time."))
    })
    .await;
    let cloud = Cloud::custom(&mock.base, None).expect("cloud");
    let client = ArmClient::new(
        cloud,
        "sub1",
        Arc::new(StaticToken::new(token)),
        fast_options(),
    )
    .expect("client");
    let e = client
        .request(Method::Get, CACHE, V, None)
        .await
        .expect_err("401");
    assert!(matches!(e, Error::TokenExpired { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("expired at 2023-11-14T22:13:20Z"), "{text}");
    assert!(text.contains("az account get-access-token"), "{text}");
    assert_eq!(mock.seen().len(), 1, "not retried");
}
