//! The command line as plain data: clap derive structs whose `///` comments
//! are the help text. Cross-flag checks live here too, raised as clap errors
//! so every usage error looks alike and exits 2.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  grpcx serve &
  grpcx list localhost:50051
  grpcx call localhost:50051 helloworld.Greeter/SayHello '{\"name\":\"you\"}'
  grpcx call localhost:50051 helloworld.Greeter/SayHelloStreamReply -d '{\"name\":\"you\"}' | jq -r .message
  printf '{\"name\":\"a\"}\\n{\"name\":\"b\"}\\n' | grpcx call localhost:50051 helloworld.Greeter/SayHelloBidiStream -d @-
  grpcx call --proto api/shop.proto -I api shop.example.com:443 shop.v1.Orders/Get -d @order.json
  grpcx demo";

const EXIT_CODES: &str = "\
Exit codes:
  0       the call succeeded (a closed stdout, as in `| head -1`, is a normal end)
  1       a local error: bad JSON, unknown method, schema error, unreadable file
  2       a usage error: unknown flag, missing argument
  64+N    the server answered with gRPC status N, for example:
            65 Cancelled, 67 InvalidArgument, 68 DeadlineExceeded, 69 NotFound,
            71 PermissionDenied, 76 Unimplemented, 77 Internal,
            78 Unavailable (also: connection refused), 80 Unauthenticated";

/// A fast, pipeline-friendly gRPC client.
///
/// Calls any method of any gRPC server without generated code. The schema
/// comes from .proto files, protosets, or the server's reflection service.
#[derive(Debug, Parser)]
#[command(name = "grpcx", version, after_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Call a method: unary, server streaming, client streaming or bidi.
    #[command(after_help = EXIT_CODES)]
    Call(CallArgs),
    /// List the services of a server or schema, or the methods of one service.
    List(ListArgs),
    /// Run the bundled greeter server (with reflection and health).
    Serve(ServeArgs),
    /// A one-command tour: starts the bundled server and calls it.
    Demo,
}

/// Where the schema comes from. With neither --proto nor --protoset, the
/// server's reflection service is asked (grpc.reflection.v1, then v1alpha).
#[derive(Debug, Args, Clone, Default)]
pub struct SchemaArgs {
    /// A .proto file to parse (repeatable). Its directory becomes an import
    /// root when it lies outside every -I.
    #[arg(long = "proto", value_name = "FILE")]
    pub protos: Vec<PathBuf>,

    /// A directory to resolve imports from (repeatable).
    #[arg(short = 'I', long = "import-path", value_name = "DIR")]
    pub import_paths: Vec<PathBuf>,

    /// A binary FileDescriptorSet, as `protoc --descriptor_set_out
    /// --include_imports` writes it (repeatable).
    #[arg(long = "protoset", value_name = "FILE")]
    pub protosets: Vec<PathBuf>,
}

impl SchemaArgs {
    /// True when the schema comes from files rather than reflection.
    pub fn is_offline(&self) -> bool {
        !self.protos.is_empty() || !self.protosets.is_empty()
    }
}

/// How to reach the server.
#[derive(Debug, Args, Clone)]
pub struct ConnArgs {
    /// Seconds to wait for the connection to be established.
    #[arg(long, value_name = "SECS", default_value = "10")]
    pub connect_timeout: f64,

    /// A request header, `name: value` (repeatable). Names are lowercased;
    /// values of `-bin` keys are base64.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
}

/// How responses are printed.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Output format: `auto` is pretty JSON on a terminal and one compact
    /// JSON object per line otherwise.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Auto,
    Json,
    Ndjson,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The server: `host:port` or `http://host:port`.
    pub target: String,

    /// The method: `package.Service/Method` or `package.Service.Method`.
    pub method: String,

    /// The request: inline JSON, `@file`, or `@-` for stdin. A sequence of
    /// JSON objects (NDJSON or concatenated) streams to client-streaming and
    /// bidi methods. With no data, unary and server-streaming methods send `{}`.
    #[arg(value_name = "DATA", conflicts_with = "data")]
    pub data_positional: Option<String>,

    /// The request, as DATA above.
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Option<String>,

    #[command(flatten)]
    pub schema: SchemaArgs,

    #[command(flatten)]
    pub conn: ConnArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

impl CallArgs {
    /// The DATA argument, from whichever place it was given.
    pub fn data(&self) -> Option<&str> {
        self.data.as_deref().or(self.data_positional.as_deref())
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The server; may be left out when --proto or --protoset is given.
    pub target: Option<String>,

    /// A service whose methods to list (in declaration order).
    pub service: Option<String>,

    #[command(flatten)]
    pub schema: SchemaArgs,

    #[command(flatten)]
    pub conn: ConnArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub addr: String,

    /// Do not serve the reflection service.
    #[arg(long)]
    pub no_reflection: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_may_follow_positionals() {
        let cli = Cli::try_parse_from([
            "grpcx",
            "call",
            "localhost:1",
            "a.B/C",
            "{}",
            "--proto",
            "x.proto",
        ])
        .unwrap();
        let Command::Call(args) = cli.command else {
            panic!("not a call")
        };
        assert_eq!(args.data(), Some("{}"));
        assert_eq!(args.schema.protos, [PathBuf::from("x.proto")]);
    }

    #[test]
    fn data_twice_is_a_usage_error() {
        let err =
            Cli::try_parse_from(["grpcx", "call", "h:1", "a.B/C", "{}", "-d", "{}"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
