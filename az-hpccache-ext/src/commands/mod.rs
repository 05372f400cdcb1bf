//! One module per command group; each turns parsed arguments into core calls and hands
//! its result to [`print`].

pub mod aks;
pub mod amlfs;
pub mod attach;
pub mod cache;
mod confirm;
pub mod dns;
mod docs;
pub mod down;
pub mod provider;
pub mod role;
mod shape;
pub mod skus;
mod state;
pub mod status;
pub mod storage;
pub mod storage_target;
pub mod subnet;
pub mod up;
mod wait;

use std::io::Write;

use crate::cli::{Cli, Command};

use crate::exit::CliError;
pub use down::DownCommand;
use hpccache_az_output as output;
pub use status::StatusCommand;
pub use up::UpCommand;

pub fn run(cli: &Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::State(cmd) => state::run(cli, cmd),
        Command::Up(cmd) => up::run(cli, cmd),
        Command::Attach(cmd) => attach::run(cli, cmd),
        Command::Down(cmd) => down::run(cli, cmd),
        Command::Status(cmd) => status::run(cli, cmd),
        Command::Aks(cmd) => aks::run(cli, cmd),
        Command::Subnet(cmd) => subnet::run(cli, cmd),
        Command::Provider(cmd) => provider::run(cli, cmd),
        Command::Cache(cmd) => cache::run(cli, cmd),
        Command::Amlfs(cmd) => amlfs::run(cli, cmd),
        Command::Storage(cmd) => storage::run(cli, cmd),
        Command::Role(cmd) => role::run(cli, cmd),
        Command::BlobStorageTarget(cmd) => storage_target::run_blob(cli, cmd),
        Command::StorageTarget(cmd) => storage_target::run(cli, cmd),
        Command::Dns(cmd) => dns::run(cli, cmd),
        Command::Skus(cmd) => skus::run_skus(cli, cmd),
        Command::UsageModel(cmd) => skus::run_usage_models(cli, cmd),
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
