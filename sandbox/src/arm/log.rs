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
                let _ = writeln!(f, "{line}");
            }
        }
        if let Ok(mut r) = self.records.lock() {
            r.push(record);
        }
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
