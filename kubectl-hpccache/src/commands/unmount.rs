//! `unmount`: the core removes, this prints what went (`kubectl delete` style). Scoped
//! like kubectl: the current namespace, `-n a,b`, or `--all-namespaces`.

use hpccache_core::kube::unmount::{self, Removed};
use hpccache_core::state::KubeObject;
use hpccache_core::{Error as CoreError, InvalidInput};

use super::cluster::{Session, namespaces};
use crate::cli::{Cli, Format};
use crate::exit::CliError;
use crate::output;

pub fn run(
    cli: &Cli,
    deployment: Option<&str>,
    force: bool,
    all_namespaces: bool,
) -> Result<(), CliError> {
    let invalid = |e: InvalidInput| CliError::Core(CoreError::InvalidInput(e));
    if all_namespaces && cli.kube.namespace.is_some() {
        return Err(invalid(
            InvalidInput::new("--all-namespaces", "cannot be combined with -n/--namespace")
                .hint("Name the namespaces with -n a,b, or pass --all-namespaces alone"),
        ));
    }
    if let Some(ns) = cli.kube.namespace.as_deref() {
        for n in namespaces(Some(ns), "default") {
            hpccache_core::spec::kube::dns1123_label("--namespace", &n).map_err(invalid)?;
        }
    }
    let mut session = Session::open(cli, deployment, true)?;
    let state = session
        .state
        .clone()
        .ok_or_else(|| CliError::Output("no state file".into()))?;
    let (client, default_ns) = session.connect(cli)?;
    let scope = (!all_namespaces).then(|| namespaces(cli.kube.namespace.as_deref(), &default_ns));
    let removed = session.run(async {
        unmount::unmount(
            &client,
            &state.deployment,
            &state.kube,
            force,
            scope.as_deref(),
        )
        .await
        .map_err(CliError::from)
    });
    let removed = match removed {
        Ok(r) => r,
        Err(e) => {
            session.close()?;
            return Err(e);
        }
    };
    // Every record in scope is forgotten: the workloads hold nothing of ours any more, and
    // a claim someone deleted by hand is gone too. Records of other namespaces stay, for a
    // later unmount there (a PV has no namespace: in scope only with --all-namespaces).
    let in_scope = |o: &KubeObject| match (&scope, &o.namespace) {
        (None, _) => true,
        (Some(names), Some(ns)) => names.contains(ns),
        (Some(_), None) => false,
    };
    let mut forget: Vec<KubeObject> = removed.iter().map(record).collect();
    forget.extend(state.kube.iter().filter(|o| in_scope(o)).cloned());
    session.record(&[], &forget)?;
    session.close()?;
    let text: String = removed
        .iter()
        .map(|r| match cli.output {
            Some(Format::Name) => format!("{}\n", r.reference()),
            _ => format!("{} {}\n", r.reference(), r.action),
        })
        .collect();
    output::write_stdout(&text)
}

fn record(r: &Removed) -> KubeObject {
    KubeObject {
        kind: r.kind.clone(),
        namespace: r.namespace.clone(),
        name: r.name.clone(),
        created: r.action == "deleted",
    }
}
