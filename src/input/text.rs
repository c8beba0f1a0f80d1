//! Request input in protobuf text format (`call --input-format text`,
//! `convert --from text`): messages separated by the ASCII record separator
//! 0x1E, as grpcurl's `-format text` reads them, so its scripts carry over.
//!
//! [`Records`] cuts the input at each separator without parsing it, as the
//! JSON splitter does at each closing brace, so each message goes as soon as
//! its separator (or the end of the input) is read. Parsing a record is
//! `input::parse_message`'s, with prost-reflect's text parser.

use std::io::{self, Read};

use anyhow::{Result, anyhow};
use prost_reflect::{DynamicMessage, MessageDescriptor};

use super::Chunk;
use crate::cli::InputFormat;

/// The record separator between text format messages.
pub const SEPARATOR: u8 = 0x1E;

/// The most records in one batch (as the JSON splitter's `BATCH`).
const BATCH: usize = 256;
const READ_SIZE: usize = 64 * 1024;

/// Splits a byte stream into text format records at each 0x1E. A record of
/// nothing but whitespace (as after a trailing separator) is no message.
pub struct Records<R> {
    reader: R,
    /// Bytes read but not yet cut into a record.
    pending: Vec<u8>,
    /// Where the scan for a separator resumes in `pending`.
    scanned: usize,
    eof: bool,
    failed: bool,
    index: usize,
    /// Line and column where `pending` starts.
    line: usize,
    column: usize,
}

impl<R: Read> Records<R> {
    pub fn new(reader: R) -> Self {
        Records {
            reader,
            pending: Vec::new(),
            scanned: 0,
            eof: false,
            failed: false,
            index: 0,
            line: 1,
            column: 1,
        }
    }

    /// The next record complete in what has been read, without reading.
    fn next_buffered(&mut self) -> Option<Chunk> {
        loop {
            let cut = match crate::scan::find(SEPARATOR, &self.pending[self.scanned..]) {
                Some(at) => self.scanned + at,
                None if self.eof && !self.pending.is_empty() => self.pending.len(),
                None => {
                    self.scanned = self.pending.len();
                    return None;
                }
            };
            let rest = self.pending.split_off((cut + 1).min(self.pending.len()));
            let mut bytes = std::mem::replace(&mut self.pending, rest);
            self.scanned = 0;
            let separator = bytes.last() == Some(&SEPARATOR);
            if separator {
                bytes.pop();
            }
            let (line, column) = (self.line, self.column);
            self.advance(&bytes, separator);
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.index += 1;
            return Some(Chunk {
                bytes,
                index: self.index,
                line,
                column,
                format: InputFormat::Text,
            });
        }
    }

    /// Moves the position past `bytes` (and the separator after them).
    fn advance(&mut self, bytes: &[u8], separator: bool) {
        let chars = |b: &[u8]| b.iter().filter(|&&c| c & 0xC0 != 0x80).count();
        match bytes.iter().rposition(|&b| b == b'\n') {
            Some(last) => {
                self.line += bytes.iter().filter(|&&b| b == b'\n').count();
                self.column = 1 + chars(&bytes[last + 1..]);
            }
            None => self.column += chars(bytes),
        }
        self.column += usize::from(separator);
    }

    /// The next record, reading as much as it takes; `None` at the end.
    fn next_record(&mut self) -> Option<Result<Chunk>> {
        loop {
            if let Some(chunk) = self.next_buffered() {
                return Some(Ok(chunk));
            }
            if self.eof || self.failed {
                return None;
            }
            let start = self.pending.len();
            self.pending.resize(start + READ_SIZE, 0);
            match self.reader.read(&mut self.pending[start..]) {
                Ok(n) => {
                    self.pending.truncate(start + n);
                    self.eof = n == 0;
                }
                Err(err) => {
                    self.pending.truncate(start);
                    if err.kind() != io::ErrorKind::Interrupted {
                        self.failed = true;
                        return Some(Err(anyhow::Error::new(err).context("cannot read the input")));
                    }
                }
            }
        }
    }

    /// The next record, then every further one already complete.
    pub fn next_batch(&mut self) -> Option<Vec<Result<Chunk>>> {
        let mut batch = vec![self.next_record()?];
        while batch.len() < BATCH && batch.last().is_some_and(Result::is_ok) {
            match self.next_buffered() {
                Some(chunk) => batch.push(Ok(chunk)),
                None => break,
            }
        }
        Some(batch)
    }
}

impl<R: Read> Iterator for Records<R> {
    type Item = Result<Chunk>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
    }
}

/// Parses one record as a message of type `desc`. Errors name the message
/// index and the line and column in the whole input.
pub fn parse(chunk: &Chunk, desc: &MessageDescriptor) -> Result<DynamicMessage> {
    let text = std::str::from_utf8(&chunk.bytes).map_err(|err| {
        anyhow!(
            "message {}: invalid {}: the text is not UTF-8 (byte {})",
            chunk.index,
            desc.full_name(),
            err.valid_up_to() + 1
        )
    })?;
    let message = DynamicMessage::parse_text_format(desc.clone(), text).map_err(|err| {
        let at = match err.offset() {
            Some(offset) => {
                let before = &text[..offset.min(text.len())];
                let lines = before.matches('\n').count();
                let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
                let (line, column) = if lines == 0 {
                    (chunk.line, chunk.column + column - 1)
                } else {
                    (chunk.line + lines, column)
                };
                format!(" (line {line} column {column})")
            }
            None => String::new(),
        };
        anyhow!(
            "message {}: invalid {}: {err}{at}",
            chunk.index,
            desc.full_name()
        )
    })?;
    crate::schema::editions::check_proto2_enums(&message).map_err(|err| {
        anyhow!(
            "message {}: invalid {}: {err}",
            chunk.index,
            desc.full_name()
        )
    })?;
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &[u8]) -> Vec<(String, usize, usize)> {
        Records::new(text)
            .map(|c| {
                let c = c.unwrap();
                (String::from_utf8(c.bytes).unwrap(), c.line, c.column)
            })
            .collect()
    }

    #[test]
    fn splits_at_record_separators() {
        assert_eq!(
            records(b"name: \"a\"\x1e\nname: \"b\"\n\x1e\n"),
            [
                ("name: \"a\"".to_string(), 1, 1),
                ("\nname: \"b\"\n".to_string(), 1, 11)
            ]
        );
        assert_eq!(records(b"a: 1"), [("a: 1".to_string(), 1, 1)]);
        assert!(records(b" \n\x1e\x1e  ").is_empty());
    }

    #[test]
    fn a_record_may_span_reads() {
        let long = format!("name: \"{}\"\x1e{{}}", "x".repeat(200_000));
        let got = records(long.as_bytes());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.len(), 200_008);
        assert_eq!(got[1].0, "{}");
    }
}
