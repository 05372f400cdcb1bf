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
