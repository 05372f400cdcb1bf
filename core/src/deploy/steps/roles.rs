//! "Storage Account Contributor" and "Storage Blob Data Contributor" for the cache resource
//! provider's service principal, through [`crate::converge::roles`] (the principal found by app
//! id through Graph, scoped to the storage account, under deterministic names so re-runs are
//! no-ops). The step adds the plan's notes and the state records.

use super::super::context::Ctx;
use super::super::executor::Done;
use super::super::plan::{PlanItem, Step};
use super::{id_of, keys, planned, record, record_found, record_planned, recorded, tagged};
use crate::Result;
use crate::converge::roles::{self as converge, Decision, ROLES, Want};

/// The state key of each role of [`ROLES`], in that order.
const KEYS: [&str; 2] = [
    keys::ROLE_ACCOUNT_CONTRIBUTOR,
    keys::ROLE_BLOB_DATA_CONTRIBUTOR,
];

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let account = id_of(&recorded(ctx, keys::STORAGE_ACCOUNT)?).to_owned();
    let placeholder =
        |key: &str| format!("{account}/providers/Microsoft.Authorization/roleAssignments/<{key}>");
    if planned(ctx, keys::STORAGE_ACCOUNT) {
        for (key, role) in KEYS.into_iter().zip(ROLES) {
            let id = placeholder(key);
            ctx.note(PlanItem::new(
                Step::Roles,
                "create",
                &id,
                format!("'{role}' for the HPC Cache resource provider on the new account"),
            ));
            record_planned(ctx, key, &id)?;
        }
        return Ok(Done::Finished);
    }
    let principal = match &ctx.preflight.provider_principal {
        Some(id) => id.clone(),
        None if ctx.dry_run() => {
            for (key, role) in KEYS.into_iter().zip(ROLES) {
                ctx.note(PlanItem::new(
                    Step::Roles,
                    "create",
                    placeholder(key),
                    format!("'{role}' for the HPC Cache resource provider, whose service principal appears once Microsoft.StorageCache is registered"),
                ));
            }
            return Ok(Done::Finished);
        }
        None => converge::principal(&ctx.client, None, &ctx.waits.principal).await?,
    };
    let existing = converge::read(&ctx.client, &account).await?;
    for (key, role) in KEYS.into_iter().zip(ROLES) {
        let want = Want {
            scope: account.clone(),
            definition: converge::definition(&ctx.client, &account, role).await?,
            principal: principal.clone(),
            principal_type: "ServicePrincipal".to_owned(),
        };
        let decision = converge::decide(&want, &existing);
        match &decision {
            Decision::Keep(a) => {
                ctx.note(PlanItem::new(
                    Step::Roles,
                    decision.action(),
                    &a.id,
                    format!("'{role}' is assigned"),
                ));
                // This tool names its assignments deterministically: one under that name on
                // this deployment's account is this deployment's.
                let ours =
                    tagged(ctx, keys::STORAGE_ACCOUNT) && a.name.eq_ignore_ascii_case(&want.name());
                record_found(ctx, key, &a.id, ours)?;
                continue;
            }
            Decision::Create => ctx.note(PlanItem::new(
                Step::Roles,
                decision.action(),
                want.id(),
                format!(
                    "'{role}' is not assigned to the HPC Cache resource provider on the account"
                ),
            )),
        }
        if ctx.dry_run() {
            continue;
        }
        let before_create = |id: &str| record(ctx, key, id, true);
        let outcome = converge::apply(&ctx.client, &want, decision, &before_create).await?;
        record(ctx, key, &outcome.converged.id, outcome.converged.created)?;
    }
    Ok(Done::Finished)
}
