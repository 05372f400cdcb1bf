//! `verify`: a checklist from the claim to a file written on the cache, each failed check
//! with what fixes it.

use std::time::Duration;

use ::kube::Api;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use serde::Serialize;

use super::client_info::{self, ClientInfoVolume};
use super::driver;
use super::manifests::{self, VolumeSource};
use super::probe::{self, ProbeOutcome, ProbeSpec};
use crate::deploy::keys::AML_FILESYSTEM;
use crate::probe::Report;
use crate::state::{Backend, State};
use crate::{Error, Result};

/// What the checks compare against (from the state file, or from flags without one).
#[derive(Debug, Clone, Default)]
pub struct Expected {
    pub deployment: String,
    pub namespace: String,
    pub claim: String,
    /// The PV when the claim does not name one (a claim that is missing).
    pub pv: String,
    /// The DNS name the PV must mount.
    pub server: Option<String>,
    /// The cache's namespace paths; the PV's path must be one of them or under one.
    pub paths: Vec<String>,
    /// For the fixes: cache name and resource group, DNS zone, the cluster's vnet id, the
    /// cluster's name and resource group (for `up`).
    pub cache: Option<(String, String)>,
    pub zone: Option<(String, String)>,
    pub vnet_id: Option<String>,
    pub cluster: Option<(String, String)>,
    /// Root squash as recorded: what the root probe's write should meet.
    pub root_squash: bool,
    /// The uid and gid `up --owner` gave the namespace path to: the non-root probe's user
    /// when `--as-user` is not given.
    pub owner: Option<(u32, u32)>,
    /// A Managed Lustre deployment: what its volume must mount (else an HPC Cache's).
    pub lustre: Option<LustreExpected>,
}

/// What a Managed Lustre deployment's volume is judged by.
#[derive(Debug, Clone, Default)]
pub struct LustreExpected {
    pub mgs_address: String,
    pub fs_name: String,
    /// `None`, `RootOnly` or `All`.
    pub root_squash_mode: String,
    /// Who root (or everyone, with `All`) becomes on the filesystem.
    pub squash: Option<(u32, u32)>,
    /// The filesystem's name and resource group, for the fixes.
    pub filesystem: Option<(String, String)>,
    /// The filesystem's subnet, for the network hint.
    pub subnet_id: Option<String>,
    /// The filesystem's example volume, read through ARM (`attach`); `None` without ARM.
    pub client_info: Option<std::result::Result<ClientInfoVolume, String>>,
}

impl LustreExpected {
    fn squashes_root(&self) -> bool {
        self.root_squash_mode != "None"
    }
}

impl Expected {
    /// What the state file says about the deployment.
    pub fn from_state(state: &State, namespace: &str, claim: &str, pv: &str) -> Expected {
        let split = |id: &str| {
            let parts: Vec<&str> = id.split('/').collect();
            let rg = parts
                .iter()
                .position(|p| p.eq_ignore_ascii_case("resourceGroups"))
                .and_then(|i| parts.get(i + 1))
                .map(|s| s.to_string())
                .unwrap_or_default();
            (parts.last().copied().unwrap_or_default().to_string(), rg)
        };
        Expected {
            deployment: state.deployment.clone(),
            namespace: namespace.to_string(),
            claim: claim.to_string(),
            pv: pv.to_string(),
            server: state.dns.as_ref().map(|d| d.fqdn.clone()),
            paths: state.namespace_paths.clone(),
            cache: state.resources.get("cache").map(|r| split(&r.id)),
            zone: state.resources.get("dnsZone").map(|r| split(&r.id)),
            vnet_id: state.cluster.as_ref().and_then(|c| c.vnet_id.clone()),
            cluster: state
                .cluster
                .as_ref()
                .map(|c| (c.name.clone(), c.resource_group.clone())),
            root_squash: state.cache.as_ref().is_some_and(|c| c.root_squash),
            owner: state.owner.as_ref().map(|o| (o.uid, o.gid)),
            lustre: (state.backend == Backend::Amlfs).then(|| {
                let l = state.lustre.clone();
                LustreExpected {
                    mgs_address: l
                        .as_ref()
                        .map(|l| l.mgs_address.clone())
                        .unwrap_or_default(),
                    fs_name: l
                        .as_ref()
                        .map(|l| l.filesystem_name.clone())
                        .unwrap_or_default(),
                    root_squash_mode: l
                        .as_ref()
                        .map(|l| l.root_squash_mode.clone())
                        .unwrap_or_else(|| "None".into()),
                    squash: l
                        .as_ref()
                        .and_then(|l| Some((l.squash_uid?, l.squash_gid?))),
                    filesystem: state.resources.get(AML_FILESYSTEM).map(|r| split(&r.id)),
                    subnet_id: state.resources.get("subnet").map(|r| r.id.clone()),
                    client_info: None,
                }
            }),
        }
    }
}

/// How long a claim may stay Pending before its binding counts as failed.
const BIND_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub image: String,
    /// The second probe's uid (`--as-user`); without it, the owner `up --owner` recorded,
    /// else no second probe.
    pub as_user: Option<u32>,
    pub timeout: Duration,
}

impl VerifyOptions {
    /// The uid of the second probe, if there is one.
    fn second_user(&self, e: &Expected) -> Option<u32> {
        self.as_user.or(e.owner.map(|(uid, _)| uid))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Not run because an earlier check failed.
    Skip,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    /// What was found (a probe's `df` line, the kubelet's message, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// How to fix a failure: lines to read or commands to run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fix: Vec<String>,
}

impl Check {
    fn pass(name: impl Into<String>, detail: Option<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Pass,
            detail,
            fix: Vec::new(),
        }
    }
    fn fail(name: impl Into<String>, detail: impl Into<String>, fix: Vec<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Fail,
            detail: Some(detail.into()),
            fix,
        }
    }
    fn skip(name: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Skip,
            detail: None,
            fix: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub namespace: String,
    pub claim: String,
    pub checks: Vec<Check>,
}

impl Verification {
    /// Whether the volume works as the recorded settings say it should: every check
    /// passed. `kubectl hpccache verify` and `az-hpccache-ext up --attach`/`attach` both
    /// decide their exit code by this alone.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status == Status::Pass)
    }

    /// The checks that did not pass.
    pub fn not_passed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status != Status::Pass)
    }
}

fn remount(e: &Expected) -> String {
    format!("kubectl hpccache mount {} -n {}", e.deployment, e.namespace)
}

/// Runs the checklist. Ctrl-C at any point removes every probe pod of the deployment in
/// the namespace and returns [`Error::Interrupted`].
pub async fn verify(
    client: &::kube::Client,
    e: &Expected,
    opts: &VerifyOptions,
) -> Result<Verification> {
    tokio::select! {
        r = checklist(client, e, opts) => r,
        _ = tokio::signal::ctrl_c() => {
            // Best effort: the user is leaving; an error here must not hide the interrupt.
            let _ = probe::cleanup(client, &e.namespace, &e.deployment).await;
            Err(Error::Interrupted)
        }
    }
}

async fn checklist(
    client: &::kube::Client,
    e: &Expected,
    opts: &VerifyOptions,
) -> Result<Verification> {
    let mut checks = Vec::new();
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &e.namespace);
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    // A claim applied a moment ago may not be bound yet: give the binder a few seconds
    // before judging, as `kubectl wait` would.
    let deadline = std::time::Instant::now() + BIND_GRACE;
    let claim = loop {
        let claim = claims.get_opt(&e.claim).await.map_err(Error::kube(format!(
            "read claim {}/{}",
            e.namespace, e.claim
        )))?;
        let pending = claim
            .as_ref()
            .is_some_and(|c| c.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Bound"));
        if !pending || std::time::Instant::now() >= deadline {
            break claim;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let claim_name = format!("PersistentVolumeClaim {}/{} exists", e.namespace, e.claim);
    let pv_name = claim
        .as_ref()
        .and_then(|c| c.spec.as_ref()?.volume_name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| e.pv.clone());
    match &claim {
        Some(_) => checks.push(Check::pass(claim_name, None)),
        None => checks.push(Check::fail(claim_name, "not found", vec![remount(e)])),
    }
    let pv = pvs
        .get_opt(&pv_name)
        .await
        .map_err(Error::kube(format!("read PersistentVolume {pv_name}")))?;
    let exists = format!("PersistentVolume {pv_name} exists");
    match &pv {
        Some(_) => checks.push(Check::pass(exists, None)),
        None => checks.push(Check::fail(exists, "not found", vec![remount(e)])),
    }
    let (Some(pv), Some(claim)) = (pv, claim) else {
        finish_skipped(&mut checks, e, opts);
        return Ok(done(e, checks));
    };

    // Binding, both ways: the guide's claim (no volumeName) may have bound to another PV.
    let pv_phase = pv
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default();
    let claim_ref = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
    let bound_to = claim_ref
        .map(|r| {
            format!(
                "{}/{}",
                r.namespace.as_deref().unwrap_or_default(),
                r.name.as_deref().unwrap_or_default()
            )
        })
        .unwrap_or_else(|| "no claim".into());
    let want = format!("{}/{}", e.namespace, e.claim);
    let name = format!("PersistentVolume {pv_name} is Bound to {want}");
    if pv_phase == "Bound" && bound_to == want {
        checks.push(Check::pass(name, None));
    } else {
        checks.push(Check::fail(
            name,
            format!("phase {pv_phase}, claimRef {bound_to}"),
            vec![
                "The volume is reserved for another claim or not bound yet; re-apply ours:".into(),
                remount(e),
            ],
        ));
    }
    let claim_phase = claim
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default();
    let claim_vol = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.clone())
        .unwrap_or_default();
    let name = format!("PersistentVolumeClaim {want} is Bound to {pv_name}");
    if claim_phase == "Bound" && claim_vol == pv_name {
        checks.push(Check::pass(name, None));
    } else {
        checks.push(Check::fail(
            name,
            format!("phase {claim_phase}, volumeName {claim_vol:?}"),
            vec![
                format!(
                    "kubectl describe pvc {} -n {} shows why",
                    e.claim, e.namespace
                ),
                remount(e),
            ],
        ));
    }

    if let Some(l) = &e.lustre {
        return lustre_checks(client, e, l, opts, &pv, checks).await;
    }

    let nfs = pv.spec.as_ref().and_then(|s| s.nfs.clone());
    let (server, path) = nfs.map(|n| (n.server, n.path)).unwrap_or_default();
    let name = "NFS server is the cache's DNS name".to_string();
    match &e.server {
        Some(want) if !want.eq_ignore_ascii_case(&server) => checks.push(Check::fail(
            name,
            format!("the volume mounts {server:?}, the state file says {want:?}"),
            vec![remount(e)],
        )),
        _ => checks.push(Check::pass(name, Some(server.clone()))),
    }
    let name = "NFS path is a namespace path of the cache".to_string();
    let path_ok = e.paths.is_empty()
        || e.paths.iter().any(|p| {
            p == &path || p == "/" || path.starts_with(&format!("{}/", p.trim_end_matches('/')))
        });
    if path_ok {
        checks.push(Check::pass(name, Some(path.clone())));
    } else {
        checks.push(Check::fail(
            name,
            format!(
                "the volume mounts {path:?}; the cache exports {}",
                e.paths.join(", ")
            ),
            vec![remount(e)],
        ));
    }

    let judge = ProbeJudge {
        root_write: &|r| root_write(e, r, &path),
        mount_failure: &|name, msg| mount_failure(name, msg, e),
        write_fixes: &|uid| write_fixes(e, uid, &path),
    };
    let name = format!("probe as root mounts {server}:{path}");
    probes(client, e, opts, checks, name, &judge).await
}

/// The root probe's write, judged by the recorded root squash: off, root must write; on,
/// root is nobody on the cache and must not (a write that went through means the cache
/// does not squash root after all). Never a pass beside a refused write that was expected
/// to work.
fn root_write(e: &Expected, r: &Report, path: &str) -> Check {
    let (cache, rg) = cache_and_group(e);
    if !e.root_squash {
        let name = "probe as root can write";
        return if r.ok() {
            Check::pass(name, Some("write and read back ok".into()))
        } else {
            Check::fail(
                name,
                write_error(r),
                vec![
                    "Root squash is recorded off, yet root on the nodes cannot write: the cache's access policy squashes root (or makes the export read-only). Turn root squash off again:".into(),
                    format!("az-hpccache-ext cache update -g {rg} -n {cache} --no-root-squash"),
                ],
            )
        };
    }
    let name = "probe as root cannot write (root squash is on)";
    if r.write {
        Check::fail(
            name,
            format!(
                "root wrote to {path}: the cache does not squash root, or the directory is writable by everyone"
            ),
            vec![
                "Root squash is recorded on; turn it on again on the cache:".into(),
                format!("az-hpccache-ext cache update -g {rg} -n {cache} --root-squash"),
            ],
        )
    } else {
        // The shell's "Permission denied" is left out: beside a pass it would read as a
        // failure passed off as success.
        Check::pass(
            name,
            Some("root on the nodes is nobody on the cache, so its write was refused, as root squash intends".into()),
        )
    }
}

/// What differs between the backends' probes: how the root probe's write is judged, what a
/// mount failure says, and the fixes for a user who cannot write.
struct ProbeJudge<'a> {
    root_write: &'a (dyn Fn(&Report) -> Check + Sync),
    mount_failure: &'a (dyn Fn(String, &str) -> Check + Sync),
    write_fixes: &'a (dyn Fn(u32) -> Vec<String> + Sync),
}

/// The probes, for either backend: as root (does it mount, and does its write meet the
/// recorded root squash?), then as the workload's user. `name` is the root probe's check.
async fn probes(
    client: &::kube::Client,
    e: &Expected,
    opts: &VerifyOptions,
    mut checks: Vec<Check>,
    name: String,
    judge: &ProbeJudge<'_>,
) -> Result<Verification> {
    let root = run_probe(client, e, opts, None).await?;
    let root_ok = match &root {
        ProbeOutcome::Report(r) => {
            checks.push(Check::pass(name, Some(df(r))));
            checks.push((judge.root_write)(r));
            true
        }
        ProbeOutcome::MountFailed(msg) => {
            checks.push((judge.mount_failure)(name, msg));
            false
        }
        ProbeOutcome::NotAllowed(why) => {
            checks.push(Check::pass(name, Some(format!("skipped: {why}"))));
            true
        }
        ProbeOutcome::Failed(why) => {
            checks.push(Check::fail(
                name,
                why.clone(),
                vec![
                    "Check that the probe image can be pulled (--image) and the node is Ready"
                        .into(),
                ],
            ));
            false
        }
    };
    let Some(uid) = opts.second_user(e) else {
        return Ok(done(e, checks));
    };
    let name = format!("probe as uid {uid} can write");
    if !root_ok {
        checks.push(Check::skip(name));
        return Ok(done(e, checks));
    }
    match run_probe(client, e, opts, Some(uid)).await? {
        ProbeOutcome::Report(r) if r.ok() => checks.push(Check::pass(
            name,
            Some(format!("{}, write and read back ok", df(&r))),
        )),
        ProbeOutcome::Report(r) => checks.push(Check::fail(
            name,
            format!("{}: {}", df(&r), write_error(&r)),
            (judge.write_fixes)(uid),
        )),
        ProbeOutcome::MountFailed(msg) => checks.push((judge.mount_failure)(name, &msg)),
        ProbeOutcome::NotAllowed(why) | ProbeOutcome::Failed(why) => {
            checks.push(Check::fail(name, why, Vec::new()))
        }
    }
    Ok(done(e, checks))
}

fn done(e: &Expected, checks: Vec<Check>) -> Verification {
    Verification {
        namespace: e.namespace.clone(),
        claim: e.claim.clone(),
        checks,
    }
}

fn finish_skipped(checks: &mut Vec<Check>, e: &Expected, opts: &VerifyOptions) {
    checks.push(Check::skip(format!(
        "PersistentVolume is Bound to {}/{}",
        e.namespace, e.claim
    )));
    checks.push(Check::skip("probe as root mounts the volume"));
    if let Some(uid) = opts.second_user(e) {
        checks.push(Check::skip(format!("probe as uid {uid} can write")));
    }
}

async fn run_probe(
    client: &::kube::Client,
    e: &Expected,
    opts: &VerifyOptions,
    user: Option<u32>,
) -> Result<ProbeOutcome> {
    probe::run(
        client,
        &ProbeSpec {
            namespace: e.namespace.clone(),
            claim: e.claim.clone(),
            deployment: e.deployment.clone(),
            image: opts.image.clone(),
            user: user.or(Some(0)),
            timeout: opts.timeout,
        },
    )
    .await
}

/// The probe's `df` line: what it mounted, how big, where, as whom.
fn df(r: &Report) -> String {
    format!(
        "{} size {} used {} avail {} ({}) at {}, uid {}",
        r.source, r.size, r.used, r.available, r.use_percent, r.mount_point, r.uid
    )
}

/// Why a probe's write failed, as its shell said.
fn write_error(r: &Report) -> String {
    r.error.clone().unwrap_or_else(|| {
        if r.write {
            "the file read back differs".into()
        } else {
            "cannot write".into()
        }
    })
}

fn cache_and_group(e: &Expected) -> (String, String) {
    e.cache
        .clone()
        .unwrap_or_else(|| ("<cache>".into(), "<resource-group>".into()))
}

/// The kubelet's `Output:` line, which names the cause.
fn mount_output(msg: &str) -> &str {
    msg.lines()
        .rev()
        .find_map(|l| l.strip_prefix("Output: "))
        .unwrap_or(msg)
}

fn mount_failure(name: String, msg: &str, e: &Expected) -> Check {
    let out = mount_output(msg);
    let (cache, rg) = e
        .cache
        .clone()
        .unwrap_or_else(|| ("<cache>".into(), "<resource-group>".into()));
    let fix = if out.contains("Failed to resolve server") {
        let (zone, zrg) = e
            .zone
            .clone()
            .unwrap_or_else(|| ("<zone>".into(), "<resource-group>".into()));
        vec![
            format!(
                "The cluster's nodes cannot resolve the name: link the private DNS zone {zone} to the cluster's virtual network:"
            ),
            format!(
                "az network private-dns link vnet create --resource-group {zrg} --zone-name {zone} --name {}-link --virtual-network {} --registration-enabled false",
                e.deployment,
                e.vnet_id.clone().unwrap_or_else(|| "<vnet id>".into())
            ),
        ]
    } else if out.contains("timed out") {
        vec![
            "No running, healthy cache answers at that name's addresses; start the cache and check its health:".into(),
            format!("az-hpccache-ext cache start -g {rg} -n {cache}"),
            format!("az-hpccache-ext cache show -g {rg} -n {cache} --query health"),
        ]
    } else if out.contains("access denied") || out.contains("No such file") {
        vec![
            "The path is not a namespace path of the cache; list them, then mount one:".into(),
            format!(
                "az-hpccache-ext storage-target list -g {rg} --cache-name {cache} --query \"[].junctions[].namespacePath\" -o tsv"
            ),
            remount(e),
        ]
    } else {
        vec![format!(
            "kubectl get events -n {} --field-selector reason=FailedMount",
            e.namespace
        )]
    };
    Check::fail(name, out.to_string(), fix)
}

/// Why a non-root user cannot write, and what fixes it. The export's root belongs to root
/// (mode 0755), so the workload's user needs a directory of its own: `up --owner` gives it
/// one (with root squash off for the moment, as only an unsquashed root may chown).
fn write_fixes(e: &Expected, uid: u32, path: &str) -> Vec<String> {
    let (cluster, cluster_rg) = e
        .cluster
        .clone()
        .unwrap_or_else(|| ("<cluster>".into(), "<resource-group>".into()));
    let squash = if e.root_squash { " --root-squash" } else { "" };
    let up = format!(
        "az-hpccache-ext up -g {cluster_rg} --cluster {cluster} -n {}{squash} --owner {uid}:{uid}",
        e.deployment
    );
    let mut out = Vec::new();
    if e.owner.is_some_and(|(owner, _)| owner == uid) {
        out.push(format!(
            "The state file records {path} given to uid {uid}, yet it cannot write there: the directory's owner or mode changed since."
        ));
    }
    if e.root_squash {
        out.push(format!(
            "Root squash is on: root in the cluster is nobody on the cache and cannot give uid {uid} a directory. This turns root squash off for a one-shot job that chowns {path} to uid {uid}, then on again:"
        ));
        out.push(up);
        return out;
    }
    out.push(format!(
        "The export's root belongs to root; uid {uid} needs a directory of its own. This runs a one-shot job that chowns {path} to uid {uid}:"
    ));
    out.push(up);
    out.push(format!(
        "Or let an init container running as root chown a directory of the volume: initContainers: [{{name: chown, image: busybox:1.36, command: [sh, -c, \"mkdir -p /mnt/azure/data && chown {uid}:{uid} /mnt/azure/data\"], volumeMounts: [{{name: {}, mountPath: /mnt/azure}}]}}]  # then use {path}/data",
        super::workload::volume_name(&e.claim)
    ));
    out
}

/// The Lustre half of the checklist: the driver, the volume's source against the state file
/// (and the filesystem's clientInfo when ARM was read), then the probes judged by the
/// filesystem's root squash mode.
async fn lustre_checks(
    client: &::kube::Client,
    e: &Expected,
    l: &LustreExpected,
    opts: &VerifyOptions,
    pv: &PersistentVolume,
    mut checks: Vec<Check>,
) -> Result<Verification> {
    let report = driver::check(client, driver::STARTING_GRACE).await?;
    let driver_name = "Lustre CSI driver is installed and ready on every schedulable node";
    let driver_ok = report.passed();
    if driver_ok {
        checks.push(Check::pass(driver_name, Some(report.summary())));
    } else {
        checks.push(Check::fail(driver_name, report.summary(), report.fix()));
    }

    let (mgs, fs, sub_dir, is_lustre) = match manifests::source_of(pv) {
        Some(VolumeSource::Lustre {
            mgs_address,
            fs_name,
            sub_dir,
        }) => (mgs_address, fs_name, sub_dir, true),
        _ => (String::new(), String::new(), None, false),
    };
    let name = format!(
        "volume uses the Lustre CSI driver {}",
        manifests::LUSTRE_DRIVER
    );
    if is_lustre {
        checks.push(Check::pass(name, None));
    } else {
        checks.push(Check::fail(
            name,
            "the PersistentVolume has no azurelustre.csi.azure.com source",
            vec![remount(e)],
        ));
    }
    let name = "MGS address is the filesystem's".to_string();
    if mgs == l.mgs_address {
        checks.push(Check::pass(name, Some(mgs.clone())));
    } else {
        checks.push(Check::fail(
            name,
            format!(
                "the volume mounts {mgs:?}, the state file says {:?}",
                l.mgs_address
            ),
            vec![remount(e)],
        ));
    }
    let name = "filesystem name is the filesystem's".to_string();
    if fs == l.fs_name {
        checks.push(Check::pass(name, Some(fs.clone())));
    } else {
        checks.push(Check::fail(
            name,
            format!(
                "the volume mounts {fs:?}, the state file says {:?}",
                l.fs_name
            ),
            vec![remount(e)],
        ));
    }
    if let Some(ci) = &l.client_info {
        checks.push(client_info_check(e, ci, pv));
    }

    let source = format!(
        "{mgs}@tcp:{}",
        manifests::lustre_path(&fs, sub_dir.as_deref())
    );
    let name = format!("probe as root mounts {source}");
    if !driver_ok {
        // Without a ready node plugin the probe could only wait for its timeout.
        checks.push(Check::skip(name));
        if let Some(uid) = opts.second_user(e) {
            checks.push(Check::skip(format!("probe as uid {uid} can write")));
        }
        return Ok(done(e, checks));
    }
    let judge = ProbeJudge {
        root_write: &|r| lustre_root_write(l, r, &source),
        mount_failure: &|name, msg| lustre_mount_failure(name, msg, e, l),
        write_fixes: &|uid| lustre_write_fixes(e, l, uid),
    };
    probes(client, e, opts, checks, name, &judge).await
}

/// The volume against the filesystem's own example (read through ARM): fails when the
/// driver, MGS address or filesystem name differ; other differences are listed.
fn client_info_check(
    e: &Expected,
    ci: &std::result::Result<ClientInfoVolume, String>,
    pv: &PersistentVolume,
) -> Check {
    let name = "volume matches the filesystem's clientInfo";
    let want = match ci {
        Ok(w) => w,
        Err(why) => return Check::fail(name, why.clone(), Vec::new()),
    };
    let diffs = client_info::compare(want, pv);
    if diffs.is_empty() {
        return Check::pass(
            name,
            Some(format!(
                "driver {}, mgs-ip-address {}, fs-name {}, mount options {}",
                want.driver,
                want.mgs_address,
                want.fs_name,
                want.mount_options.join(",")
            )),
        );
    }
    let detail = diffs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if diffs.iter().any(|d| d.breaks) {
        let (fs, rg) = filesystem_and_group(e);
        Check::fail(
            name,
            detail,
            vec![
                "The state file no longer describes the filesystem (or the volume was edited). Read the filesystem again, then re-apply the volume:".into(),
                format!("az amlfs show -g {rg} -n {fs} --query clientInfo"),
                remount(e),
            ],
        )
    } else {
        Check::pass(name, Some(detail))
    }
}

fn filesystem_and_group(e: &Expected) -> (String, String) {
    e.lustre
        .as_ref()
        .and_then(|l| l.filesystem.clone())
        .unwrap_or_else(|| ("<filesystem>".into(), "<resource-group>".into()))
}

fn squash_update(e: &Expected, mode: &str) -> String {
    let (fs, rg) = filesystem_and_group(e);
    format!(
        "az-hpccache-ext amlfs update -g {rg} -n {fs} {} {mode}",
        crate::spec::amlfs::ROOT_SQUASH_MODE_FLAG
    )
}

/// The root probe's write, judged by the filesystem's root squash mode: `None`, root must
/// write; `RootOnly`/`All`, root is the squash user and its write to the root-owned
/// directory must be refused.
fn lustre_root_write(l: &LustreExpected, r: &Report, source: &str) -> Check {
    let e_fix = |mode: &str| {
        let e = Expected {
            lustre: Some(l.clone()),
            ..Expected::default()
        };
        squash_update(&e, mode)
    };
    if !l.squashes_root() {
        let name = "probe as root can write";
        return if r.ok() {
            Check::pass(name, Some("write and read back ok".into()))
        } else {
            Check::fail(
                name,
                write_error(r),
                vec![
                    "Root squash is recorded None, yet root on the nodes cannot write: the filesystem squashes root now. Turn root squash off again:".into(),
                    e_fix("None"),
                ],
            )
        };
    }
    let who = l
        .squash
        .map(|(u, g)| format!("{u}:{g}"))
        .unwrap_or_else(|| "the squash user".into());
    let name = format!(
        "probe as root cannot write (root squash {})",
        l.root_squash_mode
    );
    if r.write {
        Check::fail(
            name,
            format!(
                "root wrote to {source}: the filesystem does not squash root from these nodes (are their addresses in noSquashNidLists?), or the directory is writable by {who}"
            ),
            vec![
                format!(
                    "Root squash is recorded {}; set it again on the filesystem:",
                    l.root_squash_mode
                ),
                e_fix(&l.root_squash_mode),
            ],
        )
    } else {
        Check::pass(
            name,
            Some(format!(
                "root on the nodes is {who} on the filesystem, so its write was refused, as root squash intends"
            )),
        )
    }
}

/// A Lustre volume that did not mount: the kubelet's message, and what to look at.
fn lustre_mount_failure(name: String, msg: &str, e: &Expected, l: &LustreExpected) -> Check {
    // mount.lustre's hints follow its first line: keep them.
    let out = msg.split_once("Output: ").map_or(msg, |(_, o)| o).trim();
    let (fs, rg) = filesystem_and_group(e);
    let fix = if msg.contains("Is the MGS running?")
        || msg.contains("Input/output error")
        || msg.contains("timed out")
    {
        let vnet = e
            .vnet_id
            .clone()
            .unwrap_or_else(|| "<cluster vnet id>".into());
        let subnet = l
            .subnet_id
            .clone()
            .unwrap_or_else(|| "<filesystem subnet id>".into());
        vec![
            format!(
                "The nodes cannot reach the filesystem's MGS at {}. Lustre clients need TCP port 988 (LNet) open between the node subnet and the filesystem subnet:",
                l.mgs_address
            ),
            format!("1. the filesystem is healthy: az amlfs show -g {rg} -n {fs} --query health"),
            format!(
                "2. the subnets share a vnet or the vnets are peered (Connected): filesystem subnet {subnet}, cluster vnet {vnet}; az network vnet peering list -g <vnet resource group> --vnet-name <vnet> -o table"
            ),
            "3. no network security group on either subnet denies TCP 988: az network nsg rule list -g <nsg resource group> --nsg-name <nsg> --include-default -o table".into(),
        ]
    } else if msg.contains("Is the filesystem name correct?") {
        vec![
            format!(
                "The MGS serves no filesystem named {:?}: an Azure Managed Lustre filesystem is named \"lustrefs\". See what the filesystem says, correct the state file's lustre.filesystemName, then re-apply the volume:",
                l.fs_name
            ),
            format!("az amlfs show -g {rg} -n {fs} --query clientInfo"),
            remount(e),
        ]
    } else if msg.contains("permission denied") {
        vec![
            format!(
                "The driver could not create the sub-directory: root on the nodes is squashed (root squash {}). Create the directory from a trusted client, or turn root squash off for the first mount:",
                l.root_squash_mode
            ),
            squash_update(e, "None"),
        ]
    } else if msg.contains("not found in the list of registered CSI drivers") {
        driver::install_steps()
    } else {
        vec![format!(
            "kubectl get events -n {} --field-selector reason=FailedMount",
            e.namespace
        )]
    };
    Check::fail(name, out.to_string(), fix)
}

/// Why a non-root user cannot write to a Lustre volume, and what fixes it. The
/// filesystem's root belongs to root (mode 0755): the user needs a directory of its own,
/// which only an unsquashed root can give it.
fn lustre_write_fixes(e: &Expected, l: &LustreExpected, uid: u32) -> Vec<String> {
    let init = format!(
        "Let an init container running as root chown a directory of the volume: initContainers: [{{name: chown, image: busybox:1.36, command: [sh, -c, \"mkdir -p /mnt/azure/data && chown {uid}:{uid} /mnt/azure/data\"], volumeMounts: [{{name: {}, mountPath: /mnt/azure}}]}}]  # then use the data directory",
        super::workload::volume_name(&e.claim)
    );
    if !l.squashes_root() {
        return vec![
            format!(
                "The filesystem's root directory belongs to root; uid {uid} needs a directory of its own."
            ),
            init,
        ];
    }
    let mut out = vec![format!(
        "Root squash is {}: root in the cluster is {} on the filesystem and cannot give uid {uid} a directory. Turn root squash off for the moment, chown with an init container, then set it back:",
        l.root_squash_mode,
        l.squash
            .map(|(u, g)| format!("{u}:{g}"))
            .unwrap_or_else(|| "the squash user".into())
    )];
    out.push(squash_update(e, "None"));
    out.push(init);
    out.push(squash_update(e, &l.root_squash_mode));
    if l.root_squash_mode == "All" {
        out.push(format!(
            "With All, uid {uid} itself is squashed too: the directory must belong to the squash user, or the nodes' addresses must be in noSquashNidLists ({})",
            crate::spec::amlfs::NO_SQUASH_NIDS_FLAG
        ));
    }
    out
}
