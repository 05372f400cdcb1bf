//! `kubectl-hpccache`: the cluster side of hpccache, as a kubectl plugin (`kubectl hpccache`).
//!
//! kubectl passes no flags to plugins, so this binary parses `--kubeconfig`, `--context`
//! and `-n` itself ([`cli`]) and builds its client from them in one place ([`kubeconfig`]).

mod cli;
mod commands;
mod exit;
mod kubeconfig;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return exit::clap_error(e),
    };
    match commands::run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => exit::report(&e),
    }
}
