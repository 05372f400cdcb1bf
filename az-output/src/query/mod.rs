//! `--query`: a JMESPath expression applied to the result before it is formatted.
//!
//! jmespath_community with `preserve_order` builds a multi-select hash in an IndexMap in
//! the order the expression names its keys, and the conversion back to serde_json (also
//! `preserve_order`) keeps that order, so `[].{Zone:zone,Name:name}` yields Zone, Name.

mod convert;
mod functions;

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::str::FromStr;

use jmespath_community as jp;
use jp::{AST, NodeType};
use serde_json::Value;

use super::{OutputError, python};

/// The hint az prints under any `--query` error.
pub const QUERY_REFERENCE: &str = "To learn more about --query, please visit: 'https://learn.microsoft.com/cli/azure/query-azure-cli'";

/// A compiled `--query` expression.
#[derive(Clone)]
pub struct Query {
    expression: String,
    ast: AST,
}

/// A `--query` value that is not a JMESPath expression: an argument error (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("argument --query: invalid jmespath_type value: {}", python::str_repr(.expression))]
pub struct QueryParseError {
    expression: String,
    detail: String,
}

#[allow(dead_code, reason = "for the CLI's error report and --debug log")]
impl QueryParseError {
    /// The expression as the user typed it.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Where and why parsing failed, for `--debug` logs (az itself does not say).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The line az prints after the error.
    pub fn recommendation(&self) -> &'static str {
        QUERY_REFERENCE
    }
}

/// `catch_unwind` without the panic message: the default hook would print "thread 'main'
/// panicked at .../grammar.rs" (and a backtrace under RUST_BACKTRACE) to stderr before the
/// az-style error, for a query as plain as `[2147483648]` (the crate parses numbers as i32
/// with `unwrap`). Found by the output fuzz tests (reliability suite, issue 7 item 7).
/// A hook installed once stays silent only on the thread inside `quietly`, so panics
/// elsewhere (other test threads) still print.
fn quietly<R>(f: impl FnOnce() -> R + panic::UnwindSafe) -> std::thread::Result<R> {
    thread_local! {
        static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = panic::catch_unwind(f);
    QUIET.with(|q| q.set(false));
    result
}

impl Query {
    pub fn parse(expression: &str) -> Result<Self, QueryParseError> {
        let fail = |detail: String| QueryParseError {
            expression: expression.to_owned(),
            detail,
        };
        // The parser is young: a panic inside it must still end as an argument error.
        let parsed =
            quietly(|| jp::parse(expression)).map_err(|_| fail("the parser failed".to_owned()))?;
        let mut ast = parsed.map_err(|e| {
            let at = e.position.map(|p| format!(" at {p}")).unwrap_or_default();
            fail(format!("{} error{at}", e.kind))
        })?;
        prepare(&mut ast).map_err(fail)?;
        Ok(Query {
            expression: expression.to_owned(),
            ast,
        })
    }

    /// For clap's `value_parser`: the error is az's message for a bad `--query`.
    pub fn parse_arg(s: &str) -> Result<Query, String> {
        Query::parse(s).map_err(|e| e.to_string())
    }

    #[allow(dead_code, reason = "for the CLI's --debug log")]
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Applies the expression. Keys keep their order; numbers come back as they went in.
    pub fn search(&self, data: &Value) -> Result<Value, OutputError> {
        let mut numbers = convert::Numbers::default();
        let root = convert::to_jmes(data, &mut numbers);
        let runtime = functions::runtime();
        let result = quietly(AssertUnwindSafe(|| runtime.search_ast(&self.ast, &root)))
            .map_err(|_| OutputError::Query("the expression could not be evaluated".to_owned()))?
            .map_err(|e| OutputError::Query(e.message))?;
        convert::from_jmes(&result, &numbers).ok_or_else(|| {
            OutputError::Query(
                "an expression reference is not a value that can be printed".to_owned(),
            )
        })
    }
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Query").field(&self.expression).finish()
    }
}

impl PartialEq for Query {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression
    }
}

impl FromStr for Query {
    type Err = QueryParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Query::parse(s)
    }
}

/// Brings the tree to Python jmespath's behaviour, where this crate differs:
/// - bad literals and quoted names are rejected now, as Python does while compiling
///   (this crate would only notice when evaluating);
/// - a multi-select of null is null, as the specification says (this crate builds
///   `{"a": null}` from null);
/// - a projection with nothing after it (`[]`, `[*]`, `[:2]`) still drops nulls;
/// - only arrays can be sliced (this crate also slices strings).
fn prepare(ast: &mut AST) -> Result<(), String> {
    match &mut ast.node_type {
        NodeType::Projection(nodes) => {
            for node in nodes.iter_mut() {
                prepare(node)?;
            }
            if let [kind, lhs, rhs] = nodes.as_mut_slice() {
                if matches!(rhs.node_type, NodeType::None) {
                    *rhs = AST::make(NodeType::CurrentNode, rhs.position);
                }
                if matches!(kind.node_type, NodeType::Slice(_)) {
                    if matches!(lhs.node_type, NodeType::None) {
                        *lhs = AST::make(NodeType::CurrentNode, kind.position);
                    }
                    call_around(lhs, functions::ARRAY_OR_NULL);
                }
            }
        }
        NodeType::JsonValue(text) => *text = json_literal(text)?,
        NodeType::QuotedIdentifier(text) => check_quoted(text)?,
        NodeType::MultiSelectHash(map) => {
            for (key, value) in map.iter_mut() {
                if key.starts_with('"') {
                    check_quoted(key)?;
                }
                prepare(value)?;
            }
            null_guard(ast);
        }
        NodeType::MultiSelectList(nodes) => {
            for node in nodes {
                prepare(node)?;
            }
            null_guard(ast);
        }
        NodeType::Filter(nodes)
        | NodeType::Expression(nodes)
        | NodeType::ParenExpression(nodes)
        | NodeType::PipeExpression(nodes)
        | NodeType::SubExpression(nodes)
        | NodeType::HashWildcardProjection(nodes)
        | NodeType::ArithmeticExpression(nodes)
        | NodeType::ComparatorExpression(nodes)
        | NodeType::FunctionExpression(nodes)
        | NodeType::FunctionArguments(nodes)
        | NodeType::IndexExpression(nodes)
        | NodeType::Index(nodes)
        | NodeType::LetExpression(nodes)
        | NodeType::LetBindings(nodes) => {
            for node in nodes {
                prepare(node)?;
            }
        }
        NodeType::LogicalExpression(nodes) => {
            // The grammar accepts `a ! b`, which the interpreter cannot evaluate (it
            // panics); JMESPath has no such form.
            if let [_, op, _] = nodes.as_slice()
                && matches!(op.node_type, NodeType::Not)
            {
                return Err(format!("unexpected '!' at {}", op.position));
            }
            for node in nodes {
                prepare(node)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Replaces `node` with `multi_select_or_null(@, &node)`.
fn null_guard(node: &mut AST) {
    let position = node.position;
    let inner = std::mem::replace(node, AST::make(NodeType::CurrentNode, position));
    let make = |t| AST::make(t, position);
    *node = make(NodeType::FunctionExpression(vec![
        make(NodeType::UnquotedIdentifier(
            functions::MULTI_SELECT_OR_NULL.to_owned(),
        )),
        make(NodeType::FunctionArguments(vec![
            make(NodeType::CurrentNode),
            make(NodeType::Expression(vec![inner])),
        ])),
    ]));
}

/// Replaces `node` with `function(node)`.
fn call_around(node: &mut AST, function: &str) {
    let position = node.position;
    let inner = std::mem::replace(node, AST::make(NodeType::CurrentNode, position));
    let make = |t| AST::make(t, position);
    *node = make(NodeType::FunctionExpression(vec![
        make(NodeType::UnquotedIdentifier(function.to_owned())),
        make(NodeType::FunctionArguments(vec![inner])),
    ]));
}

/// A `` `...` `` literal as Python's jmespath reads it: JSON, or else (the deprecated
/// form az's docs still show, `` `abc` ``) the text taken as a string.
fn json_literal(text: &str) -> Result<String, String> {
    let text = text.replace("\\`", "`");
    if serde_json::from_str::<Value>(&text).is_ok() {
        return Ok(text);
    }
    let quoted = format!("\"{}\"", text.trim_start());
    match serde_json::from_str::<String>(&quoted) {
        Ok(s) => Ok(Value::String(s).to_string()),
        Err(_) => Err(format!("bad JSON literal `{text}`")),
    }
}

fn check_quoted(text: &str) -> Result<(), String> {
    serde_json::from_str::<String>(text)
        .map(|_| ())
        .map_err(|_| format!("bad quoted identifier {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn search(expr: &str, data: &Value) -> Value {
        Query::parse(expr)
            .unwrap_or_else(|e| panic!("{expr}: {e} ({})", e.detail()))
            .search(data)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    #[test]
    fn multi_select_hash_keeps_query_order() {
        let data = json!([{"name": "a", "zone": "1", "location": "x"}]);
        let out = search("[].{Zone:zone, Name:name, Loc:location}", &data);
        assert_eq!(keys(&out[0]), ["Zone", "Name", "Loc"]);
        let out = search("[0].{z: zone, a: name, \"m k\": location}", &data);
        assert_eq!(keys(&out), ["z", "a", "m k"]);
        // Objects that pass through keep their own order too.
        let out = search("[0]", &data);
        assert_eq!(keys(&out), ["name", "zone", "location"]);
    }

    #[test]
    fn bad_expressions_fail_at_parse_time_like_az() {
        for bad in [
            "[.",
            "foo.@",
            "",
            "{a:b",
            "x || ",
            "[?a=`{bad`]",
            "\"unterminated",
            "a!b",
            "[]!`1`",
        ] {
            let err = Query::parse(bad).expect_err(bad);
            assert_eq!(err.expression(), bad);
            assert_eq!(
                err.to_string(),
                format!(
                    "argument --query: invalid jmespath_type value: {}",
                    python::str_repr(bad)
                )
            );
        }
        let err = Query::parse("[?name='x']").unwrap_err();
        assert_eq!(
            err.to_string(),
            "argument --query: invalid jmespath_type value: \"[?name='x']\""
        );
        assert_eq!(err.recommendation(), QUERY_REFERENCE);
        assert_eq!(
            Query::parse_arg("[.").unwrap_err(),
            "argument --query: invalid jmespath_type value: '[.'"
        );
    }

    #[test]
    fn runtime_errors_are_output_errors() {
        let err = Query::parse("length(`1`)")
            .unwrap()
            .search(&json!({}))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Invalid jmespath query supplied for `--query`: ")
        );
        let err = Query::parse("nosuch(@)")
            .unwrap()
            .search(&json!({}))
            .unwrap_err();
        assert!(err.to_string().contains("nosuch"), "{err}");
    }

    #[test]
    fn literals_like_python() {
        let data = json!([{"name": "a`b", "n": 1}, {"name": "c", "n": 2}]);
        assert_eq!(search("[?name==`\"c\"`].n", &data), json!([2]));
        assert_eq!(search("[?name==`c`].n", &data), json!([2]));
        assert_eq!(search("[?name==`a\\`b`].n", &data), json!([1]));
        assert_eq!(search("[?n > `1`].name", &data), json!(["c"]));
    }

    #[test]
    fn multi_select_of_null_is_null() {
        let data = json!({"l": [{"a": 1}, null, {"a": 2}], "n": null});
        assert_eq!(search("l[].{x: a}", &data), json!([{"x": 1}, {"x": 2}]));
        assert_eq!(search("l[].[a]", &data), json!([[1], [2]]));
        assert_eq!(search("n | {a: b}", &data), Value::Null);
        assert_eq!(search("n.{a: b}", &data), Value::Null);
        assert_eq!(
            search("{a: n, b: l[0].a}", &data),
            json!({"a": null, "b": 1})
        );
        assert_eq!(search("[l[0].a, n]", &data), json!([1, null]));
    }

    #[test]
    fn projections_drop_nulls_and_slices_take_arrays_only() {
        let data = json!({"l": [1, null, 3], "s": "hello", "o": {"a": null, "b": 2}});
        assert_eq!(search("l[]", &data), json!([1, 3]));
        assert_eq!(search("l[*]", &data), json!([1, 3]));
        assert_eq!(search("l[:2]", &data), json!([1]));
        assert_eq!(search("l[::-1]", &data), json!([3, 1]));
        assert_eq!(search("l[?@ > `1`]", &data), json!([3]));
        assert_eq!(search("o.*", &data), json!([2]));
        assert_eq!(search("s[:2]", &data), Value::Null);
        assert_eq!(search("l[1:].to_string(@)", &data), json!(["null", "3"]));
        assert_eq!(search("[l, l][][:1]", &data), json!([]));
    }

    #[test]
    fn numbers_are_not_turned_into_floats() {
        let data = json!({"size": 3072, "ratio": 1.0, "id": 9007199254740993u64});
        assert_eq!(search("size", &data).to_string(), "3072");
        assert_eq!(search("ratio", &data).to_string(), "1.0");
        assert_eq!(search("id", &data).to_string(), "9007199254740993");
        assert_eq!(search("length(@)", &data).to_string(), "3");
    }

    #[test]
    fn standard_functions() {
        let data = json!([
            {"name": "b", "size": 2, "tags": {"env": "dev"}},
            {"name": "a", "size": 3, "tags": {"env": "prod"}},
            {"name": "c", "size": 1, "tags": null}
        ]);
        let cases = [
            ("join(', ', [].name)", json!("b, a, c")),
            ("sort_by(@, &name)[].name", json!(["a", "b", "c"])),
            ("sort_by(@, &size)[].name", json!(["c", "b", "a"])),
            ("max_by(@, &size).name", json!("a")),
            ("min_by(@, &size).name", json!("c")),
            ("max([].size)", json!(3)),
            ("min([].name)", json!("a")),
            ("sum([].size)", json!(6)),
            ("sort([].name)", json!(["a", "b", "c"])),
            ("map(&size, @)", json!([2, 3, 1])),
            (
                "[].not_null(tags.env, 'none')",
                json!(["dev", "prod", "none"]),
            ),
            (
                "merge([0].tags, {extra: `true`})",
                json!({"env": "dev", "extra": true}),
            ),
            ("to_string([0].size)", json!("2")),
            ("to_string([0].tags)", json!("{\"env\":\"dev\"}")),
            ("to_number('42')", json!(42)),
            ("to_number('4.5')", json!(4.5)),
            ("to_number('x')", Value::Null),
            ("to_array([0].name)", json!(["b"])),
            ("[].type(tags)", json!(["object", "object", "null"])),
            ("values([0].tags)", json!(["dev"])),
            ("length([?size > `1`])", json!(2)),
            ("[?contains(name, 'a')].name", json!(["a"])),
            ("[?starts_with(name, 'b')] | [0].size", json!(2)),
            ("keys([0])", json!(["name", "size", "tags"])),
        ];
        for (expr, want) in cases {
            assert_eq!(search(expr, &data), want, "{expr}");
        }
        let err = Query::parse("join(',', [].size)")
            .unwrap()
            .search(&data)
            .unwrap_err();
        assert!(err.to_string().contains("In function join()"), "{err}");
        let err = Query::parse("sort_by(@, &tags)")
            .unwrap()
            .search(&data)
            .unwrap_err();
        assert!(err.to_string().contains("In function sort_by()"), "{err}");
    }

    #[test]
    fn query_is_shareable() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<Query>();
    }
}
