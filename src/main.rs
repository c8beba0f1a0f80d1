//! The grpcx binary: parse, run, print the error once, exit with its code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = grpcx::cli::Cli::from_env();
    grpcx::error::set_format(cli.error_format);
    match grpcx::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => grpcx::error::report(&err),
    }
}
