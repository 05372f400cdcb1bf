//! `state show` and `state list`: the shared state file through az's output conventions.

use hpccache_core::state;
use serde_json::{Value, json};

use super::print;
use crate::cli::{Cli, StateCommand};
use crate::exit::CliError;

pub fn run(cli: &Cli, cmd: &StateCommand) -> Result<(), CliError> {
    match cmd {
        StateCommand::Show { name } => show(cli, name.as_deref()),
        StateCommand::List => list(cli),
    }
}

fn show(cli: &Cli, deployment: Option<&str>) -> Result<(), CliError> {
    if let Some(name) = deployment {
        hpccache_core::spec::names::deployment("--name", name)
            .map_err(hpccache_core::Error::from)?;
    }
    let location = state::resolve(cli.global.state.as_deref(), deployment)?;
    let doc = state::read(location.path())?;
    let value = serde_json::to_value(&doc)
        .map_err(|e| CliError::Usage(format!("cannot render state: {e}")))?;
    print(cli, &value)
}

fn list(cli: &Cli) -> Result<(), CliError> {
    let dir = state::deployments_dir()?;
    let mut rows = Vec::new();
    for name in state::list_deployments(&dir)? {
        let path = dir.join(format!("{name}.json"));
        // One unreadable file must not hide the others: list it with its problem.
        let row = match state::read(&path) {
            Ok(s) => json!({
                "name": s.deployment,
                "cluster": s.cluster.as_ref().map(|c| c.name.clone()),
                "resourceGroup": s.cluster.as_ref().map(|c| c.resource_group.clone()),
                "location": s.cluster.as_ref().map(|c| c.location.clone()),
                "sandbox": s.sandbox,
                "stepsDone": s.steps.len(),
                "path": path.display().to_string(),
                "problem": Value::Null,
            }),
            Err(e) => json!({
                "name": name,
                "path": path.display().to_string(),
                "problem": e.to_string(),
            }),
        };
        rows.push(row);
    }
    print(cli, &Value::Array(rows))
}
