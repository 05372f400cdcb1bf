//! HPC Cache SKUs (`--sku-name`) and the cache sizes each one offers (`--cache-size-gb`).
//!
//! The sizes are those the `skus` API lists under the capability `cache sizes(GB)`. The
//! L-series SKUs are the high-throughput read-only caching options: they cannot cache writes,
//! so a read-write usage model needs one of the `Standard_*G` SKUs.

use std::fmt;

use super::text::{one_of, quote};
use crate::InvalidInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sku {
    Standard2G,
    Standard4G,
    Standard8G,
    StandardL4_5G,
    StandardL9G,
    StandardL16G,
}

impl Sku {
    pub const ALL: [Sku; 6] = [
        Sku::Standard2G,
        Sku::Standard4G,
        Sku::Standard8G,
        Sku::StandardL4_5G,
        Sku::StandardL9G,
        Sku::StandardL16G,
    ];

    /// The name as the API spells it, e.g. `Standard_2G`.
    pub fn name(self) -> &'static str {
        match self {
            Sku::Standard2G => "Standard_2G",
            Sku::Standard4G => "Standard_4G",
            Sku::Standard8G => "Standard_8G",
            Sku::StandardL4_5G => "Standard_L4_5G",
            Sku::StandardL9G => "Standard_L9G",
            Sku::StandardL16G => "Standard_L16G",
        }
    }

    /// Cache sizes in GB this SKU is offered with, smallest first.
    pub fn cache_sizes_gb(self) -> &'static [u32] {
        match self {
            Sku::Standard2G => &[3072, 6144, 12288],
            Sku::Standard4G => &[6144, 12288, 24576],
            Sku::Standard8G => &[12288, 24576, 49152],
            Sku::StandardL4_5G => &[21623],
            Sku::StandardL9G => &[43246],
            Sku::StandardL16G => &[86491],
        }
    }

    /// The size used when `--cache-size-gb` is not given: the smallest on offer.
    pub fn default_cache_size_gb(self) -> u32 {
        self.cache_sizes_gb()[0]
    }

    /// Whether this SKU only does read-only caching (the L-series).
    pub fn read_only_caching_only(self) -> bool {
        matches!(
            self,
            Sku::StandardL4_5G | Sku::StandardL9G | Sku::StandardL16G
        )
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `--sku-name`, in any letter case (`standard_2g` → [`Sku::Standard2G`]).
pub fn sku(flag: &str, v: &str) -> Result<Sku, InvalidInput> {
    let wanted = v.trim();
    Sku::ALL
        .into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(wanted))
        .ok_or_else(|| {
            let names: Vec<&str> = Sku::ALL.iter().map(|s| s.name()).collect();
            InvalidInput::new(flag, format!("{} is not an HPC Cache SKU", quote(v)))
                .hint(format!("Choose {}", one_of(&names)))
        })
}

/// `--cache-size-gb` for the chosen SKU.
pub fn cache_size_gb(flag: &str, sku: Sku, v: &str) -> Result<u32, InvalidInput> {
    let choices = || format!("Choose {}", one_of(sku.cache_sizes_gb()));
    let gb: u32 = v.trim().parse().map_err(|_| {
        InvalidInput::new(flag, format!("{} is not a whole number of GB", quote(v))).hint(choices())
    })?;
    if !sku.cache_sizes_gb().contains(&gb) {
        return Err(
            InvalidInput::new(flag, format!("{gb} is not offered with {sku}")).hint(choices()),
        );
    }
    Ok(gb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_normalised() {
        for (given, want) in [
            ("Standard_2G", Sku::Standard2G),
            ("standard_2g", Sku::Standard2G),
            ("STANDARD_4G", Sku::Standard4G),
            ("Standard_8G", Sku::Standard8G),
            ("standard_l4_5g", Sku::StandardL4_5G),
            ("Standard_L9G", Sku::StandardL9G),
            (" Standard_L16G ", Sku::StandardL16G),
        ] {
            let got = sku("--sku-name", given).unwrap();
            assert_eq!(got, want, "{given}");
            assert!(got.name().starts_with("Standard_"));
        }
        assert_eq!(Sku::StandardL4_5G.to_string(), "Standard_L4_5G");
    }

    #[test]
    fn unknown_sku_lists_the_choices() {
        for bad in ["Standard_3G", "", "2G", "Standard-2G"] {
            let e = sku("--sku-name", bad).unwrap_err();
            assert_eq!(e.flag, "--sku-name");
            assert_eq!(
                e.hint.as_deref(),
                Some(
                    "Choose Standard_2G, Standard_4G, Standard_8G, Standard_L4_5G, Standard_L9G or Standard_L16G"
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn sizes_per_sku() {
        let table: &[(Sku, &[u32])] = &[
            (Sku::Standard2G, &[3072, 6144, 12288]),
            (Sku::Standard4G, &[6144, 12288, 24576]),
            (Sku::Standard8G, &[12288, 24576, 49152]),
            (Sku::StandardL4_5G, &[21623]),
            (Sku::StandardL9G, &[43246]),
            (Sku::StandardL16G, &[86491]),
        ];
        for &(s, sizes) in table {
            for &gb in sizes {
                assert_eq!(cache_size_gb("--cache-size-gb", s, &gb.to_string()), Ok(gb));
            }
            assert_eq!(s.default_cache_size_gb(), sizes[0]);
            for other in Sku::ALL.iter().flat_map(|o| o.cache_sizes_gb()) {
                if !sizes.contains(other) {
                    assert!(cache_size_gb("--cache-size-gb", s, &other.to_string()).is_err());
                }
            }
        }
    }

    #[test]
    fn size_message_names_sku_and_choices() {
        let e = cache_size_gb("--cache-size-gb", Sku::Standard2G, "4096").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--cache-size-gb: 4096 is not offered with Standard_2G. Choose 3072, 6144 or 12288"
        );
        let e = cache_size_gb("--cache-size-gb", Sku::StandardL9G, "3TB").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--cache-size-gb: \"3TB\" is not a whole number of GB. Choose 43246"
        );
        assert!(cache_size_gb("--cache-size-gb", Sku::Standard2G, "-3072").is_err());
    }

    #[test]
    fn only_l_series_is_read_only() {
        for s in Sku::ALL {
            assert_eq!(
                s.read_only_caching_only(),
                s.name().starts_with("Standard_L"),
                "{s}"
            );
        }
    }
}
