//! `verify`: a checklist from the claim to a file written on the cache, each failed check
//! with what fixes it.

use std::time::Duration;

use ::kube::Api;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use serde::Serialize;

use super::probe::{self, ProbeOutcome, ProbeSpec};
use super::{Error, Result};
use crate::probe::Report;
use crate::state::State;

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
    /// For the fixes: cache name and resource group, DNS zone, the cluster's vnet id.
    pub cache: Option<(String, String)>,
    pub zone: Option<(String, String)>,
    pub vnet_id: Option<String>,
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
        }
    }
}

/// How long a claim may stay Pending before its binding counts as failed.
const BIND_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub image: String,
    /// The non-root probe's uid (`--as-user`).
    pub as_user: u32,
    pub timeout: Duration,
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
    /// A failure that says what a workload will meet rather than that the volume is broken:
    /// the non-root probe mounting fine but unable to write (root squash, ownership).
    /// `kubectl hpccache verify` still fails on it; `az-hpccache-ext attach` warns.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub advisory: bool,
}

impl Check {
    fn pass(name: impl Into<String>, detail: Option<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Pass,
            detail,
            fix: Vec::new(),
            advisory: false,
        }
    }
    fn fail(name: impl Into<String>, detail: impl Into<String>, fix: Vec<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Fail,
            detail: Some(detail.into()),
            fix,
            advisory: false,
        }
    }
    fn skip(name: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Skip,
            detail: None,
            fix: Vec::new(),
            advisory: false,
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
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status == Status::Pass)
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
        let claim = claims.get_opt(&e.claim).await.map_err(Error::api(format!(
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
        .map_err(Error::api(format!("read PersistentVolume {pv_name}")))?;
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

    // The probes: as root (does it mount at all?), then as the workload's user.
    let root = run_probe(client, e, opts, None).await?;
    let name = format!("probe as root mounts {server}:{path}");
    let root_wrote = matches!(&root, ProbeOutcome::Report(r) if r.ok());
    let root_ok = match &root {
        // This probe asks whether the volume mounts; whether root may write (root squash)
        // is the next probe's question, asked as the workload's user.
        ProbeOutcome::Report(r) => {
            let mut c = report_check(name, r, Vec::new());
            if c.status == Status::Fail {
                c.status = Status::Pass;
                c.detail = c
                    .detail
                    .map(|d| format!("{d} (root squash maps root to nobody)"));
            }
            checks.push(c);
            true
        }
        ProbeOutcome::MountFailed(msg) => {
            checks.push(mount_failure(name, msg, e));
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
    let name = format!("probe as uid {} can write", opts.as_user);
    if !root_ok {
        checks.push(Check::skip(name));
        return Ok(done(e, checks));
    }
    match run_probe(client, e, opts, Some(opts.as_user)).await? {
        ProbeOutcome::Report(r) if r.ok() => checks.push(report_check(name, &r, Vec::new())),
        ProbeOutcome::Report(r) => {
            let fix = write_fixes(e, opts.as_user, &path, root_wrote);
            let mut check = report_check(name, &r, fix);
            check.advisory = true;
            checks.push(check);
        }
        ProbeOutcome::MountFailed(msg) => checks.push(mount_failure(name, &msg, e)),
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
    checks.push(Check::skip(format!(
        "probe as uid {} can write",
        opts.as_user
    )));
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

fn report_check(name: String, r: &Report, fix: Vec<String>) -> Check {
    let df = format!(
        "{} size {} used {} avail {} ({}) at {}, uid {}",
        r.source, r.size, r.used, r.available, r.use_percent, r.mount_point, r.uid
    );
    if r.ok() {
        Check::pass(name, Some(format!("{df}, write and read back ok")))
    } else {
        let why = r.error.clone().unwrap_or_else(|| {
            if r.write {
                "the file read back differs".into()
            } else {
                "cannot write".into()
            }
        });
        Check::fail(name, format!("{df}: {why}"), fix)
    }
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

/// Why a non-root user cannot write, and what fixes it. The export's root belongs to root,
/// so the workload's user needs a directory chowned to it — which root squash (root on the
/// nodes is nobody on the cache) forbids.
fn write_fixes(e: &Expected, uid: u32, path: &str, root_wrote: bool) -> Vec<String> {
    let (cache, rg) = e
        .cache
        .clone()
        .unwrap_or_else(|| ("<cache>".into(), "<resource-group>".into()));
    let chown = format!(
        "initContainers: [{{name: chown, image: busybox:1.36, command: [sh, -c, \"mkdir -p /mnt/azure/data && chown {uid}:{uid} /mnt/azure/data\"], volumeMounts: [{{name: {}, mountPath: /mnt/azure}}]}}]  # then use {path}/data",
        super::workload::volume_name(&e.claim)
    );
    if root_wrote {
        return vec![
            format!(
                "The export's root is owned by root; uid {uid} needs a directory of its own. Root squash is off, so an init container running as root can chown one:"
            ),
            chown,
        ];
    }
    vec![
        format!(
            "Root squash is on: root on the nodes is nobody on the cache, so nothing in the cluster can give uid {uid} a directory."
        ),
        "Fix 1: change the cache's access policy so root on the clients stays root (then a workload running as root, or one that chowns its directory, can write):".into(),
        format!("az-hpccache-ext cache update -g {rg} -n {cache} --no-root-squash"),
        format!(
            "Fix 2: keep root squash and give uid {uid} a directory once: run Fix 1, let this init container (running as root) chown it, then turn root squash back on with `az-hpccache-ext cache update -g {rg} -n {cache} --root-squash`:"
        ),
        chown,
    ]
}
