//! `status` and `down` of a Managed Lustre deployment on the in-process sandbox: the filesystem
//! read live with health and drift; `down` archives a filesystem with blob integration before
//! deleting it, refuses one without unless `--delete-data`, keeps the storage unless asked,
//! and deletes the subnet last.

use std::process::{Command, Output};

use hpccache_tests::{AMLFS_UP, Scratch, is_write};
use serde_json::Value;

fn run(c: &mut Command) -> Output {
    c.output().expect("run az-hpccache-ext")
}

fn ok(c: &mut Command) -> Value {
    let out = run(c);
    assert!(
        out.status.success(),
        "exit {:?}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn take_log(s: &Scratch) -> Vec<Value> {
    let log = s.sandbox_requests();
    let _ = std::fs::remove_file(s.sandbox_log());
    log
}

/// `(METHOD, last path segment)` of each write, in order.
fn writes(log: &[Value]) -> Vec<(String, String)> {
    log.iter()
        .filter(|r| is_write(r))
        .map(|r| {
            let p = r["path"].as_str().unwrap_or_default();
            (
                r["method"].as_str().unwrap_or_default().to_owned(),
                p.rsplit('/').next().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn fs_count(s: &Scratch) -> usize {
    hpccache_tests::resource_counts(&s.load_world())
        .get("Microsoft.StorageCache/amlFilesystems")
        .copied()
        .unwrap_or(0)
}

#[test]
fn status_reads_the_filesystem_live_with_health_and_drift() {
    let s = Scratch::new();
    ok(s.az_sandbox().args(AMLFS_UP).args(["-o", "none"]));
    let rows = ok(s.az_sandbox().args(["status", "-n", "MyLustre"]));
    let fs = rows
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["role"] == "amlFilesystem")
        .expect("filesystem row")
        .clone();
    assert_eq!(fs["exists"], true);
    assert_eq!(fs["provisioningState"], "Succeeded");
    assert!(fs["health"].is_string(), "{fs}");
    assert_eq!(fs["drift"], serde_json::json!([]));

    // Root squash changed behind the deployment's back: status names it.
    ok(s.az_sandbox().args([
        "amlfs",
        "update",
        "-g",
        "myResourceGroup",
        "-n",
        "MyLustre",
        "--root-squash-mode",
        "All",
        "--squash-uid",
        "1000",
        "--squash-gid",
        "1000",
        "-o",
        "none",
    ]));
    let rows = ok(s.az_sandbox().args(["status", "-n", "MyLustre"]));
    let drift = rows
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["role"] == "amlFilesystem")
        .map(|r| r["drift"].to_string())
        .unwrap_or_default();
    assert!(drift.contains("root squash is All"), "{drift}");
}

#[test]
fn down_without_blob_integration_needs_delete_data_and_deletes_the_subnet_last() {
    let s = Scratch::new();
    ok(s.az_sandbox().args(AMLFS_UP).args(["-o", "none"]));
    take_log(&s);
    let out = run(s.az_sandbox().args(["down", "-n", "MyLustre", "--yes"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--delete-data") && err.contains("loses every file"),
        "{err}"
    );
    assert!(take_log(&s).is_empty(), "refused before any request");
    assert_eq!(fs_count(&s), 1);

    let report = ok(s
        .az_sandbox()
        .args(["down", "-n", "MyLustre", "--delete-data", "--yes"]));
    let w = writes(&take_log(&s));
    assert_eq!(
        w,
        [
            ("DELETE".to_owned(), "MyLustre".to_owned()),
            ("DELETE".to_owned(), "MyLustreSubnet".to_owned()),
        ],
        "filesystem, then the subnet"
    );
    assert_eq!(report["deleted"].as_array().map(Vec::len), Some(2));
    assert_eq!(fs_count(&s), 0);
    let st: Value =
        serde_json::from_str(&std::fs::read_to_string(s.state_file("MyLustre")).unwrap()).unwrap();
    assert_eq!(st["resources"], serde_json::json!({}));
    assert!(st.get("lustre").is_none());
}

#[test]
fn down_with_blob_integration_archives_first_and_keeps_the_data() {
    let s = Scratch::new();
    ok(s.az_sandbox_scaled("0.002")
        .args(AMLFS_UP)
        .args(["-o", "none"])
        .args(["--hsm-container", "lustredata"]));
    take_log(&s);
    let report = ok(s
        .az_sandbox_scaled("0.002")
        .args(["down", "-n", "MyLustre", "--yes"]));
    let log = take_log(&s);
    let w = writes(&log);
    let at = |m: &str, last: &str| {
        w.iter()
            .position(|(wm, wl)| wm == m && wl == last)
            .unwrap_or_else(|| panic!("no {m} {last} in {w:#?}"))
    };
    assert!(
        at("POST", "archive") < at("DELETE", "MyLustre"),
        "archived first: {w:#?}"
    );
    assert_eq!(
        at("DELETE", "MyLustreSubnet"),
        w.len() - 1,
        "subnet last: {w:#?}"
    );
    // The archive was followed to its end before the delete was sent.
    let archived_at = log
        .iter()
        .position(|r| {
            r["method"] == "POST" && r["path"].as_str().unwrap_or_default().ends_with("/archive")
        })
        .unwrap();
    let deleted_at = log
        .iter()
        .position(|r| {
            r["method"] == "DELETE"
                && r["path"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with("/MyLustre")
        })
        .unwrap();
    assert!(
        log[archived_at..deleted_at]
            .iter()
            .any(|r| r["method"] == "GET"),
        "polled the archive status"
    );
    assert!(
        !w.iter()
            .any(|(m, l)| m == "DELETE" && (l == "lustredata" || l == "amlfs-logging")),
        "containers kept without --delete-data: {w:#?}"
    );
    let kept = report["kept"].to_string();
    assert!(
        kept.contains("lustredata") && kept.contains("amlfs-logging"),
        "{kept}"
    );
    assert_eq!(fs_count(&s), 0);
    let counts = hpccache_tests::resource_counts(&s.load_world());
    assert_eq!(
        counts.get("Microsoft.Storage/storageAccounts"),
        Some(&1),
        "{counts:?}"
    );

    // Then the data too.
    ok(s.az_sandbox()
        .args(["down", "-n", "MyLustre", "--delete-data", "--yes"]));
    let counts = hpccache_tests::resource_counts(&s.load_world());
    assert_eq!(
        counts.get("Microsoft.Storage/storageAccounts"),
        None,
        "{counts:?}"
    );
}
