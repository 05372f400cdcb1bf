//! Both binaries' state commands, help, exit codes and error messages, as a user sees them.

use std::process::Output;

use hpccache_tests::{Scratch, sample_state};

fn run(cmd: &mut std::process::Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("binary runs");
    (
        status.code().expect("exit code"),
        String::from_utf8(stdout).expect("utf-8 stdout"),
        String::from_utf8(stderr).expect("utf-8 stderr"),
    )
}

/// Paths under the scratch directory vary per run; snapshots show them as `[SCRATCH]`.
fn redact(s: &Scratch, text: &str) -> String {
    text.replace(&s.path().display().to_string(), "[SCRATCH]")
}

#[test]
fn az_state_show_prints_the_state_as_az_json() {
    let s = Scratch::new();
    s.write_state("MyHpcCache", &sample_state());
    let (code, out, err) = run(s.cmd("az-hpccache-ext").args(["state", "show"]));
    assert_eq!((code, err.as_str()), (0, ""));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["deployment"], "MyHpcCache");
    // az prints keys sorted.
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn az_state_show_query_tsv_gives_one_address_per_line() {
    let s = Scratch::new();
    s.write_state("MyHpcCache", &sample_state());
    let (code, out, _) = run(s.cmd("az-hpccache-ext").args([
        "state",
        "show",
        "-d",
        "MyHpcCache",
        "--query",
        "cache.mountAddresses",
        "-o",
        "tsv",
    ]));
    assert_eq!(code, 0);
    assert_eq!(out, "10.225.0.4\n10.225.0.5\n10.225.0.6\n");
}

#[test]
fn az_output_format_comes_from_azure_core_output() {
    let s = Scratch::new();
    s.write_state("MyHpcCache", &sample_state());
    let (code, out, _) = run(s
        .cmd("az-hpccache-ext")
        .env("AZURE_CORE_OUTPUT", "tsv")
        .args(["state", "show", "--query", "dns.fqdn"]));
    assert_eq!((code, out.as_str()), (0, "server.myhpccache.local\n"));
}

#[test]
fn az_state_list_table() {
    let s = Scratch::new();
    s.write_state("MyHpcCache", &sample_state());
    let mut other = sample_state();
    other.deployment = "Scratch2".into();
    other.cluster = None;
    s.write_state("Scratch2", &other);
    let (code, out, err) = run(s.cmd("az-hpccache-ext").args([
        "state",
        "list",
        "--query",
        "[].{Name:name, Cluster:cluster, Steps:stepsDone}",
        "-o",
        "table",
    ]));
    assert_eq!((code, err.as_str()), (0, ""));
    insta::assert_snapshot!(out, @r"
    Name        Cluster       Steps
    ----------  ------------  -------
    MyHpcCache  myAKSCluster  0
    Scratch2                  0
    ");
}

#[test]
fn az_state_show_with_state_flag_and_env() {
    let s = Scratch::new();
    let path = s.write_state("MyHpcCache", &sample_state());
    let moved = s.path().join("elsewhere.json");
    std::fs::rename(&path, &moved).unwrap();
    let (code, out, _) = run(s
        .cmd("az-hpccache-ext")
        .args([
            "state",
            "show",
            "--query",
            "deployment",
            "-o",
            "tsv",
            "--state",
        ])
        .arg(&moved));
    assert_eq!((code, out.as_str()), (0, "MyHpcCache\n"));
    let (code, out, _) = run(s
        .cmd("az-hpccache-ext")
        .env("HPCCACHE_STATE", &moved)
        .args(["state", "show", "--query", "deployment", "-o", "tsv"]));
    assert_eq!((code, out.as_str()), (0, "MyHpcCache\n"));
}

/// Both binaries read `HPCCACHE_STATE` through clap's `env` on `--state`: the flag wins over
/// the variable, and an empty variable means the default file.
#[test]
fn state_flag_wins_over_env_and_an_empty_env_is_the_default() {
    let s = Scratch::new();
    let path = s.write_state("MyHpcCache", &sample_state());
    let moved = s.path().join("elsewhere.json");
    std::fs::rename(&path, &moved).unwrap();
    let missing = s.path().join("missing.json");
    let (code, out, _) = run(s
        .cmd("az-hpccache-ext")
        .env("HPCCACHE_STATE", &missing)
        .args([
            "state",
            "show",
            "--query",
            "deployment",
            "-o",
            "tsv",
            "--state",
        ])
        .arg(&moved));
    assert_eq!((code, out.as_str()), (0, "MyHpcCache\n"));
    let (code, out, _) = run(s
        .cmd("kubectl-hpccache")
        .env("HPCCACHE_STATE", &missing)
        .args(["state", "show", "-o", "name", "--state"])
        .arg(&moved));
    assert_eq!(
        (code, out.as_str()),
        (0, "deployment.hpccache.azure.com/MyHpcCache\n")
    );
    std::fs::rename(&moved, &path).unwrap();
    for bin in ["az-hpccache-ext", "kubectl-hpccache"] {
        let (code, _, err) = run(s.cmd(bin).env("HPCCACHE_STATE", "").args(["state", "show"]));
        assert_eq!(code, 0, "{bin}: {err}");
    }
}

#[test]
fn corrupt_state_file_is_exit_1_with_a_clear_message_and_left_intact() {
    let s = Scratch::new();
    let path = s.write_state("MyHpcCache", &sample_state());
    std::fs::write(
        &path,
        "{\"kind\": \"hpccache.azure.com/deployment\", \"vers",
    )
    .unwrap();
    let (code, out, err) = run(s.cmd("az-hpccache-ext").args(["state", "show"]));
    assert_eq!((code, out.as_str()), (1, ""));
    insta::assert_snapshot!(redact(&s, &err), @r#"ERROR: State file [SCRATCH]/state/hpccache/MyHpcCache.json is not valid: not JSON (EOF while parsing a string at line 1 column 47). It was left untouched; fix or move it, or pass another file with --state"#);
    let (code, _, err) = run(s.cmd("kubectl-hpccache").args(["state", "show"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("error: state file "), "{err}");
    assert!(std::fs::read_to_string(&path).unwrap().ends_with("\"vers"));
}

#[test]
fn newer_state_file_is_refused() {
    let s = Scratch::new();
    let path = s.write_state("MyHpcCache", &sample_state());
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"version\": 1", "\"version\": 99");
    std::fs::write(&path, &text).unwrap();
    let (code, _, err) = run(s.cmd("az-hpccache-ext").args(["state", "show"]));
    assert_eq!(code, 1);
    assert!(err.contains("schema version 99"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn missing_state_is_exit_3() {
    let s = Scratch::new();
    let (code, _, err) = run(s
        .cmd("az-hpccache-ext")
        .args(["state", "show", "-d", "Nope"]));
    assert_eq!(code, 3, "{err}");
    assert!(err.starts_with("ERROR: No state file at "), "{err}");
    assert!(err.contains("az-hpccache-ext up"), "{err}");
}

#[test]
fn bad_flag_values_are_exit_2() {
    let s = Scratch::new();
    s.write_state("MyHpcCache", &sample_state());
    for args in [
        &["state", "show", "-o", "xml"][..],
        &["state", "show", "--query", "[?"],
        &["state", "show", "-d", "../../etc/passwd"],
        &["state", "show", "--only-show-errors", "--debug"],
        &["state", "frobnicate"],
    ] {
        let (code, out, err) = run(s.cmd("az-hpccache-ext").args(args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(out, "", "{args:?}");
        assert!(err.starts_with("ERROR: "), "{args:?}: {err}");
    }
    for args in [
        &["state", "show", "-o", "xml"][..],
        &["state", "show", "../x"],
    ] {
        let (code, _, err) = run(s.cmd("kubectl-hpccache").args(args));
        assert_eq!(code, 2, "{args:?}: {err}");
    }
}

#[test]
fn deployment_name_error_names_the_flag() {
    let s = Scratch::new();
    let (_, _, err) =
        run(s
            .cmd("az-hpccache-ext")
            .args(["state", "show", "-n", "../../etc/passwd"]));
    assert!(err.contains("--name"), "{err}");
}

#[test]
fn output_format_is_case_insensitive() {
    let s = Scratch::new();
    s.write_state("MyHpcCache", &sample_state());
    let (code, out, _) = run(s
        .cmd("az-hpccache-ext")
        .args(["state", "show", "-o", "TSV", "--query", "cloud"]));
    assert_eq!((code, out.as_str()), (0, "AzureCloud\n"));
}

#[test]
fn kubectl_state_show_formats() {
    let s = Scratch::new();
    s.write_state("MyHpcCache", &sample_state());
    let (code, out, _) = run(s
        .cmd("kubectl-hpccache")
        .args(["state", "show", "-o", "name"]));
    assert_eq!(
        (code, out.as_str()),
        (0, "deployment.hpccache.azure.com/MyHpcCache\n")
    );
    let (code, out, _) =
        run(s
            .cmd("kubectl-hpccache")
            .args(["state", "show", "MyHpcCache", "-o", "json"]));
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["dns"]["fqdn"], "server.myhpccache.local");
    let (code, out, _) = run(s.cmd("kubectl-hpccache").args(["state", "show"]));
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_saphyr::from_str(&out).unwrap();
    assert_eq!(doc["cache"]["mountAddresses"][2], "10.225.0.6");
    let (code, out, _) = run(s
        .cmd("kubectl-hpccache")
        .args(["state", "show", "-o", "wide"]));
    assert_eq!(code, 0);
    insta::assert_snapshot!(out, @r"
    ROLE     WHERE   CREATED   ID
    cache    Azure   true      /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/MC_myResourceGroup_myAKSCluster_eastus/providers/Microsoft.StorageCache/caches/MyHpcCache
    subnet   Azure   true      /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/MC_myResourceGroup_myAKSCluster_eastus/providers/Microsoft.Network/virtualNetworks/aks-vnet-12345678/subnets/MyHpcCacheSubnet
    ");
}

#[test]
fn several_deployments_need_a_name() {
    let s = Scratch::new();
    s.write_state("A", &sample_state());
    s.write_state("B", &sample_state());
    let (code, _, err) = run(s.cmd("kubectl-hpccache").args(["state", "show"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("several deployments exist (A, B)"), "{err}");
}

#[test]
fn help_teaches_with_examples() {
    let s = Scratch::new();
    for (bin, args) in [
        ("az-hpccache-ext", &["--help"][..]),
        ("az-hpccache-ext", &["state", "show", "--help"]),
        ("az-hpccache-ext", &["state", "list", "--help"]),
        ("az-hpccache-ext", &["completion", "--help"]),
        ("kubectl-hpccache", &["--help"]),
        ("kubectl-hpccache", &["state", "show", "--help"]),
    ] {
        let (code, out, _) = run(s.cmd(bin).args(args));
        assert_eq!(code, 0, "{bin} {args:?}");
        assert!(
            out.contains("Examples:"),
            "{bin} {args:?} has no examples:\n{out}"
        );
    }
}

#[test]
fn help_snapshots() {
    let s = Scratch::new();
    let (_, az, _) = run(s.cmd("az-hpccache-ext").arg("--help"));
    insta::assert_snapshot!("az_help", az);
    let (_, kc, _) = run(s.cmd("kubectl-hpccache").arg("--help"));
    insta::assert_snapshot!("kubectl_help", kc);
}

#[test]
fn version_flags() {
    let s = Scratch::new();
    for bin in ["az-hpccache-ext", "kubectl-hpccache"] {
        let (code, out, _) = run(s.cmd(bin).arg("--version"));
        assert_eq!(code, 0);
        assert_eq!(out, format!("{bin} {}\n", env!("CARGO_PKG_VERSION")));
    }
}

#[test]
fn completions_and_man_pages() {
    let s = Scratch::new();
    for bin in ["az-hpccache-ext", "kubectl-hpccache"] {
        for shell in ["bash", "zsh", "fish", "powershell"] {
            let (code, out, _) = run(s.cmd(bin).args(["completion", shell]));
            assert_eq!(code, 0, "{bin} {shell}");
            assert!(
                out.contains("state"),
                "{bin} {shell} completion lacks subcommands"
            );
        }
        let (code, out, _) = run(s.cmd(bin).arg("man"));
        assert_eq!(code, 0);
        assert!(
            out.starts_with(".ie") || out.contains(".TH"),
            "{bin} man is not roff"
        );
    }
}
