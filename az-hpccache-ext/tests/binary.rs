//! The built binary itself. Having an integration test here also makes `cargo test
//! --workspace` build `az-hpccache-ext`, which the end-to-end tests in `tests/` run.

use std::process::Command;

#[test]
fn version_names_the_binary() {
    let out = Command::new(env!("CARGO_BIN_EXE_az-hpccache-ext"))
        .arg("--version")
        .output()
        .expect("run az-hpccache-ext");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("az-hpccache-ext {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn an_unknown_command_is_an_argument_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_az-hpccache-ext"))
        .arg("frobnicate")
        .output()
        .expect("run az-hpccache-ext");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("ERROR: "));
}
