//! `set NAME VALUE`: the output flags of `call`, its deadline and its input
//! strictness, as settings of the session.

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use clap::ValueEnum as _;

use crate::cli::{ColorChoice, Format, OutputArgs};

/// Each setting: its name, the values it takes (for help and completion),
/// and what it does.
pub const SETTINGS: &[(&str, &[&str], &str)] = &[
    (
        "format",
        &["auto", "json", "ndjson", "text"],
        "how responses print (--format)",
    ),
    (
        "deadline",
        &["SECS", "off"],
        "the deadline of each call, sent as grpc-timeout (--max-time)",
    ),
    (
        "color",
        &["auto", "always", "never"],
        "colour JSON output (--color)",
    ),
    (
        "emit-defaults",
        &["on", "off"],
        "print fields at their default value",
    ),
    (
        "proto-names",
        &["on", "off"],
        "print .proto field names, not lowerCamelCase",
    ),
    (
        "int64-as-number",
        &["on", "off"],
        "print 64-bit integers as numbers",
    ),
    (
        "enum-as-number",
        &["on", "off"],
        "print enum values as numbers",
    ),
    (
        "envelope",
        &["on", "off"],
        "print headers, messages, trailers and status as tagged JSON lines",
    ),
    (
        "allow-unknown-fields",
        &["on", "off"],
        "ignore request fields the schema does not know",
    ),
    (
        "verbose",
        &["0", "1", "2"],
        "print headers, trailers, status and timings on stderr (-v, -vv)",
    ),
];

/// The settings of a session.
#[derive(Debug, Clone)]
pub struct Settings {
    pub output: OutputArgs,
    pub deadline: Option<Duration>,
    pub allow_unknown_fields: bool,
    pub verbose: u8,
}

impl Settings {
    /// Changes one setting.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let value = value.trim();
        let known = SETTINGS.iter().find(|(n, _, _)| *n == name);
        if known.is_none() {
            let names: Vec<&str> = SETTINGS.iter().map(|(n, _, _)| *n).collect();
            bail!("no setting '{name}'; there are {}", names.join(", "));
        }
        if value.is_empty() {
            bail!("`set {name}` needs a value: {}", known.unwrap().1.join("|"));
        }
        let out = &mut self.output;
        match name {
            "format" => out.format = Format::from_str(value, true).map_err(|_| bad(name, value))?,
            "color" => {
                out.color = ColorChoice::from_str(value, true).map_err(|_| bad(name, value))?
            }
            "deadline" => {
                self.deadline = match value {
                    "off" | "none" => None,
                    secs => match secs.parse::<f64>() {
                        Ok(secs) if secs > 0.0 && secs < 1e9 => Some(Duration::from_secs_f64(secs)),
                        _ => return Err(bad(name, value)),
                    },
                }
            }
            "verbose" => {
                self.verbose = match value {
                    "0" | "off" => 0,
                    "1" | "on" => 1,
                    "2" => 2,
                    _ => return Err(bad(name, value)),
                }
            }
            _ => {
                let on = switch(value).ok_or_else(|| bad(name, value))?;
                match name {
                    "emit-defaults" => out.json.emit_defaults = on,
                    "proto-names" => out.json.proto_names = on,
                    "int64-as-number" => out.json.int64_as_number = on,
                    "enum-as-number" => out.json.enum_as_number = on,
                    "envelope" => out.envelope = on,
                    "allow-unknown-fields" => self.allow_unknown_fields = on,
                    _ => unreachable!("every setting is handled"),
                }
            }
        }
        Ok(())
    }

    /// Every setting and its value, one a line.
    pub fn show(&self) -> String {
        let on = |b: bool| if b { "on" } else { "off" };
        let out = &self.output;
        let deadline = match self.deadline {
            Some(limit) => format!("{}", limit.as_secs_f64()),
            None => "off".to_string(),
        };
        let value = |name: &str| -> String {
            match name {
                "format" => name_of(out.format),
                "color" => name_of(out.color),
                "deadline" => deadline.clone(),
                "emit-defaults" => on(out.json.emit_defaults).into(),
                "proto-names" => on(out.json.proto_names).into(),
                "int64-as-number" => on(out.json.int64_as_number).into(),
                "enum-as-number" => on(out.json.enum_as_number).into(),
                "envelope" => on(out.envelope).into(),
                "allow-unknown-fields" => on(self.allow_unknown_fields).into(),
                "verbose" => self.verbose.to_string(),
                _ => unreachable!("every setting is shown"),
            }
        };
        SETTINGS
            .iter()
            .map(|(name, _, _)| format!("{name} {}", value(name)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn name_of(value: impl clap::ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

fn switch(value: &str) -> Option<bool> {
    match value {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

fn bad(name: &str, value: &str) -> anyhow::Error {
    let values = SETTINGS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, values, _)| values.join("|"))
        .unwrap_or_default();
    anyhow!("invalid value '{value}' for {name}: expected {values}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            output: OutputArgs::default(),
            deadline: None,
            allow_unknown_fields: false,
            verbose: 0,
        }
    }

    #[test]
    fn settings_change_and_show() {
        let mut s = settings();
        s.set("format", "ndjson").unwrap();
        s.set("deadline", "2.5").unwrap();
        s.set("emit-defaults", "on").unwrap();
        s.set("verbose", "2").unwrap();
        assert_eq!(s.output.format, Format::Ndjson);
        assert_eq!(s.deadline, Some(Duration::from_millis(2500)));
        assert!(s.output.json.emit_defaults);
        let shown = s.show();
        assert!(shown.contains("format ndjson\ndeadline 2.5\n"), "{shown}");
        assert!(shown.contains("emit-defaults on"), "{shown}");
        s.set("deadline", "off").unwrap();
        assert_eq!(s.deadline, None);
    }

    #[test]
    fn bad_settings_say_what_is_expected() {
        let mut s = settings();
        let err = s.set("format", "yaml").unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid value 'yaml' for format: expected auto|json|ndjson|text"
        );
        assert!(s.set("deadline", "-1").is_err());
        assert!(
            s.set("colour", "on")
                .unwrap_err()
                .to_string()
                .starts_with("no setting")
        );
        assert!(s.set("envelope", "").is_err());
    }
}
