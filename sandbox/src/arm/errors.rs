//! ARM error responses: `{"error":{"code","message","details"}}` with the status ARM uses.

use serde_json::{Value, json};

use crate::world::{ErrorDetail, OpError};

/// An error answered to the client, in ARM's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmError {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// Seconds for a `Retry-After` header (throttling).
    pub retry_after: Option<u64>,
    /// `error.details`: the causes (`Some(vec![])` answers `"details": []`, as the network RP
    /// does; `None` leaves the field out).
    pub details: Option<Vec<ErrorDetail>>,
}

impl ArmError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ArmError {
            status,
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
            details: None,
        }
    }

    pub fn with_details(mut self, details: Vec<ErrorDetail>) -> Self {
        self.details = Some(details);
        self
    }

    /// An operation's error answered synchronously (a `Location` URL of a failed operation).
    pub fn from_op(status: u16, e: &OpError) -> Self {
        ArmError {
            details: e.details.clone(),
            ..Self::new(status, &e.code, e.message.clone())
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
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(d) = &self.details {
            error["details"] = details_json(d);
        }
        json!({ "error": error })
    }
}

/// `details` as JSON.
pub fn details_json(details: &[ErrorDetail]) -> Value {
    Value::Array(
        details
            .iter()
            .map(|d| json!({"code": d.code, "message": d.message}))
            .collect(),
    )
}
