//! grpcx: a fast, pipeline-friendly command-line gRPC client.
//!
//! `main.rs` parses the command line and calls [`run`]; everything else is
//! here so that tests and the bundled server can share it.

pub mod cli;
pub mod codec;
pub mod commands;
pub mod error;
pub mod input;
pub mod invoke;
pub mod metadata;
pub mod output;
pub mod schema;
pub mod server;
pub mod transport;

use anyhow::{Context, Result};

use cli::Command;

/// Runs a parsed command line. Client commands run on a current-thread
/// runtime (cheaper to start, and a CLI has one call to make); the server
/// gets a multi-threaded one.
pub fn run(command: Command) -> Result<()> {
    let runtime = match command {
        Command::Serve(_) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    }
    .context("cannot start the async runtime")?;
    runtime.block_on(dispatch(command))
}

/// Runs one command on the current runtime.
pub async fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Call(args) => commands::call::run(args).await,
        Command::List(args) => commands::list::run(args).await,
        Command::Serve(args) => server::run(args).await,
        Command::Demo => commands::demo::run().await,
    }
}
