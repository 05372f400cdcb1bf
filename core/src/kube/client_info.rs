//! The filesystem's own idea of its Kubernetes volume: `clientInfo.containerStorageInterface
//! .persistentVolume` (base64 YAML) of a Managed Lustre filesystem, read through ARM and
//! compared with the PV `mount` applies. Where ARM is at hand (`az-hpccache-ext attach`,
//! `up --attach`), a stale state file or a hand-edited volume shows up as a failed check.

use base64::Engine;
use k8s_openapi::api::core::v1::PersistentVolume;
use serde_json::Value;

use super::manifests::{self, VolumeSource};

/// What the filesystem's example PV says a volume needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfoVolume {
    pub driver: String,
    pub mgs_address: String,
    pub fs_name: String,
    pub mount_options: Vec<String>,
}

/// Decodes the example PV of a filesystem as ARM returns it (`properties.clientInfo`);
/// `Err` says what is missing or unreadable.
pub fn from_filesystem(fs: &Value) -> Result<ClientInfoVolume, String> {
    let ci = &fs["properties"]["clientInfo"];
    let encoded = ci["containerStorageInterface"]["persistentVolume"]
        .as_str()
        .ok_or("the filesystem's clientInfo has no containerStorageInterface.persistentVolume")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| format!("clientInfo's persistentVolume is not base64: {e}"))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| "clientInfo's persistentVolume is not UTF-8".to_string())?;
    let pv: Value = serde_saphyr::from_str(&text)
        .map_err(|e| format!("clientInfo's persistentVolume is not YAML: {e}"))?;
    let csi = &pv["spec"]["csi"];
    if !csi["driver"].is_string() {
        return Err("clientInfo's persistentVolume has no spec.csi.driver".into());
    }
    let text_of = |v: &Value| v.as_str().unwrap_or_default().to_string();
    Ok(ClientInfoVolume {
        driver: text_of(&csi["driver"]),
        // The example's address, else the filesystem's own.
        mgs_address: csi["volumeAttributes"]["mgs-ip-address"]
            .as_str()
            .or(ci["mgsAddress"].as_str())
            .unwrap_or_default()
            .to_string(),
        fs_name: text_of(&csi["volumeAttributes"]["fs-name"]),
        mount_options: pv["spec"]["mountOptions"]
            .as_array()
            .map(|a| a.iter().map(text_of).collect())
            .unwrap_or_default(),
    })
}

/// One difference between the filesystem's example and our PV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub field: &'static str,
    pub ours: String,
    pub filesystem: String,
    /// A volume that differs here does not mount the filesystem.
    pub breaks: bool,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: the volume has {:?}, the filesystem's clientInfo {:?}",
            self.field, self.ours, self.filesystem
        )
    }
}

/// Every field where `pv` differs from the filesystem's example: driver, `mgs-ip-address`
/// and `fs-name` break the volume; mount options are a matter of choice and only reported.
pub fn compare(want: &ClientInfoVolume, pv: &PersistentVolume) -> Vec<Difference> {
    let driver = pv
        .spec
        .as_ref()
        .and_then(|s| s.csi.as_ref())
        .map(|c| c.driver.clone())
        .unwrap_or_else(|| "(no CSI source)".into());
    let (mgs, fs) = match manifests::source_of(pv) {
        Some(VolumeSource::Lustre {
            mgs_address,
            fs_name,
            ..
        }) => (mgs_address, fs_name),
        _ => (String::new(), String::new()),
    };
    let options = pv
        .spec
        .as_ref()
        .and_then(|s| s.mount_options.clone())
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut diff = |field, ours: String, theirs: &str, breaks| {
        if ours != theirs {
            out.push(Difference {
                field,
                ours,
                filesystem: theirs.to_string(),
                breaks,
            });
        }
    };
    diff("csi.driver", driver, &want.driver, true);
    diff("mgs-ip-address", mgs, &want.mgs_address, true);
    diff("fs-name", fs, &want.fs_name, true);
    diff(
        "mountOptions",
        options.join(","),
        &want.mount_options.join(","),
        false,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::manifests::{LUSTRE_MOUNT_OPTIONS, VolumeSpec, pair};
    use serde_json::json;

    fn filesystem(yaml: &str) -> Value {
        let b = base64::engine::general_purpose::STANDARD.encode(yaml);
        json!({"properties": {"clientInfo": {"mgsAddress": "10.0.1.4",
            "containerStorageInterface": {"persistentVolume": b}}}})
    }

    fn our_pv(mgs: &str, fs: &str) -> PersistentVolume {
        let spec = VolumeSpec {
            deployment: "MyLustre".into(),
            source: VolumeSource::Lustre {
                mgs_address: mgs.into(),
                fs_name: fs.into(),
                sub_dir: None,
            },
            size: "8Ti".into(),
            mount_options: LUSTRE_MOUNT_OPTIONS.map(String::from).to_vec(),
            pv: None,
            claim: None,
        };
        pair(&spec, "default", false).pv
    }

    const EXAMPLE: &str = "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: pv-mylustre\nspec:\n  csi:\n    driver: azurelustre.csi.azure.com\n    volumeAttributes:\n      fs-name: lustrefs\n      mgs-ip-address: 10.0.1.4\n    volumeHandle: x\n  mountOptions:\n  - noatime\n  - flock\n";

    #[test]
    fn our_volume_matches_the_filesystems_example() {
        let want = from_filesystem(&filesystem(EXAMPLE)).unwrap();
        assert_eq!(want.driver, "azurelustre.csi.azure.com");
        assert!(compare(&want, &our_pv("10.0.1.4", "lustrefs")).is_empty());
    }

    #[test]
    fn each_difference_is_named_and_judged() {
        let want = from_filesystem(&filesystem(EXAMPLE)).unwrap();
        let d = compare(&want, &our_pv("10.0.9.9", "otherfs"));
        let fields: Vec<_> = d.iter().map(|d| (d.field, d.breaks)).collect();
        assert_eq!(fields, [("mgs-ip-address", true), ("fs-name", true)]);
        assert!(d[0].to_string().contains("\"10.0.9.9\""));
        let mut pv = our_pv("10.0.1.4", "lustrefs");
        pv.spec.as_mut().unwrap().mount_options = Some(vec!["noatime".into()]);
        let d = compare(&want, &pv);
        assert_eq!(d.len(), 1);
        assert!(!d[0].breaks);
    }

    #[test]
    fn a_filesystem_without_client_info_says_so() {
        assert!(from_filesystem(&json!({"properties": {}})).is_err());
        assert!(from_filesystem(&filesystem("[unclosed")).is_err());
        assert!(from_filesystem(&filesystem("just text")).is_err());
    }
}
