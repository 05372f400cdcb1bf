//! `properties.clientInfo`: the MGS address (from the filesystem subnet), the mount command
//! Azure recommends, the Lustre version, and the Kubernetes manifests for the Azure Lustre
//! CSI driver as base64 YAML, shaped like the driver's static-provisioning examples
//! (kubernetes-sigs/azurelustre-csi-driver, docs/examples: pv.yaml, pvc_pv.yaml,
//! storageclass_existing_lustre.yaml).

use std::net::Ipv4Addr;

use base64::Engine;
use serde_json::{Value, json};

use super::rules::SubnetFit;
use crate::arm::lustre::FS_NAME;

/// The Lustre version of the file system servers.
pub const LUSTRE_VERSION: &str = "2.15.0";
/// The CSI driver that mounts Azure Managed Lustre in Kubernetes.
pub const CSI_DRIVER: &str = "azurelustre.csi.azure.com";
/// Mount options Azure recommends for Lustre clients.
pub const MOUNT_OPTIONS: [&str; 2] = ["noatime", "flock"];

/// The MGS address: the first address Azure leaves free in the subnet (it keeps the first
/// four), after the addresses a cluster sharing the subnet already holds.
pub fn mgs_address(fit: &SubnetFit) -> String {
    let base = u32::from(fit.prefix.network()) + 4 + fit.taken as u32;
    Ipv4Addr::from(base).to_string()
}

/// `sudo mount -t lustre -o noatime,flock <mgs>@tcp:/lustrefs /lustrefs`.
pub fn mount_command(mgs: &str) -> String {
    format!(
        "sudo mount -t lustre -o {} {mgs}@tcp:/{FS_NAME} /{FS_NAME}",
        MOUNT_OPTIONS.join(",")
    )
}

/// A Kubernetes object name from a file system name (lower case, `_` → `-`).
fn k8s_name(prefix: &str, fs_name: &str) -> String {
    let n: String = fs_name
        .chars()
        .map(|c| match c {
            '_' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    format!("{prefix}-{n}")
}

fn yaml_base64(v: &Value) -> String {
    // A JSON object of strings, numbers and lists always renders as YAML.
    let text = serde_saphyr::to_string(v).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The three manifests (PersistentVolume, PersistentVolumeClaim, StorageClass) as the
/// `containerStorageInterface` object.
pub fn csi(fs_name: &str, mgs: &str, tib: f64) -> Value {
    let storage = format!("{}Ti", tib.round() as u64);
    let pv_name = k8s_name("pv", fs_name);
    let pv = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": pv_name},
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "capacity": {"storage": storage},
            "csi": {
                "driver": CSI_DRIVER,
                "volumeAttributes": {"fs-name": FS_NAME, "mgs-ip-address": mgs},
                "volumeHandle": format!("{fs_name}#{mgs}#{FS_NAME}")
            },
            "mountOptions": MOUNT_OPTIONS,
            "persistentVolumeReclaimPolicy": "Retain"
        }
    });
    let pvc = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": k8s_name("pvc", fs_name)},
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "resources": {"requests": {"storage": storage}},
            "storageClassName": "",
            "volumeName": pv_name
        }
    });
    let sc = json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": k8s_name("sc", fs_name)},
        "parameters": {"fs-name": FS_NAME, "mgs-ip-address": mgs},
        "provisioner": CSI_DRIVER,
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "Immediate",
        "mountOptions": MOUNT_OPTIONS
    });
    json!({
        "persistentVolume": yaml_base64(&pv),
        "persistentVolumeClaim": yaml_base64(&pvc),
        "storageClass": yaml_base64(&sc)
    })
}

/// The whole `clientInfo` object.
pub fn client_info(fs_name: &str, mgs: &str, tib: f64) -> Value {
    json!({
        "mgsAddress": mgs,
        "mountCommand": mount_command(mgs),
        "lustreVersion": LUSTRE_VERSION,
        "containerStorageInterface": csi(fs_name, mgs, tib)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_decode_to_the_csi_drivers_static_volume() {
        let c = csi("My_Fs1", "10.0.0.4", 16.0);
        let decode = |k: &str| -> Value {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(c[k].as_str().expect("string"))
                .expect("base64");
            serde_saphyr::from_str(&String::from_utf8(bytes).expect("utf8")).expect("yaml")
        };
        let pv = decode("persistentVolume");
        assert_eq!(pv["spec"]["csi"]["driver"], CSI_DRIVER);
        assert_eq!(
            pv["spec"]["csi"]["volumeAttributes"],
            json!({"fs-name": "lustrefs", "mgs-ip-address": "10.0.0.4"})
        );
        assert_eq!(pv["spec"]["capacity"]["storage"], "16Ti");
        assert_eq!(pv["metadata"]["name"], "pv-my-fs1");
        let pvc = decode("persistentVolumeClaim");
        assert_eq!(pvc["spec"]["volumeName"], "pv-my-fs1");
        assert_eq!(pvc["spec"]["storageClassName"], "");
        let sc = decode("storageClass");
        assert_eq!(sc["provisioner"], CSI_DRIVER);
        assert_eq!(
            mount_command("10.0.0.4"),
            "sudo mount -t lustre -o noatime,flock 10.0.0.4@tcp:/lustrefs /lustrefs"
        );
    }
}
