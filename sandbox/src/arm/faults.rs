//! Fault injection: error rates, dropped connections, failing operations, a crash point.
//!
//! Syntax of `--faults` (comma-separated items, any order):
//!
//! | item | effect |
//! |---|---|
//! | `500:0.1`, `503:0.05` | that share of requests answered with the status (ARM error body) |
//! | `429:0.1` | that share answered 429 `Retry-After: 1` (throttled) |
//! | `drop:0.05` | that share of connections closed without a response |
//! | `fail-cache-create=AscInternalError` | the named operation ends `Failed` with that code; operations: `cache-create`, `cache-delete`, `cache-flush`, `cache-stop`, `cache-start`, `cache-upgrade`, `storage-target-create`, `storage-target-delete`, `storage-account-create`, `dns-zone-create`, `vnet-link-create`, `subnet-create`, `amlfs-create`, `amlfs-update`, `amlfs-delete`, `amlfs-archive` (the archive ends `Failed`), `amlfs-import-job-create`, `amlfs-import-job-delete`, `amlfs-import` (the import ends `Failed`), `vnet-peering-create`, `vnet-peering-delete` |
//! | `reject-cache-create=QuotaExceeded` | the create request itself is refused synchronously (HTTP 400 with that ARM code, as Azure answers a quota or policy violation) and nothing is created; operations: `cache-create`, `amlfs-create` |
//! | `stop-after=42` | requests after the 42nd get no answer (see `stop-mode`) |
//! | `stop-mode=hang` or `stop-mode=drop` | unanswered requests hang (default) or are dropped |
//! | `seed=7` | seed of the deterministic choice (default 0) |
//!
//! Each request's fate depends only on the seed and its sequence number, so a run is
//! reproducible.

use std::collections::BTreeMap;

use crate::sandbox::SandboxError;

/// How requests after `stop_after` are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StopMode {
    #[default]
    Hang,
    Drop,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    pub seed: u64,
    /// (status, probability) for 500, 503 and 429.
    pub error_rates: Vec<(u16, f64)>,
    pub drop_rate: f64,
    /// Operation name (`cache-create`, ...) → error code the operation ends with.
    pub fail_operations: BTreeMap<String, String>,
    /// Operation name → error code its starting request is refused with (HTTP 400).
    pub reject_operations: BTreeMap<String, String>,
    pub stop_after: Option<u64>,
    pub stop_mode: StopMode,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Serve,
    Status(u16),
    Drop,
    Hang,
}

pub const OPERATIONS: &[&str] = &[
    "cache-create",
    "cache-delete",
    "cache-flush",
    "cache-stop",
    "cache-start",
    "cache-upgrade",
    "storage-target-create",
    "storage-target-delete",
    "storage-account-create",
    "dns-zone-create",
    "vnet-link-create",
    "subnet-create",
    "amlfs-create",
    "amlfs-update",
    "amlfs-delete",
    "amlfs-archive",
    "amlfs-import-job-create",
    "amlfs-import-job-delete",
    "amlfs-import",
    "vnet-peering-create",
    "vnet-peering-delete",
];

/// Operations whose starting request `reject-<op>=CODE` can refuse.
pub const REJECTABLE: &[&str] = &["cache-create", "amlfs-create"];

impl Faults {
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses the `--faults` syntax (see the module documentation).
    pub fn parse(spec: &str) -> Result<Self, SandboxError> {
        let mut f = Faults::default();
        let bad = |item: &str, why: &str| SandboxError::Faults(format!("{item:?}: {why}"));
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some((k, v)) = item.split_once('=') {
                match k {
                    "seed" => {
                        f.seed = v
                            .parse()
                            .map_err(|_| bad(item, "seed must be an integer"))?
                    }
                    "stop-after" => {
                        f.stop_after = Some(
                            v.parse()
                                .map_err(|_| bad(item, "stop-after must be an integer"))?,
                        )
                    }
                    "stop-mode" => {
                        f.stop_mode = match v {
                            "hang" => StopMode::Hang,
                            "drop" => StopMode::Drop,
                            _ => return Err(bad(item, "stop-mode is hang or drop")),
                        }
                    }
                    _ if k.starts_with("reject-") => {
                        let op = k
                            .strip_prefix("reject-")
                            .filter(|op| REJECTABLE.contains(op))
                            .ok_or_else(|| {
                                bad(
                                    item,
                                    &format!(
                                        "unknown setting; operations that can be rejected: {}",
                                        REJECTABLE.join(", ")
                                    ),
                                )
                            })?;
                        if v.is_empty() {
                            return Err(bad(item, "an error code is needed"));
                        }
                        f.reject_operations.insert(op.to_string(), v.to_string());
                    }
                    _ => {
                        let op = k
                            .strip_prefix("fail-")
                            .filter(|op| OPERATIONS.contains(op))
                            .ok_or_else(|| {
                                bad(
                                    item,
                                    &format!(
                                        "unknown setting; operations: {}",
                                        OPERATIONS.join(", ")
                                    ),
                                )
                            })?;
                        if v.is_empty() {
                            return Err(bad(item, "an error code is needed"));
                        }
                        f.fail_operations.insert(op.to_string(), v.to_string());
                    }
                }
            } else if let Some((k, v)) = item.split_once(':') {
                let p: f64 = v
                    .parse()
                    .ok()
                    .filter(|p: &f64| (0.0..=1.0).contains(p))
                    .ok_or_else(|| bad(item, "rate must be a number between 0 and 1"))?;
                match k {
                    "500" | "503" | "429" => f.error_rates.push((k.parse().unwrap_or(500), p)),
                    "drop" => f.drop_rate = p,
                    _ => return Err(bad(item, "rates are for 500, 503, 429 or drop")),
                }
            } else {
                return Err(bad(item, "expected KIND:RATE or NAME=VALUE"));
            }
        }
        Ok(f)
    }

    /// Builder: fail the named operation with `code`.
    pub fn fail_operation(mut self, op: &str, code: &str) -> Self {
        self.fail_operations
            .insert(op.to_string(), code.to_string());
        self
    }

    /// The error code an operation is made to fail with, if any.
    pub fn failure_for(&self, op: &str) -> Option<&str> {
        self.fail_operations.get(op).map(String::as_str)
    }

    /// The error code the starting request of an operation is refused with, if any.
    pub fn rejection_for(&self, op: &str) -> Option<&str> {
        self.reject_operations.get(op).map(String::as_str)
    }

    /// The fate of the request with sequence number `seq` (1-based).
    pub fn fate(&self, seq: u64) -> Fate {
        if let Some(n) = self.stop_after
            && seq > n
        {
            return match self.stop_mode {
                StopMode::Hang => Fate::Hang,
                StopMode::Drop => Fate::Drop,
            };
        }
        let roll = unit(self.seed, seq);
        let mut acc = self.drop_rate;
        if roll < acc {
            return Fate::Drop;
        }
        for (status, p) in &self.error_rates {
            acc += p;
            if roll < acc {
                return Fate::Status(*status);
            }
        }
        Fate::Serve
    }
}

/// A number in [0, 1) from (seed, seq): splitmix64, so the same pair always rolls the same.
fn unit(seed: u64, seq: u64) -> f64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(seq.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(0x94D0_49BB_1331_11EB);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let f = Faults::parse(
            "500:0.1,503:0.05,429:0.1,drop:0.05,fail-cache-create=AscInternalError,stop-after=42,seed=7",
        )
        .expect("parses");
        assert_eq!(f.seed, 7);
        assert_eq!(f.stop_after, Some(42));
        assert_eq!(f.error_rates.len(), 3);
        assert_eq!(f.failure_for("cache-create"), Some("AscInternalError"));
        assert_eq!(f.fate(43), Fate::Hang);
    }

    #[test]
    fn rejects_unknown_items() {
        assert!(Faults::parse("fail-everything=X").is_err());
        assert!(Faults::parse("404:0.1").is_err());
        assert!(Faults::parse("500:2").is_err());
        assert!(Faults::parse("reject-dns-zone-create=X").is_err());
        assert_eq!(
            Faults::parse("reject-cache-create=QuotaExceeded")
                .expect("parses")
                .rejection_for("cache-create"),
            Some("QuotaExceeded")
        );
    }

    #[test]
    fn rates_are_roughly_honoured_and_deterministic() {
        let f = Faults::parse("500:0.2,seed=3").expect("parses");
        let hits = (1..=10_000)
            .filter(|s| f.fate(*s) == Fate::Status(500))
            .count();
        assert!((1_700..2_300).contains(&hits), "{hits}");
        let again = (1..=10_000)
            .filter(|s| f.fate(*s) == Fate::Status(500))
            .count();
        assert_eq!(hits, again);
    }
}
