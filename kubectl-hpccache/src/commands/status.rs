//! `status`: the deployment's volumes and claims as a kubectl-style table.

use hpccache_core::kube::status::{self, VolumeStatus};
use hpccache_core::state::{Backend, State};

use super::cluster::Session;
use crate::cli::{Cli, Format};
use crate::exit::CliError;
use crate::output;

pub fn run(cli: &Cli, deployment: Option<&str>) -> Result<(), CliError> {
    let mut session = Session::open(cli, deployment, true)?;
    let state = session
        .state
        .clone()
        .ok_or_else(|| CliError::Output("no state file".into()))?;
    let (client, _) = session.connect(cli)?;
    let volumes = session.run(async {
        status::status(&client, &state.deployment)
            .await
            .map_err(CliError::from)
    });
    session.close()?;
    let volumes = volumes?;
    let text = match cli.output {
        Some(Format::Json) => output::json(&volumes)?,
        Some(Format::Yaml) => output::yaml(&volumes)?,
        Some(Format::Name) => volumes
            .iter()
            .map(|v| format!("persistentvolume/{}\n", v.pv))
            .collect(),
        Some(Format::Wide) => human(&state, &volumes, true),
        None => human(&state, &volumes, false),
    };
    output::write_stdout(&text)
}

/// The cache as the state file knows it, then one row per volume.
pub fn human(state: &State, volumes: &[VolumeStatus], wide: bool) -> String {
    let mut out = String::new();
    if state.backend == Backend::Amlfs {
        lustre_header(&mut out, state);
    } else {
        cache_header(&mut out, state, wide);
    }
    out.push_str("\n\n");
    if volumes.is_empty() {
        out.push_str("No volumes. Run `kubectl hpccache mount` to make one.\n");
        return out;
    }
    table(&mut out, volumes, wide);
    out
}

/// `Lustre filesystem NAME: MGS@tcp:/lustrefs, SKU N TiB, root squash MODE`.
fn lustre_header(out: &mut String, state: &State) {
    out.push_str(&format!("Lustre filesystem {}: ", state.deployment));
    match &state.lustre {
        Some(l) => {
            out.push_str(&format!(
                "{}@tcp:/{}, {} {} TiB, root squash {}",
                l.mgs_address, l.filesystem_name, l.sku, l.storage_capacity_tib, l.root_squash_mode
            ));
            if l.root_squash_mode != "None"
                && let (Some(u), Some(g)) = (l.squash_uid, l.squash_gid)
            {
                out.push_str(&format!(" (to {u}:{g})"));
            }
        }
        None => out.push_str("(no MGS address yet)"),
    }
}

fn cache_header(out: &mut String, state: &State, wide: bool) {
    let dns = state
        .dns
        .as_ref()
        .map(|d| d.fqdn.as_str())
        .unwrap_or("(no DNS name yet)");
    out.push_str(&format!("Cache {}: {dns}", state.deployment));
    if let Some(c) = &state.cache {
        out.push_str(&format!(
            ", {} {} GB, root squash {}",
            c.sku,
            c.cache_size_gb,
            if c.root_squash { "on" } else { "off" }
        ));
        if let Some(o) = &state.owner {
            out.push_str(&format!(", {} owned by {}:{}", o.path, o.uid, o.gid));
        }
        if wide && !c.mount_addresses.is_empty() {
            out.push_str(&format!(", addresses {}", c.mount_addresses.join(",")));
        }
    }
}

/// One row per volume; -o wide adds where it comes from (SERVER: the NFS server or the
/// Lustre MGS address; PATH: the export path or `/<fs-name>[/<sub-dir>]`).
fn table(out: &mut String, volumes: &[VolumeStatus], wide: bool) {
    let mut headers = vec!["NAMESPACE", "CLAIM", "STATUS", "VOLUME", "CAPACITY", "PODS"];
    if wide {
        headers.extend(["SERVER", "PATH", "MOUNT OPTIONS"]);
    }
    let rows: Vec<Vec<String>> = volumes
        .iter()
        .map(|v| {
            let mut row = vec![
                v.namespace.clone(),
                v.claim.clone(),
                if v.pv_phase == v.claim_phase {
                    v.pv_phase.clone()
                } else {
                    format!("{}/{}", v.pv_phase, v.claim_phase)
                },
                v.pv.clone(),
                v.capacity.clone(),
                if v.pods.is_empty() {
                    "<none>".into()
                } else {
                    v.pods.join(",")
                },
            ];
            if wide {
                row.extend([v.server.clone(), v.path.clone(), v.mount_options.join(",")]);
            }
            row
        })
        .collect();
    out.push_str(&output::table(&headers, &rows));
}
