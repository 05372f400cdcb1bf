//! Shell completions and the man page, generated from the clap definitions.

use clap::CommandFactory;

use super::write_stdout;
use crate::cli::Cli;
use crate::exit::CliError;

pub fn completion(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "az-hpccache-ext", &mut buf);
    write_stdout(&buf)
}

pub fn man() -> Result<(), CliError> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| CliError::Usage(format!("cannot render the man page: {e}")))?;
    write_stdout(&buf)
}
