//! `verify`: the core's checklist per namespace, printed with each failure's fix.

use std::time::Duration;

use hpccache_core::kube::manifests::{default_claim_name, default_pv_name};
use hpccache_core::kube::verify::{self, Expected, Status, Verification, VerifyOptions};
use hpccache_core::state::State;

use super::cluster::{Session, namespaces};
use crate::cli::{Cli, Format, VerifyArgs};
use crate::exit::CliError;
use crate::output;

/// The claim `mount` recorded in `namespace`, else the default name.
fn recorded(state: &State, kind: &str, namespace: Option<&str>) -> Option<String> {
    state
        .kube
        .iter()
        .find(|o| o.kind == kind && o.namespace.as_deref() == namespace)
        .map(|o| o.name.clone())
}

pub fn run(cli: &Cli, args: &VerifyArgs) -> Result<(), CliError> {
    if let Some(claim) = &args.claim {
        hpccache_core::spec::kube::dns1123_subdomain("--claim", claim)
            .map_err(hpccache_core::Error::from)?;
    }
    let mut session = Session::open(cli, args.deployment.as_deref(), true)?;
    let state = session
        .state
        .clone()
        .ok_or_else(|| CliError::Output("no state file".into()))?;
    let (client, default_ns) = session.connect(cli)?;
    let opts = VerifyOptions {
        image: args.image.clone(),
        as_user: args.as_user,
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let mut results = Vec::new();
    for ns in namespaces(cli.kube.namespace.as_deref(), &default_ns) {
        let claim = args
            .claim
            .clone()
            .or_else(|| recorded(&state, "PersistentVolumeClaim", Some(&ns)))
            .unwrap_or_else(|| default_claim_name(&state.deployment));
        let pv = default_pv_name(&state.deployment, &ns);
        let expected = Expected::from_state(&state, &ns, &claim, &pv);
        // No outer Ctrl-C handler: the probes remove their pods on Ctrl-C themselves.
        match session
            .runtime
            .block_on(verify::verify(&client, &expected, &opts))
        {
            Ok(v) => results.push(v),
            Err(e) => {
                session.close()?;
                return Err(e.into());
            }
        }
    }
    session.close()?;
    let text = match cli.output {
        Some(Format::Json) => output::json(&results)?,
        Some(Format::Yaml) => output::yaml(&results)?,
        _ => human(&results),
    };
    output::write_stdout(&text)?;
    // The same judgement as `az-hpccache-ext up --attach` makes of its checklist.
    let failed: usize = results.iter().map(|v| v.not_passed().count()).sum();
    if failed == 0 {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "{failed} check{} did not pass",
            if failed == 1 { "" } else { "s" }
        )))
    }
}

/// The checklist: `[ok]`, `[FAIL]` or `[skip]` per check, details and fixes indented.
pub fn human(results: &[Verification]) -> String {
    let mut out = String::new();
    let (mut total, mut passed) = (0, 0);
    for v in results {
        out.push_str(&format!("Claim {}/{}:\n", v.namespace, v.claim));
        for c in &v.checks {
            total += 1;
            let mark = match c.status {
                Status::Pass => {
                    passed += 1;
                    "[ok]  "
                }
                Status::Fail => "[FAIL]",
                Status::Skip => "[skip]",
            };
            out.push_str(&format!("  {mark} {}\n", c.name));
            if let Some(d) = &c.detail {
                out.push_str(&format!("         {d}\n"));
            }
            for (i, f) in c.fix.iter().enumerate() {
                let lead = if i == 0 { "fix: " } else { "     " };
                out.push_str(&format!("         {lead}{f}\n"));
            }
        }
    }
    out.push_str(&format!("{passed} of {total} checks passed.\n"));
    out
}
