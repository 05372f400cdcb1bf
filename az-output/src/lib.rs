//! az-style output: `-o/--output` formats and `--query`, rendered to the exact text az
//! (knack) would write to stdout. Nothing here prints; callers write the returned text.
//!
//! Its own crate because it depends on nothing of hpccache's: it is az's output contract
//! (knack, Pygments, PyYAML and jmespath behaviour), pinned by the golden cases under
//! `tests/golden/` and `tests/output-cases/`, and builds and tests without the rest.

mod color;
mod format;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod golden;
mod json;
mod python;
mod query;
mod table;
mod tsv;
mod yaml;

use serde_json::Value;

use color::Paint;
pub use format::{OutputFormat, color_enabled, parse_output};
pub use query::{QUERY_REFERENCE, Query, QueryParseError};

/// Failures while producing output; each is an ordinary error (exit code 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// The expression parsed but failed on this result (a wrong argument type, an
    /// unknown function).
    #[error("Invalid jmespath query supplied for `--query`: {0}")]
    Query(String),
}

impl OutputError {
    /// The line az prints after the error message.
    pub fn recommendation(&self) -> Option<&'static str> {
        match self {
            OutputError::Query(_) => Some(QUERY_REFERENCE),
        }
    }
}

/// What az writes to stdout for a command's `result` under `-o format --query query`,
/// trailing newline included. `jsonc`/`yamlc` colour only when [`color_enabled`].
///
/// A command's result is, to az, plain Python dicts (an SDK model's `as_dict()`), and knack
/// writes a plain dict's TSV row in sorted-key order, the order `-o json` prints its keys in
/// (issue 16: `cache list -o tsv` put `id` first while `-o json` starts with `cacheSizeGB`).
/// So the result's keys are sorted before anything else; only what a `--query` builds (a
/// multi-select hash: knack's ordered dict) keeps the order the query gives. The golden
/// cases call [`render_with_color`] with their input's own order, as knack was given it.
pub fn render(
    result: &Value,
    format: OutputFormat,
    query: Option<&Query>,
) -> Result<String, OutputError> {
    render_with_color(&sorted_keys(result), format, query, color_enabled())
}

/// `value` with every object's keys in sorted order, at every depth.
fn sorted_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted_keys).collect()),
        other => other.clone(),
    }
}

/// [`render`] with the colour decision made by the caller.
pub fn render_with_color(
    result: &Value,
    format: OutputFormat,
    query: Option<&Query>,
    color: bool,
) -> Result<String, OutputError> {
    // The query runs whatever the format, so `-o none` still reports a failing query.
    let queried;
    let result = match query {
        Some(query) => {
            queried = query.search(result)?;
            &queried
        }
        None => result,
    };
    // knack prints nothing at all for a None result, in every format.
    if result.is_null() {
        return Ok(String::new());
    }
    let paint = if color { Paint::Ansi } else { Paint::Plain };
    Ok(match format {
        OutputFormat::Json => json::render(result, Paint::Plain),
        OutputFormat::Jsonc => json::render(result, paint),
        OutputFormat::Yaml => yaml::render(result, Paint::Plain),
        OutputFormat::Yamlc => yaml::render(result, paint),
        // Sorted columns, except that a --query decides the columns and their order.
        OutputFormat::Table => table::render(result, query.is_none()),
        OutputFormat::Tsv => tsv::render(result),
        OutputFormat::None => String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                chars.by_ref().find(|c| *c == 'm');
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn none_prints_nothing_but_still_runs_the_query() {
        let v = json!({"name": "x"});
        assert_eq!(
            render_with_color(&v, OutputFormat::None, None, false),
            Ok(String::new())
        );
        let bad = Query::parse("length(`1`)").unwrap();
        assert!(render_with_color(&v, OutputFormat::None, Some(&bad), false).is_err());
    }

    #[test]
    fn a_null_result_prints_nothing_in_every_format() {
        let v = json!({"name": "x"});
        let missing = Query::parse("nothing").unwrap();
        for format in OutputFormat::ALL {
            assert_eq!(
                render_with_color(&v, format, Some(&missing), true),
                Ok(String::new())
            );
            assert_eq!(
                render_with_color(&Value::Null, format, None, false),
                Ok(String::new())
            );
        }
    }

    #[test]
    fn coloured_forms_equal_the_plain_ones_without_colour() {
        let v = json!([{"name": "x", "n": 1, "on": true, "tags": {"k": "yes"}, "e": []}]);
        for (coloured, plain) in [
            (OutputFormat::Jsonc, OutputFormat::Json),
            (OutputFormat::Yamlc, OutputFormat::Yaml),
        ] {
            let want = render_with_color(&v, plain, None, true).unwrap();
            assert_eq!(render_with_color(&v, coloured, None, false).unwrap(), want);
            let painted = render_with_color(&v, coloured, None, true).unwrap();
            assert_ne!(painted, want);
            assert_eq!(strip_ansi(&painted), want);
        }
        let painted = render_with_color(&v, OutputFormat::Jsonc, None, true).unwrap();
        assert!(painted.contains("\x1b[94m\"name\"\x1b[39;49;00m: \x1b[33m\"x\"\x1b[39;49;00m"));
        let painted = render_with_color(&v, OutputFormat::Yamlc, None, true).unwrap();
        assert!(painted.contains("\x1b[94mk\x1b[39;49;00m: \x1b[33m'yes'\x1b[39;49;00m"));
    }

    #[test]
    fn a_command_result_prints_its_tsv_row_in_the_json_key_order() {
        let v = json!([{"name": "c", "id": "/x", "cacheSizeGB": 3072, "health": {"state": "ok"},
                         "mountAddresses": ["a", "b"], "enabled": true, "tags": null}]);
        let tsv = render(&v, OutputFormat::Tsv, None).unwrap();
        // cacheSizeGB, enabled, health, id, mountAddresses, name, tags
        assert_eq!(tsv, "3072\tTrue\t\t/x\t2\tc\tNone\n");
        // A query's multi-select hash keeps the query's order.
        let q = Query::parse("[].{n: name, i: id}").unwrap();
        assert_eq!(render(&v, OutputFormat::Tsv, Some(&q)).unwrap(), "c\t/x\n");
    }

    #[test]
    fn query_runtime_error_carries_the_hint() {
        let q = Query::parse("sort_by(@, &nope)").unwrap();
        let err =
            render_with_color(&json!([{"a": 1}]), OutputFormat::Json, Some(&q), false).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Invalid jmespath query supplied for `--query`:")
        );
        assert_eq!(err.recommendation(), Some(QUERY_REFERENCE));
    }
}
