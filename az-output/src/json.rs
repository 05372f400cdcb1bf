//! `-o json`: Python's `json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True)`.

use serde_json::Value;

use super::color::{Paint, Style};
use super::python;

pub(crate) fn render(value: &Value, paint: Paint) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0, paint);
    out.push('\n');
    out
}

fn write_value(out: &mut String, value: &Value, level: usize, paint: Paint) {
    match value {
        Value::Null => paint.push(out, Style::Literal, "null"),
        Value::Bool(b) => paint.push(out, Style::Literal, if *b { "true" } else { "false" }),
        Value::Number(n) => paint.push(out, Style::Literal, &python::number_str(n)),
        Value::String(s) => paint.push(out, Style::String, &quote(s)),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                write_value(out, item, level + 1, paint);
            }
            newline(out, level);
            out.push(']');
        }
        Value::Object(map) => {
            // az passes sort_keys=True: even a --query multi-select hash prints sorted.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                paint.push(out, Style::Key, &quote(key));
                out.push_str(": ");
                write_value(out, item, level + 1, paint);
            }
            newline(out, level);
            out.push('}');
        }
    }
}

fn newline(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// A JSON string literal with Python's escapes: only `"`, `\` and control characters are
/// escaped (`ensure_ascii=False` keeps everything else, DEL included).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plain(v: &Value) -> String {
        render(v, Paint::Plain)
    }

    #[test]
    fn scalars_print_bare() {
        assert_eq!(plain(&json!("cache1")), "\"cache1\"\n");
        assert_eq!(plain(&json!(true)), "true\n");
        assert_eq!(plain(&json!(3072)), "3072\n");
        assert_eq!(plain(&json!(1.0)), "1.0\n");
        assert_eq!(plain(&json!(1e16)), "1e+16\n");
    }

    #[test]
    fn nested_sorted_indented() {
        let v = json!({"b": [1, {"z": null, "a": []}], "a": {}, "é": "ü\t\u{1}\u{7f}"});
        assert_eq!(
            plain(&v),
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {\n      \"a\": [],\n      \"z\": null\n    }\n  ],\n  \"é\": \"ü\\t\\u0001\u{7f}\"\n}\n"
        );
    }
}
