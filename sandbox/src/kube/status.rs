//! `Status` error bodies, with the reasons, codes and messages of the real API server.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::resources::Resource;

/// An API error, rendered as a `kind: Status` body.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// The same message with another code and reason.
    pub fn with_code(mut self, code: u16, reason: &'static str) -> Self {
        self.code = code;
        self.reason = reason;
        self
    }

    /// The same error with another message (preconditions reuse Conflict).
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// `persistentvolumeclaims "pvc-nfs" not found`.
    pub fn not_found(res: &Resource, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", res.qualified()),
        )
        .with_details(res.details(name))
    }

    /// A namespace that does not exist, on create or list in it.
    pub fn namespace_not_found(ns: &str) -> Self {
        Self::new(404, "NotFound", format!("namespaces \"{ns}\" not found"))
            .with_details(json!({"name": ns, "kind": "namespaces"}))
    }

    pub fn already_exists(res: &Resource, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", res.qualified()),
        )
        .with_details(res.details(name))
    }

    /// A write with a stale `metadata.resourceVersion`.
    pub fn conflict(res: &Resource, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                res.qualified()
            ),
        )
        .with_details(res.details(name))
    }

    /// Server-side apply conflicts: `(manager, field path)` pairs.
    pub fn apply_conflict(res: &Resource, name: &str, conflicts: &[(String, String)]) -> Self {
        let n = conflicts.len();
        let message = if n == 1 {
            let (m, f) = &conflicts[0];
            format!(
                "Apply failed with 1 conflict: conflict with \"{m}\" using {}: {f}",
                res.api_version()
            )
        } else {
            let mut by_manager: Vec<(String, Vec<String>)> = Vec::new();
            for (m, f) in conflicts {
                match by_manager.iter_mut().find(|(x, _)| x == m) {
                    Some((_, fs)) => fs.push(f.clone()),
                    None => by_manager.push((m.clone(), vec![f.clone()])),
                }
            }
            let mut s = format!("Apply failed with {n} conflicts:");
            for (m, fs) in by_manager {
                s.push_str(&format!(
                    " conflicts with \"{m}\" using {}:",
                    res.api_version()
                ));
                for f in fs {
                    s.push_str(&format!("\n- {f}"));
                }
            }
            s
        };
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|(m, f)| {
                json!({"type": "FieldManagerConflict",
                       "message": format!("conflict with \"{m}\" using {}", res.api_version()),
                       "field": f})
            })
            .collect();
        let mut details = res.details(name);
        details["causes"] = Value::Array(causes);
        Self::new(409, "Conflict", message).with_details(details)
    }

    /// 422 with one cause, e.g. `spec.containers: Required value`.
    pub fn invalid(res: &Resource, name: &str, causes: Vec<FieldError>) -> Self {
        let list: Vec<String> = causes.iter().map(FieldError::to_string).collect();
        let summary = if list.len() == 1 {
            list[0].clone()
        } else {
            format!("[{}]", list.join(", "))
        };
        let details = json!({
            "name": name,
            "group": if res.group.is_empty() { Value::Null } else { Value::from(res.group) },
            "kind": res.kind,
            "causes": causes.iter().map(|c| json!({
                "reason": c.reason, "message": c.message_only(), "field": c.field
            })).collect::<Vec<_>>(),
        });
        let details = strip_nulls(details);
        Self::new(
            422,
            "Invalid",
            format!("{} \"{name}\" is invalid: {summary}", res.qualified_kind()),
        )
        .with_details(details)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn forbidden(res: &Resource, name: &str, why: &str) -> Self {
        Self::new(
            403,
            "Forbidden",
            format!("{} \"{name}\" is forbidden: {why}", res.qualified()),
        )
        .with_details(res.details(name))
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    /// A path the server does not serve.
    pub fn no_route() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    /// A watch from a resourceVersion older than the kept history.
    pub fn gone(requested: u64, oldest: u64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {requested} ({oldest})"),
        )
    }

    pub fn unsupported_media_type(got: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: \
                 application/json-patch+json, application/merge-patch+json, \
                 application/apply-patch+yaml, application/strategic-merge-patch+json (got {got:?})"
            ),
        )
    }

    pub fn not_acceptable() -> Self {
        Self::new(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml, \
             application/vnd.kubernetes.protobuf",
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// The `Status` document.
    pub fn body(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            v["details"] = d.clone();
        }
        v
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            code,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            self.body().to_string(),
        )
            .into_response()
    }
}

/// A `Status` of a successful delete (for kinds that do not return the object).
pub fn success(res: &Resource, name: &str, uid: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "group": res.group, "kind": res.plural, "uid": uid},
    })
}

/// One field validation error, printed like apimachinery's `field.Error`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub reason: &'static str,
    pub detail: String,
}

impl FieldError {
    pub fn required(field: &str) -> Self {
        FieldError {
            field: field.into(),
            reason: "FieldValueRequired",
            detail: String::new(),
        }
    }

    pub fn invalid(field: &str, value: &Value, detail: &str) -> Self {
        FieldError {
            field: field.into(),
            reason: "FieldValueInvalid",
            detail: format!("Invalid value: {}: {detail}", value_text(value)),
        }
    }

    pub fn forbidden(field: &str, detail: &str) -> Self {
        FieldError {
            field: field.into(),
            reason: "FieldValueForbidden",
            detail: format!("Forbidden: {detail}"),
        }
    }

    pub fn unsupported(field: &str, value: &Value, allowed: &[&str]) -> Self {
        let list: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
        FieldError {
            field: field.into(),
            reason: "FieldValueNotSupported",
            detail: format!(
                "Unsupported value: {}: supported values: {}",
                value_text(value),
                list.join(", ")
            ),
        }
    }

    fn message_only(&self) -> String {
        if self.reason == "FieldValueRequired" {
            "Required value".into()
        } else {
            self.detail.clone()
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message_only())
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

fn strip_nulls(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.retain(|_, x| !x.is_null());
    }
    v
}
