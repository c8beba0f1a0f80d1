//! `grpcx cache`: the descriptor cache that calls by reflection keep
//! (`schema/cache.rs` owns the files).

use anyhow::{Result, anyhow};

use crate::cli::CacheCommand;
use crate::schema::cache::Cache;

pub fn run(command: CacheCommand) -> Result<()> {
    let CacheCommand::Clear = command;
    let cache = Cache::open()
        .ok_or_else(|| anyhow!("no cache directory: neither XDG_CACHE_HOME nor HOME is set"))?;
    let removed = cache.clear()?;
    let s = if removed == 1 { "y" } else { "ies" };
    eprintln!(
        "grpcx: removed {removed} entr{s} from {}",
        cache.dir().display()
    );
    Ok(())
}
