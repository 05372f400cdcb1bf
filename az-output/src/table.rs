//! `-o table`: knack's `_TableOutput` feeding `tabulate(..., headers="keys",
//! tablefmt="simple", disable_numparse=True)`.

use serde_json::{Map, Value};

use super::python;

/// Keys az never shows as table columns.
const SKIP_KEYS: [&str; 3] = ["id", "type", "etag"];

/// Two spaces between columns, and every column at least header + 2 wide.
const SEPARATOR: &str = "  ";
const MIN_PADDING: usize = 2;

pub(crate) fn render(result: &Value, sort_keys: bool) -> String {
    let items: Vec<&Value> = match result {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let rows: Vec<Map<String, Value>> = items.iter().map(|i| table_row(i, sort_keys)).collect();
    let mut out = tabulate(&rows);
    out.push('\n');
    out
}

/// One row: an object's scalar, non-null fields; a list's items as `Column1..N`;
/// anything else as a lone `Result` cell.
fn table_row(item: &Value, sort_keys: bool) -> Map<String, Value> {
    // serde_json's map keeps insertion order and, like Python's OrderedDict, keeps a
    // key's first position when a later key capitalises to the same header.
    let mut row = Map::new();
    match item {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            if sort_keys {
                keys.sort();
            }
            for key in keys {
                if SKIP_KEYS.contains(&key.as_str()) {
                    continue;
                }
                let value = &map[key];
                if value.is_null() || value.is_array() || value.is_object() {
                    continue;
                }
                row.insert(capitalize_first(key), value.clone());
            }
        }
        Value::Array(values) => {
            for (i, value) in values.iter().enumerate() {
                row.insert(format!("Column{}", i + 1), value.clone());
            }
        }
        other => {
            row.insert("Result".to_owned(), other.clone());
        }
    }
    row
}

fn capitalize_first(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The part of tabulate's "simple" format that az reaches: left-aligned text columns
/// (numbers are not parsed), stripped cells, rows right-trimmed, multi-line cells
/// spread over several lines.
fn tabulate(rows: &[Map<String, Value>]) -> String {
    let mut headers: Vec<&String> = Vec::new();
    for row in rows {
        for key in row.keys() {
            if !headers.contains(&key) {
                headers.push(key);
            }
        }
    }
    if headers.is_empty() {
        return String::new();
    }

    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            headers
                .iter()
                .map(|h| row.get(h.as_str()).map(cell_str).unwrap_or_default())
                .collect()
        })
        .collect();
    // tabulate switches to multi-line layout when any header or cell has a line break.
    let multiline = headers
        .iter()
        .map(|h| h.as_str())
        .chain(cells.iter().flatten().map(String::as_str))
        .any(|c| c.contains(['\n', '\r']));
    let cells: Vec<Vec<String>> = cells
        .into_iter()
        .map(|row| row.into_iter().map(|c| py_strip(&c).to_owned()).collect())
        .collect();

    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(col, h)| {
            let longest = cells
                .iter()
                .map(|row| cell_width(&row[col], multiline))
                .max()
                .unwrap_or(0);
            longest.max(cell_width(h, multiline) + MIN_PADDING)
        })
        .collect();

    let mut lines = Vec::with_capacity(rows.len() + 2);
    if multiline {
        // A header is cut at \r and \n, padded, and only then split into lines (at any
        // line boundary), so a trailing break leaves a blank line that a cell's does not.
        let header_lines: Vec<Vec<String>> = headers
            .iter()
            .zip(&widths)
            .map(|(h, w)| {
                let padded: Vec<String> = h.split(['\r', '\n']).map(|p| pad(p, *w)).collect();
                splitlines(&padded.join("\n"))
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .collect();
        push_multiline_row(&mut lines, &header_lines, &widths);
    } else {
        lines.push(join_row(headers.iter().map(|h| h.as_str()), &widths));
    }
    lines.push(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join(SEPARATOR),
    );
    for row in &cells {
        if multiline {
            let split: Vec<Vec<String>> = row
                .iter()
                .zip(&widths)
                .map(|(c, w)| splitlines(c).into_iter().map(|l| pad(l, *w)).collect())
                .collect();
            push_multiline_row(&mut lines, &split, &widths);
        } else {
            lines.push(join_row(row.iter().map(String::as_str), &widths));
        }
    }
    lines.join("\n")
}

/// As many lines as the tallest cell, from cells already padded to their width (a blank
/// line stands in for a missing one); a row whose cells are all empty takes none.
fn push_multiline_row(lines: &mut Vec<String>, cells: &[Vec<String>], widths: &[usize]) {
    let height = cells.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..height {
        let line: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(parts, w)| parts.get(i).cloned().unwrap_or_else(|| " ".repeat(*w)))
            .collect();
        let mut line = line.join(SEPARATOR);
        line.truncate(line.trim_end_matches(is_py_space).len());
        lines.push(line);
    }
}

fn pad(s: &str, w: usize) -> String {
    let mut padded = s.to_owned();
    padded.extend(std::iter::repeat_n(' ', w.saturating_sub(width(s))));
    padded
}

fn join_row<'a>(cells: impl Iterator<Item = &'a str>, widths: &[usize]) -> String {
    let mut line = String::new();
    for (i, (cell, w)) in cells.zip(widths).enumerate() {
        if i > 0 {
            line.push_str(SEPARATOR);
        }
        line.push_str(cell);
        line.extend(std::iter::repeat_n(' ', w.saturating_sub(width(cell))));
    }
    line.truncate(line.trim_end_matches(is_py_space).len());
    line
}

/// What tabulate prints for a cell: Python's `str()` of the value, `''` for None.
fn cell_str(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Array(_) | Value::Object(_) => python::repr(value),
        other => python::scalar_str(other),
    }
}

/// Characters, not bytes: tabulate measures with `len()` (no wcwidth in az's install).
fn width(s: &str) -> usize {
    s.chars().count()
}

fn cell_width(cell: &str, multiline: bool) -> usize {
    if multiline {
        cell.split(['\r', '\n']).map(width).max().unwrap_or(0)
    } else {
        width(cell)
    }
}

/// Python's `str.isspace()`, which also counts the ASCII separators 0x1c..0x1f.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Python's `str.splitlines()`.
fn splitlines(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\u{b}'
                | '\u{c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if is_break {
            parts.push(&s[start..i]);
            let mut end = i + c.len_utf8();
            if c == '\r' && chars.peek().is_some_and(|(_, n)| *n == '\n') {
                chars.next();
                end += 1;
            }
            start = end;
        }
    }
    if start < s.len() {
        parts.push(&s[start..]);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn width_is_max_of_cell_and_header_plus_two() {
        let v = json!([{"provisioningState": "Ok", "n": "a-long-value"}]);
        assert_eq!(
            render(&v, true),
            "N             ProvisioningState\n\
             ------------  -------------------\n\
             a-long-value  Ok\n"
        );
    }

    #[test]
    fn skips_ids_nulls_and_containers() {
        let v = json!({"id": "/x", "type": "t", "etag": "e", "tags": {}, "ips": [1],
                       "gone": null, "enabled": true, "size": 1.5});
        assert_eq!(
            render(&v, true),
            "Enabled    Size\n---------  ------\nTrue       1.5\n"
        );
    }

    #[test]
    fn query_order_and_union_of_columns() {
        let v = json!([{"b": 1}, {"a": 2, "b": 3}]);
        assert_eq!(render(&v, false), "B    A\n---  ---\n1\n3    2\n");
        // Sorting is per row; columns still appear in the order rows first show them.
        assert_eq!(render(&v, true), "B    A\n---  ---\n1\n3    2\n");
        let v = json!([{"b": 1, "a": 2}]);
        assert_eq!(render(&v, false), "B    A\n---  ---\n1    2\n");
        assert_eq!(render(&v, true), "A    B\n---  ---\n2    1\n");
    }

    #[test]
    fn scalars_and_lists() {
        assert_eq!(
            render(&json!([1, "a", null, true, 2.5]), false),
            "Result\n--------\n1\na\n\nTrue\n2.5\n"
        );
        assert_eq!(
            render(&json!([[1, "a"], [null, [1, 2], {"k": "v"}]]), false),
            "Column1    Column2    Column3\n---------  ---------  ----------\n\
             1          a\n           [1, 2]     {'k': 'v'}\n"
        );
    }

    #[test]
    fn nothing_to_show_is_a_blank_line() {
        assert_eq!(render(&json!([]), true), "\n");
        assert_eq!(render(&json!({}), true), "\n");
        assert_eq!(render(&json!([{"id": "x"}]), true), "\n");
    }

    #[test]
    fn multiline_and_stripped_cells() {
        let v = json!([{"a": " x ", "b": "two\nlines", "c": true},
                       {"a": "y", "b": "", "c": false}]);
        assert_eq!(
            render(&v, true),
            "A    B      C\n---  -----  -----\nx    two    True\n     lines\ny           False\n"
        );
    }

    #[test]
    fn splitlines_like_python() {
        assert_eq!(splitlines("a\r\nb\rc\n"), vec!["a", "b", "c"]);
        assert_eq!(splitlines(""), Vec::<&str>::new());
        assert_eq!(splitlines("\n"), vec![""]);
    }
}
