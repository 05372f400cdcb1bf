//! `kubectl hpccache state show`: the shared state file, the kubectl way.

use hpccache_core::state::{self, State};

use crate::cli::{Cli, Format, StateCommand};
use crate::exit::CliError;
use crate::output;

pub fn run(cli: &Cli, cmd: &StateCommand) -> Result<(), CliError> {
    match cmd {
        StateCommand::Show { deployment } => show(cli, deployment.as_deref()),
    }
}

fn show(cli: &Cli, deployment: Option<&str>) -> Result<(), CliError> {
    if let Some(name) = deployment {
        hpccache_core::spec::names::deployment("DEPLOYMENT", name)
            .map_err(hpccache_core::Error::from)?;
    }
    let location = state::resolve(cli.state.as_deref(), deployment)?;
    let doc = state::read(location.path())?;
    let text = match cli.output {
        Some(Format::Json) => output::json(&doc)?,
        Some(Format::Yaml) | None => output::yaml(&doc)?,
        Some(Format::Name) => format!("deployment.hpccache.azure.com/{}\n", doc.deployment),
        Some(Format::Wide) => wide(&doc),
    };
    output::write_stdout(&text)
}

/// One row per Azure resource and Kubernetes object the deployment holds.
fn wide(doc: &State) -> String {
    let mut rows: Vec<Vec<String>> = doc
        .resources
        .iter()
        .map(|(role, r)| {
            vec![
                role.clone(),
                "Azure".into(),
                r.created.to_string(),
                r.id.clone(),
            ]
        })
        .collect();
    rows.extend(doc.kube.iter().map(|o| {
        let id = match &o.namespace {
            Some(ns) => format!("{}/{}/{}", o.kind, ns, o.name),
            None => format!("{}/{}", o.kind, o.name),
        };
        vec![
            o.kind.clone(),
            "Kubernetes".into(),
            o.created.to_string(),
            id,
        ]
    }));
    output::table(&["ROLE", "WHERE", "CREATED", "ID"], &rows)
}
