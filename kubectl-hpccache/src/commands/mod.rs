//! One module per command; each turns parsed arguments into core calls and prints.

mod cluster;
mod docs;
mod mount;
mod state;
mod status;
mod unmount;
mod verify;

use crate::cli::{Cli, Command};
use crate::exit::CliError;

pub fn run(cli: &Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Mount(args) => mount::mount(cli, args),
        Command::Manifests(args) => mount::manifests(cli, args),
        Command::Verify(args) => verify::run(cli, args),
        Command::Status { deployment } => status::run(cli, deployment.as_deref()),
        Command::Unmount {
            deployment,
            force,
            all_namespaces,
        } => unmount::run(cli, deployment.as_deref(), *force, *all_namespaces),
        Command::State(cmd) => state::run(cli, cmd),
        Command::Completion { shell } => docs::completion(*shell),
        Command::Man => docs::man(),
    }
}
