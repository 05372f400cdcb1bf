//! `up --backend amlfs`: the Managed Lustre flags, validated before any request, and the
//! plan's shape for this backend (AMLFS.md, "Azure side").
//!
//! The plan reuses the HPC Cache steps for the cluster, the provider, the storage account and
//! the roles; the subnet is sized from `getRequiredAmlFSSubnetsSize`, and the filesystem step
//! replaces the cache, storage target and DNS steps (clients mount the MGS address: no DNS).

use super::plan::Step;
use crate::InvalidInput;
use crate::spec::amlfs::{
    self, AmlfsSku, MaintenanceWindow, NO_SQUASH_NIDS_FLAG, ROOT_SQUASH_MODE_FLAG, RootSquash,
    SQUASH_GID_FLAG, SQUASH_UID_FLAG, SquashMode,
};
use crate::spec::{cidr, names};

/// The SKU of a new filesystem when none is given: the 500 MB/s-per-TiB tier sells the
/// smallest filesystem (4 TiB), so it is the cheapest one that works; a larger, slower tier
/// starts at 8, 16 or 48 TiB.
pub const DEFAULT_SKU: AmlfsSku = AmlfsSku::Premium500;
/// The zone when none is given; `--zone none` for a region without zones.
pub const DEFAULT_ZONE: &str = "1";
/// The maintenance window a new filesystem gets when none is given (the API requires one).
pub const DEFAULT_MAINTENANCE_WINDOW: &str = "Sunday,02:00";
/// The HSM logging container's name when `--hsm-logging-container` is not given.
pub const DEFAULT_LOGGING_CONTAINER: &str = "amlfs-logging";
/// The Lustre filesystem name Azure gives every Managed Lustre filesystem.
pub const FILESYSTEM_NAME: &str = "lustrefs";

/// The Managed Lustre flags of `up`, as typed.
#[derive(Debug, Clone, Default)]
pub struct AmlfsArgs {
    pub sku: Option<String>,
    pub capacity_tib: Option<String>,
    pub zone: Option<String>,
    pub maintenance_window: Option<String>,
    pub hsm_container: Option<String>,
    pub hsm_logging_container: Option<String>,
    pub root_squash_mode: Option<String>,
    pub squash_uid: Option<String>,
    pub squash_gid: Option<String>,
    pub no_squash_nids: Option<String>,
    /// `--subnet-size`; `None` sizes a new subnet from `getRequiredAmlFSSubnetsSize`.
    pub subnet_size: Option<String>,
}

/// Blob integration: two containers of the deployment's storage account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsmSpec {
    pub container: String,
    pub logging_container: String,
}

/// The Managed Lustre part of a validated `up`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmlfsSpec {
    pub sku: AmlfsSku,
    pub capacity_tib: u32,
    /// `None`: a region without availability zones (`--zone none`).
    pub zone: Option<u8>,
    /// As given; `None` gives a new filesystem [`DEFAULT_MAINTENANCE_WINDOW`] and leaves an
    /// existing one's as it is.
    pub maintenance_window: Option<MaintenanceWindow>,
    pub hsm: Option<HsmSpec>,
    /// As given; `None` creates without squash settings (Azure's default, `None`) and leaves an
    /// existing filesystem's as they are.
    pub root_squash: Option<RootSquash>,
    /// A new subnet's prefix length as given; `None`: sized from what the filesystem needs.
    pub subnet_size: Option<u8>,
}

impl AmlfsSpec {
    pub fn from_args(a: &AmlfsArgs) -> Result<Self, InvalidInput> {
        let sku = match &a.sku {
            Some(s) => amlfs::sku("--sku", s)?,
            None => DEFAULT_SKU,
        };
        let capacity_tib = match &a.capacity_tib {
            Some(c) => amlfs::capacity_tib("--capacity-tib", sku, c)?,
            None => sku.capacity_step_tib(),
        };
        let zone = amlfs::zone("--zone", a.zone.as_deref().unwrap_or(DEFAULT_ZONE))?;
        let maintenance_window = a
            .maintenance_window
            .as_deref()
            .map(|w| amlfs::maintenance_window("--maintenance-window", w))
            .transpose()?;
        let hsm = match (&a.hsm_container, &a.hsm_logging_container) {
            (Some(data), logging) => {
                let (container, logging_container) = amlfs::hsm_containers(
                    ("--hsm-container", data),
                    (
                        "--hsm-logging-container",
                        logging.as_deref().unwrap_or(DEFAULT_LOGGING_CONTAINER),
                    ),
                )?;
                Some(HsmSpec {
                    container,
                    logging_container,
                })
            }
            (None, Some(_)) => {
                return Err(InvalidInput::new(
                    "--hsm-logging-container",
                    "needs --hsm-container: without blob integration there is nothing to log",
                )
                .hint("Add --hsm-container NAME, or leave --hsm-logging-container out"));
            }
            (None, None) => None,
        };
        let uid = a
            .squash_uid
            .as_deref()
            .map(|v| amlfs::squash_id(SQUASH_UID_FLAG, v))
            .transpose()?;
        let gid = a
            .squash_gid
            .as_deref()
            .map(|v| amlfs::squash_id(SQUASH_GID_FLAG, v))
            .transpose()?;
        let nids = a
            .no_squash_nids
            .as_deref()
            .map(|v| amlfs::no_squash_nids(NO_SQUASH_NIDS_FLAG, v))
            .transpose()?;
        let root_squash = match &a.root_squash_mode {
            Some(m) => Some(amlfs::root_squash(
                amlfs::root_squash_mode(ROOT_SQUASH_MODE_FLAG, m)?,
                nids,
                uid,
                gid,
            )?),
            None => {
                let given = [
                    (SQUASH_UID_FLAG, uid.is_some()),
                    (SQUASH_GID_FLAG, gid.is_some()),
                    (NO_SQUASH_NIDS_FLAG, nids.is_some()),
                ];
                if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
                    return Err(InvalidInput::new(
                        *flag,
                        format!("needs {ROOT_SQUASH_MODE_FLAG} RootOnly or All"),
                    )
                    .hint(format!(
                        "Add {ROOT_SQUASH_MODE_FLAG} RootOnly (or All), or leave {flag} out"
                    )));
                }
                None
            }
        };
        let subnet_size = a
            .subnet_size
            .as_deref()
            .map(|v| cidr::subnet_size(cidr::SIZE_FLAG, v))
            .transpose()?;
        Ok(Self {
            subnet_size,
            sku,
            capacity_tib,
            zone,
            maintenance_window,
            hsm,
            root_squash,
        })
    }

    /// The window a new filesystem gets.
    pub fn window_for_create(&self) -> MaintenanceWindow {
        self.maintenance_window.unwrap_or_else(|| {
            amlfs::maintenance_window("--maintenance-window", DEFAULT_MAINTENANCE_WINDOW)
                .expect("the default maintenance window is valid")
        })
    }

    /// The root squash mode a new filesystem gets, by name.
    pub fn squash_mode_name(&self) -> &'static str {
        self.root_squash
            .as_ref()
            .map_or(SquashMode::None.name(), |r| r.mode.name())
    }
}

/// The deployment name must also be a valid filesystem name (it is the filesystem's).
pub fn check_name(name: &str) -> Result<String, InvalidInput> {
    names::aml_filesystem("--name", name)
}

/// The steps of an amlfs `up`, each after its needs: storage and roles only with blob
/// integration.
pub fn steps(hsm: bool) -> &'static [Step] {
    if hsm {
        &[
            Step::Cluster,
            Step::Provider,
            Step::Subnet,
            Step::Storage,
            Step::Roles,
            Step::Filesystem,
        ]
    } else {
        &[
            Step::Cluster,
            Step::Provider,
            Step::Subnet,
            Step::Filesystem,
        ]
    }
}

/// What each step of an amlfs `up` needs. The filesystem is created once: its subnet, the
/// registered provider and, with blob integration, the containers and the provider's roles
/// on them (without the roles the create ends Failed) come first.
pub fn needs(step: Step, hsm: bool) -> &'static [Step] {
    match step {
        Step::Filesystem if hsm => &[Step::Provider, Step::Subnet, Step::Storage, Step::Roles],
        Step::Filesystem => &[Step::Provider, Step::Subnet],
        other => other.needs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_smallest_filesystem() {
        let s = AmlfsSpec::from_args(&AmlfsArgs::default()).expect("valid");
        assert_eq!(
            (s.sku, s.capacity_tib, s.zone),
            (AmlfsSku::Premium500, 4, Some(1))
        );
        assert_eq!(s.window_for_create().to_string(), "Sunday,02:00");
        assert!(s.hsm.is_none() && s.root_squash.is_none());
    }

    #[test]
    fn bad_values_name_their_flag() {
        let bad = |f: fn(&mut AmlfsArgs)| {
            let mut a = AmlfsArgs::default();
            f(&mut a);
            AmlfsSpec::from_args(&a).unwrap_err().flag
        };
        assert_eq!(bad(|a| a.sku = Some("Premium-9".into())), "--sku");
        assert_eq!(bad(|a| a.capacity_tib = Some("5".into())), "--capacity-tib");
        assert_eq!(bad(|a| a.zone = Some("4".into())), "--zone");
        assert_eq!(
            bad(|a| a.maintenance_window = Some("Funday,02:00".into())),
            "--maintenance-window"
        );
        assert_eq!(bad(|a| a.squash_uid = Some("0".into())), "--squash-uid");
        assert_eq!(
            bad(|a| a.hsm_logging_container = Some("logs".into())),
            "--hsm-logging-container"
        );
        assert_eq!(
            bad(|a| a.root_squash_mode = Some("RootOnly".into())),
            "--squash-uid"
        );
    }

    #[test]
    fn every_step_follows_its_needs() {
        for hsm in [false, true] {
            let order = steps(hsm);
            for (i, s) in order.iter().enumerate() {
                for n in needs(*s, hsm) {
                    let j = order.iter().position(|x| x == n).expect("need is planned");
                    assert!(j < i, "{s:?} needs {n:?}");
                }
            }
        }
    }
}
