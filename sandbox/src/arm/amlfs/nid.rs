//! Lustre NID lists, as `rootSquashSettings.noSquashNidLists` holds them:
//! `10.0.0.[5-6]@tcp;10.0.1.2@tcp`. Entries are separated by `;` (Azure's separator; spaces,
//! Lustre's own, are accepted too). Each entry is `<address range>@<network>`, the address
//! four octet expressions: a number, `*`, or `[list]` of numbers and ranges `a-b` with an
//! optional step `a-b/s` — the syntax of Lustre's `cfs_parse_nidlist` (libcfs/nidstrings).

/// One octet expression: the allowed values.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Octet {
    Any,
    /// (low, high, step) ranges; a single number is (n, n, 1).
    Ranges(Vec<(u8, u8, u8)>),
}

impl Octet {
    fn matches(&self, v: u8) -> bool {
        match self {
            Octet::Any => true,
            Octet::Ranges(rs) => rs
                .iter()
                .any(|(lo, hi, step)| v >= *lo && v <= *hi && (v - lo).is_multiple_of(*step)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    octets: [Octet; 4],
    /// Network number: `tcp` and `tcp0` are 0.
    net: u32,
}

/// A parsed NID list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NidList {
    entries: Vec<Entry>,
}

fn number(s: &str, entry: &str) -> Result<u8, String> {
    s.parse::<u8>()
        .map_err(|_| format!("'{s}' in '{entry}' is not a number from 0 to 255"))
}

fn octet(s: &str, entry: &str) -> Result<Octet, String> {
    if s == "*" {
        return Ok(Octet::Any);
    }
    let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        let n = number(s, entry)?;
        return Ok(Octet::Ranges(vec![(n, n, 1)]));
    };
    let mut ranges = Vec::new();
    for item in inner.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, st)) => (r, number(st, entry)?),
            None => (item, 1),
        };
        let (lo, hi) = match range.split_once('-') {
            Some((a, b)) => (number(a, entry)?, number(b, entry)?),
            None => {
                let n = number(range, entry)?;
                (n, n)
            }
        };
        if lo > hi || step == 0 {
            return Err(format!("the range '{item}' in '{entry}' is empty"));
        }
        ranges.push((lo, hi, step));
    }
    Ok(Octet::Ranges(ranges))
}

fn network(s: &str, entry: &str) -> Result<u32, String> {
    let digits = s.strip_prefix("tcp").ok_or_else(|| {
        format!("'{entry}' names the network '{s}'; Azure Managed Lustre clients use 'tcp'")
    })?;
    if digits.is_empty() {
        return Ok(0);
    }
    digits
        .parse()
        .map_err(|_| format!("'{s}' in '{entry}' is not a network name like 'tcp' or 'tcp0'"))
}

impl NidList {
    /// Parses a list; the error says which entry is wrong and why.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for entry in text
            .split(|c: char| c == ';' || c.is_whitespace())
            .filter(|e| !e.is_empty())
        {
            let (addr, net) = entry
                .split_once('@')
                .ok_or_else(|| format!("'{entry}' has no '@network' (e.g. '10.0.0.5@tcp')"))?;
            let parts: Vec<&str> = addr.split('.').collect();
            if parts.len() != 4 {
                return Err(format!(
                    "'{entry}' is not an IPv4 address range of four octets"
                ));
            }
            let octets = [
                octet(parts[0], entry)?,
                octet(parts[1], entry)?,
                octet(parts[2], entry)?,
                octet(parts[3], entry)?,
            ];
            entries.push(Entry {
                octets,
                net: network(net, entry)?,
            });
        }
        Ok(NidList { entries })
    }

    /// Whether the NID `<address>@tcp` of a client is in the list.
    pub fn contains(&self, address: &str) -> bool {
        let Ok(ip) = address.parse::<std::net::Ipv4Addr>() else {
            return false;
        };
        let o = ip.octets();
        self.entries
            .iter()
            .any(|e| e.net == 0 && (0..4).all(|i| e.octets[i].matches(o[i])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_matches_its_addresses_only() {
        let l = NidList::parse("10.0.0.[5-6]@tcp;10.0.1.2@tcp").expect("parses");
        assert!(l.contains("10.0.0.5"));
        assert!(l.contains("10.0.0.6"));
        assert!(!l.contains("10.0.0.7"));
        assert!(l.contains("10.0.1.2"));
        assert!(!l.contains("10.0.1.3"));
    }

    #[test]
    fn wildcards_lists_steps_and_networks() {
        let l = NidList::parse("10.224.*.[4,8-10/2]@tcp0 192.168.0.1@tcp1").expect("parses");
        assert!(l.contains("10.224.7.4"));
        assert!(l.contains("10.224.0.10"));
        assert!(!l.contains("10.224.0.9"));
        assert!(!l.contains("192.168.0.1"), "another LNet network");
    }

    #[test]
    fn malformed_entries_are_refused() {
        for bad in [
            "10.0.0.5",
            "10.0.0@tcp",
            "10.0.0.300@tcp",
            "10.0.0.[6-5]@tcp",
            "10.0.0.5@o2ib",
        ] {
            assert!(NidList::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(NidList::parse("").expect("empty"), NidList::default());
    }
}
