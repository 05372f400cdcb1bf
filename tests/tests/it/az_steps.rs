//! The guide's Azure steps, one step command at a time, against the in-process sandbox
//! (`--sandbox`): results, idempotent re-runs, az's error conventions and exit codes.

use std::process::{Command, Output};

use hpccache_tests::Scratch;
use serde_json::Value;

const RG: &str = "myResourceGroup";
const CLUSTER: &str = "myAKSCluster";
const CACHE: &str = "MyHpcCache";
const ACCOUNT: &str = "mystorageacct123";
const CONTAINER: &str = "mystoragecontainer";

fn run(cmd: &mut Command) -> (i32, String, String) {
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

/// Runs a step that must succeed and returns its stdout.
fn ok(s: &Scratch, args: &[&str]) -> String {
    let (code, out, err) = run(s.az_sandbox().args(args));
    assert_eq!(code, 0, "{args:?} failed: {err}");
    out
}

fn tsv(s: &Scratch, args: &[&str]) -> String {
    let mut a = args.to_vec();
    a.extend(["-o", "tsv"]);
    ok(s, &a).trim().to_owned()
}

/// Writes (anything but GET) logged since request number `from`.
fn writes_since(s: &Scratch, from: usize) -> Vec<String> {
    s.sandbox_requests()
        .iter()
        .skip(from)
        .filter(|r| r["method"] != "GET")
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// The guide up to a cache with its storage target and DNS records; returns the ids used.
struct Deployed {
    subnet: String,
    account: String,
    vnet: String,
}

fn deploy(s: &Scratch) -> Deployed {
    let vnet = tsv(
        s,
        &[
            "aks",
            "show-network",
            "-g",
            RG,
            "-n",
            CLUSTER,
            "--query",
            "vnet.id",
        ],
    );
    let subnet = tsv(
        s,
        &[
            "subnet",
            "create",
            "-g",
            RG,
            "--cluster",
            CLUSTER,
            "--query",
            "id",
        ],
    );
    ok(s, &["provider", "register"]);
    let state = tsv(
        s,
        &[
            "cache",
            "create",
            "-g",
            RG,
            "-n",
            CACHE,
            "--subnet",
            &subnet,
            "--no-wait",
            "--query",
            "provisioningState",
        ],
    );
    assert_ne!(
        state, "Succeeded",
        "--no-wait returns before the cache is ready"
    );
    ok(s, &["cache", "wait", "-g", RG, "-n", CACHE, "--created"]);
    let account = tsv(
        s,
        &[
            "storage", "account", "create", "-g", RG, "-n", ACCOUNT, "-l", "eastus", "--query",
            "id",
        ],
    );
    ok(
        s,
        &[
            "storage",
            "container",
            "create",
            "--account-name",
            ACCOUNT,
            "--name",
            CONTAINER,
            "-g",
            RG,
        ],
    );
    ok(s, &["role", "assign", "--storage-account", &account]);
    ok(
        s,
        &[
            "blob-storage-target",
            "add",
            "-g",
            RG,
            "--cache-name",
            CACHE,
            "-n",
            "MyStorageTarget",
            "--storage-account",
            &account,
            "--container-name",
            CONTAINER,
            "-v",
            "/myfilepath",
        ],
    );
    ok(
        s,
        &[
            "dns",
            "create",
            "-g",
            RG,
            "--zone-name",
            "myhpccache.local",
            "--vnet",
            &vnet,
            "--record-name",
            "server",
            "--cache-name",
            CACHE,
        ],
    );
    Deployed {
        subnet,
        account,
        vnet,
    }
}

#[test]
fn guide_steps_one_by_one_end_with_every_mount_address_in_dns() {
    let s = Scratch::new();
    deploy(&s);
    let addresses = ok(
        &s,
        &[
            "cache",
            "show",
            "-g",
            RG,
            "-n",
            CACHE,
            "--query",
            "mountAddresses",
            "-o",
            "tsv",
        ],
    );
    let addresses: Vec<&str> = addresses.lines().collect();
    assert!(addresses.len() >= 3, "{addresses:?}");
    let records = ok(
        &s,
        &[
            "dns",
            "show",
            "-g",
            RG,
            "--zone-name",
            "myhpccache.local",
            "--record-name",
            "server",
            "--query",
            "aRecords[].ipv4Address",
            "-o",
            "tsv",
        ],
    );
    let mut records: Vec<&str> = records.lines().collect();
    records.sort_unstable();
    let mut want = addresses.clone();
    want.sort_unstable();
    assert_eq!(records, want, "one A record set holds every mount address");
    let target = ok(
        &s,
        &[
            "storage-target",
            "show",
            "-g",
            RG,
            "--cache-name",
            CACHE,
            "-n",
            "MyStorageTarget",
        ],
    );
    let target: Value = serde_json::from_str(&target).unwrap();
    assert_eq!(target["targetType"], "clfs");
    assert_eq!(target["junctions"][0]["namespacePath"], "/myfilepath");
    assert_eq!(target["resourceGroup"], RG);
    assert!(
        s.world_file().is_file(),
        "the world is saved beside the state files"
    );
}

#[test]
fn every_step_rerun_on_a_finished_deployment_writes_nothing() {
    let s = Scratch::new();
    let d = deploy(&s);
    let before = s.sandbox_requests().len();
    ok(&s, &["subnet", "create", "-g", RG, "--cluster", CLUSTER]);
    ok(&s, &["provider", "register"]);
    ok(
        &s,
        &[
            "cache", "create", "-g", RG, "-n", CACHE, "--subnet", &d.subnet,
        ],
    );
    ok(
        &s,
        &[
            "storage", "account", "create", "-g", RG, "-n", ACCOUNT, "-l", "eastus",
        ],
    );
    let created = ok(
        &s,
        &[
            "storage",
            "container",
            "create",
            "--account-name",
            ACCOUNT,
            "--name",
            CONTAINER,
        ],
    );
    assert_eq!(
        serde_json::from_str::<Value>(&created).unwrap()["created"],
        false
    );
    ok(&s, &["role", "assign", "--storage-account", &d.account]);
    ok(
        &s,
        &[
            "blob-storage-target",
            "add",
            "-g",
            RG,
            "--cache-name",
            CACHE,
            "-n",
            "MyStorageTarget",
            "--storage-account",
            ACCOUNT,
            "--container-name",
            CONTAINER,
            "-v",
            "/myfilepath",
        ],
    );
    ok(
        &s,
        &[
            "dns",
            "create",
            "-g",
            RG,
            "--zone-name",
            "myhpccache.local",
            "--vnet",
            &d.vnet,
            "--cache-name",
            CACHE,
        ],
    );
    assert_eq!(writes_since(&s, before), Vec::<String>::new());
}

/// `cache create` over an existing cache runs `up`'s converge (issue 15): a fixed setting that
/// differs is bad input naming the flag with nothing sent; a root squash not asked is kept;
/// root squash and tags asked are one PATCH, not a PUT of the whole cache.
#[test]
fn cache_create_over_an_existing_cache_converges_as_up_does() {
    let s = Scratch::new();
    let subnet = tsv(
        &s,
        &[
            "subnet",
            "create",
            "-g",
            RG,
            "--cluster",
            CLUSTER,
            "--query",
            "id",
        ],
    );
    ok(&s, &["provider", "register"]);
    let create = [
        "cache",
        "create",
        "-g",
        RG,
        "-n",
        CACHE,
        "--subnet",
        subnet.as_str(),
    ];
    ok(&s, &[&create[..], &["--root-squash"]].concat());

    let before = s.sandbox_requests().len();
    let (code, out, err) = run(s
        .az_sandbox()
        .args(create)
        .args(["--cache-size-gb", "6144"]));
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("--cache-size-gb"), "{err}");
    assert_eq!(writes_since(&s, before), Vec::<String>::new());

    // Neither --root-squash nor --no-root-squash: the cache keeps what it has.
    ok(&s, &create);
    assert_eq!(writes_since(&s, before), Vec::<String>::new());

    let changed: Value = serde_json::from_str(&ok(
        &s,
        &[&create[..], &["--no-root-squash", "--tags", "team=hpc"]].concat(),
    ))
    .unwrap();
    let writes = writes_since(&s, before);
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(
        writes[0].starts_with("PATCH ") && writes[0].ends_with(&format!("/caches/{CACHE}")),
        "{writes:?}"
    );
    let shown: Value =
        serde_json::from_str(&ok(&s, &["cache", "show", "-g", RG, "-n", CACHE])).unwrap();
    for v in [&changed, &shown] {
        assert_eq!(
            v["securitySettings"]["accessPolicies"][0]["accessRules"][0]["rootSquash"],
            false
        );
        assert_eq!(v["tags"]["team"], "hpc");
    }
    // The PATCH is Caches_Update's body.
    let (checked, problems) = hpccache_tests::spec_body_violations(&s.sandbox_requests());
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(checked >= 3, "only {checked} bodies checked");
}

/// `up` again with another cache size: the same check as `cache create`'s, in up's own flag
/// (exit 2; it was a lookup error, exit 1), and nothing written.
#[test]
fn up_with_another_cache_size_is_bad_input_naming_the_flag() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    let before = s.sandbox_requests().len();
    let (code, out, err) = run(s.az_sandbox().args(hpccache_tests::GUIDE_UP).args([
        "--cache-size-gb",
        "6144",
        "-o",
        "json",
    ]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("--cache-size-gb"), "{err}");
    assert_eq!(writes_since(&s, before), Vec::<String>::new());
}

/// A storage target still being created is waited for, as `up` does (issue 15: the command
/// returned it unfinished as if added), and not written again.
#[test]
fn blob_target_add_waits_for_a_target_being_created_without_a_second_put() {
    let s = Scratch::new();
    let d = deploy(&s);
    let add = [
        "blob-storage-target",
        "add",
        "-g",
        RG,
        "--cache-name",
        CACHE,
        "-n",
        "Second",
        "--storage-account",
        d.account.as_str(),
        "--container-name",
        CONTAINER,
        "-v",
        "/second",
    ];
    // The creation takes 3 minutes of Azure time, 9 s at this scale: the next command starts
    // long before it ends.
    let slow = |args: &[&str]| {
        let (code, out, err) = run(s.az_sandbox_scaled("0.05").args(args));
        assert_eq!(code, 0, "{args:?} failed: {err}");
        serde_json::from_str::<Value>(&out).expect("JSON")
    };
    let started = slow(&[&add[..], &["--no-wait"]].concat());
    assert_ne!(started["provisioningState"], "Succeeded", "{started}");
    let before = s.sandbox_requests().len();
    let done = slow(&add);
    assert_eq!(writes_since(&s, before), Vec::<String>::new());
    assert_eq!(done["provisioningState"], "Succeeded", "{done}");
    assert_eq!(done["junctions"][0]["namespacePath"], "/second");
}

#[test]
fn subnet_create_keeps_an_existing_subnet_and_never_overlaps() {
    let s = Scratch::new();
    let first = ok(
        &s,
        &[
            "subnet",
            "create",
            "-g",
            RG,
            "--cluster",
            CLUSTER,
            "--query",
            "addressPrefix",
            "-o",
            "tsv",
        ],
    );
    let second = ok(
        &s,
        &[
            "subnet",
            "create",
            "-g",
            RG,
            "--cluster",
            CLUSTER,
            "--name",
            "Second",
            "--query",
            "addressPrefix",
            "-o",
            "tsv",
        ],
    );
    assert_ne!(first, second);
    let (code, _, err) = run(s.az_sandbox().args([
        "subnet",
        "create",
        "-g",
        RG,
        "--cluster",
        CLUSTER,
        "--subnet-prefix",
        "10.224.0.0/24",
        "--name",
        "Third",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("ERROR: --subnet-prefix"), "{err}");
}

#[test]
fn a_bad_name_exits_2_naming_the_flag_and_touches_no_world() {
    let s = Scratch::new();
    let (code, out, err) = run(s.az_sandbox().args([
        "cache", "create", "-g", RG, "-n", "bad name!", "--subnet",
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s",
    ]));
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.starts_with("ERROR: --name"), "{err}");
    assert!(
        !s.world_file().exists(),
        "nothing is started or written for bad input"
    );
    assert!(s.sandbox_requests().is_empty());

    let (code, _, err) = run(s.az_sandbox().args([
        "cache",
        "create",
        "-g",
        RG,
        "-n",
        CACHE,
        "--subnet",
        "not-an-id",
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("--subnet"), "{err}");
    let (code, _, err) = run(s.az_sandbox().args([
        "blob-storage-target",
        "add",
        "-g",
        RG,
        "--cache-name",
        CACHE,
        "-n",
        "t",
        "--storage-account",
        ACCOUNT,
        "--container-name",
        CONTAINER,
        "-v",
        "relative",
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("--virtual-namespace-path"), "{err}");
    assert!(!s.world_file().exists());
}

#[test]
fn show_of_a_missing_cache_exits_3_with_the_arm_error() {
    let s = Scratch::new();
    let (code, out, err) =
        run(s
            .az_sandbox()
            .args(["cache", "show", "-g", RG, "-n", "NoSuchCache"]));
    assert_eq!((code, out.as_str()), (3, ""));
    assert!(err.starts_with("ERROR: (ResourceNotFound) "), "{err}");
    let (code, _, _) = run(s.az_sandbox().args([
        "storage-target",
        "show",
        "-g",
        RG,
        "--cache-name",
        "NoSuchCache",
        "-n",
        "t",
    ]));
    assert_eq!(code, 3);
}

#[test]
fn a_failed_cache_creation_prints_code_and_message_and_exits_1() {
    let s = Scratch::new();
    let subnet = tsv(
        &s,
        &[
            "subnet",
            "create",
            "-g",
            RG,
            "--cluster",
            CLUSTER,
            "--query",
            "id",
        ],
    );
    ok(&s, &["provider", "register"]);
    let (code, out, err) = run(s
        .az_sandbox()
        .env(
            "HPCCACHE_SANDBOX_FAULTS",
            "fail-cache-create=AscInternalError",
        )
        .args([
            "cache",
            "create",
            "-g",
            RG,
            "-n",
            CACHE,
            "--subnet",
            &subnet,
            "--only-show-errors",
        ]));
    assert_eq!((code, out.as_str()), (1, ""));
    let first = err.lines().next().unwrap_or_default();
    assert!(first.starts_with("ERROR: (AscInternalError) "), "{err}");
}

#[test]
fn cache_delete_without_a_tty_needs_yes() {
    let s = Scratch::new();
    let (code, _, err) = run(s
        .az_sandbox()
        .args(["cache", "delete", "-g", RG, "-n", CACHE]));
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "ERROR: Unable to prompt for confirmation as no tty available. Use --yes.\n"
    );
    assert!(s.sandbox_requests().is_empty());
    // With --yes, deleting what is not there is a no-op success, as az does.
    let (code, out, err) = run(s
        .az_sandbox()
        .args(["cache", "delete", "-g", RG, "-n", CACHE, "--yes"]));
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
}

#[test]
fn cache_lifecycle_flush_stop_start_delete_wait() {
    let s = Scratch::new();
    let d = deploy(&s);
    let _ = d;
    ok(&s, &["cache", "flush", "-g", RG, "-n", CACHE]);
    ok(&s, &["cache", "stop", "-g", RG, "-n", CACHE]);
    ok(&s, &["cache", "start", "-g", RG, "-n", CACHE]);
    let list = ok(
        &s,
        &[
            "storage-target",
            "list",
            "-g",
            RG,
            "--cache-name",
            CACHE,
            "--query",
            "[].name",
            "-o",
            "tsv",
        ],
    );
    assert_eq!(list, "MyStorageTarget\n");
    ok(
        &s,
        &[
            "storage-target",
            "remove",
            "-g",
            RG,
            "--cache-name",
            CACHE,
            "-n",
            "MyStorageTarget",
        ],
    );
    ok(
        &s,
        &[
            "cache",
            "delete",
            "-g",
            RG,
            "-n",
            CACHE,
            "--yes",
            "--no-wait",
        ],
    );
    ok(&s, &["cache", "wait", "-g", RG, "-n", CACHE, "--deleted"]);
    let (code, _, _) = run(s
        .az_sandbox()
        .args(["cache", "show", "-g", RG, "-n", CACHE]));
    assert_eq!(code, 3);
}

#[test]
fn debug_logs_requests_without_the_token() {
    let s = Scratch::new();
    let secret = "s3cr3t-t0ken-never-printed";
    let (code, _, err) = run(s.az_sandbox().env("HPCCACHE_ACCESS_TOKEN", secret).args([
        "aks",
        "show-network",
        "-g",
        RG,
        "-n",
        CLUSTER,
        "--debug",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("DEBUG: "), "--debug logs the requests: {err}");
    assert!(err.contains("managedClusters/myAKSCluster"), "{err}");
    assert!(!err.contains(secret), "the token leaked into the debug log");
}

#[test]
fn skus_and_usage_models_list_as_arrays() {
    let s = Scratch::new();
    let skus: Value = serde_json::from_str(&ok(&s, &["skus", "list"])).unwrap();
    assert!(skus.as_array().is_some_and(|a| !a.is_empty()));
    let models: Value = serde_json::from_str(&ok(&s, &["usage-model", "list"])).unwrap();
    assert!(models.as_array().is_some_and(|a| !a.is_empty()));
}

#[test]
fn storage_account_check_name_answers_locally_for_a_malformed_name() {
    let s = Scratch::new();
    let out = ok(
        &s,
        &[
            "storage",
            "account",
            "check-name",
            "-n",
            "Bad_Name",
            "--query",
            "nameAvailable",
        ],
    );
    assert_eq!(out, "false\n");
    assert!(s.sandbox_requests().is_empty());
    let out = ok(
        &s,
        &[
            "storage",
            "account",
            "check-name",
            "-n",
            ACCOUNT,
            "--query",
            "nameAvailable",
        ],
    );
    assert_eq!(out, "true\n");
}

/// Pins what a user sees; ids and addresses that vary are redacted.
#[test]
fn snapshots_of_step_outputs() {
    let s = Scratch::new();
    deploy(&s);
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[GUID]",
    );
    settings.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?", "[TIME]");
    settings.add_filter(r#""etag": "[^"]*""#, r#""etag": "[ETAG]""#);
    settings.bind(|| {
        insta::assert_snapshot!("aks_show_network", ok(&s, &["aks", "show-network", "-g", RG, "-n", CLUSTER]));
        insta::assert_snapshot!("dns_show_table", ok(&s, &["dns", "show", "-g", RG, "--zone-name", "myhpccache.local", "--record-name", "server", "-o", "table"]));
        insta::assert_snapshot!("cache_show_query", ok(&s, &["cache", "show", "-g", RG, "-n", CACHE, "--query", "{name:name, sku:sku.name, size:cacheSizeGB, state:provisioningState, group:resourceGroup}", "-o", "table"]));
    });
}
