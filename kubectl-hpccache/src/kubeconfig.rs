//! The one place a Kubernetes client is built from `--kubeconfig`, `--context` and `-n`,
//! with kubectl's precedence: an explicit file, else `$KUBECONFIG`/`~/.kube/config`, else
//! the in-cluster service account; the namespace from `-n`, else the context's, else
//! `default`.

use kube::config::{Config, KubeConfigOptions, Kubeconfig};

use crate::cli::KubeArgs;
use crate::exit::CliError;

/// A client and the namespace the command works in.
pub struct Cluster {
    pub client: kube::Client,
    pub namespace: String,
}

pub async fn config(args: &KubeArgs) -> Result<Config, CliError> {
    let options = KubeConfigOptions {
        context: args.context.clone(),
        cluster: None,
        user: None,
    };
    let config = match &args.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| CliError::Output(format!("--kubeconfig {}: {e}", path.display())))?;
            if let Some(ctx) = &args.context {
                require_context(&kc, ctx)?;
            }
            Config::from_custom_kubeconfig(kc, &options).await
        }
        None if args.context.is_some() => {
            if let (Some(ctx), Ok(kc)) = (&args.context, Kubeconfig::read()) {
                require_context(&kc, ctx)?;
            }
            Config::from_kubeconfig(&options).await
        }
        None => {
            return Config::infer().await.map_err(|e| {
                CliError::Output(format!(
                    "no cluster to talk to: {e}. Pass --kubeconfig or set KUBECONFIG"
                ))
            });
        }
    };
    config.map_err(|e| match &args.context {
        Some(ctx) => CliError::Output(format!("--context {ctx}: {e}")),
        None => CliError::Output(format!("kubeconfig: {e}")),
    })
}

/// kubectl's error for a context the kubeconfig lacks, with the ones it has, so the next
/// try can be right.
fn require_context(kc: &Kubeconfig, context: &str) -> Result<(), CliError> {
    if kc.contexts.iter().any(|c| c.name == context) {
        return Ok(());
    }
    let names: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
    Err(CliError::Output(if names.is_empty() {
        format!("context \"{context}\" does not exist (--context): the kubeconfig has no contexts")
    } else {
        format!(
            "context \"{context}\" does not exist (--context); the kubeconfig has: {}",
            names.join(", ")
        )
    }))
}

/// The namespace a command works in without `-n`, read from the kubeconfig without
/// contacting the cluster (for `manifests` and `--dry-run=client`): the context's
/// namespace, else `default`. No kubeconfig at all is `default` too, unless one was
/// asked for with --kubeconfig or --context.
pub async fn current_namespace(args: &KubeArgs) -> Result<String, CliError> {
    match config(args).await {
        Ok(c) => Ok(c.default_namespace),
        Err(e) if args.kubeconfig.is_some() || args.context.is_some() => Err(e),
        Err(_) => Ok("default".to_string()),
    }
}

pub async fn connect(args: &KubeArgs) -> Result<Cluster, CliError> {
    let config = config(args).await?;
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = kube::Client::try_from(config)
        .map_err(|e| CliError::Output(format!("cannot build a Kubernetes client: {e}")))?;
    Ok(Cluster { client, namespace })
}

/// A client from a kubeconfig document (the sandbox's), with `-n` or `default`.
pub async fn connect_yaml(yaml: &str, namespace: Option<&str>) -> Result<Cluster, CliError> {
    let kc = Kubeconfig::from_yaml(yaml)
        .map_err(|e| CliError::Output(format!("sandbox kubeconfig: {e}")))?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| CliError::Output(format!("sandbox kubeconfig: {e}")))?;
    let client = kube::Client::try_from(config)
        .map_err(|e| CliError::Output(format!("cannot build a Kubernetes client: {e}")))?;
    Ok(Cluster {
        client,
        namespace: namespace.unwrap_or("default").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECONFIG: &str = r#"apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod
  cluster: {server: "https://prod.example:443"}
- name: staging
  cluster: {server: "http://127.0.0.1:6443"}
users:
- name: u
  user: {token: not-a-real-token}
contexts:
- name: prod
  context: {cluster: prod, user: u}
- name: staging
  context: {cluster: staging, user: u, namespace: team-a}
"#;

    fn args(dir: &tempfile::TempDir, context: Option<&str>, ns: Option<&str>) -> KubeArgs {
        let path = dir.path().join("config");
        std::fs::write(&path, KUBECONFIG).unwrap();
        KubeArgs {
            kubeconfig: Some(path),
            context: context.map(str::to_string),
            namespace: ns.map(str::to_string),
        }
    }

    #[tokio::test]
    async fn current_context_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(&args(&dir, None, None)).await.unwrap();
        assert_eq!(c.cluster_url.to_string(), "https://prod.example:443/");
        assert_eq!(c.default_namespace, "default");
    }

    #[tokio::test]
    async fn context_flag_picks_cluster_and_its_namespace() {
        let dir = tempfile::tempdir().unwrap();
        let cluster = connect(&args(&dir, Some("staging"), None)).await.unwrap();
        assert_eq!(cluster.namespace, "team-a");
        let c = config(&args(&dir, Some("staging"), None)).await.unwrap();
        assert_eq!(c.cluster_url.to_string(), "http://127.0.0.1:6443/");
    }

    #[tokio::test]
    async fn namespace_flag_wins_over_the_context() {
        let dir = tempfile::tempdir().unwrap();
        let cluster = connect(&args(&dir, Some("staging"), Some("b")))
            .await
            .unwrap();
        assert_eq!(cluster.namespace, "b");
    }

    #[tokio::test]
    async fn unknown_context_lists_the_contexts_there_are() {
        let dir = tempfile::tempdir().unwrap();
        let err = config(&args(&dir, Some("nope"), None)).await.err().unwrap();
        let text = err.to_string();
        assert!(text.contains("--context"), "{text}");
        assert!(text.ends_with("prod, staging"), "{text}");
    }

    #[tokio::test]
    async fn the_offline_namespace_is_the_contexts() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            current_namespace(&args(&dir, Some("staging"), None))
                .await
                .unwrap(),
            "team-a"
        );
        assert_eq!(
            current_namespace(&args(&dir, None, None)).await.unwrap(),
            "default"
        );
    }

    #[tokio::test]
    async fn missing_kubeconfig_names_the_file() {
        let a = KubeArgs {
            kubeconfig: Some("/nonexistent/kubeconfig".into()),
            ..KubeArgs::default()
        };
        let err = config(&a).await.err().unwrap();
        assert!(err.to_string().contains("/nonexistent/kubeconfig"), "{err}");
    }
}
