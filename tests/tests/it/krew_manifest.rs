//! The krew manifest against krew's validation rules (krew's pkg/index/validation and the
//! krew-index checks), and the release scripts that write it (issue 16, item 4).
//!
//! krew-manifest.yaml is a template until a release exists: every rule holds but its sha256
//! values, which are UNSET (krew refuses them), never plausible fakes. The manifest a release
//! attaches is written by `scripts/krew-manifest.sh write` from the archives
//! `scripts/package.sh` packs, and `scripts/krew-manifest.sh check` verifies it against them.
//! A release build is too slow for a test, so the scripts run here on small fake binaries;
//! `scripts/release-local.sh` runs them on the real linux-amd64 build (README, "Releases").
//! Each rule is also shown to fire on a manifest broken in that one way.

// A skipped check says why on stderr.
#![allow(clippy::print_stderr)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// What the template holds instead of a sha256.
const UNSET: &str = "UNSET-";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn version() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

fn parse(text: &str) -> Value {
    serde_saphyr::from_str(text).expect("manifest is YAML")
}

/// The repository's krew-manifest.yaml: the template.
fn manifest() -> Value {
    let text =
        std::fs::read_to_string(repo().join("krew-manifest.yaml")).expect("krew-manifest.yaml");
    parse(&text)
}

fn script(name: &str) -> Command {
    let mut c = Command::new("bash");
    c.arg(repo().join("scripts").join(name));
    c
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A release of fake binaries for `platforms` (`os/arch`): archives packed by package.sh
/// in `dir/dist`, and the manifest `krew-manifest.sh write` made of them.
fn fake_release(dir: &Path, platforms: &[&str]) -> (PathBuf, PathBuf) {
    let build = dir.join("build");
    std::fs::create_dir_all(&build).expect("mkdir");
    for name in ["kubectl-hpccache", "kubectl-hpccache.exe"] {
        std::fs::write(build.join(name), "#!/bin/sh\necho fake plugin\n").expect("fake binary");
    }
    let dist = dir.join("dist");
    for p in platforms {
        let (os, arch) = p.split_once('/').expect("os/arch");
        let o = script("package.sh")
            .args(["kubectl-hpccache", os, arch])
            .arg(&build)
            .arg(&dist)
            .output()
            .expect("package.sh runs");
        assert!(o.status.success(), "package.sh {p}: {}", text(&o));
    }
    let o = script("krew-manifest.sh")
        .args(["write", &version()])
        .arg(&dist)
        .args(platforms)
        .output()
        .expect("krew-manifest.sh runs");
    assert!(o.status.success(), "write: {}", text(&o));
    let manifest = dir.join("krew-manifest.yaml");
    std::fs::write(&manifest, &o.stdout).expect("write the manifest");
    (dist, manifest)
}

fn check(manifest: &Path, dist: &Path) -> Output {
    script("krew-manifest.sh")
        .arg("check")
        .arg(manifest)
        .arg(dist)
        .output()
        .expect("krew-manifest.sh runs")
}

fn sha256(file: &Path) -> String {
    let o = Command::new("sha256sum")
        .arg(file)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn is_semver_v(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let core = rest.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

fn is_plugin_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Every rule the manifest breaks, as a message.
fn problems(m: &Value) -> Vec<String> {
    let mut p = Vec::new();
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    if s(m, "apiVersion").as_deref() != Some("krew.googlecontainertools.github.com/v1alpha2") {
        p.push("apiVersion must be krew.googlecontainertools.github.com/v1alpha2".into());
    }
    if s(m, "kind").as_deref() != Some("Plugin") {
        p.push("kind must be Plugin".into());
    }
    let name = m
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !is_plugin_name(name) {
        p.push(format!("metadata.name {name:?} is not a valid plugin name"));
    }
    let spec = m.get("spec").cloned().unwrap_or(Value::Null);
    let version = s(&spec, "version").unwrap_or_default();
    if !is_semver_v(&version) {
        p.push(format!("spec.version {version:?} is not v-prefixed semver"));
    }
    if s(&spec, "shortDescription").is_none_or(|d| d.trim().is_empty() || d.contains('\n')) {
        p.push("spec.shortDescription must be one non-empty line".into());
    }
    if s(&spec, "description").is_none_or(|d| d.trim().is_empty()) {
        p.push("spec.description is required".into());
    }
    if !s(&spec, "homepage").is_some_and(|h| h.starts_with("https://")) {
        p.push("spec.homepage must be an https URL".into());
    }
    let platforms = spec
        .get("platforms")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if platforms.is_empty() {
        p.push("spec.platforms must not be empty".into());
    }
    let mut covered: HashSet<(String, String)> = HashSet::new();
    for (i, plat) in platforms.iter().enumerate() {
        let labels = plat
            .pointer("/selector/matchLabels")
            .and_then(Value::as_object);
        let Some(labels) = labels else {
            p.push(format!("platform {i}: selector.matchLabels is required"));
            continue;
        };
        if plat.pointer("/selector/matchExpressions").is_some() {
            p.push(format!(
                "platform {i}: only matchLabels with os/arch are used"
            ));
        }
        for key in labels.keys() {
            if key != "os" && key != "arch" {
                p.push(format!(
                    "platform {i}: selector label {key:?} is not os or arch"
                ));
            }
        }
        let os = labels
            .get("os")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let arch = labels
            .get("arch")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if os.is_empty() || arch.is_empty() {
            p.push(format!("platform {i}: selector must name both os and arch"));
        }
        if !covered.insert((os.clone(), arch.clone())) {
            p.push(format!(
                "platform {i}: selector {os}/{arch} overlaps an earlier platform"
            ));
        }
        if !s(plat, "uri").is_some_and(|u| u.starts_with("https://")) {
            p.push(format!("platform {i}: uri must be an https URL"));
        }
        let sha = s(plat, "sha256").unwrap_or_default();
        if sha.len() != 64
            || !sha
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            p.push(format!(
                "platform {i}: sha256 {sha:?} is not 64 lowercase hex digits"
            ));
        }
        let bin = s(plat, "bin").unwrap_or_default();
        if bin.is_empty() {
            p.push(format!("platform {i}: bin is required"));
        } else if (os == "windows") != bin.ends_with(".exe") {
            p.push(format!(
                "platform {i}: bin {bin:?} must end in .exe exactly on windows"
            ));
        }
        let froms: Vec<String> = plat
            .get("files")
            .and_then(Value::as_array)
            .map(|f| f.iter().filter_map(|f| s(f, "from")).collect())
            .unwrap_or_default();
        if !froms.iter().any(|f| f == "LICENSE") {
            p.push(format!(
                "platform {i}: LICENSE must be shipped through files"
            ));
        }
        if !froms.contains(&bin) {
            p.push(format!("platform {i}: bin {bin:?} is not among files"));
        }
        if !froms
            .iter()
            .any(|f| f.starts_with("kubectl_complete-hpccache"))
        {
            p.push(format!(
                "platform {i}: kubectl_complete-hpccache (completion) must be shipped through files"
            ));
        }
    }
    for want in [
        ("linux", "amd64"),
        ("linux", "arm64"),
        ("darwin", "amd64"),
        ("darwin", "arm64"),
        ("windows", "amd64"),
    ] {
        if !covered.contains(&(want.0.to_string(), want.1.to_string())) {
            p.push(format!("no platform for {}/{}", want.0, want.1));
        }
    }
    p
}

#[test]
fn the_template_passes_krew_validation_but_for_its_unset_hashes() {
    let m = manifest();
    let platforms = m["spec"]["platforms"].as_array().expect("platforms").len();
    let found = problems(&m);
    assert_eq!(found.len(), platforms, "{found:#?}");
    assert!(found.iter().all(|p| p.contains("sha256")), "{found:#?}");
    for plat in m["spec"]["platforms"].as_array().expect("platforms") {
        let sha = plat["sha256"].as_str().unwrap_or_default();
        assert!(sha.starts_with(UNSET), "{sha} is not clearly unset");
    }
}

#[test]
fn the_template_is_what_the_script_writes() {
    let o = script("krew-manifest.sh")
        .args(["template", &version()])
        .output()
        .expect("krew-manifest.sh runs");
    assert!(o.status.success(), "{}", text(&o));
    let file = std::fs::read_to_string(repo().join("krew-manifest.yaml")).expect("manifest");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        file,
        "krew-manifest.yaml differs from `scripts/krew-manifest.sh template {}`",
        version()
    );
}

#[test]
fn a_written_manifest_is_valid_and_matches_its_archive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (dist, manifest) = fake_release(dir.path(), &["linux/amd64"]);
    let written = std::fs::read_to_string(&manifest).expect("manifest");
    assert!(
        !written.contains(UNSET) && !written.contains("TEMPLATE"),
        "{written}"
    );
    let m = parse(&written);
    let found: Vec<String> = problems(&m)
        .into_iter()
        .filter(|p| !p.starts_with("no platform for"))
        .collect();
    assert_eq!(found, Vec::<String>::new());
    let archive = dist.join("kubectl-hpccache-linux-amd64.tar.gz");
    assert_eq!(m["spec"]["platforms"][0]["sha256"], sha256(&archive));
    assert_eq!(
        m["spec"]["platforms"][0]["uri"],
        format!(
            "https://github.com/hpccache/hpccache/releases/download/{}/kubectl-hpccache-linux-amd64.tar.gz",
            version()
        )
    );
    let o = check(&manifest, &dist);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn the_check_refuses_a_changed_archive_a_missing_file_and_a_missing_archive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (dist, manifest) = fake_release(dir.path(), &["linux/amd64"]);
    let archive = dist.join("kubectl-hpccache-linux-amd64.tar.gz");
    let original = std::fs::read(&archive).expect("archive");
    let fails = |why: &str| {
        let o = check(&manifest, &dist);
        assert!(!o.status.success(), "{why}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("linux/amd64"),
            "{why}: {}",
            text(&o)
        );
    };

    // Another archive under the same name: its sha256 no longer matches.
    let mut changed = original.clone();
    changed.extend_from_slice(b"\0");
    std::fs::write(&archive, &changed).expect("write");
    fails("changed archive");

    // The manifest's sha256 of an archive that lacks the completion script.
    let partial = dir.path().join("partial");
    std::fs::create_dir_all(&partial).expect("mkdir");
    std::fs::copy(repo().join("LICENSE"), partial.join("LICENSE")).expect("LICENSE");
    std::fs::write(partial.join("kubectl-hpccache"), "fake").expect("bin");
    let o = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&partial)
        .args(["kubectl-hpccache", "LICENSE"])
        .output()
        .expect("tar");
    assert!(o.status.success(), "{}", text(&o));
    let text_now = std::fs::read_to_string(&manifest).expect("manifest");
    let sha_line = |sum: &str| format!("sha256: {sum}");
    let m = parse(&text_now);
    let old_sum = m["spec"]["platforms"][0]["sha256"]
        .as_str()
        .expect("sha")
        .to_owned();
    let with_new_sum = text_now.replace(&sha_line(&old_sum), &sha_line(&sha256(&archive)));
    std::fs::write(&manifest, &with_new_sum).expect("manifest");
    fails("archive without kubectl_complete-hpccache");

    // No archive at all.
    std::fs::remove_file(&archive).expect("rm");
    fails("missing archive");
}

/// Every platform, the Windows zip included, when `zip` is here to pack it (Linux CI has it;
/// the release's Windows runner packs with 7-Zip).
#[test]
fn a_written_manifest_of_every_platform_passes_krew_validation() {
    if Command::new("zip").arg("-v").output().is_err() {
        eprintln!("skipped: no zip on PATH to pack the Windows archive");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let all = [
        "linux/amd64",
        "linux/arm64",
        "darwin/amd64",
        "darwin/arm64",
        "windows/amd64",
    ];
    let (dist, manifest) = fake_release(dir.path(), &all);
    let m = parse(&std::fs::read_to_string(&manifest).expect("manifest"));
    assert_eq!(problems(&m), Vec::<String>::new());
    let o = check(&manifest, &dist);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn the_release_scripts_parse() {
    for name in ["package.sh", "krew-manifest.sh", "release-local.sh"] {
        let o = Command::new("bash")
            .arg("-n")
            .arg(repo().join("scripts").join(name))
            .output()
            .expect("bash");
        assert!(o.status.success(), "{name}: {}", text(&o));
    }
}

#[test]
fn manifest_matches_the_plugin_and_its_version() {
    let m = manifest();
    assert_eq!(
        m.pointer("/metadata/name").and_then(Value::as_str),
        Some("hpccache")
    );
    assert_eq!(
        m.pointer("/spec/version").and_then(Value::as_str),
        Some(format!("v{}", env!("CARGO_PKG_VERSION")).as_str())
    );
    let license = concat!(env!("CARGO_MANIFEST_DIR"), "/../LICENSE");
    assert!(
        std::path::Path::new(license).is_file(),
        "LICENSE must exist to be shipped"
    );
}

/// A valid manifest: fake archives of every platform but Windows (whose entry is the
/// template's, given a digest: packing a zip needs `zip`).
fn valid_manifest() -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let unix = ["linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"];
    let (_, manifest) = fake_release(dir.path(), &unix);
    let mut m = parse(&std::fs::read_to_string(&manifest).expect("manifest"));
    let mut windows = manifest_platform("windows");
    windows["sha256"] = m["spec"]["platforms"][0]["sha256"].clone();
    m["spec"]["platforms"]
        .as_array_mut()
        .expect("platforms")
        .push(windows);
    assert_eq!(problems(&m), Vec::<String>::new(), "the base is valid");
    m
}

fn broken(base: &Value, edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut m = base.clone();
    edit(&mut m);
    problems(&m)
}

fn manifest_platform(os: &str) -> Value {
    manifest()["spec"]["platforms"]
        .as_array()
        .expect("platforms")
        .iter()
        .find(|p| p["selector"]["matchLabels"]["os"] == os)
        .cloned()
        .expect("platform")
}

fn first_platform(m: &mut Value) -> &mut Value {
    &mut m["spec"]["platforms"][0]
}

#[test]
fn each_rule_fires_on_a_manifest_broken_that_way() {
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("apiVersion", Box::new(|m| m["apiVersion"] = "v1".into())),
        ("kind", Box::new(|m| m["kind"] = "Pluginz".into())),
        (
            "metadata.name",
            Box::new(|m| m["metadata"]["name"] = "HPC_cache".into()),
        ),
        (
            "spec.version",
            Box::new(|m| m["spec"]["version"] = "0.1.0".into()),
        ),
        (
            "spec.version",
            Box::new(|m| m["spec"]["version"] = "v0.1".into()),
        ),
        (
            "shortDescription",
            Box::new(|m| m["spec"]["shortDescription"] = "".into()),
        ),
        (
            "sha256",
            Box::new(|m| first_platform(m)["sha256"] = "ABC".into()),
        ),
        (
            "sha256",
            Box::new(|m| {
                let upper = first_platform(m)["sha256"].as_str().unwrap().to_uppercase();
                first_platform(m)["sha256"] = upper.into();
            }),
        ),
        (
            "uri",
            Box::new(|m| {
                first_platform(m)
                    .as_object_mut()
                    .unwrap()
                    .remove("uri")
                    .map(drop)
                    .unwrap_or(())
            }),
        ),
        (
            "bin is required",
            Box::new(|m| first_platform(m)["bin"] = "".into()),
        ),
        (
            "not os or arch",
            Box::new(|m| first_platform(m)["selector"]["matchLabels"]["distro"] = "debian".into()),
        ),
        (
            "overlaps",
            Box::new(|m| {
                let dup = m["spec"]["platforms"][0].clone();
                m["spec"]["platforms"].as_array_mut().unwrap().push(dup);
            }),
        ),
        (
            "LICENSE",
            Box::new(|m| {
                first_platform(m)["files"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|f| f["from"] != "LICENSE")
            }),
        ),
        (
            "completion",
            Box::new(|m| {
                first_platform(m)["files"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|f| f["from"] != "kubectl_complete-hpccache")
            }),
        ),
        (
            "no platform for windows/amd64",
            Box::new(|m| {
                m["spec"]["platforms"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|p| p["selector"]["matchLabels"]["os"] != "windows");
            }),
        ),
    ];
    let base = valid_manifest();
    for (rule, edit) in cases {
        let found = broken(&base, edit);
        assert!(
            found.iter().any(|p| p.contains(rule)),
            "rule {rule:?} did not fire: {found:?}"
        );
    }
}

/// The release workflow builds every platform the manifest names, for the Rust target that
/// platform is (static musl on Linux), packs both binaries through package.sh, and writes
/// and checks the manifest from those archives.
#[test]
fn the_release_workflow_builds_every_platform_of_the_manifest() {
    let text =
        std::fs::read_to_string(repo().join(".github/workflows/release.yml")).expect("release.yml");
    let w = parse(&text);
    let include = w
        .pointer("/jobs/build/strategy/matrix/include")
        .and_then(Value::as_array)
        .expect("jobs.build.strategy.matrix.include");
    let mut built = HashSet::new();
    for entry in include {
        let field = |k: &str| entry[k].as_str().unwrap_or_default().to_owned();
        let (os, arch, target) = (field("os"), field("arch"), field("target"));
        let cpu = match arch.as_str() {
            "amd64" => "x86_64",
            "arm64" => "aarch64",
            other => panic!("arch {other}"),
        };
        let system = match os.as_str() {
            "linux" => "unknown-linux-musl",
            "darwin" => "apple-darwin",
            "windows" => "pc-windows-msvc",
            other => panic!("os {other}"),
        };
        assert_eq!(target, format!("{cpu}-{system}"), "{os}/{arch}");
        assert!(!field("runner").is_empty(), "{os}/{arch} has a runner");
        built.insert((os, arch));
    }
    let named: HashSet<(String, String)> = manifest()["spec"]["platforms"]
        .as_array()
        .expect("platforms")
        .iter()
        .map(|p| {
            let l = &p["selector"]["matchLabels"];
            (
                l["os"].as_str().unwrap_or_default().to_owned(),
                l["arch"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(built, named);

    let runs = |job: &str| -> String {
        w.pointer(&format!("/jobs/{job}/steps"))
            .and_then(Value::as_array)
            .expect("steps")
            .iter()
            .filter_map(|s| s["run"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let build = runs("build");
    assert!(
        build.contains("-p kubectl-hpccache -p az-hpccache-ext"),
        "{build}"
    );
    assert!(
        build.contains("for bin in kubectl-hpccache az-hpccache-ext"),
        "{build}"
    );
    assert!(build.contains("scripts/package.sh"), "{build}");
    let release = runs("release");
    for want in [
        "scripts/krew-manifest.sh write",
        "scripts/krew-manifest.sh check",
        "SHA256SUMS",
        "validate-krew-manifest",
    ] {
        assert!(
            release.contains(want),
            "release job lacks {want}: {release}"
        );
    }
    assert_eq!(w["on"]["push"]["tags"][0], "v*");
}

/// The extension's archive: its binary and LICENSE, not the plugin's completion script.
#[test]
fn the_extension_archive_holds_its_binary_and_the_license() {
    let dir = tempfile::tempdir().expect("tempdir");
    let build = dir.path().join("build");
    std::fs::create_dir_all(&build).expect("mkdir");
    std::fs::write(build.join("az-hpccache-ext"), "#!/bin/sh\n").expect("fake binary");
    let dist = dir.path().join("dist");
    let o = script("package.sh")
        .args(["az-hpccache-ext", "linux", "amd64"])
        .arg(&build)
        .arg(&dist)
        .output()
        .expect("package.sh runs");
    assert!(o.status.success(), "{}", text(&o));
    let archive = dist.join("az-hpccache-ext-linux-amd64.tar.gz");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        archive.display().to_string()
    );
    let o = Command::new("tar")
        .arg("-tvzf")
        .arg(&archive)
        .output()
        .expect("tar");
    assert!(o.status.success(), "{}", text(&o));
    let listing = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut names: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["LICENSE", "az-hpccache-ext"], "{listing}");
    let binary = listing
        .lines()
        .find(|l| l.ends_with(" az-hpccache-ext"))
        .expect("binary listed");
    assert!(binary.starts_with("-rwxr-xr-x"), "{binary}");
}

/// Bad arguments: a usage line, exit 2, no archive.
#[test]
fn package_sh_refuses_an_unknown_binary_or_platform() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dist = dir.path().join("dist");
    for args in [
        ["kubectl-foo", "linux", "amd64"],
        ["kubectl-hpccache", "freebsd", "amd64"],
        ["kubectl-hpccache", "linux", "riscv64"],
    ] {
        let o = script("package.sh")
            .args(args)
            .arg(dir.path())
            .arg(&dist)
            .output()
            .expect("package.sh runs");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("usage: package.sh"),
            "{}",
            text(&o)
        );
        assert!(!dist.exists(), "{args:?} wrote {}", dist.display());
    }
}
