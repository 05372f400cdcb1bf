//! `provider register`: register a resource provider (Microsoft.StorageCache by default).

use clap::Subcommand;
use hpccache_core::InvalidInput;
use hpccache_core::azure::providers;

use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::{Session, Wait};

#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Register a resource provider and wait until it is Registered (idempotent).
    #[command(after_help = "\
Examples:
  Register the HPC Cache provider and wait:
    az-hpccache-ext provider register

  Start the registration and return at once:
    az-hpccache-ext provider register --namespace Microsoft.StorageCache --no-wait")]
    Register {
        /// The resource provider namespace.
        #[arg(long, default_value = "Microsoft.StorageCache")]
        namespace: String,
        /// Do not wait for the long-running operation to finish.
        #[arg(long)]
        no_wait: bool,
    },
}

pub fn run(cli: &Cli, cmd: &ProviderCommand) -> Result<(), CliError> {
    let ProviderCommand::Register { namespace, no_wait } = cmd;
    let ns = namespace.trim();
    let valid = ns.split('.').count() >= 2
        && ns
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if !valid {
        return Err(InvalidInput::new(
            "--namespace",
            format!("'{namespace}' is not a resource provider namespace"),
        )
        .hint("Use a namespace such as Microsoft.StorageCache")
        .into());
    }
    let session = Session::open(cli)?;
    let result = session.run(async {
        let client = &session.arm;
        if *no_wait {
            let current = providers::get_provider(client, ns).await?;
            providers::begin_register(client, current, &session.progress).await?;
        } else {
            let progress = session.progress.for_step(format!("provider {ns}"));
            providers::register(client, ns, &session.poll_policy(Wait::Provider), &progress)
                .await?;
        }
        Ok(())
    });
    session.close()?;
    // az prints nothing for a registration.
    result
}
