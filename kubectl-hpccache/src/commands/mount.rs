//! `mount` and `manifests`: flags and the state file → a [`MountRequest`] → core → print.

use hpccache_core::kube::attach;
use hpccache_core::kube::manifests::VolumeSource;
use hpccache_core::kube::mount::{self, AppliedObject, MountRequest};
use hpccache_core::kube::workload::{self, WorkloadMount};
use hpccache_core::kube::{DryRun, manifests};
use hpccache_core::spec::kube::Workload;
use hpccache_core::spec::{self, nfs};
use hpccache_core::state::{Backend, State};
use hpccache_core::{Error as CoreError, InvalidInput};
use serde_json::{Value, json};

use super::cluster::{Session, namespaces};
use crate::cli::{Cli, DryRunMode, Format, MountArgs};
use crate::exit::CliError;
use crate::output;

fn invalid(e: InvalidInput) -> CliError {
    CliError::Core(CoreError::InvalidInput(e))
}

/// The request, from flags over the state file. `namespaces` is filled in by the caller.
fn request(session: &Session, args: &MountArgs) -> Result<MountRequest, CliError> {
    let state = session.state.as_ref();
    if let Some(st) = state.filter(|s| s.backend == Backend::Amlfs) {
        return lustre_request(session, st, args);
    }
    let needs_state = |what: &str, flag: &str| {
        invalid(
            InvalidInput::new(flag, format!("no {what}: the state file has none"))
                .hint("Run `az-hpccache-ext up` first, or pass --server and --path"),
        )
    };
    let server = match (&args.server, state.and_then(|s| s.dns.as_ref())) {
        (Some(s), _) => spec::kube::dns1123_subdomain("--server", &s.to_ascii_lowercase())
            .or_else(|e| {
                s.parse::<std::net::Ipv4Addr>()
                    .map(|_| s.clone())
                    .map_err(|_| e)
            })
            .map_err(invalid)?,
        (None, Some(d)) => d.fqdn.clone(),
        (None, None) => return Err(needs_state("DNS name", "--server")),
    };
    let base = match (&args.path, state.and_then(|s| s.namespace_paths.first())) {
        (Some(p), _) => nfs::namespace_path("--path", p).map_err(invalid)?,
        (None, Some(p)) => p.clone(),
        (None, None) => return Err(needs_state("namespace path", "--path")),
    };
    if let Some(sub) = &args.sub_path {
        nfs::namespace_path("--sub-path", &format!("/{}", sub.trim_matches('/')))
            .map_err(invalid)?;
    }
    let size = match (&args.size, state.and_then(|s| s.cache.as_ref())) {
        (Some(q), _) => {
            spec::kube::quantity("--size", q).map_err(invalid)?;
            q.clone()
        }
        (None, Some(c)) => {
            spec::kube::cache_size_quantity(u32::try_from(c.cache_size_gb).unwrap_or(u32::MAX))
        }
        (None, None) => {
            return Err(invalid(
                InvalidInput::new("--size", "no cache size in the state file")
                    .hint("Pass --size, e.g. --size 3072Gi"),
            ));
        }
    };
    let mount_options = match &args.mount_options {
        Some(o) => nfs::mount_options("--mount-options", o).map_err(invalid)?,
        None => nfs::DEFAULT_MOUNT_OPTIONS
            .split(',')
            .map(str::to_string)
            .collect(),
    };
    let (pv, claim) = names(args)?;
    // Without a state file the labels and names come from the server's first label.
    let fallback = args
        .deployment
        .clone()
        .unwrap_or_else(|| server.split('.').next().unwrap_or("nfs").to_string());
    Ok(MountRequest {
        spec: manifests::VolumeSpec {
            deployment: session.deployment(&fallback),
            source: VolumeSource::Nfs {
                server,
                path: manifests::join_path(&base, args.sub_path.as_deref()),
            },
            size,
            mount_options,
            pv,
            claim,
        },
        namespaces: Vec::new(),
        workload: workload_flags(args)?,
        dry_run: dry_run(args),
        concurrency: args.concurrency,
    })
}

fn dry_run(args: &MountArgs) -> DryRun {
    match args.dry_run {
        Some(DryRunMode::Server) => DryRun::Server,
        _ => DryRun::None,
    }
}

fn workload_flags(args: &MountArgs) -> Result<Option<(Workload, String)>, CliError> {
    match &args.to {
        Some(to) => Ok(Some((
            spec::kube::workload("--to", to).map_err(invalid)?,
            spec::kube::mount_path("--mount-path", &args.mount_path).map_err(invalid)?,
        ))),
        None => Ok(None),
    }
}

/// `--pv` and `--claim`, checked.
fn names(args: &MountArgs) -> Result<(Option<String>, Option<String>), CliError> {
    let name = |flag: &str, v: &Option<String>| {
        v.as_deref()
            .map(|v| spec::kube::dns1123_subdomain(flag, v))
            .transpose()
            .map_err(invalid)
    };
    Ok((name("--pv", &args.pv)?, name("--claim", &args.claim)?))
}

/// A Managed Lustre deployment: the same pair with a Lustre CSI source, from the state
/// file's filesystem; `--sub-path` becomes the driver's `sub-dir`.
fn lustre_request(
    session: &Session,
    state: &State,
    args: &MountArgs,
) -> Result<MountRequest, CliError> {
    for (flag, given) in [
        ("--server", args.server.is_some()),
        ("--path", args.path.is_some()),
    ] {
        if given {
            return Err(invalid(
                InvalidInput::new(
                    flag,
                    format!(
                        "deployment {} is Azure Managed Lustre: its volume is mounted from the filesystem's MGS address, not an NFS export",
                        state.deployment
                    ),
                )
                .hint("Omit it; use --sub-path DIR to mount a directory of the filesystem"),
            ));
        }
    }
    let lustre = state.lustre.as_ref().ok_or_else(|| {
        invalid(
            InvalidInput::new(
                "DEPLOYMENT",
                format!(
                    "the state file of {} has no filesystem yet (no MGS address)",
                    state.deployment
                ),
            )
            .hint("Run `az-hpccache-ext up --backend amlfs` to the end first"),
        )
    })?;
    if let Some(sub) = &args.sub_path {
        nfs::namespace_path("--sub-path", &format!("/{}", sub.trim_matches('/')))
            .map_err(invalid)?;
    }
    let size = match &args.size {
        Some(q) => {
            spec::kube::quantity("--size", q).map_err(invalid)?;
            q.clone()
        }
        None => attach::lustre_size_quantity(lustre.storage_capacity_tib),
    };
    let mount_options = spec::lustre::mount_options(
        "--mount-options",
        args.mount_options
            .as_deref()
            .unwrap_or(spec::lustre::DEFAULT_MOUNT_OPTIONS),
    )
    .map_err(invalid)?;
    let (pv, claim) = names(args)?;
    Ok(MountRequest {
        spec: manifests::VolumeSpec {
            deployment: session.deployment(&state.deployment),
            source: VolumeSource::Lustre {
                mgs_address: lustre.mgs_address.clone(),
                fs_name: lustre.filesystem_name.clone(),
                sub_dir: manifests::lustre_sub_dir(args.sub_path.as_deref()),
            },
            size,
            mount_options,
            pv,
            claim,
        },
        namespaces: Vec::new(),
        workload: workload_flags(args)?,
        dry_run: dry_run(args),
        concurrency: args.concurrency,
    })
}

fn check_namespaces(names: &[String]) -> Result<(), CliError> {
    for n in names {
        spec::kube::dns1123_label("--namespace", n).map_err(invalid)?;
    }
    Ok(())
}

/// Without `--server`, the state file must exist.
fn open(cli: &Cli, args: &MountArgs) -> Result<Session, CliError> {
    let required = args.server.is_none();
    Session::open(
        cli,
        args.deployment.as_deref().filter(|_| required),
        required,
    )
}

pub fn mount(cli: &Cli, args: &MountArgs) -> Result<(), CliError> {
    if args.namespace_selector.is_some() && cli.kube.namespace.is_some() {
        return Err(invalid(InvalidInput::new(
            "--namespace-selector",
            "cannot be combined with -n/--namespace",
        )));
    }
    // Every value is checked before the cluster is contacted: -n names, the selector.
    if let Some(ns) = cli.kube.namespace.as_deref() {
        check_namespaces(&namespaces(Some(ns), "default"))?;
    }
    let selector = args
        .namespace_selector
        .as_deref()
        .map(|sel| spec::kube::label_selector("--namespace-selector", sel).map_err(invalid))
        .transpose()?;
    let mut session = open(cli, args)?;
    let mut req = request(&session, args)?;
    if args.dry_run == Some(DryRunMode::Client) {
        let current = session.offline_namespace(cli)?;
        req.namespaces = namespaces(cli.kube.namespace.as_deref(), &current);
        check_namespaces(&req.namespaces)?;
        let text = render_offline(cli, &req, args, " (dry run)")?;
        return output::write_stdout(&text);
    }
    let (client, default_ns) = session.connect(cli)?;
    let result = session.run(async {
        let names = async {
            match &selector {
                Some(parsed) => {
                    let names = mount::namespaces_matching(&client, &parsed.to_string()).await?;
                    if names.is_empty() {
                        return Err(CliError::Output(format!("no namespace matches {parsed}")));
                    }
                    Ok(names)
                }
                None => {
                    let names = namespaces(cli.kube.namespace.as_deref(), &default_ns);
                    check_namespaces(&names)?;
                    // Before anything is applied: a PV made for a missing namespace would stay.
                    mount::require_namespaces(&client, &names).await?;
                    Ok(names)
                }
            }
        };
        // Before anything is applied: a Lustre volume without a ready driver never mounts.
        // Both checks only read, so they are asked together (the driver's three requests
        // would otherwise add their round trips to every Lustre mount).
        let driver = async {
            mount::require_driver(&client, &req.spec)
                .await
                .map_err(CliError::from)
        };
        // Both answered before either is judged: the same error every time when both fail.
        let (names, driver) = tokio::join!(names, driver);
        req.namespaces = names?;
        driver?;
        check_namespaces(&req.namespaces)?;
        Ok(mount::mount(&client, &req).await)
    });
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            session.close()?;
            return Err(e);
        }
    };
    if req.dry_run == DryRun::None {
        let records: Vec<_> = result.applied.iter().map(AppliedObject::record).collect();
        session.record(&records, &[])?;
    }
    session.close()?;
    let suffix = if req.dry_run == DryRun::Server {
        " (server dry run)"
    } else {
        ""
    };
    output::write_stdout(&render_applied(cli.output, &result.applied, suffix)?)?;
    if result.failed.is_empty() {
        return Ok(());
    }
    let failed: Vec<String> = result
        .failed
        .iter()
        .map(|(ns, e)| format!("namespace {ns}: {e}"))
        .collect();
    Err(CliError::Failed(failed.join("\nerror: ")))
}

fn strip_server_fields(mut v: Value) -> Value {
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    v
}

fn render_applied(
    format: Option<Format>,
    applied: &[AppliedObject],
    suffix: &str,
) -> Result<String, CliError> {
    let objects: Vec<Value> = applied
        .iter()
        .filter_map(|a| a.object.clone())
        .map(strip_server_fields)
        .collect();
    Ok(match format {
        Some(Format::Yaml) => yaml_documents(&objects)?,
        Some(Format::Json) => output::json(&list(objects))?,
        Some(Format::Name) => applied.iter().map(|a| a.reference() + "\n").collect(),
        Some(Format::Wide) | None => applied
            .iter()
            .map(|a| format!("{} {}{suffix}\n", a.reference(), a.outcome.as_str()))
            .collect(),
    })
}

fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items})
}

fn yaml_documents(objects: &[Value]) -> Result<String, CliError> {
    let mut out = String::new();
    for (i, o) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&output::yaml(o)?);
    }
    Ok(out)
}

/// The documents `manifests` prints (and `mount --dry-run=client` shows).
fn offline_objects(req: &MountRequest, args: &MountArgs) -> Result<Vec<Value>, CliError> {
    let to_value = |v: Result<Value, serde_json::Error>| {
        v.map_err(|e| CliError::Output(format!("cannot render a manifest: {e}")))
    };
    let mut docs = Vec::new();
    for pair in mount::pairs(req) {
        docs.push(to_value(serde_json::to_value(&pair.pv))?);
        docs.push(to_value(serde_json::to_value(&pair.claim))?);
        if let Some((w, path)) = &req.workload {
            let containers = if args.container.is_empty() {
                vec![w.name().to_string()]
            } else {
                args.container.clone()
            };
            let m = WorkloadMount {
                workload: w.clone(),
                namespace: pair.namespace.clone(),
                claim: pair.claim_name().to_string(),
                mount_path: path.clone(),
            };
            docs.push(workload::patch_manifest(&m, &containers));
        }
    }
    Ok(docs)
}

fn render_offline(
    cli: &Cli,
    req: &MountRequest,
    args: &MountArgs,
    suffix: &str,
) -> Result<String, CliError> {
    let docs = offline_objects(req, args)?;
    Ok(match cli.output {
        Some(Format::Json) => output::json(&list(docs))?,
        Some(Format::Name) => docs.iter().map(|d| reference(d) + "\n").collect(),
        Some(Format::Wide) | None if !suffix.is_empty() => docs
            .iter()
            .map(|d| format!("{} created{suffix}\n", reference(d)))
            .collect(),
        _ => yaml_documents(&docs)?,
    })
}

/// `kind/name` of a document, as `kubectl -o name` prints it.
fn reference(d: &Value) -> String {
    let kind = d["kind"].as_str().unwrap_or_default().to_ascii_lowercase();
    let name = d["metadata"]["name"].as_str().unwrap_or_default();
    format!("{kind}/{name}")
}

/// `manifests`: the YAML without touching the cluster.
pub fn manifests(cli: &Cli, args: &MountArgs) -> Result<(), CliError> {
    if args.namespace_selector.is_some() {
        return Err(invalid(
            InvalidInput::new(
                "--namespace-selector",
                "manifests does not read the cluster, so it cannot list namespaces",
            )
            .hint("Name them with -n a,b,c"),
        ));
    }
    let session = open(cli, args)?;
    let mut req = request(&session, args)?;
    let current = session.offline_namespace(cli)?;
    req.namespaces = namespaces(cli.kube.namespace.as_deref(), &current);
    check_namespaces(&req.namespaces)?;
    output::write_stdout(&render_offline(cli, &req, args, "")?)
}
