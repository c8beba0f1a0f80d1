//! grpcx: a fast, pipeline-friendly command-line gRPC client.
//!
//! `main.rs` parses the command line and calls [`run`]; everything else is
//! here so that the commands and the bundled server can share it. Only what
//! `main.rs` needs is public, so that the compiler reports dead code.

mod calling;
pub mod cli;
mod codec;
mod commands;
mod describe;
mod engine;
pub mod error;
mod input;
pub mod invoke; // public for bench/ceiling.rs
mod metadata;
mod mock;
mod output;
mod private;
mod protocol;
mod report;
mod required;
mod scan;
mod schema;
pub mod server; // public for bench/ceiling.rs
mod shell;
mod status;
mod template;
#[cfg(test)]
mod testing;
mod tls;
mod transcode;
pub mod transport; // public for bench/ceiling.rs
mod ui;
mod verbose;

use std::time::Duration;

use anyhow::{Context, Result};

use cli::Command;
use error::Interrupted;

/// Runs a parsed command line. Client commands run on a current-thread
/// runtime (cheaper to start, and a CLI has one call to make); the server
/// gets a multi-threaded one.
pub fn run(command: Command) -> Result<()> {
    // A client command's work is done when its future is: what the runtime
    // still holds then (the connection's task and its buffers) is left to
    // the process's exit, which comes sooner so (README). The commands that
    // serve, or keep files and sessions (`serve`, `ui`, `shell`, `bench`),
    // still shut their runtime down in order.
    let left_to_exit = matches!(
        command,
        Command::Call(_)
            | Command::List(_)
            | Command::Describe(_)
            | Command::Convert(_)
            | Command::Health(_)
    );
    let runtime = match command {
        Command::Serve(_) => tokio::runtime::Builder::new_multi_thread(),
        _ => tokio::runtime::Builder::new_current_thread(),
    }
    .enable_all()
    .build()
    .context("cannot start the async runtime")?;
    let result = runtime.block_on(dispatch(command));
    if left_to_exit {
        std::mem::forget(runtime);
    }
    result
}

/// Runs one command on the current runtime.
pub async fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Call(args) => interruptible(commands::call::run(args)).await,
        Command::List(args) => interruptible(commands::list::run(args)).await,
        Command::Describe(args) => interruptible(commands::describe::run(args)).await,
        // The shell handles Ctrl-C itself: it cancels the call, not the session.
        Command::Shell(args) => commands::shell::run(args).await,
        Command::Serve(args) => server::run(args).await,
        // Bench handles Ctrl-C itself: it prints the report of what finished.
        Command::Bench(args) => commands::bench::run(args).await,
        Command::Demo => commands::demo::run().await,
        Command::Ui(args) => commands::ui::run(args).await,
        Command::Completions(args) => commands::completions::print(args),
        Command::Complete(args) => commands::completions::complete(args).await,
        Command::Generate(args) => commands::generate::run(args),
        Command::Cache(command) => commands::cache::run(command),
        Command::Convert(args) => interruptible(commands::convert::run(args)).await,
        Command::Conformance(args) => commands::conformance::run(args).await,
        Command::Health(args) => interruptible(commands::health::run(args)).await,
    }
}

/// Runs a client command until it ends or Ctrl-C comes. Ctrl-C drops the
/// command, which cancels its call (HTTP/2 RST_STREAM), then gives the
/// connection a moment to send that before the process exits (130).
async fn interruptible(command: impl Future<Output = Result<()>>) -> Result<()> {
    let mut command = Box::pin(command);
    tokio::select! {
        result = &mut command => return result,
        _ = tokio::signal::ctrl_c() => {}
    }
    drop(command);
    tokio::time::sleep(Duration::from_millis(100)).await;
    Err(Interrupted.into())
}
