//! One module per command group; each turns parsed arguments into core calls and hands
//! its result to [`print`].

mod docs;
mod state;

use std::io::Write;

use crate::cli::{Cli, Command};
use crate::exit::CliError;
use crate::output;

pub fn run(cli: &Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::State(cmd) => state::run(cli, cmd),
        Command::Completion { shell } => docs::completion(*shell),
        Command::Man => docs::man(),
    }
}

/// Renders a command's result with the global `-o`/`--query` and writes it to stdout.
/// A closed stdout (`| head`) is not an error, as in ripgrep.
pub fn print(cli: &Cli, result: &serde_json::Value) -> Result<(), CliError> {
    let text = output::render(result, cli.global.output, cli.global.query.as_ref())?;
    write_stdout(text.as_bytes())
}

pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::Usage(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}
