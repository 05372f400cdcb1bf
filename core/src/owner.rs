//! The owner job: what its pod runs and the one line it prints.
//!
//! `az-hpccache-ext up --owner UID:GID` gives a directory on the cache to a non-root user
//! (a workload running as that uid can then write, also under root squash). While root
//! squash is off, a one-shot Kubernetes Job runs a pod labelled [`OWNER_LABEL`] as root; it
//! mounts the export at [`MOUNT_POINT`] and runs [`script`] with `sh -c`, with the
//! directory in [`DIR_ENV`] (at or under the mount point) and `UID:GID` in [`OWNER_ENV`].
//! The script makes the directory, changes its owner when it is not already right, prints
//! exactly one line — [`REPORT_PREFIX`] and a JSON object, parsed by [`Report::parse`] —
//! and exits 1 when something failed.
//!
//! The sandbox's kubelet model prints the same line for such a pod, computed from its
//! emulated export (root squash, ownership and permissions applied), and fails the pod when
//! the report carries an error, as the script's exit status would: this module is the
//! contract between the two sides, like [`crate::probe`].
//!
//! ```text
//! HPCCACHE-OWNER {"v":1,"dir":"/mnt/hpccache","uid":1000,"gid":1000,"changed":true,"error":null}
//! ```

use serde::{Deserialize, Serialize};

/// Prefix of the report line.
pub const REPORT_PREFIX: &str = "HPCCACHE-OWNER ";
/// Version of the report format.
pub const REPORT_VERSION: u32 = 1;
/// Where the job's pod mounts the export.
pub const MOUNT_POINT: &str = crate::probe::MOUNT_POINT;
/// Label on the job and its pod (value: the deployment), so they can be found and removed.
pub const OWNER_LABEL: &str = "hpccache.azure.com/owner";
/// The directory to give away: [`MOUNT_POINT`] or a path under it.
pub const DIR_ENV: &str = "HPCCACHE_DIR";
/// The new owner, `UID:GID` in decimal.
pub const OWNER_ENV: &str = "HPCCACHE_OWNER";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub v: u32,
    /// The directory as the pod saw it.
    pub dir: String,
    /// The owner asked for.
    pub uid: u32,
    pub gid: u32,
    /// Whether the owner was changed (false: it was already right, or the job failed).
    pub changed: bool,
    /// The shell's message when `mkdir` or `chown` failed, e.g.
    /// `chown: /mnt/hpccache: Operation not permitted` under root squash.
    pub error: Option<String>,
}

impl Report {
    /// The line the job's pod prints (without trailing newline).
    pub fn to_line(&self) -> String {
        crate::report_line::render(REPORT_PREFIX, self)
    }

    /// Finds and parses the report line in a pod log: `None` without one; a line that is
    /// there but malformed (or of another version) is an error message.
    pub fn parse(log: &str) -> Option<Result<Report, String>> {
        crate::report_line::parse(
            log,
            REPORT_PREFIX,
            "owner report",
            REPORT_VERSION,
            |r: &Report| r.v,
        )
    }

    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// The POSIX shell script the job's container runs (busybox `sh -c`): `mkdir -p`, `stat`,
/// `chown`, `printf`, `sed`, `tr`.
pub fn script() -> String {
    format!(
        r#"d="${DIR_ENV}"; o="${OWNER_ENV}"; c=false; s=0
e=$(mkdir -p "$d" 2>&1) || s=1
if [ "$s" = 0 ] && [ "$(stat -c %u:%g "$d")" != "$o" ]; then e=$(chown "$o" "$d" 2>&1) && c=true || s=1; fi
if [ -n "$e" ]; then j=$(printf '"%s"' "$(printf '%s' "$e" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr '\n' ' ')"); else j=null; fi
printf '{REPORT_PREFIX}{{"v":{REPORT_VERSION},"dir":"%s","uid":%s,"gid":%s,"changed":%s,"error":%s}}\n' "$d" "${{o%%:*}}" "${{o##*:}}" "$c" "$j"
exit "$s""#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            v: REPORT_VERSION,
            dir: MOUNT_POINT.into(),
            uid: 1000,
            gid: 1000,
            changed: true,
            error: None,
        }
    }

    #[test]
    fn report_round_trips_through_a_log() {
        let log = format!("noise\n{}\n", sample().to_line());
        assert_eq!(Report::parse(&log), Some(Ok(sample())));
        assert_eq!(Report::parse("nothing\n"), None);
    }

    #[test]
    fn a_failed_chown_is_not_ok() {
        let mut r = sample();
        r.changed = false;
        r.error = Some("chown: /mnt/hpccache: Operation not permitted".into());
        assert!(!r.ok());
        let line = r.to_line().replace("\"v\":1", "\"v\":2");
        assert!(matches!(Report::parse(&line), Some(Err(_))));
    }

    /// The script itself, run by the local `sh`: a directory already owned as asked is
    /// made and left alone, and its report parses.
    #[cfg(unix)]
    #[test]
    fn script_makes_the_directory_and_reports_an_owner_already_right() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        let id = |flag: &str| {
            let out = std::process::Command::new("id").arg(flag).output().unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        let owner = format!("{}:{}", id("-u"), id("-g"));
        let out = std::process::Command::new("sh")
            .args(["-c", &script()])
            .env(DIR_ENV, &dir)
            .env(OWNER_ENV, &owner)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(dir.is_dir());
        let r = Report::parse(&String::from_utf8_lossy(&out.stdout))
            .expect("a report line")
            .expect("a valid report");
        assert_eq!(format!("{}:{}", r.uid, r.gid), owner);
        assert_eq!(r.dir, dir.display().to_string());
        assert!(!r.changed && r.ok(), "{r:?}");
    }

    #[test]
    fn script_reads_the_contract_and_prints_every_field() {
        let s = script();
        for needle in [
            "$HPCCACHE_DIR",
            "$HPCCACHE_OWNER",
            "HPCCACHE-OWNER ",
            "\"dir\"",
            "\"uid\"",
            "\"gid\"",
            "\"changed\"",
            "\"error\"",
            "exit \"$s\"",
        ] {
            assert!(s.contains(needle), "script lacks {needle}: {s}");
        }
    }
}
