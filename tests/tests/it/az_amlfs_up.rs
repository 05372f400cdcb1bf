//! `az-hpccache-ext up --backend amlfs` on the in-process sandbox: the Managed Lustre plan
//! (cluster → provider → subnet sized by getRequiredAmlFSSubnetsSize → checked filesystem
//! create), its state, a second run that writes nothing, bad input that sends nothing, blob
//! integration, --dry-run, --no-wait and a refused create.

use std::process::{Command, Output};

use hpccache_tests::{AMLFS_UP as UP, Scratch, is_write, spec_body_violations};
use serde_json::Value;

fn run(c: &mut Command) -> Output {
    c.output().expect("run az-hpccache-ext")
}

fn ok(c: &mut Command) -> Output {
    let out = run(c);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("json on stdout")
}

/// The logged requests since the last call (the log is emptied).
fn take_log(s: &Scratch) -> Vec<Value> {
    let log = s.sandbox_requests();
    let _ = std::fs::remove_file(s.sandbox_log());
    log
}

fn count(log: &[Value], method: &str, path_end: &str) -> usize {
    log.iter()
        .filter(|r| {
            r["method"] == method
                && r["path"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_lowercase()
                    .ends_with(&path_end.to_ascii_lowercase())
        })
        .count()
}

fn state(s: &Scratch) -> Value {
    let text = std::fs::read_to_string(s.state_file("MyLustre")).expect("state file");
    serde_json::from_str(&text).expect("state json")
}

#[test]
fn up_creates_the_filesystem_with_one_put_and_a_second_up_writes_nothing() {
    let s = Scratch::new();
    let out = ok(s.az_sandbox().args(UP));
    let summary = json(&out);
    let log = take_log(&s);
    assert_eq!(
        count(&log, "PUT", "/amlFilesystems/MyLustre"),
        1,
        "one create PUT, followed by polling"
    );
    assert_eq!(count(&log, "POST", "/getRequiredAmlFSSubnetsSize"), 1);
    assert_eq!(count(&log, "POST", "/checkAmlFSSubnets"), 1);
    assert_eq!(count(&log, "PUT", "/subnets/MyLustreSubnet"), 1);
    // No storage without --hsm-container, no DNS, no cache.
    for never in ["storageAccounts", "privateDnsZones", "/caches/"] {
        assert!(
            !log.iter()
                .any(|r| is_write(r) && r["path"].as_str().unwrap_or_default().contains(never)),
            "wrote {never}"
        );
    }
    let (checked, problems) = spec_body_violations(&log);
    assert!(checked >= 4, "{checked} bodies checked");
    assert!(problems.is_empty(), "{problems:#?}");
    // The check comes before the create.
    let pos = |m: &str, p: &str| {
        log.iter()
            .position(|r| r["method"] == m && r["path"].as_str().unwrap_or_default().ends_with(p))
            .expect("request")
    };
    assert!(
        pos("POST", "/checkAmlFSSubnets") < pos("PUT", "/amlFilesystems/MyLustre"),
        "subnet checked before the create"
    );

    let st = state(&s);
    assert_eq!(st["backend"], "amlfs");
    assert_eq!(st["resources"]["amlFilesystem"]["created"], true);
    assert_eq!(st["resources"]["subnet"]["created"], true);
    assert!(st["resources"].get("cache").is_none());
    let lustre = &st["lustre"];
    assert_eq!(lustre["filesystemName"], "lustrefs");
    assert_eq!(lustre["sku"], "AMLFS-Durable-Premium-500");
    assert_eq!(lustre["storageCapacityTib"], 4);
    assert_eq!(lustre["rootSquashMode"], "None");
    assert_eq!(lustre["hsm"], false);
    let mgs = lustre["mgsAddress"].as_str().expect("mgs address");
    assert!(mgs.parse::<std::net::Ipv4Addr>().is_ok(), "{mgs}");
    assert_eq!(summary["mountAddresses"][0], mgs);
    assert_eq!(summary["lustre"]["mgsAddress"], mgs);

    // The same command again (backend from the state file): reads only.
    ok(s.az_sandbox()
        .args(&UP[..1])
        .args(&UP[3..])
        .args(["-o", "none"]));
    let log = take_log(&s);
    let writes: Vec<&Value> = log.iter().filter(|r| is_write(r)).collect();
    assert!(writes.is_empty(), "second up wrote: {writes:#?}");
    assert_eq!(state(&s)["lustre"], st["lustre"]);
}

#[test]
fn bad_input_is_refused_before_any_request() {
    let s = Scratch::new();
    let cases: &[(&[&str], &str)] = &[
        (&["--sku", "AMLFS-Durable-Premium-1000"], "--sku"),
        (&["--capacity-tib", "6"], "--capacity-tib"),
        (
            &["--sku", "AMLFS-Durable-Premium-40", "--capacity-tib", "16"],
            "--capacity-tib",
        ),
        (&["--zone", "4"], "--zone"),
        (
            &["--maintenance-window", "Sunday,25:00"],
            "--maintenance-window",
        ),
        (&["--subnet-size", "/27"], "--subnet-size"),
        (&["--subnet-prefix", "10.300.0.0/24"], "--subnet-prefix"),
        (&["--root-squash-mode", "RootOnly"], "--squash-uid"),
        (&["--hsm-container", "Bad_Name"], "--hsm-container"),
        (&["--storage-account", "acct123"], "--storage-account"),
        // Flags of the other backend.
        (&["--cache-size-gb", "3072"], "--cache-size-gb"),
        (&["--dns-zone", "x.internal"], "--dns-zone"),
        (&["-v", "/data"], "--virtual-namespace-path"),
        (&["--owner", "1000:1000"], "--owner"),
    ];
    for (extra, flag) in cases {
        let out = run(s.az_sandbox().args(UP).args(*extra));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(flag), "{extra:?} should name {flag}: {err}");
        assert!(take_log(&s).is_empty(), "{extra:?} sent requests");
    }
    // amlfs flags with an HPC Cache deployment.
    let out = run(s
        .az_sandbox()
        .args(["up", "--backend", "hpccache", "-g", "myResourceGroup"])
        .args([
            "--cluster",
            "myAKSCluster",
            "-n",
            "MyHpcCache",
            "--capacity-tib",
            "4",
        ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--capacity-tib"));
    assert!(take_log(&s).is_empty());
    assert!(!s.state_file("MyLustre").exists(), "no state file written");
}

#[test]
fn a_recorded_backend_is_kept_and_another_is_refused() {
    let s = Scratch::new();
    ok(s.az_sandbox().args(UP).args(["-o", "none"]));
    take_log(&s);
    let out = run(s
        .az_sandbox()
        .args(["up", "--backend", "hpccache", "-g", "myResourceGroup"])
        .args(["--cluster", "myAKSCluster", "-n", "MyLustre"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--backend") && err.contains("recorded with backend amlfs"),
        "{err}"
    );
    assert!(take_log(&s).is_empty());
}

#[test]
fn blob_integration_makes_the_account_two_containers_and_the_roles_first() {
    let s = Scratch::new();
    ok(s.az_sandbox().args(UP).args([
        "--hsm-container",
        "lustredata",
        "--sku",
        "AMLFS-Durable-Premium-250",
        "--root-squash-mode",
        "RootOnly",
        "--squash-uid",
        "65534",
        "--squash-gid",
        "65534",
        "--maintenance-window",
        "Sat,03:30",
        "-o",
        "none",
    ]));
    let log = take_log(&s);
    let (_, problems) = spec_body_violations(&log);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(count(&log, "PUT", "/containers/lustredata"), 1);
    assert_eq!(count(&log, "PUT", "/containers/amlfs-logging"), 1);
    let put = log
        .iter()
        .find(|r| {
            r["method"] == "PUT"
                && r["path"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with("/amlFilesystems/MyLustre")
        })
        .expect("create PUT");
    let body = &put["body"];
    assert_eq!(body["sku"]["name"], "AMLFS-Durable-Premium-250");
    assert_eq!(body["properties"]["storageCapacityTiB"], 8.0);
    assert!(
        body["properties"]["hsm"]["settings"]["container"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/containers/lustredata")
    );
    assert_eq!(body["properties"]["rootSquashSettings"]["mode"], "RootOnly");
    assert_eq!(
        body["properties"]["maintenanceWindow"]["dayOfWeek"],
        "Saturday"
    );
    assert_eq!(
        body["properties"]["maintenanceWindow"]["timeOfDayUTC"],
        "03:30"
    );
    let roles = log
        .iter()
        .filter(|r| {
            r["method"] == "PUT"
                && r["path"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("roleAssignments")
        })
        .count();
    assert_eq!(roles, 2);
    let st = state(&s);
    for key in [
        "storageAccount",
        "container",
        "loggingContainer",
        "roleStorageAccountContributor",
        "roleStorageBlobDataContributor",
    ] {
        assert_eq!(st["resources"][key]["created"], true, "{key}");
    }
    assert_eq!(st["lustre"]["hsm"], true);
    assert_eq!(st["lustre"]["rootSquashMode"], "RootOnly");
    assert_eq!(st["lustre"]["squashUid"], 65534);

    // A changed create-only value is refused naming its flag, with nothing sent to change it.
    let out = run(s.az_sandbox().args(UP).args([
        "--hsm-container",
        "lustredata",
        "--sku",
        "AMLFS-Durable-Premium-250",
        "--capacity-tib",
        "16",
    ]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--capacity-tib") && err.contains("cannot change"),
        "{err}"
    );
    assert!(!take_log(&s).iter().any(is_write));

    // A changed root squash is one PATCH.
    ok(s.az_sandbox().args(UP).args([
        "--hsm-container",
        "lustredata",
        "--sku",
        "AMLFS-Durable-Premium-250",
        "--root-squash-mode",
        "None",
        "-o",
        "none",
    ]));
    let log = take_log(&s);
    let writes: Vec<String> = log
        .iter()
        .filter(|r| is_write(r))
        .map(|r| format!("{} {}", r["method"], r["path"]))
        .collect();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert!(writes[0].starts_with("\"PATCH\""), "{writes:#?}");
    assert_eq!(state(&s)["lustre"]["rootSquashMode"], "None");
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let s = Scratch::new();
    let out = ok(s
        .az_sandbox()
        .args(UP)
        .args(["--dry-run", "--hsm-container", "data"]));
    let plan = json(&out);
    let items = plan.as_array().expect("plan array");
    let action = |step: &str| {
        items
            .iter()
            .filter(|i| i["step"] == step)
            .map(|i| i["action"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(action("filesystem"), ["create"]);
    assert!(action("subnet").contains(&"create".to_owned()));
    assert_eq!(action("storage"), ["create", "create", "create"]);
    assert_eq!(action("roles"), ["create", "create"]);
    assert!(action("dns").is_empty() && action("cache").is_empty());
    assert!(!take_log(&s).iter().any(|r| {
        is_write(r)
            && !r["path"]
                .as_str()
                .unwrap_or_default()
                .ends_with("getRequiredAmlFSSubnetsSize")
    }));
    assert!(!s.state_file("MyLustre").exists());
}

#[test]
fn no_wait_returns_while_creating_and_up_again_finishes() {
    let s = Scratch::new();
    let out = ok(s.az_sandbox_scaled("0.002").args(UP).args(["--no-wait"]));
    let summary = json(&out);
    assert_eq!(summary["pending"], serde_json::json!(["filesystem"]));
    let st = state(&s);
    assert!(st["operations"].get("amlFilesystem").is_some(), "{st:#}");
    assert!(st.get("lustre").is_none());
    // The wait command the warning gives works as given (it names the deployment's group,
    // not the cluster's node resource group).
    let err = String::from_utf8_lossy(&out.stderr);
    let given = err
        .split('`')
        .find(|part| part.starts_with("az-hpccache-ext amlfs wait "))
        .unwrap_or_else(|| panic!("a wait command in: {err}"));
    let args: Vec<&str> = given.split_whitespace().skip(1).collect();
    ok(s.az_sandbox_scaled("0.002").args(&args));
    let show = json(&ok(s.az_sandbox().args([
        "amlfs",
        "show",
        "-g",
        "myResourceGroup",
        "-n",
        "MyLustre",
    ])));
    assert_eq!(show["provisioningState"], "Succeeded", "{show:#}");
    take_log(&s);
    ok(s.az_sandbox_scaled("0.002").args(UP).args(["-o", "none"]));
    let log = take_log(&s);
    assert_eq!(
        count(&log, "PUT", "/amlFilesystems/MyLustre"),
        0,
        "not sent again"
    );
    let st = state(&s);
    assert!(st["operations"].get("amlFilesystem").is_none());
    assert_eq!(st["lustre"]["filesystemName"], "lustrefs");
}

#[test]
fn a_refused_create_is_a_clear_error_and_leaves_no_filesystem() {
    let s = Scratch::new();
    let out = run(s
        .az_sandbox()
        .env(
            "HPCCACHE_SANDBOX_FAULTS",
            "reject-amlfs-create=QuotaExceeded",
        )
        .args(UP));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("ERROR: "))
        .expect("ERROR line");
    assert!(line.contains("(QuotaExceeded)"), "{line}");
    assert!(err.contains("The filesystem step failed"), "{err}");
    let counts = hpccache_tests::resource_counts(&s.load_world());
    assert_eq!(
        counts.get("Microsoft.StorageCache/amlFilesystems"),
        None,
        "{counts:?}"
    );
}

#[test]
fn a_subnet_too_small_for_the_capacity_is_refused_before_the_create() {
    let s = Scratch::new();
    // 200 TiB needs 254 addresses: more than the 251 of a /24.
    let out = run(s
        .az_sandbox()
        .args(UP)
        .args(["--capacity-tib", "200", "--subnet-size", "/24"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--subnet-size") && err.contains("/23"),
        "{err}"
    );
    let log = take_log(&s);
    assert_eq!(count(&log, "PUT", "/subnets/MyLustreSubnet"), 0);
    assert_eq!(count(&log, "PUT", "/amlFilesystems/MyLustre"), 0);

    // An existing subnet the service finds too small: checkAmlFSSubnets refuses it, and no
    // filesystem create is sent.
    ok(s.az_sandbox().args([
        "subnet",
        "create",
        "-g",
        "myResourceGroup",
        "--cluster",
        "myAKSCluster",
        "-n",
        "Small",
        "--subnet-size",
        "/25",
        "-o",
        "none",
    ]));
    take_log(&s);
    let out =
        run(s
            .az_sandbox()
            .args(UP)
            .args(["--capacity-tib", "200", "--subnet-name", "Small"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--subnet-name"), "{err}");
    let log = take_log(&s);
    assert_eq!(count(&log, "POST", "/checkAmlFSSubnets"), 1);
    assert_eq!(count(&log, "PUT", "/amlFilesystems/MyLustre"), 0);
}
