//! The one object `up` prints at the end: where to mount, how, and what comes next.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::spec::nfs::DEFAULT_MOUNT_OPTIONS;
use crate::state::State;

/// Where `up`'s summary tells the user to mount the cache locally.
pub const MOUNT_POINT: &str = "/mnt/hpccache";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub deployment: String,
    pub fqdn: Option<String>,
    pub mount_addresses: Vec<String>,
    pub namespace_paths: Vec<String>,
    /// `sudo mount -t nfs -o vers=3,hard,... server.myhpccache.local:/myfilepath /mnt/hpccache`
    pub mount_command: Option<String>,
    /// Resource role → ARM id.
    pub resources: BTreeMap<String, String>,
    /// The command to run next, on the cluster side.
    pub next_command: String,
    /// A Managed Lustre deployment: what clients mount (MGS address, `lustrefs`, settings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lustre: Option<crate::state::LustreInfo>,
}

impl Summary {
    pub fn of(state: &State) -> Self {
        let fqdn = state.dns.as_ref().map(|d| d.fqdn.clone());
        let mount_command = match (&fqdn, state.namespace_paths.first()) {
            (Some(f), Some(p)) => Some(format!(
                "sudo mount -t nfs -o {DEFAULT_MOUNT_OPTIONS} {f}:{p} {MOUNT_POINT}"
            )),
            _ => state.lustre.as_ref().and_then(|l| l.mount_command.clone()),
        };
        Self {
            deployment: state.deployment.clone(),
            fqdn,
            mount_addresses: match (&state.cache, &state.lustre) {
                (Some(c), _) => c.mount_addresses.clone(),
                (None, Some(l)) => vec![l.mgs_address.clone()],
                (None, None) => Vec::new(),
            },
            namespace_paths: state.namespace_paths.clone(),
            mount_command,
            resources: state
                .resources
                .iter()
                .map(|(k, r)| (k.clone(), r.id.clone()))
                .collect(),
            next_command: format!("kubectl hpccache mount {}", state.deployment),
            lustre: state.lustre.clone(),
        }
    }
}
