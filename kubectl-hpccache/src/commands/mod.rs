//! One module per command; each turns parsed arguments into core calls and prints.

mod docs;
mod state;

use crate::cli::{Cli, Command};
use crate::exit::CliError;

pub fn run(cli: &Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::State(cmd) => state::run(cli, cmd),
        Command::Completion { shell } => docs::completion(*shell),
        Command::Man => docs::man(),
    }
}
