//! `grpcx __conformance`: the testee of protobuf's conformance suite
//! (`conformance_test_runner`), as short as protobuf's own
//! `conformance_python.py`: read a length-prefixed `ConformanceRequest` on
//! stdin, convert it, write a `ConformanceResponse` on stdout, until the
//! runner closes the pipe.
//!
//! Each case is converted by `grpcx convert`'s [`parse`] and [`render`]:
//! `call`'s request parser and response printer. One long-lived process
//! serves the whole suite, because a process per case would spend the
//! test's time starting up.

use std::io::{self, Read, Write};

use anyhow::{Context as _, Result};
use prost::Message as _;
use prost_reflect::DeserializeOptions;

use super::convert::{parse, render};
use crate::cli::{ConformanceArgs, Form, Format, OutputArgs};
use crate::output::Printer;
use crate::schema::Schema;

/// `conformance.ConformanceRequest` (conformance/conformance.proto).
#[derive(Clone, PartialEq, prost::Message)]
struct Request {
    #[prost(oneof = "Payload", tags = "1, 2, 7, 8")]
    payload: Option<Payload>,
    /// WireFormat: 1 PROTOBUF, 2 JSON, 3 JSPB, 4 TEXT_FORMAT.
    #[prost(int32, tag = "3")]
    requested_output_format: i32,
    #[prost(string, tag = "4")]
    message_type: String,
    /// TestCategory: 3 is JSON_IGNORE_UNKNOWN_PARSING_TEST.
    #[prost(int32, tag = "5")]
    test_category: i32,
    #[prost(bool, tag = "9")]
    print_unknown_fields: bool,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum Payload {
    #[prost(bytes, tag = "1")]
    Protobuf(Vec<u8>),
    #[prost(string, tag = "2")]
    Json(String),
    #[prost(string, tag = "7")]
    Jspb(String),
    #[prost(string, tag = "8")]
    Text(String),
}

/// `conformance.ConformanceResponse`.
#[derive(Clone, PartialEq, prost::Message)]
struct Response {
    #[prost(oneof = "Outcome", tags = "1, 6, 2, 3, 4, 5, 8")]
    outcome: Option<Outcome>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum Outcome {
    #[prost(string, tag = "1")]
    ParseError(String),
    #[prost(string, tag = "6")]
    SerializeError(String),
    #[prost(string, tag = "2")]
    RuntimeError(String),
    #[prost(bytes, tag = "3")]
    Protobuf(Vec<u8>),
    #[prost(string, tag = "4")]
    Json(String),
    #[prost(string, tag = "5")]
    Skipped(String),
    #[prost(string, tag = "8")]
    Text(String),
}

/// Serves the runner until it closes stdin.
pub async fn run(args: ConformanceArgs) -> Result<()> {
    let schema = Schema::load(&args.schema, None, &Default::default(), false)?;
    let mut json = Printer::detached(&OutputArgs::default());
    let mut text = Printer::detached(&OutputArgs {
        format: Format::Text,
        ..OutputArgs::default()
    });
    let (mut stdin, mut stdout) = (io::stdin().lock(), io::stdout().lock());
    loop {
        let mut len = [0u8; 4];
        match stdin.read_exact(&mut len) {
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            other => other.context("cannot read the runner's request")?,
        }
        let mut bytes = vec![0; u32::from_le_bytes(len) as usize];
        stdin.read_exact(&mut bytes)?;
        let request = Request::decode(bytes.as_slice())?;
        let outcome = answer(&schema, &mut json, &mut text, request);
        let response = Response {
            outcome: Some(outcome),
        }
        .encode_to_vec();
        stdout.write_all(&(response.len() as u32).to_le_bytes())?;
        stdout.write_all(&response)?;
        stdout.flush()?;
    }
}

fn answer(schema: &Schema, json: &mut Printer, text: &mut Printer, request: Request) -> Outcome {
    // The runner first asks which cases the testee expects to fail: none.
    if request.message_type == "conformance.FailureSet" {
        return Outcome::Protobuf(Vec::new());
    }
    let Some(desc) = schema.pool().get_message_by_name(&request.message_type) else {
        return Outcome::RuntimeError(format!("{} is not in the schema", request.message_type));
    };
    let (from, bytes) = match request.payload {
        Some(Payload::Protobuf(bytes)) => (Form::Binary, bytes),
        Some(Payload::Json(json)) => (Form::Json, json.into_bytes()),
        Some(Payload::Text(text)) => (Form::Text, text.into_bytes()),
        Some(Payload::Jspb(_)) | None => return Outcome::Skipped("JSPB is not grpcx's".into()),
    };
    let (to, printer) = match request.requested_output_format {
        1 => (Form::Binary, json),
        2 => (Form::Json, json),
        4 => (Form::Text, text),
        _ => return Outcome::Skipped("JSPB is not grpcx's".into()),
    };
    let options = DeserializeOptions::new().deny_unknown_fields(request.test_category != 3);
    let parsed = match parse(&desc, from, bytes, 1, &options) {
        Ok(parsed) => parsed,
        Err(err) => return Outcome::ParseError(format!("{err:#}")),
    };
    printer.show_unknown_fields(request.print_unknown_fields);
    let mut out = Vec::new();
    match render(printer, &parsed, to, &mut out) {
        Err(err) => Outcome::SerializeError(format!("{err:#}")),
        Ok(()) => match to {
            Form::Binary => Outcome::Protobuf(out),
            Form::Json => Outcome::Json(String::from_utf8_lossy(&out).into_owned()),
            Form::Text => Outcome::Text(String::from_utf8_lossy(&out).into_owned()),
        },
    }
}
