//! The arguments of `grpcx serve`: where it listens, and what it serves
//! (the bundled greeter, a mock of any schema from stub files, or a
//! recording proxy). Plain data, as the rest of the CLI (`cli.rs`).

use std::path::PathBuf;

use clap::Args;

use super::{ConnArgs, SchemaArgs};

pub(super) const SERVE_NOTES: &str = "\
Examples:
  grpcx serve                                   the greeter, on 127.0.0.1:50051
  grpcx serve --proto shop.proto --stubs stubs/ --log calls.ndjson
  grpcx serve --schema-from localhost:9000 --stubs stubs.yaml --addr 127.0.0.1:0
  grpcx serve --record stubs/ --upstream shop.internal:443 --addr 127.0.0.1:0

A stub file (JSON or YAML) holds one stub or a list of them:
  {\"method\": \"shop.v1.Shop/Get\",
   \"when\": {\"contains\": {\"id\": \"o-1\"}, \"headers\": {\"x-team\": \"blue\"}},
   \"then\": {\"message\": {\"id\": \"{{request.id}}\", \"note\": \"call {{count}}\"},
            \"headers\": {\"x-served-by\": \"mock\"}, \"trailers\": {\"x-cost\": \"7\"}}}
README.md (\"Mock server\") describes every rule. The first line on stdout is
`LISTENING ADDRESS` once the server takes calls.

Exit codes: 0 stopped by Ctrl-C or SIGTERM; 1 the schema or a stub file is
broken, or the address cannot be listened on; 2 a usage error; 78 the
server of --schema-from or --upstream cannot be reached.";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub addr: String,

    /// Do not serve the reflection service.
    #[arg(long)]
    pub no_reflection: bool,

    /// Listen on this unix socket instead of --addr.
    #[arg(long, value_name = "PATH")]
    pub unix: Option<PathBuf>,

    /// Serve TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Require client certificates signed by this CA (PEM); needs --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,

    #[command(flatten)]
    pub mock: MockArgs,

    /// How to reach --upstream and --schema-from (TLS, headers, time limits).
    #[command(flatten)]
    pub upstream: ConnArgs,
}

/// What a mock serves: a schema, stubs to answer from, a call log, or a
/// recording of a real server.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Mock")]
pub struct MockArgs {
    #[command(flatten)]
    pub schema: SchemaArgs,

    /// Take the schema from this running server's reflection.
    #[arg(long, value_name = "TARGET", conflicts_with_all = ["protos", "protosets"])]
    pub schema_from: Option<String>,

    /// Answer from these stubs: a .json or .yaml file, or a folder of them
    /// (read recursively). Changed files are reloaded while serving.
    #[arg(long, value_name = "PATH")]
    pub stubs: Option<PathBuf>,

    /// Write one JSON line per call (method, requests, headers, the stub
    /// that answered, status, time) to FILE, or `-` for stdout.
    #[arg(long, value_name = "FILE")]
    pub log: Option<String>,

    /// Forward every call to --upstream and write what passed as stub files
    /// into DIR, for a later `--stubs DIR` to replay.
    #[arg(
        long,
        value_name = "DIR",
        requires = "upstream_target",
        conflicts_with = "stubs"
    )]
    pub record: Option<PathBuf>,

    /// The real server --record forwards to; also the schema, by reflection,
    /// unless --proto or --protoset is given.
    #[arg(
        long = "upstream",
        value_name = "TARGET",
        id = "upstream_target",
        requires = "record"
    )]
    pub upstream: Option<String>,

    /// Serve the bundled greeter (and test services) next to the mock.
    #[arg(long)]
    pub greeter: bool,
}

impl MockArgs {
    /// Whether anything but the bundled greeter is asked for.
    pub fn is_mock(&self) -> bool {
        self.schema.is_offline()
            || self.schema_from.is_some()
            || self.stubs.is_some()
            || self.record.is_some()
    }
}
