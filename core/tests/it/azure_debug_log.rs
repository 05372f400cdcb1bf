//! The `--debug` log of ArmClient never shows a secret. In a test binary of its own: a
//! thread-scoped tracing subscriber races with other tests that first hit the same log
//! call sites on other threads (their interest is cached as "never"), which made this
//! assertion fail about one run in six when it shared a binary.

use crate::azure_support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use azure_support::{Mock, TOKEN, reply};
use hpccache_core::azure::{ArmRequest, Method};
use serde_json::json;

const V: &str = "2024-03-01";
const CACHE: &str =
    "/subscriptions/sub1/resourceGroups/RG/providers/Microsoft.StorageCache/caches/Cache1";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn debug_log_never_shows_secrets() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mock = Mock::start(|_, _| {
        reply(
            200,
            json!({"kubeconfigs": [{"name": "clusterUser", "value": "S1VCRUNPTkZJRy1TRUNSRVQ="}],
                          "properties": {"primaryKey": "storage-key-secret"}}),
        )
        .header(
            "location",
            "https://x.blob.core.windows.net/c?sv=1&sig=SASSIGNATURE",
        )
    })
    .await;
    let client = mock.client();
    client
        .send(
            ArmRequest::new(Method::Post, format!("{CACHE}/listClusterUserCredential"))
                .api_version(V)
                .json(json!({"clientSecret": "my-client-secret", "name": "visible"})),
        )
        .await
        .unwrap();
    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("listClusterUserCredential"),
        "request is logged: {log}"
    );
    assert!(log.contains("visible"));
    for secret in [
        TOKEN,
        "S1VCRUNPTkZJRy1TRUNSRVQ=",
        "storage-key-secret",
        "my-client-secret",
        "SASSIGNATURE",
    ] {
        assert!(!log.contains(secret), "{secret} leaked into: {log}");
    }
}
