//! `help [COMMAND]`: the commands of the shell, with their arguments. The
//! table here is also what Tab completes the first word from.

use anyhow::{Result, bail};

use super::settings;

/// Each command: its name, its arguments, and what it does.
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "list",
        "[SERVICE]",
        "the services, or the methods of SERVICE (as `grpcx list`)",
    ),
    (
        "describe",
        "[SYMBOL]",
        "a service, method, message, enum or field as proto source (as `grpcx describe`); \
         without SYMBOL, the service in use or every service",
    ),
    (
        "template",
        "METHOD",
        "a JSON request for METHOD with every field present (as `grpcx describe --template`)",
    ),
    (
        "use",
        "[PACKAGE.SERVICE]",
        "name methods of SERVICE alone from now on; `use` alone goes back",
    ),
    (
        "call",
        "METHOD [JSON]",
        "call METHOD with JSON; without it, each field is asked for in turn. Streams read \
         one message at a time (JSON, or field by field) until an empty line (or a message \
         left empty) or Ctrl-D; Ctrl-C cancels the call",
    ),
    (
        "header",
        "NAME: VALUE | -d NAME",
        "set a request header for the calls of this session, or remove it (-d)",
    ),
    ("headers", "", "the request headers of this session"),
    (
        "set",
        "[NAME VALUE]",
        "change a setting; `set` alone shows them all",
    ),
    ("help", "[COMMAND]", "this list, or one command"),
    ("exit", "", "end the session (Ctrl-D too)"),
];

/// The names of the commands, for completion.
pub fn names() -> impl Iterator<Item = &'static str> {
    COMMANDS.iter().map(|(name, _, _)| *name)
}

/// The help text: every command, or one.
pub fn text(topic: &str) -> Result<String> {
    let line = |(name, args, what): &(&str, &str, &str)| {
        let usage = format!("{name} {args}");
        format!("  {:<30} {what}", usage.trim_end())
    };
    let topic = topic.trim();
    if topic.is_empty() {
        let mut text = String::from("Commands:\n");
        for command in COMMANDS {
            text.push_str(&line(command));
            text.push('\n');
        }
        text.push_str(
            "Tab completes commands, services, methods, fields and enum values (in JSON too);\n\
             up-arrow recalls earlier commands.",
        );
        return Ok(text);
    }
    let Some(command) = COMMANDS.iter().find(|(name, _, _)| *name == topic) else {
        bail!("no command '{topic}'; `help` lists them");
    };
    let mut text = line(command);
    if topic == "set" {
        text.push_str("\nSettings:");
        for (name, values, what) in settings::SETTINGS {
            text.push_str(&format!(
                "\n  {:<30} {what}",
                format!("{name} {}", values.join("|"))
            ));
        }
    }
    Ok(text)
}
