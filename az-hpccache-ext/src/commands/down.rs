//! `down`: takes the deployment apart (flush first), deleting only what `up` created. When the
//! deployment was mounted into its cluster (`attach`, `up --attach`, `kubectl hpccache mount`),
//! the cluster side goes first, and not while pods still use the volume.

use clap::Args;
use hpccache_core::InvalidInput;
use hpccache_core::deploy::down::{self, DownOptions};
use hpccache_core::deploy::keys;
use hpccache_core::kube::{in_use, unmount};
use hpccache_core::state::{Backend, LockedState, State};
use serde_json::json;

use super::confirm::confirm;
use super::print;
use super::up::{lock_state, waits};
use crate::cli::Cli;
use crate::exit::CliError;
use crate::session::Session;

pub const EXAMPLES: &str = "\
Examples:
  Remove what `up` created, keeping the storage account and its data:
    az-hpccache-ext down -n MyHpcCache --yes

  Remove the data too:
    az-hpccache-ext down -n MyHpcCache --delete-data --yes

  A Managed Lustre deployment: with --hsm-container its files are archived to the container
  first; without, its files exist nowhere else, so it needs --delete-data:
    az-hpccache-ext down -n MyLustre --yes
    az-hpccache-ext down -n MyLustre --delete-data --yes

  After the state file was lost and `up` made a new one: remove what carries the deployment's
  tag (up lists it):
    az-hpccache-ext down -n MyHpcCache --adopt --yes";

#[derive(Debug, Args)]
pub struct DownCommand {
    /// The deployment. Optional when only one exists or --state names the file.
    #[arg(short = 'n', long)]
    pub name: Option<String>,
    /// Also delete the storage account and containers this tool created (refused for a
    /// container holding data unless --yes); for a Managed Lustre filesystem without blob
    /// integration, required to delete it (its files are lost).
    #[arg(long)]
    pub delete_data: bool,
    /// Delete a cache that is not healthy enough to flush, or a filesystem that cannot archive
    /// (data not yet written back to Blob storage is lost), and unmount the volume from pods that still use it (they lose it).
    #[arg(long)]
    pub force: bool,
    /// Also delete resources that carry this deployment's tag (hpccache-deployment) but were
    /// not created by its state file: what `up` finds after the state file was lost.
    #[arg(long)]
    pub adopt: bool,
    /// Do not prompt for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Do not wait for the long-running operation to finish.
    #[arg(long)]
    pub no_wait: bool,
}

pub fn run(cli: &Cli, cmd: &DownCommand) -> Result<(), CliError> {
    if let Some(n) = &cmd.name {
        hpccache_core::spec::names::deployment("--name", n)?;
    }
    let store = lock_state(cli, cmd.name.as_deref())?;
    // A missing, corrupt, foreign or newer state file is refused before the first request (the
    // session lists subscriptions when it opens), not after (reliability suite, issue 7 item 4).
    let Some(doc) = store.load()? else {
        return Err(hpccache_core::Error::StateMissing {
            path: store.path().to_path_buf(),
        }
        .into());
    };
    let lustre = doc.backend == Backend::Amlfs;
    // Without blob integration a filesystem's files exist nowhere else: refuse before anything
    // (the cluster side included) is touched. `down` checks the live filesystem again.
    let owns_filesystem = doc
        .resources
        .get(keys::AML_FILESYSTEM)
        .is_some_and(|r| r.created || (cmd.adopt && r.tagged));
    if lustre && owns_filesystem && !cmd.delete_data && !doc.lustre.as_ref().is_some_and(|l| l.hsm)
    {
        return Err(InvalidInput::new(
            "--delete-data",
            format!(
                "Managed Lustre filesystem {} has no blob integration, so deleting it loses every file on it",
                doc.deployment
            ),
        )
        .hint(format!(
            "Copy what you need off it first, then run `az-hpccache-ext down -n {} --delete-data --yes`",
            doc.deployment
        ))
        .into());
    }
    let what = if cmd.delete_data {
        "everything this deployment created, its data included"
    } else if lustre {
        "the Managed Lustre filesystem (archived to its blob container first), role assignments and subnet this deployment created"
    } else {
        "the cache, storage target, DNS records, link, zone, role assignments and subnet this deployment created"
    };
    let mut question = format!("Are you sure you want to delete {what}?");
    let adopted: Vec<&str> = doc
        .resources
        .values()
        .filter(|r| r.tagged && cmd.adopt)
        .map(|r| r.id.as_str())
        .collect();
    if !adopted.is_empty() {
        question = format!(
            "Are you sure you want to delete {what}, and these resources tagged for it (kept unless --delete-data: the storage account and container)?\n  {}\n",
            adopted.join("\n  ")
        );
    }
    confirm(&question, cmd.yes)?;
    // The cluster side is reached only when the state file records objects there.
    let attached = !doc.kube.is_empty();
    let session = if attached {
        Session::open_with_clusters(cli)?
    } else {
        Session::open(cli)?
    };
    let opts = DownOptions {
        delete_data: cmd.delete_data,
        force: cmd.force,
        yes: cmd.yes,
        no_wait: cmd.no_wait,
        adopt: cmd.adopt,
        waits: waits(&session),
        progress: session.progress.clone(),
    };
    let result = session.run(async {
        let unmounted = if attached {
            unmount_cluster_side(&session, &store, cmd.force).await?
        } else {
            Vec::new()
        };
        let report = down::down(&session.arm, store, opts).await?;
        Ok((unmounted, report))
    });
    session.close()?;
    let (unmounted, report) = result?;
    if report.pending {
        let what = if lustre {
            "The filesystem"
        } else {
            "The cache"
        };
        tracing::warn!("{what} is being deleted. Run `az-hpccache-ext down` again to finish.");
    }
    for (id, why) in &report.reasons {
        tracing::warn!("Kept {id}: {why}.");
    }
    if report.deleted.is_empty() && !report.pending {
        warn_nothing_deleted(&report.state, &report.adoptable);
    }
    print(
        cli,
        &json!({
            "deleted": report.deleted,
            "kept": report.kept,
            "pending": report.pending,
            "unmounted": unmounted,
        }),
    )
}

/// A `down` that deletes nothing says so, and why (issue 12 item 6): after a lost state file,
/// `up` records what it finds as not created by this file.
fn warn_nothing_deleted(state: &State, adoptable: &[String]) {
    if adoptable.is_empty() {
        tracing::warn!(
            "Nothing was deleted: the state file records no resource this tool created for deployment {}.",
            state.deployment
        );
        return;
    }
    tracing::warn!(
        "Nothing was deleted: the state file of deployment {0} records no resource it created, but {1} carry its tag (hpccache-deployment={0}): its state file was lost or replaced. `az-hpccache-ext down -n {0} --adopt` deletes them:",
        state.deployment,
        adoptable.len()
    );
    for id in adoptable {
        tracing::warn!("  {id}");
    }
}

/// Refuses while pods use the deployment's volume (listing them) unless `force`; then takes
/// the volume out of the workloads this tool patched and deletes its claims and PVs, and
/// records that in the state file, all before anything in Azure is touched (issue 12 item 4).
/// Returns what was removed (`persistentvolumeclaim/NAME deleted`).
async fn unmount_cluster_side(
    session: &Session,
    store: &LockedState,
    force: bool,
) -> Result<Vec<String>, CliError> {
    let mut doc = store.load()?.ok_or_else(|| {
        CliError::Core(hpccache_core::Error::StateMissing {
            path: store.path().to_path_buf(),
        })
    })?;
    let kube_err = |e: hpccache_core::Error| CliError::Runtime(e.to_string());
    let client = match super::attach::cluster_client(session, &doc).await {
        Ok(c) => c,
        Err(e) if force => {
            tracing::warn!(
                "Cannot reach the cluster to unmount the volume ({e}); --force: deleting the Azure side anyway. Its PersistentVolumes and claims stay in the cluster."
            );
            return Ok(Vec::new());
        }
        Err(e) => {
            return Err(e.with_hint(
                "The volume is recorded as mounted in the cluster. Make the cluster reachable, or pass --force to delete the Azure side anyway",
            ));
        }
    };
    let pods = in_use::pods_using(&client, &doc.deployment)
        .await
        .map_err(kube_err)?;
    if !pods.is_empty() && !force {
        return Err(CliError::Runtime(format!(
            "{} pod{} still use the volume of deployment {}: {}. Deleting its cache now would break them",
            pods.len(),
            if pods.len() == 1 { "" } else { "s" },
            doc.deployment,
            pods.join(", ")
        ))
        .with_hint(format!(
            "Stop them, or take the volume out of them (kubectl hpccache unmount {}), then run `down` again; --force unmounts it from them and deletes anyway",
            doc.deployment
        )));
    }
    let removed = unmount::unmount(&client, &doc.deployment, &doc.kube, true, None)
        .await
        .map_err(kube_err)?;
    doc.kube.clear();
    store.save(&doc)?;
    Ok(removed
        .iter()
        .map(|r| format!("{} {}", r.reference(), r.action))
        .collect())
}
