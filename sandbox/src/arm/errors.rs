//! ARM error responses: `{"error":{"code","message"}}` with the status ARM uses.

use serde_json::{Value, json};

/// An error answered to the client, in ARM's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmError {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// Seconds for a `Retry-After` header (throttling).
    pub retry_after: Option<u64>,
}

impl ArmError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ArmError {
            status,
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidParameter", message)
    }

    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }

    /// ARM's own 404 for a tracked resource that does not exist.
    pub fn resource_not_found(resource_type: &str, name: &str, resource_group: &str) -> Self {
        Self::not_found(
            "ResourceNotFound",
            format!(
                "The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not found. \
                 For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }

    pub fn resource_group_not_found(resource_group: &str) -> Self {
        Self::not_found(
            "ResourceGroupNotFound",
            format!("Resource group '{resource_group}' could not be found."),
        )
    }

    pub fn body(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }
}
