//! Byte-for-byte checks against renderings made by az's own output library.
//!
//! `tests/golden/` holds the project's reference cases; `tests/output-cases/` holds more,
//! generated with knack by its `generate.py`. Each case is `<case>.input.json` (the
//! command's result), `<case>.args` (a JSON array of `-o/--output` and `--query` flags)
//! and `<case>.out` (the exact stdout).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{OutputFormat, Query, parse_output, render_with_color};

fn case_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse_args(args: &[String]) -> Result<(OutputFormat, Option<Query>), String> {
    let mut format = OutputFormat::default();
    let mut query = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "-o" | "--output" => format = parse_output(value)?,
            "--query" => query = Some(Query::parse(value).map_err(|e| e.to_string())?),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    Ok((format, query))
}

/// Lines that differ, escaped so tabs and trailing spaces show.
fn diff(expected: &str, actual: &str) -> String {
    let exp: Vec<&str> = expected.split_inclusive('\n').collect();
    let act: Vec<&str> = actual.split_inclusive('\n').collect();
    let mut out = String::new();
    for i in 0..exp.len().max(act.len()) {
        let (e, a) = (exp.get(i), act.get(i));
        if e == a {
            out.push_str(&format!("   {:?}\n", e.unwrap_or(&"")));
            continue;
        }
        if let Some(e) = e {
            out.push_str(&format!("-  {e:?}\n"));
        }
        if let Some(a) = a {
            out.push_str(&format!("+  {a:?}\n"));
        }
    }
    out
}

/// Runs every case in `dir`; returns how many ran and a report of each failure.
fn run_cases(dir: &Path) -> (usize, Vec<String>) {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".args").map(str::to_owned)
        })
        .collect();
    names.sort();

    let mut failures = Vec::new();
    for name in &names {
        let input: Value = serde_json::from_str(&read(&dir.join(format!("{name}.input.json"))))
            .unwrap_or_else(|e| panic!("{name}.input.json: {e}"));
        let args: Vec<String> = serde_json::from_str(&read(&dir.join(format!("{name}.args"))))
            .unwrap_or_else(|e| panic!("{name}.args: {e}"));
        let expected = read(&dir.join(format!("{name}.out")));
        let actual = parse_args(&args).and_then(|(format, query)| {
            render_with_color(&input, format, query.as_ref(), false).map_err(|e| e.to_string())
        });
        match actual {
            Ok(actual) if actual == expected => {}
            Ok(actual) => failures.push(format!(
                "{name} {args:?}: output differs (- expected, + actual)\n{}",
                diff(&expected, &actual)
            )),
            Err(e) => failures.push(format!("{name} {args:?}: error: {e}")),
        }
    }
    (names.len(), failures)
}

fn check(dir: &str, at_least: usize) {
    let (ran, failures) = run_cases(&case_dir(dir));
    assert!(ran >= at_least, "only {ran} cases found in tests/{dir}");
    assert!(
        failures.is_empty(),
        "{} of {ran} cases in tests/{dir} failed:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn golden_cases_match_az_byte_for_byte() {
    check("golden", 12);
}

#[test]
fn knack_generated_cases_match_byte_for_byte() {
    check("output-cases", 30);
}

/// Any other directory of cases named by `OUTPUT_CASES_DIR`, e.g. a random batch made
/// with `tests/output-cases/fuzz.py`.
#[test]
fn cases_from_output_cases_dir() {
    if let Some(dir) = std::env::var_os("OUTPUT_CASES_DIR") {
        let dir = PathBuf::from(dir);
        let (ran, failures) = run_cases(&dir);
        assert!(
            failures.is_empty(),
            "{} of {ran} cases failed:\n\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

#[test]
fn diff_shows_the_differing_lines() {
    let d = diff("a\tb\nsame\n", "a b\nsame\n");
    assert_eq!(d, "-  \"a\\tb\\n\"\n+  \"a b\\n\"\n   \"same\\n\"\n");
}
