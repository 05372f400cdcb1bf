//! Azure Managed Lustre (AMLFS) inputs: the SKU, the capacity each SKU allows, the zone, the
//! maintenance window, root squash, HSM containers and import prefixes, and the subnet room a
//! file system needs.
//!
//! Capacity rules (AMLFS.md): each `AMLFS-Durable-Premium-{N}` SKU is sold in steps of a fixed
//! size, the step being also the smallest file system (40 → 48 TiB, 125 → 16, 250 → 8, 500 → 4);
//! there is no fixed maximum (quota decides). Throughput is capacity × N MB/s.
//! File system and import job names are in [`super::names`] ([`super::names::aml_filesystem`],
//! [`super::names::import_job`]).

use std::fmt;

use super::cidr::{AZURE_RESERVED_ADDRESSES, usable_addresses};
use super::names;
use super::text::{char_name, one_of, quote};
use crate::InvalidInput;

/// The flags [`root_squash`] names when the combination is wrong.
pub const ROOT_SQUASH_MODE_FLAG: &str = "--root-squash-mode";
pub const NO_SQUASH_NIDS_FLAG: &str = "--no-squash-nids";
pub const SQUASH_UID_FLAG: &str = "--squash-uid";
pub const SQUASH_GID_FLAG: &str = "--squash-gid";

/// Largest capacity accepted, in TiB. The API carries `storageCapacityTiB` as a 32-bit float,
/// which holds every whole number only up to 2^24; past it a request would silently round.
pub const MAX_CAPACITY_TIB: u32 = 1 << 24;

/// Longest import prefix accepted, in characters (a blob name is at most 1024).
pub const MAX_IMPORT_PREFIX: usize = 1024;

/// Largest uid/gid to squash to: Linux ids are 32-bit and 4294967295 means "no id".
pub const MAX_SQUASH_ID: u32 = u32::MAX - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AmlfsSku {
    Premium40,
    Premium125,
    Premium250,
    Premium500,
}

impl AmlfsSku {
    pub const ALL: [AmlfsSku; 4] = [
        AmlfsSku::Premium40,
        AmlfsSku::Premium125,
        AmlfsSku::Premium250,
        AmlfsSku::Premium500,
    ];

    /// The name as the API spells it, e.g. `AMLFS-Durable-Premium-250`.
    pub fn name(self) -> &'static str {
        match self {
            AmlfsSku::Premium40 => "AMLFS-Durable-Premium-40",
            AmlfsSku::Premium125 => "AMLFS-Durable-Premium-125",
            AmlfsSku::Premium250 => "AMLFS-Durable-Premium-250",
            AmlfsSku::Premium500 => "AMLFS-Durable-Premium-500",
        }
    }

    /// Throughput each TiB of capacity provisions, in MB/s (the number in the SKU name).
    pub fn mbps_per_tib(self) -> u32 {
        match self {
            AmlfsSku::Premium40 => 40,
            AmlfsSku::Premium125 => 125,
            AmlfsSku::Premium250 => 250,
            AmlfsSku::Premium500 => 500,
        }
    }

    /// The capacity step in TiB, which is also the smallest capacity.
    pub fn capacity_step_tib(self) -> u32 {
        match self {
            AmlfsSku::Premium40 => 48,
            AmlfsSku::Premium125 => 16,
            AmlfsSku::Premium250 => 8,
            AmlfsSku::Premium500 => 4,
        }
    }
}

impl fmt::Display for AmlfsSku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Provisioned throughput in MB/s of a file system of this SKU and capacity.
pub fn throughput_mbps(sku: AmlfsSku, capacity_tib: u32) -> u64 {
    u64::from(capacity_tib) * u64::from(sku.mbps_per_tib())
}

/// `--sku`, in any letter case (`amlfs-durable-premium-250` → [`AmlfsSku::Premium250`]).
pub fn sku(flag: &str, v: &str) -> Result<AmlfsSku, InvalidInput> {
    let wanted = v.trim();
    AmlfsSku::ALL
        .into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(wanted))
        .ok_or_else(|| {
            let names: Vec<&str> = AmlfsSku::ALL.iter().map(|s| s.name()).collect();
            InvalidInput::new(
                flag,
                format!("{} is not an Azure Managed Lustre SKU", quote(v)),
            )
            .hint(format!("Choose {}", one_of(&names)))
        })
}

/// `--capacity-tib` for the chosen SKU: a whole multiple of the SKU's step. A refusal names
/// the valid capacities nearest the one given.
pub fn capacity_tib(flag: &str, sku: AmlfsSku, v: &str) -> Result<u32, InvalidInput> {
    let step = sku.capacity_step_tib();
    let given = v.trim();
    let digits = given.strip_prefix('+').unwrap_or(given);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            InvalidInput::new(flag, format!("{} is not a whole number of TiB", quote(v))).hint(
                format!(
                    "{sku} is sold in steps of {step} TiB: {step}, {}, {}...",
                    2 * step,
                    3 * step
                ),
            ),
        );
    }
    let Some(tib) = digits
        .parse::<u64>()
        .ok()
        .filter(|&n| n <= u64::from(MAX_CAPACITY_TIB))
        .and_then(|n| u32::try_from(n).ok())
    else {
        return Err(InvalidInput::new(
            flag,
            format!(
                "{} TiB is more than the {MAX_CAPACITY_TIB} TiB this tool can request",
                quote(given)
            ),
        )
        .hint(format!(
            "Choose a multiple of {step} TiB up to {}",
            MAX_CAPACITY_TIB / step * step
        )));
    };
    if tib < step {
        return Err(InvalidInput::new(
            flag,
            format!("{tib} TiB is less than {step} TiB, the smallest {sku} file system"),
        )
        .hint(format!("Choose {step} TiB or a larger multiple of {step}")));
    }
    if !tib.is_multiple_of(step) {
        let below = tib / step * step;
        let above = below + step;
        let choices = if above <= MAX_CAPACITY_TIB {
            format!("{below} or {above}")
        } else {
            below.to_string()
        };
        return Err(InvalidInput::new(
            flag,
            format!("{tib} TiB is not a multiple of {step} TiB, the capacity step of {sku}"),
        )
        .hint(format!("The nearest valid capacities are {choices} TiB")));
    }
    Ok(tib)
}

/// `--zone`: `1`, `2` or `3`, or `none` for a region without availability zones.
pub fn zone(flag: &str, v: &str) -> Result<Option<u8>, InvalidInput> {
    match v.trim() {
        "1" => Ok(Some(1)),
        "2" => Ok(Some(2)),
        "3" => Ok(Some(3)),
        s if s.eq_ignore_ascii_case("none") => Ok(None),
        _ => Err(
            InvalidInput::new(flag, format!("{} is not an availability zone", quote(v)))
                .hint("Choose 1, 2 or 3, or none in a region without availability zones"),
        ),
    }
}

/// How [`zone`]'s result is written back as a flag value.
pub fn zone_string(z: Option<u8>) -> String {
    z.map_or_else(|| "none".to_owned(), |n| n.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    /// The name as the API spells it (`dayOfWeek`).
    pub fn name(self) -> &'static str {
        match self {
            Weekday::Monday => "Monday",
            Weekday::Tuesday => "Tuesday",
            Weekday::Wednesday => "Wednesday",
            Weekday::Thursday => "Thursday",
            Weekday::Friday => "Friday",
            Weekday::Saturday => "Saturday",
            Weekday::Sunday => "Sunday",
        }
    }
}

impl fmt::Display for Weekday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The start of the weekly 30-minute maintenance window, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaintenanceWindow {
    pub day: Weekday,
    pub hour: u8,
    pub minute: u8,
}

impl MaintenanceWindow {
    /// `HH:MM`, as the API's `timeOfDayUTC` takes it.
    pub fn time_of_day_utc(&self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }
}

impl fmt::Display for MaintenanceWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.day, self.time_of_day_utc())
    }
}

const WINDOW_HINT: &str = "Give DAY,HH:MM in UTC with a 24-hour clock, such as Sunday,02:00 (day names may be shortened to three letters)";

/// `--maintenance-window DAY,HH:MM` (UTC, 24-hour clock; the day in any case, in full or its
/// first three letters).
pub fn maintenance_window(flag: &str, v: &str) -> Result<MaintenanceWindow, InvalidInput> {
    let bad = |problem: String| InvalidInput::new(flag, problem).hint(WINDOW_HINT);
    let Some((day_text, time_text)) = v.split_once(',') else {
        return Err(bad(format!(
            "{} is not DAY,HH:MM: there is no comma between the day and the time",
            quote(v)
        )));
    };
    let day_text = day_text.trim();
    let day = Weekday::ALL
        .into_iter()
        .find(|d| {
            d.name().eq_ignore_ascii_case(day_text)
                || (day_text.len() == 3 && d.name()[..3].eq_ignore_ascii_case(day_text))
        })
        .ok_or_else(|| bad(format!("{} is not a day of the week", quote(day_text))))?;
    let time_text = time_text.trim();
    let time = time_text.split_once(':').and_then(|(h, m)| {
        let digits = |s: &str, max_len: usize| {
            (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u8>().ok())
                .flatten()
        };
        let hour = digits(h, 2)?;
        let minute = (m.len() == 2).then(|| digits(m, 2)).flatten()?;
        (hour < 24 && minute < 60).then_some((hour, minute))
    });
    let Some((hour, minute)) = time else {
        return Err(bad(format!(
            "{} is not a time of day from 00:00 to 23:59",
            quote(time_text)
        )));
    };
    Ok(MaintenanceWindow { day, hour, minute })
}

/// Root squash mode: who is squashed on clients outside the no-squash list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SquashMode {
    /// No squashing.
    None,
    /// Root is squashed to the squash uid/gid.
    RootOnly,
    /// Every user is squashed to the squash uid/gid.
    All,
}

impl SquashMode {
    pub const ALL: [SquashMode; 3] = [SquashMode::None, SquashMode::RootOnly, SquashMode::All];

    /// The name as the API spells it (`rootSquashSettings.mode`).
    pub fn name(self) -> &'static str {
        match self {
            SquashMode::None => "None",
            SquashMode::RootOnly => "RootOnly",
            SquashMode::All => "All",
        }
    }
}

impl fmt::Display for SquashMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `--root-squash-mode None|RootOnly|All`, in any letter case.
pub fn root_squash_mode(flag: &str, v: &str) -> Result<SquashMode, InvalidInput> {
    let wanted = v.trim();
    SquashMode::ALL
        .into_iter()
        .find(|m| m.name().eq_ignore_ascii_case(wanted))
        .ok_or_else(|| {
            InvalidInput::new(flag, format!("{} is not a root squash mode", quote(v))).hint(
                "Choose None (no squashing), RootOnly (root is squashed) or All (every user is squashed)",
            )
        })
}

const NID_HINT: &str = "Give Lustre NIDs separated by semicolons, such as 10.0.0.[5-6]@tcp;10.0.1.2@tcp: four address parts, each a number from 0 to 255, * or a bracketed list of numbers and ranges ([1-9,20-30/2]), then @tcp";

/// `--no-squash-nids`: the clients root squash leaves alone, as a semicolon-separated list of
/// Lustre NID ranges (`10.0.0.[5-6]@tcp;10.0.1.2@tcp`). Returned with entries trimmed; an
/// empty value is an empty list.
pub fn no_squash_nids(flag: &str, v: &str) -> Result<String, InvalidInput> {
    let given = v.trim();
    if given.is_empty() {
        return Ok(String::new());
    }
    let mut entries = Vec::new();
    for entry in given.split(';').map(str::trim) {
        if let Some(problem) = nid_range_problem(entry) {
            return Err(InvalidInput::new(
                flag,
                if entry.is_empty() {
                    format!("{} has an empty entry ({problem})", quote(v))
                } else {
                    format!("{} is not a Lustre NID range: {problem}", quote(entry))
                },
            )
            .hint(NID_HINT));
        }
        entries.push(entry);
    }
    Ok(entries.join(";"))
}

/// What is wrong with one `address@net` entry, if anything.
fn nid_range_problem(entry: &str) -> Option<String> {
    if entry.is_empty() {
        return Some("two semicolons in a row, or one at an end".to_owned());
    }
    let Some((address, net)) = entry.rsplit_once('@') else {
        return Some("it has no @network such as @tcp".to_owned());
    };
    let tcp = net
        .strip_prefix("tcp")
        .is_some_and(|n| n.len() <= 5 && n.bytes().all(|b| b.is_ascii_digit()));
    if !tcp {
        return Some(format!(
            "{} is not a TCP network (tcp, tcp0, tcp1...); Managed Lustre clients use @tcp",
            quote(net)
        ));
    }
    let parts = octet_parts(address);
    if parts.len() != 4 {
        return Some(format!(
            "the address {} does not have four parts separated by periods",
            quote(address)
        ));
    }
    parts.iter().find_map(|p| octet_problem(p))
}

/// Splits an address at the periods outside brackets.
fn octet_parts(address: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in address.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => {
                parts.push(&address[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&address[start..]);
    parts
}

fn octet_problem(part: &str) -> Option<String> {
    if part == "*" {
        return None;
    }
    if let Some(list) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
        if list.is_empty() {
            return Some("it has an empty bracket list []".to_owned());
        }
        return list.split(',').find_map(range_problem);
    }
    if part.is_empty() {
        return Some("it has an empty address part".to_owned());
    }
    octet_value(part).err()
}

/// `n`, `n-m` or `n-m/step` inside brackets.
fn range_problem(range: &str) -> Option<String> {
    let (span, step) = match range.split_once('/') {
        Some((span, step)) => (span, Some(step)),
        None => (range, None),
    };
    match span.split_once('-') {
        None if step.is_some() => Some(format!("{} has a step but no range", quote(range))),
        None => octet_value(span).err(),
        Some((lo, hi)) => {
            let lo = match octet_value(lo) {
                Ok(n) => n,
                Err(e) => return Some(e),
            };
            let hi = match octet_value(hi) {
                Ok(n) => n,
                Err(e) => return Some(e),
            };
            if lo > hi {
                return Some(format!("the range {} runs backwards", quote(span)));
            }
            match step.map(|s| s.parse::<u8>()) {
                None | Some(Ok(1..)) => None,
                Some(_) => Some(format!(
                    "{} has a step that is not a number from 1 to 255",
                    quote(range)
                )),
            }
        }
    }
}

fn octet_value(s: &str) -> Result<u8, String> {
    if let Some(c) = s.chars().find(|c| !c.is_ascii_digit()) {
        return Err(format!("an address part contains {}", char_name(c)));
    }
    s.parse::<u8>().map_err(|_| {
        if s.is_empty() {
            "a range has an empty end".to_owned()
        } else {
            format!("{s} is not a number from 0 to 255")
        }
    })
}

/// `--squash-uid` / `--squash-gid`: the id root (or everyone) is squashed to.
pub fn squash_id(flag: &str, v: &str) -> Result<u32, InvalidInput> {
    let given = v.trim();
    given
        .parse::<u32>()
        .ok()
        .filter(|&n| n <= MAX_SQUASH_ID && given.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            InvalidInput::new(flag, format!("{} is not a user or group id", quote(v))).hint(
                format!("Give a number from 0 to {MAX_SQUASH_ID}, such as 65534 (nobody)"),
            )
        })
}

/// Root squash settings that hang together (see [`root_squash`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootSquash {
    pub mode: SquashMode,
    /// Semicolon-separated NID ranges exempt from squashing; `None` for none.
    pub no_squash_nids: Option<String>,
    pub squash_uid: Option<u32>,
    pub squash_gid: Option<u32>,
}

/// Checks the root squash flags together: squashing (`RootOnly`, `All`) needs the uid and gid to
/// squash to; `None` takes no uid, gid or NID list, which would have no effect.
pub fn root_squash(
    mode: SquashMode,
    no_squash_nids: Option<String>,
    squash_uid: Option<u32>,
    squash_gid: Option<u32>,
) -> Result<RootSquash, InvalidInput> {
    let no_squash_nids = no_squash_nids.filter(|n| !n.is_empty());
    match mode {
        SquashMode::None => {
            let given = [
                (NO_SQUASH_NIDS_FLAG, no_squash_nids.is_some()),
                (SQUASH_UID_FLAG, squash_uid.is_some()),
                (SQUASH_GID_FLAG, squash_gid.is_some()),
            ];
            if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
                return Err(InvalidInput::new(
                    *flag,
                    format!("has no effect with {ROOT_SQUASH_MODE_FLAG} None"),
                )
                .hint(format!(
                    "Leave it out, or set {ROOT_SQUASH_MODE_FLAG} RootOnly or All"
                )));
            }
        }
        SquashMode::RootOnly | SquashMode::All => {
            for (flag, id) in [(SQUASH_UID_FLAG, squash_uid), (SQUASH_GID_FLAG, squash_gid)] {
                if id.is_none() {
                    return Err(InvalidInput::new(
                        flag,
                        format!("is required with {ROOT_SQUASH_MODE_FLAG} {mode}"),
                    )
                    .hint("Give the id squashed users get, such as 65534 (nobody)"));
                }
            }
        }
    }
    Ok(RootSquash {
        mode,
        no_squash_nids,
        squash_uid,
        squash_gid,
    })
}

/// `--hsm-container` and `--hsm-logging-container`: two blob containers of one storage account,
/// data and logging. Managed Lustre needs them to differ.
pub fn hsm_containers(
    data: (&str, &str),
    logging: (&str, &str),
) -> Result<(String, String), InvalidInput> {
    let d = names::blob_container(data.0, data.1)?;
    let l = names::blob_container(logging.0, logging.1)?;
    if d == l {
        return Err(InvalidInput::new(
            logging.0,
            format!("{} is also the {} container", quote(&l), data.0),
        )
        .hint("Managed Lustre logs to a separate container of the same storage account; choose another name"));
    }
    Ok((d, l))
}

const PREFIX_HINT: &str = "Give a blob path prefix starting with /, such as / (everything) or /datasets/: no control characters or backslashes, no empty, . or .. segments, 1024 characters at most";

/// `--import-prefix`: the blobs whose names start with it are imported (`/` is all of them).
pub fn import_prefix(flag: &str, v: &str) -> Result<String, InvalidInput> {
    let bad = |reason: String| {
        InvalidInput::new(
            flag,
            format!("{} is not a valid import prefix: {reason}", quote(v)),
        )
        .hint(PREFIX_HINT)
    };
    if v.is_empty() {
        return Err(bad("it is empty".to_owned()));
    }
    if !v.starts_with('/') {
        return Err(bad("it does not start with /".to_owned()));
    }
    let len = v.chars().count();
    if len > MAX_IMPORT_PREFIX {
        return Err(bad(format!(
            "it is {len} characters long, more than {MAX_IMPORT_PREFIX}"
        )));
    }
    if let Some(c) = v.chars().find(|&c| c.is_control() || c == '\\') {
        return Err(bad(format!("it contains {}", char_name(c))));
    }
    if v == "/" {
        return Ok(v.to_owned());
    }
    // A trailing slash is meaningful (`/data/` leaves out `/database`); other segments must
    // be names.
    let inner = v[1..].strip_suffix('/').unwrap_or(&v[1..]);
    for segment in inner.split('/') {
        match segment {
            "" => return Err(bad("it has an empty segment (//)".to_owned())),
            "." | ".." => return Err(bad(format!("it has a {segment:?} segment"))),
            _ => {}
        }
    }
    Ok(v.to_owned())
}

/// Several `--import-prefix` values: each checked, repeats dropped, `["/"]` when none is given.
pub fn import_prefixes<S: AsRef<str>>(
    flag: &str,
    values: &[S],
) -> Result<Vec<String>, InvalidInput> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        let p = import_prefix(flag, v.as_ref())?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    if out.is_empty() {
        out.push("/".to_owned());
    }
    Ok(out)
}

/// How an import job treats a path that already exists in the file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConflictMode {
    Fail,
    Skip,
    OverwriteIfDirty,
    OverwriteAlways,
}

impl ConflictMode {
    pub const ALL: [ConflictMode; 4] = [
        ConflictMode::Fail,
        ConflictMode::Skip,
        ConflictMode::OverwriteIfDirty,
        ConflictMode::OverwriteAlways,
    ];

    /// The name as the API spells it (`conflictResolutionMode`).
    pub fn name(self) -> &'static str {
        match self {
            ConflictMode::Fail => "Fail",
            ConflictMode::Skip => "Skip",
            ConflictMode::OverwriteIfDirty => "OverwriteIfDirty",
            ConflictMode::OverwriteAlways => "OverwriteAlways",
        }
    }
}

impl fmt::Display for ConflictMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `--conflict-resolution-mode`, in any letter case.
pub fn conflict_mode(flag: &str, v: &str) -> Result<ConflictMode, InvalidInput> {
    let wanted = v.trim();
    ConflictMode::ALL
        .into_iter()
        .find(|m| m.name().eq_ignore_ascii_case(wanted))
        .ok_or_else(|| {
            let names: Vec<&str> = ConflictMode::ALL.iter().map(|m| m.name()).collect();
            InvalidInput::new(
                flag,
                format!("{} is not a conflict resolution mode", quote(v)),
            )
            .hint(format!("Choose {}", one_of(&names)))
        })
}

/// The longest prefix length whose subnet leaves `required` usable addresses (Azure keeps
/// [`AZURE_RESERVED_ADDRESSES`] of each subnet); `None` when not even a /0 would.
pub fn prefix_len_for(required: u64) -> Option<u8> {
    (0..=32u8)
        .rev()
        .find(|&len| usable_addresses(len) >= required)
}

/// Checks that a subnet of `prefix_len` has room for a file system needing `required` usable
/// addresses (what `getRequiredAmlFSSubnetsSize` answers for the SKU and capacity).
pub fn subnet_room(flag: &str, prefix_len: u8, required: u64) -> Result<(), InvalidInput> {
    let usable = usable_addresses(prefix_len);
    if usable >= required {
        return Ok(());
    }
    let fix = match prefix_len_for(required) {
        Some(len) => format!("Use a /{len} subnet or larger"),
        None => "No IPv4 subnet is that large; choose a smaller capacity".to_owned(),
    };
    Err(InvalidInput::new(
        flag,
        format!(
            "a /{prefix_len} subnet has {usable} usable addresses (Azure keeps {AZURE_RESERVED_ADDRESSES} of every subnet), fewer than the {required} this file system needs"
        ),
    )
    .hint(fix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sku_names_are_case_insensitive_and_canonical() {
        for (given, want) in [
            ("AMLFS-Durable-Premium-40", AmlfsSku::Premium40),
            ("amlfs-durable-premium-125", AmlfsSku::Premium125),
            (" AMLFS-DURABLE-PREMIUM-250 ", AmlfsSku::Premium250),
            ("Amlfs-Durable-Premium-500", AmlfsSku::Premium500),
        ] {
            let got = sku("--sku", given).unwrap();
            assert_eq!(got, want, "{given}");
            assert!(got.to_string().starts_with("AMLFS-Durable-Premium-"));
        }
        for bad in ["AMLFS-Durable-Premium-50", "", "Premium-40", "Standard_2G"] {
            let e = sku("--sku", bad).unwrap_err();
            assert_eq!(e.flag, "--sku");
            assert_eq!(
                e.hint.as_deref(),
                Some(
                    "Choose AMLFS-Durable-Premium-40, AMLFS-Durable-Premium-125, AMLFS-Durable-Premium-250 or AMLFS-Durable-Premium-500"
                )
            );
        }
    }

    #[test]
    fn capacity_minimum_and_step_per_sku() {
        for (s, step) in [
            (AmlfsSku::Premium40, 48),
            (AmlfsSku::Premium125, 16),
            (AmlfsSku::Premium250, 8),
            (AmlfsSku::Premium500, 4),
        ] {
            for k in 1..=5 {
                assert_eq!(
                    capacity_tib("--capacity-tib", s, &(k * step).to_string()),
                    Ok(k * step)
                );
            }
            assert!(capacity_tib("--capacity-tib", s, &(step - 1).to_string()).is_err());
            assert!(capacity_tib("--capacity-tib", s, &(step + 1).to_string()).is_err());
            assert!(capacity_tib("--capacity-tib", s, "0").is_err());
        }
    }

    #[test]
    fn capacity_refusals_name_the_nearest_valid_values() {
        let e = capacity_tib("--capacity-tib", AmlfsSku::Premium40, "100").unwrap_err();
        assert_eq!(e.flag, "--capacity-tib");
        assert_eq!(
            e.hint.as_deref(),
            Some("The nearest valid capacities are 96 or 144 TiB")
        );
        let e = capacity_tib("--capacity-tib", AmlfsSku::Premium125, "8").unwrap_err();
        assert_eq!(
            e.hint.as_deref(),
            Some("Choose 16 TiB or a larger multiple of 16")
        );
        for bad in ["48.5", "4e1", "-48", "48 TiB", "", "+"] {
            let e = capacity_tib("--capacity-tib", AmlfsSku::Premium40, bad).unwrap_err();
            assert!(
                e.problem.contains("not a whole number of TiB"),
                "{bad}: {e}"
            );
        }
        let e = capacity_tib("--capacity-tib", AmlfsSku::Premium500, "16777220").unwrap_err();
        assert_eq!(
            e.hint.as_deref(),
            Some("Choose a multiple of 4 TiB up to 16777216")
        );
        // The largest accepted capacity still travels exactly as the API's 32-bit float.
        let top = capacity_tib("--capacity-tib", AmlfsSku::Premium500, "16777216").unwrap();
        assert_eq!(top as f32 as u64, u64::from(top));
    }

    #[test]
    fn throughput_is_capacity_times_the_sku_rate() {
        assert_eq!(throughput_mbps(AmlfsSku::Premium40, 48), 1920);
        assert_eq!(throughput_mbps(AmlfsSku::Premium125, 16), 2000);
        assert_eq!(throughput_mbps(AmlfsSku::Premium250, 8), 2000);
        assert_eq!(throughput_mbps(AmlfsSku::Premium500, 4), 2000);
        assert_eq!(
            throughput_mbps(AmlfsSku::Premium500, MAX_CAPACITY_TIB),
            8_388_608_000
        );
    }

    #[test]
    fn zones() {
        assert_eq!(zone("--zone", "1"), Ok(Some(1)));
        assert_eq!(zone("--zone", " 3 "), Ok(Some(3)));
        assert_eq!(zone("--zone", "None"), Ok(None));
        for bad in ["0", "4", "", "01", "eastus-1", "1,2"] {
            assert_eq!(zone("--zone", bad).unwrap_err().flag, "--zone", "{bad}");
        }
        assert_eq!(zone_string(Some(2)), "2");
        assert_eq!(zone_string(None), "none");
    }

    #[test]
    fn maintenance_windows() {
        let w = maintenance_window("--maintenance-window", "sunday,02:00").unwrap();
        assert_eq!(
            w,
            MaintenanceWindow {
                day: Weekday::Sunday,
                hour: 2,
                minute: 0
            }
        );
        assert_eq!(w.to_string(), "Sunday,02:00");
        assert_eq!(w.time_of_day_utc(), "02:00");
        for (given, want) in [
            ("FRIDAY,22:00", "Friday,22:00"),
            ("Fri, 22:00", "Friday,22:00"),
            ("mon,0:05", "Monday,00:05"),
            ("Wed,23:59", "Wednesday,23:59"),
        ] {
            assert_eq!(
                maintenance_window("--maintenance-window", given)
                    .unwrap()
                    .to_string(),
                want
            );
        }
        for (bad, why) in [
            ("Sunday 02:00", "no comma"),
            ("Sundays,02:00", "not a day of the week"),
            ("Su,02:00", "not a day of the week"),
            ("Sunday,24:00", "not a time of day"),
            ("Sunday,12:60", "not a time of day"),
            ("Sunday,2:0", "not a time of day"),
            ("Sunday,2pm", "not a time of day"),
            ("Sunday,123:00", "not a time of day"),
            ("Sunday,+1:00", "not a time of day"),
            (",02:00", "not a day of the week"),
        ] {
            let e = maintenance_window("--maintenance-window", bad).unwrap_err();
            assert_eq!(e.flag, "--maintenance-window");
            assert!(e.problem.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn root_squash_modes() {
        assert_eq!(
            root_squash_mode("--root-squash-mode", "rootonly"),
            Ok(SquashMode::RootOnly)
        );
        assert_eq!(
            root_squash_mode("--root-squash-mode", "ALL"),
            Ok(SquashMode::All)
        );
        assert_eq!(
            root_squash_mode("--root-squash-mode", "none"),
            Ok(SquashMode::None)
        );
        assert!(root_squash_mode("--root-squash-mode", "root").is_err());
    }

    #[test]
    fn nid_lists() {
        for (given, want) in [
            (
                "10.0.0.[5-6]@tcp;10.0.1.2@tcp",
                "10.0.0.[5-6]@tcp;10.0.1.2@tcp",
            ),
            (
                " 10.0.0.4@tcp ; 10.0.2.[6-60]@tcp ",
                "10.0.0.4@tcp;10.0.2.[6-60]@tcp",
            ),
            (
                "10.0.[0-3].[1-9,20-30/2]@tcp1",
                "10.0.[0-3].[1-9,20-30/2]@tcp1",
            ),
            ("10.0.0.*@tcp", "10.0.0.*@tcp"),
            ("", ""),
        ] {
            assert_eq!(
                no_squash_nids("--no-squash-nids", given).as_deref(),
                Ok(want)
            );
        }
        for (bad, why) in [
            ("10.0.0.4", "no @network"),
            ("10.0.0.4@o2ib", "not a TCP network"),
            ("10.0.0.4@tcpx", "not a TCP network"),
            ("10.0.0@tcp", "four parts"),
            ("10.0.0.0.1@tcp", "four parts"),
            ("10.0.0.256@tcp", "256 is not a number from 0 to 255"),
            ("10.0.0.[6-5]@tcp", "runs backwards"),
            ("10.0.0.[]@tcp", "empty bracket"),
            ("10.0.0.[5-]@tcp", "empty end"),
            ("10.0.0.[1-9/0]@tcp", "step"),
            ("10.0.0.[5/2]@tcp", "step but no range"),
            ("10.0.0.a@tcp", "contains 'a'"),
            ("10..0.1@tcp", "empty address part"),
            ("10.0.0.1@tcp;;10.0.0.2@tcp", "empty entry"),
            ("10.0.0.1@tcp;", "empty entry"),
        ] {
            let e = no_squash_nids("--no-squash-nids", bad).unwrap_err();
            assert_eq!(e.flag, "--no-squash-nids");
            assert!(e.problem.contains(why), "{bad}: {e}");
            assert!(e.hint.is_some());
        }
    }

    #[test]
    fn squash_ids() {
        assert_eq!(squash_id("--squash-uid", "65534"), Ok(65534));
        assert_eq!(squash_id("--squash-uid", "0"), Ok(0));
        assert_eq!(squash_id("--squash-gid", "4294967294"), Ok(4294967294));
        for bad in ["4294967295", "-1", "+5", "nobody", "", "1.0"] {
            assert_eq!(
                squash_id("--squash-gid", bad).unwrap_err().flag,
                "--squash-gid",
                "{bad}"
            );
        }
    }

    #[test]
    fn root_squash_combinations() {
        let ok = root_squash(
            SquashMode::All,
            Some("10.0.0.4@tcp".into()),
            Some(99),
            Some(98),
        )
        .unwrap();
        assert_eq!(ok.no_squash_nids.as_deref(), Some("10.0.0.4@tcp"));
        assert_eq!((ok.squash_uid, ok.squash_gid), (Some(99), Some(98)));
        assert_eq!(
            root_squash(SquashMode::RootOnly, Some(String::new()), Some(1), Some(1))
                .unwrap()
                .no_squash_nids,
            None
        );
        assert_eq!(
            root_squash(SquashMode::None, None, None, None)
                .unwrap()
                .mode,
            SquashMode::None
        );
        let e = root_squash(SquashMode::RootOnly, None, Some(1), None).unwrap_err();
        assert_eq!(e.flag, SQUASH_GID_FLAG);
        let e = root_squash(SquashMode::All, None, None, Some(1)).unwrap_err();
        assert_eq!(e.flag, SQUASH_UID_FLAG);
        let e = root_squash(SquashMode::None, Some("10.0.0.4@tcp".into()), None, None).unwrap_err();
        assert_eq!(e.flag, NO_SQUASH_NIDS_FLAG);
        let e = root_squash(SquashMode::None, None, None, Some(5)).unwrap_err();
        assert_eq!(e.flag, SQUASH_GID_FLAG);
    }

    #[test]
    fn hsm_containers_must_be_valid_and_different() {
        assert_eq!(
            hsm_containers(
                ("--hsm-container", "data"),
                ("--hsm-logging-container", "logs")
            ),
            Ok(("data".to_owned(), "logs".to_owned()))
        );
        let e = hsm_containers(
            ("--hsm-container", "Data"),
            ("--hsm-logging-container", "logs"),
        )
        .unwrap_err();
        assert_eq!(e.flag, "--hsm-container");
        let e = hsm_containers(
            ("--hsm-container", "data"),
            ("--hsm-logging-container", "data"),
        )
        .unwrap_err();
        assert_eq!(e.flag, "--hsm-logging-container");
    }

    #[test]
    fn import_prefixes_rules() {
        for ok in ["/", "/data", "/data/", "/datasets/2024/run-1", "/ünïcode"] {
            assert_eq!(import_prefix("--import-prefix", ok).as_deref(), Ok(ok));
        }
        for (bad, why) in [
            ("", "empty"),
            ("data", "does not start with /"),
            ("//", "empty segment"),
            ("/a//b", "empty segment"),
            ("/a/../b", "\"..\" segment"),
            ("/a\\b", "'\\\\'"),
            ("/a\nb", "'\\n'"),
        ] {
            let e = import_prefix("--import-prefix", bad).unwrap_err();
            assert!(e.problem.contains(why), "{bad:?}: {e}");
        }
        assert!(import_prefix("--import-prefix", &format!("/{}", "a".repeat(1024))).is_err());
        assert_eq!(
            import_prefixes::<&str>("--import-prefix", &[]).unwrap(),
            vec!["/"]
        );
        assert_eq!(
            import_prefixes("--import-prefix", &["/a", "/b", "/a"]).unwrap(),
            vec!["/a", "/b"]
        );
    }

    #[test]
    fn conflict_modes() {
        assert_eq!(
            conflict_mode("--conflict-resolution-mode", "overwriteifdirty"),
            Ok(ConflictMode::OverwriteIfDirty)
        );
        assert!(conflict_mode("--conflict-resolution-mode", "overwrite").is_err());
    }

    #[test]
    fn subnet_room_against_the_required_size() {
        assert_eq!(prefix_len_for(59), Some(26));
        assert_eq!(prefix_len_for(60), Some(25));
        assert_eq!(prefix_len_for(1), Some(29));
        assert_eq!(prefix_len_for(u64::MAX), None);
        assert!(subnet_room("--subnet-prefix", 24, 200).is_ok());
        let e = subnet_room("--subnet-prefix", 27, 32).unwrap_err();
        assert_eq!(e.flag, "--subnet-prefix");
        assert_eq!(e.hint.as_deref(), Some("Use a /26 subnet or larger"));
    }

    proptest! {
        #[test]
        fn every_multiple_of_the_step_is_accepted(k in 1u32..100_000, i in 0usize..4) {
            let s = AmlfsSku::ALL[i];
            let tib = k * s.capacity_step_tib();
            prop_assert_eq!(capacity_tib("--capacity-tib", s, &tib.to_string()), Ok(tib));
        }

        #[test]
        fn a_refused_capacity_suggests_only_valid_ones(tib in 0u32..2_000_000, i in 0usize..4) {
            let s = AmlfsSku::ALL[i];
            if let Err(e) = capacity_tib("--capacity-tib", s, &tib.to_string()) {
                let hint = e.hint.unwrap();
                let suggested: Vec<u32> = hint
                    .split(|c: char| !c.is_ascii_digit())
                    .filter_map(|w| w.parse().ok())
                    .collect();
                prop_assert!(!suggested.is_empty(), "{}", hint);
                for n in suggested {
                    prop_assert!(capacity_tib("--capacity-tib", s, &n.to_string()).is_ok(), "{} suggested {}", hint, n);
                    prop_assert!(n.abs_diff(tib) <= s.capacity_step_tib(), "{} is not near {}", n, tib);
                }
            }
        }

        #[test]
        fn generated_nid_lists_are_accepted(
            entries in proptest::collection::vec(
                ("[0-9]{1,2}", "[0-9]{1,2}", prop_oneof!["[0-9]{1,2}", Just("*".to_owned())], 0u8..100, 0u8..100),
                1..5,
            )
        ) {
            let list: Vec<String> = entries
                .iter()
                .map(|(a, b, c, lo, span)| format!("{a}.{b}.{c}.[{lo}-{}]@tcp", u16::from(*lo) + u16::from(*span)))
                .collect();
            let joined = list.join(";");
            prop_assert_eq!(no_squash_nids("--no-squash-nids", &joined), Ok(joined.clone()));
        }

        #[test]
        fn every_valid_window_is_accepted(d in 0usize..7, h in 0u8..24, m in 0u8..60) {
            let text = format!("{},{h:02}:{m:02}", Weekday::ALL[d].name().to_lowercase());
            let w = maintenance_window("--maintenance-window", &text).unwrap();
            prop_assert_eq!((w.day, w.hour, w.minute), (Weekday::ALL[d], h, m));
        }
    }
}
