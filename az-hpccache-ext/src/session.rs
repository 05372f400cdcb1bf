//! A command's connection to Azure (or to the sandbox): the one place that turns the global
//! arguments into an [`ArmClient`], a subscription, a progress handle and poll policies.
//!
//! ```ignore
//! let session = Session::open(cli)?;
//! let result = session.run(async {
//!     let cache = cache::get_cache(&session.arm, &id).await?;
//!     Ok(cache)
//! });
//! session.close()?;          // saves the sandbox world; also done (best effort) on drop
//! let cache = result?;
//! ```
//!
//! With `--sandbox` the session starts an in-process sandbox from the world file beside the
//! state file (`<state dir>/sandbox.world.json`), holds `sandbox.world.json.lock` for its whole
//! life so two sandbox runs take turns instead of losing each other's writes, and saves the
//! world atomically when it closes — on success, on error and on Ctrl-C.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hpccache_core::azure::client::ArmRequest;
use hpccache_core::azure::credential::{self, StaticToken, TokenSource};
use hpccache_core::azure::{ArmClient, ClientOptions, Cloud, PollPolicy};
use hpccache_core::progress::Progress;
use hpccache_core::{Error as CoreError, InvalidInput, state};
use hpccache_sandbox::arm::faults::Faults;
use hpccache_sandbox::local::{ENV_TIME_SCALE, LocalOptions, LocalSandbox, WORLD_FILE};
use hpccache_sandbox::sandbox::{DEFAULT_TIME_SCALE, RunningSandbox, SandboxConfig, SandboxError};
use serde_json::Value;

use crate::cli::{Cli, GlobalArgs};
use crate::exit::CliError;
use crate::progress::{Mode, Renderer};

/// A fault spec for the sandbox (`hpccache-sandbox serve --faults` syntax); for tests.
pub const ENV_FAULTS: &str = "HPCCACHE_SANDBOX_FAULTS";
/// Appends every sandbox request as a JSON line to this file; for tests and benchmarks.
pub const ENV_SANDBOX_LOG: &str = "HPCCACHE_SANDBOX_LOG";
const ENV_SUBSCRIPTION: &str = "AZURE_SUBSCRIPTION_ID";
const ENV_ACCESS_TOKEN: &str = "HPCCACHE_ACCESS_TOKEN";

/// What is being waited for; each kind has its own overall timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Cache create/delete/flush/start/stop/upgrade: Azure takes ~20 min to create one.
    Cache,
    StorageTarget,
    /// Provider registration.
    Provider,
    /// Subnets, storage accounts, DNS zones and links: minutes at most.
    Resource,
}

impl Wait {
    fn timeout(self) -> Duration {
        match self {
            Wait::Cache => Duration::from_secs(60 * 60),
            Wait::StorageTarget => Duration::from_secs(30 * 60),
            Wait::Provider => Duration::from_secs(15 * 60),
            Wait::Resource => Duration::from_secs(10 * 60),
        }
    }
}

/// An open connection to Azure or the sandbox. Fields are what commands use directly.
pub struct Session {
    /// The one client: ARM and Microsoft Graph (Graph URLs are absolute on `arm.cloud().graph`).
    pub arm: ArmClient,
    pub subscription_id: String,
    /// Events sent here are drawn on stderr (bars, lines or nothing).
    pub progress: Progress,
    renderer: Renderer,
    runtime: tokio::runtime::Runtime,
    sandbox: Option<LocalSandbox>,
    /// Multiplier on waits the server does not dictate (1 against Azure).
    time_scale: f64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("arm", &self.arm)
            .field("subscription_id", &self.subscription_id)
            .field("sandbox", &self.sandbox.as_ref().map(|s| s.path()))
            .finish()
    }
}

impl Session {
    /// Connects as the global arguments say: `--sandbox`, else `--arm-endpoint` (+ token from
    /// `HPCCACHE_ACCESS_TOKEN`), else `--cloud` with the usual credential chain.
    pub fn open(cli: &Cli) -> Result<Session, CliError> {
        Self::open_with(cli, false)
    }

    /// [`Self::open`], and in the sandbox also start the clusters' Kubernetes API servers, for
    /// commands that reach into a cluster (`up --attach`, `attach`).
    pub fn open_with_clusters(cli: &Cli) -> Result<Session, CliError> {
        Self::open_with(cli, true)
    }

    fn open_with(cli: &Cli, start_clusters: bool) -> Result<Session, CliError> {
        let g = &cli.global;
        let renderer = Renderer::new(Mode::detect(g.only_show_errors));
        let progress = renderer.progress();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
        if g.azure.sandbox {
            if g.azure.cloud.is_some() || g.azure.arm_endpoint.is_some() {
                return Err(InvalidInput::new(
                    "--sandbox",
                    "cannot be combined with --cloud or --arm-endpoint (HPCCACHE_ARM_ENDPOINT)",
                )
                .hint("The sandbox is its own cloud; drop one of them")
                .into());
            }
            return Self::open_sandbox(g, renderer, progress, runtime, start_clusters);
        }
        let cloud = Cloud::resolve(
            g.azure.cloud.as_deref(),
            g.azure.arm_endpoint.as_deref(),
            g.azure.graph_endpoint.as_deref(),
        )?;
        let wanted = g
            .subscription
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| env(ENV_SUBSCRIPTION));
        let tokens = credential::for_subscription(&cloud, wanted.as_deref())?;
        let options = client_options(&progress, 1.0);
        let subscription_id = runtime.block_on(resolve_subscription(
            g.subscription.as_deref(),
            env(ENV_SUBSCRIPTION).as_deref(),
            profile_default_subscription().as_deref(),
            &cloud,
            &tokens,
            &options,
        ))?;
        let arm = ArmClient::new(cloud, subscription_id.clone(), tokens, options)?;
        Ok(Session {
            arm,
            subscription_id,
            progress,
            renderer,
            runtime,
            sandbox: None,
            time_scale: 1.0,
        })
    }

    fn open_sandbox(
        g: &GlobalArgs,
        renderer: Renderer,
        progress: Progress,
        runtime: tokio::runtime::Runtime,
        start_clusters: bool,
    ) -> Result<Session, CliError> {
        let dir = world_dir(g)?;
        let time_scale = match env(ENV_TIME_SCALE) {
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| {
                    InvalidInput::new(ENV_TIME_SCALE, format!("'{v}' is not a number >= 0"))
                })?,
            None => DEFAULT_TIME_SCALE,
        };
        let faults = match env(ENV_FAULTS) {
            Some(spec) => {
                Faults::parse(&spec).map_err(|e| InvalidInput::new(ENV_FAULTS, e.to_string()))?
            }
            None => Faults::none(),
        };
        // Any non-empty bearer token works; one from the environment lets tests check that
        // it never reaches a log.
        let token = env(ENV_ACCESS_TOKEN).unwrap_or_else(|| SandboxConfig::default().token);
        let options = LocalOptions {
            // Most commands talk to ARM only; the clusters' API servers start when one is reached.
            start_clusters,
            time_scale: Some(time_scale),
            faults,
            log_file: env(ENV_SANDBOX_LOG).map(PathBuf::from),
            token: Some(token.clone()),
        };
        let sandbox = runtime
            .block_on(LocalSandbox::open(&dir, options, |lock| {
                tracing::warn!(
                    "Waiting for another sandbox run to finish (lock held on {})",
                    lock.display()
                )
            }))
            .map_err(|e| match e {
                SandboxError::WorldFile { .. } => {
                    CliError::Runtime(e.to_string()).with_hint(format!(
                        "Move {} away to start from a fresh sandbox world",
                        dir.join(WORLD_FILE).display()
                    ))
                }
                e => CliError::Runtime(e.to_string()),
            })?;
        let running = sandbox.running();
        let cloud = Cloud::custom(&running.arm_endpoint(), Some(&running.graph_endpoint()))?;
        // A token from the environment is a Resource Manager token, as against Azure: Graph
        // gets HPCCACHE_GRAPH_TOKEN or nothing. The sandbox's own token serves both.
        let tokens: Arc<dyn TokenSource> = match env(ENV_ACCESS_TOKEN) {
            Some(arm) => Arc::new(credential::EnvTokens::new(
                &cloud,
                arm,
                env(credential::ENV_GRAPH_TOKEN),
            )),
            None => Arc::new(StaticToken::new(token)),
        };
        // The sandbox already scales the Retry-After it sends; the client must not scale again.
        let mut options = client_options(&progress, 1.0);
        // RELIABILITY.md (fix 1): the retry backoff is a delay the tool chooses itself, like
        // the poll interval, so it is scaled with sandbox time too. Unscaled, a sandbox that
        // stops answering kept each failing request in 0.4 s..13 s backoffs (~25 s per request,
        // every concurrent step) while everything else ran at sandbox speed. The floor keeps
        // time scale 0 from retrying in a tight loop; `max_delay` stays unscaled because it
        // also caps the Retry-After the server asks for, which the client must honour.
        options.retry.base_delay = options
            .retry
            .base_delay
            .mul_f64(time_scale)
            .max(Duration::from_millis(20));
        let subscription_id = runtime.block_on(resolve_subscription(
            g.subscription.as_deref(),
            None,
            None,
            &cloud,
            &tokens,
            &options,
        ));
        // On an error the sandbox is dropped, which saves the world: the file must exist
        // for the next run even when nothing was written.
        let subscription_id = subscription_id?;
        let arm = ArmClient::new(cloud, subscription_id.clone(), tokens, options)?;
        Ok(Session {
            arm,
            subscription_id,
            progress,
            renderer,
            runtime,
            sandbox: Some(sandbox),
            time_scale,
        })
    }

    /// Runs a command's async body to its end. Ctrl-C stops it: the sandbox world is saved
    /// and the command fails with [`CliError::Interrupted`] (exit 1).
    pub fn run<T>(&self, body: impl Future<Output = Result<T, CliError>>) -> Result<T, CliError> {
        let out = self.runtime.block_on(async {
            tokio::select! {
                r = body => r,
                _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted),
            }
        });
        // Spinners must be gone before the result is printed.
        self.renderer.finish();
        out
    }

    /// Like [`Session::run`] for bodies that return core errors.
    pub fn run_core<T>(
        &self,
        body: impl Future<Output = Result<T, CoreError>>,
    ) -> Result<T, CliError> {
        self.run(async { body.await.map_err(CliError::from) })
    }

    /// How to wait for an operation of this kind: Azure's pacing, scaled in the sandbox.
    pub fn poll_policy(&self, kind: Wait) -> PollPolicy {
        let mut p = PollPolicy::with_timeout(kind.timeout());
        if self.sandbox.is_some() {
            p.default_interval = p.default_interval.mul_f64(self.time_scale);
            p.first_interval = p.first_interval.mul_f64(self.time_scale);
            // Retry-After is whole seconds and 0 at time scale 0; do not spin.
            p.min_interval = Duration::from_millis(20);
        }
        p
    }

    /// The same with a timeout given by the user (`wait --timeout`), in seconds.
    pub fn poll_policy_with_timeout(&self, kind: Wait, timeout: Option<u64>) -> PollPolicy {
        let mut p = self.poll_policy(kind);
        if let Some(t) = timeout {
            p.timeout = Duration::from_secs(t);
        }
        p
    }

    /// Scales a delay the tool chooses itself (retry while role assignments propagate).
    pub fn scaled(&self, d: Duration) -> Duration {
        if self.sandbox.is_some() {
            d.mul_f64(self.time_scale)
        } else {
            d
        }
    }

    pub fn is_sandbox(&self) -> bool {
        self.sandbox.is_some()
    }

    /// The running sandbox, in sandbox mode (its request log, its world).
    #[allow(dead_code)] // for `up`/`status` and benchmarks
    pub fn sandbox(&self) -> Option<&RunningSandbox> {
        self.sandbox.as_ref().map(LocalSandbox::running)
    }

    /// The ARM endpoint to record in the state file when it is not the cloud's default.
    pub fn arm_endpoint(&self) -> Option<String> {
        self.arm.cloud().is_custom().then(|| {
            self.arm
                .cloud()
                .arm
                .as_str()
                .trim_end_matches('/')
                .to_owned()
        })
    }

    /// Ends the session: saves the sandbox world (atomically) and releases its lock.
    pub fn close(mut self) -> Result<(), CliError> {
        self.renderer.finish();
        match self.sandbox.take() {
            Some(s) => s
                .close()
                .map_err(|e| CliError::Runtime(format!("cannot save the sandbox world: {e}"))),
            None => Ok(()),
        }
    }
}

impl Drop for Session {
    /// Error paths drop the session without `close`; dropping the sandbox saves its world.
    fn drop(&mut self) {
        self.renderer.finish();
    }
}

fn client_options(progress: &Progress, time_scale: f64) -> ClientOptions {
    ClientOptions {
        time_scale,
        progress: progress.clone(),
        ..ClientOptions::default()
    }
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

/// The directory of the state file (resolved like `state show`, without needing a
/// deployment name) holds the world file.
pub fn world_dir(g: &GlobalArgs) -> Result<PathBuf, CliError> {
    Ok(match explicit_state_file(g) {
        Some(file) => match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        },
        None => state::deployments_dir()?,
    })
}

/// The state file `--state` or `HPCCACHE_STATE` names (clap reads both into `--state`), if
/// either does.
pub fn explicit_state_file(g: &GlobalArgs) -> Option<PathBuf> {
    g.state.clone().filter(|p| !p.as_os_str().is_empty())
}

/// `isDefault` subscription of the Azure CLI's profile (`~/.azure/azureProfile.json`, or
/// `$AZURE_CONFIG_DIR/azureProfile.json`).
fn profile_default_subscription() -> Option<String> {
    let dir = hpccache_core::azure::az_profile::config_dir()?;
    hpccache_core::azure::az_profile::Profile::read(&dir)?
        .default_subscription()
        .map(|s| s.id.clone())
}

/// `--subscription` (id, or a name looked up in the list), else `AZURE_SUBSCRIPTION_ID`, else
/// the Azure CLI's default, else the only subscription the token can see.
async fn resolve_subscription(
    flag: Option<&str>,
    env_value: Option<&str>,
    profile_default: Option<&str>,
    cloud: &Cloud,
    tokens: &Arc<dyn TokenSource>,
    options: &ClientOptions,
) -> Result<String, CliError> {
    if let Some(v) = flag.map(str::trim).filter(|v| !v.is_empty()) {
        if hpccache_core::spec::names::is_guid(v) {
            return Ok(v.to_ascii_lowercase());
        }
        let subs = list_subscriptions(cloud, tokens, options).await?;
        return subs
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(v))
            .map(|(id, _)| id.clone())
            .ok_or_else(|| {
                InvalidInput::new(
                    "--subscription",
                    format!("no subscription named '{v}' is visible"),
                )
                .hint(format!("Visible: {}", describe(&subs)))
                .into()
            });
    }
    if let Some(v) = env_value.or(profile_default) {
        return Ok(v.to_owned());
    }
    let subs = list_subscriptions(cloud, tokens, options).await?;
    match subs.as_slice() {
        [(id, _)] => Ok(id.clone()),
        [] => Err(
            CliError::Runtime("no subscription is visible to this identity".into()).with_hint(
                "Pass --subscription, set AZURE_SUBSCRIPTION_ID, or run `az account set`",
            ),
        ),
        many => Err(InvalidInput::new(
            "--subscription",
            format!(
                "is needed: this identity sees {} subscriptions ({})",
                many.len(),
                describe(many)
            ),
        )
        .hint("Pass --subscription, set AZURE_SUBSCRIPTION_ID, or run `az account set`")
        .into()),
    }
}

fn describe(subs: &[(String, String)]) -> String {
    subs.iter()
        .map(|(id, name)| format!("{name} ({id})"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn list_subscriptions(
    cloud: &Cloud,
    tokens: &Arc<dyn TokenSource>,
    options: &ClientOptions,
) -> Result<Vec<(String, String)>, CliError> {
    let client = ArmClient::new(cloud.clone(), "", tokens.clone(), options.clone())?;
    let items: Vec<Value> = client
        .list(ArmRequest::get("/subscriptions").api_version("2022-12-01"))
        .await?;
    Ok(items
        .iter()
        .filter_map(|s| {
            let id = s.get("subscriptionId")?.as_str()?.to_owned();
            let name = s
                .get("displayName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            Some((id, name))
        })
        .collect())
}
