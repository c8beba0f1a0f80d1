//! `grpcx convert`: messages between binary, JSON and text format, stdin to
//! stdout, as `buf convert` and `protoc --encode/--decode` do.
//!
//! The conversion is `call`'s own code, not a second implementation: JSON
//! and text are read by `input::parse_message` (as requests are), and
//! printed by the `Printer` (as responses are, binary input taking the same
//! wire path). [`parse`] and [`render`] are the two halves; the hidden
//! conformance testee (`commands::conformance`) runs them on every case of
//! protobuf's conformance suite.

use std::io::{BufReader, Read};

use anyhow::{Context as _, Result, anyhow};
use prost::Message as _;
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor, ReflectMessage as _};

use crate::cli::{ConvertArgs, Form, Format, InputFormat, OutputArgs};
use crate::error::UsageError;
use crate::input::{self, Chunk, StdinRaw};
use crate::metadata::RequestMetadata;
use crate::output::Printer;
use crate::schema::{self, Schema, Symbol};
use crate::transport::{self, Target};

/// One message read from the input. Binary input keeps its bytes, so that
/// JSON output takes the printer's wire path, as `call` prints responses.
pub struct Parsed {
    pub message: DynamicMessage,
    wire: Option<Vec<u8>>,
}

/// Reads one message of type `desc` in form `from`; `index` (1-based) names
/// it in errors.
pub fn parse(
    desc: &MessageDescriptor,
    from: Form,
    bytes: Vec<u8>,
    index: usize,
    options: &DeserializeOptions,
) -> Result<Parsed> {
    let format = match from {
        Form::Binary => {
            let message = DynamicMessage::decode(desc.clone(), bytes.as_slice())
                .map_err(|err| anyhow!("message {index}: invalid {}: {err}", desc.full_name()))?;
            return Ok(Parsed {
                message,
                wire: Some(bytes),
            });
        }
        Form::Json => InputFormat::Json,
        Form::Text => InputFormat::Text,
    };
    let chunk = Chunk {
        bytes,
        index,
        line: 1,
        column: 1,
        format,
    };
    parse_chunk(desc, &chunk, options)
}

fn parse_chunk(
    desc: &MessageDescriptor,
    chunk: &Chunk,
    options: &DeserializeOptions,
) -> Result<Parsed> {
    Ok(Parsed {
        message: input::parse_message(chunk, desc, options)?,
        wire: None,
    })
}

/// Appends `parsed` in form `to` to `out`: the wire bytes, or the text the
/// printer would print (without its newline).
pub fn render(printer: &mut Printer, parsed: &Parsed, to: Form, out: &mut Vec<u8>) -> Result<()> {
    match (to, &parsed.wire) {
        (Form::Binary, _) => parsed.message.encode(out).expect("a Vec grows"),
        (Form::Json, Some(wire)) => {
            out.extend_from_slice(printer.render_wire(&parsed.message.descriptor(), wire)?)
        }
        (Form::Json | Form::Text, _) => {
            out.extend_from_slice(printer.render_message(&parsed.message)?)
        }
    }
    Ok(())
}

/// The output args of `call` that `convert`'s flags stand for.
pub fn output_args(args: &ConvertArgs) -> OutputArgs {
    OutputArgs {
        format: match args.to() {
            Form::Text => Format::Text,
            Form::Json | Form::Binary => Format::Auto,
        },
        color: args.color,
        json: args.json,
        envelope: false,
    }
}

/// Runs under `--max-time` (which matters only by reflection).
pub async fn run(args: ConvertArgs) -> Result<()> {
    transport::within(args.conn.max_time(), convert(args)).await
}

async fn convert(args: ConvertArgs) -> Result<()> {
    let mut schema = load(&args).await?;
    let mut desc = match schema.symbol(&args.message_type).await? {
        Symbol::Message(desc) => desc,
        other => {
            let article = if other.kind().starts_with('e') {
                "an"
            } else {
                "a"
            };
            return Err(UsageError(format!(
                "--type takes a message type, but {} is {article} {}",
                args.message_type,
                other.kind()
            ))
            .into());
        }
    };
    let to = args.to();
    let options = DeserializeOptions::new().deny_unknown_fields(!args.allow_unknown_fields);
    let mut printer = Printer::new(&output_args(&args));
    let mut source = Source::new(args.from);
    let mut out = Vec::new();
    let mut index = 0;
    loop {
        index += 1;
        let Some(input) = source.next(args.delimited, index)? else {
            break;
        };
        if let Input::Chunk(chunk) = &input {
            desc = with_any_types(&mut schema, desc, chunk).await?;
        }
        // The types the Anys of binary input name are known only once it is
        // decoded: fetched then (by reflection), and the input read again.
        let parsed = loop {
            let parsed = match &input {
                Input::Bytes(bytes) => parse(&desc, args.from, bytes.clone(), index, &options)?,
                Input::Chunk(chunk) => parse_chunk(&desc, chunk, &options)?,
            };
            let mut types = Vec::new();
            if to != Form::Binary && schema::may_contain_any(&desc) {
                schema::types_in_message(&parsed.message, &mut types);
            }
            if types.is_empty() || !schema.fetch_types(&types).await? {
                break parsed;
            }
            desc = fresh(&schema, &desc)?;
        };
        out.clear();
        render(&mut printer, &parsed, to, &mut out)?;
        // One message means one: nothing is written when more follow.
        if !args.delimited && source.next(false, index + 1)?.is_some() {
            return Err(anyhow!(
                "the input holds more than one message; give --delimited to convert a stream"
            ));
        }
        match to {
            Form::Binary if args.delimited => {
                let mut framed = Vec::with_capacity(out.len() + 10);
                prost::encoding::encode_varint(out.len() as u64, &mut framed);
                framed.extend_from_slice(&out);
                printer.raw(&framed)?;
            }
            Form::Binary => printer.raw(&out)?,
            Form::Json | Form::Text => {
                out.push(b'\n');
                printer.raw(&out)?;
            }
        }
        if !args.delimited {
            break;
        }
    }
    printer.flush()
}

/// Takes the schema from the files given, else from the target's
/// reflection service.
async fn load(args: &ConvertArgs) -> Result<Schema> {
    let metadata = RequestMetadata::from_args(&args.conn)?.reflection;
    let channel = match &args.target {
        Some(target) if !args.schema.is_offline() => {
            let verbose = crate::verbose::Verbose::new(args.conn.verbose);
            Some(crate::protocol::connect(&Target::parse(target)?, &args.conn, &verbose).await?)
        }
        Some(_) => None,
        None if args.schema.is_offline() => None,
        None => {
            return Err(UsageError(
                "convert needs a schema: give --proto or --protoset, or a server to ask by reflection"
                    .into(),
            )
            .into());
        }
    };
    Schema::load(&args.schema, channel.as_ref(), &metadata, false)
}

/// The types the Anys of a JSON or text input name, and the extensions it
/// names, fetched by reflection before it is parsed; the type is taken
/// again from the grown pool.
async fn with_any_types(
    schema: &mut Schema,
    desc: MessageDescriptor,
    chunk: &Chunk,
) -> Result<MessageDescriptor> {
    let types = schema::types_in_input(chunk);
    let grew = !types.is_empty() && schema.fetch_types(&types).await?;
    // Extensions the input names, by name (`[pkg.ext]`).
    let grew = schema.fetch_named_extensions(chunk).await? || grew;
    if grew { fresh(schema, &desc) } else { Ok(desc) }
}

/// `desc` from the schema's pool, which grew since it was taken.
fn fresh(schema: &Schema, desc: &MessageDescriptor) -> Result<MessageDescriptor> {
    schema
        .pool()
        .get_message_by_name(desc.full_name())
        .context("the type stays in the pool")
}

/// One input message, before parsing.
enum Input {
    Bytes(Vec<u8>),
    Chunk(Chunk),
}

/// stdin, cut into messages as the input form says.
enum Source {
    Binary(BufReader<StdinRaw>),
    Json(input::Splitter<StdinRaw>),
    Text(input::text::Records<StdinRaw>),
}

impl Source {
    fn new(from: Form) -> Source {
        match from {
            Form::Binary => Source::Binary(BufReader::with_capacity(64 * 1024, StdinRaw)),
            Form::Json => Source::Json(input::Splitter::new(StdinRaw)),
            Form::Text => Source::Text(input::text::Records::new(StdinRaw)),
        }
    }

    /// The next message, or `None` at the end. Without --delimited, binary
    /// input is all of stdin (an empty one is the empty message), and so is
    /// text; empty text is the empty message, but empty JSON is no message.
    fn next(&mut self, delimited: bool, index: usize) -> Result<Option<Input>> {
        let chunk = match self {
            Source::Binary(stdin) if delimited => {
                return Ok(read_delimited(stdin, index)?.map(Input::Bytes));
            }
            Source::Binary(stdin) => {
                if index > 1 {
                    return Ok(None);
                }
                let mut bytes = Vec::new();
                stdin
                    .read_to_end(&mut bytes)
                    .context("cannot read the input")?;
                return Ok(Some(Input::Bytes(bytes)));
            }
            Source::Json(splitter) => splitter.next().transpose()?,
            Source::Text(records) => records.next().transpose()?,
        };
        Ok(match chunk {
            Some(chunk) => Some(Input::Chunk(chunk)),
            None if index == 1 && matches!(self, Source::Text(_)) => Some(Input::Chunk(Chunk {
                bytes: Vec::new(),
                index,
                line: 1,
                column: 1,
                format: InputFormat::Text,
            })),
            None if index == 1 => return Err(anyhow!("the input holds no JSON object")),
            None => None,
        })
    }
}

/// One length-delimited message: a varint length, then that many bytes.
/// `None` at a clean end of the input.
fn read_delimited(stdin: &mut impl Read, index: usize) -> Result<Option<Vec<u8>>> {
    let mut len: u64 = 0;
    for i in 0..10 {
        let mut byte = [0u8];
        if stdin.read(&mut byte).context("cannot read the input")? == 0 {
            if i == 0 {
                return Ok(None);
            }
            return Err(anyhow!(
                "message {index}: the input ends inside a length prefix"
            ));
        }
        len |= u64::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] < 0x80 {
            let len = usize::try_from(len).map_err(|_| anyhow!("message {index}: too long"))?;
            let mut bytes = Vec::new();
            stdin
                .take(len as u64)
                .read_to_end(&mut bytes)
                .context("cannot read the input")?;
            if bytes.len() < len {
                return Err(anyhow!(
                    "message {index}: the input ends after {} of its {len} bytes",
                    bytes.len()
                ));
            }
            return Ok(Some(bytes));
        }
    }
    Err(anyhow!(
        "message {index}: its length prefix is not a valid varint"
    ))
}
