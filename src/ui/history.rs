//! The history of the calls made from the page, kept across restarts.
//!
//! Where: `$XDG_DATA_HOME/grpcx/ui-history.json`, else
//! `~/.local/share/grpcx/ui-history.json`. The directory is 0700 and the
//! file 0600 (requests and metadata may hold secrets); it is written to a
//! temporary file and renamed into place, as the descriptor cache is, so a
//! reader sees the old history or the new one, never half of one. The newest
//! [`KEEP`] calls are kept. Two pages writing at once may each lose the
//! other's last entry, never the file.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::{Value, json};

/// How many calls are kept.
pub const KEEP: usize = 200;

/// One call made from the page: enough to show it and make it again.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Milliseconds since the Unix epoch, when the call ended.
    pub time: u64,
    /// The target as given to `grpcx ui` (`""` for the bundled server).
    pub target: String,
    /// `package.Service/Method`.
    pub method: String,
    /// The request messages, as the JSON texts sent.
    pub messages: Vec<String>,
    /// Request metadata added on the page, as `[name, value]`.
    pub metadata: Vec<(String, String)>,
    /// The status code's name, as `OK` or `NOT_FOUND`.
    pub status: String,
    pub elapsed_ms: u64,
}

impl Entry {
    /// The entry as the page and the file hold it.
    pub fn to_json(&self) -> Value {
        json!({
            "time": self.time,
            "target": self.target,
            "method": self.method,
            "messages": self.messages,
            "metadata": self.metadata,
            "status": self.status,
            "elapsedMs": self.elapsed_ms,
        })
    }

    /// Reads an entry back; None for one that is not whole.
    pub fn from_json(value: &Value) -> Option<Entry> {
        let text = |key: &str| value.get(key)?.as_str().map(str::to_string);
        let texts = |v: &Value| -> Option<Vec<String>> {
            v.as_array()?
                .iter()
                .map(|t| t.as_str().map(str::to_string))
                .collect()
        };
        let metadata = match value.get("metadata") {
            Some(list) => list
                .as_array()?
                .iter()
                .map(|pair| {
                    let pair = texts(pair)?;
                    match <[String; 2]>::try_from(pair) {
                        Ok([name, value]) => Some((name, value)),
                        Err(_) => None,
                    }
                })
                .collect::<Option<Vec<_>>>()?,
            None => Vec::new(),
        };
        Some(Entry {
            time: value.get("time")?.as_u64()?,
            target: text("target")?,
            method: text("method")?,
            messages: texts(value.get("messages")?)?,
            metadata,
            status: text("status")?,
            elapsed_ms: value.get("elapsedMs")?.as_u64()?,
        })
    }
}

/// The history file.
#[derive(Debug, Clone)]
pub struct History {
    path: PathBuf,
}

impl History {
    /// The history of this user; None when neither XDG_DATA_HOME nor HOME
    /// is set (the page then keeps no history).
    pub fn open() -> Option<History> {
        let base = match std::env::var_os("XDG_DATA_HOME") {
            Some(dir) if !dir.is_empty() && Path::new(&dir).is_absolute() => PathBuf::from(dir),
            _ => PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?)
                .join(".local/share"),
        };
        Some(History::at(base.join("grpcx").join("ui-history.json")))
    }

    pub fn at(path: PathBuf) -> History {
        History { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every entry, newest first. A missing or unreadable file is an empty
    /// history (an unreadable one is replaced at the next call).
    pub fn load(&self) -> Vec<Entry> {
        let Some(Value::Array(values)) = fs::read(&self.path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        else {
            return Vec::new();
        };
        values.iter().filter_map(Entry::from_json).collect()
    }

    /// Adds an entry in front, keeping the newest [`KEEP`].
    pub fn add(&self, entry: Entry) -> Result<()> {
        let mut entries = self.load();
        entries.insert(0, entry);
        entries.truncate(KEEP);
        let values: Vec<Value> = entries.iter().map(Entry::to_json).collect();
        let bytes = serde_json::to_vec_pretty(&values)?;
        crate::private::replace(&self.path, |tmp| crate::private::write_new(tmp, &bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u64) -> Entry {
        Entry {
            time: n,
            target: "localhost:50051".into(),
            method: "helloworld.Greeter/SayHello".into(),
            messages: vec![format!("{{\"name\":\"{n}\"}}")],
            metadata: vec![("x-a".into(), "b".into())],
            status: "OK".into(),
            elapsed_ms: 3,
        }
    }

    #[test]
    fn entries_come_back_newest_first_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::at(dir.path().join("grpcx/ui-history.json"));
        assert!(history.load().is_empty());
        history.add(entry(1)).unwrap();
        history.add(entry(2)).unwrap();
        assert_eq!(history.load(), vec![entry(2), entry(1)]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.path().join("grpcx")), 0o700);
            assert_eq!(mode(history.path()), 0o600);
        }
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path().join("grpcx")).unwrap().count(), 1);
    }

    #[test]
    fn only_the_newest_are_kept_and_a_corrupt_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::at(dir.path().join("h.json"));
        fs::write(history.path(), b"{not json").unwrap();
        assert!(history.load().is_empty());
        for n in 0..(KEEP as u64 + 5) {
            history.add(entry(n)).unwrap();
        }
        let entries = history.load();
        assert_eq!(entries.len(), KEEP);
        assert_eq!(entries[0].time, KEEP as u64 + 4);
    }
}
