//! CSI volumes as the kubelet mounts them. What the cluster's own objects decide comes
//! first, in the kubelet's order: a volume whose driver has no `CSIDriver` object (or
//! needs attaching) waits for an attach no external-attacher performs; a driver not
//! registered on the node (its `CSINode`) fails `MountDevice` (persistent volumes) or
//! `SetUp` (inline ones); an inline volume needs a driver that allows the `Ephemeral`
//! mode. Then the Azure Lustre driver's own checks of the volume attributes
//! (`NodePublishVolume`), and only then the node's `mount -t lustre`, which the fabric
//! answers. Every message is the text a node prints (kubelet, the driver's gRPC status,
//! mount-utils' mount error).

use std::collections::BTreeMap;

use serde_json::Value;

use super::lustre_csi::{self, DRIVER};
use super::meta;
use super::resources::{CSI_DRIVERS, CSI_NODES};
use super::store::Store;
use crate::fabric::LustreTarget;

/// A CSI volume of a pod: from a PV (`persistent`) or inline in the pod.
#[derive(Debug, Clone)]
pub struct CsiVolume<'a> {
    /// The name the kubelet reports: the PV's, or the pod volume's for inline volumes.
    pub spec_name: &'a str,
    /// The pod's volume name.
    pub pod_volume: &'a str,
    /// `spec.csi` of the PV, or the pod volume's `csi`.
    pub csi: &'a Value,
    pub persistent: bool,
    /// The PV's `mountOptions` (inline volumes have none).
    pub mount_options: Vec<String>,
    /// The volume's `readOnly`, or the pod's claim mounted read-only.
    pub read_only: bool,
}

/// What the node's Lustre client is asked to mount for a volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LustreMount {
    pub target: LustreTarget,
    /// `mount -o` options: `ro` first when read-only, then the PV's mount options.
    pub options: Vec<String>,
    /// Where the driver mounts it: `/var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~csi/<volume>/mount`.
    pub target_path: String,
}

impl LustreMount {
    /// `<mgs>@tcp:/<fs>[/<sub-dir>]`, as the driver builds the mount source.
    pub fn source(&self) -> String {
        let t = &self.target;
        let base = format!("{}@tcp:/{}", t.mgs_address, t.fs_name);
        match &t.sub_dir {
            Some(d) => format!("{base}/{d}"),
            None => base,
        }
    }

    /// The driver's answer when `mount` fails, as the kubelet's `FailedMount` shows it.
    pub fn failure(&self, volume: &str, output: &str) -> String {
        let source = self.source();
        let opts = if self.options.is_empty() {
            String::new()
        } else {
            format!(" -o {}", self.options.join(","))
        };
        format!(
            "MountVolume.SetUp failed for volume \"{volume}\" : rpc error: code = Internal desc = \
             Could not mount \"{source}\" at \"{target}\": mount failed: exit status {status}\n\
             Mounting command: mount\n\
             Mounting arguments: --no-mtab -t lustre{opts} {source} {target}\n\
             Output: {output}",
            target = self.target_path,
            status = exit_status(output),
        )
    }
}

/// Why a volume cannot mount, whatever the fabric would say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The kubelet's `FailedMount` message.
    pub message: String,
    /// The attach-detach controller's `FailedAttachVolume` message, when the volume waits
    /// for an attach.
    pub attach: Option<String>,
}

/// The way to a CSI volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Lustre(LustreMount),
    Blocked(Blocked),
}

fn blocked(message: String) -> Plan {
    Plan::Blocked(Blocked {
        message,
        attach: None,
    })
}

/// Whether the kubelet on `node` has `driver` registered. Only the Lustre driver's node
/// plugin is modelled, so only it is ever registered.
fn registered(store: &Store, node: &str, driver: &str) -> bool {
    driver == DRIVER
        && store
            .get(&CSI_NODES, None, node)
            .is_some_and(|n| lustre_csi::registered(n, driver))
}

/// Decides how `pod` (scheduled on `node`) gets volume `v`.
pub fn plan(store: &Store, pod: &Value, node: &str, v: &CsiVolume<'_>) -> Plan {
    let driver = meta::str_at(v.csi, "/driver").unwrap_or("");
    let csidriver = store.get(&CSI_DRIVERS, None, driver);
    let not_registered =
        format!("driver name {driver} not found in the list of registered CSI drivers");
    if v.persistent {
        let attach_required = csidriver
            .is_none_or(|d| meta::at(d, "/spec/attachRequired") != Some(&Value::Bool(false)));
        if attach_required {
            // No CSIDriver object (or one that wants attaching): the attach-detach
            // controller creates a VolumeAttachment that no external-attacher serves.
            let handle = meta::str_at(v.csi, "/volumeHandle").unwrap_or("");
            return Plan::Blocked(Blocked {
                message: format!(
                    "Unable to attach or mount volumes: unmounted volumes=[{pv}], unattached volumes=[{pv}], \
                     failed to process volumes=[]: timed out waiting for the condition",
                    pv = v.pod_volume
                ),
                attach: Some(format!(
                    "AttachVolume.Attach failed for volume \"{}\" : timed out waiting for external-attacher \
                     of {driver} CSI driver to attach volume {handle}",
                    v.spec_name
                )),
            });
        }
        if !registered(store, node, driver) {
            return blocked(format!(
                "MountVolume.MountDevice failed for volume \"{}\" : kubernetes.io/csi: attacher.MountDevice \
                 failed to create newCsiDriverClient: {not_registered}",
                v.spec_name
            ));
        }
    } else {
        if !registered(store, node, driver) {
            return blocked(format!(
                "MountVolume.SetUp failed for volume \"{}\" : kubernetes.io/csi: mounter.SetUpAt failed to \
                 get CSI client: {not_registered}",
                v.spec_name
            ));
        }
        let why = match csidriver {
            None => Some(format!(
                "volume mode \"Ephemeral\" not supported by driver {driver} (no CSIDriver object)"
            )),
            Some(d) => {
                let modes: Vec<String> = meta::at(d, "/spec/volumeLifecycleModes")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m.as_str().map(String::from))
                    .collect();
                (!modes.iter().any(|m| m == "Ephemeral")).then(|| {
                    let quoted: Vec<String> = modes.iter().map(|m| format!("\"{m}\"")).collect();
                    format!(
                        "volume mode \"Ephemeral\" not supported by driver {driver} (only supports [{}])",
                        quoted.join(" ")
                    )
                })
            }
        };
        if let Some(why) = why {
            return blocked(format!(
                "MountVolume.SetUp failed for volume \"{}\" : kubernetes.io/csi: mounter.SetupAt failed to \
                 check volume lifecycle mode: {why}",
                v.spec_name
            ));
        }
    }
    let pod_info =
        csidriver.is_some_and(|d| meta::at(d, "/spec/podInfoOnMount") == Some(&Value::Bool(true)));
    let context = volume_context(v, pod, pod_info);
    let target = match lustre_target(&context) {
        Ok(t) => t,
        Err(desc) => {
            return blocked(format!(
                "MountVolume.SetUp failed for volume \"{}\" : rpc error: code = InvalidArgument desc = {desc}",
                v.spec_name
            ));
        }
    };
    let mut options: Vec<String> = Vec::new();
    if v.read_only {
        options.push("ro".into());
    }
    options.extend(v.mount_options.iter().cloned());
    Plan::Lustre(LustreMount {
        target,
        options,
        target_path: format!(
            "/var/lib/kubelet/pods/{}/volumes/kubernetes.io~csi/{}/mount",
            meta::uid(pod),
            v.spec_name
        ),
    })
}

/// The volume context the kubelet passes to `NodePublishVolume`: the volume attributes,
/// plus the pod's identity when the driver asks for it (`podInfoOnMount`).
fn volume_context(v: &CsiVolume<'_>, pod: &Value, pod_info: bool) -> BTreeMap<String, String> {
    let mut ctx: BTreeMap<String, String> = meta::at(v.csi, "/volumeAttributes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect();
    if pod_info {
        let sa = meta::str_at(pod, "/spec/serviceAccountName").unwrap_or("default");
        for (k, val) in [
            ("csi.storage.k8s.io/pod.name", meta::name(pod)),
            (
                "csi.storage.k8s.io/pod.namespace",
                meta::namespace(pod).unwrap_or("default"),
            ),
            ("csi.storage.k8s.io/pod.uid", meta::uid(pod)),
            ("csi.storage.k8s.io/serviceAccount.name", sa),
            (
                "csi.storage.k8s.io/ephemeral",
                if v.persistent { "false" } else { "true" },
            ),
        ] {
            ctx.insert(k.into(), val.into());
        }
    }
    ctx
}

/// The Lustre driver's reading of the volume context (`newLustreVolume` and the sub-dir
/// checks of `NodePublishVolume`); Err is the `InvalidArgument` description.
fn lustre_target(context: &BTreeMap<String, String>) -> Result<LustreTarget, String> {
    let (mut mgs, mut fs, mut sub_dir) = (String::new(), String::new(), None::<String>);
    // The driver compares parameter names case-insensitively.
    let mut metadata: Vec<(&str, String)> = Vec::new();
    for (k, v) in context {
        match k.to_ascii_lowercase().as_str() {
            "mgs-ip-address" => mgs = v.clone(),
            "fs-name" => fs = v.clone(),
            "sub-dir" => {
                let d = v.trim_matches('/');
                if d.is_empty() {
                    return Err("Context sub-dir must not be empty or root if provided".into());
                }
                sub_dir = Some(d.to_string());
            }
            "retain-sub-dir" if !matches!(v.to_ascii_lowercase().as_str(), "true" | "false") => {
                return Err("Context retain-sub-dir value must be either true or false".into());
            }
            "csi.storage.k8s.io/pod.name" => metadata.push(("${pod.metadata.name}", v.clone())),
            "csi.storage.k8s.io/pod.namespace" => {
                metadata.push(("${pod.metadata.namespace}", v.clone()));
            }
            "csi.storage.k8s.io/pod.uid" => metadata.push(("${pod.metadata.uid}", v.clone())),
            "csi.storage.k8s.io/serviceaccount.name" => {
                metadata.push(("${serviceAccount.metadata.name}", v.clone()));
            }
            "csi.storage.k8s.io/pvc/name" => metadata.push(("${pvc.metadata.name}", v.clone())),
            "csi.storage.k8s.io/pvc/namespace" => {
                metadata.push(("${pvc.metadata.namespace}", v.clone()));
            }
            "csi.storage.k8s.io/pv/name" => metadata.push(("${pv.metadata.name}", v.clone())),
            _ => {}
        }
    }
    if mgs.is_empty() {
        return Err("Context mgs-ip-address must be provided".into());
    }
    let fs = fs.trim_matches('/').to_string();
    if fs.is_empty() {
        return Err("Context fs-name must be provided".into());
    }
    let sub_dir = match sub_dir {
        Some(d) => {
            let d = metadata
                .iter()
                .fold(d, |d, (placeholder, value)| d.replace(placeholder, value));
            if !strict_subpath(&d) {
                return Err("Context sub-dir must be strict subpath".into());
            }
            Some(d)
        }
        None => None,
    };
    Ok(LustreTarget {
        mgs_address: mgs,
        fs_name: fs,
        sub_dir,
    })
}

/// Go's `filepath.IsLocal(p) && filepath.Clean(p) != "."`: a relative path that stays
/// strictly under its base.
fn strict_subpath(p: &str) -> bool {
    if p.is_empty() || p.starts_with('/') {
        return false;
    }
    let mut depth: i64 = 0;
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => depth += 1,
        }
    }
    depth > 0
}

/// `mount.lustre` exits with the errno of the failure; the message names it.
fn exit_status(output: &str) -> i32 {
    const ERRNOS: &[(&str, i32)] = &[
        ("Operation not permitted", 1),
        ("No such file or directory", 2),
        ("Input/output error", 5),
        ("Permission denied", 13),
        ("Invalid argument", 22),
        ("Network is unreachable", 101),
        ("Connection timed out", 110),
        ("Connection refused", 111),
        ("No route to host", 113),
    ];
    ERRNOS
        .iter()
        .find(|(text, _)| output.contains(text))
        .map_or(32, |(_, code)| *code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_driver_reads_its_attributes_case_insensitively_and_checks_them() {
        let t = lustre_target(&ctx(&[
            ("MGS-IP-Address", "10.0.2.4"),
            ("fs-name", "/lustrefs/"),
        ]))
        .unwrap();
        assert_eq!(
            t,
            LustreTarget {
                mgs_address: "10.0.2.4".into(),
                fs_name: "lustrefs".into(),
                sub_dir: None
            }
        );
        assert_eq!(
            lustre_target(&ctx(&[("fs-name", "lustrefs")])).unwrap_err(),
            "Context mgs-ip-address must be provided"
        );
        assert_eq!(
            lustre_target(&ctx(&[("mgs-ip-address", "10.0.2.4")])).unwrap_err(),
            "Context fs-name must be provided"
        );
        let base = [("mgs-ip-address", "10.0.2.4"), ("fs-name", "lustrefs")];
        let with = |extra: (&'static str, &'static str)| {
            let mut c = base.to_vec();
            c.push(extra);
            lustre_target(&ctx(&c))
        };
        assert_eq!(
            with(("sub-dir", "/")).unwrap_err(),
            "Context sub-dir must not be empty or root if provided"
        );
        assert_eq!(
            with(("sub-dir", "a/../..")).unwrap_err(),
            "Context sub-dir must be strict subpath"
        );
        assert_eq!(
            with(("retain-sub-dir", "maybe")).unwrap_err(),
            "Context retain-sub-dir value must be either true or false"
        );
        assert_eq!(
            with(("sub-dir", "/data/")).unwrap().sub_dir.as_deref(),
            Some("data")
        );
    }

    #[test]
    fn sub_dirs_take_the_pods_identity() {
        let c = ctx(&[
            ("mgs-ip-address", "10.0.2.4"),
            ("fs-name", "lustrefs"),
            ("sub-dir", "${pod.metadata.namespace}_${pod.metadata.name}"),
            ("csi.storage.k8s.io/pod.name", "web-0"),
            ("csi.storage.k8s.io/pod.namespace", "prod"),
        ]);
        assert_eq!(
            lustre_target(&c).unwrap().sub_dir.as_deref(),
            Some("prod_web-0")
        );
    }

    #[test]
    fn mount_failures_carry_the_errno_of_mount_lustre() {
        assert_eq!(
            exit_status("mount.lustre: ... failed: Input/output error"),
            5
        );
        assert_eq!(exit_status("... No such file or directory"), 2);
        assert_eq!(exit_status("something else"), 32);
    }
}
