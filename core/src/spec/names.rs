//! Azure resource names, checked with the rules Azure itself applies, so a bad name fails here
//! instead of minutes later as an ARM error.
//!
//! Each function returns the name to use: as given, except DNS names, which are lowercased and
//! lose a trailing dot.

use super::text::{bad_chars, char_name, length_problem, quote};
use crate::InvalidInput;

/// A name rule that is a length range, an alphabet, and what may come first and last.
struct Rule {
    what: &'static str,
    min: usize,
    max: usize,
    allowed: fn(char) -> bool,
    first: fn(char) -> bool,
    last: fn(char) -> bool,
    hint: &'static str,
}

impl Rule {
    fn check(&self, flag: &str, v: &str) -> Result<String, InvalidInput> {
        let bad = |reason: String| {
            InvalidInput::new(
                flag,
                format!("{} is not a valid {}: {reason}", quote(v), self.what),
            )
            .hint(self.hint)
        };
        if let Some(reason) = length_problem(v.chars().count(), self.min, self.max) {
            return Err(bad(reason));
        }
        if let Some(reason) = bad_chars(v, self.allowed) {
            return Err(bad(reason));
        }
        // Both exist: the length check refused the empty string.
        if let Some(c) = v.chars().next().filter(|&c| !(self.first)(c)) {
            return Err(bad(format!("it starts with {}", char_name(c))));
        }
        if let Some(c) = v.chars().next_back().filter(|&c| !(self.last)(c)) {
            return Err(bad(format!("it ends with {}", char_name(c))));
        }
        Ok(v.to_owned())
    }
}

fn any_char(_: char) -> bool {
    true
}
fn ascii_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}
fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

const RESOURCE_GROUP: Rule = Rule {
    what: "resource group name",
    min: 1,
    max: 90,
    // Azure accepts Unicode letters and digits here (its pattern is `[-\w._()]`).
    allowed: |c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'),
    first: any_char,
    last: |c| c != '.',
    hint: "Use 1 to 90 letters, digits, underscores, hyphens, periods and parentheses, not ending in a period",
};

/// The pattern of the HPC Cache API for cache and storage target names: `^[-0-9a-zA-Z_]{1,80}$`.
const CACHE_LIKE_ALLOWED: fn(char) -> bool =
    |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_');
const CACHE_LIKE_HINT: &str = "Use 1 to 80 letters, digits, hyphens and underscores";

const CACHE: Rule = Rule {
    what: "cache name",
    min: 1,
    max: 80,
    allowed: CACHE_LIKE_ALLOWED,
    first: any_char,
    last: any_char,
    hint: CACHE_LIKE_HINT,
};

const STORAGE_TARGET: Rule = Rule {
    what: "storage target name",
    ..CACHE
};

const DEPLOYMENT: Rule = Rule {
    what: "deployment name",
    ..CACHE
};

/// The pattern of the Managed Lustre API for file system and import job names:
/// `^[0-9a-zA-Z][-0-9a-zA-Z_]{0,78}[0-9a-zA-Z]$`.
const AML_FILESYSTEM: Rule = Rule {
    what: "Managed Lustre file system name",
    min: 2,
    max: 80,
    allowed: CACHE_LIKE_ALLOWED,
    first: ascii_alnum,
    last: ascii_alnum,
    hint: "Use 2 to 80 letters, digits, hyphens and underscores, starting and ending with a letter or digit",
};

const IMPORT_JOB: Rule = Rule {
    what: "import job name",
    ..AML_FILESYSTEM
};

const STORAGE_ACCOUNT: Rule = Rule {
    what: "storage account name",
    min: 3,
    max: 24,
    allowed: lower_alnum,
    first: any_char,
    last: any_char,
    hint: "Use 3 to 24 lowercase letters and digits",
};

const BLOB_CONTAINER: Rule = Rule {
    what: "blob container name",
    min: 3,
    max: 63,
    allowed: |c| lower_alnum(c) || c == '-',
    first: lower_alnum,
    last: lower_alnum,
    hint: "Use 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit",
};

const SUBNET: Rule = Rule {
    what: "subnet name",
    min: 1,
    max: 80,
    allowed: |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'),
    first: ascii_alnum,
    last: |c| c.is_ascii_alphanumeric() || c == '_',
    hint: "Use 1 to 80 letters, digits, underscores, periods and hyphens, starting with a letter or digit and ending with a letter, digit or underscore",
};

const VNET: Rule = Rule {
    what: "virtual network name",
    min: 2,
    max: 64,
    hint: "Use 2 to 64 letters, digits, underscores, periods and hyphens, starting with a letter or digit and ending with a letter, digit or underscore",
    ..SUBNET
};

const AKS_CLUSTER: Rule = Rule {
    what: "AKS cluster name",
    min: 1,
    max: 63,
    allowed: CACHE_LIKE_ALLOWED,
    first: ascii_alnum,
    last: ascii_alnum,
    hint: "Use 1 to 63 letters, digits, underscores and hyphens, starting and ending with a letter or digit",
};

/// A resource group name (`-g/--resource-group`).
/// Whether `s` is a GUID (`00000000-0000-0000-0000-000000000000`): object, tenant and
/// subscription ids.
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A Microsoft Entra object id (a GUID), lower-cased.
pub fn object_id(flag: &str, v: &str) -> Result<String, InvalidInput> {
    let t = v.trim();
    if is_guid(t) {
        Ok(t.to_ascii_lowercase())
    } else {
        Err(InvalidInput::new(
            flag,
            format!(
                "'{v}' is not an object id (a GUID such as 00000000-0000-0000-0000-000000000000)"
            ),
        )
        .hint(format!(
            "The HPC Cache resource provider's is `az ad sp show --id {} --query id -o tsv`",
            crate::azure::graph::STORAGE_CACHE_APP_ID
        )))
    }
}

pub fn resource_group(flag: &str, v: &str) -> Result<String, InvalidInput> {
    RESOURCE_GROUP.check(flag, v)
}

/// An HPC cache name.
pub fn cache(flag: &str, v: &str) -> Result<String, InvalidInput> {
    CACHE.check(flag, v)
}

/// A storage target name (same rule as a cache name).
pub fn storage_target(flag: &str, v: &str) -> Result<String, InvalidInput> {
    STORAGE_TARGET.check(flag, v)
}

/// A deployment name. It becomes part of the state file's name, so it keeps to the cache-name
/// alphabet, which has no path separators or dots.
pub fn deployment(flag: &str, v: &str) -> Result<String, InvalidInput> {
    DEPLOYMENT.check(flag, v)
}

/// An Azure Managed Lustre file system name (`amlFilesystems`).
pub fn aml_filesystem(flag: &str, v: &str) -> Result<String, InvalidInput> {
    AML_FILESYSTEM.check(flag, v)
}

/// A Managed Lustre import job name (same rule as a file system name).
pub fn import_job(flag: &str, v: &str) -> Result<String, InvalidInput> {
    IMPORT_JOB.check(flag, v)
}

/// A storage account name.
pub fn storage_account(flag: &str, v: &str) -> Result<String, InvalidInput> {
    STORAGE_ACCOUNT.check(flag, v)
}

/// A blob container name.
pub fn blob_container(flag: &str, v: &str) -> Result<String, InvalidInput> {
    let name = BLOB_CONTAINER.check(flag, v)?;
    if name.contains("--") {
        return Err(InvalidInput::new(
            flag,
            format!(
                "{} is not a valid blob container name: it contains \"--\"",
                quote(v)
            ),
        )
        .hint(BLOB_CONTAINER.hint));
    }
    Ok(name)
}

/// A subnet name.
pub fn subnet(flag: &str, v: &str) -> Result<String, InvalidInput> {
    SUBNET.check(flag, v)
}

/// A virtual network name.
pub fn virtual_network(flag: &str, v: &str) -> Result<String, InvalidInput> {
    VNET.check(flag, v)
}

/// An AKS cluster name.
pub fn aks_cluster(flag: &str, v: &str) -> Result<String, InvalidInput> {
    AKS_CLUSTER.check(flag, v)
}

const DNS_LABEL_MAX: usize = 63;
const DNS_NAME_MAX: usize = 253;
const DNS_ZONE_MAX_LABELS: usize = 34;
const DNS_ZONE_HINT: &str = "Use a DNS name such as myhpccache.local: at least two labels separated by periods, each 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen, 253 characters in all at most";
const DNS_RECORD_HINT: &str = "Use a name relative to the zone, such as server or @ for the zone itself: labels of 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen, separated by periods";

/// What is wrong with one label of a DNS name, if anything.
fn dns_label_problem(label: &str) -> Option<String> {
    if label.is_empty() {
        return Some(
            "it has an empty label (two periods in a row, or a leading period)".to_owned(),
        );
    }
    let len = label.chars().count();
    if len > DNS_LABEL_MAX {
        return Some(format!(
            "its label {} is {len} characters long, more than {DNS_LABEL_MAX}",
            quote(label)
        ));
    }
    if let Some(reason) = bad_chars(label, |c| c.is_ascii_alphanumeric() || c == '-') {
        return Some(reason);
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Some(format!(
            "its label {} starts or ends with a hyphen",
            quote(label)
        ));
    }
    None
}

/// A private DNS zone name, lowercased and without a trailing dot (`MyHpcCache.Local.` →
/// `myhpccache.local`).
pub fn private_dns_zone(flag: &str, v: &str) -> Result<String, InvalidInput> {
    let bad = |reason: String| {
        InvalidInput::new(
            flag,
            format!(
                "{} is not a valid private DNS zone name: {reason}",
                quote(v)
            ),
        )
        .hint(DNS_ZONE_HINT)
    };
    let name = v.strip_suffix('.').unwrap_or(v).to_ascii_lowercase();
    if name.is_empty() {
        return Err(bad("it is empty".to_owned()));
    }
    let len = name.chars().count();
    if len > DNS_NAME_MAX {
        return Err(bad(format!(
            "it is {len} characters long, more than {DNS_NAME_MAX}"
        )));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if let Some(reason) = labels.iter().find_map(|l| dns_label_problem(l)) {
        return Err(bad(reason));
    }
    if labels.len() < 2 {
        return Err(bad("it has only one label".to_owned()));
    }
    if labels.len() > DNS_ZONE_MAX_LABELS {
        return Err(bad(format!(
            "it has {} labels, more than {DNS_ZONE_MAX_LABELS}",
            labels.len()
        )));
    }
    Ok(name)
}

/// A DNS record set name relative to its zone (`server`, `@`), lowercased.
pub fn dns_record_set(flag: &str, v: &str) -> Result<String, InvalidInput> {
    let bad = |reason: String| {
        InvalidInput::new(
            flag,
            format!("{} is not a valid DNS record set name: {reason}", quote(v)),
        )
        .hint(DNS_RECORD_HINT)
    };
    if v == "@" {
        return Ok(v.to_owned());
    }
    if v.is_empty() {
        return Err(bad("it is empty".to_owned()));
    }
    if v.ends_with('.') {
        return Err(bad(
            "it ends with a period, which would make it an absolute name".to_owned(),
        ));
    }
    let len = v.chars().count();
    if len > DNS_NAME_MAX {
        return Err(bad(format!(
            "it is {len} characters long, more than {DNS_NAME_MAX}"
        )));
    }
    if let Some(reason) = v.split('.').find_map(dns_label_problem) {
        return Err(bad(reason));
    }
    Ok(v.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    #[test]
    fn guids_are_recognised() {
        assert!(is_guid("00000000-0000-0000-0000-000000000000"));
        assert!(!is_guid("My Subscription"));
        assert_eq!(
            object_id("--x", " AAAAAAAA-0000-0000-0000-00000000000A ").as_deref(),
            Ok("aaaaaaaa-0000-0000-0000-00000000000a")
        );
        assert!(object_id("--x", "nope").is_err());
    }

    use super::*;
    use proptest::prelude::*;

    type Validator = fn(&str, &str) -> Result<String, InvalidInput>;

    fn assert_accepts(f: Validator, good: &[&str]) {
        for v in good {
            assert!(
                f("--flag", v).is_ok(),
                "{v:?} should be accepted: {:?}",
                f("--flag", v)
            );
        }
    }

    /// Each bad value with a fragment its message must contain, so a test fails when the rule
    /// that should refuse it is broken (not merely when some other rule happens to fire).
    fn assert_refuses(f: Validator, bad: &[(&str, &str)]) {
        for (v, why) in bad {
            match f("--flag", v) {
                Ok(ok) => panic!("{v:?} should be refused, got {ok:?}"),
                Err(e) => {
                    let msg = e.to_string();
                    assert_eq!(e.flag, "--flag");
                    assert!(msg.contains(why), "{v:?}: {msg:?} should mention {why:?}");
                    assert!(e.hint.is_some(), "{v:?}: no hint");
                }
            }
        }
    }

    #[test]
    fn storage_account_message_names_flag_value_and_rule() {
        let e = storage_account("--storage-account", "My_Acct").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--storage-account: \"My_Acct\" is not a valid storage account name: it contains \
             uppercase 'M', '_' and uppercase 'A'. Use 3 to 24 lowercase letters and digits"
        );
    }

    #[test]
    fn resource_group_rule() {
        assert_accepts(
            resource_group,
            &[
                "a",
                "myResourceGroup",
                "MC_rg_aks_eastus",
                "rg.(prod)-1",
                "grüße",
                &"r".repeat(90),
            ],
        );
        assert_refuses(
            resource_group,
            &[
                ("", "it is empty"),
                (&"r".repeat(91), "91 characters long, more than 90"),
                ("rg.", "ends with '.'"),
                ("rg name", "a space"),
                ("rg/x", "'/'"),
                ("rg#", "'#'"),
            ],
        );
    }

    #[test]
    fn cache_storage_target_and_deployment_rule() {
        for f in [cache as Validator, storage_target, deployment] {
            assert_accepts(f, &["MyHpcCache", "a", "-x_", "cache-01", &"c".repeat(80)]);
            assert_refuses(
                f,
                &[
                    ("", "it is empty"),
                    (&"c".repeat(81), "more than 80"),
                    ("my.cache", "'.'"),
                    ("my cache", "a space"),
                    ("../etc", "'/'"),
                    ("café", "'é'"),
                ],
            );
        }
    }

    #[test]
    fn aml_filesystem_and_import_job_rule() {
        for f in [aml_filesystem as Validator, import_job] {
            assert_accepts(f, &["fs1", "My_Lustre-01", "a1", &"l".repeat(80)]);
            assert_refuses(
                f,
                &[
                    ("", "it is empty"),
                    ("a", "1 character long, fewer than 2"),
                    (&"l".repeat(81), "more than 80"),
                    ("-fs", "starts with '-'"),
                    ("_fs", "starts with '_'"),
                    ("fs-", "ends with '-'"),
                    ("fs_", "ends with '_'"),
                    ("my.fs", "'.'"),
                    ("my fs", "a space"),
                ],
            );
        }
    }

    #[test]
    fn storage_account_rule() {
        assert_accepts(storage_account, &["abc", "mystorage01", &"a".repeat(24)]);
        assert_refuses(
            storage_account,
            &[
                ("ab", "2 characters long, fewer than 3"),
                (&"a".repeat(25), "more than 24"),
                ("MyStorage", "uppercase 'M'"),
                ("my-storage", "'-'"),
                ("my_storage", "'_'"),
            ],
        );
    }

    #[test]
    fn blob_container_rule() {
        assert_accepts(
            blob_container,
            &["abc", "my-container-1", "0ab", &"a".repeat(63)],
        );
        assert_refuses(
            blob_container,
            &[
                ("ab", "fewer than 3"),
                (&"a".repeat(64), "more than 63"),
                ("-abc", "starts with '-'"),
                ("abc-", "ends with '-'"),
                ("ab--c", "contains \"--\""),
                ("MyContainer", "uppercase 'M'"),
                ("my_container", "'_'"),
            ],
        );
    }

    #[test]
    fn subnet_and_vnet_rule() {
        assert_accepts(
            subnet,
            &["a", "MyHpcCacheSubnet", "sub.net-1_", "aks-subnet"],
        );
        assert_refuses(
            subnet,
            &[
                ("", "it is empty"),
                (&"s".repeat(81), "more than 80"),
                ("_sub", "starts with '_'"),
                (".sub", "starts with '.'"),
                ("sub-", "ends with '-'"),
                ("sub.", "ends with '.'"),
                ("sub net", "a space"),
            ],
        );
        assert_accepts(
            virtual_network,
            &["ab", "aks-vnet-12345678", &"v".repeat(64)],
        );
        assert_refuses(
            virtual_network,
            &[
                ("v", "fewer than 2"),
                (&"v".repeat(65), "more than 64"),
                ("-vnet", "starts with '-'"),
                ("vnet.", "ends with '.'"),
                ("vnet/1", "'/'"),
            ],
        );
    }

    #[test]
    fn aks_cluster_rule() {
        assert_accepts(
            aks_cluster,
            &["a", "myAKSCluster", "aks_1-x", &"k".repeat(63)],
        );
        assert_refuses(
            aks_cluster,
            &[
                ("", "it is empty"),
                (&"k".repeat(64), "more than 63"),
                ("-aks", "starts with '-'"),
                ("aks_", "ends with '_'"),
                ("aks.1", "'.'"),
            ],
        );
    }

    #[test]
    fn private_dns_zone_rule() {
        assert_eq!(
            private_dns_zone("--zone", "MyHpcCache.Local.").unwrap(),
            "myhpccache.local"
        );
        assert_eq!(
            private_dns_zone("--zone", "privatelink.blob.core.windows.net").unwrap(),
            "privatelink.blob.core.windows.net"
        );
        let label63 = "a".repeat(63);
        let long_ok = [label63.as_str(); 4].join("."); // 255 with dots: too long
        let ok_253 = format!("{}.{}.{}.{}", label63, label63, label63, "a".repeat(61));
        assert_eq!(ok_253.len(), 253);
        assert_accepts(private_dns_zone, &[&ok_253, "a.b", "x-1.local"]);
        let labels35 = ["a"; 35].join(".");
        let labels34 = ["a"; 34].join(".");
        assert_accepts(private_dns_zone, &[&labels34]);
        assert_refuses(
            private_dns_zone,
            &[
                ("", "it is empty"),
                (".", "it is empty"),
                ("local", "only one label"),
                ("a..b", "empty label"),
                (".a.b", "empty label"),
                (
                    &format!("{}.local", "a".repeat(64)),
                    "64 characters long, more than 63",
                ),
                (&long_ok, "255 characters long, more than 253"),
                (&labels35, "35 labels, more than 34"),
                ("-a.local", "starts or ends with a hyphen"),
                ("a-.local", "starts or ends with a hyphen"),
                ("my_zone.local", "'_'"),
                ("my zone.local", "a space"),
            ],
        );
    }

    #[test]
    fn dns_record_set_rule() {
        assert_eq!(dns_record_set("--record", "Server").unwrap(), "server");
        assert_accepts(dns_record_set, &["@", "server", "nfs.server", "a-1"]);
        assert_refuses(
            dns_record_set,
            &[
                ("", "it is empty"),
                ("server.", "ends with a period"),
                ("a..b", "empty label"),
                ("-server", "starts or ends with a hyphen"),
                ("ser_ver", "'_'"),
                ("@.a", "'@'"),
                (&"a".repeat(64), "more than 63"),
            ],
        );
    }

    proptest! {
        #[test]
        fn every_valid_storage_account_is_accepted(v in "[a-z0-9]{3,24}") {
            prop_assert_eq!(storage_account("--storage-account", &v), Ok(v));
        }

        #[test]
        fn every_storage_account_with_an_uppercase_letter_is_refused(
            head in "[a-z0-9]{1,11}", up in "[A-Z]", tail in "[a-z0-9]{1,11}"
        ) {
            let v = format!("{head}{up}{tail}");
            let e = storage_account("--storage-account", &v).unwrap_err();
            prop_assert!(e.problem.contains(&format!("uppercase '{up}'")), "{}", e);
        }

        #[test]
        fn every_valid_cache_name_is_accepted(v in "[-0-9a-zA-Z_]{1,80}") {
            prop_assert_eq!(cache("--name", &v), Ok(v));
        }

        #[test]
        fn every_name_the_lustre_pattern_allows_is_accepted(
            v in "[0-9a-zA-Z][-0-9a-zA-Z_]{0,78}[0-9a-zA-Z]"
        ) {
            prop_assert_eq!(aml_filesystem("--name", &v), Ok(v.clone()));
            prop_assert_eq!(import_job("--import-job", &v), Ok(v));
        }

        #[test]
        fn lustre_names_the_pattern_refuses_are_refused(
            v in "[-_][-0-9a-zA-Z_]{0,20}|[-0-9a-zA-Z_]{0,20}[-_]|[a-z]{1,10}[^-0-9a-zA-Z_][a-z]{1,10}"
        ) {
            prop_assert!(aml_filesystem("--name", &v).is_err());
        }

        #[test]
        fn cache_names_outside_the_alphabet_are_refused(
            head in "[a-z]{0,10}", c in "[^-0-9a-zA-Z_]", tail in "[a-z]{0,10}"
        ) {
            let v = format!("{head}{c}{tail}");
            prop_assert!(cache("--name", &v).is_err());
        }

        #[test]
        fn every_valid_blob_container_is_accepted(
            parts in proptest::collection::vec("[a-z0-9]{1,6}", 1..8)
        ) {
            let v = parts.join("-");
            prop_assume!(v.len() >= 3 && v.len() <= 63);
            prop_assert_eq!(blob_container("--container-name", &v), Ok(v));
        }

        #[test]
        fn valid_dns_zones_are_accepted_and_lowercased(
            labels in proptest::collection::vec("[a-zA-Z0-9]([-a-zA-Z0-9]{0,10}[a-zA-Z0-9])?", 2..6),
            dot in any::<bool>()
        ) {
            let name = labels.join(".");
            let given = if dot { format!("{name}.") } else { name.clone() };
            prop_assert_eq!(private_dns_zone("--zone", &given), Ok(name.to_ascii_lowercase()));
        }

        #[test]
        fn validators_never_panic(v in any::<String>()) {
            for f in [resource_group as Validator, cache, storage_target, deployment,
                      storage_account, blob_container, subnet, virtual_network, aks_cluster,
                      private_dns_zone, dns_record_set] {
                let _ = f("--flag", &v);
            }
        }
    }
}
