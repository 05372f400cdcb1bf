//! `unmount`: the core removes, this prints what went (`kubectl delete` style).

use hpccache_core::kube::unmount::{self, Removed};
use hpccache_core::state::KubeObject;

use super::cluster::Session;
use crate::cli::{Cli, Format};
use crate::exit::CliError;
use crate::output;

pub fn run(cli: &Cli, deployment: Option<&str>, force: bool) -> Result<(), CliError> {
    let mut session = Session::open(cli, deployment, true)?;
    let state = session
        .state
        .clone()
        .ok_or_else(|| CliError::Output("no state file".into()))?;
    let (client, _) = session.connect(cli)?;
    let removed = session.run(async {
        unmount::unmount(&client, &state.deployment, &state.kube, force)
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
    // The workloads are forgotten too: nothing of ours is left in them.
    let mut forget: Vec<KubeObject> = removed.iter().map(record).collect();
    forget.extend(state.kube.iter().filter(|o| !o.created).cloned());
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
