//! The one error type of hpccache-core.
//!
//! Binaries map these to exit codes in one place each: an [`InvalidInput`] is an
//! argument error (exit 2 in az style), everything else a runtime error.

use std::path::PathBuf;

/// A value the user gave that cannot be used. Carries the flag so the message names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag}: {problem}{}", hint.as_ref().map(|h| format!(". {h}")).unwrap_or_default())]
pub struct InvalidInput {
    /// The flag or argument as the user typed it, e.g. `--subnet-prefix`.
    pub flag: String,
    /// What is wrong, quoting the value.
    pub problem: String,
    /// What would be right, when there is something useful to say.
    pub hint: Option<String>,
}

impl InvalidInput {
    pub fn new(flag: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            flag: flag.into(),
            problem: problem.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),

    #[error(
        "state file {path} is not valid: {reason}. It was left untouched; fix or move it, or pass another file with --state"
    )]
    StateCorrupt { path: PathBuf, reason: String },

    #[error(
        "state file {path} was written by a newer hpccache (schema version {found}, this build understands up to {supported}). It was left untouched; upgrade hpccache to use it"
    )]
    StateTooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    #[error(
        "state file {path} is in use by another hpccache run (lock held on {lock}). Wait for it to finish, or pass another file with --state"
    )]
    StateLocked { path: PathBuf, lock: PathBuf },

    #[error(
        "no state file at {path}. Run `az-hpccache-ext up` first, or pass the right file with --state or HPCCACHE_STATE"
    )]
    StateMissing { path: PathBuf },

    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "cannot find a state directory for this user (no home directory); pass --state PATH or set HPCCACHE_STATE"
    )]
    NoStateDir,

    /// An error Azure Resource Manager (or Microsoft Graph) answered with; shown as az shows it.
    /// `status` 404 is "not found" (exit 3); see [`Error::is_not_found`].
    #[error("({code}) {message}")]
    Arm {
        code: String,
        message: String,
        /// HTTP status of the answer; 0 when the error came from a long-running operation's status.
        status: u16,
        request_id: Option<String>,
    },

    /// No usable HTTP answer: connection refused or reset, TLS failure, request timeout.
    #[error("{method} {url} failed: {reason}")]
    Http {
        method: String,
        url: String,
        reason: String,
    },

    /// The endpoint took no connection (refused, unknown host, connect timeout) and has not
    /// answered this run: nothing was sent, and retrying would only delay the same error.
    #[error("cannot reach {endpoint}: {reason}. {hint}")]
    Unreachable {
        endpoint: String,
        reason: String,
        /// Which flag or setting names that endpoint, and what to check.
        hint: String,
    },

    /// A long-running operation did not finish in time. Azure keeps working on it.
    #[error("{operation} of {resource} did not finish within {}. The operation continues in Azure; {hint}", crate::error::minutes(*after))]
    Timeout {
        operation: String,
        resource: String,
        after: std::time::Duration,
        hint: String,
    },

    /// No access token could be had.
    #[error(
        "cannot get an Azure access token: {0}. Sign in with `az login`, set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, or pass a token in HPCCACHE_ACCESS_TOKEN"
    )]
    Auth(String),

    /// A bearer token was refused because it expired (ARM or Graph answered 401).
    #[error("the access token for {what} expired at {at}; get a new one with {hint}")]
    TokenExpired {
        /// "Resource Manager" or "Microsoft Graph".
        what: String,
        /// RFC 3339 UTC.
        at: String,
        hint: String,
    },

    /// Something the tools look up in Azure is not there or is ambiguous (the cluster's vnet,
    /// a role definition), with what to do about it.
    #[error("cannot find {what}: {reason}")]
    Lookup { what: String, reason: String },

    /// A Kubernetes API request failed: what was being done, and the server's answer as
    /// kubectl prints it.
    #[error("{action}: {}", crate::kube::server_error(source))]
    Kube {
        action: String,
        #[source]
        source: ::kube::Error,
    },

    /// The cluster refused what was asked (a workload without containers, a volume that
    /// is in use); nothing was changed.
    #[error("{0}")]
    ClusterRefused(String),

    /// What a cluster command was pointed at does not exist (a namespace, a deployment's
    /// volume in a namespace): nothing was changed.
    #[error("{0}")]
    ClusterNotFound(String),

    /// Ctrl-C during a cluster command.
    #[error("interrupted; the probe or job pods this command started were removed")]
    Interrupted,

    /// Something given to the cluster side cannot be used (the cluster's kubeconfig, an
    /// object without a name).
    #[error("{0}")]
    ClusterInvalid(String),

    /// An answer that is not what the API promises (bad JSON, missing field, foreign host).
    #[error("unexpected answer from {url}: {reason}")]
    UnexpectedResponse { url: String, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// "90 s", "20 min": how long-running timeouts read in messages.
pub(crate) fn minutes(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    if secs >= 120 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else if secs > 0 {
        format!("{secs} s")
    } else {
        format!("{} ms", d.as_millis())
    }
}

impl Error {
    /// True for an ARM "not found" (HTTP 404): `show` exits 3 on it, steps treat it as absent.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Arm { status: 404, .. })
    }

    /// The ARM error code, e.g. `ResourceNotFound`, when this is an ARM error.
    pub fn arm_code(&self) -> Option<&str> {
        match self {
            Error::Arm { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
