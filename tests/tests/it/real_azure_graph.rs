//! Issue 15 items 1–3 against the sandbox: a Resource Manager token is never sent to Microsoft
//! Graph; `--provider-principal-id` replaces the Graph lookup; a Graph refusal stops `up`
//! before anything is written; a provider principal that appears only after the provider's
//! registration is waited for; an expired token says so.

use hpccache_sandbox::token::Claims;
use hpccache_sandbox::world::World;
use hpccache_tests::{AMLFS_UP, GUIDE_UP, Scratch, is_write};

const ACCOUNT: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.Storage/storageAccounts/nosuchaccount";

/// Runs `az-hpccache-ext --sandbox` with `env` and `args`: its exit code and stderr.
fn az(s: &Scratch, env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String) {
    let mut c = s.az_sandbox();
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `up` of the guide's deployment with `extra` flags.
fn up(s: &Scratch, env: &[(&str, &str)], extra: &[&str]) -> (Option<i32>, String) {
    let args: Vec<&str> = GUIDE_UP
        .iter()
        .copied()
        .chain(["-o", "none"])
        .chain(extra.iter().copied())
        .collect();
    az(s, env, &args)
}

fn graph_requests(s: &Scratch) -> usize {
    s.sandbox_requests()
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or_default().starts_with("/graph"))
        .count()
}

fn writes(s: &Scratch) -> usize {
    s.sandbox_requests().iter().filter(|r| is_write(r)).count()
}

/// A scratch home whose sandbox world has `settings` applied; and the provider's object id.
fn scratch_with(settings: impl FnOnce(&mut World)) -> (Scratch, String) {
    let s = Scratch::new();
    let mut w = World::new_default();
    settings(&mut w);
    let principal = w.cache_rp_object_id.clone();
    s.save_world(&w);
    (s, principal)
}

#[test]
fn an_arm_token_alone_is_not_sent_to_graph_and_asks_for_the_principal_id() {
    let (s, principal) = scratch_with(|_| {});
    let token = ("HPCCACHE_ACCESS_TOKEN", "an-arm-token");
    let (code, err) = up(&s, &[token], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--provider-principal-id") && err.contains("HPCCACHE_GRAPH_TOKEN"),
        "{err}"
    );
    assert_eq!(graph_requests(&s), 0, "the ARM token went to Graph");
    assert_eq!(writes(&s), 0, "up wrote before failing");

    let (code, err) = up(
        &s,
        &[token, ("HPCCACHE_PROVIDER_PRINCIPAL_ID", &principal)],
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(graph_requests(&s), 0);
    let w = s.load_world();
    let assigned = w
        .of_type("Microsoft.Authorization/roleAssignments")
        .filter(|r| r.body["properties"]["principalId"].as_str() == Some(principal.as_str()))
        .count();
    assert_eq!(assigned, 2, "both roles for the given principal");
}

#[test]
fn a_bad_provider_principal_id_is_refused_before_any_request() {
    let s = Scratch::new();
    let (code, err) = up(
        &s,
        &[],
        &["--provider-principal-id", "HPC Cache Resource Provider"],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--provider-principal-id"), "{err}");
    assert!(s.sandbox_requests().is_empty());
}

#[test]
fn a_graph_refusal_stops_up_before_any_write_and_names_the_flag() {
    let (s, principal) = scratch_with(|w| w.settings.graph_lookup_denied = Some(true));
    let (code, err) = up(&s, &[], &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("--provider-principal-id") && err.contains("Authorization_RequestDenied"),
        "{err}"
    );
    assert_eq!(graph_requests(&s), 1);
    assert_eq!(
        writes(&s),
        0,
        "the storage account (or anything) was written before the Graph lookup"
    );

    let upper = principal.to_ascii_uppercase();
    let (code, err) = up(&s, &[], &["--provider-principal-id", &upper]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(graph_requests(&s), 1, "no Graph call with the flag");
}

/// A Managed Lustre filesystem without blob integration assigns no role, so it needs no
/// provider principal: an identity Graph refuses, or an ARM token alone, still makes one.
/// With blob integration the refusal stops it before any write, as for a cache.
#[test]
fn managed_lustre_asks_graph_only_with_blob_integration() {
    let (s, _) = scratch_with(|w| w.settings.graph_lookup_denied = Some(true));
    let lustre = |extra: &[&str], env: &[(&str, &str)]| {
        // AMLFS_UP without its `-n MyLustre`: each case names its own deployment.
        let args: Vec<&str> = AMLFS_UP[..AMLFS_UP.len() - 2]
            .iter()
            .copied()
            .chain(["-o", "none"])
            .chain(extra.iter().copied())
            .collect();
        az(&s, env, &args)
    };
    let (code, err) = lustre(&["-n", "Hsm", "--hsm-container", "data"], &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--provider-principal-id"), "{err}");
    assert_eq!(writes(&s), 0, "wrote before the Graph refusal");

    let (code, err) = lustre(&["-n", "MyLustre"], &[]);
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = lustre(
        &["-n", "ArmOnly"],
        &[("HPCCACHE_ACCESS_TOKEN", "an-arm-token")],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        graph_requests(&s),
        1,
        "only the blob-integration run asked Graph"
    );
}

#[test]
fn role_assign_takes_the_principal_id_and_names_it_when_graph_refuses() {
    let (s, principal) = scratch_with(|w| w.settings.graph_lookup_denied = Some(true));
    let assign = ["role", "assign", "--storage-account", ACCOUNT];
    let (code, err) = az(&s, &[], &assign);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--provider-principal-id"), "{err}");
    assert_eq!(writes(&s), 0);
    let mut bad = assign.to_vec();
    bad.extend(["--provider-principal-id", "x"]);
    assert_eq!(az(&s, &[], &bad).0, Some(2));
    let before = graph_requests(&s);
    let mut good = assign.to_vec();
    good.extend(["--provider-principal-id", principal.as_str()]);
    let (code, _) = az(&s, &[], &good);
    // The account does not exist: the role write fails, but Graph was not asked.
    assert_ne!(code, Some(0));
    assert_eq!(graph_requests(&s), before);
}

#[test]
fn a_provider_principal_that_appears_after_registration_is_waited_for() {
    let (s, _) = scratch_with(|w| w.settings.rp_principal_absent = Some(true));
    // Sandbox time: the principal appears a scaled 600 s (0.6 s) after the registration.
    let out = s
        .az_sandbox_scaled("0.001")
        .args(GUIDE_UP)
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = s.sandbox_requests();
    let path = |r: &serde_json::Value| r["path"].as_str().unwrap_or_default().to_owned();
    let statuses: Vec<u64> = log
        .iter()
        .filter(|r| path(r).starts_with("/graph"))
        .filter_map(|r| r["status"].as_u64())
        .collect();
    assert_eq!(
        statuses.first(),
        Some(&404),
        "looked up before the registration: {statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    // The roles were written only once the provider was registered.
    let register = log
        .iter()
        .position(|r| path(r).ends_with("/Microsoft.StorageCache/register"))
        .expect("registered");
    let first_role = log
        .iter()
        .position(|r| r["method"] == "PUT" && path(r).contains("roleAssignments"))
        .expect("roles assigned");
    assert!(register < first_role);
}

#[test]
fn an_expired_token_says_when_it_expired_and_how_to_get_another() {
    let s = Scratch::new();
    let expired = Claims::arm(-3600).mint();
    let (code, err) = az(
        &s,
        &[("HPCCACHE_ACCESS_TOKEN", &expired)],
        &["cache", "list", "-g", "myResourceGroup"],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("expired at 20"), "{err}");
    assert!(err.contains("az account get-access-token"), "{err}");
    assert!(!err.contains(&expired), "the token leaked");
}

/// `role assign` and `up` share one converge (issue 15's design step): the command, like `up`,
/// waits while Graph has no principal for a provider registered moments ago, and says at once
/// when the provider is not registered at all (it used to fail on the first 404 either way).
#[test]
fn role_assign_waits_for_the_principal_of_a_provider_registered_moments_ago() {
    let (s, principal) = scratch_with(|w| w.settings.rp_principal_absent = Some(true));
    let az = |args: &[&str]| {
        let out = s.az_sandbox_scaled("0.001").args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), out.stdout, stderr)
    };
    let (code, out, err) = az(&[
        "storage",
        "account",
        "create",
        "-g",
        "myResourceGroup",
        "-n",
        "rolesacct1",
        "-l",
        "eastus",
        "--query",
        "id",
        "-o",
        "tsv",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let account = String::from_utf8(out).unwrap().trim().to_owned();
    let assign = [
        "role",
        "assign",
        "--storage-account",
        &account,
        "-o",
        "json",
    ];

    // Never registered: said after one Graph lookup, without waiting or writing.
    let before = writes(&s);
    let (code, _, err) = az(&assign);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(graph_requests(&s), 1);
    assert_eq!(writes(&s), before);

    let (code, _, err) = az(&["provider", "register"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = az(&assign);
    assert_eq!(code, Some(0), "{err}");
    let printed: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
    let statuses: Vec<u64> = s
        .sandbox_requests()
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or_default().starts_with("/graph"))
        .filter_map(|r| r["status"].as_u64())
        .collect();
    assert_eq!(statuses.first(), Some(&404), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    assert!(statuses.len() > 2, "waited: {statuses:?}");
    let w = s.load_world();
    let mut assigned: Vec<String> = w
        .of_type("Microsoft.Authorization/roleAssignments")
        .filter(|r| r.body["properties"]["principalId"].as_str() == Some(principal.as_str()))
        .filter(|r| r.body["properties"]["scope"].as_str() == Some(account.as_str()))
        .map(|r| r.id.clone())
        .collect();
    let mut ids: Vec<String> = printed
        .iter()
        .map(|a| a["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assigned.sort();
    ids.sort();
    assert_eq!(assigned.len(), 2, "both roles, at the account");
    assert_eq!(ids, assigned, "-o json prints what was assigned");

    // A re-run writes nothing and prints the same assignments.
    let before = writes(&s);
    let (code, out, err) = az(&assign);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(writes(&s), before);
    let again: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
    assert_eq!(again.len(), 2);
}
