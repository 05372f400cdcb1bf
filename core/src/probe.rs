//! The verification probe: what a probe pod runs and the one line it prints.
//!
//! `kubectl hpccache verify` starts a short-lived pod that mounts the claim at
//! [`MOUNT_POINT`] and runs [`script`] with `sh -c`. The script prints exactly one line
//! to its log: [`REPORT_PREFIX`] followed by a JSON object, parsed by [`Report::parse`].
//! The sandbox's kubelet model prints the same line for a probe pod, computed from its
//! emulated export, so this module is the contract between the two sides.
//!
//! ```text
//! HPCCACHE-PROBE {"v":1,"mountPoint":"/mnt/hpccache","source":"server.myhpccache.local:/myfilepath","size":"8.0E","used":"0","available":"8.0E","usePercent":"0%","write":true,"read":true,"uid":0,"gid":0,"error":null}
//! ```
//!
//! `size`, `used`, `available` and `usePercent` are the columns of `df -P -h` as busybox
//! prints them. `write` says whether a file could be created in the mount's root, `read`
//! whether the same bytes came back; `error` holds the shell's message when either failed
//! (e.g. `sh: can't create /mnt/hpccache/.hpccache-probe: Permission denied`).

use serde::{Deserialize, Serialize};

/// Prefix of the report line, so it can be found among any other output.
pub const REPORT_PREFIX: &str = "HPCCACHE-PROBE ";
/// Version of the report format.
pub const REPORT_VERSION: u32 = 1;
/// Where the probe pod mounts the claim.
pub const MOUNT_POINT: &str = "/mnt/hpccache";
/// Label set on probe pods so they can be found and removed (also after Ctrl-C).
pub const PROBE_LABEL: &str = "hpccache.azure.com/probe";
/// Name of the file the probe writes and removes in the mount's root.
pub const PROBE_FILE: &str = ".hpccache-probe";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub v: u32,
    pub mount_point: String,
    /// `server:/path` as the kernel reports the mount source.
    pub source: String,
    pub size: String,
    pub used: String,
    pub available: String,
    pub use_percent: String,
    pub write: bool,
    pub read: bool,
    pub uid: u32,
    pub gid: u32,
    pub error: Option<String>,
}

impl Report {
    /// Renders the line the probe prints (without trailing newline).
    pub fn to_line(&self) -> String {
        crate::report_line::render(REPORT_PREFIX, self)
    }

    /// Finds and parses the report line in a pod log. `None` when there is no report line
    /// (the probe did not run, or the log is from another pod); a line that is present but
    /// malformed is an error message.
    pub fn parse(log: &str) -> Option<Result<Report, String>> {
        crate::report_line::parse(
            log,
            REPORT_PREFIX,
            "probe report",
            REPORT_VERSION,
            |r: &Report| r.v,
        )
    }

    /// Whether the mount is usable by the probe's user.
    pub fn ok(&self) -> bool {
        self.write && self.read && self.error.is_none()
    }
}

/// The POSIX shell script the probe container runs (busybox `sh -c`). It only uses
/// busybox applets: `df`, `id`, `cat`, `rm`, `printf`.
pub fn script() -> String {
    format!(
        r#"m={MOUNT_POINT}; f="$m/{PROBE_FILE}-$(hostname)"
set -- $(df -P -h "$m" | tail -n 1)
src=$1 size=$2 used=$3 avail=$4 pct=$5
w=false r=false
err=$( {{ echo hpccache-probe > "$f"; }} 2>&1 ) && w=true
if [ "$w" = true ]; then [ "$(cat "$f" 2>&1)" = hpccache-probe ] && r=true; rm -f "$f"; fi
if [ -n "$err" ]; then e=$(printf '"%s"' "$(printf '%s' "$err" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr '\n' ' ')"); else e=null; fi
printf '{REPORT_PREFIX}{{"v":{REPORT_VERSION},"mountPoint":"%s","source":"%s","size":"%s","used":"%s","available":"%s","usePercent":"%s","write":%s,"read":%s,"uid":%s,"gid":%s,"error":%s}}\n' "$m" "$src" "$size" "$used" "$avail" "$pct" "$w" "$r" "$(id -u)" "$(id -g)" "$e""#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            v: 1,
            mount_point: MOUNT_POINT.into(),
            source: "server.myhpccache.local:/myfilepath".into(),
            size: "8.0E".into(),
            used: "0".into(),
            available: "8.0E".into(),
            use_percent: "0%".into(),
            write: true,
            read: true,
            uid: 0,
            gid: 0,
            error: None,
        }
    }

    #[test]
    fn report_round_trips_through_a_log() {
        let log = format!("some noise\n{}\n", sample().to_line());
        assert_eq!(Report::parse(&log), Some(Ok(sample())));
    }

    #[test]
    fn a_log_without_report_is_none() {
        assert_eq!(Report::parse("hello\n"), None);
    }

    #[test]
    fn a_newer_report_version_is_refused() {
        let line = sample().to_line().replace("\"v\":1", "\"v\":2");
        assert!(matches!(Report::parse(&line), Some(Err(_))));
    }

    #[test]
    fn failed_write_is_not_ok() {
        let mut r = sample();
        r.write = false;
        r.read = false;
        r.error =
            Some("sh: can't create /mnt/hpccache/.hpccache-probe-x: Permission denied".into());
        assert!(!r.ok());
    }

    #[test]
    fn script_prints_every_report_field() {
        let s = script();
        for key in [
            "\"v\"",
            "mountPoint",
            "source",
            "size",
            "used",
            "available",
            "usePercent",
            "write",
            "read",
            "uid",
            "gid",
            "error",
        ] {
            assert!(s.contains(key), "script lacks {key}");
        }
    }
}
