//! Fuzzing the `--query` / `-o` path with proptest (reliability suite, issue 7 item 7; `cargo
//! fuzz` needs a nightly toolchain, see RELIABILITY.md). Arbitrary expressions and arbitrary
//! JSON values go through `Query::parse` + `render_with_color` in every format: nothing may
//! panic out of it. The JMESPath crate has panicked on some inputs; `Query` catches that and
//! turns it into an argument error, which these tests rely on and check.
//!
//! Bounded in CI (256 cases each, proptest's default); longer:
//! `PROPTEST_CASES=100000 cargo test -p az-hpccache-ext fuzz`.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{OutputFormat, Query, render_with_color};

/// JSON values of every kind, nested a few levels, with keys that a query might name.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        any::<u64>().prop_map(|n| json!(n)),
        "[a-z]{0,6}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof!["[a-c]", "name|id|tags|sku|location", any::<String>()],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Expressions built from JMESPath's own tokens, so the parser gets past the first
/// character; plus entirely arbitrary strings.
fn arb_expression() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("a"),
        Just("b"),
        Just("name"),
        Just("tags"),
        Just("@"),
        Just("."),
        Just("["),
        Just("]"),
        Just("[]"),
        Just("[*]"),
        Just("[?"),
        Just("{"),
        Just("}"),
        Just(":"),
        Just(","),
        Just("|"),
        Just("||"),
        Just("&&"),
        Just("!"),
        Just("=="),
        Just("!="),
        Just("<"),
        Just(">="),
        Just("("),
        Just(")"),
        Just("&"),
        Just("`1`"),
        Just("`\"x\"`"),
        Just("'lit'"),
        Just("\"quoted\""),
        Just("0"),
        Just("-1"),
        Just("::"),
        Just("1:2:0"),
        Just("length("),
        Just("sort_by("),
        Just("max_by("),
        Just("join("),
        Just("to_number("),
        Just("contains("),
        Just("reverse("),
        Just("not_null("),
        Just("merge("),
        Just("keys("),
        Just("$"),
        Just(" "),
        Just("\\"),
        Just("`"),
        Just("*"),
        Just("let $x = a in $x"),
    ];
    prop_oneof![
        prop::collection::vec(token, 0..10).prop_map(|t| t.concat()),
        // Bounded: the crate's Earley parser is slow on long input (seconds at 1,000 chars).
        "\\PC{0,40}",
    ]
}

fn render_all(value: &Value, query: Option<&Query>) {
    for format in OutputFormat::ALL {
        for color in [false, true] {
            // Errors are fine (a query that fails on this value); panics are not.
            let _ = render_with_color(value, format, query, color);
        }
    }
}

/// The JMESPath crate's Earley parser costs ~0.1 s per expression in a debug build, so the
/// properties that parse run 64 cases in CI unless `PROPTEST_CASES` asks for more.
fn parser_cases() -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig::with_cases(n)
}

proptest! {
    #![proptest_config(parser_cases())]

    #[test]
    fn fuzz_query_parse_never_panics(expr in arb_expression()) {
        let _ = Query::parse(&expr);
    }

    #[test]
    fn fuzz_query_and_render_never_panic(expr in arb_expression(), value in arb_json()) {
        if let Ok(q) = Query::parse(&expr) {
            render_all(&value, Some(&q));
        }
    }
}

proptest! {
    #[test]
    fn fuzz_render_every_format_never_panics(value in arb_json()) {
        render_all(&value, None);
    }

    /// JSON output is JSON: what `-o json` prints parses back to the (queried) value.
    #[test]
    fn fuzz_json_output_round_trips(value in arb_json()) {
        let text = render_with_color(&value, OutputFormat::Json, None, false).unwrap();
        if value.is_null() {
            prop_assert_eq!(text, "");
        } else {
            let back: Value = serde_json::from_str(&text).unwrap();
            // Floats print as Python would; compare numbers by value.
            prop_assert!(same(&back, &value), "{} vs {}", back, value);
        }
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Inputs that made the JMESPath parser or runtime panic at some point (found by the
/// properties above or known from the crate): each must now be an argument error or a
/// query error, never a panic out of `Query`.
#[test]
fn regression_inputs_that_panicked_do_not_escape() {
    for expr in [
        "",
        "[",
        "]",
        "[?",
        "{",
        "a.[b",
        "foo[",
        "[[",
        "`",
        "'",
        "\"",
        "&",
        "$",
        "let",
        "a[::0]",
        "[::0]",
        "@[::0]",
        "a[0:1:0]",
        "sort_by(@, &a)",
        "max_by(@, &a)",
        "to_number('1e400')",
        "abs(`-9223372036854775808`)",
        "[-9223372036854775808]",
        "a[-9223372036854775808:]",
        "length(`1`)",
        "merge(@)",
        "\\u0000",
        // The crate parses numbers as i32 with unwrap: these panicked inside it (caught, but
        // the panic message reached stderr before the fix in `quietly`).
        "[2147483648]",
        "[-2147483649]",
        "a[2147483648:]",
        "[:99999999999]",
    ] {
        match Query::parse(expr) {
            Ok(q) => render_all(
                &json!([{"a": 1, "b": [1, 2, 3]}, {"a": "x"}, null, 2.5, -9223372036854775808i64]),
                Some(&q),
            ),
            Err(e) => assert!(e.to_string().contains("--query"), "{e}"),
        }
    }
}
