//! What the Azure CLI knows about the signed-in user: its profile (`azureProfile.json`: the
//! subscriptions, each with its tenant) and its active cloud (`config`, `[cloud] name`), both
//! under `$AZURE_CONFIG_DIR` or `~/.azure`. Read so that a user signed in with `az login` gets
//! tokens from the subscription's tenant and talks to the cloud `az cloud set` chose.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// `$AZURE_CONFIG_DIR`, else `~/.azure`.
pub fn config_dir() -> Option<PathBuf> {
    std::env::var_os("AZURE_CONFIG_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".azure")))
}

/// One subscription of the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: String,
    pub name: String,
    pub tenant_id: String,
    pub is_default: bool,
    /// The cloud it was signed in to (`AzureCloud`, ...).
    pub environment: Option<String>,
}

/// `azureProfile.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub subscriptions: Vec<Subscription>,
}

impl Profile {
    /// The profile in `dir`; `None` when there is none (never signed in) or it cannot be read.
    pub fn read(dir: &Path) -> Option<Profile> {
        let text = std::fs::read_to_string(dir.join("azureProfile.json")).ok()?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Option<Profile> {
        // az writes this file with a UTF-8 byte-order mark.
        let doc: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).ok()?;
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let subscriptions = doc
            .get("subscriptions")?
            .as_array()?
            .iter()
            .filter_map(|s| {
                Some(Subscription {
                    id: text(s, "id")?,
                    name: text(s, "name").unwrap_or_default(),
                    tenant_id: text(s, "tenantId")?,
                    is_default: s.get("isDefault").and_then(Value::as_bool) == Some(true),
                    environment: text(s, "environmentName"),
                })
            })
            .collect();
        Some(Profile { subscriptions })
    }

    /// The subscription `az` uses by default (`az account set`).
    pub fn default_subscription(&self) -> Option<&Subscription> {
        self.subscriptions.iter().find(|s| s.is_default)
    }

    /// The tenant of `subscription` (an id or a name, case-insensitive), or of the default
    /// subscription when none is given.
    pub fn tenant_of(&self, subscription: Option<&str>) -> Option<String> {
        match subscription.map(str::trim).filter(|s| !s.is_empty()) {
            Some(want) => self
                .subscriptions
                .iter()
                .find(|s| s.id.eq_ignore_ascii_case(want) || s.name.eq_ignore_ascii_case(want)),
            None => self.default_subscription(),
        }
        .map(|s| s.tenant_id.clone())
    }
}

/// The cloud `az cloud set` made active: `[cloud] name` of `config` in `dir`.
pub fn active_cloud(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("config")).ok()?;
    let mut in_cloud = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_cloud = line.eq_ignore_ascii_case("[cloud]");
        } else if in_cloud
            && let Some((k, v)) = line.split_once(['=', ':'])
            && k.trim().eq_ignore_ascii_case("name")
        {
            return Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = "\u{feff}{\"installationId\":\"x\",\"subscriptions\":[
        {\"id\":\"aaaaaaaa-0000-0000-0000-000000000001\",\"name\":\"Dev\",\"tenantId\":\"tenant-a\",\"isDefault\":true,\"environmentName\":\"AzureCloud\"},
        {\"id\":\"bbbbbbbb-0000-0000-0000-000000000002\",\"name\":\"Prod\",\"tenantId\":\"tenant-b\",\"isDefault\":false,\"environmentName\":\"AzureCloud\"}]}";

    #[test]
    fn the_subscription_names_its_tenant() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("azureProfile.json"), PROFILE).expect("write");
        let p = Profile::read(dir.path()).expect("profile");
        assert_eq!(p.tenant_of(None).as_deref(), Some("tenant-a"));
        assert_eq!(
            p.tenant_of(Some("BBBBBBBB-0000-0000-0000-000000000002"))
                .as_deref(),
            Some("tenant-b")
        );
        assert_eq!(p.tenant_of(Some("prod")).as_deref(), Some("tenant-b"));
        assert_eq!(p.tenant_of(Some("elsewhere")), None);
        assert_eq!(
            p.default_subscription().map(|s| s.id.as_str()),
            Some("aaaaaaaa-0000-0000-0000-000000000001")
        );
        assert!(Profile::read(&dir.path().join("none")).is_none());
    }

    #[test]
    fn the_active_cloud_is_read_from_the_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(active_cloud(dir.path()), None);
        std::fs::write(
            dir.path().join("config"),
            "[core]\nname = other\noutput = json\n\n[cloud]\nname = AzureChinaCloud\n",
        )
        .expect("write");
        assert_eq!(active_cloud(dir.path()).as_deref(), Some("AzureChinaCloud"));
        let cloud = crate::azure::Cloud::by_name(&active_cloud(dir.path()).expect("name"))
            .expect("known cloud");
        assert_eq!(cloud.arm.as_str(), "https://management.chinacloudapi.cn/");
        assert_eq!(cloud.authority.as_str(), "https://login.chinacloudapi.cn/");
    }
}
