//! krew-manifest.yaml against krew's validation rules (krew's pkg/index/validation and
//! the krew-index checks): the manifest itself passes, and each rule is shown to fire on
//! a manifest broken in that one way.

use std::collections::HashSet;

use serde_json::Value;

fn manifest() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../krew-manifest.yaml");
    let text = std::fs::read_to_string(path).expect("krew-manifest.yaml at the repo root");
    serde_saphyr::from_str(&text).expect("manifest is YAML")
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
fn manifest_passes_krew_validation() {
    assert_eq!(problems(&manifest()), Vec::<String>::new());
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

fn broken(edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut m = manifest();
    edit(&mut m);
    problems(&m)
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
            "no platform for windows/amd64",
            Box::new(|m| {
                m["spec"]["platforms"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|p| p["selector"]["matchLabels"]["os"] != "windows");
            }),
        ),
    ];
    for (rule, edit) in cases {
        let found = broken(edit);
        assert!(
            found.iter().any(|p| p.contains(rule)),
            "rule {rule:?} did not fire: {found:?}"
        );
    }
}
