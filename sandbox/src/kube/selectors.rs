//! Label selectors (`app=web,tier in (a,b),!legacy`) and field selectors
//! (`metadata.name=x,status.phase!=Running`).

use serde_json::Value;

use super::status::ApiError;

#[derive(Debug, Clone, PartialEq)]
enum LabelReq {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<LabelReq>);

impl LabelSelector {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in split_top_level(s) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            reqs.push(parse_label_req(part).ok_or_else(|| {
                ApiError::bad_request(format!("unable to parse requirement: {part:?}"))
            })?);
        }
        Ok(LabelSelector(reqs))
    }

    /// From a `metav1.LabelSelector` object (`matchLabels`, `matchExpressions`).
    pub fn from_object(sel: &Value) -> Self {
        let mut reqs = Vec::new();
        if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in m {
                reqs.push(LabelReq::Eq(k.clone(), v.as_str().unwrap_or("").into()));
            }
        }
        for e in sel
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = e
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let vals: Vec<String> = e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            match e.get("operator").and_then(Value::as_str) {
                Some("In") => reqs.push(LabelReq::In(key, vals)),
                Some("NotIn") => reqs.push(LabelReq::NotIn(key, vals)),
                Some("Exists") => reqs.push(LabelReq::Exists(key)),
                Some("DoesNotExist") => reqs.push(LabelReq::NotExists(key)),
                _ => {}
            }
        }
        LabelSelector(reqs)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            LabelReq::Eq(k, v) => get(k) == Some(v.as_str()),
            LabelReq::Ne(k, v) => get(k) != Some(v.as_str()),
            LabelReq::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelReq::NotIn(k, vs) => !get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelReq::Exists(k) => get(k).is_some(),
            LabelReq::NotExists(k) => get(k).is_none(),
        })
    }
}

fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn parse_label_req(p: &str) -> Option<LabelReq> {
    if let Some(k) = p.strip_prefix('!') {
        return Some(LabelReq::NotExists(k.trim().into()));
    }
    if let Some((k, v)) = p.split_once("!=") {
        return Some(LabelReq::Ne(k.trim().into(), v.trim().into()));
    }
    if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
        return Some(LabelReq::Eq(k.trim().into(), v.trim().into()));
    }
    let set = |rest: &str| -> Option<Vec<String>> {
        let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
        Some(
            inner
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect(),
        )
    };
    let words: Vec<&str> = p.splitn(2, char::is_whitespace).collect();
    if words.len() == 2 {
        let (k, rest) = (words[0], words[1].trim_start());
        if let Some(r) = rest.strip_prefix("notin") {
            return Some(LabelReq::NotIn(k.into(), set(r)?));
        }
        if let Some(r) = rest.strip_prefix("in") {
            return Some(LabelReq::In(k.into(), set(r)?));
        }
        return None;
    }
    let valid = p
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    valid.then(|| LabelReq::Exists(p.into()))
}

/// A parsed field selector: `path=value` / `path!=value` terms on the object's JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (k, eq, v) = if let Some((k, v)) = part.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (k, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{part}'; can't understand '{part}'"
                )));
            };
            terms.push((k.trim().to_string(), eq, v.trim().to_string()));
        }
        Ok(FieldSelector(terms))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(path, eq, want)| {
            // Field selectors compare string forms; a missing field is the empty string,
            // as with `spec.nodeName=` for unscheduled pods.
            let got = path
                .split('.')
                .try_fold(obj, |v, k| v.get(k))
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            (got == *want) == *eq
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_match_like_the_server() {
        let o = json!({"metadata": {"labels": {"app": "web", "tier": "a"}}});
        for (s, want) in [
            ("app=web", true),
            ("app==web,tier!=b", true),
            ("tier in (a, b)", true),
            ("tier notin (a)", false),
            ("app", true),
            ("!app", false),
            ("!legacy,app in (web)", true),
        ] {
            assert_eq!(
                LabelSelector::parse(s).map(|l| l.matches(&o)),
                Ok(want),
                "{s}"
            );
        }
    }

    #[test]
    fn field_selectors_read_dotted_paths() {
        let o = json!({"metadata": {"name": "x"}, "status": {"phase": "Running"}});
        let sel = FieldSelector::parse("metadata.name=x,status.phase!=Pending").ok();
        assert!(sel.is_some_and(|s| s.matches(&o)));
        let unscheduled = FieldSelector::parse("spec.nodeName=").ok();
        assert!(unscheduled.is_some_and(|s| s.matches(&o)));
    }
}
