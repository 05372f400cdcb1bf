//! The JMESPath built-in functions that jmespath_community 0.1.2 lacks.
//!
//! It ships only abs, avg, ceil, contains, ends_with, find_first, find_last, floor,
//! from_items, items, keys, length, min_by, reverse and starts_with; az scripts use
//! `join`, `sort_by`, `max_by`, `to_string`, ... all the time, so the rest of the
//! JMESPath specification is provided here with Python jmespath's behaviour (the
//! library az runs). Error texts follow Python's wording.

use std::cmp::Ordering;

use jmespath_community as jp;
use jp::errors::{Error as RuntimeError, Kind};
use jp::functions::{DataType, Function, ParamTypes, Parameter, ReturnValue};
use jp::{FunctionContext, FunctionRegistrar, Runtime, Value};

/// The name `Query` gives the null guard it wraps around every multi-select.
pub(super) const MULTI_SELECT_OR_NULL: &str = "__az_multi_select_or_null";

/// The name `Query` gives the guard it puts around what a slice is applied to.
pub(super) const ARRAY_OR_NULL: &str = "__az_array_or_null";

type Body = fn(&StdFunction, &[Value], &dyn FunctionContext) -> ReturnValue;

struct StdFunction {
    name: &'static str,
    signature: Vec<Parameter>,
    body: Body,
}

impl Function for StdFunction {
    fn get_name(&self) -> &str {
        self.name
    }

    fn get_signature(&self) -> &Vec<Parameter> {
        &self.signature
    }

    fn execute(&self, args: &Vec<Value>, context: &dyn FunctionContext) -> ReturnValue {
        (self.body)(self, args, context)
    }
}

/// A runtime with the full specification: the crate's functions plus ours.
pub(super) fn runtime() -> Runtime {
    use DataType::{Any, Array, ExpRef, Object, String};
    use Parameter::{Required, Variadic};

    let of = ParamTypes::Of;
    let mut runtime = Runtime::create_runtime();
    let mut add = |name: &'static str, signature: Vec<Parameter>, body: Body| {
        runtime.register(Box::new(StdFunction {
            name,
            signature,
            body,
        }));
    };
    add(
        "join",
        vec![Required(of(String)), Required(of(Array))],
        join,
    );
    add("map", vec![Required(of(ExpRef)), Required(of(Array))], map);
    add("max", vec![Required(of(Array))], max);
    add("min", vec![Required(of(Array))], min);
    add(
        "max_by",
        vec![Required(of(Array)), Required(of(ExpRef))],
        max_by,
    );
    add(
        "min_by",
        vec![Required(of(Array)), Required(of(ExpRef))],
        min_by,
    );
    add("merge", vec![Variadic(of(Object))], merge);
    add("not_null", vec![Variadic(of(Any))], not_null);
    add("sort", vec![Required(of(Array))], sort);
    add(
        "sort_by",
        vec![Required(of(Array)), Required(of(ExpRef))],
        sort_by,
    );
    add("sum", vec![Required(of(Array))], sum);
    add("to_array", vec![Required(of(Any))], to_array);
    add("to_string", vec![Required(of(Any))], to_string);
    add("to_number", vec![Required(of(Any))], to_number);
    add("type", vec![Required(of(Any))], type_of);
    add("values", vec![Required(of(Object))], values);
    add(ARRAY_OR_NULL, vec![Required(of(Any))], array_or_null);
    add(
        MULTI_SELECT_OR_NULL,
        vec![Required(of(Any)), Required(of(ExpRef))],
        multi_select_or_null,
    );
    runtime
}

/// JMESPath's type names, as Python jmespath reports them.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::Boolean(_) => "boolean",
        Value::Null => "null",
        Value::Number(_) => "number",
        Value::Object(_) => "object",
        Value::String(_) => "string",
        Value::Expression(_) => "expref",
    }
}

fn invalid_type(function: &str, value: &Value, expected: &[&str]) -> RuntimeError {
    let expected: Vec<String> = expected.iter().map(|t| format!("'{t}'")).collect();
    RuntimeError {
        kind: Kind::InvalidType,
        message: format!(
            "In function {function}(), invalid type for value: {}, expected one of: [{}], \
             received: \"{}\"",
            python_value(value),
            expected.join(", "),
            type_name(value)
        ),
        position: None,
    }
}

/// How Python prints the offending value in its type errors.
fn python_value(v: &Value) -> String {
    match v {
        Value::Null => "None".to_owned(),
        Value::Boolean(true) => "True".to_owned(),
        Value::Boolean(false) => "False".to_owned(),
        Value::String(s) => s.clone(),
        other => to_json(other),
    }
}

fn args_array(args: &[Value], i: usize) -> &[Value] {
    args.get(i)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn join(_: &StdFunction, args: &[Value], _: &dyn FunctionContext) -> ReturnValue {
    let glue = args[0].as_str().unwrap_or_default();
    let mut parts = Vec::new();
    for item in args_array(args, 1) {
        match item {
            Value::String(s) => parts.push(s.as_str()),
            other => return Err(invalid_type("join", other, &["array-string"])),
        }
    }
    Ok(Value::String(parts.join(glue)))
}

fn map(f: &StdFunction, args: &[Value], context: &dyn FunctionContext) -> ReturnValue {
    let ast = args[0]
        .as_expref()
        .ok_or_else(|| invalid_type("map", &args[0], &["expref"]))?;
    let params = vec![ParamTypes::Of(DataType::Any)];
    let key = context.create_by_function(ast, &params, f, 0)?;
    let mapped = args_array(args, 1)
        .iter()
        .map(|item| key.call(item))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(mapped))
}

/// Items that can be ordered: all numbers or all strings.
fn comparable(function: &str, items: &[Value]) -> Result<(), RuntimeError> {
    let Some(first) = items.first() else {
        return Ok(());
    };
    let wanted = match first {
        Value::Number(_) => "number",
        Value::String(_) => "string",
        other => {
            return Err(invalid_type(
                function,
                other,
                &["array-number", "array-string"],
            ));
        }
    };
    match items.iter().find(|v| type_name(v) != wanted) {
        Some(odd) => Err(invalid_type(function, odd, &[wanted])),
        None => Ok(()),
    }
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => f64::from(x)
            .partial_cmp(&f64::from(y))
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

fn extreme(function: &str, args: &[Value], want: Ordering) -> ReturnValue {
    let items = args_array(args, 0);
    comparable(function, items)?;
    let mut best: Option<&Value> = None;
    for item in items {
        if best.is_none_or(|b| compare(item, b) == want) {
            best = Some(item);
        }
    }
    Ok(best.cloned().unwrap_or(Value::Null))
}

fn max(_: &StdFunction, args: &[Value], _: &dyn FunctionContext) -> ReturnValue {
    extreme("max", args, Ordering::Greater)
}

fn min(_: &StdFunction, args: &[Value], _: &dyn FunctionContext) -> ReturnValue {
    extreme("min", args, Ordering::Less)
}

/// The keys an expression gives each item, checked to be all numbers or all strings.
fn keys_by(
    f: &StdFunction,
    args: &[Value],
    context: &dyn FunctionContext,
) -> Result<Vec<Value>, RuntimeError> {
    let items = args_array(args, 0);
    let ast = args[1]
        .as_expref()
        .ok_or_else(|| invalid_type(f.name, &args[1], &["expref"]))?;
    let params = vec![ParamTypes::Of(DataType::Any)];
    let key = context.create_by_function(ast, &params, f, 1)?;
    let keys = items
        .iter()
        .map(|item| key.call(item))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(first) = keys.first() {
        let wanted = type_name(first);
        if let Some(odd) = keys
            .iter()
            .find(|k| !matches!(k, Value::Number(_) | Value::String(_)) || type_name(k) != wanted)
        {
            return Err(invalid_type(f.name, odd, &["number", "string"]));
        }
    }
    Ok(keys)
}

fn extreme_by(
    f: &StdFunction,
    args: &[Value],
    context: &dyn FunctionContext,
    want: Ordering,
) -> ReturnValue {
    let items = args_array(args, 0);
    let keys = keys_by(f, args, context)?;
    let mut best: Option<usize> = None;
    for i in 0..items.len() {
        if best.is_none_or(|b| compare(&keys[i], &keys[b]) == want) {
            best = Some(i);
        }
    }
    Ok(best.map_or(Value::Null, |i| items[i].clone()))
}

fn max_by(f: &StdFunction, args: &[Value], context: &dyn FunctionContext) -> ReturnValue {
    extreme_by(f, args, context, Ordering::Greater)
}

fn min_by(f: &StdFunction, args: &[Value], context: &dyn FunctionContext) -> ReturnValue {
    extreme_by(f, args, context, Ordering::Less)
}

fn merge(_: &StdFunction, args: &[Value], _: &dyn FunctionContext) -> ReturnValue {
    let mut merged = jp::Map::new();
    for arg in args {
        match arg {
            Value::Object(map) => {
                for (k, v) in map {
                    merged.insert(k.clone(), v.clone());
                }
            }
            other => return Err(invalid_type("merge", other, &["object"])),
        }
    }
    Ok(Value::Object(merged))
}

fn not_null(_: &StdFunction, args: &[Value], _: &dyn FunctionContext) -> ReturnValue {
    Ok(args
        .iter()
        .find(|v| !v.is_null())
        .cloned()
        .unwrap_or(Value::Null))
}

fn sort(_: &StdFunction, args: &[Value], _: &dyn FunctionContext) -> ReturnValue {
    let mut items = args_array(args, 0).to_vec();
    comparable("sort", &items)?;
    items.sort_by(compare);
    Ok(Value::Array(items))
}

fn sort_by(f: &StdFunction, args: &[Value], context: &dyn FunctionContext) -> ReturnValue {
    let items = args_array(args, 0);
    let keys = keys_by(f, args, context)?;
    let mut order: Vec<usize> = (0..items.len()).collect();
    // Stable, like Python's sorted(): equal keys keep their input order.
    order.sort_by(|&a, &b| compare(&keys[a], &keys[b]));
    Ok(Value::Array(
        order.into_iter().map(|i| items[i].clone()).collect(),
    ))
}

fn sum(_: &StdFunction, args: &[Value], _: &dyn FunctionContext) -> ReturnValue {
    let mut total = 0.0;
    for item in args_array(args, 0) {
        match item {
            Value::Number(n) => total += f64::from(n),
            other => return Err(invalid_type("sum", other, &["array-number"])),
        }
    }
    Value::from_f64(total)
}

fn to_array(_: &StdFunction, args: &[Value], _: &dyn FunctionContext) -> ReturnValue {
    Ok(match &args[0] {
        Value::Array(_) => args[0].clone(),
        other => Value::Array(vec![other.clone()]),
    })
}

fn to_string(_: &StdFunction, args: &[Value], _: &dyn FunctionContext) -> ReturnValue {
    Ok(match &args[0] {
        Value::String(_) => args[0].clone(),
        other => Value::String(to_json(other)),
    })
}

/// Python's `json.dumps(value, separators=(',', ':'))`: compact, ASCII-only, keys in
/// their own order, integral numbers without a fraction.
fn to_json(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Boolean(b) => b.to_string(),
        Value::Number(n) => {
            let f = f64::from(n);
            if f.fract() == 0.0 && f.abs() < 1e16 {
                format!("{f:.0}")
            } else {
                super::super::python::float_repr(f)
            }
        }
        Value::String(s) => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                        let mut units = [0u16; 2];
                        for unit in c.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{unit:04x}"));
                        }
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(to_json).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}:{}", to_json(&Value::String(k.clone())), to_json(v)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Expression(_) => "null".to_owned(),
    }
}

fn to_number(_: &StdFunction, args: &[Value], _: &dyn FunctionContext) -> ReturnValue {
    Ok(match &args[0] {
        Value::Number(_) => args[0].clone(),
        Value::String(s) => {
            let s = s.trim();
            // Python's jmespath: float() when there is a dot, int() otherwise.
            let parsed = if s.contains('.') {
                s.parse::<f64>().ok().filter(|f| f.is_finite())
            } else {
                s.parse::<i64>().ok().map(|i| i as f64)
            };
            parsed
                .and_then(|f| Value::from_f64(f).ok())
                .unwrap_or(Value::Null)
        }
        _ => Value::Null,
    })
}

fn type_of(_: &StdFunction, args: &[Value], _: &dyn FunctionContext) -> ReturnValue {
    Ok(Value::String(type_name(&args[0]).to_owned()))
}

fn values(_: &StdFunction, args: &[Value], _: &dyn FunctionContext) -> ReturnValue {
    Ok(match &args[0] {
        Value::Object(map) => Value::Array(map.values().cloned().collect()),
        other => return Err(invalid_type("values", other, &["object"])),
    })
}

fn multi_select_or_null(
    f: &StdFunction,
    args: &[Value],
    context: &dyn FunctionContext,
) -> ReturnValue {
    if args[0].is_null() {
        return Ok(Value::Null);
    }
    let ast = args[1]
        .as_expref()
        .ok_or_else(|| invalid_type(f.name, &args[1], &["expref"]))?;
    let params = vec![ParamTypes::Of(DataType::Any)];
    let select = context.create_by_function(ast, &params, f, 1)?;
    select.call(&args[0])
}

fn array_or_null(_: &StdFunction, args: &[Value], _: &dyn FunctionContext) -> ReturnValue {
    Ok(match &args[0] {
        Value::Array(_) => args[0].clone(),
        _ => Value::Null,
    })
}
