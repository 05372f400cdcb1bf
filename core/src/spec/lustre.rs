//! Values of a Lustre CSI volume (`kubectl hpccache mount` of a Managed Lustre deployment).

use crate::InvalidInput;

/// The mount options Azure recommends for Lustre clients (`clientInfo.mountCommand`).
pub const DEFAULT_MOUNT_OPTIONS: &str = "noatime,flock";

/// Client mount options of `mount.lustre(8)` this tool passes on; each takes no value.
const OPTIONS: &[&str] = &[
    "noatime",
    "relatime",
    "flock",
    "localflock",
    "noflock",
    "user_xattr",
    "nouser_xattr",
    "lazystatfs",
    "nolazystatfs",
    "ro",
    "rw",
];

/// `--mount-options` of a Lustre volume: comma-separated options from [`OPTIONS`].
pub fn mount_options(flag: &str, v: &str) -> Result<Vec<String>, InvalidInput> {
    let hint = || {
        format!(
            "Known options (see mount.lustre(8)): {}; omit the flag for the default, {DEFAULT_MOUNT_OPTIONS}",
            OPTIONS.join(", ")
        )
    };
    if v.trim().is_empty() {
        return Err(InvalidInput::new(flag, "no mount options given").hint(hint()));
    }
    v.split(',')
        .map(|t| {
            let t = t.trim();
            if OPTIONS.contains(&t) {
                Ok(t.to_string())
            } else {
                Err(InvalidInput::new(
                    flag,
                    format!("\"{t}\" is not a Lustre client mount option this tool passes on"),
                )
                .hint(hint()))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lustre_options_are_checked() {
        assert_eq!(
            mount_options("--mount-options", "noatime, flock").unwrap(),
            ["noatime", "flock"]
        );
        let e = mount_options("--mount-options", "vers=3").unwrap_err();
        assert_eq!(e.flag, "--mount-options");
        assert!(e.problem.contains("vers=3"));
        assert!(mount_options("--mount-options", " ").is_err());
    }
}
