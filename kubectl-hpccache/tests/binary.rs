//! The built binary itself. Having an integration test here also makes `cargo test
//! --workspace` build `kubectl-hpccache`, which the end-to-end tests in `tests/` run.

use std::process::Command;

#[test]
fn help_calls_itself_kubectl_hpccache() {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-hpccache"))
        .arg("--help")
        .output()
        .expect("run kubectl-hpccache");
    assert!(out.status.success());
    // kubectl runs plugins by file name; users type `kubectl hpccache`.
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: kubectl hpccache"));
}
