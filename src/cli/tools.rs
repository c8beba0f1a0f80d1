//! The arguments of the tools built on `call`'s parts: `grpcx ui`,
//! `grpcx shell`, `grpcx convert`, and the hidden conformance testee. Plain
//! data, as the rest of the CLI (`cli.rs`), whose shared groups they flatten.

use clap::{Args, Parser, ValueEnum};

use super::{ColorChoice, ConnArgs, JsonArgs, OutputArgs, SchemaArgs};

pub(super) const SHELL_HELP: &str = "\
Commands in the session (`help` lists them with their arguments):
  list [SERVICE]   describe [SYMBOL]   template METHOD   use [SERVICE]
  call METHOD [JSON]     (without JSON, asks for each field in turn)
  header NAME: VALUE   header -d NAME   headers
  set [NAME VALUE]       (format, deadline, color, emit-defaults, ...)
  help [COMMAND]   exit

Piped (stdin not a terminal): commands are read line by line, only results
print, and the exit code is that of the last command that failed (0 if none).
History: $XDG_STATE_HOME/grpcx/history (else ~/.local/state/grpcx/history).";

pub(super) const CONVERT_NOTES: &str = "\
Examples:
  grpcx convert --proto shop.proto --type shop.v1.Order --from json < order.json > order.binpb
  grpcx convert --proto shop.proto --type shop.v1.Order < order.binpb | jq .
  grpcx convert --protoset shop.pb --type shop.v1.Order --from binary --to text < order.binpb
  grpcx convert localhost:50051 --type shop.v1.Order --from text --to json < order.txtpb
  grpcx convert --proto shop.proto --type shop.v1.Order --delimited --to json < orders.bin

Exit codes: 0 converted; 1 the input does not parse or cannot be printed in
the output format; 2 a usage error.";

/// The testee of protobuf's conformance suite: reads the runner's requests
/// on stdin and answers each on stdout, converting with `grpcx convert`'s
/// code (`src/commands/conformance.rs`).
#[derive(Debug, Parser)]
#[command(name = "__conformance")]
pub struct ConformanceArgs {
    #[command(flatten)]
    pub schema: SchemaArgs,
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    /// The server (as for `call`); may be left out when --proto or --protoset
    /// is given, for a session that browses the schema without calling.
    pub target: Option<String>,

    /// Ignore request fields the schema does not know, instead of failing
    /// (`set allow-unknown-fields on` in the session).
    #[arg(long)]
    pub allow_unknown_fields: bool,

    /// Neither read nor write the history file.
    #[arg(long)]
    pub no_history: bool,

    #[command(flatten)]
    pub schema: SchemaArgs,

    #[command(flatten)]
    pub conn: ConnArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `grpcx ui`: where the page is served, and the server it calls.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// The server, as for `call`. Without it (and without --proto or
    /// --protoset) the bundled server is started in-process and called.
    pub target: Option<String>,

    /// The port to serve the page on (0, the default, picks a free one).
    #[arg(long, default_value_t = 0)]
    #[arg(help_heading = "Page")]
    pub port: u16,

    /// Print the URL but do not open a browser (none is opened anyway when
    /// there is no display).
    #[arg(long)]
    #[arg(help_heading = "Page")]
    pub no_open: bool,

    /// Listen on this address (`IP` or `IP:PORT`) instead of 127.0.0.1.
    /// Anyone who can reach it and has the printed URL can make calls as
    /// you: a warning says so.
    #[arg(long, value_name = "ADDR")]
    #[arg(help_heading = "Page")]
    pub listen: Option<String>,

    #[command(flatten)]
    pub schema: SchemaArgs,

    #[command(flatten)]
    pub conn: ConnArgs,
}

/// A form of a protobuf message, for `grpcx convert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Form {
    /// The wire format (`.binpb`).
    Binary,
    /// protobuf's JSON mapping.
    Json,
    /// protobuf's text format (`.txtpb`).
    Text,
}

/// `grpcx convert`: one message (or a delimited stream) between forms.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// A server to take the schema from by reflection; may be left out when
    /// --proto or --protoset is given.
    pub target: Option<String>,

    /// The message type, by full name, as in `shop.v1.Order`.
    #[arg(long = "type", value_name = "TYPE")]
    pub message_type: String,

    /// The form of the input on stdin.
    #[arg(long, value_enum, value_name = "FORM", default_value_t = Form::Binary)]
    pub from: Form,

    /// The form of the output on stdout [default: json from binary, binary
    /// from json or text].
    #[arg(long, value_enum, value_name = "FORM")]
    pub to: Option<Form>,

    /// Binary messages come and go as length-delimited streams (each
    /// message led by its length as a varint, as `writeDelimitedTo` writes
    /// them). With --from binary, every message of the stream is converted;
    /// JSON and text input may hold several messages (text ones separated
    /// by 0x1E), written as one stream with --to binary. JSON and text
    /// output is one message per line when piped.
    #[arg(long)]
    pub delimited: bool,

    /// Ignore JSON fields the schema does not know, instead of failing.
    #[arg(long)]
    pub allow_unknown_fields: bool,

    #[command(flatten)]
    pub json: JsonArgs,

    /// Colour JSON output: `auto` colours it on a terminal unless NO_COLOR
    /// is set.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    #[arg(help_heading = "Output")]
    pub color: ColorChoice,

    #[command(flatten)]
    pub schema: SchemaArgs,

    #[command(flatten)]
    pub conn: ConnArgs,
}

impl ConvertArgs {
    /// The output form: as given, else JSON for binary input and binary for
    /// the others.
    pub fn to(&self) -> Form {
        self.to.unwrap_or(match self.from {
            Form::Binary => Form::Json,
            Form::Json | Form::Text => Form::Binary,
        })
    }
}

pub(super) const HEALTH_NOTES: &str = "\
Prints `SERVICE: STATUS` per service (the whole server as `(server)`).

Exit codes: 0 all SERVING; 4 one is not SERVING (NOT_SERVING, UNKNOWN,
SERVICE_UNKNOWN); 69 an unknown service (the server's NotFound); 78 the
connection failed (Unavailable); 64+N another gRPC status N; 2 a usage error.";

/// `grpcx health`: the server, the services, and whether to follow them.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The server, as for `call`.
    pub target: String,

    /// The services to check (full names, e.g. helloworld.Greeter); none
    /// checks the server as a whole (service "").
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,

    /// Follow Health/Watch: one line per change as it comes, all services at
    /// once, until the server ends the streams (or Ctrl-C).
    #[arg(long)]
    pub watch: bool,

    #[command(flatten)]
    pub conn: ConnArgs,
}
