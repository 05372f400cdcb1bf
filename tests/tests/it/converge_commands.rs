//! The step commands and `up` share one converge per resource (issue 15's design step), so the
//! commands now make the checks `up` makes:
//! - `storage account create`: an existing account must fit (StorageV2, SKU, location, no
//!   hierarchical namespace) and a name held elsewhere is refused before any write, each
//!   naming the caller's flag (it used to return any existing account as it was, and to send
//!   the PUT for a taken name);
//! - `dns create`: a record set a deployment owns is never changed.

use hpccache_sandbox::world::{DEFAULT_SUBSCRIPTION, World};
use hpccache_tests::{GUIDE_UP, Scratch, is_write};

const RG: &str = "myResourceGroup";

/// `az-hpccache-ext --sandbox args`: exit code, stdout, stderr.
fn az(s: &Scratch, args: &[&str]) -> (Option<i32>, String, String) {
    let out = s.az_sandbox().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn writes(s: &Scratch) -> Vec<serde_json::Value> {
    s.sandbox_requests().into_iter().filter(is_write).collect()
}

fn account_id(rg: &str, name: &str) -> String {
    format!(
        "/subscriptions/{DEFAULT_SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"
    )
}

/// The `--flag` an exit-2 message names first.
fn named_flag(err: &str) -> Option<String> {
    err.split_whitespace()
        .find(|w| w.trim_start_matches(['\'', '`']).starts_with("--"))
        .map(|w| {
            w.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .to_owned()
        })
}

#[test]
fn account_create_of_an_existing_account_that_does_not_fit_exits_2_naming_the_flag() {
    let s = Scratch::new();
    let create = |extra: &[&str]| {
        let mut args = vec![
            "storage", "account", "create", "-g", RG, "-n", "fitacct1", "-o", "json",
        ];
        args.extend_from_slice(extra);
        az(&s, &args)
    };
    let (code, out, err) = create(&["--sku", "Premium_LRS", "-l", "eastus"]);
    assert_eq!(code, Some(0), "{err}");
    let made: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(made["id"], account_id(RG, "fitacct1"));

    let before = writes(&s).len();
    for (extra, flag) in [
        (&[][..], "--sku"),
        (&["--sku", "Premium_LRS", "-l", "westus"][..], "--location"),
    ] {
        let (code, _, err) = create(extra);
        assert_eq!(code, Some(2), "{extra:?}: {err}");
        assert_eq!(named_flag(&err).as_deref(), Some(flag), "{err}");
    }
    assert_eq!(writes(&s).len(), before, "nothing written on bad input");

    // As it was made: the same account, nothing written.
    let (code, out, err) = create(&["--sku", "premium_lrs"]);
    assert_eq!(code, Some(0), "{err}");
    let again: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(again["id"], made["id"]);
    assert_eq!(again["sku"]["name"], "Premium_LRS");
    assert_eq!(writes(&s).len(), before);
}

#[test]
fn a_storage_account_name_taken_in_another_group_is_refused_before_any_write() {
    let s = Scratch::new();
    let mut w = World::new_default();
    w.ensure_resource_group(DEFAULT_SUBSCRIPTION, "otherGroup", "eastus");
    s.save_world(&w);
    let (code, _, err) = az(
        &s,
        &[
            "storage",
            "account",
            "create",
            "-g",
            "otherGroup",
            "-n",
            "takenacct1",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let before = writes(&s).len();
    let (code, _, err) = az(
        &s,
        &["storage", "account", "create", "-g", RG, "-n", "takenacct1"],
    );
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(named_flag(&err).as_deref(), Some("--name"), "{err}");
    assert_eq!(writes(&s).len(), before, "no PUT for a taken name");
    assert!(
        s.sandbox_requests().iter().any(|r| r["path"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/checkNameAvailability")),
        "the name was checked"
    );
    assert!(s.load_world().get(&account_id(RG, "takenacct1")).is_none());
}

/// `up` with `--storage-account` of an account with a hierarchical namespace (which an HPC
/// Cache blob target cannot use) stops at the storage step, naming the flag, and writes
/// nothing to the account or after it.
#[test]
fn up_refuses_an_existing_account_with_a_hierarchical_namespace() {
    let s = Scratch::new();
    let (code, _, err) = az(
        &s,
        &["storage", "account", "create", "-g", RG, "-n", "hnsacct1"],
    );
    assert_eq!(code, Some(0), "{err}");
    let id = account_id(RG, "hnsacct1");
    let mut w = s.load_world();
    w.get_mut(&id).unwrap().body["properties"]["isHnsEnabled"] = serde_json::json!(true);
    s.save_world(&w);

    let args: Vec<&str> = GUIDE_UP
        .iter()
        .copied()
        .chain(["--storage-account", "hnsacct1", "-o", "json"])
        .collect();
    let (code, _, err) = az(&s, &args);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        named_flag(&err).as_deref(),
        Some("--storage-account"),
        "{err}"
    );
    let lower = id.to_ascii_lowercase();
    let touched: Vec<String> = writes(&s)
        .iter()
        .filter_map(|r| r["path"].as_str())
        .map(str::to_ascii_lowercase)
        .filter(|p| {
            p.starts_with(&lower) || p.contains("/roleassignments/") || p.contains("/caches/")
        })
        .collect();
    // The one write under the account is the command's create above.
    assert_eq!(touched.len(), 1, "{touched:?}");
    let w = s.load_world();
    assert!(w.of_type("Microsoft.StorageCache/caches").next().is_none());
}

/// `dns create` and `up`'s dns and records steps share one converge: the command, which is no
/// deployment, never changes a record set a deployment owns (it used to rewrite `up`'s record
/// set and drop its hpccache-deployment metadata), and a link that is right as it is gets no
/// write.
#[test]
fn dns_create_never_changes_a_deployments_record_set() {
    let s = Scratch::new();
    s.up_sandbox(&[]);
    let w = s.load_world();
    let zone = w
        .of_type("Microsoft.Network/privateDnsZones")
        .next()
        .expect("up made a zone")
        .clone();
    let link = w
        .of_type("Microsoft.Network/privateDnsZones/virtualNetworkLinks")
        .next()
        .expect("up linked the zone")
        .clone();
    let vnet = link.body["properties"]["virtualNetwork"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let records_id = format!("{}/A/server", zone.id);
    // The deployment's record set lost an address (as if the cache had changed).
    let mut w = w;
    let rs = w.get_mut(&records_id).expect("up wrote the record set");
    let all = rs.body["properties"]["aRecords"]
        .as_array()
        .unwrap()
        .clone();
    rs.body["properties"]["aRecords"] = serde_json::json!(all[..1]);
    let owner = rs.body["properties"]["metadata"]["hpccache-deployment"].clone();
    assert_eq!(owner, "MyHpcCache");
    s.save_world(&w);

    let zone_name = zone.body["name"].as_str().unwrap().to_owned();
    let create = |record: &str| {
        let args = format!(
            "dns create -g {RG} --zone-name {zone_name} --vnet {vnet} --cache-name MyHpcCache --record-name {record} -o json"
        );
        az(&s, &args.split(' ').collect::<Vec<_>>())
    };
    let before = writes(&s).len();
    let (code, _, err) = create("server");
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(named_flag(&err).as_deref(), Some("--record-name"), "{err}");
    assert_eq!(writes(&s).len(), before, "nothing written");
    let kept = s.load_world().get(&records_id).unwrap().body.clone();
    assert_eq!(kept["properties"]["aRecords"].as_array().unwrap().len(), 1);
    assert_eq!(kept["properties"]["metadata"]["hpccache-deployment"], owner);

    // Another name: one new record set with every address; the zone and link are left alone.
    let (code, out, err) = create("other");
    assert_eq!(code, Some(0), "{err}");
    let printed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let new_writes: Vec<String> = writes(&s)[before..]
        .iter()
        .map(|r| format!("{} {}", r["method"], r["path"]))
        .collect();
    assert_eq!(new_writes.len(), 1, "{new_writes:?}");
    let other_id = format!("{}/A/other", zone.id);
    let w = s.load_world();
    let other = w.get(&other_id).expect("record set written");
    assert_eq!(
        other.body["properties"]["aRecords"]
            .as_array()
            .unwrap()
            .len(),
        all.len()
    );
    assert_eq!(printed["recordSet"]["id"], other.body["id"]);
    assert_eq!(printed["virtualNetworkLink"]["id"], link.body["id"]);
    assert_eq!(
        printed["virtualNetworkLink"]["virtualNetworkLinkState"],
        "Completed"
    );
}
