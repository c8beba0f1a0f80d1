//! The printer: the one owner of stdout. It renders the events of a call
//! (headers, messages, trailers, status) and knows nothing of the network.
//!
//! The style is decided once, from the flags, NO_COLOR and whether stdout is
//! a terminal. Each message is serialized into a reused buffer and written
//! whole, so no line is ever torn; the buffer reaches stdout when the caller
//! says a pause is coming ([`Printer::flush`]), or when it fills. So a slow
//! stream is never held back, and a fast one goes out in 64 KiB writes.
//!
//! Without `--envelope`, only messages print; headers, trailers and status
//! are no-ops here (the status goes to stderr as an error). With it, every
//! event is one tagged JSON line.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::mem::ManuallyDrop;

use anyhow::Result;
use prost_reflect::text_format::FormatOptions;
use prost_reflect::{DynamicMessage, MessageDescriptor, ReflectMessage as _, SerializeOptions};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::ser::{CompactFormatter, PrettyFormatter};
use tonic::metadata::MetadataMap;

use crate::cli::{ColorChoice, Format, OutputArgs};
use crate::error::stdout_error;
use crate::status::{self, Detail};
use crate::transcode::Plans;

/// How messages are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    PrettyJson,
    CompactJson,
    /// Protobuf text format; `pretty` is multi-line with a blank line
    /// between messages, otherwise one message per line.
    Text {
        pretty: bool,
    },
    /// One tagged JSON line per event (`--envelope`).
    Envelope,
}

/// Renders the events of a call to stdout.
pub struct Printer {
    out: io::BufWriter<Box<dyn Write + Send>>,
    style: Style,
    color: bool,
    options: SerializeOptions,
    /// The fast path's compiled types; same options as `options`.
    plans: Plans,
    text_options: FormatOptions,
    scratch: Vec<u8>,
    printed: usize,
    /// With `call --each`, the index every envelope event carries.
    call: Option<usize>,
}

impl Printer {
    pub fn new(args: &OutputArgs) -> Printer {
        Self::with_sink(args, Box::new(RawStdout::new()))
    }

    /// A printer that writes to `sink` rather than stdout, styled as for
    /// stdout (`grpcx shell` prints through its line editor, which redraws
    /// the prompt around what a stream prints while the user types).
    pub fn with_sink(args: &OutputArgs, sink: Box<dyn Write + Send>) -> Printer {
        let terminal = io::stdout().is_terminal();
        Self::build(args, terminal, std::env::var_os("NO_COLOR"), sink)
    }

    fn build(
        args: &OutputArgs,
        terminal: bool,
        no_color: Option<std::ffi::OsString>,
        sink: Box<dyn Write + Send>,
    ) -> Printer {
        let style = match args.format {
            _ if args.envelope => Style::Envelope,
            Format::Json => Style::PrettyJson,
            Format::Ndjson => Style::CompactJson,
            Format::Auto if terminal => Style::PrettyJson,
            Format::Auto => Style::CompactJson,
            Format::Text => Style::Text { pretty: terminal },
        };
        // NO_COLOR counts when set to anything but the empty string.
        let no_color = no_color.is_some_and(|v| !v.is_empty());
        let color = matches!(style, Style::PrettyJson | Style::CompactJson)
            && match args.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => terminal && !no_color,
            };
        Printer {
            out: io::BufWriter::with_capacity(64 * 1024, sink),
            style,
            color,
            options: args.json.serialize_options(),
            plans: Plans::new(&args.json),
            text_options: FormatOptions::new()
                .pretty(terminal)
                .skip_default_fields(!args.json.emit_defaults)
                .expand_any(true),
            scratch: Vec::with_capacity(1024),
            printed: 0,
            call: None,
        }
    }

    /// A printer whose `render_*` results are used, not written: its style
    /// is the one for a pipe (the conformance testee).
    pub fn detached(args: &OutputArgs) -> Printer {
        Self::build(args, false, None, Box::new(RawStdout::new()))
    }

    /// A printer for plain lines of text.
    pub fn lines() -> Printer {
        Printer::new(&OutputArgs {
            format: Format::Ndjson,
            ..OutputArgs::default()
        })
    }

    /// Print unknown fields in text format (numbered, as protoc does), or
    /// leave them out (the default, as JSON does).
    pub fn show_unknown_fields(&mut self, yes: bool) {
        self.text_options = self.text_options.clone().skip_unknown_fields(!yes);
    }

    /// Writes one message given as wire bytes of type `desc`: straight from
    /// the wire when the fast path takes it, else decoded and written as
    /// [`Printer::message`] does.
    pub fn wire_message(&mut self, desc: &MessageDescriptor, bytes: &[u8]) -> Result<()> {
        self.render_wire(desc, bytes)?;
        self.emit()
    }

    /// The text [`Printer::wire_message`] would write, without its newline,
    /// handed back instead of written (for `grpcx convert`).
    pub fn render_wire(&mut self, desc: &MessageDescriptor, bytes: &[u8]) -> Result<&[u8]> {
        self.scratch.clear();
        // The fast path, when it takes this message; a decline fails the
        // serializing part-way, and the slow path starts the text afresh.
        let json = match self.style {
            Style::Text { .. } => None,
            _ => self.plans.json(desc, bytes),
        };
        let fast = json.is_some_and(|json| {
            json_body(&mut self.scratch, &json, self.style, self.color, self.call).is_ok()
        });
        if fast {
            self.printed += 1;
            return Ok(&self.scratch);
        }
        let mut message = DynamicMessage::decode(desc.clone(), bytes).map_err(|err| {
            crate::error::StatusError(tonic::Status::internal(format!(
                "the server sent a {} that does not decode: {err}",
                desc.full_name()
            )))
        })?;
        crate::schema::editions::prepare_output(&mut message);
        self.render_message(&message)
    }

    /// Writes one message.
    pub fn message(&mut self, message: &DynamicMessage) -> Result<()> {
        self.render_message(message)?;
        self.emit()
    }

    /// The text [`Printer::message`] would write, without its newline,
    /// handed back instead of written (for `grpcx convert`).
    pub fn render_message(&mut self, message: &DynamicMessage) -> Result<&[u8]> {
        self.scratch.clear();
        let fail = |err: serde_json::Error| {
            anyhow::anyhow!(
                "cannot print a {} as JSON: {err}",
                message.descriptor().full_name()
            )
        };
        match self.style {
            Style::Text { pretty } => {
                if pretty && self.printed > 0 {
                    self.scratch.push(b'\n');
                }
                let text = message.to_text_format_with_options(&self.text_options);
                // On a terminal an empty message would be an invisible
                // one; a comment is valid text format and shows it.
                let text = match text.trim_end() {
                    "" if pretty => "# (empty)",
                    text => text,
                };
                self.scratch.extend_from_slice(text.as_bytes());
            }
            style => {
                let body = WithOptions(message, &self.options);
                json_body(&mut self.scratch, &body, style, self.color, self.call).map_err(fail)?;
            }
        }
        self.printed += 1;
        Ok(&self.scratch)
    }

    /// Ends the line in `scratch` with its newline and writes it whole.
    fn emit(&mut self) -> Result<()> {
        self.scratch.push(b'\n');
        self.out.write_all(&self.scratch).map_err(stdout_error)
    }

    /// The response headers (with `--envelope`).
    pub fn headers(&mut self, headers: &MetadataMap) -> Result<()> {
        self.metadata("headers", headers)
    }

    /// The trailers (with `--envelope`). The status keys are left out: the
    /// status event carries them, decoded.
    pub fn trailers(&mut self, trailers: &MetadataMap) -> Result<()> {
        self.metadata("trailers", trailers)
    }

    fn metadata(&mut self, tag: &'static str, map: &MetadataMap) -> Result<()> {
        if self.style != Style::Envelope {
            return Ok(());
        }
        self.scratch.clear();
        serde_json::to_writer(&mut self.scratch, &Tagged(tag, &Metadata(map), self.call))
            .expect("metadata serializes");
        self.emit()
    }

    /// The final status (with `--envelope`), OK or not.
    pub fn status(&mut self, status: &tonic::Status, details: &[Detail]) -> Result<()> {
        if self.style != Style::Envelope {
            return Ok(());
        }
        let call = self
            .call
            .map_or(String::new(), |call| format!("\"call\":{call},"));
        let json = status::to_json(status, details);
        let line = format!("{{{call}\"status\":{json}}}\n");
        self.out.write_all(line.as_bytes()).map_err(stdout_error)
    }

    /// Tags every following envelope event with `"call": index` (`call
    /// --each`), or with nothing.
    pub fn set_call(&mut self, call: Option<usize>) {
        self.call = call;
    }

    /// Writes bytes as they are (binary messages, for `grpcx convert`).
    pub fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(stdout_error)
    }

    /// Writes one line of plain text (names, for `list`).
    pub fn line(&mut self, text: &str) -> Result<()> {
        self.out.write_all(text.as_bytes()).map_err(stdout_error)?;
        self.out.write_all(b"\n").map_err(stdout_error)
    }

    /// Sends what is buffered to stdout. Call it before waiting.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(stdout_error)
    }
}

/// Serializes a message's `body` into `out` as `style` asks (text format
/// is the caller's): an envelope line, or pretty or compact JSON.
fn json_body(
    out: &mut Vec<u8>,
    body: &impl Serialize,
    style: Style,
    color: bool,
    call: Option<usize>,
) -> serde_json::Result<()> {
    match style {
        Style::Envelope => serde_json::to_writer(out, &Tagged("message", body, call)),
        Style::PrettyJson => write_json(out, body, PrettyFormatter::with_indent(b"  "), color),
        _ => write_json(out, body, CompactFormatter, color),
    }
}

/// Serializes `value` into `out` with `formatter`, in colour if asked.
fn write_json<F: serde_json::ser::Formatter>(
    out: &mut Vec<u8>,
    value: &impl Serialize,
    formatter: F,
    color: bool,
) -> serde_json::Result<()> {
    if color {
        let colored = Colored {
            inner: formatter,
            in_key: false,
        };
        value.serialize(&mut serde_json::Serializer::with_formatter(out, colored))
    } else {
        value.serialize(&mut serde_json::Serializer::with_formatter(out, formatter))
    }
}

/// A message with the serialize options of the flags.
pub(crate) struct WithOptions<'a>(pub &'a DynamicMessage, pub &'a SerializeOptions);

impl Serialize for WithOptions<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_with_options(serializer, self.1)
    }
}

/// `{"tag": value}`: one envelope event, led by `"call": i` under
/// `call --each`.
pub(crate) struct Tagged<'a, T>(pub &'static str, pub &'a T, pub Option<usize>);

impl<T: Serialize> Serialize for Tagged<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1 + self.2.is_some() as usize))?;
        if let Some(call) = self.2 {
            map.serialize_entry("call", &call)?;
        }
        map.serialize_entry(self.0, self.1)?;
        map.end()
    }
}

/// Metadata as a JSON object: a key's value is a string, or an array of
/// strings when the key repeats; `-bin` values are standard base64.
struct Metadata<'a>(&'a MetadataMap);

/// Keys the status event reports instead.
const STATUS_KEYS: [&str; 3] = ["grpc-status", "grpc-message", "grpc-status-details-bin"];

impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(String, Vec<String>)> = Vec::new();
        for (key, value) in crate::metadata::entries(self.0) {
            if STATUS_KEYS.contains(&key) {
                continue;
            }
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some((_, values)) => values.push(value),
                None => entries.push((key.to_string(), vec![value])),
            }
        }
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (key, values) in &entries {
            match values.as_slice() {
                [one] => map.serialize_entry(key, one)?,
                many => map.serialize_entry(key, many)?,
            }
        }
        map.end()
    }
}

/// Colours JSON as jq does: keys blue, strings green, numbers cyan,
/// true/false yellow, null grey. Wraps any formatter (pretty or compact).
struct Colored<F> {
    inner: F,
    in_key: bool,
}

const KEY: &[u8] = b"\x1b[1;34m";
const STRING: &[u8] = b"\x1b[32m";
const NUMBER: &[u8] = b"\x1b[36m";
const BOOL: &[u8] = b"\x1b[33m";
const NULL: &[u8] = b"\x1b[90m";
const RESET: &[u8] = b"\x1b[0m";

fn painted<W: ?Sized + Write>(
    writer: &mut W,
    color: &[u8],
    write: impl FnOnce(&mut W) -> io::Result<()>,
) -> io::Result<()> {
    writer.write_all(color)?;
    write(writer)?;
    writer.write_all(RESET)
}

/// Formatter methods that paint what the inner formatter writes in a colour
/// (`COLOR: method(arg: type)`).
macro_rules! paint {
    ($($color:ident: $method:ident($($arg:ident: $ty:ty)?)),* $(,)?) => {
        $(
            fn $method<W: ?Sized + Write>(&mut self, writer: &mut W $(, $arg: $ty)?) -> io::Result<()> {
                painted(writer, $color, |w| self.inner.$method(w $(, $arg)?))
            }
        )*
    };
}

/// Formatter methods that only forward to the inner formatter.
macro_rules! forwarded {
    ($($method:ident($($arg:ident: $ty:ty)?)),* $(,)?) => {
        $(
            fn $method<W: ?Sized + Write>(&mut self, writer: &mut W $(, $arg: $ty)?) -> io::Result<()> {
                self.inner.$method(writer $(, $arg)?)
            }
        )*
    };
}

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for Colored<F> {
    paint!(
        NULL: write_null(), BOOL: write_bool(value: bool),
        NUMBER: write_i8(value: i8), NUMBER: write_i16(value: i16),
        NUMBER: write_i32(value: i32), NUMBER: write_i64(value: i64),
        NUMBER: write_i128(value: i128), NUMBER: write_u8(value: u8),
        NUMBER: write_u16(value: u16), NUMBER: write_u32(value: u32),
        NUMBER: write_u64(value: u64), NUMBER: write_u128(value: u128),
        NUMBER: write_f32(value: f32), NUMBER: write_f64(value: f64),
        NUMBER: write_number_str(value: &str),
    );

    forwarded!(
        begin_array(), end_array(), begin_array_value(first: bool), end_array_value(),
        begin_object(), end_object(), begin_object_value(), end_object_value(),
    );

    fn begin_string<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(if self.in_key { KEY } else { STRING })?;
        self.inner.begin_string(writer)
    }

    fn end_string<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.end_string(writer)?;
        writer.write_all(RESET)
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.in_key = true;
        self.inner.begin_object_key(writer, first)
    }

    fn end_object_key<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.in_key = false;
        self.inner.end_object_key(writer)
    }
}

/// fd 1 without std's line buffering: the printer batches by itself.
struct RawStdout(ManuallyDrop<File>);

impl RawStdout {
    #[cfg(unix)]
    fn new() -> RawStdout {
        use std::os::fd::FromRawFd;
        // SAFETY: fd 1 stays open for the life of the process, and
        // ManuallyDrop keeps this File from closing it.
        RawStdout(ManuallyDrop::new(unsafe { File::from_raw_fd(1) }))
    }
}

impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn colored(value: serde_json::Value) -> String {
        let mut out = Vec::new();
        write_json(&mut out, &value, CompactFormatter, true).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn colours_keys_strings_numbers_and_literals() {
        let out = colored(serde_json::json!({"a": "x", "n": 1, "t": true, "z": null}));
        assert_eq!(
            out,
            "{\x1b[1;34m\"a\"\x1b[0m:\x1b[32m\"x\"\x1b[0m,\x1b[1;34m\"n\"\x1b[0m:\x1b[36m1\x1b[0m,\
             \x1b[1;34m\"t\"\x1b[0m:\x1b[33mtrue\x1b[0m,\x1b[1;34m\"z\"\x1b[0m:\x1b[90mnull\x1b[0m}"
        );
    }

    #[test]
    fn colour_follows_terminal_flag_and_no_color() {
        let color = |args, terminal, no_color| {
            Printer::build(args, terminal, no_color, Box::new(io::sink())).color
        };
        let args = OutputArgs::default();
        assert!(color(&args, true, None));
        assert!(!color(&args, false, None));
        assert!(!color(&args, true, Some("1".into())));
        assert!(color(&args, true, Some("".into())));
        let always = OutputArgs {
            color: ColorChoice::Always,
            ..OutputArgs::default()
        };
        assert!(color(&always, false, Some("1".into())));
    }
}
