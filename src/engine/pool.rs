//! The pool: the connections (of the chosen `--protocol`) the engine's calls share, opened once
//! (concurrently) and handed out round-robin by index.

use anyhow::Result;

use crate::cli::ConnArgs;
use crate::protocol::{self, Channel};
use crate::transport::Target;
use crate::verbose::Verbose;

/// A fixed set of connections to one target.
pub struct Pool {
    channels: Vec<Channel>,
}

impl Pool {
    /// A pool of the one connection already open.
    pub fn single(channel: Channel) -> Pool {
        Pool {
            channels: vec![channel],
        }
    }

    /// `first` (already open, e.g. by schema resolution) and `count - 1`
    /// more connections, opened at once. Any failure fails the whole pool.
    pub async fn connect(
        first: Channel,
        target: &Target,
        args: &ConnArgs,
        count: usize,
    ) -> Result<Pool> {
        // Only the first connection is shown by -v.
        let quiet = Verbose::new(0);
        let more = (1..count).map(|_| protocol::connect(target, args, &quiet));
        let mut channels = vec![first];
        channels.extend(futures_util::future::try_join_all(more).await?);
        Ok(Pool { channels })
    }

    /// Connection `index`, modulo the pool's size.
    pub fn get(&self, index: usize) -> Channel {
        self.channels[index % self.channels.len()].clone()
    }
}
