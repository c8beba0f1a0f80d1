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
        format!("  {:<30} {}", usage.trim_end(), wrap(what, 46, 33))
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
                "\n  {:<30} {}",
                format!("{name} {}", values.join("|")),
                wrap(what, 46, 33)
            ));
        }
    }
    Ok(text)
}

/// `text` in lines of at most `width` characters (longer words stay whole),
/// every line after the first indented by `indent` spaces.
fn wrap(text: &str, width: usize, indent: usize) -> String {
    let mut out = String::new();
    let mut column = 0;
    for word in text.split_whitespace() {
        if column > 0 && column + 1 + word.chars().count() > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            column = 0;
        } else if column > 0 {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += word.chars().count();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lines_fit_in_80_columns() {
        for topic in ["", "set", "call"] {
            let text = text(topic).unwrap();
            for line in text.lines() {
                assert!(line.chars().count() <= 80, "{line:?}");
            }
        }
        assert_eq!(wrap("a bb ccc", 4, 2), "a bb\n  ccc");
    }
}
