//! What goes into the NFS side of the PersistentVolume: the cache's namespace path
//! (`--virtual-namespace-path`), the client's mount options (`--mount-options`), and who
//! owns the directory a workload writes in (`--owner`).

use super::text::{char_name, edit_distance, one_of, quote};
use crate::InvalidInput;

/// Mount options the HPC Cache docs recommend for NFSv3 clients; the guide sets only `vers=3`.
pub const DEFAULT_MOUNT_OPTIONS: &str = "vers=3,hard,proto=tcp,mountproto=tcp,retry=30";

/// Longest namespace path accepted, in characters.
pub const MAX_NAMESPACE_PATH: usize = 255;

const PATH_HINT: &str = "Use an absolute path such as /myfilepath: printable ASCII without spaces, single slashes between segments, no . or .. segments, no trailing slash, 255 characters at most";

/// A namespace path of the cache (`/`, `/myfilepath`, `/data/set-1`).
pub fn namespace_path(flag: &str, v: &str) -> Result<String, InvalidInput> {
    let bad = |reason: String| {
        InvalidInput::new(
            flag,
            format!("{} is not a valid namespace path: {reason}", quote(v)),
        )
        .hint(PATH_HINT)
    };
    if v.is_empty() {
        return Err(bad("it is empty".to_owned()));
    }
    if !v.starts_with('/') {
        return Err(bad("it does not start with /".to_owned()));
    }
    let len = v.chars().count();
    if len > MAX_NAMESPACE_PATH {
        return Err(bad(format!(
            "it is {len} characters long, more than {MAX_NAMESPACE_PATH}"
        )));
    }
    if let Some(c) = v.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(bad(format!("it contains {}", char_name(c))));
    }
    if v == "/" {
        return Ok(v.to_owned());
    }
    if v.ends_with('/') {
        return Err(bad("it ends with /".to_owned()));
    }
    for segment in v[1..].split('/') {
        match segment {
            "" => return Err(bad("it has an empty segment (//)".to_owned())),
            "." | ".." => return Err(bad(format!("it has a {segment:?} segment"))),
            _ => {}
        }
    }
    Ok(v.to_owned())
}

/// Who gets a directory on the cache (`--owner UID:GID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.uid, self.gid)
    }
}

/// `UID:GID` in decimal, as `chown` takes it. uid 0 is refused: the export already belongs
/// to root, and root squash would make root nobody anyway; `4294967295` is refused too,
/// since `chown` reads it as "leave unchanged".
pub fn owner(flag: &str, v: &str) -> Result<Owner, InvalidInput> {
    let bad = |reason: &str| {
        InvalidInput::new(flag, format!("{} is not a valid owner: {reason}", quote(v)))
            .hint("Give the uid and gid your workload runs as (its securityContext runAsUser and runAsGroup), e.g. --owner 1000:1000")
    };
    let Some((uid, gid)) = v.split_once(':') else {
        return Err(bad("it is not UID:GID"));
    };
    let number = |s: &str, what: &str| -> Result<u32, InvalidInput> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(&format!("the {what} is not a number")));
        }
        match s.parse::<u32>() {
            Ok(n) if n < u32::MAX => Ok(n),
            _ => Err(bad(&format!("the {what} is larger than {}", u32::MAX - 1))),
        }
    };
    let owner = Owner {
        uid: number(uid, "uid")?,
        gid: number(gid, "gid")?,
    };
    if owner.uid == 0 {
        return Err(bad(
            "uid 0 is root, which owns the export already; --owner gives a directory to a non-root user",
        ));
    }
    Ok(owner)
}

/// What an option takes after `=`.
#[derive(Clone, Copy)]
enum Takes {
    Nothing,
    Number { min: u64, max: u64 },
    OneOf(&'static [&'static str]),
}

const ANY_NUMBER: Takes = Takes::Number {
    min: 0,
    max: u32::MAX as u64,
};
const PORT: Takes = Takes::Number { min: 0, max: 65535 };

/// The options of nfs(5) this tool passes through, and what each takes.
const OPTIONS: &[(&str, Takes)] = &[
    ("vers", Takes::OneOf(&["3"])),
    ("nfsvers", Takes::OneOf(&["3"])),
    ("hard", Takes::Nothing),
    ("soft", Takes::Nothing),
    ("proto", Takes::OneOf(&["tcp", "udp"])),
    ("mountproto", Takes::OneOf(&["tcp", "udp"])),
    ("retry", ANY_NUMBER),
    ("rsize", ANY_NUMBER),
    ("wsize", ANY_NUMBER),
    ("timeo", ANY_NUMBER),
    ("retrans", ANY_NUMBER),
    ("actimeo", ANY_NUMBER),
    ("acregmin", ANY_NUMBER),
    ("acregmax", ANY_NUMBER),
    ("acdirmin", ANY_NUMBER),
    ("acdirmax", ANY_NUMBER),
    ("port", PORT),
    ("mountport", PORT),
    // The Linux client opens at most 16 connections per server.
    ("nconnect", Takes::Number { min: 1, max: 16 }),
    (
        "sec",
        Takes::OneOf(&["sys", "none", "krb5", "krb5i", "krb5p"]),
    ),
    (
        "lookupcache",
        Takes::OneOf(&["all", "none", "pos", "positive"]),
    ),
    (
        "local_lock",
        Takes::OneOf(&["none", "all", "flock", "posix"]),
    ),
    ("lock", Takes::Nothing),
    ("nolock", Takes::Nothing),
    ("noatime", Takes::Nothing),
    ("nodiratime", Takes::Nothing),
    ("ac", Takes::Nothing),
    ("noac", Takes::Nothing),
    ("cto", Takes::Nothing),
    ("nocto", Takes::Nothing),
    ("intr", Takes::Nothing),
    ("nointr", Takes::Nothing),
    ("bg", Takes::Nothing),
    ("fg", Takes::Nothing),
    ("ro", Takes::Nothing),
    ("rw", Takes::Nothing),
    ("sync", Takes::Nothing),
    ("async", Takes::Nothing),
];

/// `--mount-options`, comma-separated, as the list a PersistentVolume's `mountOptions` holds.
pub fn mount_options(flag: &str, v: &str) -> Result<Vec<String>, InvalidInput> {
    if v.trim().is_empty() {
        return Err(
            InvalidInput::new(flag, "no mount options given").hint(format!(
                "Omit the flag for the default, {DEFAULT_MOUNT_OPTIONS}"
            )),
        );
    }
    v.split(',')
        .map(|token| mount_option(flag, v, token.trim()))
        .collect()
}

fn mount_option(flag: &str, all: &str, token: &str) -> Result<String, InvalidInput> {
    let bad = |problem: String, hint: String| InvalidInput::new(flag, problem).hint(hint);
    if token.is_empty() {
        return Err(bad(
            format!("{} has an empty option between commas", quote(all)),
            "Separate options with single commas, e.g. vers=3,hard".to_owned(),
        ));
    }
    let (name, value) = match token.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (token, None),
    };
    let Some(&(_, takes)) = OPTIONS.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = OPTIONS.iter().map(|(n, _)| *n).collect();
        let suggestion = names
            .iter()
            .map(|n| (n, edit_distance(name, n)))
            .min_by_key(|&(_, d)| d)
            .filter(|&(_, d)| d <= 2)
            .map(|(n, _)| format!("Did you mean {n}? "))
            .unwrap_or_default();
        return Err(bad(
            format!(
                "{} is not an NFS mount option this tool passes on",
                quote(name)
            ),
            format!(
                "{suggestion}Known options (see nfs(5)): {}",
                names.join(", ")
            ),
        ));
    };
    if name == "soft" {
        return Err(bad(
            "\"soft\" is refused: a soft mount gives up on a slow server and can silently lose writes"
                .to_owned(),
            "Use hard, as the HPC Cache docs recommend".to_owned(),
        ));
    }
    match (takes, value) {
        (Takes::Nothing, None) => {}
        (Takes::Nothing, Some(_)) => {
            return Err(bad(
                format!("{}: {name} takes no value", quote(token)),
                format!("Write it as {name}"),
            ));
        }
        (_, None) => {
            return Err(bad(
                format!("{}: {name} needs a value", quote(token)),
                format!("Write it as {name}={}", example(takes)),
            ));
        }
        (Takes::Number { min, max }, Some(value)) => {
            let n = value
                .parse::<u64>()
                .ok()
                .filter(|_| value.bytes().all(|b| b.is_ascii_digit()));
            if !n.is_some_and(|n| (min..=max).contains(&n)) {
                return Err(bad(
                    format!("{}: {name} must be a whole number", quote(token)),
                    format!("Use a number from {min} to {max}"),
                ));
            }
        }
        (Takes::OneOf(choices), Some(value)) => {
            if !choices.contains(&value) {
                let problem = if matches!(name, "vers" | "nfsvers") {
                    format!("{}: the cache serves NFS version 3 only", quote(token))
                } else {
                    format!("{}: {name} must be {}", quote(token), one_of(choices))
                };
                return Err(bad(problem, format!("Use {name}={}", choices[0])));
            }
        }
    }
    Ok(token.to_owned())
}

fn example(takes: Takes) -> String {
    match takes {
        Takes::Number { min, .. } => min.max(1).to_string(),
        Takes::OneOf(choices) => choices[0].to_owned(),
        Takes::Nothing => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn owners() {
        assert_eq!(
            owner("--owner", "1000:2000"),
            Ok(Owner {
                uid: 1000,
                gid: 2000
            })
        );
        assert_eq!(owner("--owner", "1000:0").map(|o| o.gid), Ok(0));
        for bad in [
            "",
            "1000",
            "0:0",
            "0:1000",
            "x:y",
            "1000:",
            ":1000",
            "-1:5",
            "1000:1000:1",
            "4294967295:1",
            "1:99999999999",
            " 1:1",
        ] {
            let e = owner("--owner", bad).expect_err(bad);
            assert_eq!(e.flag, "--owner");
        }
    }

    #[test]
    fn namespace_paths() {
        for good in [
            "/",
            "/myfilepath",
            "/data/set-1",
            "/a.b/c_d/~x",
            &format!("/{}", "p".repeat(254)),
        ] {
            assert_eq!(namespace_path("-v", good).as_deref(), Ok(good));
        }
        for (bad, why) in [
            ("", "it is empty"),
            ("myfilepath", "does not start with /"),
            ("/a/", "ends with /"),
            ("//", "ends with /"),
            ("/a//b", "empty segment"),
            ("/a/../b", "\"..\" segment"),
            ("/..", "\"..\" segment"),
            ("/./a", "\".\" segment"),
            ("/my path", "a space"),
            ("/tab\there", "'\\t'"),
            ("/café", "'é'"),
            (
                &format!("/{}", "p".repeat(255)),
                "256 characters long, more than 255",
            ),
        ] {
            let e = namespace_path("--virtual-namespace-path", bad).unwrap_err();
            assert_eq!(e.flag, "--virtual-namespace-path");
            assert!(e.problem.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn default_options_pass_and_keep_their_order() {
        assert_eq!(
            mount_options("--mount-options", DEFAULT_MOUNT_OPTIONS).unwrap(),
            ["vers=3", "hard", "proto=tcp", "mountproto=tcp", "retry=30"]
        );
    }

    #[test]
    fn good_options() {
        for (given, want) in [
            ("vers=3", &["vers=3"][..]),
            ("nfsvers=3,hard,nolock", &["nfsvers=3", "hard", "nolock"]),
            ("vers=3, hard , proto=udp", &["vers=3", "hard", "proto=udp"]),
            (
                "rsize=1048576,wsize=1048576,nconnect=8,actimeo=30",
                &["rsize=1048576", "wsize=1048576", "nconnect=8", "actimeo=30"],
            ),
            (
                "sec=sys,lookupcache=pos,local_lock=none,port=2049",
                &["sec=sys", "lookupcache=pos", "local_lock=none", "port=2049"],
            ),
            (
                "noatime,nodiratime,ro,sync,noac,nocto,intr,bg",
                &[
                    "noatime",
                    "nodiratime",
                    "ro",
                    "sync",
                    "noac",
                    "nocto",
                    "intr",
                    "bg",
                ],
            ),
        ] {
            assert_eq!(mount_options("-m", given).unwrap(), want, "{given}");
        }
    }

    #[test]
    fn bad_options_say_why() {
        for (given, why, hint) in [
            ("", "no mount options given", "vers=3,hard"),
            (
                "vers=3,,hard",
                "empty option between commas",
                "single commas",
            ),
            ("vers=3,", "empty option between commas", "single commas"),
            ("vers=4", "NFS version 3 only", "Use vers=3"),
            ("nfsvers=4.1", "NFS version 3 only", "Use nfsvers=3"),
            ("soft", "can silently lose writes", "Use hard"),
            ("proto=rdma", "proto must be tcp or udp", "proto=tcp"),
            (
                "mountproto=tcp6",
                "mountproto must be tcp or udp",
                "mountproto=tcp",
            ),
            ("timeo=abc", "timeo must be a whole number", "from 0"),
            ("retry=-1", "retry must be a whole number", "from 0"),
            ("rsize=+5", "rsize must be a whole number", "from 0"),
            ("port=70000", "port must be a whole number", "to 65535"),
            (
                "nconnect=0",
                "nconnect must be a whole number",
                "from 1 to 16",
            ),
            (
                "nconnect=17",
                "nconnect must be a whole number",
                "from 1 to 16",
            ),
            ("hard=1", "hard takes no value", "Write it as hard"),
            ("rsize", "rsize needs a value", "rsize="),
            ("vers", "vers needs a value", "vers=3"),
            (
                "nconect=4",
                "\"nconect\" is not an NFS mount option",
                "Did you mean nconnect?",
            ),
            (
                "Vers=3",
                "\"Vers\" is not an NFS mount option",
                "Did you mean vers?",
            ),
            (
                "sec=krb9",
                "sec must be sys, none, krb5, krb5i or krb5p",
                "sec=sys",
            ),
            ("lookupcache=some", "lookupcache must be", "lookupcache=all"),
            ("local_lock=both", "local_lock must be", "local_lock=none"),
        ] {
            let e = mount_options("--mount-options", given).unwrap_err();
            assert_eq!(e.flag, "--mount-options");
            assert!(e.problem.contains(why), "{given:?}: {e}");
            let h = e.hint.unwrap_or_default();
            assert!(h.contains(hint), "{given:?}: hint {h:?}");
        }
    }

    #[test]
    fn every_known_option_is_accepted_in_some_form() {
        for (name, takes) in OPTIONS {
            let token = match takes {
                Takes::Nothing => (*name).to_owned(),
                t => format!("{name}={}", example(*t)),
            };
            let r = mount_options("-m", &token);
            assert_eq!(r.is_err(), *name == "soft", "{token}: {r:?}");
        }
    }

    proptest! {
        #[test]
        fn generated_valid_paths_are_accepted(
            segments in proptest::collection::vec("[!-.0-~]{1,12}", 0..8)
        ) {
            // [!-.0-~] is printable ASCII without '/'; skip the . and .. segments it can make.
            prop_assume!(segments.iter().all(|s| s != "." && s != ".."));
            let path = format!("/{}", segments.join("/"));
            prop_assert_eq!(namespace_path("-v", &path), Ok(path.clone()));
        }

        #[test]
        fn paths_never_panic(v in any::<String>()) {
            let _ = namespace_path("-v", &v);
            let _ = mount_options("-m", &v);
        }
    }
}
