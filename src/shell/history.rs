//! The shell's history file, kept across sessions in grpcx's own state
//! directory: `$XDG_STATE_HOME/grpcx/history`, else
//! `~/.local/state/grpcx/history`.
//!
//! Written as the descriptor cache writes its entries (`schema/cache.rs`):
//! the directory is 0700 and the file 0600, and each save goes to a
//! temporary file renamed into place, so a session killed mid-write, or two
//! sessions saving at once, never leave a torn file (the last save wins).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The most entries kept.
pub const MAX_ENTRIES: usize = 1000;

/// Where the history lives.
#[derive(Debug, Clone)]
pub struct HistoryFile {
    path: PathBuf,
}

impl HistoryFile {
    /// The history file of this user; None when neither XDG_STATE_HOME nor
    /// HOME is set.
    pub fn open() -> Option<HistoryFile> {
        let base = match std::env::var_os("XDG_STATE_HOME") {
            Some(dir) if !dir.is_empty() && Path::new(&dir).is_absolute() => PathBuf::from(dir),
            _ => PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?)
                .join(".local")
                .join("state"),
        };
        Some(HistoryFile {
            path: base.join("grpcx").join("history"),
        })
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the entries into `history`; a missing or unreadable file is an
    /// empty history.
    pub fn load(&self, history: &mut impl rustyline::history::History) {
        if self.path.exists() {
            let _ = history.load(&self.path);
        }
    }

    /// Writes every entry of `history`.
    pub fn save(&self, history: &mut impl rustyline::history::History) -> Result<()> {
        // rustyline creates the file 0600 (and writes nothing when no entry
        // is new, so the file is made here first).
        crate::private::replace(&self.path, |tmp| {
            crate::private::write_new(tmp, b"")?;
            history.save(tmp).context("cannot write the history")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustyline::history::{DefaultHistory, History as _};
    use std::fs;

    #[test]
    fn saved_entries_come_back_and_the_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let file = HistoryFile {
            path: dir.path().join("state").join("grpcx").join("history"),
        };
        let mut history = DefaultHistory::new();
        history.add("call SayHello {\"name\":\"a\\\\b\"}").unwrap();
        history.add("use helloworld.Greeter").unwrap();
        file.save(&mut history).unwrap();
        let mut again = DefaultHistory::new();
        file.load(&mut again);
        let entries: Vec<&String> = again.iter().collect();
        assert_eq!(
            entries,
            [
                "call SayHello {\"name\":\"a\\\\b\"}",
                "use helloworld.Greeter"
            ]
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(file.path()), 0o600);
            assert_eq!(mode(file.path().parent().unwrap()), 0o700);
        }
        // Nothing is left beside it.
        let names: Vec<_> = fs::read_dir(file.path().parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["history"]);
    }
}
