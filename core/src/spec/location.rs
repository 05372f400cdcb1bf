//! Azure locations (`-l/--location`), as programmatic names: `East US 2` → `eastus2`.
//!
//! The lists are the physical regions `az account list-locations` shows, for the public cloud
//! and the sovereign clouds the tools can target. Whether a region offers HPC Cache is for the
//! `skus` API to say; this only catches names that are no region at all.

use super::text::{edit_distance, quote};
use crate::InvalidInput;

/// Physical regions of the public Azure cloud (AzureCloud), including the EUAP canaries.
pub const PUBLIC: &[&str] = &[
    "australiacentral",
    "australiacentral2",
    "australiaeast",
    "australiasoutheast",
    "austriaeast",
    "belgiumcentral",
    "brazilsouth",
    "brazilsoutheast",
    "canadacentral",
    "canadaeast",
    "centralindia",
    "centralus",
    "centraluseuap",
    "chilecentral",
    "denmarkeast",
    "eastasia",
    "eastus",
    "eastus2",
    "eastus2euap",
    "francecentral",
    "francesouth",
    "germanynorth",
    "germanywestcentral",
    "indonesiacentral",
    "israelcentral",
    "italynorth",
    "japaneast",
    "japanwest",
    "jioindiacentral",
    "jioindiawest",
    "koreacentral",
    "koreasouth",
    "malaysiawest",
    "mexicocentral",
    "newzealandnorth",
    "northcentralus",
    "northeurope",
    "norwayeast",
    "norwaywest",
    "polandcentral",
    "qatarcentral",
    "southafricanorth",
    "southafricawest",
    "southcentralus",
    "southeastasia",
    "southindia",
    "spaincentral",
    "swedencentral",
    "swedensouth",
    "switzerlandnorth",
    "switzerlandwest",
    "uaecentral",
    "uaenorth",
    "uksouth",
    "ukwest",
    "westcentralus",
    "westeurope",
    "westindia",
    "westus",
    "westus2",
    "westus3",
];

/// Regions of Azure operated by 21Vianet (AzureChinaCloud).
pub const CHINA: &[&str] = &[
    "chinaeast",
    "chinaeast2",
    "chinaeast3",
    "chinanorth",
    "chinanorth2",
    "chinanorth3",
];

/// Regions of Azure Government (AzureUSGovernment).
pub const US_GOVERNMENT: &[&str] = &[
    "usdodcentral",
    "usdodeast",
    "usgovarizona",
    "usgovtexas",
    "usgovvirginia",
];

/// The programmatic form of a location as `az` accepts it: lowercase, no whitespace.
pub fn normalise(v: &str) -> String {
    v.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn known() -> impl Iterator<Item = &'static str> {
    PUBLIC.iter().chain(CHINA).chain(US_GOVERNMENT).copied()
}

/// A location in any cloud the tools know, normalised (`East US` → `eastus`).
pub fn location(flag: &str, v: &str) -> Result<String, InvalidInput> {
    let name = normalise(v);
    if known().any(|k| k == name) {
        return Ok(name);
    }
    let list = "Run `az account list-locations -o table` to see the regions of your subscription";
    let problem = if name.is_empty() {
        "no location given".to_owned()
    } else {
        format!("{} is not an Azure region", quote(v))
    };
    let hint = match closest(&name) {
        Some(best) => format!("Did you mean {best}? {list}"),
        None => list.to_owned(),
    };
    Err(InvalidInput::new(flag, problem).hint(hint))
}

/// The nearest known name, when it is near enough to be a typo rather than a different word.
fn closest(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return None;
    }
    let (best, distance) = known()
        .map(|k| (k, edit_distance(name, k)))
        .min_by_key(|&(k, d)| (d, k.len()))?;
    let tolerance = (name.chars().count() / 3).max(2);
    (distance <= tolerance).then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_normalise_to_programmatic_names() {
        for (given, want) in [
            ("eastus", "eastus"),
            ("East US", "eastus"),
            ("East US 2", "eastus2"),
            ("  West Europe ", "westeurope"),
            ("WESTUS3", "westus3"),
            ("China North 3", "chinanorth3"),
            ("USGov Virginia", "usgovvirginia"),
        ] {
            assert_eq!(
                location("--location", given).as_deref(),
                Ok(want),
                "{given}"
            );
        }
    }

    #[test]
    fn lists_are_normalised_sorted_and_unique() {
        for list in [PUBLIC, CHINA, US_GOVERNMENT] {
            for w in list.windows(2) {
                assert!(w[0] < w[1], "{} before {}", w[0], w[1]);
            }
            for name in list {
                assert_eq!(&normalise(name), name);
            }
        }
    }

    #[test]
    fn unknown_name_suggests_the_closest_region() {
        for (given, suggestion) in [
            ("eastsu", "eastus"),
            ("East US 4", "eastus"),
            ("westeurpoe", "westeurope"),
            ("northeurop", "northeurope"),
            ("uk south", "uksouth"),
        ] {
            // "uk south" is valid once normalised; the others are typos.
            if let Ok(ok) = location("-l", given) {
                assert_eq!(ok, suggestion);
                continue;
            }
            let e = location("-l", given).unwrap_err();
            assert_eq!(e.flag, "-l");
            assert!(e.problem.contains(&quote(given)), "{e}");
            let hint = e.hint.unwrap_or_default();
            assert!(
                hint.starts_with(&format!("Did you mean {suggestion}?")),
                "{given}: {hint}"
            );
            assert!(
                hint.contains("az account list-locations -o table"),
                "{hint}"
            );
        }
    }

    #[test]
    fn far_off_names_get_no_suggestion_but_the_command() {
        for given in ["mars", "", "the moon base"] {
            let e = location("--location", given).unwrap_err();
            let hint = e.hint.unwrap_or_default();
            assert!(!hint.contains("Did you mean"), "{given}: {hint}");
            assert!(hint.contains("az account list-locations -o table"));
        }
    }
}
