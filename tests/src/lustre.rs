//! A Managed Lustre deployment for the cluster-side tests: the filesystem made in the
//! sandbox through ARM (register the provider, a subnet, the PUT, its operation followed to
//! the end), and the state file `up --backend amlfs` leaves, written from the filesystem's
//! `clientInfo`.

use std::time::{Duration, Instant};

use hpccache_core::deploy::keys;
use hpccache_core::state::{Backend, LustreInfo, Resource, State};
use serde_json::{Value, json};

use crate::Scratch;

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const NODE_RG: &str = "MC_myResourceGroup_myAKSCluster_eastus";
const SKU: &str = "AMLFS-Durable-Premium-250";

/// The filesystem a test wants.
#[derive(Debug, Clone)]
pub struct LustreSetup {
    /// The deployment, also the filesystem's name.
    pub name: String,
    /// The filesystem's subnet (in the cluster's vnet, `aks-vnet-12345678`).
    pub subnet: String,
    pub prefix: String,
    /// `None`, `RootOnly` or `All`, squashing to 65534:65534.
    pub root_squash: String,
    pub capacity_tib: u64,
}

impl LustreSetup {
    pub fn new(name: &str) -> Self {
        LustreSetup {
            name: name.into(),
            subnet: format!("{name}Subnet"),
            prefix: "10.226.0.0/24".into(),
            root_squash: "None".into(),
            capacity_tib: 8,
        }
    }

    pub fn root_squash(mut self, mode: &str) -> Self {
        self.root_squash = mode.into();
        self
    }

    pub fn subnet(mut self, name: &str, prefix: &str) -> Self {
        self.subnet = name.into();
        self.prefix = prefix.into();
        self
    }

    pub fn filesystem_id(&self) -> String {
        format!(
            "/subscriptions/{SUB}/resourceGroups/myResourceGroup/providers/Microsoft.StorageCache/amlFilesystems/{}",
            self.name
        )
    }

    fn subnet_id(&self) -> String {
        format!(
            "/subscriptions/{SUB}/resourceGroups/{NODE_RG}/providers/Microsoft.Network/virtualNetworks/aks-vnet-12345678/subnets/{}",
            self.subnet
        )
    }
}

struct Arm {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Arm {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        api: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}?api-version={api}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("ARM request");
        let code = resp.status().as_u16();
        (code, resp.json().await.unwrap_or(Value::Null))
    }

    /// GETs `path` until `done` accepts the body.
    async fn until(&self, path: &str, api: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, v) = self.send(reqwest::Method::GET, path, api, None).await;
            if done(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "{path} never got there: {v}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Scratch {
    /// Makes the filesystem in this scratch home's sandbox world through ARM and writes the
    /// deployment's state file (backend `amlfs`, cluster myAKSCluster). Returns the state.
    pub fn amlfs_deployment(&self, setup: &LustreSetup) -> State {
        use hpccache_sandbox::local::{LocalOptions, LocalSandbox};
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let fs = rt.block_on(async {
            let opts = LocalOptions {
                start_clusters: false,
                time_scale: Some(0.0),
                ..LocalOptions::default()
            };
            let sb = LocalSandbox::open(&self.deployments_dir(), opts, |_| {})
                .await
                .expect("open the sandbox world");
            let arm = Arm {
                base: sb.running().arm_endpoint(),
                token: sb.running().arm_token(),
                http: reqwest::Client::new(),
            };
            let provider = format!("/subscriptions/{SUB}/providers/Microsoft.StorageCache");
            arm.send(reqwest::Method::POST, &format!("{provider}/register"), "2025-04-01", None)
                .await;
            arm.until(&provider, "2025-04-01", |v| v["registrationState"] == "Registered")
                .await;
            let (code, v) = arm
                .send(
                    reqwest::Method::PUT,
                    &setup.subnet_id(),
                    "2024-07-01",
                    Some(json!({"properties": {"addressPrefix": setup.prefix}})),
                )
                .await;
            assert!(code == 200 || code == 201, "subnet: {code} {v}");
            arm.until(&setup.subnet_id(), "2024-07-01", |v| {
                v["properties"]["provisioningState"] == "Succeeded"
            })
            .await;
            let mut props = json!({
                "storageCapacityTiB": setup.capacity_tib,
                "filesystemSubnet": setup.subnet_id(),
                "maintenanceWindow": {"dayOfWeek": "Saturday", "timeOfDayUTC": "22:00"}
            });
            if setup.root_squash != "None" {
                props["rootSquashSettings"] = json!({"mode": setup.root_squash,
                    "squashUID": 65534, "squashGID": 65534, "noSquashNidLists": ""});
            }
            let body = json!({"location": "eastus", "zones": ["1"], "sku": {"name": SKU}, "properties": props});
            let id = setup.filesystem_id();
            let (code, v) = arm
                .send(reqwest::Method::PUT, &id, "2024-03-01", Some(body))
                .await;
            assert!(code == 200 || code == 201, "filesystem: {code} {v}");
            let fs = arm
                .until(&id, "2024-03-01", |v| {
                    v["properties"]["provisioningState"] == "Succeeded"
                })
                .await;
            sb.close().expect("save the world");
            fs
        });
        let p = &fs["properties"];
        let mut state = crate::sample_state();
        state.deployment = setup.name.clone();
        state.backend = Backend::Amlfs;
        state.sandbox = true;
        state.resources.clear();
        state.cache = None;
        state.dns = None;
        state.namespace_paths.clear();
        state.resources.insert(
            keys::AML_FILESYSTEM.to_string(),
            Resource {
                id: setup.filesystem_id(),
                created: true,
                tagged: false,
            },
        );
        state.resources.insert(
            "subnet".to_string(),
            Resource {
                id: setup.subnet_id(),
                created: true,
                tagged: false,
            },
        );
        let squash = |k: &str| {
            p["rootSquashSettings"][k]
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
        };
        state.lustre = Some(LustreInfo {
            sku: SKU.into(),
            storage_capacity_tib: setup.capacity_tib,
            mgs_address: p["clientInfo"]["mgsAddress"]
                .as_str()
                .expect("an MGS address")
                .to_string(),
            filesystem_name: "lustrefs".into(),
            mount_command: p["clientInfo"]["mountCommand"].as_str().map(String::from),
            root_squash_mode: setup.root_squash.clone(),
            squash_uid: squash("squashUID"),
            squash_gid: squash("squashGID"),
            hsm: false,
        });
        self.write_state(&setup.name, &state);
        state
    }
}
