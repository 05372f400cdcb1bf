//! What the kube_* tests share: a fake fabric (NFS exports and Lustre filesystems)
//! standing in for the Azure half, a served cluster, and a kubeconfig for kubectl and
//! kube-rs.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hpccache_core::{owner, probe};
use hpccache_sandbox::fabric::{
    Chown, Identity, LustreFabric, LustreTarget, MountFailure, NfsFabric,
};
use hpccache_sandbox::kube::{self, ClusterInfo, ClusterState, LustreCsi, RunningCluster};

pub const TOKEN: &str = "sandbox-token";
pub const SERVER: &str = "server.myhpccache.local";
pub const CLUSTER_ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.ContainerService/managedClusters/myAKSCluster";

/// The MGS address of the fake's Azure Managed Lustre filesystem.
pub const MGS: &str = "10.0.2.4";

/// A Lustre filesystem the fake fabric knows.
#[derive(Debug, Clone)]
pub struct LustreFs {
    pub mgs: String,
    /// `lustrefs` on Azure Managed Lustre.
    pub fs_name: String,
    /// Provisioned and health `Available`.
    pub healthy: bool,
    /// Its subnet is in the cluster's vnet or a peered one.
    pub reachable: bool,
    /// Clients are squashed to 65534 unless root squash is off.
    pub root_squash: bool,
    /// Owner of the filesystem's root (mode 0755).
    pub owner_uid: u32,
}

impl Default for LustreFs {
    fn default() -> Self {
        LustreFs {
            mgs: MGS.into(),
            fs_name: "lustrefs".into(),
            healthy: true,
            reachable: true,
            root_squash: false,
            owner_uid: 0,
        }
    }
}

/// The world as the fake fabric sees it: which name resolves, whether the cache runs,
/// which paths are exported, who may write, and the Lustre filesystems.
#[derive(Debug, Clone)]
pub struct World {
    pub zone_linked: bool,
    pub cache_running: bool,
    /// Namespace paths of the storage targets.
    pub junctions: Vec<String>,
    pub root_squash: bool,
    /// Owner of the export's root directory (mode 0755).
    pub owner_uid: u32,
    pub lustre: Vec<LustreFs>,
}

impl Default for World {
    fn default() -> Self {
        World {
            zone_linked: true,
            cache_running: true,
            junctions: vec!["/myfilepath".into()],
            root_squash: false,
            owner_uid: 0,
            lustre: vec![LustreFs::default()],
        }
    }
}

/// A Lustre mount the fake was asked for: cluster id, node address, target.
pub type LustreCall = (String, String, LustreTarget);

/// A test double of the Azure half, with the failure messages a node prints.
#[derive(Debug, Default)]
pub struct FakeFabric {
    pub world: Mutex<World>,
    pub mounts: Mutex<Vec<(String, String, String)>>,
    pub lustre_mounts: Mutex<Vec<LustreCall>>,
}

impl FakeFabric {
    pub fn set(&self, f: impl FnOnce(&mut World)) {
        let mut w = self.world.lock().unwrap();
        f(&mut w);
    }

    fn check(&self, cluster_id: &str, server: &str, path: &str) -> Result<World, MountFailure> {
        self.mounts
            .lock()
            .unwrap()
            .push((cluster_id.into(), server.into(), path.into()));
        let w = self.world.lock().unwrap().clone();
        let fail = |m: String| Err(MountFailure { message: m });
        if server != SERVER || !w.zone_linked || cluster_id != CLUSTER_ID {
            return fail(format!(
                "mount.nfs: Failed to resolve server {server}: Name or service not known"
            ));
        }
        if !w.cache_running {
            return fail("mount.nfs: Connection timed out".into());
        }
        let exported = path == "/"
            || w.junctions
                .iter()
                .any(|j| path == j || path.starts_with(&format!("{j}/")));
        if !exported {
            return fail(format!(
                "mount.nfs: access denied by server while mounting {server}:{path}"
            ));
        }
        Ok(w)
    }
}

impl NfsFabric for FakeFabric {
    /// Gives the export's root to `job.owner` (only its uid is modelled), as root with root
    /// squash off may; root squashed is nobody, who may not.
    fn chown(&self, cluster_id: &str, job: &Chown) -> Result<owner::Report, MountFailure> {
        let w = self.check(cluster_id, &job.server, &job.path)?;
        let squashed = job.who.uid == 0 && w.root_squash;
        let (changed, error) = if w.owner_uid == job.owner.uid {
            (false, None)
        } else if job.who.uid != 0 || squashed {
            (
                false,
                Some(format!(
                    "chown: {}: Operation not permitted",
                    job.mount_point
                )),
            )
        } else {
            self.set(|w| w.owner_uid = job.owner.uid);
            (true, None)
        };
        Ok(owner::Report {
            v: owner::REPORT_VERSION,
            dir: job.mount_point.clone(),
            uid: job.owner.uid,
            gid: job.owner.gid,
            changed,
            error,
        })
    }

    fn mount(&self, cluster_id: &str, server: &str, path: &str) -> Result<(), MountFailure> {
        self.check(cluster_id, server, path).map(|_| ())
    }

    fn probe(
        &self,
        cluster_id: &str,
        server: &str,
        path: &str,
        mount_point: &str,
        who: Identity,
    ) -> Result<probe::Report, MountFailure> {
        let w = self.check(cluster_id, server, path)?;
        let effective = if who.uid == 0 && w.root_squash {
            65534
        } else {
            who.uid
        };
        let write = effective == 0 || effective == w.owner_uid;
        Ok(probe::Report {
            v: probe::REPORT_VERSION,
            mount_point: mount_point.into(),
            source: format!("{server}:{path}"),
            size: "8.0E".into(),
            used: "0".into(),
            available: "8.0E".into(),
            use_percent: "0%".into(),
            write,
            read: write,
            uid: who.uid,
            gid: who.gid,
            error: (!write).then(|| {
                format!(
                    "sh: can't create {mount_point}/{}: Permission denied",
                    probe::PROBE_FILE
                )
            }),
        })
    }
}

pub fn info() -> ClusterInfo {
    ClusterInfo {
        arm_id: CLUSTER_ID.into(),
        name: "myAKSCluster".into(),
        nodes: vec![
            "aks-nodepool1-12345678-vmss000000".into(),
            "aks-nodepool1-12345678-vmss000001".into(),
            "aks-nodepool1-12345678-vmss000002".into(),
        ],
        kubernetes_version: "1.33.2".into(),
        lustre_csi: LustreCsi::Absent,
        time_scale: 0.0,
    }
}

pub struct Cluster {
    pub running: RunningCluster,
    pub fabric: Arc<FakeFabric>,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

pub async fn start() -> Cluster {
    start_with(ClusterState::default()).await
}

pub async fn start_with(state: ClusterState) -> Cluster {
    start_cluster(state, info()).await
}

/// A cluster with the Lustre CSI driver as `lustre_csi` says, the node plugins taking a
/// `time_scale`d install.
pub async fn start_lustre(lustre_csi: LustreCsi, time_scale: f64) -> Cluster {
    let info = ClusterInfo {
        lustre_csi,
        time_scale,
        ..info()
    };
    start_cluster(ClusterState::default(), info).await
}

pub async fn start_cluster(state: ClusterState, info: ClusterInfo) -> Cluster {
    let fabric = Arc::new(FakeFabric::default());
    let running = kube::serve(state, info, fabric.clone(), TOKEN.into())
        .await
        .expect("serve");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        kube::kubeconfig(
            &running.url(),
            TOKEN,
            "myAKSCluster",
            "clusterUser_myResourceGroup_myAKSCluster",
        ),
    )
    .expect("write kubeconfig");
    Cluster {
        running,
        fabric,
        dir,
        kubeconfig,
    }
}

impl Cluster {
    /// A kube-rs client for this cluster, through the kubeconfig.
    pub async fn client(&self) -> ::kube::Client {
        let kc = ::kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let cfg = ::kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .expect("config");
        ::kube::Client::try_from(cfg).expect("client")
    }

    /// Raw HTTP for checks below the clients (status codes, exact bodies).
    pub async fn http(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> (u16, String) {
        http_request(
            &self.running.url(),
            Some(TOKEN),
            method,
            path,
            content_type,
            body,
        )
        .await
    }
}

/// A minimal HTTP/1.1 client, so tests see exactly what the server sends.
pub async fn http_request(
    base: &str,
    token: Option<&str>,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.expect("read");
    let text = String::from_utf8_lossy(&out).to_string();
    let code = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    // Chunked bodies: keep only the JSON/text lines.
    let body = if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&body)
    } else {
        body
    };
    (code, body)
}

fn dechunk(b: &str) -> String {
    let mut out = String::new();
    let mut rest = b;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// Polls `f` until it returns Some, for at most `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {secs}s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub const PV_NFS: &str = r#"apiVersion: v1
kind: PersistentVolume
metadata:
  name: pv-nfs
spec:
  capacity:
    storage: 10000Gi
  accessModes:
    - ReadWriteMany
  mountOptions:
    - vers=3
  nfs:
    server: server.myhpccache.local
    path: /
"#;

pub const PVC_NFS: &str = r#"apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: pvc-nfs
spec:
  accessModes:
    - ReadWriteMany
  storageClassName: ""
  resources:
    requests:
      storage: 100Gi
"#;

pub const NGINX_NFS: &str = r#"kind: Pod
apiVersion: v1
metadata:
  name: nginx-nfs
spec:
  containers:
    - image: nginx:1.15.5-alpine
      name: nginx-nfs
      command:
        - "/bin/sh"
        - "-c"
        - while true; do echo $(date) >> /mnt/azure/myfilepath/outfile; sleep 1; done
      volumeMounts:
        - name: disk01
          mountPath: /mnt/azure
  volumes:
    - name: disk01
      persistentVolumeClaim:
        claimName: pvc-nfs
"#;

impl FakeFabric {
    fn check_lustre(
        &self,
        cluster_id: &str,
        node_address: &str,
        target: &LustreTarget,
    ) -> Result<LustreFs, MountFailure> {
        self.lustre_mounts.lock().unwrap().push((
            cluster_id.into(),
            node_address.into(),
            target.clone(),
        ));
        let w = self.world.lock().unwrap().clone();
        let source = format!("{}@tcp:/{}", target.mgs_address, target.fs_name);
        let fail = |why: &str| {
            Err(MountFailure {
                message: format!("mount.lustre: mount {source} at /mnt failed: {why}"),
            })
        };
        let Some(fs) = w.lustre.iter().find(|f| f.mgs == target.mgs_address) else {
            return fail("Input/output error\nIs the MGS running?");
        };
        if cluster_id != CLUSTER_ID || !fs.reachable {
            return fail("Connection timed out");
        }
        if !fs.healthy {
            return fail("Input/output error\nIs the MGS running?");
        }
        if target.fs_name != fs.fs_name {
            return fail(
                "No such file or directory\nIs the MGS specification correct?\nIs the filesystem name correct?",
            );
        }
        Ok(fs.clone())
    }
}

impl LustreFabric for FakeFabric {
    fn mount_lustre(
        &self,
        cluster_id: &str,
        node_address: &str,
        target: &LustreTarget,
    ) -> Result<(), MountFailure> {
        self.check_lustre(cluster_id, node_address, target)
            .map(|_| ())
    }

    fn probe_lustre(
        &self,
        cluster_id: &str,
        node_address: &str,
        target: &LustreTarget,
        mount_point: &str,
        who: Identity,
    ) -> Result<probe::Report, MountFailure> {
        let fs = self.check_lustre(cluster_id, node_address, target)?;
        let effective = if who.uid == 0 && fs.root_squash {
            65534
        } else {
            who.uid
        };
        let write = effective == 0 || effective == fs.owner_uid;
        let mut source = format!("{}@tcp:/{}", target.mgs_address, target.fs_name);
        if let Some(d) = &target.sub_dir {
            source = format!("{source}/{d}");
        }
        Ok(probe::Report {
            v: probe::REPORT_VERSION,
            mount_point: mount_point.into(),
            source,
            size: "48T".into(),
            used: "0".into(),
            available: "48T".into(),
            use_percent: "0%".into(),
            write,
            read: write,
            uid: who.uid,
            gid: who.gid,
            error: (!write).then(|| {
                format!(
                    "sh: can't create {mount_point}/{}: Permission denied",
                    probe::PROBE_FILE
                )
            }),
        })
    }
}
