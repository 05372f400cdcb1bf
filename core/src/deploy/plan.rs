//! The steps of `up` and what each needs before it can start (DESIGN.md, "Steps of up").
//! The dependencies make a DAG; the executor runs every step whose needs are done.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Step {
    Cluster,
    Provider,
    Subnet,
    Storage,
    Roles,
    Cache,
    Target,
    Dns,
    Records,
    /// The Managed Lustre filesystem (backend amlfs; see `deploy::amlfs` for its plan).
    Filesystem,
}

impl Step {
    pub const ALL: [Step; 9] = [
        Step::Cluster,
        Step::Provider,
        Step::Subnet,
        Step::Storage,
        Step::Roles,
        Step::Cache,
        Step::Target,
        Step::Dns,
        Step::Records,
    ];

    /// The name in the state file's `steps` and in progress events.
    pub fn name(self) -> &'static str {
        match self {
            Step::Cluster => "cluster",
            Step::Provider => "provider",
            Step::Subnet => "subnet",
            Step::Storage => "storage",
            Step::Roles => "roles",
            Step::Cache => "cache",
            Step::Target => "target",
            Step::Dns => "dns",
            Step::Records => "records",
            Step::Filesystem => "filesystem",
        }
    }

    /// Steps that must be finished first (in the HPC Cache plan; `deploy::amlfs::needs` for
    /// Managed Lustre).
    pub fn needs(self) -> &'static [Step] {
        match self {
            Step::Cluster | Step::Provider => &[],
            Step::Subnet | Step::Storage => &[Step::Cluster],
            // The vnet link and the subnet both change the cluster's vnet, whose writes Azure
            // serializes (409 AnotherOperationInProgress, or one superseded): one after the
            // other. The link is needed only by the records, long after the cache.
            Step::Dns => &[Step::Subnet],
            // The provider's service principal appears only once Microsoft.StorageCache is
            // registered (minutes later in a tenant that never had it).
            Step::Roles => &[Step::Storage, Step::Provider],
            Step::Cache => &[Step::Provider, Step::Subnet],
            // The target reads the container through the cache RP's roles: all three first.
            Step::Target => &[Step::Cache, Step::Storage, Step::Roles],
            Step::Records => &[Step::Cache, Step::Dns],
            Step::Filesystem => &[Step::Provider, Step::Subnet],
        }
    }
}

/// What a step will do (`--dry-run`) or did: one line of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanItem {
    pub step: String,
    /// `create`, `update`, `wait`, `none` (already right) or `read`.
    pub action: String,
    /// The resource it concerns (an ARM id, or a name when no id is known yet).
    pub resource: String,
    /// Why: what was observed.
    pub reason: String,
}

impl PlanItem {
    pub fn new(
        step: Step,
        action: &str,
        resource: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            step: step.name().to_owned(),
            action: action.to_owned(),
            resource: resource.into(),
            reason: reason.into(),
        }
    }

    /// True when carrying it out writes to Azure.
    pub fn writes(&self) -> bool {
        matches!(self.action.as_str(), "create" | "update" | "recreate")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_are_acyclic_and_in_order() {
        // Step::ALL lists every step after its needs, so one pass in that order is a valid run.
        for (i, s) in Step::ALL.iter().enumerate() {
            for n in s.needs() {
                let j = Step::ALL.iter().position(|x| x == n).expect("known step");
                assert!(j < i, "{s:?} needs {n:?}, listed later");
            }
        }
    }
}
