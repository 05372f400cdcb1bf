//! `az-hpccache-ext`: the Azure side of hpccache, in the style of `az`.
//!
//! `main` parses arguments ([`cli`]), sets up logging ([`logging`]), runs the command
//! ([`commands`]) and maps its outcome to az's exit codes ([`exit`]).

mod cli;
mod commands;
mod exit;
mod logging;
mod progress;
mod session;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return exit::clap_error(e),
    };
    logging::init(&cli.global);
    match commands::run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => exit::report(&e),
    }
}
