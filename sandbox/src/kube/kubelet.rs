//! The kubelet model: starts scheduled pods once every volume mounts, which for NFS is
//! what the fabric says about `server:path` from this cluster, and for CSI volumes what the
//! cluster's own objects decide first (`csi`: attach, driver registration on the node, the
//! Lustre driver's checks) and then what the fabric says about the Lustre filesystem from
//! this node. A pod whose volume does not mount stays in `ContainerCreating` with the
//! kubelet's `FailedMount` event and is retried on every tick, so it recovers when the world
//! is fixed. Pods that run to completion (`restartPolicy` Never/OnFailure) succeed; probe
//! pods print the fabric's probe report.
//! Owner job pods (`hpccache_core::owner`) have the fabric make and chown their directory,
//! print its report, and fail (exit 1) when the report says the shell would have.

use std::sync::Arc;

use hpccache_core::{owner, probe};
use serde_json::{Value, json};

use super::csi::{self, CsiVolume, LustreMount};
use super::resources::{NODES, PERSISTENT_VOLUME_CLAIMS as PVCS, PERSISTENT_VOLUMES as PVS, PODS};
use super::scheduler::{condition, condition_with_message};
use super::store::{EventSpec, Store};
use super::{lustre_csi, meta, time};
use crate::fabric::{Chown, Fabric, Identity, LustreTarget};

const COMPONENT: &str = "kubelet";

/// A volume a pod needs mounted.
#[derive(Debug, Clone)]
struct Mount {
    /// The name the kubelet reports: the PV's name, or the pod's volume name.
    volume: String,
    /// The pod volume it backs.
    pod_volume: String,
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    Nfs {
        server: String,
        path: String,
        options: Vec<String>,
    },
    Lustre(LustreMount),
    /// Fails whatever the fabric says (decided from the cluster's objects).
    Blocked(csi::Blocked),
}

/// A pod waiting for its volumes, with what to mount (taken under the store lock, checked
/// against the fabric without it).
#[derive(Debug)]
pub struct Pending {
    ns: String,
    name: String,
    uid: String,
    node: String,
    /// The node's InternalIP, which a Lustre client mounts from.
    node_address: String,
    mounts: Vec<Mount>,
    completes: bool,
    probe: Option<ProbeRun>,
    chown: Option<Result<Chown, String>>,
}

#[derive(Debug)]
struct ProbeRun {
    /// Index into the pod's mounts of the volume the probe writes to.
    mount: usize,
    target: ProbeTarget,
    mount_point: String,
    who: Identity,
}

#[derive(Debug)]
enum ProbeTarget {
    Nfs { server: String, path: String },
    Lustre(LustreTarget),
}

/// What a node reports for a volume that does not mount.
#[derive(Debug)]
struct Failure {
    message: String,
    /// The attach-detach controller's `FailedAttachVolume`, for volumes waiting on an attach.
    attach: Option<String>,
}

/// The outcome of the mount checks of one pod.
#[derive(Debug)]
pub struct Outcome {
    pending: Pending,
    failed: Option<Failure>,
    log: Option<String>,
    /// The container's exit status (run-to-completion pods fail on non-zero).
    exit_code: i32,
}

/// Under the lock: finishes graceful deletions, gives new pods their status, and lists
/// the pods waiting for mounts.
pub fn plan(store: &mut Store) -> Vec<Pending> {
    let mut out = Vec::new();
    let active = store.select(&PODS, None, |p| {
        meta::str_at(p, "/spec/nodeName").is_some()
            && (meta::deleting(p)
                || meta::str_at(p, "/status/phase").is_none_or(|ph| ph == "Pending"))
    });
    for pod in active {
        let Some(node) = meta::str_at(&pod, "/spec/nodeName").map(String::from) else {
            continue;
        };
        if meta::deleting(&pod) {
            stop(store, &pod, &node);
            continue;
        }
        let phase = meta::str_at(&pod, "/status/phase").unwrap_or("Pending");
        if phase != "Pending" {
            continue;
        }
        let pod = if meta::at(&pod, "/status/containerStatuses").is_none() {
            start_creating(store, pod, &node)
        } else {
            pod
        };
        match mounts_of(store, &pod, &node) {
            Ok(mounts) => {
                let completes =
                    meta::str_at(&pod, "/spec/restartPolicy").is_some_and(|r| r != "Always");
                let probe = meta::label(&pod, probe::PROBE_LABEL).map(|_| probe_run(&pod, &mounts));
                let chown = meta::label(&pod, owner::OWNER_LABEL).map(|_| chown_run(&pod, &mounts));
                out.push(Pending {
                    ns: meta::namespace(&pod).unwrap_or("").into(),
                    name: meta::name(&pod).into(),
                    uid: meta::uid(&pod).into(),
                    node_address: node_ip(store, &node),
                    node,
                    mounts,
                    completes,
                    probe: probe.flatten(),
                    chown,
                });
            }
            // A claim that went away after scheduling: wait like a kubelet does.
            Err(()) => continue,
        }
    }
    out
}

/// What the node prints when one mount fails with the fabric's `output`.
fn failure(m: &Mount, uid: &str, output: &str) -> Failure {
    let message = match &m.source {
        Source::Nfs {
            server,
            path,
            options,
        } => nfs_failure(&m.volume, server, path, options, uid, output),
        Source::Lustre(l) => l.failure(&m.volume, output),
        Source::Blocked(b) => b.message.clone(),
    };
    Failure {
        message,
        attach: None,
    }
}

/// Without the lock: asks the fabric about every mount (and runs probes).
pub fn check(pending: Vec<Pending>, fabric: &Arc<dyn Fabric>, cluster_id: &str) -> Vec<Outcome> {
    pending
        .into_iter()
        .map(|p| {
            let mut failed = p.mounts.iter().find_map(|m| match &m.source {
                Source::Nfs { server, path, .. } => fabric
                    .mount(cluster_id, server, path)
                    .err()
                    .map(|e| failure(m, &p.uid, &e.message)),
                Source::Lustre(l) => fabric
                    .mount_lustre(cluster_id, &p.node_address, &l.target)
                    .err()
                    .map(|e| failure(m, &p.uid, &e.message)),
                Source::Blocked(b) => Some(Failure {
                    message: b.message.clone(),
                    attach: b.attach.clone(),
                }),
            });
            let mut log = None;
            let mut exit_code = 0;
            if failed.is_none()
                && let Some(job) = &p.chown
            {
                match job {
                    Ok(job) => match fabric.chown(cluster_id, job) {
                        Ok(report) => {
                            exit_code = if report.ok() { 0 } else { 1 };
                            log = Some(format!("{}\n", report.to_line()));
                        }
                        Err(e) => {
                            failed = p.mounts.first().map(|m| failure(m, &p.uid, &e.message));
                        }
                    },
                    // What the shell says when the contract's variables are wrong.
                    Err(message) => {
                        exit_code = 1;
                        log = Some(format!("{message}\n"));
                    }
                }
            }
            if failed.is_none()
                && let Some(run) = &p.probe
            {
                let report = match &run.target {
                    ProbeTarget::Nfs { server, path } => {
                        fabric.probe(cluster_id, server, path, &run.mount_point, run.who)
                    }
                    ProbeTarget::Lustre(target) => fabric.probe_lustre(
                        cluster_id,
                        &p.node_address,
                        target,
                        &run.mount_point,
                        run.who,
                    ),
                };
                match report {
                    Ok(report) => log = Some(format!("{}\n", report.to_line())),
                    Err(e) => {
                        failed = p
                            .mounts
                            .get(run.mount)
                            .map(|m| failure(m, &p.uid, &e.message));
                    }
                }
            }
            Outcome {
                pending: p,
                failed,
                log,
                exit_code,
            }
        })
        .collect()
}

/// Under the lock again: applies the outcomes to pods that are still the same pods.
pub fn apply(store: &mut Store, outcomes: Vec<Outcome>) {
    for o in outcomes {
        let p = &o.pending;
        let Some(pod) = store.get(&PODS, Some(&p.ns), &p.name).cloned() else {
            continue;
        };
        if meta::uid(&pod) != p.uid
            || meta::deleting(&pod)
            || meta::str_at(&pod, "/status/phase") != Some("Pending")
        {
            continue;
        }
        match &o.failed {
            Some(failure) => {
                let message = &failure.message;
                store
                    .mount_failures
                    .insert(p.uid.clone(), (message.clone(), time::now_secs()));
                if let Some(attach) = &failure.attach {
                    store.record_event(
                        &pod,
                        &PODS,
                        EventSpec::warning("FailedAttachVolume", attach, "attachdetach-controller"),
                    );
                }
                store.record_event(
                    &pod,
                    &PODS,
                    EventSpec::warning("FailedMount", message, COMPONENT).on(&p.node),
                );
            }
            None => {
                store.mount_failures.remove(&p.uid);
                run(store, pod, &p.node, p.completes, o.log.clone(), o.exit_code);
            }
        }
    }
}

/// What a node prints when `mount -t nfs` fails.
fn nfs_failure(
    volume: &str,
    server: &str,
    path: &str,
    options: &[String],
    uid: &str,
    output: &str,
) -> String {
    let opts = if options.is_empty() {
        String::new()
    } else {
        format!("-o {} ", options.join(","))
    };
    format!(
        "MountVolume.SetUp failed for volume \"{volume}\" : mount failed: exit status 32\n\
         Mounting command: mount\n\
         Mounting arguments: -t nfs {opts}{server}:{path} /var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~nfs/{volume}\n\
         Output: {output}",
    )
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| o.as_str().map(String::from))
        .collect()
}

/// The volumes of a pod the kubelet mounts (NFS and CSI); Err when a claim or its volume
/// is not there (any more).
fn mounts_of(store: &Store, pod: &Value, node: &str) -> Result<Vec<Mount>, ()> {
    let ns = meta::namespace(pod).unwrap_or("default");
    let mut out = Vec::new();
    for v in meta::at(pod, "/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let pod_volume = v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let csi_source = |volume: &str, csi: &Value, persistent: bool, options, read_only| {
            let source = match csi::plan(
                store,
                pod,
                node,
                &CsiVolume {
                    spec_name: volume,
                    pod_volume: &pod_volume,
                    csi,
                    persistent,
                    mount_options: options,
                    read_only,
                },
            ) {
                csi::Plan::Lustre(l) => Source::Lustre(l),
                csi::Plan::Blocked(b) => Source::Blocked(b),
            };
            Mount {
                volume: volume.to_string(),
                pod_volume: pod_volume.clone(),
                source,
            }
        };
        if let Some(nfs) = v.get("nfs") {
            out.push(Mount {
                volume: pod_volume.clone(),
                pod_volume: pod_volume.clone(),
                source: Source::Nfs {
                    server: meta::str_at(nfs, "/server").unwrap_or("").into(),
                    path: meta::str_at(nfs, "/path").unwrap_or("").into(),
                    options: Vec::new(),
                },
            });
        } else if let Some(c) = v.get("csi").filter(|c| !c.is_null()) {
            let read_only = c.get("readOnly") == Some(&json!(true));
            out.push(csi_source(&pod_volume, c, false, Vec::new(), read_only));
        } else if let Some(claim) =
            meta::at(v, "/persistentVolumeClaim/claimName").and_then(Value::as_str)
        {
            let c = store.get(&PVCS, Some(ns), claim).ok_or(())?;
            if meta::str_at(c, "/status/phase") != Some("Bound") {
                return Err(());
            }
            let pv_name = meta::str_at(c, "/spec/volumeName").unwrap_or("");
            let pv = store.get(&PVS, None, pv_name).ok_or(())?;
            let options = strings(meta::at(pv, "/spec/mountOptions"));
            if let Some(nfs) = meta::at(pv, "/spec/nfs") {
                out.push(Mount {
                    volume: pv_name.to_string(),
                    pod_volume: pod_volume.clone(),
                    source: Source::Nfs {
                        server: meta::str_at(nfs, "/server").unwrap_or("").into(),
                        path: meta::str_at(nfs, "/path").unwrap_or("").into(),
                        options,
                    },
                });
            } else if let Some(c) = meta::at(pv, "/spec/csi").filter(|c| !c.is_null()) {
                let read_only = c.get("readOnly") == Some(&json!(true))
                    || meta::at(v, "/persistentVolumeClaim/readOnly") == Some(&json!(true));
                out.push(csi_source(pv_name, c, true, options, read_only));
            }
        }
    }
    Ok(out)
}

/// The probe's parameters: the first container mount of an NFS- or Lustre-backed volume.
fn probe_run(pod: &Value, mounts: &[Mount]) -> Option<ProbeRun> {
    let container = meta::at(pod, "/spec/containers/0")?;
    let id = |ptr: &str| {
        container
            .pointer(&format!("/securityContext/{ptr}"))
            .or_else(|| pod.pointer(&format!("/spec/securityContext/{ptr}")))
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    let who = Identity {
        uid: id("runAsUser"),
        gid: id("runAsGroup"),
    };
    for vm in container
        .get("volumeMounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = vm.get("name").and_then(Value::as_str).unwrap_or("");
        let Some(index) = mounts.iter().position(|m| m.pod_volume == name) else {
            continue;
        };
        let sub = vm
            .get("subPath")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim_matches('/');
        let target = match &mounts[index].source {
            Source::Nfs { server, path, .. } => ProbeTarget::Nfs {
                server: server.clone(),
                path: if sub.is_empty() {
                    path.clone()
                } else {
                    format!("{}/{sub}", path.trim_end_matches('/'))
                },
            },
            Source::Lustre(l) => {
                let mut target = l.target.clone();
                if !sub.is_empty() {
                    target.sub_dir = Some(match &target.sub_dir {
                        Some(d) => format!("{d}/{sub}"),
                        None => sub.to_string(),
                    });
                }
                ProbeTarget::Lustre(target)
            }
            // Never mounts, so the probe never runs.
            Source::Blocked(_) => continue,
        };
        return Some(ProbeRun {
            mount: index,
            target,
            mount_point: vm
                .get("mountPath")
                .and_then(Value::as_str)
                .unwrap_or(probe::MOUNT_POINT)
                .into(),
            who,
        });
    }
    None
}

/// The owner job's parameters, from the first container as its shell would see them: the
/// contract's environment variables, and the NFS volume mounted at or above the directory.
fn chown_run(pod: &Value, mounts: &[Mount]) -> Result<Chown, String> {
    let container = meta::at(pod, "/spec/containers/0").ok_or("no container")?;
    let env = |name: &str| {
        container
            .get("env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|e| e.get("value").and_then(Value::as_str))
            .unwrap_or("")
            .to_string()
    };
    let dir = env(owner::DIR_ENV);
    let wanted = env(owner::OWNER_ENV);
    let id = |ptr: &str| {
        container
            .pointer(&format!("/securityContext/{ptr}"))
            .or_else(|| pod.pointer(&format!("/spec/securityContext/{ptr}")))
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    let owner = match wanted.split_once(':') {
        Some((u, g)) => match (u.parse(), g.parse()) {
            (Ok(uid), Ok(gid)) => Identity { uid, gid },
            _ => return Err(format!("chown: invalid user: '{wanted}'")),
        },
        None => return Err(format!("chown: invalid user: '{wanted}'")),
    };
    for vm in container
        .get("volumeMounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = vm.get("name").and_then(Value::as_str).unwrap_or("");
        let mount_point = vm
            .get("mountPath")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim_end_matches('/');
        let Some(rel) = dir.trim_end_matches('/').strip_prefix(mount_point) else {
            continue;
        };
        if !(rel.is_empty() || rel.starts_with('/')) {
            continue;
        }
        let Some((server, path)) = mounts.iter().find_map(|m| match &m.source {
            Source::Nfs { server, path, .. } if m.pod_volume == name => Some((server, path)),
            _ => None,
        }) else {
            continue;
        };
        return Ok(Chown {
            server: server.clone(),
            path: path.clone(),
            mount_point: mount_point.to_string(),
            dir: rel.trim_start_matches('/').to_string(),
            who: Identity {
                uid: id("runAsUser"),
                gid: id("runAsGroup"),
            },
            owner,
        });
    }
    Err(format!(
        "chown: {dir}: not on an NFS volume of this pod (no such directory)"
    ))
}

fn node_ip(store: &Store, node: &str) -> String {
    store
        .get(&NODES, None, node)
        .and_then(|n| meta::at(n, "/status/addresses/0/address"))
        .and_then(Value::as_str)
        .unwrap_or("10.224.0.4")
        .to_string()
}

fn pod_ip(store: &Store, node: &str, uid: &str) -> String {
    let index = store
        .list(&NODES, None)
        .iter()
        .position(|n| meta::name(n) == node)
        .unwrap_or(0);
    let host = 2 + uid
        .bytes()
        .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 250;
    format!("10.244.{index}.{host}")
}

fn container_names(pod: &Value) -> Vec<(String, String)> {
    meta::at(pod, "/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                c.get("image")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

/// A scheduled pod whose containers are being created.
fn start_creating(store: &mut Store, mut pod: Value, node: &str) -> Value {
    let host_ip = node_ip(store, node);
    // Host-network pods (CSI node plugins) share the node's address.
    let ip = if meta::at(&pod, "/spec/hostNetwork") == Some(&json!(true)) {
        host_ip.clone()
    } else {
        pod_ip(store, node, meta::uid(&pod))
    };
    let statuses: Vec<Value> = container_names(&pod)
        .into_iter()
        .map(|(name, image)| {
            json!({"name": name, "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {},
                   "ready": false, "restartCount": 0, "image": image, "imageID": "", "started": false})
        })
        .collect();
    let s = &mut pod["status"];
    s["hostIP"] = json!(host_ip);
    s["hostIPs"] = json!([{"ip": host_ip}]);
    s["podIP"] = json!(ip);
    s["podIPs"] = json!([{"ip": ip}]);
    s["startTime"] = json!(time::now());
    s["containerStatuses"] = Value::Array(statuses);
    condition(&mut pod, "PodReadyToStartContainers", "False", None);
    condition(&mut pod, "Initialized", "True", None);
    condition(&mut pod, "Ready", "False", Some("ContainersNotReady"));
    condition(
        &mut pod,
        "ContainersReady",
        "False",
        Some("ContainersNotReady"),
    );
    store.commit(&PODS, pod)
}

fn container_id(uid: &str, name: &str) -> String {
    let a = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("{uid}/{name}").as_bytes(),
    );
    let b = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("{uid}/{name}").as_bytes(),
    );
    format!("containerd://{}{}", a.simple(), b.simple())
}

/// All volumes mounted: the containers start (and, for run-to-completion pods, finish:
/// succeeded with exit code 0, failed otherwise).
fn run(
    store: &mut Store,
    mut pod: Value,
    node: &str,
    completes: bool,
    log: Option<String>,
    exit_code: i32,
) {
    let uid = meta::uid(&pod).to_string();
    let now = time::now();
    let containers = container_names(&pod);
    // Containers whose readiness the driver model decides (a CSI node plugin's).
    let gated = lustre_csi::gated_containers(&pod);
    let statuses: Vec<Value> = containers
        .iter()
        .map(|(name, image)| {
            let ready = !completes && !gated.contains(name);
            let state = if completes {
                let reason = if exit_code == 0 { "Completed" } else { "Error" };
                json!({"terminated": {"exitCode": exit_code, "reason": reason, "startedAt": now, "finishedAt": now,
                                      "containerID": container_id(&uid, name)}})
            } else {
                json!({"running": {"startedAt": now}})
            };
            let repo = image.split(':').next().unwrap_or(image);
            let full = if repo.contains('/') { repo.to_string() } else { format!("docker.io/library/{repo}") };
            json!({"name": name, "state": state, "lastState": {}, "ready": ready, "restartCount": 0,
                   "image": image, "imageID": format!("{full}@sha256:{}", uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, image.as_bytes()).simple().to_string().repeat(2)),
                   "containerID": container_id(&uid, name), "started": ready})
        })
        .collect();
    pod["status"]["containerStatuses"] = Value::Array(statuses);
    if completes {
        pod["status"]["phase"] = json!(if exit_code == 0 {
            "Succeeded"
        } else {
            "Failed"
        });
        condition(&mut pod, "PodReadyToStartContainers", "False", None);
        let why = if exit_code == 0 {
            "PodCompleted"
        } else {
            "PodFailed"
        };
        condition(&mut pod, "Ready", "False", Some(why));
        condition(&mut pod, "ContainersReady", "False", Some(why));
        condition(&mut pod, "Initialized", "True", Some(why));
    } else if gated.is_empty() {
        pod["status"]["phase"] = json!("Running");
        condition(&mut pod, "PodReadyToStartContainers", "True", None);
        condition(&mut pod, "Ready", "True", None);
        condition(&mut pod, "ContainersReady", "True", None);
    } else {
        pod["status"]["phase"] = json!("Running");
        let unready = format!("containers with unready status: [{}]", gated.join(" "));
        condition(&mut pod, "PodReadyToStartContainers", "True", None);
        condition_with_message(&mut pod, "Ready", "False", "ContainersNotReady", &unready);
        condition_with_message(
            &mut pod,
            "ContainersReady",
            "False",
            "ContainersNotReady",
            &unready,
        );
    }
    if let Some(log) = log {
        store.state.logs.insert(uid.clone(), log);
    }
    let pod = store.commit(&PODS, pod);
    for (name, image) in containers {
        let pulled = format!("Container image \"{image}\" already present on machine");
        store.record_event(
            &pod,
            &PODS,
            EventSpec::normal("Pulled", &pulled, COMPONENT).on(node),
        );
        let created = format!("Created container: {name}");
        store.record_event(
            &pod,
            &PODS,
            EventSpec::normal("Created", &created, COMPONENT).on(node),
        );
        let started = format!("Started container {name}");
        store.record_event(
            &pod,
            &PODS,
            EventSpec::normal("Started", &started, COMPONENT).on(node),
        );
    }
}

/// A pod marked for deletion on this node: stop its containers, then it is gone.
fn stop(store: &mut Store, pod: &Value, node: &str) {
    if meta::str_at(pod, "/status/phase") == Some("Running") {
        for (name, _) in container_names(pod) {
            let msg = format!("Stopping container {name}");
            store.record_event(
                pod,
                &PODS,
                EventSpec::normal("Killing", &msg, COMPONENT).on(node),
            );
        }
    }
    if meta::finalizers(pod).is_empty() {
        store.remove(&PODS, meta::namespace(pod), meta::name(pod));
    }
}
