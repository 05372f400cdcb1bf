//! `down`: takes the deployment apart (flush first), deleting only what `up` created.

use clap::Args;
use hpccache_core::deploy::down::{self, DownOptions};
use serde_json::json;

use super::confirm::confirm;
use super::print;
use super::up::{lock_state, waits};
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::Session;

pub const EXAMPLES: &str = "\
Examples:
  Remove what `up` created, keeping the storage account and its data:
    az-hpccache-ext down -n MyHpcCache --yes

  Remove the data too:
    az-hpccache-ext down -n MyHpcCache --delete-data --yes";

#[derive(Debug, Args)]
pub struct DownCommand {
    /// The deployment. Optional when only one exists or --state names the file.
    #[arg(short = 'n', long)]
    pub name: Option<String>,
    /// Also delete the storage account and container this tool created (refused for a
    /// container holding data unless --yes).
    #[arg(long)]
    pub delete_data: bool,
    /// Delete a cache that is not healthy enough to flush: data not yet written back to Blob
    /// storage is lost.
    #[arg(long)]
    pub force: bool,
    /// Do not prompt for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Do not wait for the long-running operation to finish.
    #[arg(long)]
    pub no_wait: bool,
}

pub fn run(cli: &Cli, cmd: &DownCommand) -> Result<(), CliError> {
    if let Some(n) = &cmd.name {
        hpccache_core::spec::names::deployment("--name", n)?;
    }
    let store = lock_state(cli, cmd.name.as_deref())?;
    // A missing, corrupt, foreign or newer state file is refused before the first request (the
    // session lists subscriptions when it opens), not after (reliability suite, issue 7 item 4).
    if store.load()?.is_none() {
        return Err(hpccache_core::Error::StateMissing {
            path: store.path().to_path_buf(),
        }
        .into());
    }
    let what = if cmd.delete_data {
        "everything this deployment created, its data included"
    } else {
        "the cache, storage target, DNS records, link, zone, role assignments and subnet this deployment created"
    };
    confirm(&format!("Are you sure you want to delete {what}?"), cmd.yes)?;
    let session = Session::open(cli)?;
    let opts = DownOptions {
        delete_data: cmd.delete_data,
        force: cmd.force,
        yes: cmd.yes,
        no_wait: cmd.no_wait,
        waits: waits(&session),
        progress: session.progress.clone(),
    };
    let result = session.run_core(down::down(&session.arm, store, opts));
    session.close()?;
    let report = result?;
    if report.pending {
        tracing::warn!("The cache is being deleted. Run `az-hpccache-ext down` again to finish.");
    }
    print(
        cli,
        &json!({
            "deleted": report.deleted,
            "kept": report.kept,
            "pending": report.pending,
        }),
    )
}
