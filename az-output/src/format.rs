//! The `-o/--output` value.

use std::fmt;
use std::io::IsTerminal;
use std::str::FromStr;

/// An az output format. `jsonc`/`yamlc` are the coloured forms of `json`/`yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
#[value(rename_all = "lower")]
pub enum OutputFormat {
    #[default]
    Json,
    Jsonc,
    Yaml,
    Yamlc,
    Table,
    Tsv,
    None,
}

impl OutputFormat {
    /// In az's order, which is also the order its error message lists them in.
    pub const ALL: [OutputFormat; 7] = [
        OutputFormat::Json,
        OutputFormat::Jsonc,
        OutputFormat::Yaml,
        OutputFormat::Yamlc,
        OutputFormat::Table,
        OutputFormat::Tsv,
        OutputFormat::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Json => "json",
            OutputFormat::Jsonc => "jsonc",
            OutputFormat::Yaml => "yaml",
            OutputFormat::Yamlc => "yamlc",
            OutputFormat::Table => "table",
            OutputFormat::Tsv => "tsv",
            OutputFormat::None => "none",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_output(s)
    }
}

/// Parses an `-o/--output` (or `AZURE_CORE_OUTPUT`) value, case-insensitively as az does.
///
/// The error is az's message without its `<prog>: ` prefix, e.g.
/// `'xml' is not a valid value for '--output'. Allowed values: json, jsonc, yaml, yamlc, table, tsv, none.`
pub fn parse_output(s: &str) -> Result<OutputFormat, String> {
    // az lower-cases the value before checking the choices, and reports the lowered value.
    let lowered = s.to_lowercase();
    OutputFormat::ALL
        .into_iter()
        .find(|f| f.as_str() == lowered)
        .ok_or_else(|| {
            let allowed: Vec<&str> = OutputFormat::ALL.iter().map(|f| f.as_str()).collect();
            format!(
                "'{lowered}' is not a valid value for '--output'. Allowed values: {}.",
                allowed.join(", ")
            )
        })
}

/// Whether `jsonc`/`yamlc` may colour: like knack, only when both stdout and stderr are
/// terminals (a pipe must get plain text), and never when `NO_COLOR` is set to anything.
pub fn color_enabled() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn names_are_case_insensitive() {
        assert_eq!(parse_output("json"), Ok(OutputFormat::Json));
        assert_eq!(parse_output("JSON"), Ok(OutputFormat::Json));
        assert_eq!(parse_output("Table"), Ok(OutputFormat::Table));
        assert_eq!(parse_output("tSv"), Ok(OutputFormat::Tsv));
        assert_eq!(parse_output("YAMLC"), Ok(OutputFormat::Yamlc));
        assert_eq!("NoNe".parse::<OutputFormat>(), Ok(OutputFormat::None));
        assert_eq!(OutputFormat::default(), OutputFormat::Json);
    }

    #[test]
    fn unknown_name_lists_the_choices() {
        assert_eq!(
            parse_output("XML").unwrap_err(),
            "'xml' is not a valid value for '--output'. Allowed values: \
             json, jsonc, yaml, yamlc, table, tsv, none."
        );
        assert!(parse_output("").is_err());
        assert!(parse_output("json ").is_err());
    }

    #[test]
    fn value_enum_names_match_display() {
        for f in OutputFormat::value_variants() {
            let pv = f.to_possible_value().expect("every variant is visible");
            assert_eq!(pv.get_name(), f.as_str());
            assert_eq!(f.to_string(), f.as_str());
        }
        assert_eq!(
            OutputFormat::value_variants().len(),
            OutputFormat::ALL.len()
        );
    }
}
