//! Exit codes and error messages in one place: `error: <message>` on stderr like kubectl,
//! exit 1 for errors and 2 for bad arguments.

use std::io::Write;
use std::process::ExitCode;

use hpccache_core::Error as CoreError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("sandbox: {0}")]
    Sandbox(#[from] hpccache_sandbox::sandbox::SandboxError),
    #[error("{0}")]
    Output(String),
    /// Checks ran and some failed; what failed is already on stdout.
    #[error("{0}")]
    Failed(String),
    #[error("interrupted")]
    Interrupted,
}

impl CliError {
    fn code(&self) -> u8 {
        match self {
            CliError::Core(CoreError::InvalidInput(_)) => 2,
            // 128 + SIGINT, as a shell reports a command stopped by Ctrl-C.
            CliError::Interrupted | CliError::Core(CoreError::Interrupted) => 130,
            _ => 1,
        }
    }
}

pub fn report(e: &CliError) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {e}");
    ExitCode::from(e.code())
}

pub fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let _ = e.print();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
        _ => ExitCode::from(2),
    }
}
