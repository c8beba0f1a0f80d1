//! The printer: the one owner of stdout. It renders response messages and
//! knows nothing of the network.
//!
//! Pretty or compact is decided once, from the flags and whether stdout is a
//! terminal. Each message is serialized into a reused buffer and written
//! whole, so no line is ever torn; the buffer reaches stdout when the caller
//! says a pause is coming ([`Printer::flush`]), or when it fills.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::mem::ManuallyDrop;

use anyhow::Result;
use prost_reflect::ReflectMessage as _;
use prost_reflect::{DynamicMessage, SerializeOptions};

use crate::cli::{Format, OutputArgs};
use crate::error::stdout_error;

/// Renders messages to stdout.
pub struct Printer {
    out: io::BufWriter<RawStdout>,
    pretty: bool,
    options: SerializeOptions,
    scratch: Vec<u8>,
}

impl Printer {
    pub fn new(args: &OutputArgs) -> Printer {
        let pretty = match args.format {
            Format::Json => true,
            Format::Ndjson => false,
            Format::Auto => io::stdout().is_terminal(),
        };
        Printer {
            out: io::BufWriter::with_capacity(64 * 1024, RawStdout::new()),
            pretty,
            options: SerializeOptions::new(),
            scratch: Vec::with_capacity(1024),
        }
    }

    /// A printer for plain lines of text.
    pub fn lines() -> Printer {
        Printer::new(&OutputArgs {
            format: Format::Ndjson,
        })
    }

    /// Writes one message and its newline.
    pub fn message(&mut self, message: &DynamicMessage) -> Result<()> {
        self.scratch.clear();
        let result = if self.pretty {
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"  ");
            let mut ser = serde_json::Serializer::with_formatter(&mut self.scratch, formatter);
            message.serialize_with_options(&mut ser, &self.options)
        } else {
            let mut ser = serde_json::Serializer::new(&mut self.scratch);
            message.serialize_with_options(&mut ser, &self.options)
        };
        result.map_err(|err| {
            anyhow::anyhow!(
                "cannot print a {} as JSON: {err}",
                message.descriptor().full_name()
            )
        })?;
        self.scratch.push(b'\n');
        self.out.write_all(&self.scratch).map_err(stdout_error)
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
