//! The hidden `grpcx __generate DIR`: every file grpcx generates from its own
//! command line — the completion scripts and the man pages — written under
//! DIR as they are committed under `completions/`. One command regenerates
//! them all after a flag changes (`cargo run -- __generate completions`), and
//! a test fails when the committed copies drift.
//!
//! The man pages are clap_mangen's, one per subcommand (`grpcx-call.1`, …),
//! with the flags under the same headings as `--help`. The examples and the
//! exit-code table (clap's after-help) become EXAMPLES and EXIT STATUS
//! sections set without filling, so their columns survive.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory as _;
use clap_complete::Shell;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, roman};

use crate::cli::{Cli, GenerateArgs};
use crate::commands::completions;

/// The completion scripts that are committed, and their file names.
pub const SCRIPTS: [(Shell, &str); 3] = [
    (Shell::Bash, "grpcx.bash"),
    (Shell::Zsh, "_grpcx"),
    (Shell::Fish, "grpcx.fish"),
];

/// Writes every generated file under `args.dir`: the scripts, then the
/// man pages under `man/`.
pub fn run(args: GenerateArgs) -> Result<()> {
    let scripts = SCRIPTS
        .iter()
        .map(|(shell, name)| (PathBuf::from(name), completions::script(*shell)));
    let pages = man_pages()
        .into_iter()
        .map(|(name, page)| (Path::new("man").join(name), page));
    for (path, contents) in scripts.chain(pages) {
        let path = args.dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The man pages: `grpcx.1`, then one per visible subcommand.
pub fn man_pages() -> Vec<(String, String)> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    pages_of(&cmd)
}

fn pages_of(cmd: &clap::Command) -> Vec<(String, String)> {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    let mut pages = vec![(format!("{name}.1"), man_page(cmd))];
    let visible = cmd.get_subcommands().filter(|sub| !sub.is_hide_set());
    pages.extend(visible.flat_map(pages_of));
    pages
}

/// One page: clap_mangen's sections, with the after-help text set as
/// sections of its own instead of clap_mangen's filled EXTRA.
fn man_page(cmd: &clap::Command) -> String {
    let after = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(|text| text.to_string());
    let man = Man::new(
        cmd.clone()
            .after_help(None::<&str>)
            .after_long_help(None::<&str>),
    )
    .source(concat!("grpcx ", env!("CARGO_PKG_VERSION")));
    // Each section renders with roff's preamble; the page keeps one.
    let preamble = Roff::new().render();
    let mut page = preamble.clone();
    let mut section = |render: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut out = Vec::new();
        render(&mut out).expect("rendering to memory cannot fail");
        let text = String::from_utf8(out).expect("man pages are UTF-8");
        page.push_str(text.strip_prefix(&preamble).unwrap_or(&text));
    };
    section(&|out| man.render_title(out));
    section(&|out| man.render_name_section(out));
    section(&|out| man.render_synopsis_section(out));
    section(&|out| man.render_description_section(out));
    if cmd.get_arguments().any(|arg| !arg.is_hide_set()) {
        section(&|out| man.render_options_section(out));
    }
    if cmd.has_subcommands() {
        section(&|out| man.render_subcommands_section(out));
    }
    if let Some(after) = &after {
        section(&|out| after_help(after).to_writer(out));
    }
    if cmd.get_version().is_some() {
        section(&|out| man.render_version_section(out));
    }
    page
}

/// The after-help text as man sections: `Examples:` and `Exit codes:` open
/// EXAMPLES and EXIT STATUS; the lines are kept as they are (no filling).
fn after_help(text: &str) -> Roff {
    let mut roff = Roff::new();
    let mut open = false;
    for line in text.lines() {
        let heading = match line {
            "Examples:" => Some("EXAMPLES"),
            "Exit codes:" => Some("EXIT STATUS"),
            _ => None,
        };
        match heading {
            Some(heading) => {
                if open {
                    roff.control("fi", []);
                }
                roff.control("SH", [heading]);
                roff.control("nf", []);
                open = true;
            }
            None => {
                if !open {
                    roff.control("nf", []);
                    open = true;
                }
                roff.text([roman(line)]);
            }
        }
    }
    if open {
        roff.control("fi", []);
    }
    roff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_visible_subcommand_has_a_page() {
        let names: Vec<String> = man_pages().into_iter().map(|(name, _)| name).collect();
        for name in [
            "grpcx.1",
            "grpcx-call.1",
            "grpcx-list.1",
            "grpcx-describe.1",
        ] {
            assert!(names.iter().any(|n| n == name), "{names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    }

    #[test]
    fn the_exit_code_table_keeps_its_lines() {
        let (_, call) = man_pages()
            .into_iter()
            .find(|(name, _)| name == "grpcx-call.1")
            .unwrap();
        let table = &call[call.find(".SH \"EXIT STATUS\"").expect("EXIT STATUS")..];
        assert!(table.starts_with(".SH \"EXIT STATUS\"\n.nf\n"), "{table}");
        assert!(table.contains("\n  64+N    the server answered"), "{table}");
        // One .TH and one preamble per page.
        assert_eq!(call.matches(".TH ").count(), 1);
        assert_eq!(call.matches(".ds Aq").count(), 2, "{call}");
    }
}
