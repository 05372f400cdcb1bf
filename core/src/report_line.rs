//! The one-line JSON reports that in-cluster pods print for us to read back from their logs
//! (the probe's in [`crate::probe`], the owner job's in [`crate::owner`]): `PREFIX{json}`,
//! the last such line of the log wins, and a report of another version is refused.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// `prefix` followed by the report as compact JSON (without trailing newline).
pub(crate) fn render<T: Serialize>(prefix: &str, report: &T) -> String {
    // Serialising a struct of strings, bools and integers cannot fail.
    format!(
        "{prefix}{}",
        serde_json::to_string(report).unwrap_or_default()
    )
}

/// The last line of `log` that starts with `prefix`, parsed: `None` without one; a line
/// that is there but malformed, or whose version (`version_of`) is not `version`, is an
/// error message naming `what` (`probe report`, `owner report`).
pub(crate) fn parse<T: DeserializeOwned>(
    log: &str,
    prefix: &str,
    what: &str,
    version: u32,
    version_of: impl Fn(&T) -> u32,
) -> Option<Result<T, String>> {
    let line = log.lines().rev().find(|l| l.starts_with(prefix))?;
    let json = &line[prefix.len()..];
    Some(
        serde_json::from_str::<T>(json)
            .map_err(|e| format!("malformed {what} {json:?}: {e}"))
            .and_then(|r| {
                let v = version_of(&r);
                if v == version {
                    Ok(r)
                } else {
                    Err(format!("{what} version {v} is not {version}"))
                }
            }),
    )
}
