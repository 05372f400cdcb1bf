//! The emulated Lustre client path: [`LustreFabric`] on the world. A node reaches a
//! filesystem through its MGS address; the mount works only when that address belongs to an
//! `amlFilesystems` resource that is provisioned and healthy and the filesystem name matches.

use hpccache_core::probe;
use serde_json::Value;

use super::nfs::WorldFabric;
use crate::fabric::{Identity, LustreFabric, LustreTarget, MountFailure};
use crate::world::{World, types};

/// The name every Azure Managed Lustre filesystem has.
pub const FS_NAME: &str = "lustrefs";

fn fail(message: String) -> MountFailure {
    MountFailure { message }
}

/// The filesystem `target` names, checked as a node's `mount.lustre` would find it.
fn locate<'w>(w: &'w World, target: &LustreTarget) -> Result<&'w Value, MountFailure> {
    let source = format!("{}@tcp:/{}", target.mgs_address, target.fs_name);
    let fs = w
        .of_type(types::AML_FILESYSTEM)
        .map(|r| &r.body)
        .find(|b| {
            b.pointer("/properties/clientInfo/mgsAddress")
                .and_then(Value::as_str)
                == Some(target.mgs_address.as_str())
        })
        .ok_or_else(|| {
            fail(format!(
                "mount.lustre: mount {source} at /mnt failed: Input/output error"
            ))
        })?;
    let healthy = fs
        .pointer("/properties/health/state")
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("Available"));
    if !healthy {
        return Err(fail(format!(
            "mount.lustre: mount {source} at /mnt failed: Input/output error"
        )));
    }
    if target.fs_name != FS_NAME {
        return Err(fail(format!(
            "mount.lustre: mount {source} at /mnt failed: No such file or directory"
        )));
    }
    Ok(fs)
}

impl LustreFabric for WorldFabric {
    fn mount_lustre(
        &self,
        _cluster_id: &str,
        _node_address: &str,
        target: &LustreTarget,
    ) -> Result<(), MountFailure> {
        self.with_world(|w| locate(w, target).map(|_| ()))
    }

    fn probe_lustre(
        &self,
        _cluster_id: &str,
        _node_address: &str,
        target: &LustreTarget,
        mount_point: &str,
        who: Identity,
    ) -> Result<probe::Report, MountFailure> {
        self.with_world(|w| {
            locate(w, target)?;
            Ok(probe::Report {
                v: probe::REPORT_VERSION,
                mount_point: mount_point.to_string(),
                source: format!("{}@tcp:/{}", target.mgs_address, target.fs_name),
                size: "0".into(),
                used: "0".into(),
                available: "0".into(),
                use_percent: "0%".into(),
                write: who.uid == 0,
                read: who.uid == 0,
                uid: who.uid,
                gid: who.gid,
                error: (who.uid != 0).then(|| "Permission denied".to_string()),
            })
        })
    }
}
