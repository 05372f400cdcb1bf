//! `kubectl-hpccache __complete WORDS...`: completion candidates for kubectl (1.26 or
//! newer). kubectl runs `kubectl_complete-hpccache` (kubectl-hpccache/completion/, shipped in
//! the release archives) with the words typed after `kubectl hpccache`, the last one being the
//! word under the cursor (empty for a new word); that script calls this. The answer follows
//! cobra's `__complete` protocol, which kubectl reads: one candidate per line
//! (`value<TAB>description`), then `:<directive>`.
//!
//! The candidates come from clap_complete's engine over the same clap definition that parses
//! the command line (subcommands, flags, their possible values, paths), plus the deployment
//! names found in the state directory for the DEPLOYMENT arguments.

use std::ffi::OsString;

use clap::CommandFactory;
use clap_complete::engine::CompletionCandidate;

use crate::cli::Cli;
use crate::exit::CliError;
use crate::output::write_stdout;

/// The hidden command, named as cobra names its own.
pub const COMMAND: &str = "__complete";

/// cobra's `ShellCompDirectiveNoFileComp`: the candidates are all there is (paths included,
/// when a flag takes one); the shell must not offer file names instead.
const NO_FILE_COMPLETION: u8 = 4;

pub fn run(words: Vec<OsString>) -> Result<(), CliError> {
    write_stdout(&answer(words))
}

/// The lines printed for `words` (the words after `kubectl hpccache`, the last completed).
fn answer(words: Vec<OsString>) -> String {
    let mut args = vec![OsString::from("kubectl-hpccache")];
    args.extend(words);
    if args.len() == 1 {
        args.push(OsString::new());
    }
    let index = args.len() - 1;
    // Flags only once a `-` is typed, as cobra does: a new word lists what can follow.
    let flags = args[index].to_string_lossy().starts_with('-');
    let cwd = std::env::current_dir().ok();
    // No candidate is an answer too: the engine errs only when it cannot place the word.
    let candidates =
        clap_complete::engine::complete(&mut Cli::command(), args, index, cwd.as_deref())
            .unwrap_or_default();
    let mut out = String::new();
    let shown = candidates.iter().filter(|c| {
        !c.is_hide_set() && (flags || !c.get_value().to_string_lossy().starts_with('-'))
    });
    for c in shown {
        out.push_str(&c.get_value().to_string_lossy());
        if let Some(help) = c.get_help() {
            let help = help.to_string();
            if let Some(first) = help.lines().next().filter(|l| !l.is_empty()) {
                out.push('\t');
                out.push_str(first);
            }
        }
        out.push('\n');
    }
    out.push_str(&format!(":{NO_FILE_COMPLETION}\n"));
    out
}

/// The deployments with a state file in the user's state directory, for DEPLOYMENT.
pub fn deployments() -> Vec<CompletionCandidate> {
    let Ok(dir) = hpccache_core::state::deployments_dir() else {
        return Vec::new();
    };
    hpccache_core::state::list_deployments(&dir)
        .unwrap_or_default()
        .into_iter()
        .map(CompletionCandidate::new)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(words: &[&str]) -> Vec<String> {
        let text = answer(words.iter().map(OsString::from).collect());
        let mut lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.pop(), Some(":4"), "{text}");
        lines
            .iter()
            .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn subcommands_flags_and_possible_values() {
        let all = values(&[""]);
        for want in ["mount", "verify", "status", "unmount", "manifests", "state"] {
            assert!(all.iter().any(|v| v == want), "{want} in {all:?}");
        }
        assert!(
            !all.iter().any(|v| v == COMMAND || v.starts_with('-')),
            "{all:?}"
        );
        assert_eq!(values(&["mo"]), ["mount"]);
        assert_eq!(values(&["mount", "--dry-r"]), ["--dry-run"]);
        assert_eq!(
            values(&["status", "-o", ""]),
            ["yaml", "json", "wide", "name"]
        );
        assert_eq!(values(&["state", "s"]), ["show"]);
        assert!(values(&["-"]).iter().any(|v| v == "--kubeconfig"));
    }
}
