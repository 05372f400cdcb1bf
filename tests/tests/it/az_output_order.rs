//! Issue 16, item 2: `-o tsv` prints a row's values in the key order `-o json` prints the same
//! result in (az writes a command result's TSV in sorted-key order, and its JSON with sorted
//! keys): `cache list -o tsv` put `id` first while `-o json` starts with `cacheSizeGB`.
//!
//! Every read-only command (`list`, `show`, `show-*`, `check-name`, `status`) runs against the
//! sandbox after `up`, once with `-o json` and once with `-o tsv`; the expected TSV is derived
//! from the JSON here (az's TSV rules: a nested object is an empty field, a list its length,
//! null `None`, booleans `True`/`False`), never written by hand. The commands are found in
//! the binary's own `--help`, so a new one cannot be left out.

use std::collections::BTreeSet;

use hpccache_tests::{GUIDE_UP, Scratch};
use serde_json::Value;

const CACHE: &str = "MyHpcCache";
const TARGET: &str = "MyStorageTarget";

/// Commands that only read, as the help names them (`cache list`, `aks show-network`).
fn is_read_only(path: &str) -> bool {
    let leaf = path.rsplit(' ').next().unwrap_or(path);
    path == "status"
        || leaf == "list"
        || leaf == "show"
        || leaf.starts_with("show-")
        || leaf == "check-name"
}

/// The subcommand names of a clap help text's `Commands:` section.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // Names start two spaces in; wrapped descriptions are indented further.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command path of az-hpccache-ext, from its help.
fn all_commands(s: &Scratch) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = todo.pop() {
        let o = s
            .cmd("az-hpccache-ext")
            .args(&path)
            .arg("--help")
            .output()
            .expect("help runs");
        let subs = subcommands(&String::from_utf8_lossy(&o.stdout));
        if subs.is_empty() && !path.is_empty() {
            out.push(path.join(" "));
        }
        for sub in subs {
            let mut p = path.clone();
            p.push(sub);
            todo.push(p);
        }
    }
    out
}

fn stdout(s: &Scratch, args: &[&str], format: &str) -> String {
    let o = s
        .az_sandbox()
        .args(args)
        .args(["-o", format])
        .output()
        .expect("az-hpccache-ext runs");
    assert!(
        o.status.success(),
        "{args:?} -o {format}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8")
}

/// A JSON value as a TSV field.
fn field(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.len().to_string(),
        Value::Object(_) => String::new(),
    }
}

/// One TSV line for an item: an object's values in the order the JSON printed its keys.
fn row(item: &Value) -> String {
    match item {
        Value::Object(map) => map.values().map(field).collect::<Vec<_>>().join("\t"),
        Value::Array(values) => values.iter().map(field).collect::<Vec<_>>().join("\t"),
        Value::Bool(b) => b.to_string(),
        other => field(other),
    }
}

/// The TSV az writes for the result `-o json` printed (serde_json keeps the printed order).
fn expected_tsv(json: &str) -> String {
    let v: Value = serde_json::from_str(json).expect("-o json is JSON");
    let rows: Vec<String> = match &v {
        Value::Array(items) => items.iter().map(row).collect(),
        other => vec![row(other)],
    };
    rows.iter().map(|r| format!("{r}\n")).collect()
}

#[test]
fn every_list_and_show_command_prints_tsv_in_the_json_key_order() {
    let s = Scratch::new();
    let up = s
        .az_sandbox()
        .args(GUIDE_UP)
        .args(["-o", "json"])
        .output()
        .expect("up");
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let summary: Value = serde_json::from_slice(&up.stdout).expect("up prints JSON");
    let id = |key: &str| {
        summary
            .pointer(&format!("/resources/{key}"))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no {key} in the summary: {summary:#}"))
            .to_owned()
    };
    let cache = id("cache");
    let rg = hpccache_tests::resource_group_of(&cache)
        .expect("resource group")
        .to_owned();
    let rg = rg.as_str();
    // The deployment's private zone: its cache's name is `server.` in it.
    let fqdn = summary["fqdn"].as_str().expect("up's summary has the fqdn");
    let zone = fqdn.strip_prefix("server.").expect("server.ZONE");
    // A Managed Lustre deployment beside it, with blob integration and an import job.
    for args in [
        &[
            "up",
            "--backend",
            "amlfs",
            "-g",
            "myResourceGroup",
            "--cluster",
            "myAKSCluster",
            "-n",
            "MyLustre",
            "--hsm-container",
            "lustredata",
            "-o",
            "none",
        ][..],
        &[
            "amlfs",
            "import-job",
            "create",
            "-g",
            rg,
            "--aml-filesystem-name",
            "MyLustre",
            "-n",
            "import1",
            "-o",
            "none",
        ],
    ] {
        let out = s.az_sandbox().args(args).output().expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("status", vec!["status", "-n", CACHE]),
        ("state show", vec!["state", "show", "-d", CACHE]),
        ("state list", vec!["state", "list"]),
        (
            "aks show-network",
            vec![
                "aks",
                "show-network",
                "-g",
                "myResourceGroup",
                "-n",
                "myAKSCluster",
            ],
        ),
        ("cache show", vec!["cache", "show", "-g", rg, "-n", CACHE]),
        ("cache list", vec!["cache", "list", "-g", rg]),
        ("cache list", vec!["cache", "list"]),
        (
            "storage-target list",
            vec!["storage-target", "list", "-g", rg, "--cache-name", CACHE],
        ),
        (
            "storage-target show",
            vec![
                "storage-target",
                "show",
                "-g",
                rg,
                "--cache-name",
                CACHE,
                "-n",
                TARGET,
            ],
        ),
        (
            "dns show",
            vec!["dns", "show", "-g", rg, "--zone-name", zone],
        ),
        (
            "dns show",
            vec![
                "dns",
                "show",
                "-g",
                rg,
                "--zone-name",
                zone,
                "--record-name",
                "server",
            ],
        ),
        (
            "amlfs show",
            vec!["amlfs", "show", "-g", rg, "-n", "MyLustre"],
        ),
        ("amlfs list", vec!["amlfs", "list"]),
        (
            "amlfs import-job show",
            vec![
                "amlfs",
                "import-job",
                "show",
                "-g",
                rg,
                "--aml-filesystem-name",
                "MyLustre",
                "-n",
                "import1",
            ],
        ),
        (
            "amlfs import-job list",
            vec![
                "amlfs",
                "import-job",
                "list",
                "-g",
                rg,
                "--aml-filesystem-name",
                "MyLustre",
            ],
        ),
        ("skus list", vec!["skus", "list"]),
        ("usage-model list", vec!["usage-model", "list"]),
        (
            "storage account check-name",
            vec![
                "storage",
                "account",
                "check-name",
                "-n",
                "hpccachefreename1",
            ],
        ),
    ];

    let covered: BTreeSet<&str> = cases.iter().map(|(name, _)| *name).collect();
    let read_only: BTreeSet<String> = all_commands(&s)
        .into_iter()
        .filter(|c| is_read_only(c))
        .collect();
    let read_only: BTreeSet<&str> = read_only.iter().map(String::as_str).collect();
    assert_eq!(
        covered, read_only,
        "every read-only command of az-hpccache-ext --help is checked here"
    );

    let mut checked = 0;
    for (name, args) in &cases {
        let json = stdout(&s, args, "json");
        let tsv = stdout(&s, args, "tsv");
        assert_eq!(
            tsv,
            expected_tsv(&json),
            "{name} ({args:?}): -o tsv is not -o json's values in its key order\njson: {json}"
        );
        // A check that cannot fail teaches nothing: rows with several fields were compared.
        checked += usize::from(tsv.lines().any(|l| l.contains('\t')));
    }
    assert!(
        checked >= cases.len() - 2,
        "only {checked} multi-field results"
    );
}
