//! A Managed Lustre filesystem: the wanted filesystem in → read → compare → create or PATCH →
//! wait → [`Converged`]. `up --backend amlfs` and `amlfs create` call [`converge`].
//!
//! - Capacity, subnet, SKU, zone and blob integration are fixed at creation: a difference is a
//!   clear error naming the flag, never a doomed PUT.
//! - The subnet is checked with `checkAmlFSSubnets` before the create, so a subnet that will
//!   not do fails in a second instead of after a long-running create.
//! - The create PUT is sent once and followed with the core's poller; `no_wait` returns after
//!   it started, with the operation to resume later.
//! - A filesystem this tool created that ended Failed is deleted and created again (as Azure
//!   advises for a failed create); someone else's is refused.

use serde_json::Value;

use super::Converged;
use crate::azure::amlfs::{self, Filesystem, FilesystemUpdate, NewAmlFilesystem, SubnetCheck};
use crate::azure::ids::same_id;
use crate::azure::lro::{self, Operation, PollPolicy, Until};
use crate::azure::{ArmClient, ResourceId};
use crate::spec::amlfs::{MaintenanceWindow, RootSquash};
use crate::{Error, InvalidInput, Result};

/// The flags a caller names in its errors (`up` and `amlfs create` spell them differently).
#[derive(Debug, Clone, Copy)]
pub struct Flags {
    pub sku: &'static str,
    pub capacity: &'static str,
    pub zone: &'static str,
    pub subnet: &'static str,
    pub hsm: &'static str,
}

impl Flags {
    pub const UP: Flags = Flags {
        sku: "--sku",
        capacity: "--capacity-tib",
        zone: "--zone",
        subnet: "--subnet-name",
        hsm: "--hsm-container",
    };
    pub const AMLFS: Flags = Flags {
        sku: "--sku",
        capacity: "--storage-capacity",
        zone: "--zones",
        subnet: "--filesystem-subnet",
        hsm: "--hsm-container",
    };
}

/// The filesystem wanted.
#[derive(Debug, Clone)]
pub struct Want {
    pub id: ResourceId,
    /// What a create sends.
    pub new: NewAmlFilesystem,
    /// Settings an existing filesystem is brought to (`None`: left as they are).
    pub maintenance_window: Option<MaintenanceWindow>,
    pub root_squash: Option<RootSquash>,
    pub flags: Flags,
}

pub use super::{Decision, LongRunning as Options};

#[derive(Debug)]
pub enum Outcome {
    Ready {
        converged: Converged,
        filesystem: Box<Filesystem>,
    },
    /// Started (or found creating) and not waited for; `operation` when this call started it.
    Pending {
        converged: Converged,
        operation: Option<Operation>,
    },
}

/// The filesystem, or `None` when there is none.
pub async fn read(client: &ArmClient, id: &ResourceId) -> Result<Option<Filesystem>> {
    client.get_optional(id.as_str(), amlfs::API_VERSION).await
}

fn text<'a>(raw: &'a Value, pointer: &str) -> Option<&'a str> {
    raw.pointer(pointer).and_then(Value::as_str)
}

fn eq_text(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| a.eq_ignore_ascii_case(b))
}

/// Compares a found filesystem with the wanted one: an error for create-only differences
/// (naming the flag), else the decision.
pub fn decide(want: &Want, found: Option<&Filesystem>, ours: bool) -> Result<Decision> {
    let Some(f) = found else {
        return Ok(Decision::Create);
    };
    check_create_only(want, f)?;
    let state = f.provisioning_state().unwrap_or("Succeeded");
    if state.eq_ignore_ascii_case("Failed") || state.eq_ignore_ascii_case("Canceled") {
        if ours {
            return Ok(Decision::Recreate);
        }
        return Err(Error::Lookup {
            what: format!("a usable Managed Lustre filesystem {}", want.id.name()),
            reason: format!(
                "filesystem {} exists in state {state} and was not created by this tool; delete it (az-hpccache-ext amlfs delete) or choose another -n",
                want.id
            ),
        });
    }
    if !lro::is_terminal(state) {
        return Ok(Decision::Wait(state.to_owned()));
    }
    let changes = changes(want, f);
    Ok(if changes.is_empty() {
        Decision::None
    } else {
        Decision::Update(changes)
    })
}

/// What a PATCH would change, as sentences; empty when the filesystem is as wanted.
fn changes(want: &Want, f: &Filesystem) -> Vec<String> {
    let raw = &f.raw;
    let mut out = Vec::new();
    if let Some(w) = &want.maintenance_window {
        let day = text(raw, "/properties/maintenanceWindow/dayOfWeek");
        let time = text(raw, "/properties/maintenanceWindow/timeOfDayUTC");
        if !eq_text(day, w.day.name()) || time != Some(w.time_of_day_utc().as_str()) {
            out.push(format!(
                "maintenance window is {},{}; asked {w}",
                day.unwrap_or("unset"),
                time.unwrap_or("unset")
            ));
        }
    }
    if let Some(r) = &want.root_squash {
        let have = squash_of(raw);
        let want = (
            r.mode.name().to_owned(),
            r.squash_uid.map(u64::from),
            r.squash_gid.map(u64::from),
            r.no_squash_nids.clone().unwrap_or_default(),
        );
        if have != want {
            out.push(format!(
                "root squash is {} (uid {:?}, gid {:?}); asked {} (uid {:?}, gid {:?})",
                have.0, have.1, have.2, want.0, want.1, want.2
            ));
        }
    }
    out
}

/// `(mode, squashUID, squashGID, noSquashNidLists)` as the filesystem reports them.
fn squash_of(raw: &Value) -> (String, Option<u64>, Option<u64>, String) {
    let s = raw.pointer("/properties/rootSquashSettings");
    let mode = s
        .and_then(|s| s.get("mode"))
        .and_then(Value::as_str)
        .unwrap_or("None")
        .to_owned();
    let num = |k: &str| s.and_then(|s| s.get(k)).and_then(Value::as_u64);
    let nids = s
        .and_then(|s| s.get("noSquashNidLists"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if mode.eq_ignore_ascii_case("None") {
        // Ids and NID lists mean nothing without squashing.
        return ("None".to_owned(), None, None, String::new());
    }
    (mode, num("squashUID"), num("squashGID"), nids)
}

fn check_create_only(want: &Want, f: &Filesystem) -> Result<()> {
    let raw = &f.raw;
    let flags = want.flags;
    let new = &want.new;
    let mut diffs: Vec<(&str, String)> = Vec::new();
    let sku = text(raw, "/sku/name");
    if sku.is_some() && !eq_text(sku, new.sku.name()) {
        diffs.push((
            flags.sku,
            format!("SKU {} (asked {})", sku.unwrap_or_default(), new.sku.name()),
        ));
    }
    if let Some(tib) = raw
        .pointer("/properties/storageCapacityTiB")
        .and_then(Value::as_f64)
        && tib.round() as u64 != u64::from(new.capacity_tib)
    {
        diffs.push((
            flags.capacity,
            format!("{tib} TiB (asked {})", new.capacity_tib),
        ));
    }
    if let Some(s) = text(raw, "/properties/filesystemSubnet")
        && !same_id(s, &new.subnet_id)
    {
        diffs.push((
            flags.subnet,
            format!("subnet {s} (asked {})", new.subnet_id),
        ));
    }
    let zones: Vec<&str> = raw
        .get("zones")
        .and_then(Value::as_array)
        .map(|z| z.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let want_zone = new.zone.map(|z| z.to_string());
    if zones.first().copied() != want_zone.as_deref() {
        diffs.push((
            flags.zone,
            format!(
                "zone {} (asked {})",
                zones.first().copied().unwrap_or("none"),
                want_zone.as_deref().unwrap_or("none")
            ),
        ));
    }
    let container = text(raw, "/properties/hsm/settings/container");
    let want_container = new.hsm.as_ref().map(|h| h.container_id.as_str());
    let same_hsm = match (container, want_container) {
        (None, None) => true,
        (Some(a), Some(b)) => same_id(a, b),
        _ => false,
    };
    if !same_hsm {
        diffs.push((
            flags.hsm,
            format!(
                "blob integration {} (asked {})",
                container.unwrap_or("none"),
                want_container.unwrap_or("none")
            ),
        ));
    }
    let Some((flag, _)) = diffs.first() else {
        return Ok(());
    };
    let all: Vec<String> = diffs.iter().map(|(_, d)| d.clone()).collect();
    Err(InvalidInput::new(
        *flag,
        format!(
            "Managed Lustre filesystem {} exists with {}, which cannot change after creation",
            want.id.name(),
            all.join(", ")
        ),
    )
    .hint("Pass the existing values, choose another name, or delete the filesystem first (archive its data to blob storage before)")
    .into())
}

/// Asks `checkAmlFSSubnets`; a refusal is bad input naming the subnet flag.
pub async fn check_subnet(client: &ArmClient, want: &Want) -> Result<()> {
    let new = &want.new;
    match amlfs::check_subnet(
        client,
        &new.subnet_id,
        new.sku,
        new.capacity_tib,
        &new.location,
    )
    .await?
    {
        SubnetCheck::Valid => Ok(()),
        SubnetCheck::Invalid { message } => Err(InvalidInput::new(
            want.flags.subnet,
            format!(
                "subnet {} cannot hold a {} TiB {} filesystem: {message}",
                new.subnet_id,
                new.capacity_tib,
                new.sku.name()
            ),
        )
        .hint("Give the filesystem a subnet of its own with enough free addresses (`az-hpccache-ext amlfs get-subnets-size` tells how many)")
        .into()),
    }
}

/// Brings the filesystem to what is wanted.
pub async fn converge(client: &ArmClient, want: &Want, opts: Options<'_>) -> Result<Outcome> {
    let found = read(client, &want.id).await?;
    converge_found(client, want, found, opts).await
}

/// [`converge`] from a filesystem the caller has just read (`None`: there is none).
pub async fn converge_found(
    client: &ArmClient,
    want: &Want,
    found: Option<Filesystem>,
    opts: Options<'_>,
) -> Result<Outcome> {
    let converged = |created| Converged {
        id: want.id.to_string(),
        created,
    };
    match decide(want, found.as_ref(), opts.ours)? {
        Decision::Create => create(client, want, &opts).await,
        Decision::Recreate => {
            amlfs::begin_delete(client, &want.id)
                .await?
                .wait(client, opts.policy)
                .await?;
            create(client, want, &opts).await
        }
        Decision::Wait(_) => {
            if opts.no_wait {
                return Ok(Outcome::Pending {
                    converged: converged(opts.ours),
                    operation: None,
                });
            }
            match opts
                .saved
                .as_ref()
                .filter(|op| same_id(&op.resource_id, want.id.as_str()))
            {
                Some(op) => {
                    lro::resume(client, op, opts.policy, opts.progress).await?;
                }
                None => {
                    lro::wait_for_resource(
                        client,
                        want.id.as_str(),
                        amlfs::API_VERSION,
                        Until::Succeeded,
                        opts.policy,
                        opts.progress,
                    )
                    .await?;
                }
            }
            // It may have ended with settings other than wanted (an earlier run's create).
            let f = amlfs::get(client, &want.id).await?;
            let f = update_if_needed(client, want, f, opts.policy).await?;
            Ok(Outcome::Ready {
                converged: converged(opts.ours),
                filesystem: Box::new(f),
            })
        }
        Decision::Update(_) | Decision::None => {
            let f = found.expect("decide answers Update or None only for a found filesystem");
            let f = update_if_needed(client, want, f, opts.policy).await?;
            Ok(Outcome::Ready {
                converged: converged(false),
                filesystem: Box::new(f),
            })
        }
    }
}

async fn create(client: &ArmClient, want: &Want, opts: &Options<'_>) -> Result<Outcome> {
    check_subnet(client, want).await?;
    (opts.before_create)()?;
    let poller = amlfs::begin_create(client, &want.id, &want.new).await?;
    let converged = Converged {
        id: want.id.to_string(),
        created: true,
    };
    if opts.no_wait && !poller.is_done() {
        return Ok(Outcome::Pending {
            converged,
            operation: Some(poller.operation().clone()),
        });
    }
    poller.wait(client, opts.policy).await?;
    // The operation's result may predate clientInfo: read the filesystem as it is now.
    let f = amlfs::get(client, &want.id).await?;
    Ok(Outcome::Ready {
        converged,
        filesystem: Box::new(f),
    })
}

/// One PATCH with what differs (maintenance window, root squash), waited for; the filesystem
/// as it is afterwards.
async fn update_if_needed(
    client: &ArmClient,
    want: &Want,
    f: Filesystem,
    policy: &PollPolicy,
) -> Result<Filesystem> {
    if changes(want, &f).is_empty() {
        return Ok(f);
    }
    let update = FilesystemUpdate {
        maintenance_window: want.maintenance_window,
        root_squash: want.root_squash.clone(),
        tags: None,
    };
    amlfs::begin_update(client, &want.id, &update)
        .await?
        .wait(client, policy)
        .await?;
    amlfs::get(client, &want.id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::amlfs::{AmlfsSku, SquashMode, Weekday};
    use serde_json::json;

    fn want() -> Want {
        Want {
            id: amlfs::filesystem_id("s", "rg", "fs"),
            new: NewAmlFilesystem {
                location: "eastus".into(),
                sku: AmlfsSku::Premium500,
                capacity_tib: 4,
                subnet_id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/a".into(),
                zone: Some(1),
                maintenance_window: MaintenanceWindow {
                    day: Weekday::Sunday,
                    hour: 2,
                    minute: 0,
                },
                hsm: None,
                root_squash: None,
                tags: Default::default(),
            },
            maintenance_window: None,
            root_squash: None,
            flags: Flags::UP,
        }
    }

    fn found(extra: Value) -> Filesystem {
        let mut raw = json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.StorageCache/amlFilesystems/fs",
            "location": "eastus",
            "sku": {"name": "AMLFS-Durable-Premium-500"},
            "zones": ["1"],
            "properties": {
                "storageCapacityTiB": 4.0,
                "filesystemSubnet": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/a",
                "maintenanceWindow": {"dayOfWeek": "Sunday", "timeOfDayUTC": "02:00"},
                "provisioningState": "Succeeded"
            }
        });
        json_patch(&mut raw, extra);
        serde_json::from_value(raw).expect("a filesystem")
    }

    fn json_patch(a: &mut Value, b: Value) {
        match (a, b) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    json_patch(a.entry(k).or_insert(Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    #[test]
    fn an_equal_filesystem_needs_nothing() {
        assert_eq!(
            decide(&want(), Some(&found(json!({}))), true).unwrap(),
            Decision::None
        );
        assert_eq!(decide(&want(), None, false).unwrap(), Decision::Create);
    }

    #[test]
    fn create_only_differences_name_the_flag() {
        let flag = |extra| match decide(&want(), Some(&found(extra)), true) {
            Err(Error::InvalidInput(i)) => i.flag,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            flag(json!({"properties": {"storageCapacityTiB": 8.0}})),
            "--capacity-tib"
        );
        assert_eq!(
            flag(json!({"sku": {"name": "AMLFS-Durable-Premium-250"}})),
            "--sku"
        );
        assert_eq!(flag(json!({"zones": ["2"]})), "--zone");
        assert_eq!(
            flag(json!({"properties": {"filesystemSubnet": "/x/subnets/b"}})),
            "--subnet-name"
        );
    }

    #[test]
    fn asked_settings_that_differ_are_an_update() {
        let mut w = want();
        w.root_squash = Some(RootSquash {
            mode: SquashMode::RootOnly,
            no_squash_nids: None,
            squash_uid: Some(65534),
            squash_gid: Some(65534),
        });
        assert!(matches!(
            decide(&w, Some(&found(json!({}))), true).unwrap(),
            Decision::Update(_)
        ));
        let same = json!({"properties": {"rootSquashSettings": {"mode": "RootOnly", "squashUID": 65534, "squashGID": 65534}}});
        assert_eq!(
            decide(&w, Some(&found(same)), true).unwrap(),
            Decision::None
        );
        let creating = json!({"properties": {"provisioningState": "Creating"}});
        assert_eq!(
            decide(&want(), Some(&found(creating)), true).unwrap(),
            Decision::Wait("Creating".into())
        );
        let failed = json!({"properties": {"provisioningState": "Failed"}});
        assert_eq!(
            decide(&want(), Some(&found(failed.clone())), true).unwrap(),
            Decision::Recreate
        );
        assert!(decide(&want(), Some(&found(failed)), false).is_err());
    }
}
