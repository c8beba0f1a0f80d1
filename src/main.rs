//! The grpcx binary: parse, run, print the error once, exit with its code.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = grpcx::cli::Cli::parse();
    match grpcx::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => grpcx::error::report(&err),
    }
}
