//! The storage account and its blob container: the wanted account in → read (and, for a new
//! one, ask whether the name is free) → compare → create → wait → [`Converged`]. `up`'s storage
//! step and `storage account create` / `storage container create` call [`read`], [`decide`],
//! [`converge_found`] and [`container`].
//!
//! - An existing account is used as it is when it fits: StorageV2, the wanted SKU, location and
//!   hierarchical namespace. A difference is bad input naming the caller's flag, never a PUT
//!   that would try to change what Azure fixes at creation (or quietly leave a cache with an
//!   account it cannot use).
//! - Account names are global across Azure: a name held by an account elsewhere (another group
//!   or subscription) is said before any write, naming the flag, instead of a 409 from the PUT.
//! - An existing account still being created is waited for.
//! - The container is made through ARM (no data-plane role needed) when it is missing.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Converged;
use crate::azure::lro::{self, FinalState, Operation, OperationKind};
use crate::azure::storage::{self, BlobContainer, NameAvailability, StorageAccount};
use crate::azure::{ArmClient, Method, ResourceId};
use crate::{Error, InvalidInput, Result};

/// The kind the cache's blob target (and Managed Lustre's blob integration) needs.
pub const KIND: &str = "StorageV2";
pub const DEFAULT_SKU: &str = "Standard_LRS";

/// The flags a caller names in its errors (`up` and `storage account create` spell them
/// differently; `up` has none for the SKU or location, which it derives).
#[derive(Debug, Clone, Copy)]
pub struct Flags {
    pub name: &'static str,
    pub sku: &'static str,
    pub location: &'static str,
}

impl Flags {
    pub const UP: Flags = Flags {
        name: "--storage-account",
        sku: "--storage-account",
        location: "--storage-account",
    };
    /// `up` without `--storage-account`: the name it derives from the deployment.
    pub const UP_DERIVED: Flags = Flags {
        name: "the derived storage account name",
        ..Flags::UP
    };
    pub const ACCOUNT_CREATE: Flags = Flags {
        name: "--name",
        sku: "--sku",
        location: "--location",
    };
}

impl Flags {
    /// The flag that names another account.
    fn remedy(&self) -> &'static str {
        if self.name.starts_with("--") {
            self.name
        } else {
            "--storage-account"
        }
    }
}

/// The account wanted.
#[derive(Debug, Clone)]
pub struct Want {
    pub id: ResourceId,
    /// `None`: an existing account may be anywhere (a new one needs it: [`converge_found`]
    /// refuses to create without).
    pub location: Option<String>,
    pub sku: String,
    /// `Some(false)`: no hierarchical namespace (an HPC Cache blob target cannot use one);
    /// `None`: either.
    pub hns: Option<bool>,
    /// Tags of a new account (an existing account's are left as they are).
    pub tags: BTreeMap<String, String>,
    pub flags: Flags,
}

/// What was read: the account, or for a missing one whether its name is free.
#[derive(Debug, Clone)]
pub struct Found {
    pub account: Option<StorageAccount>,
    pub name: Option<NameAvailability>,
}

/// What converging would do, from what was read.
#[derive(Debug, Clone)]
pub enum Decision {
    Create,
    /// It exists and fits; `wait` while it is not yet Succeeded.
    Keep {
        account: Box<StorageAccount>,
        wait: bool,
    },
}

impl Decision {
    /// The plan's verb.
    pub fn action(&self) -> &'static str {
        match self {
            Decision::Create => "create",
            Decision::Keep { .. } => "none",
        }
    }
}

/// The account, or whether its name is free when there is none.
pub async fn read(client: &ArmClient, want: &Want) -> Result<Found> {
    let account = storage::get_account(client, &want.id).await?;
    let name = match account {
        Some(_) => None,
        None => Some(storage::check_name_availability(client, want.id.name()).await?),
    };
    Ok(Found { account, name })
}

/// "East US" and "eastus" are one location.
fn same_location(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.replace(' ', "").to_ascii_lowercase();
    norm(a) == norm(b)
}

fn sku_of(a: &StorageAccount) -> Option<&str> {
    a.extra
        .get("sku")
        .and_then(|s| s.get("name"))
        .and_then(Value::as_str)
}

fn hns_of(a: &StorageAccount) -> bool {
    a.properties
        .extra
        .get("isHnsEnabled")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Compares what was read with the wanted account: bad input naming the flag when the name
/// is taken elsewhere or the account does not fit, else the decision.
pub fn decide(want: &Want, found: &Found) -> Result<Decision> {
    let name = want.id.name();
    let Some(a) = &found.account else {
        if let Some(check) = found.name.as_ref().filter(|c| !c.name_available) {
            return Err(InvalidInput::new(
                want.flags.name,
                format!(
                    "storage account name '{name}' is not available: {}",
                    check
                        .message
                        .clone()
                        .or(check.reason.clone())
                        .unwrap_or_else(|| "it is taken by another account".to_owned())
                ),
            )
            .hint(format!(
                "Account names are global across Azure; pass a free one with {}",
                want.flags.remedy()
            ))
            .into());
        }
        return Ok(Decision::Create);
    };
    let misfit = |flag: &str, what: String| -> Error {
        InvalidInput::new(
            flag,
            format!("storage account {name} already exists with {what}"),
        )
        .hint(format!(
            "The cache needs a {KIND} account{}; pass another {}, or delete this one",
            want.location
                .as_deref()
                .map(|l| format!(" in {l}"))
                .unwrap_or_default(),
            want.flags.remedy(),
        ))
        .into()
    };
    let kind = a.kind.as_deref().unwrap_or(KIND);
    if !kind.eq_ignore_ascii_case(KIND) {
        return Err(misfit(want.flags.name, format!("kind {kind}, not {KIND}")));
    }
    if let Some(sku) = sku_of(a)
        && !sku.eq_ignore_ascii_case(&want.sku)
    {
        return Err(misfit(
            want.flags.sku,
            format!("SKU {sku}, not {}", want.sku),
        ));
    }
    if let Some(l) = &want.location
        && !a.location.is_empty()
        && !same_location(&a.location, l)
    {
        return Err(misfit(
            want.flags.location,
            format!("location {}, not {l}", a.location),
        ));
    }
    if let Some(hns) = want.hns
        && hns_of(a) != hns
    {
        let what = if hns_of(a) {
            "a hierarchical namespace (Data Lake Storage Gen2), which a blob storage target cannot use"
        } else {
            "no hierarchical namespace"
        };
        return Err(misfit(want.flags.name, what.to_owned()));
    }
    let wait = super::settling(a.properties.provisioning_state.as_deref());
    Ok(Decision::Keep {
        account: Box::new(a.clone()),
        wait,
    })
}

pub use super::Options;

pub type Outcome = super::Outcome<StorageAccount>;

/// What a create sends: [`storage::account_body`] with the wanted SKU.
pub fn create_body(want: &Want, location: &str) -> Value {
    let mut body = storage::account_body(location, &want.tags);
    body["sku"] = json!({ "name": want.sku });
    body
}

/// Brings the account to what is wanted, from what [`read`] found.
pub async fn converge_found(
    client: &ArmClient,
    want: &Want,
    found: &Found,
    opts: Options<'_>,
) -> Result<Outcome> {
    let id = want.id.as_str();
    match decide(want, found)? {
        Decision::Keep { account, wait } => {
            let account =
                super::settled(client, id, storage::API_VERSION, *account, wait, &opts).await?;
            Ok(Outcome::new(account.id.clone(), false, account))
        }
        Decision::Create => {
            let location = want.location.as_deref().ok_or_else(|| {
                InvalidInput::new(
                    want.flags.location,
                    format!(
                        "storage account {} does not exist and needs a location",
                        want.id.name()
                    ),
                )
            })?;
            (opts.before_create)()?;
            let op = Operation::new(
                "storage account creation",
                id,
                storage::API_VERSION,
                OperationKind::CreateOrUpdate,
                FinalState::OriginalUri,
            );
            let req = lro::request_for(&op, Method::Put, Some(create_body(want, location)));
            let body = lro::start(client, req, op)
                .await?
                .wait(client, opts.policy)
                .await?;
            let account = match body.and_then(|v| serde_json::from_value(v).ok()) {
                Some(a) => a,
                None => storage::get_account(client, &want.id)
                    .await?
                    .ok_or_else(|| Error::Lookup {
                        what: format!("storage account {id}"),
                        reason: "it vanished after its creation".to_owned(),
                    })?,
            };
            Ok(Outcome::new(id.to_owned(), true, account))
        }
    }
}

/// Brings the account to what is wanted.
pub async fn converge(client: &ArmClient, want: &Want, opts: Options<'_>) -> Result<Outcome> {
    let found = read(client, want).await?;
    converge_found(client, want, &found, opts).await
}

/// The container `name` in `account`: created when missing (`before_create` runs right before
/// the PUT), else left as it is.
pub async fn container(
    client: &ArmClient,
    account: &ResourceId,
    name: &str,
    before_create: &(dyn Fn() -> Result<()> + Sync),
) -> Result<Converged> {
    let found = storage::get_container(client, account, name).await?;
    container_found(client, account, name, found, before_create).await
}

/// [`container`] from a read the caller has just made.
pub async fn container_found(
    client: &ArmClient,
    account: &ResourceId,
    name: &str,
    found: Option<BlobContainer>,
    before_create: &(dyn Fn() -> Result<()> + Sync),
) -> Result<Converged> {
    if let Some(c) = found {
        return Ok(Converged {
            id: c.id,
            created: false,
        });
    }
    before_create()?;
    storage::put_container(client, account, name).await?;
    Ok(Converged {
        id: storage::container_id(account, name).to_string(),
        created: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want() -> Want {
        Want {
            id: storage::account_id("s", "rg", "acct1"),
            location: Some("eastus".into()),
            sku: DEFAULT_SKU.into(),
            hns: Some(false),
            tags: BTreeMap::new(),
            flags: Flags::ACCOUNT_CREATE,
        }
    }

    fn account(raw: Value) -> Found {
        let mut base = json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct1",
            "name": "acct1", "location": "eastus", "kind": "StorageV2",
            "sku": {"name": "Standard_LRS"},
            "properties": {"provisioningState": "Succeeded", "isHnsEnabled": false}
        });
        json_merge(&mut base, raw);
        Found {
            account: Some(serde_json::from_value(base).unwrap()),
            name: None,
        }
    }

    fn json_merge(a: &mut Value, b: Value) {
        match (a, b) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    json_merge(a.entry(k).or_insert(Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    fn flag(r: Result<Decision>) -> String {
        match r {
            Err(Error::InvalidInput(i)) => i.flag,
            other => panic!("{other:?}"),
        }
    }

    fn free(available: bool) -> Found {
        Found {
            account: None,
            name: Some(NameAvailability {
                name_available: available,
                reason: (!available).then(|| "AlreadyExists".to_owned()),
                message: None,
            }),
        }
    }

    #[test]
    fn a_missing_account_with_a_free_name_is_created() {
        assert!(matches!(decide(&want(), &free(true)), Ok(Decision::Create)));
    }

    #[test]
    fn a_name_taken_elsewhere_names_the_callers_name_flag() {
        assert_eq!(flag(decide(&want(), &free(false))), "--name");
        let mut up = want();
        up.flags = Flags::UP;
        assert_eq!(flag(decide(&up, &free(false))), "--storage-account");
    }

    #[test]
    fn an_existing_account_that_fits_needs_nothing_and_one_still_creating_is_waited_for() {
        // Location as the portal spells it, SKU in another case.
        let found = account(json!({"location": "East US", "sku": {"name": "standard_lrs"}}));
        match decide(&want(), &found).unwrap() {
            Decision::Keep { wait, .. } => assert!(!wait),
            other => panic!("{other:?}"),
        }
        let found = account(json!({"properties": {"provisioningState": "Creating"}}));
        match decide(&want(), &found).unwrap() {
            d @ Decision::Keep { wait: true, .. } => assert_eq!(d.action(), "none"),
            other => panic!("{other:?}"),
        }
        // Without a location asked (no -l), any location will do.
        let mut anywhere = want();
        anywhere.location = None;
        assert!(decide(&anywhere, &account(json!({"location": "westus"}))).is_ok());
    }

    #[test]
    fn an_existing_account_that_does_not_fit_names_the_flag() {
        let w = want();
        let cases = [
            (json!({"kind": "BlobStorage"}), "--name"),
            (json!({"sku": {"name": "Premium_LRS"}}), "--sku"),
            (json!({"location": "westus"}), "--location"),
            (json!({"properties": {"isHnsEnabled": true}}), "--name"),
        ];
        for (raw, expected) in cases {
            assert_eq!(flag(decide(&w, &account(raw.clone()))), expected, "{raw}");
        }
        // `up` has one flag for all of it.
        let mut up = want();
        up.flags = Flags::UP;
        assert_eq!(
            flag(decide(
                &up,
                &account(json!({"sku": {"name": "Premium_LRS"}}))
            )),
            "--storage-account"
        );
        // Managed Lustre takes either namespace.
        let mut either = want();
        either.hns = None;
        assert!(
            decide(
                &either,
                &account(json!({"properties": {"isHnsEnabled": true}}))
            )
            .is_ok()
        );
    }
}
