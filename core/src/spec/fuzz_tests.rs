//! Fuzzing the input validators with proptest (reliability suite, issue 7 item 7; `cargo
//! fuzz` needs a nightly toolchain, see RELIABILITY.md): arbitrary strings never panic, every
//! refusal names the flag, and an accepted value validates again to itself (what the tools
//! store or send is itself valid input).
//!
//! Bounded in CI (256 cases each); longer: `PROPTEST_CASES=100000 cargo test -p hpccache-core fuzz`.

use proptest::prelude::*;

use super::{amlfs, cidr, kube, location, names, nfs, sku, tags};
use crate::InvalidInput;

/// Arbitrary Unicode, and strings from the alphabet the rules care about (so that some pass).
fn arb_input() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9._()/=,:@*-]{0,90}",
        "[a-z0-9-]{1,70}(\\.[a-z0-9-]{1,70}){0,4}",
        "(/[a-zA-Z0-9._-]{0,12}){0,6}/?",
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}/[0-9]{1,2}",
        "[0-9]{0,22}([KMGTPE]i?|[kmun]|e[0-9])?",
        "(vers=3|hard|soft|proto=tcp|proto=udp|nolock|retry=[0-9]{1,9}|rsize=[0-9]{1,9}|ro|intr|nfsvers=[0-9]|vers=4)(,(vers=3|hard|soft|proto=tcp|retry=[0-9]{1,12}|ro|[a-z]{1,5}=?[a-z0-9]{0,4})){0,5}",
        "[a-z]{1,8}(=|==|!=| in | notin )?\\(?[a-z0-9,]{0,10}\\)?(,!?[a-z]{1,6}){0,3}",
        "(deployment|deploy|statefulset|sts|daemonset|ds|pod|Deployment)/[a-z0-9.-]{0,20}",
        "(amlfs|AMLFS)-(durable|Durable)-(premium|Premium)-(40|125|250|500|50)",
        "(Mon|monday|SUN|Friday|Fri|x)[a-z]{0,3}, ?[0-9]{1,3}:[0-9]{1,3}",
        "([0-9*]{1,3}|\\[[0-9,/-]{0,8}\\])(\\.([0-9*]{1,3}|\\[[0-9,/-]{0,8}\\])){2,4}@(tcp[0-9]?|o2ib)(;[0-9.]{1,15}@tcp)?",
    ]
}

const FLAG: &str = "--fuzz-flag";

/// A refusal names the flag; an acceptance survives a second pass unchanged.
fn check<T, F>(v: &str, validate: F, show: fn(&T) -> String) -> Result<(), TestCaseError>
where
    T: std::fmt::Debug + PartialEq,
    F: Fn(&str) -> Result<T, InvalidInput>,
{
    match validate(v) {
        Ok(out) => {
            let again = validate(&show(&out));
            prop_assert!(
                again.is_ok(),
                "{:?} accepted as {:?}, which is refused: {:?}",
                v,
                out,
                again
            );
            prop_assert_eq!(again.unwrap(), out);
        }
        Err(e) => {
            prop_assert_eq!(&e.flag, FLAG);
            prop_assert!(e.to_string().starts_with(FLAG));
        }
    }
    Ok(())
}

#[allow(
    clippy::ptr_arg,
    reason = "the shape `check` takes for String validators"
)]
fn s(x: &String) -> String {
    x.clone()
}

proptest! {
    #[test]
    fn fuzz_azure_names(v in arb_input()) {
        type V = fn(&str, &str) -> Result<String, InvalidInput>;
        let all: [V; 13] = [
            names::resource_group, names::cache, names::storage_target, names::deployment,
            names::storage_account, names::blob_container, names::subnet,
            names::virtual_network, names::aks_cluster, names::private_dns_zone,
            names::dns_record_set, names::aml_filesystem, names::import_job,
        ];
        for f in all {
            check(&v, |x| f(FLAG, x), s)?;
        }
    }

    #[test]
    fn fuzz_kubernetes_values(v in arb_input()) {
        check(&v, |x| kube::dns1123_subdomain(FLAG, x), s)?;
        check(&v, |x| kube::dns1123_label(FLAG, x), s)?;
        check(&v, |x| kube::mount_path(FLAG, x), s)?;
        check(&v, |x| kube::workload(FLAG, x), |w| w.to_string())?;
        check(&v, |x| kube::label_selector(FLAG, x), |l| l.to_string())?;
        // Sizes: the canonical spelling parses to the same number of bytes.
        check(&v, |x| kube::quantity(FLAG, x), |b| kube::quantity_string(*b))?;
    }

    #[test]
    fn fuzz_paths_and_mount_options(v in arb_input()) {
        check(&v, |x| nfs::namespace_path(FLAG, x), s)?;
        check(&v, |x| nfs::mount_options(FLAG, x), |o| o.join(","))?;
    }

    #[test]
    fn fuzz_managed_lustre_values(v in arb_input()) {
        check(&v, |x| amlfs::sku(FLAG, x), |k| k.to_string())?;
        for k in amlfs::AmlfsSku::ALL {
            check(&v, |x| amlfs::capacity_tib(FLAG, k, x), |n| n.to_string())?;
        }
        check(&v, |x| amlfs::zone(FLAG, x), |z| amlfs::zone_string(*z))?;
        check(&v, |x| amlfs::maintenance_window(FLAG, x), |w| w.to_string())?;
        check(&v, |x| amlfs::root_squash_mode(FLAG, x), |m| m.to_string())?;
        check(&v, |x| amlfs::no_squash_nids(FLAG, x), s)?;
        check(&v, |x| amlfs::squash_id(FLAG, x), |n| n.to_string())?;
        check(&v, |x| amlfs::import_prefix(FLAG, x), s)?;
        check(&v, |x| amlfs::conflict_mode(FLAG, x), |m| m.to_string())?;
    }

    #[test]
    fn fuzz_network_sku_location_and_tags(v in arb_input(), words in prop::collection::vec(arb_input(), 0..4)) {
        check(&v, |x| cidr::subnet_prefix(FLAG, x), |p| p.to_string())?;
        check(&v, |x| cidr::subnet_size(FLAG, x), |n| format!("/{n}"))?;
        check(&v, |x| location::location(FLAG, x), s)?;
        check(&v, |x| sku::sku(FLAG, x), |k| k.to_string())?;
        for k in [sku::Sku::Standard2G, sku::Sku::StandardL16G] {
            check(&v, |x| sku::cache_size_gb(FLAG, k, x), |n| n.to_string())?;
        }
        match tags::parse(FLAG, &words) {
            Ok(map) => {
                let again: Vec<String> = map
                    .iter()
                    .map(|(k, v)| match v.as_str() {
                        Some("") | None => k.clone(),
                        Some(v) => format!("{k}={v}"),
                    })
                    .collect();
                if !again.is_empty() {
                    prop_assert_eq!(tags::parse(FLAG, &again).ok(), Some(map));
                }
            }
            Err(e) => prop_assert_eq!(e.flag, FLAG),
        }
    }
}
