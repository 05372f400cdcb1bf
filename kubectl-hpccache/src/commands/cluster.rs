//! What every cluster command starts from: the state file (when there is one), the
//! Kubernetes client (from kubeconfig flags, or the sandbox's cluster), and the runtime.

use std::collections::HashSet;
use std::future::Future;
use std::path::{Path, PathBuf};

use hpccache_core::state::{self, KubeObject, LockedState, State};
use hpccache_sandbox::local::{LocalOptions, LocalSandbox};

use crate::cli::Cli;
use crate::exit::CliError;
use crate::kubeconfig;

pub struct Session {
    pub runtime: tokio::runtime::Runtime,
    /// The state file's path, when one was found.
    pub state_path: Option<PathBuf>,
    pub state: Option<State>,
    sandbox: Option<LocalSandbox>,
}

impl Session {
    /// Reads the state file. `required` makes a missing one an error; otherwise a missing
    /// file (or none to be found) is `None`.
    pub fn open(cli: &Cli, deployment: Option<&str>, required: bool) -> Result<Session, CliError> {
        if let Some(name) = deployment {
            hpccache_core::spec::names::deployment("DEPLOYMENT", name)
                .map_err(hpccache_core::Error::from)?;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| CliError::Output(format!("cannot start the async runtime: {e}")))?;
        let located = state::resolve(cli.state.as_deref(), deployment);
        let (state_path, state) = match located {
            Ok(loc) => {
                let path = loc.path().to_path_buf();
                let doc = if required {
                    Some(state::read(&path)?)
                } else {
                    state::read_optional(&path)?
                };
                (Some(path), doc)
            }
            Err(e) if required => return Err(e.into()),
            Err(_) => (None, None),
        };
        Ok(Session {
            runtime,
            state_path,
            state,
            sandbox: None,
        })
    }

    /// The deployment's name: the state file's, else `fallback`.
    pub fn deployment(&self, fallback: &str) -> String {
        self.state
            .as_ref()
            .map(|s| s.deployment.clone())
            .unwrap_or_else(|| fallback.to_string())
    }

    /// A client: with `--sandbox`, for the state file's cluster in the local sandbox;
    /// otherwise from `--kubeconfig`/`--context`. Returns it and the default namespace.
    pub fn connect(&mut self, cli: &Cli) -> Result<(kube::Client, String), CliError> {
        if !cli.sandbox {
            let c = self.runtime.block_on(kubeconfig::connect(&cli.kube))?;
            return Ok((c.client, c.namespace));
        }
        let dir = self.sandbox_dir(cli)?;
        let cluster_id = self
            .state
            .as_ref()
            .and_then(|s| s.cluster.as_ref())
            .map(|c| c.id.clone());
        let sb = self
            .runtime
            .block_on(LocalSandbox::open(&dir, sandbox_options(), |lock| {
                tracing::warn!(
                    "waiting for another sandbox run to finish (lock held on {})",
                    lock.display()
                )
            }))?;
        let yaml = sb.kubeconfig_for(cluster_id.as_deref()).ok_or_else(|| {
            CliError::Output(format!(
                "the sandbox world in {} has no cluster {}",
                dir.display(),
                cluster_id.as_deref().unwrap_or("at all")
            ))
        })?;
        self.sandbox = Some(sb);
        let c = self.runtime.block_on(kubeconfig::connect_yaml(
            &yaml,
            cli.kube.namespace.as_deref(),
        ))?;
        Ok((c.client, c.namespace))
    }

    /// The namespace without `-n`, for commands that do not contact the cluster: the
    /// kubeconfig context's (the sandbox's has none: `default`).
    pub fn offline_namespace(&self, cli: &Cli) -> Result<String, CliError> {
        if cli.sandbox {
            return Ok("default".to_string());
        }
        self.runtime
            .block_on(kubeconfig::current_namespace(&cli.kube))
    }

    /// The world's directory: the state file's, as `az-hpccache-ext --sandbox` uses.
    fn sandbox_dir(&self, cli: &Cli) -> Result<PathBuf, CliError> {
        let from_state = self
            .state_path
            .as_ref()
            .and_then(|p| p.parent())
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf);
        match (from_state, &self.state_path) {
            (Some(d), _) => Ok(d),
            (None, Some(_)) => Ok(PathBuf::from(".")),
            (None, None) if cli.state.is_none() => Ok(state::deployments_dir()?),
            (None, None) => Ok(PathBuf::from(".")),
        }
    }

    /// Runs a command's body; Ctrl-C ends it with exit code 130 (the sandbox world is
    /// saved on the way out). Not for `verify`, whose probes clean up on Ctrl-C themselves.
    pub fn run<T>(&self, body: impl Future<Output = Result<T, CliError>>) -> Result<T, CliError> {
        self.runtime.block_on(async {
            tokio::select! {
                r = body => r,
                _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted),
            }
        })
    }

    /// Updates the state file's list of Kubernetes objects under its lock: `add` is merged
    /// in (no duplicates), `remove` taken out. Without a state file there is nothing to do.
    pub fn record(&self, add: &[KubeObject], remove: &[KubeObject]) -> Result<(), CliError> {
        let Some(path) = &self.state_path else {
            return Ok(());
        };
        let locked = LockedState::lock(path)?;
        let Some(mut doc) = locked.load()? else {
            return Ok(());
        };
        // By key, not by scanning: a mount into hundreds of namespaces adds hundreds of
        // records to a list that may already hold thousands.
        fn key(o: &KubeObject) -> (String, Option<String>, String) {
            (o.kind.clone(), o.namespace.clone(), o.name.clone())
        }
        let gone: HashSet<_> = remove.iter().map(key).collect();
        doc.kube.retain(|o| !gone.contains(&key(o)));
        let mut held: HashSet<_> = doc.kube.iter().map(key).collect();
        for o in add {
            if held.insert(key(o)) {
                doc.kube.push(o.clone());
            }
        }
        locked.save(&doc)?;
        Ok(())
    }

    /// Saves the sandbox world (when there is one) and ends the session.
    pub fn close(mut self) -> Result<(), CliError> {
        if let Some(sb) = self.sandbox.take() {
            sb.close()?;
        }
        Ok(())
    }
}

/// Like `az-hpccache-ext --sandbox`: `HPCCACHE_SANDBOX_LOG` appends every request the
/// sandbox's ARM answers to a file, for tests and benchmarks.
fn sandbox_options() -> LocalOptions {
    LocalOptions {
        log_file: std::env::var_os("HPCCACHE_SANDBOX_LOG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        ..LocalOptions::default()
    }
}

/// `-n a,b,c` as a list (one namespace when no comma).
pub fn namespaces(flag: Option<&str>, default: &str) -> Vec<String> {
    let mut out: Vec<String> = flag
        .unwrap_or(default)
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    out.dedup();
    if out.is_empty() {
        out.push(default.to_string());
    }
    out
}
