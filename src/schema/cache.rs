//! The descriptor cache: the files reflection gave for one service of one
//! target, kept on disk so that the next call can start without waiting for
//! reflection (which still runs, to re-validate; see `warm.rs`).
//!
//! Where: `$XDG_CACHE_HOME/grpcx`, else `~/.cache/grpcx`; the directory is
//! 0700 and every entry 0600. An entry is keyed by the target (scheme, host,
//! port, authority) and the symbol, and carries its key: a file found under
//! the right name but holding another key is a miss, so one target's entry is
//! never used for another. Entries are written to a temporary file and
//! renamed into place, so two processes writing one entry never mix their
//! bytes, and a reader sees a whole entry or none. A corrupt or truncated
//! entry (the length and checksum in its header catch both) is a miss, and
//! the next store replaces it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use prost::Message as _;
use prost_types::{FileDescriptorProto, FileDescriptorSet};

use crate::transport::{Address, Target};

const MAGIC: &str = "grpcx descriptor cache 1";

/// The cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

/// Which server an entry belongs to: one line of text, stored in the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key(String);

impl Key {
    /// `scheme host port authority`: everything that picks the server and
    /// what it is asked for.
    pub fn new(target: &Target, tls: bool, authority: Option<&str>) -> Key {
        let (scheme, host, port) = match &target.address {
            Address::Tcp { host, port } => {
                let scheme = if tls { "https" } else { "http" };
                (scheme, host.to_ascii_lowercase(), port.to_string())
            }
            Address::Unix(path) => {
                let scheme = if tls { "unix+tls" } else { "unix" };
                (scheme, path.display().to_string(), String::new())
            }
        };
        let authority = authority.map_or_else(|| target.authority(), str::to_string);
        Key(format!("{scheme} {host:?} {port} {authority:?}"))
    }
}

impl Cache {
    /// The cache of this user: `$XDG_CACHE_HOME/grpcx`, else
    /// `$HOME/.cache/grpcx`. None when neither variable is set.
    pub fn open() -> Option<Cache> {
        let base = match std::env::var_os("XDG_CACHE_HOME") {
            Some(dir) if !dir.is_empty() && Path::new(&dir).is_absolute() => PathBuf::from(dir),
            _ => PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?).join(".cache"),
        };
        Some(Cache {
            dir: base.join("grpcx"),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &Key, symbol: &str) -> PathBuf {
        let hash = fnv1a(format!("{}\n{symbol}", key.0).as_bytes());
        self.dir.join(format!("{hash:016x}.fds"))
    }

    /// The files stored for `symbol` at `key`; None for a miss, which a
    /// corrupt, truncated or foreign entry also is.
    pub fn load(&self, key: &Key, symbol: &str) -> Option<Vec<FileDescriptorProto>> {
        let bytes = fs::read(self.path(key, symbol)).ok()?;
        decode(&bytes, key, symbol)
    }

    /// Stores the files for `symbol` at `key`, replacing any entry.
    pub fn store(&self, key: &Key, symbol: &str, files: &[FileDescriptorProto]) -> Result<()> {
        let bytes = encode(key, symbol, files);
        crate::private::replace(&self.path(key, symbol), |tmp| {
            crate::private::write_new(tmp, &bytes)
        })
    }

    /// Forgets the entry for `symbol` at `key`.
    pub fn remove(&self, key: &Key, symbol: &str) {
        let _ = fs::remove_file(self.path(key, symbol));
    }

    /// Removes every entry; says how many there were.
    pub fn clear(&self) -> Result<usize> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(err) => {
                return Err(err).with_context(|| format!("cannot read {}", self.dir.display()));
            }
        };
        let mut removed = 0;
        for entry in entries {
            let path = entry?.path();
            let extension = path.extension().and_then(|ext| ext.to_str());
            if matches!(extension, Some("fds" | "tmp")) {
                fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
                removed += usize::from(extension == Some("fds"));
            }
        }
        Ok(removed)
    }
}

/// An entry: a text header (magic, key, symbol, length and checksum of the
/// body), a blank line, then the files as a FileDescriptorSet.
fn encode(key: &Key, symbol: &str, files: &[FileDescriptorProto]) -> Vec<u8> {
    let body = FileDescriptorSet {
        file: files.to_vec(),
    }
    .encode_to_vec();
    let mut bytes = format!(
        "{MAGIC}\nkey {}\nsymbol {symbol}\nlength {}\ncheck {:016x}\n\n",
        key.0,
        body.len(),
        fnv1a(&body)
    )
    .into_bytes();
    bytes.extend_from_slice(&body);
    bytes
}

fn decode(bytes: &[u8], key: &Key, symbol: &str) -> Option<Vec<FileDescriptorProto>> {
    let split = bytes.windows(2).position(|w| w == b"\n\n")?;
    let header = std::str::from_utf8(&bytes[..split]).ok()?;
    let body = &bytes[split + 2..];
    let mut lines = header.lines();
    if lines.next()? != MAGIC
        || lines.next()?.strip_prefix("key ")? != key.0
        || lines.next()?.strip_prefix("symbol ")? != symbol
        || lines
            .next()?
            .strip_prefix("length ")?
            .parse::<usize>()
            .ok()?
            != body.len()
        || lines.next()?.strip_prefix("check ")? != format!("{:016x}", fnv1a(body))
    {
        return None;
    }
    let set = FileDescriptorSet::decode(body).ok()?;
    (!set.file.is_empty()).then_some(set.file)
}

/// FNV-1a, 64 bits: names entries and checks their bodies (not a defence
/// against tampering: the directory is the user's own).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(text: &str) -> Target {
        Target::parse(text).unwrap()
    }

    fn file(name: &str) -> FileDescriptorProto {
        FileDescriptorProto {
            name: Some(name.into()),
            package: Some("p".into()),
            ..Default::default()
        }
    }

    fn cache() -> (tempfile::TempDir, Cache) {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache {
            dir: dir.path().join("grpcx"),
        };
        (dir, cache)
    }

    #[test]
    fn keys_tell_targets_apart() {
        let a = Key::new(&target("localhost:1"), false, None);
        assert_ne!(a, Key::new(&target("localhost:2"), false, None));
        assert_ne!(a, Key::new(&target("localhost:1"), true, None));
        assert_ne!(a, Key::new(&target("127.0.0.1:1"), false, None));
        assert_ne!(a, Key::new(&target("localhost:1"), false, Some("other")));
        assert_eq!(a, Key::new(&target("http://localhost:1"), false, None));
    }

    #[test]
    fn an_entry_is_read_back_only_for_its_key_and_symbol() {
        let (_dir, cache) = cache();
        let key = Key::new(&target("localhost:1"), false, None);
        cache.store(&key, "p.S", &[file("a.proto")]).unwrap();
        assert_eq!(cache.load(&key, "p.S").unwrap(), vec![file("a.proto")]);
        assert!(cache.load(&key, "p.T").is_none());
        let other = Key::new(&target("localhost:2"), false, None);
        assert!(cache.load(&other, "p.S").is_none());
        // A foreign entry under the right name is a miss too.
        fs::copy(cache.path(&key, "p.S"), cache.path(&other, "p.S")).unwrap();
        assert!(cache.load(&other, "p.S").is_none());
    }

    #[cfg(unix)]
    #[test]
    fn the_directory_and_entries_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let (_dir, cache) = cache();
        let key = Key::new(&target("localhost:1"), false, None);
        cache.store(&key, "p.S", &[file("a.proto")]).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(cache.dir()), 0o700);
        assert_eq!(mode(&cache.path(&key, "p.S")), 0o600);
    }

    #[test]
    fn corrupt_and_truncated_entries_are_misses_and_get_replaced() {
        let (_dir, cache) = cache();
        let key = Key::new(&target("localhost:1"), false, None);
        cache.store(&key, "p.S", &[file("a.proto")]).unwrap();
        let path = cache.path(&key, "p.S");
        let whole = fs::read(&path).unwrap();
        for cut in 0..whole.len() {
            fs::write(&path, &whole[..cut]).unwrap();
            assert!(cache.load(&key, "p.S").is_none(), "cut at {cut}");
        }
        let mut flipped = whole.clone();
        *flipped.last_mut().unwrap() ^= 0x40;
        fs::write(&path, &flipped).unwrap();
        assert!(cache.load(&key, "p.S").is_none());
        cache.store(&key, "p.S", &[file("b.proto")]).unwrap();
        assert_eq!(cache.load(&key, "p.S").unwrap(), vec![file("b.proto")]);
    }

    #[test]
    fn clear_removes_every_entry() {
        let (_dir, cache) = cache();
        assert_eq!(cache.clear().unwrap(), 0);
        let key = Key::new(&target("localhost:1"), false, None);
        cache.store(&key, "p.S", &[file("a.proto")]).unwrap();
        cache.store(&key, "p.T", &[file("a.proto")]).unwrap();
        assert_eq!(cache.clear().unwrap(), 2);
        assert!(cache.load(&key, "p.S").is_none());
    }

    proptest::proptest! {
        /// Any bytes in an entry's place are a miss or an entry, never a panic.
        #[test]
        fn any_bytes_decode_or_miss(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let key = Key::new(&target("localhost:1"), false, None);
            let _ = decode(&bytes, &key, "p.S");
        }
    }
}
