//! `-o tsv`: knack's `_TsvOutput`.

use serde_json::Value;

use super::python;

pub(crate) fn render(result: &Value) -> String {
    let mut out = String::new();
    match result {
        Value::Array(items) => items.iter().for_each(|item| dump_row(&mut out, item)),
        other => dump_row(&mut out, other),
    }
    out
}

/// One line per item. An object's fields come in the object's own key order: knack keeps
/// the order of the ordered dicts it is given (the golden cases, made from ordered input,
/// and a `--query` multi-select hash) and sorts a plain dict's keys, which is what a
/// command's result is: [`super::render`] sorts those before they reach here.
fn dump_row(out: &mut String, item: &Value) {
    match item {
        Value::Object(map) => join_fields(out, map.values()),
        Value::Array(values) => join_fields(out, values.iter()),
        // knack lower-cases a boolean standing alone on its line, unlike one in a row.
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        other => dump_field(out, other),
    }
    out.push('\n');
}

fn join_fields<'a>(out: &mut String, values: impl Iterator<Item = &'a Value>) {
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.push('\t');
        }
        dump_field(out, value);
    }
}

/// A nested list prints its length and a nested object nothing, so rows keep the same
/// number of columns whatever the values are.
fn dump_field(out: &mut String, value: &Value) {
    match value {
        Value::Array(items) => out.push_str(&items.len().to_string()),
        Value::Object(_) => {}
        other => out.push_str(&python::scalar_str(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_values_in_a_row() {
        let v = json!([{"name": "c", "ips": ["a", "b", "c"], "health": {"state": "ok"},
                        "tags": null, "on": true, "off": false, "size": 2.0}]);
        assert_eq!(render(&v), "c\t3\t\tNone\tTrue\tFalse\t2.0\n");
    }

    #[test]
    fn scalars_one_per_line() {
        assert_eq!(render(&json!(true)), "true\n");
        assert_eq!(render(&json!(false)), "false\n");
        assert_eq!(render(&json!("x")), "x\n");
        assert_eq!(render(&json!(12)), "12\n");
        assert_eq!(
            render(&json!([1, "a", null, true, 2.5, [1, true], {"b": 1, "a": [2]}])),
            "1\na\nNone\ntrue\n2.5\n1\tTrue\n1\t1\n"
        );
    }

    #[test]
    fn empty_results() {
        assert_eq!(render(&json!([])), "");
        assert_eq!(render(&json!({})), "\n");
    }
}
