//! The two storage roles the cache's resource provider needs: the wanted assignments in → list
//! what applies at the scope → compare → create → [`super::Converged`]. `up`'s roles step
//! and `role assign` call [`principal`], [`read`], [`decide`] and [`apply`] (or [`converge`]).
//!
//! - The principal is the one given (`--provider-principal-id`, `--assignee`) or the provider's
//!   service principal from Microsoft Graph. Graph answers 404 for minutes after the provider's
//!   registration (directory replication): that is waited for; a provider never registered is
//!   said at once instead of after the wait.
//! - Least privilege: the scope is the storage account, and only an assignment *at* it counts as
//!   done (one at a group or subscription above it is someone else's grant, free to go away).
//! - Assignments are named deterministically (UUID v5 of scope, role and principal), so a re-run
//!   PUTs the same name; ARM's 409 `RoleAssignmentExists` (an equal assignment under another
//!   name appeared meanwhile) is converged too, on that assignment.

use crate::azure::authorization::{self, Assigned, RoleAssignment};
use crate::azure::ids::same_id;
use crate::azure::lro::PollPolicy;
use crate::azure::{ArmClient, graph, providers};
use crate::{Error, Result};

/// Built-in roles the cache's resource provider needs on the storage account.
pub const ROLES: [&str; 2] = [
    authorization::STORAGE_ACCOUNT_CONTRIBUTOR,
    authorization::STORAGE_BLOB_DATA_CONTRIBUTOR,
];

/// The namespace whose registration makes the provider's service principal appear.
const PROVIDER_NAMESPACE: &str = "Microsoft.StorageCache";

/// One assignment wanted.
#[derive(Debug, Clone)]
pub struct Want {
    /// The storage account's id.
    pub scope: String,
    /// The role definition's id, as found at the scope ([`definition`]).
    pub definition: String,
    pub principal: String,
    /// `ServicePrincipal`, `User` or `Group`: sent so that ARM does not look the principal up
    /// in a directory that may not have replicated it yet.
    pub principal_type: String,
}

impl Want {
    /// The deterministic name of this assignment.
    pub fn name(&self) -> String {
        authorization::assignment_name(&self.scope, &self.definition, &self.principal)
    }

    pub fn id(&self) -> String {
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{}",
            self.scope,
            self.name()
        )
    }

    /// Whether `a` grants what is wanted: same principal and role, at the scope itself.
    fn is_met_by(&self, a: &RoleAssignment) -> bool {
        let guid = |id: &str| id.rsplit('/').next().unwrap_or(id).to_ascii_lowercase();
        a.properties
            .principal_id
            .eq_ignore_ascii_case(&self.principal)
            && guid(&a.properties.role_definition_id) == guid(&self.definition)
            && a.properties
                .scope
                .as_deref()
                .is_none_or(|s| same_id(s, &self.scope))
    }
}

/// What converging would do, from what was listed.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Assigned already (by this tool under its name, or by anyone under another).
    Keep(Box<RoleAssignment>),
    Create,
}

impl Decision {
    /// The plan's verb.
    pub fn action(&self) -> &'static str {
        match self {
            Decision::Keep(_) => "none",
            Decision::Create => "create",
        }
    }
}

/// Compares the assignments that apply at the scope with the wanted one.
pub fn decide(want: &Want, existing: &[RoleAssignment]) -> Decision {
    match existing.iter().find(|a| want.is_met_by(a)) {
        Some(a) => Decision::Keep(Box::new(a.clone())),
        None => Decision::Create,
    }
}

/// The principal to assign: `given`, else the HPC Cache resource provider's service principal
/// from Microsoft Graph, waited for (at `policy`'s pace, for at most its timeout) while Graph
/// has none yet and the provider is registered.
pub async fn principal(
    client: &ArmClient,
    given: Option<&str>,
    policy: &PollPolicy,
) -> Result<String> {
    if let Some(p) = given {
        return Ok(p.to_ascii_lowercase());
    }
    if let Some(id) = graph::provider_principal(client).await? {
        return Ok(id);
    }
    let provider = providers::get_provider(client, PROVIDER_NAMESPACE).await?;
    if !provider.is_registered() && !provider.is_registering() {
        return Err(Error::Lookup {
            what: "the HPC Cache resource provider's service principal".to_owned(),
            reason: format!(
                "Microsoft Graph has none in this tenant ({}), and {PROVIDER_NAMESPACE} is {}. Register it first (az-hpccache-ext provider register), or pass the principal's object id with --provider-principal-id",
                graph::STORAGE_CACHE_APP_ID,
                provider
                    .registration_state
                    .as_deref()
                    .unwrap_or("NotRegistered")
            ),
        });
    }
    graph::wait_for_provider_principal(client, policy).await
}

/// The role definition called `role`, as seen at `scope`.
pub async fn definition(client: &ArmClient, scope: &str, role: &str) -> Result<String> {
    authorization::find_role_definition(client, scope, role).await
}

/// The assignments that apply at `scope`.
pub async fn read(client: &ArmClient, scope: &str) -> Result<Vec<RoleAssignment>> {
    authorization::list_role_assignments(client, scope).await
}

/// The assignment as it is now; `None` only when ARM said an equal one exists and does not
/// list it yet.
pub type Outcome = super::Outcome<Option<RoleAssignment>>;

/// Carries out `decision` for `want`; `before_create` runs right before the PUT (to record the
/// assignment as this tool's first).
pub async fn apply(
    client: &ArmClient,
    want: &Want,
    decision: Decision,
    before_create: &(dyn Fn(&str) -> Result<()> + Sync),
) -> Result<Outcome> {
    if let Decision::Keep(a) = decision {
        return Ok(Outcome::new(a.id.clone(), false, Some(*a)));
    }
    before_create(&want.id())?;
    match authorization::create_role_assignment(
        client,
        &want.scope,
        &want.definition,
        &want.principal,
        &want.principal_type,
    )
    .await?
    {
        Assigned::Created(a) => Ok(Outcome::new(a.id.clone(), true, Some(*a))),
        // An equal assignment appeared between the list and the PUT: it does the job, and it
        // is not ours.
        Assigned::AlreadyExists => {
            let now = read(client, &want.scope).await?;
            let found = now.into_iter().find(|a| want.is_met_by(a));
            Ok(Outcome::new(
                found.as_ref().map_or_else(|| want.id(), |a| a.id.clone()),
                false,
                found,
            ))
        }
    }
}

/// Brings every role of [`ROLES`] for `principal` at `scope` to assigned.
pub async fn converge(
    client: &ArmClient,
    scope: &str,
    principal: &str,
    principal_type: &str,
) -> Result<Vec<Outcome>> {
    let existing = read(client, scope).await?;
    let mut out = Vec::new();
    for role in ROLES {
        let want = Want {
            scope: scope.to_owned(),
            definition: definition(client, scope, role).await?,
            principal: principal.to_owned(),
            principal_type: principal_type.to_owned(),
        };
        let decision = decide(&want, &existing);
        out.push(apply(client, &want, decision, &|_| Ok(())).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::authorization::RoleAssignmentProperties;

    const ACCOUNT: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a";
    const ROLE: &str = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/17d1049b-9a84-46fb-8f53-869881c3d3ab";

    fn want() -> Want {
        Want {
            scope: ACCOUNT.into(),
            definition: ROLE.into(),
            principal: "11111111-2222-3333-4444-555555555555".into(),
            principal_type: "ServicePrincipal".into(),
        }
    }

    fn assignment(scope: &str, role: &str, principal: &str) -> RoleAssignment {
        RoleAssignment {
            id: format!("{scope}/providers/Microsoft.Authorization/roleAssignments/x"),
            name: "x".into(),
            properties: RoleAssignmentProperties {
                role_definition_id: role.into(),
                principal_id: principal.into(),
                scope: Some(scope.into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn nothing_assigned_is_created_under_the_deterministic_name() {
        let w = want();
        assert!(matches!(decide(&w, &[]), Decision::Create));
        assert_eq!(decide(&w, &[]).action(), "create");
        assert!(w.id().ends_with(&w.name()));
        // Case and the form of the role id do not change the name: re-runs are no-ops.
        let mut upper = want();
        upper.scope = ACCOUNT.to_ascii_uppercase();
        upper.definition = "17D1049B-9A84-46FB-8F53-869881C3D3AB".into();
        assert_eq!(upper.name(), w.name());
    }

    #[test]
    fn an_equal_assignment_under_any_name_and_case_needs_nothing() {
        let w = want();
        let a = assignment(
            &ACCOUNT.to_ascii_uppercase(),
            "17D1049B-9A84-46FB-8F53-869881C3D3AB",
            &w.principal.to_ascii_uppercase(),
        );
        match decide(&w, std::slice::from_ref(&a)) {
            Decision::Keep(k) => assert_eq!(k.id, a.id),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn another_role_principal_or_a_broader_scope_does_not_count() {
        let w = want();
        let other_role = assignment(ACCOUNT, "/x/roleDefinitions/ba92f5b4", &w.principal);
        let other_principal = assignment(ACCOUNT, ROLE, "99999999-2222-3333-4444-555555555555");
        // Least privilege: a grant on the group is not the account's, and may be taken away.
        let group = assignment("/subscriptions/s/resourceGroups/rg", ROLE, &w.principal);
        assert!(matches!(
            decide(&w, &[other_role, other_principal, group]),
            Decision::Create
        ));
    }
}
