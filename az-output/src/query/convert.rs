//! Moving values between serde_json and jmespath_community.
//!
//! jmespath_community holds every number as an f64, so `1.0` would come back as `1` and
//! integers above 2^53 would lose digits. Python's jmespath keeps the original numbers,
//! so each number of the input is remembered by its f64 and given back unchanged when it
//! comes out of the query; numbers the query computed print as integers when integral,
//! as Python's `length()`/`sum()` of integers do.

use std::collections::HashMap;

use jmespath_community as jp;
use serde_json::{Number, Value};

#[derive(Debug, Default)]
pub(super) struct Numbers {
    /// f64 bits → the original number, or `None` when two different originals share them.
    originals: HashMap<u64, Option<Number>>,
}

impl Numbers {
    fn remember(&mut self, f: f64, original: &Number) {
        self.originals
            .entry(f.to_bits())
            .and_modify(|seen| {
                if seen.as_ref() != Some(original) {
                    *seen = None;
                }
            })
            .or_insert_with(|| Some(original.clone()));
    }

    fn restore(&self, f: f64) -> Option<Number> {
        if let Some(Some(original)) = self.originals.get(&f.to_bits()) {
            return Some(original.clone());
        }
        if f.fract() == 0.0 && f.abs() < 9.223_372_036_854_776e18 {
            #[allow(clippy::cast_possible_truncation)]
            return Some(Number::from(f as i64));
        }
        Number::from_f64(f)
    }
}

pub(super) fn to_jmes(value: &Value, numbers: &mut Numbers) -> jp::Value {
    match value {
        Value::Null => jp::Value::Null,
        Value::Bool(b) => jp::Value::Boolean(*b),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            numbers.remember(f, n);
            jp::Value::from_f64(f).unwrap_or(jp::Value::Null)
        }
        Value::String(s) => jp::Value::String(s.clone()),
        Value::Array(items) => {
            jp::Value::Array(items.iter().map(|v| to_jmes(v, numbers)).collect())
        }
        Value::Object(map) => jp::Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), to_jmes(v, numbers)))
                .collect(),
        ),
    }
}

/// `None` when the result holds an expression reference, which has no JSON form.
pub(super) fn from_jmes(value: &jp::Value, numbers: &Numbers) -> Option<Value> {
    Some(match value {
        jp::Value::Null => Value::Null,
        jp::Value::Boolean(b) => Value::Bool(*b),
        jp::Value::Number(n) => numbers
            .restore(f64::from(n))
            .map_or(Value::Null, Value::Number),
        jp::Value::String(s) => Value::String(s.clone()),
        jp::Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| from_jmes(v, numbers))
                .collect::<Option<_>>()?,
        ),
        jp::Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Some((k.clone(), from_jmes(v, numbers)?)))
                .collect::<Option<_>>()?,
        ),
        jp::Value::Expression(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_survive_the_round_trip() {
        let input = json!({"f": 1.0, "big": 9007199254740993u64, "i": 3, "neg": -7, "x": 2.5});
        let mut numbers = Numbers::default();
        let jmes = to_jmes(&input, &mut numbers);
        let back = from_jmes(&jmes, &numbers).expect("no expression");
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&input).unwrap()
        );
    }

    #[test]
    fn computed_integers_are_integers() {
        let numbers = Numbers::default();
        let v = from_jmes(&jp::Value::from_f64(4.0).unwrap(), &numbers).unwrap();
        assert_eq!(v.to_string(), "4");
        let v = from_jmes(&jp::Value::from_f64(0.5).unwrap(), &numbers).unwrap();
        assert_eq!(v.to_string(), "0.5");
    }
}
