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
//! | `conflict-vnet=0.3` | that share of writes that change a vnet (subnet PUT/DELETE, vnet PUT/DELETE, private DNS vnet link PUT/DELETE) is refused 409 `AnotherOperationInProgress`, naming a (real, short) operation of another actor on the vnet; nothing of the request is applied |
//! | `supersede-vnet=0.3` | that share of those writes is accepted, then its operation ends `Canceled` (`error.details[0].code` `CanceledAndSupersededDueToAnotherOperation`), superseded by another actor's operation on the vnet; a canceled create leaves nothing behind |
//! | `target-role-error=sync400` | how a Blob storage target is refused while the cache's service principal lacks its roles: `failed` (default: the operation ends `Failed`, `StorageTargetCreationFailed`), `lowercase` (the same, code `storageTargetCreationFailed`), `sync400` (the PUT answers 400 `InvalidParameter` with the cause in `details`, nothing created), `sync400-lowercase` (the PUT answers 400 `storageTargetCreationFailed`), `internal` (the operation ends `Failed`, `AscInternalError` with no cause) |
//! | `fail-location-5xx=cache-delete` | the named operation's `Location` URL answers 500 `InternalServerError` on every poll, before and after the operation ends (its `Azure-AsyncOperation` URL is unaffected); operations: those that answer a `Location` (see [`LOCATION_OPERATIONS`]) |
//! | `retry-after=120` | every long-running answer (first answer and each poll while running) asks for that many seconds (Azure time): `Retry-After` and `retry-after-ms` scaled by the time scale as usual |
//! | `stop-after=42` | requests after the 42nd get no answer (see `stop-mode`) |
//! | `stop-mode=hang` or `stop-mode=drop` | unanswered requests hang (default) or are dropped |
//! | `seed=7` | seed of the deterministic choice (default 0) |
//!
//! Each request's fate depends only on the seed and its sequence number, so a run is
//! reproducible. The vnet faults roll on the seed and the vnet write's ordinal instead
//! (`World::vnet_writes`), salted apart: the same run of ordered vnet writes meets the same
//! faults whatever polls came between them.

use std::collections::{BTreeMap, BTreeSet};

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
    /// Share of vnet writes refused 409 `AnotherOperationInProgress`.
    pub conflict_vnet: f64,
    /// Share of vnet writes whose operation is canceled and superseded.
    pub supersede_vnet: f64,
    /// How a Blob storage target is refused while its roles are not effective.
    pub target_role_error: TargetRoleError,
    /// Operations whose `Location` URL answers 500 on every poll.
    pub location_5xx: BTreeSet<String>,
    /// `Retry-After` (Azure seconds) of every long-running answer.
    pub retry_after: Option<f64>,
}

/// The ways Azure refuses a Blob storage target while role assignments propagate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetRoleError {
    /// The operation ends `Failed` with `StorageTargetCreationFailed`.
    #[default]
    Failed,
    /// The operation ends `Failed` with `storageTargetCreationFailed`.
    Lowercase,
    /// The PUT answers 400 `InvalidParameter`, the cause in `details`.
    Sync400,
    /// The PUT answers 400 `storageTargetCreationFailed`.
    Sync400Lowercase,
    /// The operation ends `Failed` with `AscInternalError` and no cause.
    Internal,
}

impl TargetRoleError {
    pub const NAMES: &[&str] = &[
        "failed",
        "lowercase",
        "sync400",
        "sync400-lowercase",
        "internal",
    ];

    pub fn parse(v: &str) -> Option<Self> {
        Some(match v {
            "failed" => Self::Failed,
            "lowercase" => Self::Lowercase,
            "sync400" => Self::Sync400,
            "sync400-lowercase" => Self::Sync400Lowercase,
            "internal" => Self::Internal,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Lowercase => "lowercase",
            Self::Sync400 => "sync400",
            Self::Sync400Lowercase => "sync400-lowercase",
            Self::Internal => "internal",
        }
    }

    /// Whether the PUT itself is refused.
    pub fn synchronous(self) -> bool {
        matches!(self, Self::Sync400 | Self::Sync400Lowercase)
    }
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

/// Operations that answer a `Location` URL (`fail-location-5xx=<op>`): deletes, POST actions,
/// and the PUTs whose spec says `final-state-via: location`.
pub const LOCATION_OPERATIONS: &[&str] = &[
    "cache-delete",
    "cache-flush",
    "cache-stop",
    "cache-start",
    "cache-upgrade",
    "cache-debuginfo",
    "storage-target-delete",
    "storage-target-flush",
    "storage-target-suspend",
    "storage-target-resume",
    "storage-target-invalidate",
    "storage-target-dnsrefresh",
    "storage-account-create",
    "dns-zone-create",
    "dns-zone-delete",
    "vnet-link-create",
    "vnet-link-delete",
    "vnet-delete",
    "subnet-delete",
];

/// Salts that keep the independent rolls of one request apart.
const SALT_CONFLICT: u64 = 0x636f_6e66_6c69_6374;
const SALT_SUPERSEDE: u64 = 0x7375_7065_7273_6564;
const SALT_CONTENTION: u64 = 0x636f_6e74_656e_7469;

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
                    "conflict-vnet" | "supersede-vnet" => {
                        let p = rate(v).ok_or_else(|| {
                            bad(item, "the share must be a number between 0 and 1")
                        })?;
                        if k == "conflict-vnet" {
                            f.conflict_vnet = p;
                        } else {
                            f.supersede_vnet = p;
                        }
                    }
                    "target-role-error" => {
                        f.target_role_error = TargetRoleError::parse(v).ok_or_else(|| {
                            bad(
                                item,
                                &format!("variants: {}", TargetRoleError::NAMES.join(", ")),
                            )
                        })?
                    }
                    "fail-location-5xx" => {
                        if !LOCATION_OPERATIONS.contains(&v) {
                            return Err(bad(
                                item,
                                &format!(
                                    "operations that answer a Location: {}",
                                    LOCATION_OPERATIONS.join(", ")
                                ),
                            ));
                        }
                        f.location_5xx.insert(v.to_string());
                    }
                    "retry-after" => {
                        f.retry_after = Some(
                            v.parse::<f64>()
                                .ok()
                                .filter(|s| s.is_finite() && *s >= 0.0)
                                .ok_or_else(|| {
                                    bad(item, "retry-after is a number of seconds >= 0")
                                })?,
                        )
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
                let p =
                    rate(v).ok_or_else(|| bad(item, "rate must be a number between 0 and 1"))?;
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

    /// Whether the `nth` vnet write is refused by `conflict-vnet`.
    pub fn vnet_conflict(&self, nth: u64) -> bool {
        unit(self.seed ^ SALT_CONFLICT, nth) < self.conflict_vnet
    }

    /// Whether the `nth` vnet write is superseded by `supersede-vnet`.
    pub fn vnet_supersede(&self, nth: u64) -> bool {
        unit(self.seed ^ SALT_SUPERSEDE, nth) < self.supersede_vnet
    }

    /// Under natural vnet contention: whether request `seq` supersedes the running operation
    /// (else it is refused 409). Even odds, fixed by the seed.
    pub fn contention_supersedes(&self, seq: u64) -> bool {
        unit(self.seed ^ SALT_CONTENTION, seq) < 0.5
    }

    /// Whether the `Location` URL of operations named `kind` answers 500.
    pub fn location_fails(&self, kind: Option<&str>) -> bool {
        kind.is_some_and(|k| self.location_5xx.contains(k))
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

fn rate(v: &str) -> Option<f64> {
    v.parse().ok().filter(|p: &f64| (0.0..=1.0).contains(p))
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
    fn parses_the_issue_15_items() {
        let f = Faults::parse(
            "conflict-vnet=0.5,supersede-vnet=1,target-role-error=sync400-lowercase,fail-location-5xx=cache-delete,retry-after=120",
        )
        .expect("parses");
        assert_eq!(f.conflict_vnet, 0.5);
        assert!(f.vnet_supersede(1) && f.vnet_supersede(99));
        assert_eq!(f.target_role_error, TargetRoleError::Sync400Lowercase);
        assert!(f.location_fails(Some("cache-delete")));
        assert!(!f.location_fails(Some("cache-flush")));
        assert_eq!(f.retry_after, Some(120.0));
        for bad in [
            "conflict-vnet=2",
            "supersede-vnet=x",
            "target-role-error=maybe",
            "fail-location-5xx=cache-create",
            "retry-after=-1",
        ] {
            assert!(Faults::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn vnet_rolls_are_independent_of_the_error_rates() {
        let f = Faults::parse("500:0.5,conflict-vnet=0.5,seed=4").expect("parses");
        let both = (1..=2_000)
            .filter(|s| f.fate(*s) == Fate::Status(500) && f.vnet_conflict(*s))
            .count();
        assert!((350..650).contains(&both), "{both}");
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
