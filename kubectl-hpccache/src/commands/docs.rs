//! Shell completions and the man page, generated from the clap definitions.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit::CliError;
use crate::output::write_stdout;

pub fn completion(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kubectl-hpccache", &mut buf);
    write_stdout(&String::from_utf8_lossy(&buf))
}

pub fn man() -> Result<(), CliError> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| CliError::Output(format!("cannot render the man page: {e}")))?;
    write_stdout(&String::from_utf8_lossy(&buf))
}
