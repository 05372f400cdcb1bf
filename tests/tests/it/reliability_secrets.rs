//! Reliability suite, item 6 (issue 7): secrets and permissions.
//!
//! - A unique bearer token (`HPCCACHE_ACCESS_TOKEN`; the sandbox takes any) appears nowhere a
//!   run leaves something: stdout, stderr, `--debug` output, the state file, the sandbox world,
//!   the request log, any file in the state directory.
//! - The state file, its lock, the sandbox world and its lock are mode 0600.
//! - Role assignments are scoped to the storage account, nothing wider.
//! - TLS verification is never disabled: plain http:// to a non-loopback endpoint is refused
//!   before any connection, and no source file turns certificate checks off.

#![allow(clippy::print_stderr, reason = "the figures RELIABILITY.md reports")]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hpccache_tests::Scratch;

const MARKER: &str = "hpcc-secret-7f3e9a1c-token-d41d8cd98f00b204";

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn the_access_token_appears_in_nothing_a_run_produced() {
    let s = Scratch::new();
    let mut produced: Vec<(String, Vec<u8>)> = Vec::new();
    let runs: &[&[&str]] = &[
        &[
            "up",
            "--backend",
            "hpccache",
            "-g",
            "myResourceGroup",
            "--cluster",
            "myAKSCluster",
            "-n",
            "MyHpcCache",
            "--debug",
        ],
        &["status", "-n", "MyHpcCache", "--debug"],
        &[
            "cache",
            "show",
            "-g",
            "myResourceGroup",
            "-n",
            "MyHpcCache",
            "--debug",
            "-o",
            "table",
        ],
        &["state", "show", "-d", "MyHpcCache", "--debug"],
        &[
            "up",
            "--backend",
            "hpccache",
            "-g",
            "myResourceGroup",
            "--cluster",
            "myAKSCluster",
            "-n",
            "MyHpcCache",
            "--verbose",
            "-o",
            "yaml",
        ],
    ];
    for args in runs {
        let out = s
            .az_sandbox()
            .env("HPCCACHE_ACCESS_TOKEN", MARKER)
            .env("HPCCACHE_GRAPH_TOKEN", MARKER)
            .args(*args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        produced.push((format!("stdout of {args:?}"), out.stdout));
        produced.push((format!("stderr of {args:?}"), out.stderr));
    }
    // --debug really logged requests (else the check below proves little).
    let debug = String::from_utf8_lossy(&produced[1].1);
    assert!(
        debug.to_ascii_lowercase().contains("authorization") || debug.contains("GET "),
        "--debug shows requests: {}",
        debug.lines().take(5).collect::<Vec<_>>().join("\n")
    );
    let mut files = Vec::new();
    all_files(s.path(), &mut files);
    assert!(files.iter().any(|f| f.ends_with("MyHpcCache.json")));
    assert!(files.iter().any(|f| f.ends_with("sandbox.world.json")));
    for f in files {
        produced.push((
            f.display().to_string(),
            std::fs::read(&f).unwrap_or_default(),
        ));
    }
    // The whole token, and any 16-character piece of it (a truncated or partly redacted copy).
    let pieces: Vec<&str> = (0..=MARKER.len() - 16)
        .map(|i| &MARKER[i..i + 16])
        .collect();
    let mut leaks = Vec::new();
    for (what, bytes) in &produced {
        let text = String::from_utf8_lossy(bytes);
        if let Some(p) = pieces.iter().find(|p| text.contains(**p)) {
            leaks.push(format!("{what} contains {p:?}"));
        }
    }
    eprintln!("secrets: {} outputs and files checked", produced.len());
    assert!(leaks.is_empty(), "token leaked:\n{}", leaks.join("\n"));
}

#[cfg(unix)]
#[test]
fn state_world_and_their_locks_are_private_and_roles_are_scoped_to_the_account() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    s.up_sandbox(&[]);
    let dir = s.deployments_dir();
    for name in [
        "MyHpcCache.json",
        "MyHpcCache.json.lock",
        "sandbox.world.json",
        "sandbox.world.json.lock",
    ] {
        let mode = std::fs::metadata(dir.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{name} has mode {mode:o}");
    }
    let dmode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(dmode, 0o700, "state directory mode {dmode:o}");

    let state = hpccache_core::state::read(&dir.join("MyHpcCache.json")).unwrap();
    let account = state.resources["storageAccount"].id.to_ascii_lowercase();
    let w = s.load_world();
    let roles: Vec<_> = w
        .resources
        .values()
        .filter(|r| {
            r.rtype
                .eq_ignore_ascii_case("Microsoft.Authorization/roleAssignments")
        })
        .collect();
    assert_eq!(roles.len(), 2, "two role assignments");
    for r in roles {
        let id = r.id.to_ascii_lowercase();
        assert!(
            id.starts_with(&format!(
                "{account}/providers/microsoft.authorization/roleassignments/"
            )),
            "assignment {id} is not under the storage account"
        );
        if let Some(scope) = r.body["properties"]["scope"].as_str() {
            assert!(scope.eq_ignore_ascii_case(&account), "scope {scope}");
        }
    }
}

#[test]
fn plain_http_to_a_non_loopback_endpoint_is_refused_before_any_connection() {
    let s = Scratch::new();
    // 10.255.255.1 does not answer: a connection attempt would hang until a timeout.
    for (flag, url) in [
        ("--arm-endpoint", "http://example.com"),
        ("--arm-endpoint", "http://10.255.255.1:9"),
        ("--graph-endpoint", "http://10.255.255.1:9/graph"),
    ] {
        let started = Instant::now();
        let mut c = s.cmd("az-hpccache-ext");
        c.env("HPCCACHE_ACCESS_TOKEN", MARKER)
            .env_remove("HPCCACHE_SANDBOX")
            .args([
                "cache",
                "list",
                "--subscription",
                "00000000-0000-0000-0000-000000000000",
            ]);
        if flag == "--graph-endpoint" {
            c.args(["--arm-endpoint", "https://management.example.com"]);
        }
        let out = c.args([flag, url]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {url}: {err}");
        assert!(err.contains(flag) && err.contains("http://"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{flag} {url}: took {:?}, as if it connected",
            started.elapsed()
        );
    }
}

/// No source file of the tools or the sandbox turns off certificate verification (outside
/// loopback-only code, of which there is none today).
#[test]
fn no_source_disables_tls_verification() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let needles = [
        concat!("danger_accept", "_invalid_certs"),
        concat!("danger_accept", "_invalid_hostnames"),
        concat!("accept_invalid", "_certs(true"),
    ];
    let mut files = Vec::new();
    for crate_dir in [
        "core/src",
        "az-hpccache-ext/src",
        "kubectl-hpccache/src",
        "sandbox/src",
    ] {
        all_files(&root.join(crate_dir), &mut files);
    }
    let rs: Vec<_> = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
        .collect();
    assert!(rs.len() > 50, "found the sources ({} files)", rs.len());
    let mut hits = Vec::new();
    for f in rs {
        let text = std::fs::read_to_string(f).unwrap();
        for n in needles {
            if text.contains(n) {
                hits.push(format!("{}: {n}", f.display()));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "TLS verification disabled in:\n{}",
        hits.join("\n")
    );
}
