//! What `--debug` may show. Requests and responses are logged in full except for secrets:
//! the `Authorization` header, any header or JSON field whose name mentions a token, key,
//! secret, password or kubeconfig, and SAS signatures (`sig=`) in URLs.

use serde_json::Value;

const REDACTED: &str = "<redacted>";

fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || [
            "token",
            "key",
            "secret",
            "password",
            "kubeconfig",
            "credential",
            "signature",
        ]
        .iter()
        .any(|w| n.contains(w))
}

/// A header value as it may be logged.
pub fn header(name: &str, value: &str) -> String {
    if is_secret_name(name) {
        REDACTED.to_owned()
    } else {
        url_text(value)
    }
}

/// A URL (or any text holding one) with SAS signature values removed.
pub fn url_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = find_sig(rest) {
        let value_start = pos + 4;
        out.push_str(&rest[..value_start]);
        out.push_str(REDACTED);
        let tail = &rest[value_start..];
        let end = tail.find(['&', ' ', '"', '\'', '#']).unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Position of a `sig=` that starts a query parameter.
fn find_sig(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("sig=") {
        let at = from + i;
        if at == 0 || matches!(lower.as_bytes()[at - 1], b'?' | b'&') {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// A JSON document with secret-named fields replaced, recursively.
pub fn json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_name(k) && !v.is_null() {
                        Value::String(REDACTED.to_owned())
                    } else {
                        json(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        Value::String(s) => Value::String(url_text(s)),
        other => other.clone(),
    }
}

/// A request or response body as it may be logged: JSON redacted, other text cut short.
pub fn body(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return String::new();
    }
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        return json(&v).to_string();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if text.len() <= 2048 => url_text(text),
        Ok(text) => {
            let mut cut = 2048;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}... ({} bytes)", url_text(&text[..cut]), bytes.len())
        }
        Err(_) => format!("<{} bytes of binary data>", bytes.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sas_signatures_are_hidden() {
        assert_eq!(
            url_text("https://a.blob.core.windows.net/c?sv=1&sig=abc%2Fdef&se=2"),
            "https://a.blob.core.windows.net/c?sv=1&sig=<redacted>&se=2"
        );
        assert_eq!(url_text("https://x/?design=1"), "https://x/?design=1");
    }

    #[test]
    fn secret_fields_are_hidden() {
        let v = serde_json::json!({"properties": {"accessToken": "t", "keys": [{"value": "k"}], "name": "n"},
            "kubeconfigs": [{"name": "clusterUser", "value": "YWJj"}]});
        let r = json(&v).to_string();
        assert!(
            !r.contains("\"t\"") && !r.contains("YWJj") && !r.contains("\"k\""),
            "{r}"
        );
        assert!(r.contains("\"n\""));
    }
}
