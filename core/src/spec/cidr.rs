//! The cache subnet: `--subnet-prefix auto|CIDR`, `--subnet-size /N`, and the planner that
//! places it in the cluster's virtual network.
//!
//! The cache needs 64 usable addresses and Azure keeps 5 of every subnet, so a /26 (59 usable)
//! is too small and a /25 (123) is the smallest that works; the cache docs advise a /24.
//! The subnet must also stay clear of the cluster's service CIDR and, for overlay or kubenet
//! clusters, the pod CIDR: neither is a vnet subnet, yet packets to those ranges never leave
//! the node, so a cache there would be unreachable from pods.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::text::{all_of, quote};
use crate::InvalidInput;

/// The flag [`plan`] names when the chosen or given prefix is the problem.
pub const PREFIX_FLAG: &str = "--subnet-prefix";
/// The flag [`plan`] names when no prefix of the requested size fits.
pub const SIZE_FLAG: &str = "--subnet-size";
/// The size used when `--subnet-size` is not given, as the cache docs advise.
pub const DEFAULT_SIZE: u8 = 24;
/// Addresses Azure keeps in every subnet (network, gateway, two for DNS, broadcast).
pub const AZURE_RESERVED_ADDRESSES: u64 = 5;
/// Usable addresses the cache needs in its subnet.
pub const MIN_USABLE_ADDRESSES: u64 = 64;

/// `--subnet-prefix`: pick a free prefix, or use this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubnetPrefix {
    #[default]
    Auto,
    Cidr(Ipv4Net),
}

impl fmt::Display for SubnetPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubnetPrefix::Auto => f.write_str("auto"),
            SubnetPrefix::Cidr(net) => net.fmt(f),
        }
    }
}

/// Addresses Azure lets a subnet of this prefix length use (`/26` → 59, `/25` → 123).
pub fn usable_addresses(prefix_len: u8) -> u64 {
    let total = 1u64 << (32 - u32::from(prefix_len.min(32)));
    total.saturating_sub(AZURE_RESERVED_ADDRESSES)
}

/// Refuses a prefix length whose subnet would be too small for the cache.
fn check_room(flag: &str, what: &str, prefix_len: u8) -> Result<(), InvalidInput> {
    let usable = usable_addresses(prefix_len);
    if usable >= MIN_USABLE_ADDRESSES {
        return Ok(());
    }
    Err(InvalidInput::new(
        flag,
        format!(
            "{what} has {usable} usable addresses (Azure keeps {AZURE_RESERVED_ADDRESSES} of every subnet), fewer than the {MIN_USABLE_ADDRESSES} the cache needs"
        ),
    )
    .hint("Use /25 or larger; /24 is advised"))
}

/// `--subnet-prefix auto|CIDR`. A CIDR must be an IPv4 network address with its prefix length
/// (`10.225.0.0/24`); one with host bits set is refused rather than silently truncated, since
/// the user may have meant another network.
pub fn subnet_prefix(flag: &str, v: &str) -> Result<SubnetPrefix, InvalidInput> {
    let given = v.trim();
    if given.eq_ignore_ascii_case("auto") {
        return Ok(SubnetPrefix::Auto);
    }
    let hint =
        "Give an IPv4 network in CIDR form, such as 10.225.0.0/24, or auto to pick a free one";
    if given.contains(':') {
        return Err(InvalidInput::new(
            flag,
            format!(
                "{} is an IPv6 prefix; the cache subnet needs IPv4",
                quote(v)
            ),
        )
        .hint(hint));
    }
    let Ok(net) = given.parse::<Ipv4Net>() else {
        let problem = if given.parse::<Ipv4Addr>().is_ok() {
            format!("{} is an address without a prefix length", quote(v))
        } else {
            format!("{} is not a CIDR prefix", quote(v))
        };
        return Err(InvalidInput::new(flag, problem).hint(hint));
    };
    if net.trunc() != net {
        return Err(
            InvalidInput::new(flag, format!("{} has host bits set", quote(v)))
                .hint(format!("Use the network address: {}", net.trunc())),
        );
    }
    check_room(flag, &net.to_string(), net.prefix_len())?;
    Ok(SubnetPrefix::Cidr(net))
}

/// `--subnet-size`, as `/24` or `24`.
pub fn subnet_size(flag: &str, v: &str) -> Result<u8, InvalidInput> {
    let given = v.trim();
    let digits = given.strip_prefix('/').unwrap_or(given);
    let len = digits
        .parse::<u8>()
        .ok()
        .filter(|&n| n <= 32 && digits.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            InvalidInput::new(flag, format!("{} is not a prefix length", quote(v)))
                .hint("Give a prefix length from /0 to /32, such as /24 (256 addresses)")
        })?;
    check_room(flag, &format!("a /{len} subnet"), len)?;
    Ok(len)
}

/// Something the cache subnet must not overlap, and how a message names it.
struct Taken {
    net: Ipv4Net,
    label: String,
}

/// Chooses the cache subnet.
///
/// `Auto` gives the lowest free prefix of length `size`, aligned to its size, inside one of
/// `address_spaces`; a `Cidr` is checked to lie inside one address space and its own length is
/// used (`size` is ignored). Either way the result overlaps none of `subnets`, `service_cidr`
/// or `pod_cidr` (pass the pod CIDR only for overlay and kubenet clusters, whose pods do not
/// take vnet addresses). When re-planning a subnet the tool already created, leave that subnet
/// out of `subnets`, or it will overlap itself.
pub fn plan<S: AsRef<str>>(
    prefix: SubnetPrefix,
    size: u8,
    address_spaces: &[Ipv4Net],
    subnets: &[(S, Ipv4Net)],
    service_cidr: Option<Ipv4Net>,
    pod_cidr: Option<Ipv4Net>,
) -> Result<Ipv4Net, InvalidInput> {
    let mut spaces: Vec<Ipv4Net> = address_spaces.iter().map(Ipv4Net::trunc).collect();
    spaces.sort();
    spaces.dedup();
    if spaces.is_empty() {
        return Err(InvalidInput::new(
            PREFIX_FLAG,
            "the virtual network has no IPv4 address space to place the cache subnet in",
        )
        .hint("Add an IPv4 address space to the cluster's virtual network"));
    }
    let mut taken: Vec<Taken> = subnets
        .iter()
        .map(|(name, net)| Taken {
            net: net.trunc(),
            label: format!("subnet {} ({})", name.as_ref(), net.trunc()),
        })
        .collect();
    taken.extend(service_cidr.map(|net| Taken {
        net: net.trunc(),
        label: format!("the cluster's service CIDR {}", net.trunc()),
    }));
    taken.extend(pod_cidr.map(|net| Taken {
        net: net.trunc(),
        label: format!("the cluster's pod CIDR {}", net.trunc()),
    }));
    let in_spaces = spaces_phrase(&spaces);

    match prefix {
        SubnetPrefix::Auto => {
            check_room(SIZE_FLAG, &format!("a /{size} subnet"), size)?;
            lowest_free(size, &spaces, &taken).ok_or_else(|| {
                let problem = if spaces.iter().all(|s| s.prefix_len() > size) {
                    format!("a /{size} subnet is larger than {in_spaces}")
                } else {
                    format!("no free /{size} is left in {in_spaces}")
                };
                InvalidInput::new(SIZE_FLAG, problem).hint(
                    "Pass a smaller --subnet-size (down to /25), free a subnet, or add an address space to the virtual network",
                )
            })
        }
        SubnetPrefix::Cidr(net) => {
            let net = net.trunc();
            check_room(PREFIX_FLAG, &net.to_string(), net.prefix_len())?;
            let auto_hint = || match lowest_free(net.prefix_len(), &spaces, &taken) {
                Some(free) => format!(
                    "The lowest free /{} is {free}; pass it, or --subnet-prefix auto",
                    net.prefix_len()
                ),
                None => format!(
                    "No /{} is free in {in_spaces}; free a subnet or add an address space",
                    net.prefix_len()
                ),
            };
            if !spaces.iter().any(|s| s.contains(&net)) {
                let problem = if spaces.iter().any(|s| overlaps(*s, net)) {
                    format!("{net} extends beyond {in_spaces}")
                } else {
                    format!("{net} lies outside {in_spaces}")
                };
                return Err(InvalidInput::new(PREFIX_FLAG, problem).hint(auto_hint()));
            }
            let clashes: Vec<&str> = taken
                .iter()
                .filter(|t| overlaps(t.net, net))
                .map(|t| t.label.as_str())
                .collect();
            if !clashes.is_empty() {
                return Err(InvalidInput::new(
                    PREFIX_FLAG,
                    format!("{net} overlaps {}", all_of(&clashes)),
                )
                .hint(auto_hint()));
            }
            Ok(net)
        }
    }
}

/// `the virtual network's address space 10.224.0.0/12` (or `spaces … and …`).
fn spaces_phrase(spaces: &[Ipv4Net]) -> String {
    let plural = if spaces.len() == 1 { "" } else { "s" };
    format!(
        "the virtual network's address space{plural} {}",
        all_of(spaces)
    )
}

/// First and last address as integers; u64 so that stepping past 255.255.255.255 cannot wrap.
fn range(net: Ipv4Net) -> (u64, u64) {
    (
        u64::from(u32::from(net.network())),
        u64::from(u32::from(net.broadcast())),
    )
}

fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    let ((a0, a1), (b0, b1)) = (range(a), range(b));
    a0 <= b1 && b0 <= a1
}

fn lowest_free(len: u8, spaces: &[Ipv4Net], taken: &[Taken]) -> Option<Ipv4Net> {
    let block = 1u64 << (32 - u32::from(len.min(32)));
    let mut best: Option<Ipv4Net> = None;
    for &space in spaces.iter().filter(|s| s.prefix_len() <= len) {
        let (start, end) = range(space);
        let mut at = start;
        while at + block - 1 <= end {
            let last = at + block - 1;
            let blocking_end = taken
                .iter()
                .map(|t| range(t.net))
                .filter(|&(t0, t1)| t0 <= last && at <= t1)
                .map(|(_, t1)| t1)
                .max();
            match blocking_end {
                None => {
                    let addr = Ipv4Addr::from(u32::try_from(at).ok()?);
                    let found = Ipv4Net::new(addr, len).ok()?;
                    if best.is_none_or(|b| found.network() < b.network()) {
                        best = Some(found);
                    }
                    break;
                }
                // Jump past everything in the way, to the next aligned block.
                Some(t1) => at = (t1 + 1).div_ceil(block) * block,
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    const NO_SUBNETS: &[(&str, Ipv4Net)] = &[];

    #[test]
    fn usable_addresses_leave_out_azure_five() {
        assert_eq!(usable_addresses(24), 251);
        assert_eq!(usable_addresses(25), 123);
        assert_eq!(usable_addresses(26), 59);
        assert_eq!(usable_addresses(29), 3);
        assert_eq!(usable_addresses(32), 0);
        assert_eq!(usable_addresses(0), (1 << 32) - 5);
    }

    #[test]
    fn prefix_parsing() {
        assert_eq!(
            subnet_prefix("--subnet-prefix", "auto"),
            Ok(SubnetPrefix::Auto)
        );
        assert_eq!(
            subnet_prefix("--subnet-prefix", " AUTO "),
            Ok(SubnetPrefix::Auto)
        );
        assert_eq!(
            subnet_prefix("--subnet-prefix", "10.225.0.0/24"),
            Ok(SubnetPrefix::Cidr(net("10.225.0.0/24")))
        );
        assert_eq!(
            subnet_prefix("--subnet-prefix", "10.225.0.128/25"),
            Ok(SubnetPrefix::Cidr(net("10.225.0.128/25")))
        );
        for (bad, why) in [
            ("10.0.0.5/24", "has host bits set"),
            ("10.0.0.0/26", "59 usable addresses"),
            ("10.0.0.0", "address without a prefix length"),
            ("10.0.0.0/33", "not a CIDR prefix"),
            ("10.0.0/24", "not a CIDR prefix"),
            ("fd00::/64", "IPv6"),
            ("", "not a CIDR prefix"),
            ("automatic", "not a CIDR prefix"),
        ] {
            let e = subnet_prefix("--subnet-prefix", bad).unwrap_err();
            assert_eq!(e.flag, "--subnet-prefix");
            assert!(e.problem.contains(why), "{bad}: {e}");
        }
        let e = subnet_prefix("--subnet-prefix", "10.0.0.5/24").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--subnet-prefix: \"10.0.0.5/24\" has host bits set. Use the network address: 10.0.0.0/24"
        );
    }

    #[test]
    fn size_parsing() {
        for (given, want) in [
            ("/24", 24),
            ("24", 24),
            ("/25", 25),
            (" /16 ", 16),
            ("/8", 8),
        ] {
            assert_eq!(subnet_size("--subnet-size", given), Ok(want), "{given}");
        }
        for (bad, why) in [
            ("/26", "59 usable addresses"),
            ("29", "3 usable addresses"),
            ("/33", "not a prefix length"),
            ("+24", "not a prefix length"),
            ("//24", "not a prefix length"),
            ("24/", "not a prefix length"),
            ("", "not a prefix length"),
            ("/-1", "not a prefix length"),
        ] {
            let e = subnet_size("--subnet-size", bad).unwrap_err();
            assert_eq!(e.flag, "--subnet-size");
            assert!(e.problem.contains(why), "{bad}: {e}");
        }
        let e = subnet_size("--subnet-size", "/26").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--subnet-size: a /26 subnet has 59 usable addresses (Azure keeps 5 of every subnet), \
             fewer than the 64 the cache needs. Use /25 or larger; /24 is advised"
        );
    }

    /// Today's AKS default: vnet 10.224.0.0/12, node subnet 10.224.0.0/16, service 10.0.0.0/16.
    fn aks_default() -> (Vec<Ipv4Net>, Vec<(&'static str, Ipv4Net)>, Option<Ipv4Net>) {
        (
            vec![net("10.224.0.0/12")],
            vec![("aks-subnet", net("10.224.0.0/16"))],
            Some(net("10.0.0.0/16")),
        )
    }

    #[test]
    fn auto_picks_the_lowest_free_aligned_prefix() {
        let (spaces, subnets, service) = aks_default();
        assert_eq!(
            plan(SubnetPrefix::Auto, 24, &spaces, &subnets, service, None),
            Ok(net("10.225.0.0/24"))
        );
        let more = [
            ("aks-subnet", net("10.224.0.0/16")),
            ("a", net("10.225.0.0/25")),
            ("b", net("10.225.1.0/24")),
        ];
        assert_eq!(
            plan(SubnetPrefix::Auto, 24, &spaces, &more, service, None),
            Ok(net("10.225.2.0/24"))
        );
        assert_eq!(
            plan(SubnetPrefix::Auto, 25, &spaces, &more, service, None),
            Ok(net("10.225.0.128/25"))
        );
    }

    #[test]
    fn auto_avoids_service_and_pod_cidrs() {
        let spaces = [net("10.0.0.0/8")];
        let subnets = [("aks-subnet", net("10.240.0.0/16"))];
        assert_eq!(
            plan(
                SubnetPrefix::Auto,
                24,
                &spaces,
                &subnets,
                Some(net("10.0.0.0/16")),
                Some(net("10.1.0.0/16"))
            ),
            Ok(net("10.2.0.0/24"))
        );
    }

    #[test]
    fn auto_searches_every_space_and_takes_the_lowest() {
        let spaces = [
            net("192.168.0.0/16"),
            net("10.1.0.0/24"),
            net("10.2.0.0/16"),
        ];
        let subnets = [("full", net("10.1.0.0/24"))];
        assert_eq!(
            plan(SubnetPrefix::Auto, 24, &spaces, &subnets, None, None),
            Ok(net("10.2.0.0/24"))
        );
    }

    #[test]
    fn auto_says_when_no_room_is_left_and_where_it_looked() {
        let spaces = [net("10.1.0.0/24"), net("10.2.0.0/24")];
        let subnets = [("a", net("10.1.0.0/25")), ("b", net("10.2.0.128/25"))];
        let e = plan(SubnetPrefix::Auto, 24, &spaces, &subnets, None, None).unwrap_err();
        assert_eq!(e.flag, "--subnet-size");
        assert_eq!(
            e.problem,
            "no free /24 is left in the virtual network's address spaces 10.1.0.0/24 and 10.2.0.0/24"
        );
        // A /25 still fits in each.
        assert_eq!(
            plan(SubnetPrefix::Auto, 25, &spaces, &subnets, None, None),
            Ok(net("10.1.0.128/25"))
        );
        let e = plan(SubnetPrefix::Auto, 16, &spaces, NO_SUBNETS, None, None).unwrap_err();
        assert!(e.problem.starts_with("a /16 subnet is larger than"), "{e}");
    }

    #[test]
    fn too_small_subnets_are_refused_with_the_reason() {
        let (spaces, subnets, service) = aks_default();
        let e = plan(SubnetPrefix::Auto, 26, &spaces, &subnets, service, None).unwrap_err();
        assert_eq!(e.flag, "--subnet-size");
        assert!(e.problem.contains("59 usable"), "{e}");
        let e = plan(
            SubnetPrefix::Cidr(net("10.225.0.0/26")),
            24,
            &spaces,
            &subnets,
            service,
            None,
        )
        .unwrap_err();
        assert_eq!(e.flag, "--subnet-prefix");
        assert_eq!(
            e.to_string(),
            "--subnet-prefix: 10.225.0.0/26 has 59 usable addresses (Azure keeps 5 of every subnet), \
             fewer than the 64 the cache needs. Use /25 or larger; /24 is advised"
        );
    }

    #[test]
    fn given_prefix_is_checked_and_each_clash_named() {
        let (spaces, subnets, service) = aks_default();
        let check = |p: &str| {
            plan(
                SubnetPrefix::Cidr(net(p)),
                24,
                &spaces,
                &subnets,
                service,
                None,
            )
        };
        assert_eq!(check("10.239.255.0/24"), Ok(net("10.239.255.0/24")));

        // The guide's prefix: outside today's default vnet.
        let e = check("10.0.0.0/24").unwrap_err();
        assert_eq!(e.flag, "--subnet-prefix");
        assert_eq!(
            e.to_string(),
            "--subnet-prefix: 10.0.0.0/24 lies outside the virtual network's address space \
             10.224.0.0/12. The lowest free /24 is 10.225.0.0/24; pass it, or --subnet-prefix auto"
        );
        let e = check("10.224.5.0/24").unwrap_err();
        assert_eq!(
            e.problem,
            "10.224.5.0/24 overlaps subnet aks-subnet (10.224.0.0/16)"
        );
        let e = check("10.224.0.0/11").unwrap_err();
        assert!(e.problem.contains("extends beyond"), "{e}");

        // In older 10.0.0.0/8 vnets the guide's prefix hits the default service CIDR.
        let old = [net("10.0.0.0/8")];
        let e = plan(
            SubnetPrefix::Cidr(net("10.0.0.0/24")),
            24,
            &old,
            &subnets,
            service,
            Some(net("10.0.0.0/14")),
        )
        .unwrap_err();
        assert_eq!(
            e.problem,
            "10.0.0.0/24 overlaps the cluster's service CIDR 10.0.0.0/16 and the cluster's pod CIDR 10.0.0.0/14"
        );
    }

    #[test]
    fn given_prefix_uses_its_own_length() {
        let spaces = [net("10.1.0.0/16")];
        assert_eq!(
            plan(
                SubnetPrefix::Cidr(net("10.1.0.0/20")),
                25,
                &spaces,
                NO_SUBNETS,
                None,
                None
            ),
            Ok(net("10.1.0.0/20"))
        );
    }

    #[test]
    fn no_address_space_is_an_error() {
        let e = plan(SubnetPrefix::Auto, 24, &[], NO_SUBNETS, None, None).unwrap_err();
        assert!(e.problem.contains("no IPv4 address space"), "{e}");
    }

    #[test]
    fn top_of_the_address_range_does_not_overflow() {
        let spaces = [net("255.255.255.0/24")];
        assert_eq!(
            plan(
                SubnetPrefix::Auto,
                25,
                &spaces,
                &[("a", net("255.255.255.0/25"))],
                None,
                None
            ),
            Ok(net("255.255.255.128/25"))
        );
        let full = [("a", net("255.255.255.0/24"))];
        assert!(plan(SubnetPrefix::Auto, 25, &spaces, &full, None, None).is_err());
    }

    /// Networks in 10.0.0.0/14, so that generated ones often overlap.
    fn arb_net(min_len: u8, max_len: u8) -> impl Strategy<Value = Ipv4Net> {
        (0u32..(1 << 18), min_len..=max_len).prop_map(|(offset, len)| {
            let addr = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + offset);
            Ipv4Net::new(addr, len).unwrap().trunc()
        })
    }

    fn all_blocked(n: Ipv4Net, subnets: &[(String, Ipv4Net)], others: &[Option<Ipv4Net>]) -> bool {
        subnets.iter().any(|(_, s)| overlaps(*s, n))
            || others.iter().flatten().any(|o| overlaps(*o, n))
    }

    /// Every aligned candidate, lowest first, by brute force.
    fn brute_lowest(
        len: u8,
        spaces: &[Ipv4Net],
        subnets: &[(String, Ipv4Net)],
        others: &[Option<Ipv4Net>],
    ) -> Option<Ipv4Net> {
        let mut found: Vec<Ipv4Net> = spaces
            .iter()
            .filter_map(|s| s.subnets(len).ok())
            .flatten()
            .filter(|c| !all_blocked(*c, subnets, others))
            .collect();
        found.sort();
        found.into_iter().next()
    }

    proptest! {
        #[test]
        fn planner_never_overlaps_and_stays_inside(
            spaces in proptest::collection::vec(arb_net(14, 22), 1..4),
            subnets in proptest::collection::vec(arb_net(16, 28), 0..8),
            service in proptest::option::of(arb_net(14, 20)),
            pod in proptest::option::of(arb_net(14, 20)),
            size in 20u8..=25,
            given in proptest::option::of(arb_net(20, 25)),
        ) {
            let subnets: Vec<(String, Ipv4Net)> =
                subnets.into_iter().enumerate().map(|(i, n)| (format!("s{i}"), n)).collect();
            let prefix = given.map_or(SubnetPrefix::Auto, SubnetPrefix::Cidr);
            let others = [service, pod];
            match plan(prefix, size, &spaces, &subnets, service, pod) {
                Ok(got) => {
                    prop_assert!(spaces.iter().any(|s| s.contains(&got)), "{got} outside");
                    prop_assert!(!all_blocked(got, &subnets, &others), "{got} overlaps");
                    match prefix {
                        SubnetPrefix::Auto => {
                            prop_assert_eq!(got.prefix_len(), size);
                            prop_assert_eq!(Some(got), brute_lowest(size, &spaces, &subnets, &others));
                        }
                        SubnetPrefix::Cidr(n) => prop_assert_eq!(got, n),
                    }
                }
                Err(e) => match prefix {
                    SubnetPrefix::Auto => {
                        prop_assert_eq!(e.flag.as_str(), SIZE_FLAG);
                        prop_assert_eq!(brute_lowest(size, &spaces, &subnets, &others), None);
                    }
                    SubnetPrefix::Cidr(n) => {
                        prop_assert_eq!(e.flag.as_str(), PREFIX_FLAG);
                        prop_assert!(
                            !spaces.iter().any(|s| s.contains(&n)) || all_blocked(n, &subnets, &others),
                            "{} refused: {}", n, e
                        );
                    }
                },
            }
        }

        #[test]
        fn parsed_prefixes_display_back(addr in any::<u32>(), len in 0u8..=25) {
            let n = Ipv4Net::new(Ipv4Addr::from(addr), len).unwrap().trunc();
            let p = subnet_prefix("--subnet-prefix", &n.to_string()).unwrap();
            prop_assert_eq!(p, SubnetPrefix::Cidr(n));
            prop_assert_eq!(p.to_string(), n.to_string());
        }
    }
}
