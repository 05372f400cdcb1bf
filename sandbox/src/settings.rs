//! Switches for Azure behaviours the sandbox models only when asked, because today's tools
//! do not handle them yet (issue 15) or because a test wants a particular tenant.
//!
//! A world file stores its settings (`"settings": {...}`, written by `hpccache-sandbox world
//! set`); `serve` flags and the environment override them for one run without changing the
//! file. Every switch left unset takes its default below: flipping a default (say
//! [`VNET_CONTENTION_DEFAULT`] once the tools serialize their vnet writes) changes every
//! world that never chose.
//!
//! | setting (world file) | environment | default | effect |
//! |---|---|---|---|
//! | `vnetContention` | `HPCCACHE_SANDBOX_VNET_CONTENTION` | on | writes that change one vnet (subnets, the vnet, peerings, private DNS links to it) are serialized: a second one while another runs is refused 409 `AnotherOperationInProgress` or cancels the earlier one (`CanceledAndSupersededDueToAnotherOperation`), chosen by the fault seed |
//! | `asyncNicRelease` | `HPCCACHE_SANDBOX_ASYNC_NIC_RELEASE` | off | a deleted cache's NIC stays in its subnet for [`NIC_RELEASE_SECONDS`] (scaled): deleting the subnet meanwhile is 400 `InUseSubnetCannotBeDeleted` |
//! | `graphLookupDenied` | – | off | Microsoft Graph answers the service-principal lookup 403 `Authorization_RequestDenied` (an identity without Application.Read.All) |
//! | `rpPrincipalAbsent` | – | off | the tenant never had the HPC Cache resource provider's service principal: Graph answers 404 until [`PRINCIPAL_APPEARS_SECONDS`] (scaled) after `Microsoft.StorageCache` is Registered |
//! | `pageSize` | `HPCCACHE_SANDBOX_PAGE_SIZE` | per list (100 for private DNS, as its spec says; 1000 elsewhere) | items per page of every ARM list; longer lists answer `nextLink` |

use serde::{Deserialize, Serialize};

use crate::sandbox::SandboxError;

/// Whether vnet writes are serialized when nothing chose. On, as in Azure, since the tools
/// order their writes to one vnet and send a contended one again (issue 15 item 5).
pub const VNET_CONTENTION_DEFAULT: bool = true;
/// Whether a deleted cache's NIC lingers when nothing chose. Off until `down` waits for the
/// subnet to be released.
pub const ASYNC_NIC_RELEASE_DEFAULT: bool = false;
/// Seconds (Azure time) a deleted cache's NIC keeps its subnet in use. Azure releases the NICs
/// of a deleted service asynchronously, minutes later: longer than `down` takes from the
/// cache's delete to the subnet's (records, link and zone deletes, about a minute).
pub const NIC_RELEASE_SECONDS: f64 = 600.0;
/// Seconds (Azure time) after `Microsoft.StorageCache` turns Registered until its service
/// principal is visible in a tenant that never had it (directory replication takes minutes):
/// longer than `up` takes from registering to its Graph lookup.
pub const PRINCIPAL_APPEARS_SECONDS: f64 = 600.0;

pub const ENV_VNET_CONTENTION: &str = "HPCCACHE_SANDBOX_VNET_CONTENTION";
pub const ENV_ASYNC_NIC_RELEASE: &str = "HPCCACHE_SANDBOX_ASYNC_NIC_RELEASE";
pub const ENV_PAGE_SIZE: &str = "HPCCACHE_SANDBOX_PAGE_SIZE";

/// The switches; `None` is "not chosen here".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet_contention: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub async_nic_release: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_lookup_denied: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp_principal_absent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
}

impl Settings {
    pub fn is_empty(&self) -> bool {
        *self == Settings::default()
    }

    /// These settings, with `base`'s where these chose nothing.
    pub fn over(&self, base: &Settings) -> Settings {
        Settings {
            vnet_contention: self.vnet_contention.or(base.vnet_contention),
            async_nic_release: self.async_nic_release.or(base.async_nic_release),
            graph_lookup_denied: self.graph_lookup_denied.or(base.graph_lookup_denied),
            rp_principal_absent: self.rp_principal_absent.or(base.rp_principal_absent),
            page_size: self.page_size.or(base.page_size),
        }
    }

    pub fn vnet_contention(&self) -> bool {
        self.vnet_contention.unwrap_or(VNET_CONTENTION_DEFAULT)
    }

    pub fn async_nic_release(&self) -> bool {
        self.async_nic_release.unwrap_or(ASYNC_NIC_RELEASE_DEFAULT)
    }

    pub fn graph_lookup_denied(&self) -> bool {
        self.graph_lookup_denied.unwrap_or(false)
    }

    pub fn rp_principal_absent(&self) -> bool {
        self.rp_principal_absent.unwrap_or(false)
    }

    /// The settings the environment chooses (see the module table).
    pub fn from_env() -> Result<Settings, SandboxError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] over any source of variables (tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Settings, SandboxError> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let switch = |name: &str| {
            set(name)
                .map(|v| {
                    parse_switch(&v).ok_or_else(|| {
                        SandboxError::Invalid(format!(
                            "{name}: '{v}' is not a switch; use 1 or 0 (also true/false, on/off)"
                        ))
                    })
                })
                .transpose()
        };
        let page_size = set(ENV_PAGE_SIZE)
            .map(|v| {
                parse_page_size(&v).ok_or_else(|| {
                    SandboxError::Invalid(format!(
                        "{ENV_PAGE_SIZE}: '{v}' is not a whole number of at least 1"
                    ))
                })
            })
            .transpose()?;
        Ok(Settings {
            vnet_contention: switch(ENV_VNET_CONTENTION)?,
            async_nic_release: switch(ENV_ASYNC_NIC_RELEASE)?,
            graph_lookup_denied: None,
            rp_principal_absent: None,
            page_size,
        })
    }
}

/// `1`/`0`, `true`/`false`, `on`/`off`, `yes`/`no` (any case).
pub fn parse_switch(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Some(true),
        "0" | "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// A page size: a whole number of at least 1.
pub fn parse_page_size(v: &str) -> Option<usize> {
    v.trim().parse::<usize>().ok().filter(|n| *n >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn the_environment_chooses_switches_and_page_size() {
        let s = Settings::from_vars(vars(&[
            (ENV_VNET_CONTENTION, "1"),
            (ENV_ASYNC_NIC_RELEASE, "off"),
            (ENV_PAGE_SIZE, "2"),
        ]))
        .expect("parses");
        assert_eq!(s.vnet_contention, Some(true));
        assert_eq!(s.async_nic_release, Some(false));
        assert_eq!(s.page_size, Some(2));
        assert!(
            Settings::from_vars(vars(&[]))
                .expect("nothing set")
                .is_empty()
        );
    }

    #[test]
    fn bad_environment_values_name_the_variable() {
        let e = Settings::from_vars(vars(&[(ENV_VNET_CONTENTION, "maybe")])).unwrap_err();
        assert!(e.to_string().contains(ENV_VNET_CONTENTION), "{e}");
        let e = Settings::from_vars(vars(&[(ENV_PAGE_SIZE, "0")])).unwrap_err();
        assert!(e.to_string().contains(ENV_PAGE_SIZE), "{e}");
    }

    #[test]
    fn overrides_win_and_unset_switches_take_the_defaults() {
        let world = Settings {
            vnet_contention: Some(true),
            page_size: Some(5),
            ..Settings::default()
        };
        let run = Settings {
            vnet_contention: Some(false),
            ..Settings::default()
        };
        let s = run.over(&world);
        assert!(!s.vnet_contention());
        assert_eq!(s.page_size, Some(5));
        assert_eq!(s.async_nic_release(), ASYNC_NIC_RELEASE_DEFAULT);
        assert!(!Settings::default().graph_lookup_denied());
    }
}
