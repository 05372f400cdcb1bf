//! The emulated NFS export: [`NfsFabric`] on the world. A mount from a cluster's node
//! resolves the server through the private DNS zones linked to the cluster's vnet (or takes
//! a literal IPv4), reaches a mount address of a running, healthy cache, and must name a
//! storage target junction (or the namespace root). Files live per junction; writes are
//! dirty until a flush writes them to the backing container.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use hpccache_core::{owner, probe};
use serde_json::Value;

use super::{clock, lro};
use crate::fabric::{Chown, Identity, MountFailure, NfsFabric};
use crate::world::{FileEntry, Resource, World, fnv, key, types};

/// Anonymous uid/gid root is mapped to under root squash when the rule names none.
pub const NOBODY: u32 = 65_534;

/// The fabric backed by a shared world.
#[derive(Clone)]
pub struct WorldFabric {
    world: Arc<Mutex<World>>,
}

fn fail(message: String) -> MountFailure {
    MountFailure { message }
}

/// What a successful mount reached.
struct Mounted {
    cache: Resource,
    /// (target id, junction namespace path); `None` for the namespace root `/`.
    junction: Option<(String, String)>,
    /// The export rule that applies (from the cache's access policy).
    rule: Value,
    path: String,
}

impl WorldFabric {
    pub fn new(world: Arc<Mutex<World>>) -> Self {
        WorldFabric { world }
    }

    pub(crate) fn with_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        let mut guard = match self.world.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        lro::settle(&mut guard, clock::now_ms());
        f(&mut guard)
    }

    /// Writes `name` under `path` through the export as `who` (a pod writing a file): the
    /// file is dirty until the cache flushes it to the backing container.
    pub fn write_file(
        &self,
        cluster_id: &str,
        server: &str,
        path: &str,
        who: Identity,
        name: &str,
    ) -> Result<(), MountFailure> {
        self.with_world(|w| {
            let m = locate(w, cluster_id, server, path)?;
            let (euid, egid) = effective(&m.rule, who);
            check_write(w, &m, euid, egid)
                .map_err(|why| fail(format!("sh: can't create {}: {why}", name)))?;
            let Some((target, _)) = &m.junction else {
                return Err(fail(format!(
                    "sh: can't create {name}: Read-only file system"
                )));
            };
            let full = format!(
                "{}/{}",
                m.path.trim_end_matches('/'),
                name.trim_start_matches('/')
            );
            if let Some(t) = w.get_mut(target) {
                t.sandbox.files.insert(
                    full,
                    FileEntry {
                        uid: euid,
                        gid: egid,
                        mode: 0o644,
                        dir: false,
                        dirty: true,
                    },
                );
            }
            Ok(())
        })
    }

    /// Sets owner and mode of a directory under a junction (as `chown`/`chmod` by root with
    /// root squash off would), creating it when missing.
    pub fn set_owner(
        &self,
        target_id: &str,
        full_path: &str,
        uid: u32,
        gid: u32,
        mode: u32,
    ) -> bool {
        self.with_world(|w| match w.get_mut(target_id) {
            Some(t) => {
                t.sandbox.files.insert(
                    full_path.to_string(),
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
}

fn normalize(path: &str) -> String {
    let p = path.trim_end_matches('/');
    if p.is_empty() {
        "/".to_string()
    } else {
        p.to_string()
    }
}

fn resolve(w: &World, vnet_id: &str, server: &str) -> Option<String> {
    if server.parse::<Ipv4Addr>().is_ok() {
        return Some(server.to_string());
    }
    let name = server.trim_end_matches('.').to_ascii_lowercase();
    for zone in w.of_type(types::DNS_ZONE) {
        if zone.body["properties"]["provisioningState"] != "Succeeded" {
            continue;
        }
        let zname = zone.body["name"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let relative = if name == zname {
            "@".to_string()
        } else if let Some(r) = name.strip_suffix(&format!(".{zname}")) {
            r.to_string()
        } else {
            continue;
        };
        let linked = w.under(&zone.id, types::VNET_LINK).any(|l| {
            l.body["properties"]["provisioningState"] == "Succeeded"
                && l.body["properties"]["virtualNetwork"]["id"]
                    .as_str()
                    .is_some_and(|v| key(v) == key(vnet_id))
        });
        if !linked {
            continue;
        }
        let rs = w.get(&format!("{}/A/{relative}", zone.id))?;
        let ips: Vec<&str> = rs.body["properties"]["aRecords"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["ipv4Address"].as_str())
            .collect();
        if ips.is_empty() {
            return None;
        }
        // Round robin, deterministic per (vnet, name) so a node keeps its choice.
        let pick = (fnv(&format!("{vnet_id}{name}")) as usize) % ips.len();
        return Some(ips[pick].to_string());
    }
    None
}

fn rule_for(cache: &Resource, policy: &str) -> Value {
    let policies = cache.body["properties"]["securitySettings"]["accessPolicies"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let p = policies
        .iter()
        .find(|p| {
            p["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(policy))
        })
        .or_else(|| policies.iter().find(|p| p["name"] == "default"));
    p.and_then(|p| {
        p["accessRules"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["scope"] == "default").cloned())
    })
    .unwrap_or_else(|| serde_json::json!({"scope": "default", "access": "rw", "rootSquash": false}))
}

fn locate(w: &World, cluster_id: &str, server: &str, path: &str) -> Result<Mounted, MountFailure> {
    let unresolved = || {
        fail(format!(
            "mount.nfs: Failed to resolve server {server}: Name or service not known"
        ))
    };
    let timed_out = || fail("mount.nfs: Connection timed out".to_string());
    let denied = |p: &str| {
        fail(format!(
            "mount.nfs: access denied by server while mounting {server}:{p}"
        ))
    };
    let cluster = w.cluster(cluster_id).ok_or_else(unresolved)?;
    let ip = resolve(w, &cluster.vnet_id, server).ok_or_else(unresolved)?;
    let cache = w
        .of_type(types::CACHE)
        .find(|c| {
            c.body["properties"]["mountAddresses"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == ip.as_str()))
        })
        .cloned()
        .ok_or_else(timed_out)?;
    let cache_vnet = cache.body["properties"]["subnet"]
        .as_str()
        .unwrap_or_default()
        .rsplitn(3, '/')
        .nth(2)
        .unwrap_or_default()
        .to_string();
    if key(&cache_vnet) != key(&cluster.vnet_id) {
        return Err(timed_out());
    }
    if cache.body["properties"]["provisioningState"] != "Succeeded"
        || cache.body["properties"]["health"]["state"] != "Healthy"
    {
        return Err(timed_out());
    }
    let path = normalize(path);
    let mut best: Option<(String, String, String)> = None;
    for t in w.under(&cache.id, types::STORAGE_TARGET) {
        if t.body["properties"]["provisioningState"] != "Succeeded" {
            continue;
        }
        for j in t.body["properties"]["junctions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let ns = normalize(j["namespacePath"].as_str().unwrap_or_default());
            if path == ns || path.starts_with(&format!("{}/", ns.trim_end_matches('/'))) {
                let policy = j["nfsAccessPolicy"]
                    .as_str()
                    .unwrap_or("default")
                    .to_string();
                best = Some((t.id.clone(), ns, policy));
            }
        }
    }
    let any_junction = w
        .under(&cache.id, types::STORAGE_TARGET)
        .any(|t| t.body["properties"]["provisioningState"] == "Succeeded");
    let (junction, rule) = match best {
        Some((tid, ns, policy)) => (Some((tid, ns)), rule_for(&cache, &policy)),
        None if path == "/" && any_junction => (None, rule_for(&cache, "default")),
        None => return Err(denied(&path)),
    };
    if rule["access"] == "no" {
        return Err(denied(&path));
    }
    if let Some((tid, ns)) = &junction
        && path != *ns
    {
        let exists = w
            .get(tid)
            .is_some_and(|t| t.sandbox.files.get(&path).is_some_and(|f| f.dir));
        if !exists {
            return Err(fail(format!(
                "mount.nfs: mounting {server}:{path} failed, reason given by server: No such file or directory"
            )));
        }
    }
    Ok(Mounted {
        cache,
        junction,
        rule,
        path,
    })
}

/// (uid, gid) the export sees for `who`: root squash maps uid 0 to the anonymous ids.
fn effective(rule: &Value, who: Identity) -> (u32, u32) {
    if who.uid == 0 && rule["rootSquash"] == true {
        let uid = rule["anonymousUID"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(NOBODY);
        let gid = rule["anonymousGID"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(NOBODY);
        (uid, gid)
    } else {
        (who.uid, who.gid)
    }
}

/// Whether (uid, gid) may create a file in the mounted directory; the reason otherwise.
fn check_write(w: &World, m: &Mounted, uid: u32, gid: u32) -> Result<(), &'static str> {
    if m.rule["access"] == "ro" {
        return Err("Read-only file system");
    }
    let Some((tid, _)) = &m.junction else {
        return Err("Read-only file system");
    };
    let dir = w
        .get(tid)
        .and_then(|t| t.sandbox.files.get(&m.path).cloned())
        .unwrap_or_else(junction_root);
    if may_create_in(&dir, uid, gid) {
        Ok(())
    } else {
        Err("Permission denied")
    }
}

/// A junction's root as a new blob target has it: root's, mode 0755.
fn junction_root() -> FileEntry {
    FileEntry {
        uid: 0,
        gid: 0,
        mode: 0o755,
        dir: true,
        dirty: false,
    }
}

/// Whether (uid, gid) may create an entry in `dir`: root always, else the mode's write
/// bit for owner, group or others, whichever class applies.
fn may_create_in(dir: &FileEntry, uid: u32, gid: u32) -> bool {
    uid == 0
        || (dir.uid == uid && dir.mode & 0o200 != 0)
        || (dir.uid != uid && dir.gid == gid && dir.mode & 0o020 != 0)
        || (dir.uid != uid && dir.gid != gid && dir.mode & 0o002 != 0)
}

/// The owner job through a mount: `mkdir -p` of `job.dir` (each missing level needs write
/// permission in its parent), then `chown` when the owner differs, which only a
/// non-squashed root may do. `Err` carries the shell's message.
fn chown_in(w: &mut World, m: &Mounted, job: &Chown) -> Result<bool, String> {
    let shown = |rel: &str| {
        let mp = job.mount_point.trim_end_matches('/');
        if rel.is_empty() {
            mp.to_string()
        } else {
            format!("{mp}/{rel}")
        }
    };
    let (euid, egid) = effective(&m.rule, job.who);
    let target = match &m.junction {
        Some((tid, _)) if m.rule["access"] != "ro" => tid.clone(),
        _ => {
            return Err(format!(
                "chown: {}: Read-only file system",
                shown(job.dir.trim_matches('/'))
            ));
        }
    };
    let files = |w: &World, path: &str| -> Option<FileEntry> {
        w.get(&target)
            .and_then(|t| t.sandbox.files.get(path).cloned())
    };
    let mut path = m.path.clone();
    let mut rel = String::new();
    let mut current = files(w, &path).unwrap_or_else(junction_root);
    for part in job.dir.split('/').filter(|p| !p.is_empty() && *p != ".") {
        let child = format!("{}/{part}", path.trim_end_matches('/'));
        rel = if rel.is_empty() {
            part.to_string()
        } else {
            format!("{rel}/{part}")
        };
        current = match files(w, &child) {
            Some(e) if e.dir => e,
            Some(_) => {
                return Err(format!(
                    "mkdir: can't create directory '{}': File exists",
                    shown(&rel)
                ));
            }
            None if may_create_in(&current, euid, egid) => {
                let made = FileEntry {
                    uid: euid,
                    gid: egid,
                    mode: 0o755,
                    dir: true,
                    dirty: false,
                };
                if let Some(t) = w.get_mut(&target) {
                    t.sandbox.files.insert(child.clone(), made.clone());
                }
                made
            }
            None => {
                return Err(format!(
                    "mkdir: can't create directory '{}': Permission denied",
                    shown(&rel)
                ));
            }
        };
        path = child;
    }
    if (current.uid, current.gid) == (job.owner.uid, job.owner.gid) {
        return Ok(false);
    }
    if euid != 0 {
        return Err(format!("chown: {}: Operation not permitted", shown(&rel)));
    }
    if let Some(t) = w.get_mut(&target) {
        t.sandbox.files.insert(
            path,
            FileEntry {
                uid: job.owner.uid,
                gid: job.owner.gid,
                ..current
            },
        );
    }
    Ok(true)
}

impl NfsFabric for WorldFabric {
    fn chown(&self, cluster_id: &str, job: &Chown) -> Result<owner::Report, MountFailure> {
        self.with_world(|w| {
            let m = locate(w, cluster_id, &job.server, &job.path)?;
            let outcome = chown_in(w, &m, job);
            let mp = job.mount_point.trim_end_matches('/');
            let dir = job.dir.trim_matches('/');
            Ok(owner::Report {
                v: owner::REPORT_VERSION,
                dir: if dir.is_empty() {
                    mp.to_string()
                } else {
                    format!("{mp}/{dir}")
                },
                uid: job.owner.uid,
                gid: job.owner.gid,
                changed: outcome == Ok(true),
                error: outcome.err(),
            })
        })
    }

    fn mount(&self, cluster_id: &str, server: &str, path: &str) -> Result<(), MountFailure> {
        self.with_world(|w| locate(w, cluster_id, server, path).map(|_| ()))
    }

    fn probe(
        &self,
        cluster_id: &str,
        server: &str,
        path: &str,
        mount_point: &str,
        who: Identity,
    ) -> Result<probe::Report, MountFailure> {
        self.with_world(|w| {
            let m = locate(w, cluster_id, server, path)?;
            let (uid, gid) = effective(&m.rule, who);
            let outcome = check_write(w, &m, uid, gid);
            let _ = &m.cache;
            Ok(probe::Report {
                v: probe::REPORT_VERSION,
                mount_point: mount_point.to_string(),
                source: format!("{server}:{path}"),
                size: "8.0E".into(),
                used: "0".into(),
                available: "8.0E".into(),
                use_percent: "0%".into(),
                write: outcome.is_ok(),
                read: outcome.is_ok(),
                uid: who.uid,
                gid: who.gid,
                error: outcome.err().map(|why| {
                    format!(
                        "sh: can't create {}/{}: {why}",
                        mount_point.trim_end_matches('/'),
                        probe::PROBE_FILE
                    )
                }),
            })
        })
    }
}
