//! The owner job ([`crate::owner`]): a one-shot Job whose pod mounts the export directly
//! and, as root, makes a directory and gives it to a uid. This module starts it, waits for
//! it, reads its report and always removes it — also on Ctrl-C.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ::kube::Api;
use ::kube::api::{DeleteParams, ListParams, LogParams, PostParams};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, Event, NFSVolumeSource, Namespace, Pod, PodSecurityContext, PodSpec,
    PodTemplateSpec, SeccompProfile, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::manifests::dns_name;
use super::probe::ENFORCE_LABEL;
use super::{LABEL_MANAGED_BY, MANAGED_BY};
use crate::owner::{self, Report};
use crate::spec::nfs::Owner;
use crate::{Error, Result};

/// What to give to whom, and where the job runs.
#[derive(Debug, Clone)]
pub struct OwnerJob {
    pub namespace: String,
    pub deployment: String,
    /// The export: the cache's DNS name and a namespace path.
    pub server: String,
    pub path: String,
    /// The directory under the export to give away; empty for the export's root.
    pub dir: String,
    pub owner: Owner,
    pub image: String,
    pub timeout: Duration,
}

/// Runs the job to its end and returns its report; the job and its pods are deleted
/// whatever happens. A job that failed is an error carrying the shell's message.
pub async fn run(client: &::kube::Client, job: &OwnerJob) -> Result<Report> {
    tokio::select! {
        r = run_inner(client, job) => r,
        _ = tokio::signal::ctrl_c() => {
            // Best effort: the user is leaving; an error here must not hide the interrupt.
            let _ = cleanup(client, &job.namespace, &job.deployment).await;
            Err(Error::Interrupted)
        }
    }
}

/// Deletes every owner job of `deployment` in `namespace`, and their pods.
pub async fn cleanup(client: &::kube::Client, namespace: &str, deployment: &str) -> Result<()> {
    let lp = ListParams::default().labels(&selector(deployment));
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    jobs.delete_collection(&DeleteParams::background(), &lp)
        .await
        .map_err(Error::kube(format!("delete owner jobs in {namespace}")))?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    pods.delete_collection(&DeleteParams::background(), &lp)
        .await
        .map_err(Error::kube(format!("delete owner job pods in {namespace}")))?;
    Ok(())
}

fn selector(deployment: &str) -> String {
    format!("{}={}", owner::OWNER_LABEL, dns_name(deployment, 63))
}

async fn run_inner(client: &::kube::Client, job: &OwnerJob) -> Result<Report> {
    allowed_in(client, &job.namespace).await?;
    let jobs: Api<Job> = Api::namespaced(client.clone(), &job.namespace);
    let created = jobs
        .create(&PostParams::default(), &manifest(job))
        .await
        .map_err(Error::kube(format!(
            "create the owner job in {}",
            job.namespace
        )))?;
    let name = created.metadata.name.clone().unwrap_or_default();
    let uid = created.metadata.uid.clone().unwrap_or_default();
    let outcome = wait(client, job, &name, &uid).await;
    // Removed whatever the outcome; a failed delete is reported only if all else went well.
    let deleted = cleanup(client, &job.namespace, &job.deployment).await;
    let report = outcome?;
    deleted?;
    Ok(report)
}

/// The job runs as root, which the `restricted` pod security level forbids: say so before
/// creating (or changing) anything. Also checked by [`run`].
pub async fn allowed_in(client: &::kube::Client, namespace: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = api
        .get_opt(namespace)
        .await
        .map_err(Error::kube(format!("read namespace {namespace}")))?
        .ok_or_else(|| {
            Error::ClusterNotFound(format!(
                "namespaces \"{namespace}\" not found: the owner job runs there; pass an existing one with --namespace"
            ))
        })?;
    let restricted = ns
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(ENFORCE_LABEL))
        .is_some_and(|v| v == "restricted");
    if restricted {
        return Err(Error::ClusterRefused(format!(
            "namespace {namespace} enforces the restricted pod security level, which does not let the owner job run as root (only root may chown); pass another namespace with --namespace"
        )));
    }
    Ok(())
}

/// The Job: one pod, as root with the runtime's default capabilities (chown needs
/// CAP_CHOWN), the export mounted directly, retried once, removed by the cluster 10
/// minutes after it ends should this process not live to delete it.
pub fn manifest(job: &OwnerJob) -> Job {
    let labels = BTreeMap::from([
        (
            owner::OWNER_LABEL.to_string(),
            dns_name(&job.deployment, 63),
        ),
        (LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
    ]);
    let dir = match job.dir.trim_matches('/') {
        "" => owner::MOUNT_POINT.to_string(),
        d => format!("{}/{d}", owner::MOUNT_POINT),
    };
    let env = |name: &str, value: String| EnvVar {
        name: name.into(),
        value: Some(value),
        value_from: None,
    };
    let pod = PodSpec {
        restart_policy: Some("Never".into()),
        automount_service_account_token: Some(false),
        security_context: Some(PodSecurityContext {
            run_as_user: Some(0),
            run_as_group: Some(0),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                localhost_profile: None,
            }),
            ..PodSecurityContext::default()
        }),
        containers: vec![Container {
            name: "owner".into(),
            image: Some(job.image.clone()),
            command: Some(vec!["sh".into(), "-c".into(), owner::script()]),
            env: Some(vec![
                env(owner::DIR_ENV, dir),
                env(owner::OWNER_ENV, job.owner.to_string()),
            ]),
            security_context: Some(SecurityContext {
                allow_privilege_escalation: Some(false),
                ..SecurityContext::default()
            }),
            volume_mounts: Some(vec![VolumeMount {
                name: "export".into(),
                mount_path: owner::MOUNT_POINT.into(),
                ..VolumeMount::default()
            }]),
            ..Container::default()
        }],
        volumes: Some(vec![Volume {
            name: "export".into(),
            nfs: Some(NFSVolumeSource {
                server: job.server.clone(),
                path: job.path.clone(),
                read_only: None,
            }),
            ..Volume::default()
        }]),
        ..PodSpec::default()
    };
    Job {
        metadata: ObjectMeta {
            generate_name: Some("hpccache-owner-".into()),
            labels: Some(labels.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(1),
            active_deadline_seconds: i64::try_from(job.timeout.as_secs().max(1)).ok(),
            ttl_seconds_after_finished: Some(600),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}

fn condition(job: &Job, kind: &str) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == kind && c.status == "True"))
}

/// Polls the job until it completes or fails, a pod cannot mount the export, or the
/// timeout passes; then reads the report of its last pod.
async fn wait(client: &::kube::Client, job: &OwnerJob, name: &str, uid: &str) -> Result<Report> {
    let started = Instant::now();
    let jobs: Api<Job> = Api::namespaced(client.clone(), &job.namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &job.namespace);
    let events: Api<Event> = Api::namespaced(client.clone(), &job.namespace);
    let target = match job.dir.trim_matches('/') {
        "" => job.path.clone(),
        d => format!("{}/{d}", job.path.trim_end_matches('/')),
    };
    let failed = |why: String| {
        Error::ClusterRefused(format!(
            "the owner job {}/{name} could not give {target} to {}: {why}",
            job.namespace, job.owner
        ))
    };
    loop {
        let current = jobs
            .get_opt(name)
            .await
            .map_err(Error::kube(format!("read the owner job {name}")))?
            .ok_or_else(|| failed("the job disappeared".into()))?;
        let ours: Vec<Pod> = pods
            .list(&ListParams::default().labels(&selector(&job.deployment)))
            .await
            .map_err(Error::kube(format!(
                "list the pods of the owner job {name}"
            )))?
            .items
            .into_iter()
            .filter(|p| {
                p.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| o.uid == uid)
            })
            .collect();
        let complete = condition(&current, "Complete");
        if complete || condition(&current, "Failed") {
            let last = ours.iter().rev().find(|p| {
                let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
                phase == Some(if complete { "Succeeded" } else { "Failed" })
            });
            let log = match last.and_then(|p| p.metadata.name.clone()) {
                Some(pod) => pods
                    .logs(&pod, &LogParams::default())
                    .await
                    .map_err(Error::kube(format!("read the log of {pod}")))?,
                None => String::new(),
            };
            return match Report::parse(&log) {
                Some(Ok(r)) if complete && r.ok() => Ok(r),
                Some(Ok(r)) => Err(failed(
                    r.error.unwrap_or_else(|| "the job failed".to_string()),
                )),
                Some(Err(e)) => Err(failed(e)),
                None if complete => Err(failed(format!(
                    "it ended without a report; its log: {}",
                    log.trim()
                ))),
                None => Err(failed(format!(
                    "the job failed ({}){}",
                    reason(&current),
                    if log.trim().is_empty() {
                        String::new()
                    } else {
                        format!("; its log: {}", log.trim())
                    }
                ))),
            };
        }
        // A node keeps retrying a failed mount; its first FailedMount event is the answer.
        for pod in ours.iter().filter_map(|p| p.metadata.name.as_deref()) {
            let lp = ListParams::default().fields(&format!("involvedObject.name={pod}"));
            let list = events
                .list(&lp)
                .await
                .map_err(Error::kube(format!("list events of {pod}")))?;
            if let Some(msg) = list
                .items
                .into_iter()
                .filter(|e| e.reason.as_deref() == Some("FailedMount"))
                .filter_map(|e| e.message)
                .next_back()
            {
                let output = msg
                    .lines()
                    .rev()
                    .find_map(|l| l.strip_prefix("Output: "))
                    .unwrap_or(&msg)
                    .to_string();
                return Err(failed(format!("the export does not mount: {output}")));
            }
        }
        if started.elapsed() >= job.timeout {
            return Err(failed(format!(
                "it did not finish within {}s",
                job.timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn reason(job: &Job) -> String {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Failed"))
        .and_then(|c| c.reason.clone().or(c.message.clone()))
        .unwrap_or_else(|| "Failed".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(dir: &str) -> OwnerJob {
        OwnerJob {
            namespace: "default".into(),
            deployment: "MyHpcCache".into(),
            server: "server.myhpccache.local".into(),
            path: "/myfilepath".into(),
            dir: dir.into(),
            owner: Owner {
                uid: 1000,
                gid: 2000,
            },
            image: "busybox:1.36".into(),
            timeout: Duration::from_secs(120),
        }
    }

    #[test]
    fn the_job_runs_the_contract_as_root_on_the_export() {
        let j = manifest(&job("team/a"));
        let spec = j.spec.unwrap();
        assert_eq!(spec.backoff_limit, Some(1));
        let pod = spec.template.spec.unwrap();
        let psc = pod.security_context.unwrap();
        assert_eq!((psc.run_as_user, psc.run_as_group), (Some(0), Some(0)));
        let nfs = pod.volumes.unwrap()[0].nfs.clone().unwrap();
        assert_eq!(
            (nfs.server.as_str(), nfs.path.as_str()),
            ("server.myhpccache.local", "/myfilepath")
        );
        let c = &pod.containers[0];
        let env: Vec<(String, String)> = c
            .env
            .clone()
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.value.unwrap_or_default()))
            .collect();
        assert_eq!(
            env,
            [
                (owner::DIR_ENV.into(), "/mnt/hpccache/team/a".into()),
                (owner::OWNER_ENV.into(), "1000:2000".into())
            ]
        );
        assert_eq!(
            spec.template.metadata.unwrap().labels.unwrap()[owner::OWNER_LABEL],
            "myhpccache"
        );
        let root = manifest(&job(""));
        let env = root.spec.unwrap().template.spec.unwrap().containers[0]
            .env
            .clone()
            .unwrap();
        assert_eq!(env[0].value.as_deref(), Some(owner::MOUNT_POINT));
    }
}
