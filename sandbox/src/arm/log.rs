//! The request log: every request the ARM server saw, for tests and `--log FILE`.
//!
//! Never holds the Authorization header (nor any header).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// 1-based, in arrival order.
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub api_version: Option<String>,
    /// `None` when no response was sent (dropped or hung by a fault).
    pub status: Option<u16>,
    pub duration_ms: u64,
    /// The request body as JSON (or a string when it was not JSON); `None` when empty.
    pub body: Option<Value>,
    /// Resource type the path addresses, e.g. `Microsoft.StorageCache/caches`.
    pub resource_type: String,
    /// The injected fault, if any (`500`, `drop`, `hang`...).
    pub fault: Option<String>,
    /// Arrival time, milliseconds since the Unix epoch (gaps between attempts show whether a
    /// client honoured Retry-After and backed off).
    #[serde(default)]
    pub at_ms: u64,
    /// The client's `x-ms-client-request-id`: retries of one logical request share it, so
    /// the log shows how many attempts each request took. Not a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
}

#[derive(Debug, Default)]
pub struct RequestLog {
    records: Mutex<Vec<RequestRecord>>,
    file: Option<PathBuf>,
}

impl RequestLog {
    pub fn new(file: Option<PathBuf>) -> Self {
        RequestLog {
            records: Mutex::new(Vec::new()),
            file,
        }
    }

    pub fn push(&self, record: RequestRecord) {
        if let Some(path) = &self.file {
            // A log file that cannot be written must not fail the request it describes.
            if let Ok(line) = serde_json::to_string(&record)
                && let Ok(mut f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
            {
                // One write(2) per record: `writeln!` may split line and newline into two
                // writes, and concurrent requests then interleave them into torn lines.
                let _ = f.write_all(format!("{line}\n").as_bytes());
            }
        }
        if let Ok(mut r) = self.records.lock() {
            r.push(record);
        }
    }

    /// How many requests were logged, without copying them.
    pub fn len(&self) -> usize {
        self.records.lock().map(|r| r.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn records(&self) -> Vec<RequestRecord> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Requests per resource type.
    pub fn count_by_type(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for r in self.records() {
            *m.entry(r.resource_type).or_insert(0) += 1;
        }
        m
    }

    /// Requests per HTTP method.
    pub fn count_by_verb(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for r in self.records() {
            *m.entry(r.method).or_insert(0) += 1;
        }
        m
    }
}
