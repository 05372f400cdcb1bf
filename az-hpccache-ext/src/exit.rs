//! az's exit codes and error messages, in one place.
//!
//! `0` success, `1` error (Ctrl-C too), `2` argument error, `3` resource not found.
//! Errors print as `ERROR: <message>` on stderr, hints on the following lines.

use std::io::Write;
use std::process::ExitCode;

use hpccache_core::Error as CoreError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Output(#[from] hpccache_az_output::OutputError),
    #[error("{0}")]
    Usage(String),
    /// A `show` (or another command that names one resource) found nothing: exit 3.
    /// Built with [`CliError::not_found_is_3`].
    #[error(transparent)]
    NotFound(CoreError),
    /// Something went wrong that is neither an argument nor Azure (the sandbox, a lock).
    #[error("{0}")]
    Runtime(String),
    /// Ctrl-C: az exits 1.
    #[error(
        "Operation cancelled (Ctrl-C). What finished is saved; run the command again to continue"
    )]
    Interrupted,
    /// An error with a hint printed on the next line.
    #[error("{error}")]
    Hinted { error: Box<CliError>, hint: String },
}

impl CliError {
    /// For commands that show one resource: a 404 exits 3, as `az ... show` does.
    pub fn not_found_is_3(e: CoreError) -> CliError {
        if e.is_not_found() {
            CliError::NotFound(e)
        } else {
            CliError::Core(e)
        }
    }

    /// Adds a hint printed on the line after the error.
    pub fn with_hint(self, hint: impl Into<String>) -> CliError {
        CliError::Hinted {
            error: Box::new(self),
            hint: hint.into(),
        }
    }

    /// Hints for errors whose message alone does not say how to get further.
    fn hint(&self) -> Option<String> {
        match self {
            CliError::Hinted { hint, .. } => Some(hint.clone()),
            CliError::Core(CoreError::Arm { code, status, .. })
            | CliError::NotFound(CoreError::Arm { code, status, .. }) => {
                match (code.as_str(), status) {
                    ("AuthorizationFailed", _) | (_, 403) => Some(
                        "Check that your identity has a role that allows this on the scope (az role assignment list --assignee <you>)".into(),
                    ),
                    ("SubscriptionNotFound", _) => Some(
                        "Pass the right subscription with --subscription or AZURE_SUBSCRIPTION_ID".into(),
                    ),
                    ("MissingSubscriptionRegistration", _) => Some(
                        "Register the provider first: az-hpccache-ext provider register".into(),
                    ),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

impl CliError {
    fn code(&self) -> u8 {
        match self {
            CliError::Core(CoreError::InvalidInput(_)) | CliError::Usage(_) => 2,
            CliError::Core(CoreError::StateMissing { .. }) | CliError::NotFound(_) => 3,
            CliError::Hinted { error, .. } => error.code(),
            CliError::Core(_)
            | CliError::Output(_)
            | CliError::Runtime(_)
            | CliError::Interrupted => 1,
        }
    }
}

/// Prints `ERROR: ...` with the message's first letter upper-cased, as az does.
pub fn report(e: &CliError) -> ExitCode {
    let msg = e.to_string();
    let mut chars = msg.chars();
    let msg = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect::<String>(),
        None => msg,
    };
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "ERROR: {msg}");
    if let Some(hint) = e.hint() {
        let _ = writeln!(err, "{hint}");
    }
    ExitCode::from(e.code())
}

/// clap's own help and version go to stdout with success; its errors are argument errors.
pub fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        // az names the argument and the problem, nothing else: print the value parser's
        // own message (it already names the flag) instead of clap's wrapper around it.
        ErrorKind::ValueValidation if std::error::Error::source(&e).is_some() => {
            let detail = std::error::Error::source(&e)
                .map(ToString::to_string)
                .unwrap_or_default();
            let mut stderr = std::io::stderr();
            let _ = writeln!(stderr, "ERROR: {detail}");
            if detail.starts_with("argument --query") {
                let _ = writeln!(stderr, "{}", hpccache_az_output::QUERY_REFERENCE);
            }
            ExitCode::from(2)
        }
        _ => {
            let rendered = e.render().to_string();
            let body = rendered.strip_prefix("error: ").unwrap_or(&rendered);
            let _ = write!(std::io::stderr(), "ERROR: {body}");
            ExitCode::from(2)
        }
    }
}

impl From<hpccache_core::InvalidInput> for CliError {
    fn from(e: hpccache_core::InvalidInput) -> Self {
        CliError::Core(CoreError::from(e))
    }
}
