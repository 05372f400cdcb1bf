//! kubectl-style output: `-o yaml|json` print documents, `-o name` prints `kind/name`,
//! the default and `-o wide` print aligned columns.

use std::io::Write;

use serde::Serialize;

use crate::exit::CliError;

pub fn yaml<T: Serialize>(value: &T) -> Result<String, CliError> {
    serde_saphyr::to_string(value).map_err(|e| CliError::Output(format!("cannot render YAML: {e}")))
}

pub fn json<T: Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| CliError::Output(format!("cannot render JSON: {e}")))
}

/// Columns as kubectl prints them: upper-case headers, three spaces between columns, no
/// trailing spaces.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&headers).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}   "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A closed stdout (`| head`) is not an error.
pub fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::Output(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_aligns_and_trims() {
        let t = super::table(
            &["NAME", "CREATED", "ID"],
            &[
                vec!["cache".into(), "true".into(), "/x".into()],
                vec!["subnet-long".into(), "false".into(), "".into()],
            ],
        );
        assert_eq!(
            t,
            "NAME          CREATED   ID\ncache         true      /x\nsubnet-long   false\n"
        );
    }
}
