//! Fuzzing ARM response handling with proptest (reliability suite, issue 7 item 7; `cargo
//! fuzz` needs a nightly toolchain, see RELIABILITY.md): arbitrary JSON and arbitrary bytes
//! into every response model, the `Error::Arm` mapping, `Retry-After` parsing and scaling,
//! resource ids, and the long-running-operation decisions (first answer, terminal states,
//! failure mapping). Nothing may panic; errors must carry a code and a message.
//!
//! Bounded in CI (256 cases each); longer: `PROPTEST_CASES=100000 cargo test -p hpccache-core fuzz`.

use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};
use url::Url;

use super::client::arm_error;
use super::lro::{self, FinalState, Operation, OperationKind};
use super::transport::HttpResponse;
use super::{ArmClient, ArmResponse, ClientOptions, Cloud, ResourceId, StaticToken};
use crate::Error;

/// JSON values, biased towards the shapes ARM answers have.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "Succeeded",
            "Failed",
            "Canceled",
            "InProgress",
            "Creating",
            "Healthy",
            "",
            "10.0.0.0/16",
            "/subscriptions/s/resourceGroups/r/providers/P/t/n",
            "ClientError",
        ])
        .prop_map(|s| json!(s)),
        any::<String>().prop_map(Value::String),
    ];
    let key = prop_oneof![
        prop::sample::select(vec![
            "id",
            "name",
            "type",
            "location",
            "tags",
            "sku",
            "properties",
            "provisioningState",
            "health",
            "state",
            "statusDescription",
            "mountAddresses",
            "cacheSizeGB",
            "subnet",
            "junctions",
            "namespacePath",
            "clfs",
            "target",
            "error",
            "code",
            "message",
            "status",
            "percentComplete",
            "value",
            "nextLink",
            "addressSpace",
            "addressPrefixes",
            "subnets",
            "addressPrefix",
            "networkProfile",
            "serviceCidr",
            "podCidr",
            "serviceCidrs",
            "agentPoolProfiles",
            "vnetSubnetID",
            "nodeResourceGroup",
            "aRecords",
            "ipv4Address",
            "registrationState",
            "nameAvailable",
            "reason",
            "roleDefinitionId",
            "principalId",
            "scope",
            "capabilities",
            "virtualNetwork",
            "registrationEnabled",
            "ttl",
            "fqdn",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..7)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn arb_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop::sample::select(vec![
        "retry-after",
        "retry-after-ms",
        "x-ms-retry-after-ms",
        "azure-asyncoperation",
        "location",
        "x-ms-request-id",
        "content-type",
    ]);
    let value = prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        Just("18446744073709551615".to_owned()),
        Just("Wed, 21 Oct 2015 07:28:00 GMT".to_owned()),
        Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
        Just("-1".to_owned()),
        Just("http://127.0.0.1:1/op".to_owned()),
        any::<String>(),
    ];
    prop::collection::vec((name.prop_map(str::to_owned), value), 0..4)
}

fn response(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> ArmResponse {
    ArmResponse {
        status,
        headers,
        body,
        url: Url::parse("https://management.azure.com/x").unwrap(),
    }
}

fn models_never_panic(v: &Value) {
    use super::{aks, authorization, cache, dns, graph, network, providers, storage};
    macro_rules! try_model {
        ($($t:ty),* $(,)?) => {$(
            if let Ok(m) = serde_json::from_value::<$t>(v.clone()) {
                let _ = format!("{m:?}");
            }
        )*};
    }
    try_model!(
        cache::Cache,
        cache::StorageTarget,
        cache::ResourceSku,
        cache::UsageModel,
        aks::ManagedCluster,
        network::VirtualNetwork,
        network::Subnet,
        storage::StorageAccount,
        storage::BlobContainer,
        storage::NameAvailability,
        dns::PrivateZone,
        dns::VirtualNetworkLink,
        dns::RecordSet,
        authorization::RoleDefinition,
        authorization::RoleAssignment,
        graph::ServicePrincipal,
        providers::Provider,
        Operation,
    );
    // The helpers the steps call on parsed models.
    if let Ok(c) = serde_json::from_value::<aks::ManagedCluster>(v.clone()) {
        let _ = (c.service_cidrs(), c.pod_cidrs());
    }
    if let Ok(s) = serde_json::from_value::<network::Subnet>(v.clone()) {
        let _ = s.prefixes();
    }
    if let Ok(s) = serde_json::from_value::<cache::ResourceSku>(v.clone()) {
        let _ = s.cache_sizes_gb();
    }
    if let Ok(p) = serde_json::from_value::<providers::Provider>(v.clone()) {
        let _ = p.is_registered();
    }
    let _ = lro::provisioning_state(v);
}

fn op(kind: OperationKind) -> Operation {
    Operation::new(
        "creation",
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.StorageCache/caches/c",
        "2024-03-01",
        kind,
        FinalState::AzureAsyncOperation,
    )
}

fn client(time_scale: f64) -> ArmClient {
    let cloud = Cloud::custom("http://127.0.0.1:1", None).unwrap();
    let options = ClientOptions {
        time_scale,
        ..ClientOptions::default()
    };
    ArmClient::new(cloud, "s", Arc::new(StaticToken::new("t")), options).unwrap()
}

fn check_arm_error(e: &Error) -> Result<(), TestCaseError> {
    match e {
        Error::Arm { code, message, .. } => {
            prop_assert!(!code.is_empty());
            prop_assert!(!message.is_empty());
            let _ = e.to_string();
        }
        other => prop_assert!(false, "not an ARM error: {other}"),
    }
    Ok(())
}

proptest! {
    #[test]
    fn fuzz_response_models_never_panic(v in arb_json()) {
        models_never_panic(&v);
    }

    #[test]
    fn fuzz_arm_error_mapping_never_panics(
        status in 100u16..600,
        headers in arb_headers(),
        body in prop_oneof![
            arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            prop::collection::vec(any::<u8>(), 0..256),
        ],
    ) {
        let e = arm_error(&HttpResponse { status, headers, body });
        check_arm_error(&e)?;
        if let Error::Arm { status: s, .. } = e {
            prop_assert_eq!(s, status);
        }
    }

    #[test]
    fn fuzz_response_body_and_retry_after_never_panic(
        status in 100u16..600,
        headers in arb_headers(),
        body in prop::collection::vec(any::<u8>(), 0..256),
        scale in prop_oneof![Just(1.0), Just(0.0), Just(0.0005), Just(1e300), any::<f64>()],
    ) {
        let r = response(status, headers, body);
        let _ = r.value();
        let _ = r.json::<super::cache::Cache>();
        let _ = r.header("location");
        if let Some(d) = r.retry_after() {
            // Scaling a server's delay never panics, whatever its size (regression: mul_f64).
            let _ = client(scale).scaled(d);
        }
    }

    #[test]
    fn fuzz_lro_first_answer_never_panics(
        kind in prop::sample::select(vec![
            OperationKind::CreateOrUpdate, OperationKind::Delete, OperationKind::Action,
        ]),
        status in prop::sample::select(vec![200u16, 201, 202, 204, 299]),
        headers in arb_headers(),
        body in prop_oneof![
            arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            prop::collection::vec(any::<u8>(), 0..64),
        ],
    ) {
        let mut operation = op(kind);
        let initial = response(status, headers, body);
        operation.async_operation = initial.header("azure-asyncoperation").map(str::to_owned);
        operation.location = initial.header("location").map(str::to_owned);
        match lro::first_phase(&operation, &initial) {
            Ok(_) => {}
            Err(e @ Error::Arm { .. }) => check_arm_error(&e)?,
            Err(Error::UnexpectedResponse { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error kind: {other}"),
        }
    }

    #[test]
    fn fuzz_lro_status_and_failures_never_panic(status in any::<String>(), doc in arb_json()) {
        let o = op(OperationKind::CreateOrUpdate);
        let _ = lro::is_terminal(&status);
        check_arm_error(&lro::operation_failed(&o, &status, doc.get("error")))?;
        check_arm_error(&lro::operation_failed(&o, &status, Some(&doc)))?;
        check_arm_error(&lro::provisioning_failed(&o, &status, &doc))?;
    }

    #[test]
    fn fuzz_resource_ids_never_panic(text in prop_oneof![
        any::<String>(),
        prop::collection::vec(
            prop::sample::select(vec![
                "/", "subscriptions", "resourceGroups", "providers", "Microsoft.StorageCache",
                "caches", "c", "storageTargets", "", "..", "%2F",
            ]),
            0..12,
        )
        .prop_map(|v| v.join("/")),
    ]) {
        if let Ok(id) = ResourceId::parse(&text) {
            // A parsed id re-parses to itself.
            let again = ResourceId::parse(id.as_str()).unwrap();
            prop_assert_eq!(again.as_str(), id.as_str());
        }
    }
}

/// Regression: a Retry-After this large made `ArmClient::scaled` panic in `mul_f64`
/// ("value is either too big or NaN") at any time scale other than 1 (the sandbox's).
#[test]
fn regression_huge_retry_after_is_scaled_without_panic() {
    let r = response(
        429,
        vec![("retry-after".into(), "18446744073709551615".into())],
        Vec::new(),
    );
    let d = r.retry_after().unwrap();
    assert_eq!(client(2.0).scaled(d), Duration::MAX);
    assert!(client(0.5).scaled(d) > Duration::from_secs(1 << 62));
    assert_eq!(client(1.0).scaled(d), d);
}
