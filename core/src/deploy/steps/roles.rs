//! "Storage Account Contributor" and "Storage Blob Data Contributor" for the cache resource
//! provider's service principal, found by app id through Graph (its display name differs by
//! tenant), scoped to the storage account, under deterministic names so re-runs are no-ops.

use super::super::context::Ctx;
use super::super::executor::Done;
use super::super::plan::{PlanItem, Step};
use super::{id_of, keys, planned, record, record_found, record_planned, recorded, tagged};
use crate::Result;
use crate::azure::authorization::{self, Assigned};
use crate::azure::graph;

const ROLES: [(&str, &str); 2] = [
    (
        keys::ROLE_ACCOUNT_CONTRIBUTOR,
        authorization::STORAGE_ACCOUNT_CONTRIBUTOR,
    ),
    (
        keys::ROLE_BLOB_DATA_CONTRIBUTOR,
        authorization::STORAGE_BLOB_DATA_CONTRIBUTOR,
    ),
];

pub async fn run(ctx: &Ctx) -> Result<Done> {
    let account = id_of(&recorded(ctx, keys::STORAGE_ACCOUNT)?).to_owned();
    if planned(ctx, keys::STORAGE_ACCOUNT) {
        for (key, role) in ROLES {
            let id = format!("{account}/providers/Microsoft.Authorization/roleAssignments/<{key}>");
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
            for (key, role) in ROLES {
                let id =
                    format!("{account}/providers/Microsoft.Authorization/roleAssignments/<{key}>");
                ctx.note(PlanItem::new(
                    Step::Roles,
                    "create",
                    &id,
                    format!("'{role}' for the HPC Cache resource provider, whose service principal appears once Microsoft.StorageCache is registered"),
                ));
            }
            return Ok(Done::Finished);
        }
        None => graph::wait_for_provider_principal(&ctx.client, &ctx.waits.principal).await?,
    };
    let existing = authorization::list_role_assignments(&ctx.client, &account).await?;
    for (key, role) in ROLES {
        let definition = authorization::find_role_definition(&ctx.client, &account, role).await?;
        let guid = definition
            .rsplit('/')
            .next()
            .unwrap_or(&definition)
            .to_ascii_lowercase();
        let found = existing.iter().find(|a| {
            a.properties.principal_id.eq_ignore_ascii_case(&principal)
                && a.properties
                    .role_definition_id
                    .to_ascii_lowercase()
                    .ends_with(&guid)
                && a.properties
                    .scope
                    .as_deref()
                    .is_none_or(|s| s.eq_ignore_ascii_case(&account))
        });
        let name = authorization::assignment_name(&account, &definition, &principal);
        if let Some(a) = found {
            ctx.note(PlanItem::new(
                Step::Roles,
                "none",
                &a.id,
                format!("'{role}' is assigned"),
            ));
            // This tool names its assignments deterministically: one under that name on this
            // deployment's account is this deployment's.
            let ours = tagged(ctx, keys::STORAGE_ACCOUNT) && a.name.eq_ignore_ascii_case(&name);
            record_found(ctx, key, &a.id, ours)?;
            continue;
        }
        let id = format!("{account}/providers/Microsoft.Authorization/roleAssignments/{name}");
        ctx.note(PlanItem::new(
            Step::Roles,
            "create",
            &id,
            format!("'{role}' is not assigned to the HPC Cache resource provider on the account"),
        ));
        if ctx.dry_run() {
            continue;
        }
        record(ctx, key, &id, true)?;
        match authorization::create_role_assignment(
            &ctx.client,
            &account,
            &definition,
            &principal,
            "ServicePrincipal",
        )
        .await?
        {
            Assigned::Created(a) => record(ctx, key, &a.id, true)?,
            // Someone else's equal assignment appeared meanwhile: it does the job, and is not ours.
            Assigned::AlreadyExists => record(ctx, key, &id, false)?,
        }
    }
    Ok(Done::Finished)
}
