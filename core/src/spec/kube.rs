//! Kubernetes values: object and namespace names, workload references, container mount paths,
//! volume sizes and label selectors, checked with the API server's own rules so that `apply`
//! does not fail halfway through.

use std::collections::BTreeMap;
use std::fmt;

use super::text::{bad_chars, char_name, length_problem, quote};
use crate::InvalidInput;

const SUBDOMAIN_MAX: usize = 253;
const LABEL_MAX: usize = 63;

fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// What is wrong with `v` as an RFC 1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, ≤ 63).
fn label_problem(v: &str) -> Option<String> {
    length_problem(v.chars().count(), 1, LABEL_MAX)
        .or_else(|| bad_chars(v, |c| lower_alnum(c) || c == '-'))
        .or_else(|| {
            (v.starts_with('-') || v.ends_with('-'))
                .then(|| "it starts or ends with '-'".to_owned())
        })
}

/// What is wrong with `v` as an RFC 1123 subdomain: ≤ 253, dot-separated labels.
fn subdomain_problem(v: &str) -> Option<String> {
    if let Some(p) = length_problem(v.chars().count(), 1, SUBDOMAIN_MAX) {
        return Some(p);
    }
    if let Some(p) = bad_chars(v, |c| lower_alnum(c) || c == '-' || c == '.') {
        return Some(p);
    }
    v.split('.').find_map(|part| {
        if part.is_empty() {
            Some("it has an empty part between periods, or starts or ends with '.'".to_owned())
        } else if !part.starts_with(lower_alnum) || !part.ends_with(lower_alnum) {
            Some(format!("its part {} starts or ends with '-'", quote(part)))
        } else {
            None
        }
    })
}

const SUBDOMAIN_HINT: &str = "Use at most 253 lowercase letters, digits, '-' and '.', each part between periods starting and ending with a letter or digit";
const LABEL_HINT: &str =
    "Use 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit";

/// A name for a PersistentVolume, claim or workload (an RFC 1123 subdomain).
pub fn dns1123_subdomain(flag: &str, v: &str) -> Result<String, InvalidInput> {
    match subdomain_problem(v) {
        None => Ok(v.to_owned()),
        Some(reason) => Err(InvalidInput::new(
            flag,
            format!(
                "{} is not a valid Kubernetes object name: {reason}",
                quote(v)
            ),
        )
        .hint(SUBDOMAIN_HINT)),
    }
}

/// A namespace name (an RFC 1123 label).
pub fn dns1123_label(flag: &str, v: &str) -> Result<String, InvalidInput> {
    match label_problem(v) {
        None => Ok(v.to_owned()),
        Some(reason) => Err(InvalidInput::new(
            flag,
            format!(
                "{} is not a valid Kubernetes namespace name: {reason}",
                quote(v)
            ),
        )
        .hint(LABEL_HINT)),
    }
}

/// A workload whose pods get the volume.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Workload {
    Deployment(String),
    StatefulSet(String),
    DaemonSet(String),
}

impl Workload {
    pub fn name(&self) -> &str {
        match self {
            Workload::Deployment(n) | Workload::StatefulSet(n) | Workload::DaemonSet(n) => n,
        }
    }

    /// The object's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Workload::Deployment(_) => "Deployment",
            Workload::StatefulSet(_) => "StatefulSet",
            Workload::DaemonSet(_) => "DaemonSet",
        }
    }

    /// The resource in the `apps/v1` API path, e.g. `deployments`.
    pub fn resource(&self) -> &'static str {
        match self {
            Workload::Deployment(_) => "deployments",
            Workload::StatefulSet(_) => "statefulsets",
            Workload::DaemonSet(_) => "daemonsets",
        }
    }
}

/// `deployment/web`, as kubectl prints a reference.
impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind().to_ascii_lowercase(), self.name())
    }
}

const WORKLOAD_HINT: &str =
    "Use deployment/NAME, statefulset/NAME or daemonset/NAME (or deploy/, sts/, ds/)";

/// `deployment/NAME`, `statefulset/NAME` or `daemonset/NAME`, with the short names, plurals
/// and `.apps` forms kubectl also takes, in any letter case.
pub fn workload(flag: &str, v: &str) -> Result<Workload, InvalidInput> {
    let Some((kind, name)) = v.split_once('/') else {
        return Err(InvalidInput::new(
            flag,
            format!("{} does not say which kind of workload it is", quote(v)),
        )
        .hint(WORKLOAD_HINT));
    };
    let make: fn(String) -> Workload = match kind.to_ascii_lowercase().trim_end_matches(".apps") {
        "deployment" | "deployments" | "deploy" => Workload::Deployment,
        "statefulset" | "statefulsets" | "sts" => Workload::StatefulSet,
        "daemonset" | "daemonsets" | "ds" => Workload::DaemonSet,
        _ => {
            return Err(InvalidInput::new(
                flag,
                format!(
                    "{}: {} is not a workload kind the volume can be mounted into",
                    quote(v),
                    quote(kind)
                ),
            )
            .hint(WORKLOAD_HINT));
        }
    };
    if let Some(reason) = subdomain_problem(name) {
        return Err(InvalidInput::new(
            flag,
            format!(
                "{}: {} is not a valid workload name: {reason}",
                quote(v),
                quote(name)
            ),
        )
        .hint(SUBDOMAIN_HINT));
    }
    Ok(make(name.to_owned()))
}

/// An absolute path inside the container (`/mnt/azure`); a trailing slash is dropped.
pub fn mount_path(flag: &str, v: &str) -> Result<String, InvalidInput> {
    let bad = |reason: String| {
        InvalidInput::new(
            flag,
            format!("{} is not a valid mount path: {reason}", quote(v)),
        )
        .hint("Use an absolute path inside the container, such as /mnt/azure")
    };
    if !v.starts_with('/') {
        return Err(bad("it is not an absolute path".to_owned()));
    }
    if let Some(c) = v.chars().find(|c| c.is_control()) {
        return Err(bad(format!("it contains {}", char_name(c))));
    }
    if v.split('/').any(|s| s == "..") {
        return Err(bad("it has a \"..\" segment".to_owned()));
    }
    let path = v.trim_end_matches('/');
    if path.is_empty() {
        return Err(bad(
            "it would cover the container's root directory".to_owned()
        ));
    }
    Ok(path.to_owned())
}

/// Kubernetes reads quantities as signed 64-bit values.
pub const MAX_QUANTITY_BYTES: u64 = i64::MAX as u64;

const SUFFIXES: &[(&str, u64)] = &[
    ("Ei", 1 << 60),
    ("Pi", 1 << 50),
    ("Ti", 1 << 40),
    ("Gi", 1 << 30),
    ("Mi", 1 << 20),
    ("Ki", 1 << 10),
    ("E", 1_000_000_000_000_000_000),
    ("P", 1_000_000_000_000_000),
    ("T", 1_000_000_000_000),
    ("G", 1_000_000_000),
    ("M", 1_000_000),
    ("k", 1_000),
];

const QUANTITY_HINT: &str = "Use a whole number with an optional suffix, such as 100Gi, 10Ti or 500G (binary: Ki Mi Gi Ti Pi Ei; decimal: k M G T P E)";

/// A volume size as a Kubernetes quantity (`100Gi`, `500G`, `1073741824`), in bytes.
///
/// Fractions and exponents, valid in Kubernetes, are refused: nobody means `1.5e3Gi` for a
/// volume, and whole numbers keep the arithmetic exact.
pub fn quantity(flag: &str, v: &str) -> Result<u64, InvalidInput> {
    let bad = |reason: String, hint: String| {
        InvalidInput::new(flag, format!("{} is not a valid size: {reason}", quote(v))).hint(hint)
    };
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (digits, suffix) = v.split_at(split);
    if digits.is_empty() {
        return Err(bad(
            "it does not start with a number".to_owned(),
            QUANTITY_HINT.to_owned(),
        ));
    }
    if suffix.starts_with('.') {
        return Err(bad(
            "it is not a whole number".to_owned(),
            "Use a smaller unit to stay whole, e.g. 1536Gi instead of 1.5Ti".to_owned(),
        ));
    }
    let multiplier = match suffix {
        "" => 1,
        s => match SUFFIXES.iter().find(|(name, _)| *name == s) {
            Some(&(_, m)) => m,
            None => return Err(bad(suffix_problem(s), QUANTITY_HINT.to_owned())),
        },
    };
    let too_big = || {
        bad(
            format!("it is more than {MAX_QUANTITY_BYTES} bytes"),
            "Use at most 7Ei".to_owned(),
        )
    };
    let bytes = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .filter(|&b| b <= MAX_QUANTITY_BYTES)
        .ok_or_else(too_big)?;
    if bytes == 0 {
        return Err(bad("it is zero".to_owned(), QUANTITY_HINT.to_owned()));
    }
    Ok(bytes)
}

/// Why a suffix is wrong, guessing the unit that was meant.
fn suffix_problem(s: &str) -> String {
    if s == "m" {
        return "\"m\" means thousandths (milli), not mega; mega is \"M\"".to_owned();
    }
    let t = s.trim();
    // `GB` and `GiB` name a unit exactly; a bare `g` or `K` could be either system.
    let meant: Vec<&str> = match t.strip_suffix(['B', 'b']) {
        Some(unit) => SUFFIXES
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| n.eq_ignore_ascii_case(unit))
            .collect(),
        None => SUFFIXES
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| n.eq_ignore_ascii_case(t) || n.eq_ignore_ascii_case(&format!("{t}i")))
            .collect(),
    };
    if meant.is_empty() {
        format!("{} is not a unit", quote(s))
    } else {
        format!(
            "{} is not a unit; did you mean {}?",
            quote(s),
            meant.join(" or ")
        )
    }
}

/// The shortest exact quantity for a byte count, binary units winning ties (`1073741824` →
/// `1Gi`, `500000000000` → `500G`, `1023` → `1023`).
pub fn quantity_string(bytes: u64) -> String {
    if bytes == 0 {
        return "0".to_owned();
    }
    SUFFIXES
        .iter()
        .filter(|(_, m)| bytes.is_multiple_of(*m))
        .map(|(s, m)| format!("{}{s}", bytes / m))
        .chain(std::iter::once(bytes.to_string()))
        .min_by_key(String::len)
        .unwrap_or_else(|| bytes.to_string())
}

/// The capacity to give a PersistentVolume for a cache of `gb` GB, written the way the guide
/// writes it (`3072` → `3072Gi`) rather than canonicalised to `3Ti`.
pub fn cache_size_quantity(gb: u32) -> String {
    format!("{gb}Gi")
}

/// One term of an equality-based label selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Requirement {
    /// `key=value` (or `key==value`)
    Equals { key: String, value: String },
    /// `key!=value`
    NotEquals { key: String, value: String },
    /// `key`
    Exists { key: String },
    /// `!key`
    DoesNotExist { key: String },
}

impl Requirement {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Requirement::Equals { key, value } => labels.get(key) == Some(value),
            // As in Kubernetes, an absent key satisfies `!=`.
            Requirement::NotEquals { key, value } => labels.get(key) != Some(value),
            Requirement::Exists { key } => labels.contains_key(key),
            Requirement::DoesNotExist { key } => !labels.contains_key(key),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Requirement::Equals { key, value } => write!(f, "{key}={value}"),
            Requirement::NotEquals { key, value } => write!(f, "{key}!={value}"),
            Requirement::Exists { key } => f.write_str(key),
            Requirement::DoesNotExist { key } => write!(f, "!{key}"),
        }
    }
}

/// A label selector whose terms must all hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
}

impl LabelSelector {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

/// The selector in the form the API's `labelSelector` query parameter takes.
impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            r.fmt(f)?;
        }
        Ok(())
    }
}

const SELECTOR_HINT: &str =
    "Use comma-separated terms key=value, key!=value, key or !key, e.g. team=research,env!=dev";
const KEY_HINT: &str = "A label key is an optional DNS subdomain prefix and '/', then a name of 1 to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit";
const VALUE_HINT: &str = "A label value is empty or up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit";

/// `--namespace-selector` and the like: equality-based terms separated by commas.
pub fn label_selector(flag: &str, v: &str) -> Result<LabelSelector, InvalidInput> {
    let bad = |problem: String, hint: &str| InvalidInput::new(flag, problem).hint(hint);
    if v.trim().is_empty() {
        return Err(bad("the selector is empty".to_owned(), SELECTOR_HINT));
    }
    if v.contains('(') || v.contains(')') {
        return Err(bad(
            format!(
                "{}: set-based terms (in, notin) are not supported",
                quote(v)
            ),
            SELECTOR_HINT,
        ));
    }
    let mut requirements = Vec::new();
    for term in v.split(',').map(str::trim) {
        if term.is_empty() {
            return Err(bad(
                format!("{} has an empty term between commas", quote(v)),
                SELECTOR_HINT,
            ));
        }
        let (key, op, value) = if let Some(key) = term.strip_prefix('!') {
            (key, "!", None)
        } else if let Some((k, val)) = term.split_once("!=") {
            (k, "!=", Some(val))
        } else if let Some((k, val)) = term.split_once("==") {
            (k, "=", Some(val))
        } else if let Some((k, val)) = term.split_once('=') {
            (k, "=", Some(val))
        } else {
            (term, "", None)
        };
        let (key, value) = (key.trim(), value.map(str::trim));
        if let Some(reason) = label_key_problem(key) {
            return Err(bad(
                format!("{}: label key {} {reason}", quote(term), quote(key)),
                KEY_HINT,
            ));
        }
        if let Some(reason) = value.and_then(label_value_problem) {
            return Err(bad(
                format!(
                    "{}: label value {} {reason}",
                    quote(term),
                    quote(value.unwrap_or_default())
                ),
                VALUE_HINT,
            ));
        }
        let key = key.to_owned();
        requirements.push(match (op, value) {
            ("!", _) => Requirement::DoesNotExist { key },
            ("!=", Some(value)) => Requirement::NotEquals {
                key,
                value: value.to_owned(),
            },
            (_, Some(value)) => Requirement::Equals {
                key,
                value: value.to_owned(),
            },
            (_, None) => Requirement::Exists { key },
        });
    }
    Ok(LabelSelector { requirements })
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// A label name or value body: `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, ≤ 63.
fn label_name_problem(v: &str) -> Option<String> {
    if let Some(p) = length_problem(v.chars().count(), 1, LABEL_MAX) {
        return Some(p.replacen("it is", "is", 1));
    }
    if let Some(p) = bad_chars(v, name_char) {
        return Some(p.replacen("it contains", "contains", 1));
    }
    (!v.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !v.ends_with(|c: char| c.is_ascii_alphanumeric()))
    .then(|| "starts or ends with a character other than a letter or digit".to_owned())
}

fn label_key_problem(key: &str) -> Option<String> {
    match key.rsplit_once('/') {
        Some((prefix, name)) => subdomain_problem(prefix)
            .map(|p| format!("has an invalid prefix {}: {p}", quote(prefix)))
            .or_else(|| label_name_problem(name)),
        None => label_name_problem(key),
    }
}

fn label_value_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        None
    } else {
        label_name_problem(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn subdomains() {
        for good in ["pv-nfs", "pvc-nfs", "a", "my.pv.1", "0", &"a".repeat(253)] {
            assert_eq!(dns1123_subdomain("--name", good).as_deref(), Ok(good));
        }
        for (bad, why) in [
            ("", "it is empty"),
            (&"a".repeat(254), "254 characters long, more than 253"),
            ("PV", "uppercase 'P'"),
            ("pv_nfs", "'_'"),
            ("-pv", "starts or ends with '-'"),
            ("pv-", "starts or ends with '-'"),
            ("a.-b", "starts or ends with '-'"),
            ("a..b", "empty part"),
            (".a", "empty part"),
            ("a.", "empty part"),
        ] {
            let e = dns1123_subdomain("--name", bad).unwrap_err();
            assert_eq!(e.flag, "--name");
            assert!(e.problem.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn labels() {
        for good in ["default", "kube-system", "a", "0a", &"n".repeat(63)] {
            assert_eq!(dns1123_label("-n", good).as_deref(), Ok(good));
        }
        for (bad, why) in [
            ("", "it is empty"),
            (&"n".repeat(64), "64 characters long, more than 63"),
            ("my.ns", "'.'"),
            ("MyNs", "uppercase 'M'"),
            ("-ns", "starts or ends with '-'"),
            ("ns-", "starts or ends with '-'"),
        ] {
            let e = dns1123_label("--namespace", bad).unwrap_err();
            assert!(e.problem.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn workloads() {
        for (given, want) in [
            ("deployment/web", Workload::Deployment("web".into())),
            ("deploy/web", Workload::Deployment("web".into())),
            ("Deployments.apps/web", Workload::Deployment("web".into())),
            ("statefulset/db-0", Workload::StatefulSet("db-0".into())),
            ("sts/db", Workload::StatefulSet("db".into())),
            ("daemonset/agent", Workload::DaemonSet("agent".into())),
            ("ds/agent", Workload::DaemonSet("agent".into())),
        ] {
            assert_eq!(workload("--workload", given), Ok(want), "{given}");
        }
        let w = workload("-w", "sts/db").unwrap();
        assert_eq!(
            (w.kind(), w.resource(), w.name()),
            ("StatefulSet", "statefulsets", "db")
        );
        assert_eq!(w.to_string(), "statefulset/db");
        for (bad, why) in [
            ("web", "does not say which kind"),
            ("pod/web", "\"pod\" is not a workload kind"),
            ("job/x", "\"job\" is not a workload kind"),
            ("deployment/", "\"\" is not a valid workload name"),
            ("deployment/Web", "uppercase 'W'"),
            ("deployment/a/b", "'/'"),
        ] {
            let e = workload("--workload", bad).unwrap_err();
            assert_eq!(e.flag, "--workload");
            assert!(e.problem.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn mount_paths() {
        for (given, want) in [
            ("/mnt/azure", "/mnt/azure"),
            ("/mnt/azure/", "/mnt/azure"),
            ("/data", "/data"),
            ("/my data/x.y", "/my data/x.y"),
        ] {
            assert_eq!(mount_path("--mount-path", given).as_deref(), Ok(want));
        }
        for (bad, why) in [
            ("", "not an absolute path"),
            ("mnt/azure", "not an absolute path"),
            ("/", "root directory"),
            ("//", "root directory"),
            ("/mnt/../etc", "\"..\" segment"),
            ("/mnt/\n", "'\\n'"),
        ] {
            let e = mount_path("--mount-path", bad).unwrap_err();
            assert!(e.problem.contains(why), "{bad:?}: {e}");
        }
    }

    const GI: u64 = 1 << 30;

    #[test]
    fn quantities() {
        for (given, want) in [
            ("100Gi", 100 * GI),
            ("10Ti", 10 << 40),
            ("3072Gi", 3072 * GI),
            ("10000Gi", 10000 * GI),
            ("500G", 500_000_000_000),
            ("1", 1),
            ("1073741824", GI),
            ("1Ki", 1024),
            ("1k", 1000),
            ("2Mi", 2 << 20),
            ("2M", 2_000_000),
            ("3T", 3_000_000_000_000),
            ("1Pi", 1 << 50),
            ("1P", 1_000_000_000_000_000),
            ("7Ei", 7 << 60),
            ("9E", 9_000_000_000_000_000_000),
            ("9223372036854775807", i64::MAX as u64),
        ] {
            assert_eq!(quantity("--size", given), Ok(want), "{given}");
        }
        for (bad, why) in [
            ("", "does not start with a number"),
            ("Gi", "does not start with a number"),
            ("-1Gi", "does not start with a number"),
            ("0", "it is zero"),
            ("0Gi", "it is zero"),
            ("1.5Ti", "not a whole number"),
            ("100m", "thousandths"),
            ("100gi", "did you mean Gi?"),
            ("100GB", "did you mean G?"),
            ("100GiB", "did you mean Gi?"),
            ("100K", "did you mean Ki or k?"),
            ("1e3", "\"e3\" is not a unit"),
            ("100 Gi", "\" Gi\" is not a unit"),
            ("100Xi", "\"Xi\" is not a unit"),
            ("8Ei", "more than 9223372036854775807 bytes"),
            ("10E", "more than"),
            ("9223372036854775808", "more than"),
            ("99999999999999999999999Gi", "more than"),
        ] {
            let e = quantity("--size", bad).unwrap_err();
            assert_eq!(e.flag, "--size");
            assert!(e.problem.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn quantity_strings() {
        for (bytes, want) in [
            (0, "0"),
            (1, "1"),
            (1000, "1k"),
            (1024, "1Ki"),
            (GI, "1Gi"),
            (100 * GI, "100Gi"),
            (3072 * GI, "3Ti"),
            (500_000_000_000, "500G"),
            (1023, "1023"),
            (2_048_000, "2048k"),
            (1_024_000, "1024k"),
        ] {
            assert_eq!(quantity_string(bytes), want, "{bytes}");
        }
        assert_eq!(cache_size_quantity(3072), "3072Gi");
        assert_eq!(
            quantity("--size", &cache_size_quantity(3072)),
            Ok(3072 * GI)
        );
    }

    fn label_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selectors_parse_and_match() {
        let s = label_selector(
            "--namespace-selector",
            "team=research, env!=dev,hpccache,!legacy",
        )
        .unwrap();
        assert_eq!(
            s.requirements,
            [
                Requirement::Equals {
                    key: "team".into(),
                    value: "research".into()
                },
                Requirement::NotEquals {
                    key: "env".into(),
                    value: "dev".into()
                },
                Requirement::Exists {
                    key: "hpccache".into()
                },
                Requirement::DoesNotExist {
                    key: "legacy".into()
                },
            ]
        );
        assert_eq!(s.to_string(), "team=research,env!=dev,hpccache,!legacy");
        assert!(s.matches(&label_map(&[("team", "research"), ("hpccache", "")])));
        assert!(s.matches(&label_map(&[
            ("team", "research"),
            ("hpccache", "1"),
            ("env", "prod")
        ])));
        assert!(!s.matches(&label_map(&[("team", "research")])));
        assert!(!s.matches(&label_map(&[("team", "other"), ("hpccache", "")])));
        assert!(!s.matches(&label_map(&[
            ("team", "research"),
            ("hpccache", ""),
            ("env", "dev")
        ])));
        assert!(!s.matches(&label_map(&[
            ("team", "research"),
            ("hpccache", ""),
            ("legacy", "")
        ])));

        let s = label_selector("-l", "kubernetes.io/metadata.name==default,a=").unwrap();
        assert_eq!(
            s.requirements,
            [
                Requirement::Equals {
                    key: "kubernetes.io/metadata.name".into(),
                    value: "default".into()
                },
                Requirement::Equals {
                    key: "a".into(),
                    value: String::new()
                },
            ]
        );
    }

    #[test]
    fn bad_selectors_say_which_part() {
        for (bad, why) in [
            ("", "the selector is empty"),
            (" ", "the selector is empty"),
            ("a=b,,c", "empty term"),
            ("a=b,", "empty term"),
            ("env in (dev,prod)", "set-based terms"),
            ("=b", "label key \"\" is empty"),
            ("-a=b", "label key \"-a\" starts or ends"),
            ("a b=c", "label key \"a b\" contains a space"),
            (
                &format!("{}=x", "k".repeat(64)),
                "64 characters long, more than 63",
            ),
            ("Example.COM/a=b", "invalid prefix \"Example.COM\""),
            ("/a=b", "invalid prefix \"\""),
            ("example.com/=b", "label key \"example.com/\" is empty"),
            ("a=b c", "label value \"b c\" contains a space"),
            ("a=-b", "label value \"-b\" starts or ends"),
            ("a!=b=c", "label value \"b=c\" contains '='"),
            (&format!("a={}", "v".repeat(64)), "more than 63"),
        ] {
            let e = label_selector("--namespace-selector", bad).unwrap_err();
            assert_eq!(e.flag, "--namespace-selector");
            assert!(e.problem.contains(why), "{bad:?}: {e}");
        }
    }

    proptest! {
        #[test]
        fn quantity_strings_round_trip(bytes in 1u64..=MAX_QUANTITY_BYTES) {
            prop_assert_eq!(quantity("--size", &quantity_string(bytes)), Ok(bytes));
        }

        #[test]
        fn suffixed_quantities_multiply_or_refuse(n in 1u64..=u64::MAX, i in 0usize..SUFFIXES.len()) {
            let (suffix, m) = SUFFIXES[i];
            let got = quantity("--size", &format!("{n}{suffix}"));
            match n.checked_mul(m).filter(|&b| b <= MAX_QUANTITY_BYTES) {
                Some(bytes) => prop_assert_eq!(got, Ok(bytes)),
                None => prop_assert!(got.is_err()),
            }
        }

        #[test]
        fn generated_selectors_round_trip(
            terms in proptest::collection::vec(
                ("([a-z0-9]([-a-z0-9]{0,5}[a-z0-9])?\\.[a-z]{2,4}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,8}[A-Za-z0-9])?",
                 0u8..4,
                 "([A-Za-z0-9]([-A-Za-z0-9_.]{0,8}[A-Za-z0-9])?)?"),
                1..5)
        ) {
            let text: Vec<String> = terms.iter().map(|(k, op, v)| match op {
                0 => format!("{k}={v}"),
                1 => format!("{k}!={v}"),
                2 => k.clone(),
                _ => format!("!{k}"),
            }).collect();
            let text = text.join(",");
            let s = label_selector("-l", &text).unwrap();
            prop_assert_eq!(s.requirements.len(), terms.len());
            prop_assert_eq!(s.to_string(), text);
        }

        #[test]
        fn kube_validators_never_panic(v in any::<String>()) {
            let _ = dns1123_subdomain("-x", &v);
            let _ = dns1123_label("-x", &v);
            let _ = workload("-x", &v);
            let _ = mount_path("-x", &v);
            let _ = quantity("-x", &v);
            let _ = label_selector("-x", &v);
        }
    }
}
