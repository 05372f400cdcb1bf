//! az's `wait` command, shared by the groups that have one (`cache wait`, `amlfs wait`).

use std::time::Duration;

use clap::Args;
use hpccache_core::InvalidInput;
use hpccache_core::azure::ResourceId;
use hpccache_core::azure::lro::{self, Until};

use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::{Session, Wait};

/// The conditions and pace of az's `wait`.
#[derive(Debug, Args)]
pub struct WaitFlags {
    /// Wait until created with provisioningState at 'Succeeded'.
    #[arg(long)]
    pub created: bool,
    /// Wait until updated with provisioningState at 'Succeeded'.
    #[arg(long)]
    pub updated: bool,
    /// Wait until deleted.
    #[arg(long)]
    pub deleted: bool,
    /// Wait until the resource exists.
    #[arg(long)]
    pub exists: bool,
    /// Maximum wait in seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
    /// Polling interval in seconds.
    #[arg(long, default_value_t = 30)]
    pub interval: u64,
}

impl WaitFlags {
    /// az's `wait`: --created and --exists wait for a resource that does not exist yet;
    /// --updated needs it (a 404 is not found, exit 3); --deleted waits for the 404.
    fn until(&self) -> Until {
        if self.deleted {
            Until::Deleted
        } else if self.created {
            Until::Created
        } else if self.updated {
            Until::Succeeded
        } else {
            Until::Exists
        }
    }
}

/// Waits for the resource `id` names (read at `api_version`) as `flags` ask; progress is
/// labelled `<kind> <name>`. Prints nothing, as az's wait.
pub fn run(
    cli: &Cli,
    flags: &WaitFlags,
    kind: &str,
    api_version: &str,
    id: impl FnOnce(&Session) -> Result<ResourceId, CliError>,
) -> Result<(), CliError> {
    let until = flags.until();
    if flags.interval == 0 {
        return Err(InvalidInput::new("--interval", "must be at least 1 second").into());
    }
    let session = Session::open(cli)?;
    let id = id(&session)?;
    let mut policy = session.poll_policy_with_timeout(Wait::Cache, Some(flags.timeout));
    policy.default_interval = session.scaled(Duration::from_secs(flags.interval));
    let progress = session.progress.for_step(format!("{kind} {}", id.name()));
    let result = session.run(async {
        lro::wait_for_resource(
            &session.arm,
            id.as_str(),
            api_version,
            until,
            &policy,
            &progress,
        )
        .await
        .map_err(CliError::not_found_is_3)
    });
    session.close()?;
    result.map(drop)
}
