//! The emulated Lustre client path: [`LustreFabric`] on the world, as a node's
//! `mount.lustre` and shell would see an Azure Managed Lustre file system.
//!
//! A mount reaches the file system through its MGS address: the address must belong to an
//! `amlFilesystems` resource that is provisioned and `Available`, whose filesystem subnet is
//! in the cluster's vnet or in a vnet `Connected` to it by peering; the filesystem name
//! must be `lustrefs`. A `sub-dir` is created on first mount (as the CSI driver does), owned
//! by root, mode 0755. Files live in the resource's sandbox data and stay dirty until an
//! archive writes them to the data container. Root squash follows `rootSquashSettings`:
//! clients whose NID (`<address>@tcp`) is not in `noSquashNidLists` are squashed (root only,
//! or every user) to `squashUID`/`squashGID`.
//!
//! Messages are what the node prints: `mount.lustre` (lustre-release, utils/mount_lustre.c)
//! reports an unreachable MGS as `Input/output error` followed by `Is the MGS running?`, and
//! an unknown filesystem name as `No such file or directory` followed by its three hints;
//! a failed `mkdir` of the sub-directory is Go's `os.Mkdir` error, as the driver returns it;
//! a refused write is busybox `sh`'s `can't create ...: Permission denied`.

use std::collections::BTreeMap;

use hpccache_core::probe;
use serde_json::Value;

use super::amlfs::hsm::{ensure_parents, norm_path};
use super::amlfs::nid::NidList;
use super::nfs::WorldFabric;
use super::peerings;
use crate::fabric::{Identity, LustreFabric, LustreTarget, MountFailure};
use crate::world::{FileEntry, Resource, World, key, types};

/// The name every Azure Managed Lustre filesystem has.
pub const FS_NAME: &str = "lustrefs";
/// The mount point named in `mount.lustre`'s messages (the kubelet's own path is not part
/// of the fabric contract).
pub const NODE_MOUNT_POINT: &str = "/mnt";

fn fail(message: String) -> MountFailure {
    MountFailure { message }
}

fn source(target: &LustreTarget) -> String {
    let mut s = format!("{}@tcp:/{}", target.mgs_address, target.fs_name);
    if let Some(sub) = sub_path(target) {
        s.push_str(&sub);
    }
    s
}

/// `/sub/dir` of the target, if it mounts a sub-directory.
fn sub_path(target: &LustreTarget) -> Option<String> {
    target
        .sub_dir
        .as_deref()
        .map(norm_path)
        .filter(|p| p != "/")
}

/// The file system `target` names, checked as a node's `mount.lustre` would find it.
fn locate<'w>(
    w: &'w World,
    cluster_id: &str,
    target: &LustreTarget,
) -> Result<&'w Resource, MountFailure> {
    let at = format!(
        "mount.lustre: mount {}@tcp:/{} at {NODE_MOUNT_POINT} failed:",
        target.mgs_address, target.fs_name
    );
    let unreachable = || fail(format!("{at} Input/output error\nIs the MGS running?"));
    let cluster = w.cluster(cluster_id).ok_or_else(unreachable)?;
    let fs = w
        .of_type(types::AML_FILESYSTEM)
        .find(|r| {
            r.body
                .pointer("/properties/clientInfo/mgsAddress")
                .and_then(Value::as_str)
                == Some(target.mgs_address.as_str())
        })
        .ok_or_else(unreachable)?;
    let subnet = fs.body["properties"]["filesystemSubnet"]
        .as_str()
        .unwrap_or_default();
    let fs_vnet = subnet.rsplitn(3, '/').nth(2).unwrap_or_default();
    let reachable =
        key(fs_vnet) == key(&cluster.vnet_id) || peerings::connected(w, &cluster.vnet_id, fs_vnet);
    if !reachable {
        return Err(unreachable());
    }
    let p = &fs.body["properties"];
    if p["provisioningState"] != "Succeeded" || p["health"]["state"] != "Available" {
        return Err(unreachable());
    }
    if target.fs_name != FS_NAME {
        return Err(fail(format!(
            "{at} No such file or directory\nIs the MGS specification correct?\nIs the filesystem name correct?\nIf upgrading, is the copied client log valid? (see upgrade docs)"
        )));
    }
    Ok(fs)
}

/// (uid, gid) the file system sees for `who` on the node at `node_address`.
fn squashed(fs: &Value, node_address: &str, who: Identity) -> (u32, u32) {
    let s = &fs["properties"]["rootSquashSettings"];
    let mode = s["mode"].as_str().unwrap_or("None");
    let trusted = s["noSquashNidLists"]
        .as_str()
        .and_then(|l| NidList::parse(l).ok())
        .is_some_and(|l| l.contains(node_address));
    let squash = match mode {
        "All" => !trusted,
        "RootOnly" => !trusted && who.uid == 0,
        _ => false,
    };
    if squash {
        let id = |k: &str| {
            s[k].as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(super::nfs::NOBODY)
        };
        (id("squashUID"), id("squashGID"))
    } else {
        (who.uid, who.gid)
    }
}

const ROOT_DIR: FileEntry = FileEntry {
    uid: 0,
    gid: 0,
    mode: 0o755,
    dir: true,
    dirty: false,
};

/// The entry of a directory (the root when not listed).
fn dir_entry(files: &BTreeMap<String, FileEntry>, path: &str) -> Option<FileEntry> {
    if path == "/" {
        return Some(files.get("/").cloned().unwrap_or(ROOT_DIR));
    }
    files.get(path).filter(|f| f.dir).cloned()
}

/// Whether (uid, gid) may create an entry in the directory `dir`.
fn may_write(dir: &FileEntry, uid: u32, gid: u32) -> bool {
    uid == 0
        || (dir.uid == uid && dir.mode & 0o200 != 0)
        || (dir.uid != uid && dir.gid == gid && dir.mode & 0o020 != 0)
        || (dir.uid != uid && dir.gid != gid && dir.mode & 0o002 != 0)
}

fn parent_of(path: &str) -> String {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/".to_string(),
        Some((p, _)) => p.to_string(),
    }
}

/// Mounts: checks the path, creates the sub-directory (as root on the node, squashed like
/// any client) when missing. Returns the file system id and the mounted directory.
fn mount(
    w: &mut World,
    cluster_id: &str,
    node_address: &str,
    target: &LustreTarget,
) -> Result<(String, String), MountFailure> {
    let fs = locate(w, cluster_id, target)?.clone();
    let Some(sub) = sub_path(target) else {
        return Ok((fs.id, "/".to_string()));
    };
    if dir_entry(&fs.sandbox.files, &sub).is_some() {
        return Ok((fs.id, sub));
    }
    if fs.sandbox.files.contains_key(&sub) {
        return Err(fail(format!(
            "mkdir {NODE_MOUNT_POINT}{sub}: not a directory"
        )));
    }
    let (uid, gid) = squashed(&fs.body, node_address, Identity { uid: 0, gid: 0 });
    // The nearest existing ancestor decides, as for `mkdir -p`.
    let mut missing = vec![sub.clone()];
    let mut at = parent_of(&sub);
    while dir_entry(&fs.sandbox.files, &at).is_none() {
        missing.push(at.clone());
        at = parent_of(&at);
    }
    let parent = dir_entry(&fs.sandbox.files, &at).unwrap_or(ROOT_DIR);
    if !may_write(&parent, uid, gid) {
        let first = missing.last().cloned().unwrap_or(sub.clone());
        return Err(fail(format!(
            "mkdir {NODE_MOUNT_POINT}{first}: permission denied"
        )));
    }
    if let Some(r) = w.get_mut(&fs.id) {
        for dir in missing {
            r.sandbox.files.insert(
                dir,
                FileEntry {
                    uid,
                    gid,
                    mode: 0o755,
                    dir: true,
                    dirty: false,
                },
            );
        }
    }
    Ok((fs.id, sub))
}

/// busybox `df -P -h` size of the file system (`16.0T`).
fn df_size(fs: &Value) -> String {
    let tib = fs["properties"]["storageCapacityTiB"]
        .as_f64()
        .unwrap_or(0.0);
    if tib >= 1024.0 {
        format!("{:.1}P", tib / 1024.0)
    } else {
        format!("{tib:.1}T")
    }
}

impl WorldFabric {
    /// Sets owner and mode of a directory of a file system (as `chown`/`chmod` by root from
    /// a trusted client would), creating it and its parents when missing.
    pub fn set_lustre_owner(&self, fs_id: &str, path: &str, uid: u32, gid: u32, mode: u32) -> bool {
        self.with_world(|w| match w.get_mut(fs_id) {
            Some(r) => {
                let path = norm_path(path);
                ensure_parents(&mut r.sandbox.files, &path);
                r.sandbox.files.insert(
                    path,
                    FileEntry {
                        uid,
                        gid,
                        mode,
                        dir: true,
                        dirty: false,
                    },
                );
                true
            }
            None => false,
        })
    }

    /// Writes `name` in the mounted directory as `who` from the node at `node_address` (a
    /// pod writing a file): the file is dirty until an archive writes it to Blob storage.
    pub fn write_lustre_file(
        &self,
        cluster_id: &str,
        node_address: &str,
        target: &LustreTarget,
        who: Identity,
        name: &str,
    ) -> Result<(), MountFailure> {
        self.with_world(|w| {
            let (fs_id, dir) = mount(w, cluster_id, node_address, target)?;
            let fs = w.get(&fs_id).cloned().ok_or_else(|| fail(String::new()))?;
            let (uid, gid) = squashed(&fs.body, node_address, who);
            let path = format!("{}/{}", dir.trim_end_matches('/'), name.trim_matches('/'));
            let shown = format!("{NODE_MOUNT_POINT}{path}");
            let parent = parent_of(&path);
            let denied = || fail(format!("sh: can't create {shown}: Permission denied"));
            let Some(d) = dir_entry(&fs.sandbox.files, &parent) else {
                return Err(fail(format!(
                    "sh: can't create {shown}: No such file or directory"
                )));
            };
            if !may_write(&d, uid, gid) {
                return Err(denied());
            }
            if let Some(r) = w.get_mut(&fs_id) {
                ensure_parents(&mut r.sandbox.files, &path);
                r.sandbox.files.insert(
                    path,
                    FileEntry {
                        uid,
                        gid,
                        mode: 0o644,
                        dir: false,
                        dirty: true,
                    },
                );
            }
            Ok(())
        })
    }
}

impl LustreFabric for WorldFabric {
    fn mount_lustre(
        &self,
        cluster_id: &str,
        node_address: &str,
        target: &LustreTarget,
    ) -> Result<(), MountFailure> {
        self.with_world(|w| mount(w, cluster_id, node_address, target).map(|_| ()))
    }

    fn probe_lustre(
        &self,
        cluster_id: &str,
        node_address: &str,
        target: &LustreTarget,
        mount_point: &str,
        who: Identity,
    ) -> Result<probe::Report, MountFailure> {
        self.with_world(|w| {
            let (fs_id, dir) = mount(w, cluster_id, node_address, target)?;
            let fs = w.get(&fs_id).cloned().ok_or_else(|| fail(String::new()))?;
            let (uid, gid) = squashed(&fs.body, node_address, who);
            let ok = dir_entry(&fs.sandbox.files, &dir).is_some_and(|d| may_write(&d, uid, gid));
            let size = df_size(&fs.body);
            Ok(probe::Report {
                v: probe::REPORT_VERSION,
                mount_point: mount_point.to_string(),
                source: source(target),
                size: size.clone(),
                used: "0".into(),
                available: size,
                use_percent: "0%".into(),
                write: ok,
                read: ok,
                uid: who.uid,
                gid: who.gid,
                error: (!ok).then(|| {
                    format!(
                        "sh: can't create {}/{}: Permission denied",
                        mount_point.trim_end_matches('/'),
                        probe::PROBE_FILE
                    )
                }),
            })
        })
    }
}
