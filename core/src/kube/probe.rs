//! A probe pod: mounts the claim, runs [`probe::script`], prints one report line; this
//! module starts it, waits for it, reads the report and always removes it — also when the
//! user presses Ctrl-C (every probe pod of the deployment is deleted by label).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ::kube::Api;
use ::kube::api::{DeleteParams, ListParams, LogParams, PostParams};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, Event, Namespace, PersistentVolumeClaimVolumeSource, Pod,
    PodSecurityContext, PodSpec, SeccompProfile, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::manifests::dns_name;
use super::{LABEL_MANAGED_BY, MANAGED_BY};
use crate::probe::{self, Report};
use crate::{Error, Result};

/// The probe's image when `--image` is not given: it has `sh`, `df`, `id`.
pub const DEFAULT_IMAGE: &str = "busybox:1.36";
/// How long a probe may take before it counts as failed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// The namespace label of Pod Security Admission's enforced level.
pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";

#[derive(Debug, Clone)]
pub struct ProbeSpec {
    pub namespace: String,
    pub claim: String,
    pub deployment: String,
    pub image: String,
    /// `None` runs as the image's user (root for busybox); `Some(uid)` as that uid and gid.
    pub user: Option<u32>,
    pub timeout: Duration,
}

/// What became of a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The probe ran and printed its report (which may say the write failed).
    Report(Report),
    /// The volume did not mount: the kubelet's `FailedMount` event text.
    MountFailed(String),
    /// The namespace's pod security level forbids this probe (e.g. root under `restricted`).
    NotAllowed(String),
    /// Anything else: no report, a timeout, a rejected pod.
    Failed(String),
}

/// Runs one probe to its end; the pod is deleted whatever happens. Ctrl-C deletes every
/// probe pod of the deployment in the namespace and returns [`Error::Interrupted`].
pub async fn run(client: &::kube::Client, spec: &ProbeSpec) -> Result<ProbeOutcome> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &spec.namespace);
    tokio::select! {
        r = run_inner(client, &pods, spec) => r,
        _ = tokio::signal::ctrl_c() => {
            // Best effort: the user is leaving; an error here must not hide the interrupt.
            let _ = cleanup(client, &spec.namespace, &spec.deployment).await;
            Err(Error::Interrupted)
        }
    }
}

/// Deletes every probe pod of `deployment` in `namespace`.
pub async fn cleanup(client: &::kube::Client, namespace: &str, deployment: &str) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let lp = ListParams::default().labels(&format!(
        "{}={}",
        probe::PROBE_LABEL,
        label_value(deployment)
    ));
    pods.delete_collection(&DeleteParams::background(), &lp)
        .await
        .map_err(Error::kube(format!("delete probe pods in {namespace}")))?;
    Ok(())
}

fn label_value(deployment: &str) -> String {
    dns_name(deployment, 63)
}

async fn run_inner(
    client: &::kube::Client,
    pods: &Api<Pod>,
    spec: &ProbeSpec,
) -> Result<ProbeOutcome> {
    let restricted = enforces_restricted(client, &spec.namespace).await?;
    if restricted && spec.user.unwrap_or(0) == 0 {
        return Ok(ProbeOutcome::NotAllowed(format!(
            "namespace {} enforces the restricted pod security level, which does not let a pod run as root",
            spec.namespace
        )));
    }
    let pod = pods
        .create(&PostParams::default(), &pod(spec))
        .await
        .map_err(Error::kube(format!(
            "create a probe pod in {}",
            spec.namespace
        )))?;
    let name = pod.metadata.name.clone().unwrap_or_default();
    let outcome = wait(client, pods, spec, &name).await;
    // Removed whatever the outcome; a failed delete is reported only if all else went well.
    let deleted = pods
        .delete(&name, &DeleteParams::background())
        .await
        .map_err(Error::kube(format!("delete probe pod {name}")));
    let outcome = outcome?;
    deleted?;
    Ok(outcome)
}

async fn enforces_restricted(client: &::kube::Client, namespace: &str) -> Result<bool> {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = api
        .get_opt(namespace)
        .await
        .map_err(Error::kube(format!("read namespace {namespace}")))?
        .ok_or_else(|| Error::ClusterRefused(format!("namespace {namespace} not found")))?;
    Ok(ns
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(ENFORCE_LABEL))
        .is_some_and(|v| v == "restricted"))
}

/// The probe pod. Its security context passes the `restricted` level whenever it runs
/// as non-root (no privilege escalation, no capabilities, the runtime's seccomp profile),
/// so the same pod works in any namespace that allows the user at all.
pub fn pod(spec: &ProbeSpec) -> Pod {
    let labels = BTreeMap::from([
        (
            probe::PROBE_LABEL.to_string(),
            label_value(&spec.deployment),
        ),
        (LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
    ]);
    let (uid, non_root) = match spec.user {
        Some(u) if u != 0 => (Some(i64::from(u)), Some(true)),
        Some(_) => (Some(0), None),
        None => (None, None),
    };
    Pod {
        metadata: ObjectMeta {
            generate_name: Some("hpccache-probe-".into()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            restart_policy: Some("Never".into()),
            automount_service_account_token: Some(false),
            security_context: Some(PodSecurityContext {
                run_as_user: uid,
                run_as_group: uid,
                run_as_non_root: non_root,
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    localhost_profile: None,
                }),
                ..PodSecurityContext::default()
            }),
            containers: vec![Container {
                name: "probe".into(),
                image: Some(spec.image.clone()),
                command: Some(vec!["sh".into(), "-c".into(), probe::script()]),
                security_context: Some(SecurityContext {
                    allow_privilege_escalation: Some(false),
                    capabilities: Some(Capabilities {
                        drop: Some(vec!["ALL".into()]),
                        add: None,
                    }),
                    run_as_user: uid,
                    run_as_group: uid,
                    run_as_non_root: non_root,
                    ..SecurityContext::default()
                }),
                volume_mounts: Some(vec![VolumeMount {
                    name: "data".into(),
                    mount_path: probe::MOUNT_POINT.into(),
                    ..VolumeMount::default()
                }]),
                ..Container::default()
            }],
            volumes: Some(vec![Volume {
                name: "data".into(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: spec.claim.clone(),
                    read_only: None,
                }),
                ..Volume::default()
            }]),
            ..PodSpec::default()
        }),
        status: None,
    }
}

async fn wait(
    client: &::kube::Client,
    pods: &Api<Pod>,
    spec: &ProbeSpec,
    name: &str,
) -> Result<ProbeOutcome> {
    let started = Instant::now();
    let events: Api<Event> = Api::namespaced(client.clone(), &spec.namespace);
    let by_pod = ListParams::default().fields(&format!("involvedObject.name={name}"));
    loop {
        let pod = pods
            .get_opt(name)
            .await
            .map_err(Error::kube(format!("read probe pod {name}")))?;
        let phase = pod
            .as_ref()
            .and_then(|p| p.status.as_ref())
            .and_then(|s| s.phase.clone())
            .unwrap_or_default();
        match phase.as_str() {
            "Succeeded" | "Failed" => {
                let log = pods
                    .logs(name, &LogParams::default())
                    .await
                    .map_err(Error::kube(format!("read the log of probe pod {name}")))?;
                return Ok(match Report::parse(&log) {
                    Some(Ok(r)) => ProbeOutcome::Report(r),
                    Some(Err(e)) => ProbeOutcome::Failed(e),
                    None => ProbeOutcome::Failed(format!(
                        "probe pod {name} ended ({phase}) without a report; its log: {}",
                        log.trim()
                    )),
                });
            }
            _ if pod.is_none() => {
                return Ok(ProbeOutcome::Failed(format!(
                    "probe pod {name} disappeared"
                )));
            }
            _ => {}
        }
        // A node keeps retrying a failed mount; its first FailedMount event is the answer.
        let list = events
            .list(&by_pod)
            .await
            .map_err(Error::kube(format!("list events of probe pod {name}")))?;
        if let Some(msg) = list
            .items
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some("FailedMount"))
            .filter_map(|e| e.message)
            .next_back()
        {
            return Ok(ProbeOutcome::MountFailed(msg));
        }
        if started.elapsed() >= spec.timeout {
            return Ok(ProbeOutcome::Failed(format!(
                "probe pod {name} did not finish within {}s (phase {})",
                spec.timeout.as_secs(),
                if phase.is_empty() { "unknown" } else { &phase }
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(user: Option<u32>) -> ProbeSpec {
        ProbeSpec {
            namespace: "default".into(),
            claim: "hpccache-c".into(),
            deployment: "MyHpcCache".into(),
            image: DEFAULT_IMAGE.into(),
            user,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    #[test]
    fn a_non_root_probe_meets_the_restricted_level() {
        let p = pod(&spec(Some(1000)));
        let s = p.spec.unwrap();
        assert_eq!(s.restart_policy.as_deref(), Some("Never"));
        let psc = s.security_context.unwrap();
        assert_eq!(psc.run_as_non_root, Some(true));
        assert_eq!(psc.run_as_user, Some(1000));
        assert_eq!(psc.seccomp_profile.unwrap().type_, "RuntimeDefault");
        let c = &s.containers[0];
        let sc = c.security_context.clone().unwrap();
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(sc.capabilities.unwrap().drop.unwrap(), ["ALL"]);
        assert_eq!(c.command.as_ref().unwrap()[..2], ["sh", "-c"]);
        assert_eq!(p.metadata.labels.unwrap()[probe::PROBE_LABEL], "myhpccache");
    }

    #[test]
    fn a_root_probe_does_not_claim_to_be_non_root() {
        let p = pod(&spec(Some(0)));
        let psc = p.spec.unwrap().security_context.unwrap();
        assert_eq!(psc.run_as_non_root, None);
        assert_eq!(psc.run_as_user, Some(0));
    }
}
