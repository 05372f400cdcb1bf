//! `status`: every resource of the deployment read live, with health and drift.

use clap::Args;
use hpccache_core::deploy::status;

use super::print;
use super::up::lock_state;
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::Session;

pub const EXAMPLES: &str = "\
Examples:
  Show every resource of the deployment, live, as a table:
    az-hpccache-ext status -n MyHpcCache -o table

  List what has drifted:
    az-hpccache-ext status -n MyHpcCache --query \"[?length(drift) > `0`]\"";

#[derive(Debug, Args)]
pub struct StatusCommand {
    /// The deployment. Optional when only one exists or --state names the file.
    #[arg(short = 'n', long)]
    pub name: Option<String>,
}

pub fn run(cli: &Cli, cmd: &StatusCommand) -> Result<(), CliError> {
    if let Some(n) = &cmd.name {
        hpccache_core::spec::names::deployment("--name", n)?;
    }
    // Read without writing: the lock only keeps a running `up` from changing it underneath.
    let store = lock_state(cli, cmd.name.as_deref())?;
    let doc = store
        .load()?
        .ok_or_else(|| hpccache_core::Error::StateMissing {
            path: store.path().to_path_buf(),
        })?;
    drop(store);
    let session = Session::open(cli)?;
    let result = session.run_core(status::status(&session.arm, &doc));
    session.close()?;
    let rows = result?;
    let v = serde_json::to_value(rows).map_err(|e| CliError::Runtime(e.to_string()))?;
    print(cli, &v)
}
