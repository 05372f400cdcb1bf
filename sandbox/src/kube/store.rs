//! The object store: every object as JSON, the global resourceVersion counter, the change
//! history that watches replay, and the write paths with the API server's semantics
//! (uids, conflicts, finalizers, graceful deletion, dry runs).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::resources::{self, Resource};
use super::status::ApiError;
use super::{ClusterInfo, ClusterState, admission, apply, lustre_csi, meta, time};

/// How many changes are kept for watches that resume from a resourceVersion.
const HISTORY: usize = 10_000;
/// An identical event is counted again at most this often (controllers resync, kubelets
/// retry mounts; both repeat their events on that scale, not on every tick).
const EVENT_REPEAT_SECS: i64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
        }
    }
}

/// One change of one object, as watches see it.
#[derive(Debug, Clone)]
pub struct Change {
    pub rv: u64,
    pub resource: &'static Resource,
    pub kind: ChangeKind,
    pub object: Value,
    /// The object before the change, so selector watches can turn a change that leaves
    /// the selection into DELETED (and one that enters it into ADDED).
    pub old: Option<Value>,
}

/// The changes a new watch replays first, and the receiver of the ones that follow.
pub type WatchStart = (Vec<Arc<Change>>, broadcast::Receiver<Arc<Change>>);

/// What an event says, and who says it.
#[derive(Debug, Clone, Copy)]
pub struct EventSpec<'a> {
    /// `Normal` or `Warning`.
    pub type_: &'a str,
    pub reason: &'a str,
    pub message: &'a str,
    /// `kubelet`, `default-scheduler`, `persistentvolume-controller`, ...
    pub component: &'a str,
    pub host: Option<&'a str>,
}

impl<'a> EventSpec<'a> {
    pub fn normal(reason: &'a str, message: &'a str, component: &'a str) -> Self {
        EventSpec {
            type_: "Normal",
            reason,
            message,
            component,
            host: None,
        }
    }

    pub fn warning(reason: &'a str, message: &'a str, component: &'a str) -> Self {
        EventSpec {
            type_: "Warning",
            reason,
            message,
            component,
            host: None,
        }
    }

    pub fn on(mut self, host: &'a str) -> Self {
        self.host = Some(host);
        self
    }
}

/// Options of a delete (query parameters and the `DeleteOptions` body).
#[derive(Debug, Clone, Default)]
pub struct DeleteOpts {
    pub dry_run: bool,
    pub grace_period: Option<i64>,
    pub propagation: Option<String>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
}

pub struct Store {
    pub state: ClusterState,
    history: VecDeque<Arc<Change>>,
    /// Watches may resume from any resourceVersion ≥ floor.
    floor: u64,
    tx: broadcast::Sender<Arc<Change>>,
    /// Last FailedMount message per pod uid and when it was recorded, so the kubelet
    /// model repeats an event like a node does (count bumps) instead of on every tick.
    pub mount_failures: HashMap<String, (String, i64)>,
    /// When the Lustre CSI node plugins started installing or restart after a crash.
    pub node_plugins: lustre_csi::PluginClocks,
}

/// The store shared by the HTTP handlers and the controllers.
#[derive(Clone)]
pub struct Shared(Arc<Mutex<Store>>);

impl Shared {
    pub fn new(state: ClusterState, info: &ClusterInfo) -> Self {
        let (tx, _) = broadcast::channel(4096);
        let floor = state.resource_version;
        let mut store = Store {
            state,
            history: VecDeque::new(),
            floor,
            tx,
            mount_failures: HashMap::new(),
            node_plugins: lustre_csi::PluginClocks::default(),
        };
        store.seed(info);
        Shared(Arc::new(Mutex::new(store)))
    }

    pub fn lock(&self) -> MutexGuard<'_, Store> {
        // A handler that panicked while holding the lock leaves consistent JSON behind
        // (each write is one map insert), so keep serving.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn snapshot(&self) -> ClusterState {
        self.lock().state.clone()
    }
}

/// `prefix/namespace/name` or `prefix/name`.
pub fn key(res: &Resource, ns: Option<&str>, name: &str) -> String {
    match ns.filter(|_| res.namespaced) {
        Some(ns) => format!("{}/{ns}/{name}", res.store_prefix()),
        None => format!("{}/{name}", res.store_prefix()),
    }
}

impl Store {
    /// Objects every cluster has: the system namespaces, the nodes of the agent pools and
    /// the `CSINode` each node's kubelet writes; and, once, the Lustre CSI driver when the
    /// cluster has it.
    fn seed(&mut self, info: &ClusterInfo) {
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            if self.get(&resources::NAMESPACES, None, ns).is_none() {
                let obj =
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
                if let Err(e) =
                    self.create(&resources::NAMESPACES, None, obj, false, "kube-apiserver")
                {
                    tracing::warn!("seeding namespace {ns}: {e}");
                }
            }
        }
        for (i, node) in info.nodes.iter().enumerate() {
            if self.get(&resources::NODES, None, node).is_none() {
                let obj = node_object(node, i, info);
                if let Err(e) = self.create(&resources::NODES, None, obj, false, "kubelet") {
                    tracing::warn!("seeding node {node}: {e}");
                }
            }
            if let Some(n) = self.get(&resources::NODES, None, node).cloned()
                && self.get(&resources::CSI_NODES, None, node).is_none()
                && let Err(e) = self.create(
                    &resources::CSI_NODES,
                    None,
                    lustre_csi::csinode_for(&n),
                    false,
                    "kubelet",
                )
            {
                tracing::warn!("seeding the CSINode of {node}: {e}");
            }
        }
        if info.lustre_csi.installs_driver() {
            lustre_csi::install(self);
        }
    }

    pub fn current_rv(&self) -> u64 {
        self.state.resource_version
    }

    pub fn get(&self, res: &Resource, ns: Option<&str>, name: &str) -> Option<&Value> {
        self.state.objects.get(&key(res, ns, name))
    }

    /// Objects of one resource, in one namespace or all, in key order.
    pub fn list(&self, res: &Resource, ns: Option<&str>) -> Vec<&Value> {
        let prefix = match ns.filter(|_| res.namespaced) {
            Some(ns) => format!("{}/{ns}/", res.store_prefix()),
            None => format!("{}/", res.store_prefix()),
        };
        self.state
            .objects
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| v)
            .collect()
    }

    pub fn list_owned(&self, res: &Resource, ns: Option<&str>) -> Vec<Value> {
        self.list(res, ns).into_iter().cloned().collect()
    }

    /// Copies of the objects of one resource that `pred` picks. The controllers run every
    /// tick over every object: judging each in place and copying only those they act on
    /// keeps a pass cheap however many objects sit in the cluster (copying them all made
    /// every API request wait on the lock once a few hundred volumes existed).
    pub fn select(
        &self,
        res: &Resource,
        ns: Option<&str>,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Vec<Value> {
        self.list(res, ns)
            .into_iter()
            .filter(|o| pred(o))
            .cloned()
            .collect()
    }

    fn next_rv(&mut self) -> u64 {
        self.state.resource_version += 1;
        self.state.resource_version
    }

    fn publish(&mut self, change: Change) {
        let change = Arc::new(change);
        self.history.push_back(change.clone());
        while self.history.len() > HISTORY {
            if let Some(old) = self.history.pop_front() {
                self.floor = old.rv;
            }
        }
        // No receivers is fine: nobody watches.
        let _ = self.tx.send(change);
    }

    /// Stores `obj` (new or changed) unless it equals what is stored, bumping the
    /// resourceVersion and notifying watches. An object being deleted whose last
    /// finalizer went away is removed instead. Returns what is stored now.
    pub fn commit(&mut self, res: &'static Resource, mut obj: Value) -> Value {
        let ns = meta::namespace(&obj).map(String::from);
        let k = key(res, ns.as_deref(), meta::name(&obj));
        let old = self.state.objects.get(&k).cloned();
        if let Some(old) = &old {
            if same_content(old, &obj) {
                return old.clone();
            }
            // The last finalizer of an object being deleted went: it goes. (Namespaces
            // finish through their controller; pods through the kubelet.)
            if meta::deleting(&obj)
                && meta::finalizers(&obj).is_empty()
                && !meta::finalizers(old).is_empty()
                && res.kind != "Namespace"
            {
                return self.remove_key(res, &k, Some(obj)).unwrap_or(Value::Null);
            }
        }
        let rv = self.next_rv();
        meta::metadata_mut(&mut obj).insert("resourceVersion".into(), Value::from(rv.to_string()));
        self.state.objects.insert(k, obj.clone());
        let kind = if old.is_some() {
            ChangeKind::Modified
        } else {
            ChangeKind::Added
        };
        self.publish(Change {
            rv,
            resource: res,
            kind,
            object: obj.clone(),
            old,
        });
        obj
    }

    fn remove_key(
        &mut self,
        res: &'static Resource,
        k: &str,
        last: Option<Value>,
    ) -> Option<Value> {
        let old = self.state.objects.remove(k)?;
        let mut obj = last.unwrap_or_else(|| old.clone());
        let rv = self.next_rv();
        meta::metadata_mut(&mut obj).insert("resourceVersion".into(), Value::from(rv.to_string()));
        if res.kind == "Pod" {
            let uid = meta::uid(&obj).to_string();
            let prefix = format!("{uid}/");
            self.state
                .logs
                .retain(|k, _| k != &uid && !k.starts_with(&prefix));
            self.mount_failures.remove(meta::uid(&obj));
            self.node_plugins.forget(meta::uid(&obj));
        }
        self.publish(Change {
            rv,
            resource: res,
            kind: ChangeKind::Deleted,
            object: obj.clone(),
            old: Some(old),
        });
        Some(obj)
    }

    /// Removes an object now (controllers: finished graceful deletions, garbage).
    pub fn remove(
        &mut self,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let k = key(res, ns, name);
        self.remove_key(res, &k, None)
    }

    fn check_namespace(
        &self,
        res: &Resource,
        ns: Option<&str>,
        name: &str,
    ) -> Result<(), ApiError> {
        if !res.namespaced {
            return Ok(());
        }
        let ns =
            ns.ok_or_else(|| ApiError::bad_request("the namespace of the object is required"))?;
        match self.get(&resources::NAMESPACES, None, ns) {
            None => Err(ApiError::namespace_not_found(ns)),
            Some(n) if meta::deleting(n) => Err(ApiError::forbidden(
                res,
                name,
                &format!(
                    "unable to create new content in namespace {ns} because it is being terminated"
                ),
            )),
            Some(_) => Ok(()),
        }
    }

    /// POST: a new object, with uid, timestamps, defaults and validation.
    pub fn create(
        &mut self,
        res: &'static Resource,
        ns: Option<&str>,
        obj: Value,
        dry_run: bool,
        manager: &str,
    ) -> Result<Value, ApiError> {
        let mut obj = admission::prepare_create(res, ns, obj)?;
        if meta::name(&obj).is_empty() {
            let base = meta::str_at(&obj, "/metadata/generateName")
                .unwrap_or("")
                .to_string();
            let name = format!("{base}{}", random_suffix(5));
            meta::metadata_mut(&mut obj).insert("name".into(), Value::from(name));
        }
        let name = meta::name(&obj).to_string();
        self.check_namespace(res, ns, &name)?;
        if self.get(res, ns, &name).is_some() {
            return Err(ApiError::already_exists(res, &name));
        }
        let m = meta::metadata_mut(&mut obj);
        m.insert("uid".into(), Value::from(uuid::Uuid::new_v4().to_string()));
        m.insert("creationTimestamp".into(), Value::from(time::now()));
        m.remove("deletionTimestamp");
        m.remove("resourceVersion");
        if res.group == "apps" || res.group == "batch" {
            m.insert("generation".into(), Value::from(1));
        }
        if !m.contains_key("managedFields") {
            apply::track_update(None, &mut obj, manager, &res.api_version());
        }
        admission::on_create(res, &mut obj);
        admission::validate(res, &obj)?;
        if dry_run {
            return Ok(obj);
        }
        Ok(self.commit(res, obj))
    }

    /// PUT (and the last step of PATCH): replaces the object, with optimistic
    /// concurrency on `metadata.resourceVersion` when the body carries one.
    /// `subresource` is `Some("status")` for writes to `/status`.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
        mut obj: Value,
        subresource: Option<&str>,
        dry_run: bool,
        manager: Option<&str>,
    ) -> Result<Value, ApiError> {
        let old = self
            .get(res, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(res, name))?;
        if meta::name(&obj).is_empty() {
            meta::metadata_mut(&mut obj).insert("name".into(), Value::from(name));
        }
        if meta::name(&obj) != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                meta::name(&obj)
            )));
        }
        if let Some(rv) = meta::resource_version(&obj)
            && Some(rv) != meta::resource_version(&old)
        {
            return Err(ApiError::conflict(res, name));
        }
        let mut obj = admission::prepare_update(res, &old, obj, subresource)?;
        admission::validate(res, &obj)?;
        admission::validate_update(res, &old, &obj)?;
        if let Some(manager) = manager {
            apply::track_update(Some(&old), &mut obj, manager, &res.api_version());
        }
        if dry_run {
            return Ok(obj);
        }
        Ok(self.commit(res, obj))
    }

    /// DELETE: removes the object, or only marks it (`deletionTimestamp`) while it has
    /// finalizers, or while a kubelet still has to stop a scheduled pod.
    pub fn delete(
        &mut self,
        res: &'static Resource,
        ns: Option<&str>,
        name: &str,
        opts: &DeleteOpts,
    ) -> Result<Value, ApiError> {
        let old = self
            .get(res, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(res, name))?;
        if let Some(uid) = &opts.precondition_uid
            && uid != meta::uid(&old)
        {
            return Err(ApiError::conflict(res, name).with_message(format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                meta::uid(&old)
            )));
        }
        if let Some(rv) = &opts.precondition_rv
            && Some(rv.as_str()) != meta::resource_version(&old)
        {
            return Err(ApiError::conflict(res, name));
        }
        let mut obj = old.clone();
        let mut finalizers = meta::finalizers(&obj);
        match opts.propagation.as_deref() {
            Some("Foreground") if !finalizers.iter().any(|f| f == "foregroundDeletion") => {
                finalizers.push("foregroundDeletion".into());
            }
            Some("Orphan") if !finalizers.iter().any(|f| f == "orphan") => {
                finalizers.push("orphan".into());
            }
            _ => {}
        }
        if res.kind == "Namespace" && !meta::deleting(&obj) {
            // The namespace controller empties it, then removes it.
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Terminating"});
        }
        let graceful_pod = res.kind == "Pod"
            && meta::str_at(&obj, "/spec/nodeName").is_some()
            && opts.grace_period != Some(0)
            && !matches!(
                meta::str_at(&obj, "/status/phase"),
                Some("Succeeded" | "Failed")
            );
        let keep = !finalizers.is_empty() || res.kind == "Namespace" || graceful_pod;
        if !keep {
            if opts.dry_run {
                return Ok(old);
            }
            return Ok(self.remove(res, ns, name).unwrap_or(old));
        }
        if !meta::deleting(&obj) {
            let m = meta::metadata_mut(&mut obj);
            m.insert("deletionTimestamp".into(), Value::from(time::now()));
            let grace = if res.kind == "Pod" {
                opts.grace_period.unwrap_or(30)
            } else {
                0
            };
            m.insert("deletionGracePeriodSeconds".into(), Value::from(grace));
        }
        meta::set_finalizers(&mut obj, &finalizers);
        if opts.dry_run {
            return Ok(obj);
        }
        Ok(self.commit(res, obj))
    }

    /// Records (or repeats) an event about `involved`, as a controller or kubelet would.
    pub fn record_event(&mut self, involved: &Value, res: &'static Resource, ev: EventSpec<'_>) {
        let EventSpec {
            type_,
            reason,
            message,
            component,
            host,
        } = ev;
        let ns = meta::namespace(involved).unwrap_or("default").to_string();
        let uid = meta::uid(involved).to_string();
        let now = time::now();
        let existing = self
            .list(&resources::EVENTS, Some(&ns))
            .into_iter()
            .find(|e| {
                meta::str_at(e, "/involvedObject/uid") == Some(uid.as_str())
                    && e.get("reason").and_then(Value::as_str) == Some(reason)
                    && e.get("message").and_then(Value::as_str) == Some(message)
            })
            .cloned();
        let ev = match existing {
            Some(e)
                if meta::str_at(&e, "/lastTimestamp")
                    .and_then(time::parse)
                    .is_some_and(|t| time::now_secs() - t < EVENT_REPEAT_SECS) =>
            {
                // Repeated too soon: the real recorders aggregate these.
                return;
            }
            Some(mut e) => {
                let count = e.get("count").and_then(Value::as_i64).unwrap_or(1) + 1;
                e["count"] = Value::from(count);
                e["lastTimestamp"] = Value::from(now);
                e
            }
            None => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                let mut source = json!({"component": component});
                if let Some(h) = host {
                    source["host"] = Value::from(h);
                }
                let mut involved_ref = json!({
                    "kind": res.kind,
                    "namespace": meta::namespace(involved),
                    "name": meta::name(involved),
                    "uid": uid,
                    "apiVersion": res.api_version(),
                    "resourceVersion": meta::resource_version(involved),
                });
                if let Value::Object(m) = &mut involved_ref {
                    m.retain(|_, v| !v.is_null());
                }
                json!({
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {
                        "name": format!("{}.{:x}", meta::name(involved), nanos),
                        "namespace": ns,
                        "uid": uuid::Uuid::new_v4().to_string(),
                        "creationTimestamp": now,
                    },
                    "involvedObject": involved_ref,
                    "reason": reason,
                    "message": message,
                    "source": source,
                    "firstTimestamp": now,
                    "lastTimestamp": now,
                    "count": 1,
                    "type": type_,
                    "eventTime": null,
                    "reportingComponent": component,
                    "reportingInstance": host.unwrap_or(""),
                })
            }
        };
        self.commit(&resources::EVENTS, ev);
    }

    /// Starts a watch: the changes to replay (after `from`, or synthetic ADDED for every
    /// current object when `from` is None) and the receiver of what follows.
    pub fn watch(
        &self,
        res: &'static Resource,
        ns: Option<&str>,
        from: Option<u64>,
    ) -> Result<WatchStart, ApiError> {
        let rx = self.tx.subscribe();
        let same =
            |c: &Change| c.resource == res && (ns.is_none() || meta::namespace(&c.object) == ns);
        let initial = match from {
            None => self
                .list(res, ns)
                .into_iter()
                .map(|o| {
                    Arc::new(Change {
                        rv: meta::resource_version(o)
                            .and_then(|r| r.parse().ok())
                            .unwrap_or(0),
                        resource: res,
                        kind: ChangeKind::Added,
                        object: o.clone(),
                        old: None,
                    })
                })
                .collect(),
            Some(rv) if rv < self.floor => return Err(ApiError::gone(rv, self.floor)),
            Some(rv) => self
                .history
                .iter()
                .filter(|c| c.rv > rv && same(c))
                .cloned()
                .collect(),
        };
        Ok((initial, rx))
    }
}

/// Equal apart from the resourceVersion (which a client may echo or omit).
fn same_content(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        meta::metadata_mut(&mut v).remove("resourceVersion");
        v
    };
    strip(a) == strip(b)
}

/// Lowercase letters and digits as in generated names (`nginx-7c5ddbdf54-x2kqv`).
pub fn random_suffix(n: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    (0..n)
        .map(|i| ALPHABET[bytes[i % 16] as usize % ALPHABET.len()] as char)
        .collect()
}

/// A Ready node with the labels AKS puts on agent pool nodes.
fn node_object(name: &str, index: usize, info: &ClusterInfo) -> Value {
    let pool = name
        .strip_prefix("aks-")
        .and_then(|r| r.split('-').next())
        .unwrap_or("nodepool1");
    let ip = format!("10.224.0.{}", 4 + index);
    let image = info.lustre_csi.node_image();
    let now = time::now();
    let cond = |t: &str, s: &str, reason: &str, msg: &str| {
        json!({"type": t, "status": s, "lastHeartbeatTime": now, "lastTransitionTime": now,
               "reason": reason, "message": msg})
    };
    let mut labels = BTreeMap::new();
    for (k, v) in [
        ("agentpool", pool),
        ("kubernetes.azure.com/agentpool", pool),
        ("kubernetes.azure.com/cluster", info.name.as_str()),
        ("kubernetes.azure.com/mode", "system"),
        ("kubernetes.azure.com/os-sku", "Ubuntu"),
        ("kubernetes.azure.com/os-sku-effective", image.os_sku),
        ("kubernetes.azure.com/node-image-version", image.version),
        ("kubernetes.azure.com/role", "agent"),
        ("kubernetes.io/arch", "amd64"),
        ("kubernetes.io/hostname", name),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/role", "agent"),
        ("node-role.kubernetes.io/agent", ""),
        ("node.kubernetes.io/instance-type", "Standard_DS2_v2"),
        ("beta.kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("topology.kubernetes.io/region", "eastus"),
        ("topology.kubernetes.io/zone", "0"),
    ] {
        labels.insert(k.to_string(), v.to_string());
    }
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "podCIDR": format!("10.244.{index}.0/24"),
            "providerID": format!("azure://{}/virtualMachineScaleSets/aks-{pool}/virtualMachines/{index}", info.arm_id),
        },
        "status": {
            "capacity": {"cpu": "2", "memory": "7097684Ki", "pods": "110", "ephemeral-storage": "129886128Ki"},
            "allocatable": {"cpu": "1900m", "memory": "5241172Ki", "pods": "110", "ephemeral-storage": "119703055367"},
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "kubeletVersion": format!("v{}", info.kubernetes_version),
                "kubeProxyVersion": format!("v{}", info.kubernetes_version),
                "osImage": image.os_image,
                "kernelVersion": image.kernel,
                "containerRuntimeVersion": "containerd://1.7.27-1",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "machineID": uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).simple().to_string(),
                "systemUUID": uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_DNS, name.as_bytes()).to_string(),
                "bootID": uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes()).to_string(),
            },
        },
    })
}
