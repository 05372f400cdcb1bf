//! `skus list` and `usage-model list`: what the HPC Cache provider offers.

use clap::Subcommand;
use hpccache_core::azure::cache;
use serde_json::Value;

use super::print;
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::Session;

#[derive(Debug, Subcommand)]
pub enum SkusCommand {
    /// List the cache SKUs, their locations and capabilities.
    #[command(after_help = "\
Examples:
  SKU names and locations:
    az-hpccache-ext skus list --query \"[].{Name:name, Locations:join(',', locations)}\" -o table")]
    List,
}

#[derive(Debug, Subcommand)]
pub enum UsageModelCommand {
    /// List the usage models a storage target can use.
    #[command(after_help = "\
Examples:
    az-hpccache-ext usage-model list -o table")]
    List,
}

pub fn run_skus(cli: &Cli, _cmd: &SkusCommand) -> Result<(), CliError> {
    let session = Session::open(cli)?;
    let result = session.run_core(cache::list_skus(&session.arm));
    session.close()?;
    let v = serde_json::to_value(result?).unwrap_or(Value::Null);
    print(cli, &v)
}

pub fn run_usage_models(cli: &Cli, _cmd: &UsageModelCommand) -> Result<(), CliError> {
    let session = Session::open(cli)?;
    let result = session.run_core(cache::list_usage_models(&session.arm));
    session.close()?;
    let v = serde_json::to_value(result?).unwrap_or(Value::Null);
    print(cli, &v)
}
