//! `kubectl-hpccache`: the cluster side of hpccache, as a kubectl plugin (`kubectl hpccache`).
//!
//! kubectl passes no flags to plugins, so this binary parses `--kubeconfig`, `--context`
//! and `-n` itself ([`cli`]) and builds its client from them in one place ([`kubeconfig`]).

mod cli;
mod commands;
mod complete;
mod exit;
mod kubeconfig;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // kubectl's completion (kubectl_complete-hpccache) passes the words as typed, flags
    // included: they are answered, not parsed.
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == complete::COMMAND) {
        return match complete::run(args.collect()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => exit::report(&e),
        };
    }
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return exit::clap_error(e),
    };
    match commands::run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => exit::report(&e),
    }
}
