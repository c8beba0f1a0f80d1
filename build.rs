//! Compiles `proto/` with protox (no protoc needed): Rust types and tonic
//! servers for the bundled greeter, plus the encoded descriptor set that its
//! reflection service serves; and a separate descriptor set of the
//! `google.rpc` status and error-detail types, which the client uses to decode
//! `grpc-status-details-bin` without any schema from the server.

use std::path::PathBuf;

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
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
