//! The command line as plain data: clap derive structs whose `///` comments
//! are the help text. Cross-flag checks live here too, raised as clap errors
//! so every usage error looks alike and exits 2.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod bench;
mod serve;
mod tools;

use bench::BENCH_NOTES;
pub use bench::{BenchArgs, BenchFormat};
use serve::SERVE_NOTES;
pub use serve::{MockArgs, ServeArgs};
use tools::{CONVERT_NOTES, HEALTH_NOTES, SHELL_HELP};
pub use tools::{ConformanceArgs, ConvertArgs, Form, HealthArgs, ShellArgs, UiArgs};

const EXAMPLES: &str = "\
Examples:
  grpcx serve &
  grpcx list localhost:50051
  grpcx call localhost:50051 helloworld.Greeter/SayHello '{\"name\":\"you\"}'
  grpcx call localhost:50051 helloworld.Greeter/SayHelloStreamReply -d '{\"name\":\"you\"}' | jq -r .message
  printf '{\"name\":\"a\"}\\n{\"name\":\"b\"}\\n' | grpcx call localhost:50051 helloworld.Greeter/SayHelloBidiStream -d @-
  grpcx call --proto api/shop.proto -I api shop.example.com:443 shop.v1.Orders/Get -d @order.json
  grpcx call -H @auth.headers --max-time 5 -v api.example.com:443 shop.v1.Orders/Get '{\"id\":1}'
  grpcx call --cacert ca.pem --cert me.pem --key me.key https://10.0.0.7:8443 shop.v1.Orders/Get
  grpcx call unix:/run/app.sock grpc.health.v1.Health/Check
  grpcx call --envelope --error-format json localhost:50051 helloworld.Greeter/SayHello '{}' | jq -c .
  source <(grpcx completions bash)      # tab-completes flags, services and methods
  grpcx demo";

const EXIT_CODES: &str = "\
Exit codes:
  0       the call succeeded (a closed stdout, as in `| head -1`, is a normal end)
  1       a local error: bad JSON, unknown method, schema error, unreadable file
  2       a usage error: unknown flag, missing argument
  64+N    the server answered with gRPC status N, for example:
            65 Cancelled, 67 InvalidArgument, 68 DeadlineExceeded, 69 NotFound,
            71 PermissionDenied, 76 Unimplemented, 77 Internal,
            78 Unavailable (also: connection refused), 80 Unauthenticated
  130     interrupted (Ctrl-C); the call is cancelled

With --error-format json, a status is one line on stderr:
  {\"code\":\"NOT_FOUND\",\"codeNumber\":5,\"message\":\"…\",\"details\":[…]}";

/// A fast, pipeline-friendly gRPC client.
///
/// Calls any method of any gRPC server without generated code. The schema
/// comes from .proto files, protosets, or the server's reflection service.
#[derive(Debug, Parser)]
#[command(name = "grpcx", version, after_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// How errors are printed on stderr: `json` prints a gRPC status as one
    /// JSON object with its details decoded (the exit code is unchanged).
    #[arg(long, global = true, value_enum, default_value_t = ErrorFormat::Text)]
    #[arg(help_heading = "Scripting")]
    pub error_format: ErrorFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ErrorFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Call a method: unary, server streaming, client streaming or bidi.
    #[command(after_help = EXIT_CODES)]
    Call(CallArgs),
    /// List the services of a server or schema, or the methods of one service.
    List(ListArgs),
    /// Show a service, method, message, enum or field as proto source, or a
    /// JSON request template.
    Describe(DescribeArgs),
    /// An interactive session on one connection that knows the schema: list,
    /// describe, call (asking for each field), headers and settings kept
    /// between calls, Tab completion and history. With stdin from a pipe it
    /// runs the commands line by line, for CI.
    #[command(after_help = SHELL_HELP)]
    Shell(ShellArgs),
    /// Run a server: the bundled greeter, or a mock of any schema answered
    /// from stub files (--stubs), with a call log (--log), or a recording
    /// proxy to a real server (--record DIR --upstream TARGET). Reflection
    /// and health are always on.
    #[command(after_help = SERVE_NOTES)]
    Serve(ServeArgs),
    /// Load-test a method: many calls over a pool of connections, closed
    /// (-c in flight) or open (--rate per second), with a latency report.
    #[command(after_help = BENCH_NOTES)]
    Bench(BenchArgs),
    /// A one-command tour: starts the bundled server and calls it.
    Demo,
    /// A web page for the schema and the calls, served by grpcx on loopback:
    /// pick a method, fill a form, watch the responses arrive. Without a
    /// TARGET (and without --proto/--protoset) it starts the bundled server.
    Ui(UiArgs),
    /// Print a shell completion script. Bash, zsh and fish also complete the
    /// services and methods of the server on the line (by reflection, or from
    /// --proto/--protoset): `source <(grpcx completions bash)`.
    Completions(CompletionsArgs),
    /// Manage the descriptor cache that calls by reflection keep
    /// ($XDG_CACHE_HOME/grpcx, else ~/.cache/grpcx).
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Convert a message between binary, JSON and text format, stdin to
    /// stdout (as `buf convert` and `protoc --encode/--decode` do).
    #[command(after_help = CONVERT_NOTES)]
    Convert(ConvertArgs),
    /// Check the health of a server or of some of its services
    /// (grpc.health.v1, as grpc_health_probe does), or follow it with --watch.
    #[command(after_help = HEALTH_NOTES)]
    Health(HealthArgs),
    /// `grpcx __complete`: kept out of the parser (see [`Cli::from_env`]) so
    /// that the completion scripts never offer it.
    #[command(skip)]
    Complete(CompleteArgs),
    /// `grpcx __generate DIR`: the completion scripts and man pages, as
    /// committed under `completions/`. Hidden like `__complete`.
    #[command(skip)]
    Generate(GenerateArgs),
    /// `grpcx __conformance`: the testee of protobuf's conformance suite.
    /// Hidden like `__complete`.
    #[command(skip)]
    Conformance(ConformanceArgs),
}

impl Cli {
    /// Parses the process's arguments. `grpcx __complete --line LINE`, which
    /// the completion scripts call, is parsed on its own.
    pub fn from_env() -> Cli {
        let args = || std::env::args_os().skip(1);
        let hidden = match std::env::args_os().nth(1).as_ref().and_then(|a| a.to_str()) {
            Some("__complete") => Some(Command::Complete(CompleteArgs::parse_from(args()))),
            Some("__generate") => Some(Command::Generate(GenerateArgs::parse_from(args()))),
            Some("__conformance") => {
                Some(Command::Conformance(ConformanceArgs::parse_from(args())))
            }
            _ => None,
        };
        if let Some(command) = hidden {
            return Cli {
                command,
                error_format: ErrorFormat::Text,
            };
        }
        // As `Cli::parse()`, but the command tree clap builds is freed before
        // the command runs, so that the command's own allocations reuse its
        // pages (leaking it was slower: README). On the way out (help,
        // version, a usage error) there is nothing to reuse them for.
        let mut command = <Cli as clap::CommandFactory>::command();
        let parsed = command
            .try_get_matches_from_mut(std::env::args_os())
            .and_then(|mut matches| {
                <Cli as clap::FromArgMatches>::from_arg_matches_mut(&mut matches)
            });
        match parsed {
            Ok(cli) => {
                drop(command);
                cli
            }
            Err(err) => {
                let err = err.format(&mut command);
                std::mem::forget(command);
                err.exit()
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Remove every cached entry.
    Clear,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print the script for.
    pub shell: clap_complete::Shell,
}

/// Completion candidates for a partial command line.
#[derive(Debug, Parser)]
#[command(name = "__complete")]
pub struct CompleteArgs {
    /// The command line up to the cursor, as one string.
    #[arg(long)]
    pub line: String,
}

/// Writes the generated files (completion scripts, man pages).
#[derive(Debug, Parser)]
#[command(name = "__generate")]
pub struct GenerateArgs {
    /// The directory to write into, e.g. `completions`.
    pub dir: PathBuf,
}

/// Where the schema comes from. With neither --proto nor --protoset, the
/// server's reflection service is asked (grpc.reflection.v1, then v1alpha).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Schema")]
pub struct SchemaArgs {
    /// A .proto file to parse (repeatable), found as protoc finds it: a path
    /// inside an -I root is named under that root, a name that is not a path
    /// is looked up in each -I root in order, and a file outside every root
    /// brings its own directory as a root. A directory loads every .proto
    /// under it, recursively, with the directory as an import root.
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

/// How to reach the server: transport, TLS, time limits, headers.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Connection")]
pub struct ConnArgs {
    /// Speak plaintext HTTP/2 (h2c), whatever the target looks like.
    #[arg(long, conflicts_with = "tls")]
    pub plaintext: bool,

    /// Speak TLS, whatever the target looks like (even on loopback).
    #[arg(long, help_heading = "TLS")]
    pub tls: bool,

    /// Trust only the CA certificates in this PEM file (it may hold several)
    /// instead of the system roots.
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub cacert: Option<PathBuf>,

    /// A client certificate (PEM) for mutual TLS; needs --key.
    #[arg(long, value_name = "FILE", requires = "key", help_heading = "TLS")]
    pub cert: Option<PathBuf>,

    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert", help_heading = "TLS")]
    pub key: Option<PathBuf>,

    /// Do not verify the server's certificate (a warning says so on stderr).
    #[arg(long, help_heading = "TLS")]
    pub insecure: bool,

    /// The :authority to send, and the name the server's certificate must
    /// be valid for.
    #[arg(long, value_name = "NAME", help_heading = "TLS")]
    pub authority: Option<String>,

    /// Send this command through an HTTP CONNECT proxy,
    /// `http://[USER:PASS@]HOST:PORT` (loopback targets too). Without it,
    /// HTTPS_PROXY, ALL_PROXY and NO_PROXY apply to non-loopback targets.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    /// Seconds to wait for the connection (and the TLS handshake).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub connect_timeout: f64,

    /// A deadline for the whole command (connect, reflection and call), also
    /// sent to the server as grpc-timeout. When it passes, grpcx exits 68
    /// (DeadlineExceeded).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub max_time: Option<f64>,

    /// Send an HTTP/2 ping every SECS seconds, to keep long streams alive
    /// through proxies and detect a dead peer.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub keepalive: Option<f64>,

    /// The largest response message accepted, in bytes (suffixes KiB, MiB
    /// and GiB work too).
    #[arg(long, value_name = "BYTES", default_value = "64MiB", value_parser = parse_size)]
    pub max_msg_size: usize,

    /// Compress request messages. gzip and zstd responses are always accepted.
    #[arg(long, value_name = "ALGORITHM", value_enum)]
    pub compress: Option<Compression>,

    /// A request header, `name: value` (repeatable), sent with the call and
    /// with reflection requests. Names are lowercased; values of `-bin` keys
    /// are base64. `@FILE` reads `name: value` lines from a file.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    #[arg(help_heading = "Headers")]
    pub headers: Vec<String>,

    /// A header for the call only, not for reflection (as -H).
    #[arg(long = "rpc-header", value_name = "NAME: VALUE")]
    #[arg(help_heading = "Headers")]
    pub rpc_headers: Vec<String>,

    /// A header for reflection requests only (as -H).
    #[arg(long = "reflect-header", value_name = "NAME: VALUE")]
    #[arg(help_heading = "Headers")]
    pub reflect_headers: Vec<String>,

    /// Expand `${VAR}` in headers from the environment; a variable that is
    /// not set is an error.
    #[arg(long, help_heading = "Headers")]
    pub expand_headers: bool,

    /// The wire protocol: `grpc` (HTTP/2), `grpcweb` or `connect` (HTTP/1.1
    /// or HTTP/2). Output and exit codes are the same for all three.
    #[arg(long, value_enum, default_value_t = Protocol::Grpc)]
    pub protocol: Protocol,

    /// With --protocol grpcweb or connect over plaintext, speak HTTP/2 (h2c)
    /// rather than HTTP/1.1. Bidi streams need it (or TLS, where ALPN picks).
    #[arg(long)]
    pub http2_prior_knowledge: bool,

    /// Print to stderr the request headers (credentials masked), response
    /// headers, trailers, status and timings. -vv shows credentials too.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,
}

impl ConnArgs {
    /// The whole-command deadline, if any.
    pub fn max_time(&self) -> Option<std::time::Duration> {
        self.max_time.map(std::time::Duration::from_secs_f64)
    }
}

/// The wire protocol of `--protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Protocol {
    #[default]
    Grpc,
    Grpcweb,
    Connect,
}

/// Request compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    /// Its name in `grpc-encoding`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// A positive, finite number of seconds.
fn parse_secs(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs < 1e9 => Ok(secs),
        _ => Err("expected a positive number of seconds, as in 10 or 0.5".into()),
    }
}

/// Bytes, with an optional KiB/MiB/GiB (or K/M/G) suffix.
fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let scale: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        _ => return Err(format!("unknown unit '{unit}': use bytes, KiB, MiB or GiB")),
    };
    number
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|n| *n > 0)
        .ok_or_else(|| "expected a positive size in bytes, as in 16777216 or 16MiB".into())
}

/// How responses are printed.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format: `auto` is pretty JSON on a terminal and one compact
    /// JSON object per line otherwise; `json` is always pretty, `ndjson`
    /// always compact; `text` is the protobuf text format (one message per
    /// line when piped, a blank line between messages on a terminal).
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,

    /// Colour JSON output: `auto` colours it on a terminal unless NO_COLOR
    /// is set; `always` colours it anywhere (e.g. for `less -R`).
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    #[command(flatten)]
    pub json: JsonArgs,

    /// Print every event of the call as one tagged JSON object per line:
    /// {"headers":…}, {"message":…} for each message, {"trailers":…}, and
    /// last {"status":{"code","codeNumber","message","details"}}.
    #[arg(long, help_heading = "Scripting")]
    pub envelope: bool,
}

// The JSON options: one set for `call`, `shell` and `convert`, and for both
// JSON paths (the fast one of `transcode` and prost-reflect's), so that they
// cannot disagree. (A `//` comment: a `///` one would be help text.)
#[derive(Debug, Args, Clone, Copy, PartialEq, Eq, Default)]
#[command(next_help_heading = "Output")]
pub struct JsonArgs {
    /// Print fields that hold their default value (0, "", false, empty).
    #[arg(long)]
    pub emit_defaults: bool,

    /// Print the .proto field names (snake_case) instead of lowerCamelCase.
    #[arg(long)]
    pub proto_names: bool,

    /// Print 64-bit integers as JSON numbers instead of strings.
    #[arg(long)]
    pub int64_as_number: bool,

    /// Print enum values as numbers instead of names.
    #[arg(long)]
    pub enum_as_number: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    #[default]
    Auto,
    Json,
    Ndjson,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The server: `host:port` (plaintext on loopback, TLS anywhere else),
    /// `http://host:port` (plaintext), `https://host[:port]` (TLS), or
    /// `unix:/path/to.sock` (plaintext over a unix socket).
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

    /// Ignore request fields the schema does not know, instead of failing.
    #[arg(long)]
    pub allow_unknown_fields: bool,

    /// The format of DATA: `json` (JSON objects, NDJSON or concatenated) or
    /// `text` (protobuf text format; several messages are separated by the
    /// ASCII record separator 0x1E, as grpcurl's `-format text` reads them).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = InputFormat::Json)]
    pub input_format: InputFormat,

    #[command(flatten)]
    pub schema: SchemaArgs,

    #[command(flatten)]
    pub conn: ConnArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Write the schema the call used (the method, the types named by Anys,
    /// and every file they import) to FILE as a FileDescriptorSet. It is
    /// written once the method is resolved, so a failing call still writes it,
    /// and again at the end if Any types were fetched meanwhile.
    #[arg(long, value_name = "FILE", help_heading = "Schema")]
    pub protoset_out: Option<PathBuf>,

    /// Neither read nor write the descriptor cache for this call (by
    /// reflection the method's files are cached; see `grpcx cache`).
    #[arg(long, help_heading = "Schema")]
    pub no_cache: bool,

    #[command(flatten)]
    pub each: EachArgs,
}

impl CallArgs {
    /// The DATA argument, from whichever place it was given.
    pub fn data(&self) -> Option<&str> {
        self.data.as_deref().or(self.data_positional.as_deref())
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The server (as for `call`: `host:port`, `http://`, `https://` or
    /// `unix:`); may be left out when --proto or --protoset is given.
    pub target: Option<String>,

    /// A service whose methods to list, one full name per line, in
    /// declaration order. Without it, the services are listed, sorted.
    pub service: Option<String>,

    /// Also show each method's streaming kind, request type and response
    /// type, tab-separated. Without SERVICE, lists every method of every
    /// service this way.
    #[arg(short, long)]
    pub long: bool,

    /// Write the listed services' schema, with every file it imports, to FILE
    /// as a FileDescriptorSet (for a later --protoset).
    #[arg(long, value_name = "FILE", help_heading = "Schema")]
    pub protoset_out: Option<PathBuf>,

    #[command(flatten)]
    pub schema: SchemaArgs,

    #[command(flatten)]
    pub conn: ConnArgs,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The server; may be left out when --proto or --protoset is given.
    pub target: Option<String>,

    /// What to describe: a service, method (`pkg.Service.Method` or
    /// `pkg.Service/Method`), message, nested message, enum, enum value or
    /// field, by full name. Without it, every service is described.
    pub symbol: Option<String>,

    /// Print only a JSON request skeleton for a message, or for a method's
    /// input type, that `grpcx call` accepts as is.
    #[arg(long, conflicts_with = "format")]
    pub template: bool,

    /// `text` is proto source; `json` is the descriptor itself
    /// (DescriptorProto, ServiceDescriptorProto, ... in their JSON mapping).
    #[arg(long, value_enum, default_value_t = DescribeFormat::Text)]
    pub format: DescribeFormat,

    /// Write the described symbols' schema, with every file it imports, to
    /// FILE as a FileDescriptorSet (for a later --protoset).
    #[arg(long, value_name = "FILE", help_heading = "Schema")]
    pub protoset_out: Option<PathBuf>,

    #[command(flatten)]
    pub schema: SchemaArgs,

    #[command(flatten)]
    pub conn: ConnArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DescribeFormat {
    Text,
    Json,
}

/// The format of request data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    Json,
    Text,
}

/// `call --each`: one call per input value.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Scripting")]
pub struct EachArgs {
    /// Make one call per JSON value of the input (unary and server-streaming
    /// methods), all over one connection, printing the results in input
    /// order. A failed call prints `ERROR: call I: ...` and the run goes on.
    #[arg(long)]
    pub each: bool,

    /// With --each: how many calls are in flight at once.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "each",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,

    /// With --each: stop at the first failed call.
    #[arg(long, requires = "each")]
    pub fail_fast: bool,
}

/// A command line as a POSIX shell reads it back: each word as it is when
/// it is plain, else in single quotes. For the lines grpcx shows to copy.
pub fn shell_words<S: AsRef<str>>(words: &[S]) -> String {
    let quoted = words.iter().map(|word| {
        let word = word.as_ref();
        let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:@=,+".contains(c);
        if !word.is_empty() && word.chars().all(plain) {
            word.to_string()
        } else {
            format!("'{}'", word.replace('\'', r"'\''"))
        }
    });
    quoted.collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::bench::{parse_duration, parse_rate};
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn shell_words_quote_what_a_shell_would_split() {
        assert_eq!(
            shell_words(&["call", "a b", "{\"x\":1}", "it's", "", "a=b,c+d"]),
            r#"call 'a b' '{"x":1}' 'it'\''s' '' a=b,c+d"#
        );
    }

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_may_follow_positionals() {
        let line = "grpcx call localhost:1 a.B/C {} --proto x.proto";
        let cli = Cli::try_parse_from(line.split(' ')).unwrap();
        let Command::Call(args) = cli.command else {
            panic!("not a call")
        };
        assert_eq!(args.data(), Some("{}"));
        assert_eq!(args.schema.protos, [PathBuf::from("x.proto")]);
    }

    #[test]
    fn sizes_and_seconds() {
        assert_eq!(parse_size("16777216"), Ok(16 << 20));
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("2k"), Ok(2048));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert_eq!(parse_secs("0.5"), Ok(0.5));
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("inf").is_err());
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_rate("0").is_err());
    }

    #[test]
    fn conflicting_flags_are_usage_errors() {
        // --each's flags need --each; --tls and --plaintext conflict; the
        // request given twice.
        for args in [
            &["--concurrency", "4"][..],
            &["--tls", "--plaintext"],
            &["{}", "-d", "{}"],
        ] {
            let line = ["grpcx", "call", "h:1", "a.B/C"].iter().chain(args);
            let err = Cli::try_parse_from(line).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }
}
