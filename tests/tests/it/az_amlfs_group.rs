//! The `az-hpccache-ext amlfs` group against the in-process sandbox: az's output shapes and
//! exit codes, one create PUT, create-only values refused by flag, and the help (snapshots).

use std::process::{Command, Output};

use hpccache_tests::{Scratch, is_write, spec_body_violations};
use serde_json::Value;

const RG: &str = "MC_myResourceGroup_myAKSCluster_eastus";

fn run(c: &mut Command) -> Output {
    c.output().expect("run az-hpccache-ext")
}

fn ok(c: &mut Command) -> String {
    let out = run(c);
    assert!(
        out.status.success(),
        "exit {:?}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn take_log(s: &Scratch) -> Vec<Value> {
    let log = s.sandbox_requests();
    let _ = std::fs::remove_file(s.sandbox_log());
    log
}

fn writes(log: &[Value]) -> Vec<String> {
    log.iter()
        .filter(|r| is_write(r))
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn amlfs(s: &Scratch, args: &[&str]) -> Command {
    let mut c = s.az_sandbox();
    c.arg("amlfs").args(args);
    c
}

#[test]
fn create_show_list_update_delete_as_az_amlfs() {
    let s = Scratch::new();
    let subnet = ok(s.az_sandbox().args([
        "subnet",
        "create",
        "-g",
        "myResourceGroup",
        "--cluster",
        "myAKSCluster",
        "-n",
        "LustreSubnet",
        "--query",
        "id",
        "-o",
        "tsv",
    ]));
    let subnet = subnet.trim().to_owned();
    ok(s.az_sandbox().args(["provider", "register", "-o", "none"]));
    take_log(&s);

    // Bad input: exit 2 and nothing sent.
    for (args, flag) in [
        (
            vec![
                "--sku",
                "AMLFS-Durable-Premium-1",
                "--storage-capacity",
                "4",
            ],
            "--sku",
        ),
        (
            vec![
                "--sku",
                "AMLFS-Durable-Premium-125",
                "--storage-capacity",
                "8",
            ],
            "--storage-capacity",
        ),
        (
            vec![
                "--sku",
                "AMLFS-Durable-Premium-500",
                "--storage-capacity",
                "4",
                "--zones",
                "9",
            ],
            "--zones",
        ),
    ] {
        let out = run(amlfs(
            &s,
            &[
                "create",
                "-g",
                RG,
                "-n",
                "fs1",
                "--filesystem-subnet",
                &subnet,
            ],
        )
        .args(&args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(flag),
            "{args:?}"
        );
        assert!(take_log(&s).is_empty(), "{args:?} sent requests");
    }

    let create = [
        "create",
        "-g",
        RG,
        "-n",
        "fs1",
        "--sku",
        "AMLFS-Durable-Premium-500",
        "--storage-capacity",
        "4",
        "--filesystem-subnet",
        &subnet,
        "--maintenance-window",
        "Sunday,02:00",
    ];
    let shown: Value = serde_json::from_str(&ok(&mut amlfs(&s, &create))).expect("json");
    assert_eq!(shown["name"], "fs1");
    assert_eq!(
        shown["provisioningState"], "Succeeded",
        "properties are flattened as az does"
    );
    assert_eq!(shown["resourceGroup"], RG);
    assert!(shown["clientInfo"]["mgsAddress"].is_string());
    let log = take_log(&s);
    let w = writes(&log);
    assert_eq!(
        w.iter()
            .filter(|w| w.starts_with("PUT") && w.ends_with("/amlFilesystems/fs1"))
            .count(),
        1,
        "{w:#?}"
    );
    let (_, problems) = spec_body_violations(&log);
    assert!(problems.is_empty(), "{problems:#?}");

    // The same create again: nothing changes (checkAmlFSSubnets is asked only before a create).
    ok(amlfs(&s, &create).args(["-o", "none"]));
    assert!(writes(&take_log(&s)).is_empty());
    // A create-only value that differs: exit 2 naming the flag, nothing sent to change it.
    let mut other = create.to_vec();
    other[8] = "8";
    let out = run(&mut amlfs(&s, &other));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--storage-capacity"));
    assert!(writes(&take_log(&s)).is_empty());

    assert_eq!(
        ok(&mut amlfs(
            &s,
            &[
                "show",
                "-g",
                RG,
                "-n",
                "fs1",
                "--query",
                "clientInfo.mgsAddress",
                "-o",
                "tsv"
            ]
        ))
        .trim(),
        shown["clientInfo"]["mgsAddress"].as_str().unwrap()
    );
    let missing = run(&mut amlfs(&s, &["show", "-g", RG, "-n", "nope"]));
    assert_eq!(missing.status.code(), Some(3), "not found is exit 3");
    let list: Value = serde_json::from_str(&ok(&mut amlfs(&s, &["list"]))).expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(
        ok(&mut amlfs(
            &s,
            &["list", "-g", RG, "--query", "[].name", "-o", "tsv"]
        )),
        "fs1\n"
    );

    let updated: Value = serde_json::from_str(&ok(&mut amlfs(
        &s,
        &[
            "update",
            "-g",
            RG,
            "-n",
            "fs1",
            "--maintenance-window",
            "Mon,01:00",
            "--root-squash-mode",
            "RootOnly",
            "--squash-uid",
            "65534",
            "--squash-gid",
            "65534",
        ],
    )))
    .expect("json");
    assert_eq!(updated["maintenanceWindow"]["dayOfWeek"], "Monday");
    assert_eq!(updated["rootSquashSettings"]["mode"], "RootOnly");
    let w = writes(&take_log(&s));
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(w[0].starts_with("PATCH"));
    // update with nothing to change is an argument error.
    assert_eq!(
        run(&mut amlfs(&s, &["update", "-g", RG, "-n", "fs1"]))
            .status
            .code(),
        Some(2)
    );

    let size: Value = serde_json::from_str(&ok(&mut amlfs(
        &s,
        &[
            "get-subnets-size",
            "--sku",
            "AMLFS-Durable-Premium-500",
            "--storage-capacity",
            "4",
        ],
    )))
    .expect("json");
    assert!(
        size["filesystemSubnetSize"]
            .as_u64()
            .is_some_and(|n| n >= 24),
        "{size}"
    );
    // fs1 holds the subnet now: the service says it will not do.
    let out = run(&mut amlfs(
        &s,
        &[
            "check-subnet",
            "--filesystem-subnet",
            &subnet,
            "--sku",
            "AMLFS-Durable-Premium-500",
            "--storage-capacity",
            "4",
            "-l",
            "eastus",
        ],
    ));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Archive needs blob integration: the service's error, exit 1.
    assert_eq!(
        run(&mut amlfs(&s, &["archive", "-g", RG, "-n", "fs1"]))
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        ok(&mut amlfs(
            &s,
            &[
                "import-job",
                "list",
                "-g",
                RG,
                "--aml-filesystem-name",
                "fs1"
            ]
        )),
        "[]\n"
    );

    // No terminal and no --yes: refused as az refuses (an argument error here).
    assert_eq!(
        run(&mut amlfs(&s, &["delete", "-g", RG, "-n", "fs1"]))
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        ok(&mut amlfs(&s, &["delete", "-g", RG, "-n", "fs1", "--yes"])),
        ""
    );
    ok(&mut amlfs(
        &s,
        &["wait", "-g", RG, "-n", "fs1", "--deleted"],
    ));
    assert_eq!(
        run(&mut amlfs(&s, &["show", "-g", RG, "-n", "fs1"]))
            .status
            .code(),
        Some(3)
    );
    // Deleting what is gone is fine, as in az.
    ok(&mut amlfs(&s, &["delete", "-g", RG, "-n", "fs1", "--yes"]));
}

#[test]
fn help_snapshots() {
    let s = Scratch::new();
    for (name, args) in [
        ("amlfs_help", &["amlfs", "--help"][..]),
        ("amlfs_create_help", &["amlfs", "create", "--help"]),
        ("amlfs_import_job_help", &["amlfs", "import-job", "--help"]),
        ("up_help", &["up", "--help"]),
    ] {
        let out = ok(s.cmd("az-hpccache-ext").args(args));
        insta::assert_snapshot!(name, out);
    }
    // Every command of the group teaches with examples.
    for cmd in [
        "create",
        "show",
        "list",
        "update",
        "delete",
        "wait",
        "archive",
        "cancel-archive",
        "check-subnet",
        "get-subnets-size",
    ] {
        let out = ok(s.cmd("az-hpccache-ext").args(["amlfs", cmd, "--help"]));
        assert!(out.contains("Examples:"), "amlfs {cmd}");
    }
    for cmd in ["create", "show", "list", "delete"] {
        let out = ok(s
            .cmd("az-hpccache-ext")
            .args(["amlfs", "import-job", cmd, "--help"]));
        assert!(out.contains("Examples:"), "amlfs import-job {cmd}");
    }
}
