//! Azure Managed Lustre file systems (`Microsoft.StorageCache/amlFilesystems`) and their import
//! jobs, at api-version 2024-03-01 (amlfilesystem.json, the version of the azure_mgmt_storagecache
//! crate).
//!
//! Request and response bodies are the crate's generated models ([`models`], feature
//! `package-2024-03`); they are sent through [`ArmClient`] and followed with the core's
//! [`Poller`], never with the crate's operations. How each operation completes, per the spec:
//! - create (PUT) and update (PATCH): long-running, `final-state-via: azure-async-operation`;
//!   the poller reads the resource itself at the end;
//! - delete: long-running, `final-state-via: location`; import jobs likewise;
//! - archive, cancelArchive, getRequiredAmlFSSubnetsSize, checkAmlFSSubnets: plain POSTs that
//!   answer 200; checkAmlFSSubnets answers 400 with `{filesystemSubnet: {status, message}}`
//!   for a subnet that will not do.
//!
//! Responses keep their raw JSON beside the model ([`Typed`]): the model drops what it does not
//! know (fields of newer api-versions, the keys of `identity.userAssignedIdentities`) and adds
//! `null`s of its own, and the binaries print the resource as `az amlfs show` does.

use std::collections::BTreeMap;

use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

pub use azure_mgmt_storagecache::package_2024_03::models;
use models::aml_filesystem::properties as fs_props;
use models::aml_filesystem_root_squash_settings::Mode;
use models::import_job::properties::ConflictResolutionMode;

use super::client::{ArmClient, ArmRequest};
use super::ids::ResourceId;
use super::lro::{self, FinalState, Operation, OperationKind, Poller};
use super::transport::Method;
use crate::Result;
use crate::spec::amlfs::{AmlfsSku, ConflictMode, MaintenanceWindow, RootSquash, SquashMode};

pub const API_VERSION: &str = "2024-03-01";
const NAMESPACE: &str = "Microsoft.StorageCache";
const TYPE: &str = "amlFilesystems";

/// A response read into a generated model, with the JSON it came from.
#[derive(Debug, Clone)]
pub struct Typed<T> {
    pub model: T,
    /// The body as the service sent it; printed output is made from it.
    pub raw: Value,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Typed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw = Value::deserialize(d)?;
        let model = T::deserialize(&raw).map_err(D::Error::custom)?;
        Ok(Self { model, raw })
    }
}

/// Serializes as the raw JSON, so nothing the service sent is lost.
impl<T> Serialize for Typed<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}

/// A Managed Lustre file system as ARM returns it.
pub type Filesystem = Typed<models::AmlFilesystem>;
/// An import job as ARM returns it.
pub type ImportJob = Typed<models::ImportJob>;

impl Filesystem {
    /// The resource as `az amlfs show` prints it: `properties` flattened into the top level and
    /// `resourceGroup` added; every field the service sent is kept.
    pub fn printable(&self) -> Value {
        printable(&self.raw, &[])
    }

    /// `properties.provisioningState` as sent, including states the model does not name.
    pub fn provisioning_state(&self) -> Option<&str> {
        lro::provisioning_state(&self.raw)
    }

    /// The MGS address clients mount (`properties.clientInfo.mgsAddress`).
    pub fn mgs_address(&self) -> Option<&str> {
        self.model
            .properties
            .as_ref()?
            .client_info
            .as_ref()?
            .mgs_address
            .as_deref()
    }
}

impl ImportJob {
    /// The job as `az amlfs import-job show` prints it: `properties` and its `status` (both
    /// `x-ms-client-flatten`) flattened into the top level, `resourceGroup` added.
    pub fn printable(&self) -> Value {
        printable(&self.raw, &["status"])
    }
}

/// Flattens `properties` (and the named objects inside it) into the top level, as az does for
/// `x-ms-client-flatten`, and adds `resourceGroup` from the id. A key already at the top wins.
fn printable(raw: &Value, nested: &[&str]) -> Value {
    let Value::Object(top) = raw else {
        return raw.clone();
    };
    let mut out = top.clone();
    match out.remove("properties") {
        Some(Value::Object(mut props)) => {
            for key in nested {
                if let Some(Value::Object(inner)) = props.get(*key).cloned() {
                    props.remove(*key);
                    for (k, v) in inner {
                        props.entry(k).or_insert(v);
                    }
                }
            }
            for (k, v) in props {
                out.entry(k).or_insert(v);
            }
        }
        Some(other) => {
            out.insert("properties".to_owned(), other);
        }
        None => {}
    }
    let has_group = out.keys().any(|k| k.eq_ignore_ascii_case("resourceGroup"));
    let group = out
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| ResourceId::parse(id).ok())
        .and_then(|id| id.resource_group_name().map(str::to_owned));
    if let (false, Some(rg)) = (has_group, group) {
        out.insert("resourceGroup".to_owned(), Value::String(rg));
    }
    Value::Object(out)
}

/// What `create` needs; build it from the [`crate::spec::amlfs`] validators.
#[derive(Debug, Clone)]
pub struct NewAmlFilesystem {
    pub location: String,
    pub sku: AmlfsSku,
    pub capacity_tib: u32,
    /// The ARM id of the file system's subnet.
    pub subnet_id: String,
    /// The availability zone; `None` in a region without zones (the API takes at most one).
    pub zone: Option<u8>,
    pub maintenance_window: MaintenanceWindow,
    pub hsm: Option<Hsm>,
    pub root_squash: Option<RootSquash>,
    pub tags: BTreeMap<String, String>,
}

/// Blob integration: the containers data is imported from and archived to, and logged to.
#[derive(Debug, Clone)]
pub struct Hsm {
    /// ARM id of the data container (`.../blobServices/default/containers/{name}`).
    pub container_id: String,
    /// ARM id of the logging container, in the same storage account.
    pub logging_container_id: String,
    /// Blob prefixes imported at creation; empty for the service's default (`/`, everything).
    pub import_prefixes: Vec<String>,
}

/// What `update` changes; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct FilesystemUpdate {
    pub maintenance_window: Option<MaintenanceWindow>,
    pub root_squash: Option<RootSquash>,
    /// Replaces every tag; `Some` of an empty map removes them all.
    pub tags: Option<BTreeMap<String, String>>,
}

/// What an import job needs.
#[derive(Debug, Clone)]
pub struct NewImportJob {
    /// The file system's location (an import job is a tracked resource of its own).
    pub location: String,
    /// Blob prefixes to import; empty for the service's default (`/`).
    pub import_prefixes: Vec<String>,
    pub conflict_mode: ConflictMode,
    /// Errors tolerated before the job fails (`-1`: no limit); `None` for the service's 0.
    pub maximum_errors: Option<i32>,
    pub tags: BTreeMap<String, String>,
}

/// The answer of checkAmlFSSubnets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubnetCheck {
    Valid,
    /// The subnet will not do; the service's reason.
    Invalid {
        message: String,
    },
}

pub fn filesystem_id(sub: &str, rg: &str, name: &str) -> ResourceId {
    ResourceId::resource(sub, rg, NAMESPACE, TYPE, name)
}

pub fn import_job_id(filesystem: &ResourceId, name: &str) -> ResourceId {
    filesystem.child("importJobs", name)
}

/// A generated model as a request body. Their serializers are plain derives over strings,
/// numbers and string-keyed maps, which cannot fail.
fn to_body<T: Serialize>(model: &T) -> Value {
    serde_json::to_value(model).expect("generated models serialize to JSON")
}

fn tags_value(tags: &BTreeMap<String, String>) -> Value {
    Value::Object(
        tags.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<String, Value>>(),
    )
}

fn sku_name(sku: AmlfsSku) -> models::SkuName {
    models::SkuName {
        name: Some(sku.name().to_owned()),
    }
}

/// The generated day enums (one for create, one for update) spell days as the API does.
fn day_of_week<D: DeserializeOwned>(w: &MaintenanceWindow) -> D {
    serde_json::from_value(Value::String(w.day.name().to_owned()))
        .expect("the generated day-of-week enums name the seven days as the API does")
}

fn squash_settings(r: &RootSquash) -> models::AmlFilesystemRootSquashSettings {
    models::AmlFilesystemRootSquashSettings {
        mode: Some(match r.mode {
            SquashMode::None => Mode::None,
            SquashMode::RootOnly => Mode::RootOnly,
            SquashMode::All => Mode::All,
        }),
        no_squash_nid_lists: r.no_squash_nids.clone(),
        squash_uid: r.squash_uid.map(i64::from),
        squash_gid: r.squash_gid.map(i64::from),
        status: None,
    }
}

/// The create body as the generated model.
pub fn filesystem_model(new: &NewAmlFilesystem) -> models::AmlFilesystem {
    let mut tracked = models::TrackedResource::new(new.location.clone());
    tracked.tags = (!new.tags.is_empty()).then(|| tags_value(&new.tags));
    let window = fs_props::MaintenanceWindow {
        day_of_week: Some(day_of_week(&new.maintenance_window)),
        time_of_day_utc: Some(new.maintenance_window.time_of_day_utc()),
    };
    // Exact: the validators keep capacities within the integers an f32 holds.
    let mut props = models::aml_filesystem::Properties::new(
        new.capacity_tib as f32,
        new.subnet_id.clone(),
        window,
    );
    props.hsm = new.hsm.as_ref().map(|h| fs_props::Hsm {
        settings: Some(models::AmlFilesystemHsmSettings {
            container: h.container_id.clone(),
            logging_container: h.logging_container_id.clone(),
            import_prefix: None,
            import_prefixes_initial: h.import_prefixes.clone(),
        }),
        archive_status: Vec::new(),
    });
    props.root_squash_settings = new.root_squash.as_ref().map(squash_settings);
    let mut fs = models::AmlFilesystem::new(tracked);
    fs.sku = Some(sku_name(new.sku));
    fs.zones = new.zone.map(|z| vec![z.to_string()]).unwrap_or_default();
    fs.properties = Some(props);
    fs
}

/// The PUT body of a new file system.
pub fn create_body(new: &NewAmlFilesystem) -> Value {
    to_body(&filesystem_model(new))
}

/// The PATCH body of an update.
pub fn update_body(update: &FilesystemUpdate) -> Value {
    let window = update.maintenance_window.as_ref().map(|w| {
        models::aml_filesystem_update::properties::MaintenanceWindow {
            day_of_week: Some(day_of_week(w)),
            time_of_day_utc: Some(w.time_of_day_utc()),
        }
    });
    let root_squash = update.root_squash.as_ref().map(squash_settings);
    let properties = (window.is_some() || root_squash.is_some()).then_some(
        models::aml_filesystem_update::Properties {
            encryption_settings: None,
            maintenance_window: window,
            root_squash_settings: root_squash,
        },
    );
    to_body(&models::AmlFilesystemUpdate {
        tags: update.tags.as_ref().map(tags_value),
        properties,
    })
}

/// The body of an archive: the path below the root to write back (`/` for everything).
pub fn archive_body(filesystem_path: &str) -> Value {
    to_body(&models::AmlFilesystemArchiveInfo {
        filesystem_path: Some(filesystem_path.to_owned()),
    })
}

pub fn subnet_size_body(sku: AmlfsSku, capacity_tib: u32) -> Value {
    to_body(&models::RequiredAmlFilesystemSubnetsSizeInfo {
        storage_capacity_ti_b: Some(capacity_tib as f32),
        sku: Some(sku_name(sku)),
    })
}

pub fn check_subnet_body(
    subnet_id: &str,
    sku: AmlfsSku,
    capacity_tib: u32,
    location: &str,
) -> Value {
    to_body(&models::AmlFilesystemSubnetInfo {
        filesystem_subnet: Some(subnet_id.to_owned()),
        storage_capacity_ti_b: Some(capacity_tib as f32),
        sku: Some(sku_name(sku)),
        location: Some(location.to_owned()),
    })
}

/// The PUT body of an import job.
pub fn import_job_body(new: &NewImportJob) -> Value {
    let mut tracked = models::TrackedResource::new(new.location.clone());
    tracked.tags = (!new.tags.is_empty()).then(|| tags_value(&new.tags));
    let mut job = models::ImportJob::new(tracked);
    job.properties = Some(models::import_job::Properties {
        import_prefixes: new.import_prefixes.clone(),
        conflict_resolution_mode: Some(match new.conflict_mode {
            ConflictMode::Fail => ConflictResolutionMode::Fail,
            ConflictMode::Skip => ConflictResolutionMode::Skip,
            ConflictMode::OverwriteIfDirty => ConflictResolutionMode::OverwriteIfDirty,
            ConflictMode::OverwriteAlways => ConflictResolutionMode::OverwriteAlways,
        }),
        maximum_errors: new.maximum_errors,
        ..Default::default()
    });
    to_body(&job)
}

fn operation(
    label: &str,
    id: &ResourceId,
    kind: OperationKind,
    final_state: FinalState,
) -> Operation {
    Operation::new(label, id.as_str(), API_VERSION, kind, final_state)
}

/// Starts creating a file system (10 to 20 minutes and more in Azure). The PUT is sent once;
/// follow the poller.
pub async fn begin_create(
    client: &ArmClient,
    filesystem: &ResourceId,
    new: &NewAmlFilesystem,
) -> Result<Poller> {
    let op = operation(
        "Managed Lustre creation",
        filesystem,
        OperationKind::CreateOrUpdate,
        FinalState::AzureAsyncOperation,
    );
    let req = lro::request_for(&op, Method::Put, Some(create_body(new)));
    lro::start(client, req, op).await
}

pub async fn get(client: &ArmClient, filesystem: &ResourceId) -> Result<Filesystem> {
    client.get_json(filesystem.as_str(), API_VERSION).await
}

/// File systems of a resource group, or of the subscription when `resource_group` is `None`.
pub async fn list(client: &ArmClient, resource_group: Option<&str>) -> Result<Vec<Filesystem>> {
    let scope = match resource_group {
        Some(rg) => ResourceId::resource_group(client.subscription(), rg),
        None => ResourceId::subscription(client.subscription()),
    };
    client
        .list(
            ArmRequest::get(format!("{scope}/providers/{NAMESPACE}/{TYPE}"))
                .api_version(API_VERSION),
        )
        .await
}

/// Starts changing the maintenance window, root squash or tags (capacity and subnet are fixed
/// at creation). A PATCH is not repeated after an ambiguous failure: check the file system.
pub async fn begin_update(
    client: &ArmClient,
    filesystem: &ResourceId,
    update: &FilesystemUpdate,
) -> Result<Poller> {
    let op = operation(
        "Managed Lustre update",
        filesystem,
        OperationKind::CreateOrUpdate,
        FinalState::AzureAsyncOperation,
    );
    let req = lro::request_for(&op, Method::Patch, Some(update_body(update)));
    lro::start(client, req, op).await
}

/// Starts deleting a file system. Data not archived to blob storage is lost: [`archive`] first.
pub async fn begin_delete(client: &ArmClient, filesystem: &ResourceId) -> Result<Poller> {
    let op = operation(
        "Managed Lustre deletion",
        filesystem,
        OperationKind::Delete,
        FinalState::Location,
    );
    lro::start(client, lro::request_for(&op, Method::Delete, None), op).await
}

/// Asks the file system to write changed files below `filesystem_path` back to its blob
/// container. The service answers at once; progress shows in `properties.hsm.archiveStatus`.
/// Repeating an archive only archives again, so it may be retried.
pub async fn archive(
    client: &ArmClient,
    filesystem: &ResourceId,
    filesystem_path: &str,
) -> Result<()> {
    client
        .send(
            ArmRequest::new(Method::Post, format!("{filesystem}/archive"))
                .api_version(API_VERSION)
                .json(archive_body(filesystem_path))
                .retry_non_idempotent(),
        )
        .await
        .map(drop)
}

/// Cancels a running archive.
pub async fn cancel_archive(client: &ArmClient, filesystem: &ResourceId) -> Result<()> {
    client
        .send(
            ArmRequest::new(Method::Post, format!("{filesystem}/cancelArchive"))
                .api_version(API_VERSION)
                .retry_non_idempotent(),
        )
        .await
        .map(drop)
}

fn subscription_action(client: &ArmClient, action: &str) -> ArmRequest {
    ArmRequest::new(
        Method::Post,
        format!(
            "/subscriptions/{}/providers/{NAMESPACE}/{action}",
            client.subscription()
        ),
    )
    .api_version(API_VERSION)
    // Read-only questions: safe to ask again.
    .retry_non_idempotent()
}

/// The number of usable subnet addresses a file system of this SKU and capacity needs.
pub async fn required_subnet_size(
    client: &ArmClient,
    sku: AmlfsSku,
    capacity_tib: u32,
) -> Result<u32> {
    let resp = client
        .send(
            subscription_action(client, "getRequiredAmlFSSubnetsSize")
                .json(subnet_size_body(sku, capacity_tib)),
        )
        .await?;
    let size: models::RequiredAmlFilesystemSubnetsSize = resp.json()?;
    size.filesystem_subnet_size
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            resp.unexpected("no filesystemSubnetSize (a count of addresses) in the answer")
        })
}

/// Asks the service whether `subnet_id` can hold a file system of this SKU and capacity in
/// `location`. A refusal is [`SubnetCheck::Invalid`] with the service's reason (from its
/// `filesystemSubnet` answer, or an ARM error body); other failures are errors.
pub async fn check_subnet(
    client: &ArmClient,
    subnet_id: &str,
    sku: AmlfsSku,
    capacity_tib: u32,
    location: &str,
) -> Result<SubnetCheck> {
    let resp = client
        .send(
            subscription_action(client, "checkAmlFSSubnets")
                .json(check_subnet_body(subnet_id, sku, capacity_tib, location))
                .accept_status(400),
        )
        .await?;
    if resp.status != 400 {
        return Ok(SubnetCheck::Valid);
    }
    let body = resp.value().unwrap_or(Value::Null);
    let typed = models::AmlFilesystemCheckSubnetError::deserialize(&body).ok();
    let message = typed
        .and_then(|e| e.filesystem_subnet)
        .and_then(|s| s.message)
        .or_else(|| text_at(&body, "/filesystemSubnet/errorMessage"))
        .or_else(|| text_at(&body, "/error/message"))
        .filter(|m| !m.trim().is_empty());
    match message {
        Some(message) => Ok(SubnetCheck::Invalid { message }),
        None => Err(resp.arm_error()),
    }
}

fn text_at(body: &Value, pointer: &str) -> Option<String> {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Starts an import job (blobs to the file system's namespace). The PUT is sent once.
pub async fn begin_put_import_job(
    client: &ArmClient,
    job: &ResourceId,
    new: &NewImportJob,
) -> Result<Poller> {
    let op = operation(
        "import job creation",
        job,
        OperationKind::CreateOrUpdate,
        FinalState::AzureAsyncOperation,
    );
    let req = lro::request_for(&op, Method::Put, Some(import_job_body(new)));
    lro::start(client, req, op).await
}

pub async fn get_import_job(client: &ArmClient, job: &ResourceId) -> Result<ImportJob> {
    client.get_json(job.as_str(), API_VERSION).await
}

pub async fn list_import_jobs(
    client: &ArmClient,
    filesystem: &ResourceId,
) -> Result<Vec<ImportJob>> {
    client
        .list(ArmRequest::get(format!("{filesystem}/importJobs")).api_version(API_VERSION))
        .await
}

pub async fn begin_delete_import_job(client: &ArmClient, job: &ResourceId) -> Result<Poller> {
    let op = operation(
        "import job deletion",
        job,
        OperationKind::Delete,
        FinalState::Location,
    );
    lro::start(client, lro::request_for(&op, Method::Delete, None), op).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::amlfs::Weekday;
    use serde_json::json;

    fn window(day: Weekday) -> MaintenanceWindow {
        MaintenanceWindow {
            day,
            hour: 2,
            minute: 5,
        }
    }

    #[test]
    fn every_day_maps_to_both_generated_day_enums() {
        for day in Weekday::ALL {
            let w = window(day);
            let create: fs_props::maintenance_window::DayOfWeek = day_of_week(&w);
            let update: models::aml_filesystem_update::properties::maintenance_window::DayOfWeek =
                day_of_week(&w);
            assert_eq!(serde_json::to_value(create).unwrap(), json!(day.name()));
            assert_eq!(serde_json::to_value(update).unwrap(), json!(day.name()));
        }
    }

    #[test]
    fn printable_flattens_properties_and_nested_status() {
        let raw = json!({
            "id": "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.StorageCache/amlFilesystems/fs1/importJobs/j1",
            "name": "j1",
            "properties": {"importPrefixes": ["/"], "status": {"state": "InProgress", "name": "shadowed"}}
        });
        let p = printable(&raw, &["status"]);
        assert_eq!(p["state"], "InProgress");
        assert_eq!(p["importPrefixes"], json!(["/"]));
        assert_eq!(p["name"], "j1");
        assert_eq!(p["resourceGroup"], "rg1");
        assert!(p.get("properties").is_none() && p.get("status").is_none());
        // A resource group the service already names is left alone.
        let p = printable(
            &json!({"id": "/subscriptions/s/resourceGroups/rg1", "resourcegroup": "RG1"}),
            &[],
        );
        assert!(p.get("resourceGroup").is_none());
    }
}
