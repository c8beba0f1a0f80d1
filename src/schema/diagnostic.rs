//! Compile errors a user can act on: protox's miette diagnostics rendered
//! with the offending source line and a marker under it, and a missing
//! import named with every place that was searched.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::third_party;
use crate::error::Detailed;

/// Turns a protox error into one summary line (`file:line:col: message`),
/// the rendered diagnostic, and, for a missing import, where we looked.
pub fn compile_error(err: &protox::Error, roots: &[PathBuf]) -> anyhow::Error {
    let hint = missing_import(err).map(|name| {
        let dirs: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        format!(
            "searched {}, then the built-in google/protobuf and the bundled {} files; \
             pass the directory that holds {name} with -I",
            dirs.join(", "),
            third_party::DIRS
        )
    });
    Detailed {
        // protox's Debug form is the compact `file:line:col: message`.
        message: format!("cannot compile the .proto files: {err:?}"),
        detail: render(err),
        hint,
    }
    .into()
}

/// The import that was not found, if that is what went wrong.
fn missing_import(err: &protox::Error) -> Option<String> {
    let text = err.to_string();
    let rest = text.strip_prefix("import '")?;
    Some(rest.strip_suffix("' not found")?.to_string())
}

/// The graphical miette report: colour only when stderr is a terminal and
/// NO_COLOR is unset.
fn render(err: &protox::Error) -> String {
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let theme = match colour {
        true => GraphicalTheme::unicode(),
        false => GraphicalTheme::unicode_nocolor(),
    };
    let mut out = String::new();
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    handler
        .render_report(&mut out, err)
        .map_or(String::new(), |()| out)
}
