//! Files only their owner may read, as grpcx keeps them (the descriptor
//! cache, the UI's history, the shell's history): a 0700 directory, 0600
//! files, and a file replaced whole (written to a temporary file beside it,
//! then renamed into place), so that no reader, and no crash, sees a torn
//! one.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};

/// Creates `path` (which must not exist) readable by its owner alone, and
/// writes `bytes` to it. No fsync: a file a crash left torn is the caller's
/// to detect (the cache checks a checksum; the histories start afresh).
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Replaces `path` whole: its directory made private, then `write` fills a
/// temporary file beside it (given its path), which is renamed into place.
/// The temporary file is removed when anything fails.
pub fn replace(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // 0700, also when it was there already.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {}", dir.display()))?;
    }
    let name = path.file_name().unwrap_or_default().display();
    let nanos = std::time::UNIX_EPOCH
        .elapsed()
        .unwrap_or_default()
        .subsec_nanos();
    let tmp = dir.join(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    let written = write(&tmp).and_then(|()| {
        fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
    });
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}
