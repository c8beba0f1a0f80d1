//! Compiles `proto/` with protox (no protoc needed): Rust types and tonic
//! servers for the bundled greeter, plus the encoded descriptor set that its
//! reflection service serves; and a separate descriptor set of the
//! `google.rpc` status and error-detail types, which the client uses to decode
//! `grpc-status-details-bin` without any schema from the server.
//!
//! It also hands the linker `bench/startup.order`, the functions short
//! commands run, to lay out together (`bench/startup_order.py` says why).

use std::path::{Path, PathBuf};

const PROTOS: &[&str] = &[
    "helloworld.proto",
    "grpcx/test/v1/everything.proto",
    "grpcx/test/v1/note.proto",
    "nopkg.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=third_party/googleapis/google/rpc");
    let fds = protox::compile(PROTOS, ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("grpcx_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    let rpc = protox::compile(
        ["google/rpc/status.proto", "google/rpc/error_details.proto"],
        ["third_party/googleapis"],
    )?;
    std::fs::write(
        out.join("google_rpc_descriptor.bin"),
        prost::Message::encode_to_vec(&rpc),
    )?;
    startup_order()?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}

/// Passes `bench/startup.order` to the linker where it is rust-lld: the
/// default linker of x86_64 Linux since Rust 1.90, unless the build names
/// another (GNU ld has no `--symbol-ordering-file`).
fn startup_order() -> Result<(), Box<dyn std::error::Error>> {
    const ORDER: &str = "bench/startup.order";
    println!("cargo:rerun-if-changed={ORDER}");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    // A linker named in cargo's config or environment (RUSTC_LINKER), or
    // in rustc's flags (`-C linker=`, `-C linker-features=`).
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let other_linker = flags.contains("linker") || std::env::var_os("RUSTC_LINKER").is_some();
    let order = Path::new(&std::env::var("CARGO_MANIFEST_DIR")?).join(ORDER);
    if std::env::var("TARGET")? != "x86_64-unknown-linux-gnu"
        || other_linker
        || rustc_minor()? < 90
        || !order.exists()
    {
        return Ok(());
    }
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    // The linker reads the file, cargo does not: a new order must change
    // this script's output, or the binary would not be linked again.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&std::fs::read(&order)?, &mut hasher);
    let hash = std::hash::Hasher::finish(&hasher);
    println!("cargo:rustc-env=GRPCX_STARTUP_ORDER={hash:x}");
    // Names the build does not have (a stale line) are passed over.
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    Ok(())
}

/// The minor version of the compiler building us (`rustc 1.95.0 ...`: 95).
fn rustc_minor() -> Result<u32, Box<dyn std::error::Error>> {
    let rustc = std::env::var("RUSTC")?;
    let out = std::process::Command::new(rustc)
        .arg("--version")
        .output()?;
    let version = String::from_utf8(out.stdout)?;
    let minor = version
        .split(['.', ' '])
        .nth(2)
        .and_then(|m| m.parse().ok());
    Ok(minor.unwrap_or(0))
}
