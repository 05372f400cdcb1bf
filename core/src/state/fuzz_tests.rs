//! Fuzzing the state-file parser with proptest (reliability suite, issue 7 item 7; `cargo
//! fuzz` needs a nightly toolchain, see RELIABILITY.md): arbitrary bytes and mutations of a
//! valid document never panic; whatever parses is a document of ours (right kind, a version
//! this build understands) that survives a save/parse round trip unchanged; a corrupt file is
//! never overwritten.
//!
//! Bounded in CI (256 cases each); longer: `PROPTEST_CASES=100000 cargo test -p hpccache-core fuzz`.

use std::path::Path;

use proptest::prelude::*;

use super::file::parse;
use super::schema::{CacheInfo, ClusterInfo, DnsInfo, KIND, Resource, SCHEMA_VERSION, State};

fn valid() -> State {
    let sub = "00000000-0000-0000-0000-000000000000";
    let mut s = State::new("MyHpcCache", "AzureCloud", sub);
    s.cluster = Some(ClusterInfo {
        id: format!(
            "/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c"
        ),
        name: "c".into(),
        resource_group: "rg".into(),
        location: "eastus".into(),
        node_resource_group: "MC_rg_c_eastus".into(),
        vnet_id: Some(
            "/subscriptions/x/resourceGroups/MC/providers/Microsoft.Network/virtualNetworks/v"
                .into(),
        ),
        service_cidr: Some("10.0.0.0/16".into()),
        pod_cidr: None,
    });
    s.resources.insert(
        "cache".into(),
        Resource {
            id: format!("/subscriptions/{sub}/resourceGroups/MC/providers/Microsoft.StorageCache/caches/MyHpcCache"),
            created: true,
            tagged: false,
        },
    );
    s.cache = Some(CacheInfo {
        sku: "Standard_2G".into(),
        cache_size_gb: 3072,
        mount_addresses: vec!["10.225.0.4".into(), "10.225.0.5".into()],
        root_squash: true,
    });
    s.dns = Some(DnsInfo {
        zone: "myhpccache.local".into(),
        record: "server".into(),
        fqdn: "server.myhpccache.local".into(),
    });
    s.namespace_paths = vec!["/myfilepath".into()];
    s
}

fn valid_bytes() -> Vec<u8> {
    serde_json::to_vec_pretty(&valid()).unwrap()
}

/// What a successful parse promises.
fn check_parsed(state: &State) -> Result<(), TestCaseError> {
    prop_assert_eq!(state.kind.as_str(), KIND);
    prop_assert!(state.version <= SCHEMA_VERSION);
    let again = serde_json::to_vec(state).unwrap();
    let back = parse(Path::new("fuzz.json"), &again).expect("a parsed state re-parses");
    prop_assert_eq!(&back, state);
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Truncate(usize),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (
            any::<usize>(),
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..8),
                prop::sample::select(vec![
                    b"null".to_vec(),
                    b"\"".to_vec(),
                    b"{".to_vec(),
                    b"}".to_vec(),
                    b"[".to_vec(),
                    b",".to_vec(),
                    b"99999999999999999999".to_vec(),
                    b"-1".to_vec(),
                    b"1e999".to_vec(),
                    b"\\u0000".to_vec(),
                    b"\xff\xfe".to_vec(),
                ]),
            ]
        )
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut doc: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let len = doc.len().max(1);
        match m {
            Mutation::Flip(i, b) if !doc.is_empty() => doc[i % len] = *b,
            Mutation::Delete(i, n) if !doc.is_empty() => {
                let start = i % len;
                let end = (start + n).min(doc.len());
                doc.drain(start..end);
            }
            Mutation::Insert(i, bytes) => {
                let at = i % (doc.len() + 1);
                doc.splice(at..at, bytes.iter().copied());
            }
            Mutation::Truncate(i) => doc.truncate(i % len),
            _ => {}
        }
    }
    doc
}

/// Valid documents with one field set to an arbitrary JSON value.
fn arb_field_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        any::<String>().prop_map(|s| json!(s)),
        Just(json!([])),
        Just(json!({})),
        Just(json!({"id": 1, "created": "yes"})),
    ]
}

proptest! {
    #[test]
    fn fuzz_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(state) = parse(Path::new("fuzz.json"), &bytes) {
            check_parsed(&state)?;
        }
    }

    #[test]
    fn fuzz_mutated_valid_documents_never_panic(muts in prop::collection::vec(arb_mutation(), 1..6)) {
        let doc = apply(valid_bytes(), &muts);
        if let Ok(state) = parse(Path::new("fuzz.json"), &doc) {
            check_parsed(&state)?;
        }
    }

    #[test]
    fn fuzz_valid_documents_with_one_field_replaced(
        field in prop::sample::select(vec![
            "kind", "version", "deployment", "cloud", "subscriptionId", "cluster", "resources",
            "cache", "dns", "namespacePaths", "kube", "steps", "operations", "settings",
            "sandbox", "armEndpoint",
        ]),
        value in arb_field_value(),
    ) {
        let mut doc: serde_json::Value = serde_json::from_slice(&valid_bytes()).unwrap();
        doc[field] = value.clone();
        let bytes = serde_json::to_vec(&doc).unwrap();
        match parse(Path::new("fuzz.json"), &bytes) {
            Ok(state) => check_parsed(&state)?,
            Err(e) => {
                // Refusals name the file and say it was left untouched, or that it is newer.
                let msg = e.to_string();
                prop_assert!(msg.contains("fuzz.json"), "{}", msg);
            }
        }
        // A wrong kind, or a version above ours, is never accepted.
        if field == "kind" && value != serde_json::json!(KIND) {
            prop_assert!(parse(Path::new("fuzz.json"), &bytes).is_err());
        }
        if field == "version" && value.as_u64().is_some_and(|v| v > u64::from(SCHEMA_VERSION)) {
            prop_assert!(parse(Path::new("fuzz.json"), &bytes).is_err());
        }
    }

    /// Whatever bytes are in the file, a save over them either refuses (and leaves them) or
    /// the bytes were a valid state.
    #[test]
    fn fuzz_save_never_overwrites_what_does_not_parse(muts in prop::collection::vec(arb_mutation(), 1..4)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.json");
        let doc = apply(valid_bytes(), &muts);
        std::fs::write(&path, &doc).unwrap();
        let locked = super::LockedState::lock(&path).unwrap();
        let parses = parse(&path, &doc).is_ok();
        let saved = locked.save(&valid()).is_ok();
        prop_assert_eq!(saved, parses);
        if !saved {
            prop_assert_eq!(std::fs::read(&path).unwrap(), doc);
        }
    }
}

/// The unmutated document parses (so the mutation tests start from something valid).
#[test]
fn the_seed_document_is_valid() {
    assert_eq!(parse(Path::new("d.json"), &valid_bytes()).unwrap(), valid());
}
