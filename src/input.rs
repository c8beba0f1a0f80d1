//! Request input: JSON objects from an inline argument, `@file`, or `@-`
//! (stdin), as a stream.
//!
//! The input is a sequence of JSON values separated by whitespace (NDJSON or
//! concatenated pretty objects). [`Splitter`] cuts it into one byte chunk per
//! value without parsing it, so each message can be sent as soon as its
//! closing brace is read, and memory holds one message at a time. Parsing a
//! chunk into a `DynamicMessage` is [`parse_message`]'s job.
//!
//! The splitter runs on a thread of its own and hands chunks over in batches:
//! every value complete in what one read returned goes in one batch, so a
//! fast pipe costs one thread wake-up per read, not per message, while a
//! value typed at a terminal is still sent the moment its line is read.
//! A request stream is parsed on a thread of its own too ([`ahead`]).

pub mod ahead;
pub mod text;

use std::collections::VecDeque;
use std::io::{self, Read};

use anyhow::{Context, Result, anyhow};
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor};
use tokio::sync::mpsc;

use crate::cli::InputFormat;

/// One JSON value of the input, with where it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub bytes: Vec<u8>,
    /// 1-based index of the value in the input.
    pub index: usize,
    /// 1-based line and column of its first byte.
    pub line: usize,
    pub column: usize,
    /// JSON, or text format (`text::Records` cuts those).
    pub format: InputFormat,
}

impl Chunk {
    /// One JSON value given whole (the shell's line, the page's editor),
    /// as the `index`th value of its input.
    pub fn json(text: &str, index: usize) -> Chunk {
        Chunk {
            bytes: text.as_bytes().to_vec(),
            index,
            line: 1,
            column: 1,
            format: InputFormat::Json,
        }
    }
}

/// The most chunks in one batch: bounds memory between the threads.
const BATCH: usize = 256;
/// The splitter's read buffer.
const READ_SIZE: usize = 64 * 1024;

/// A value whose closing brace has not been read yet.
struct Partial {
    chunk: Chunk,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

/// How many bytes of `bytes` continue a UTF-8 character (`10xxxxxx`):
/// columns count characters, and those bytes start none. Eight at a time,
/// since every byte of every value passes here.
fn continuation_bytes(bytes: &[u8]) -> usize {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    let mut count = 0;
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        // Bit 7 set and bit 6 (moved up to bit 7) clear.
        count += (w & HIGH & !(w << 1)).count_ones() as usize;
    }
    count
        + words
            .remainder()
            .iter()
            .filter(|&&c| c & 0xC0 == 0x80)
            .count()
}

/// Splits a byte stream into top-level JSON values. The scan is resumable:
/// a value may span any number of reads.
pub struct Splitter<R> {
    reader: R,
    buf: Box<[u8]>,
    /// The unscanned bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    eof: bool,
    /// Position of `buf[start]`.
    line: usize,
    column: usize,
    index: usize,
    partial: Option<Partial>,
    failed: bool,
}

impl<R: Read> Splitter<R> {
    pub fn new(reader: R) -> Self {
        Self::with_buffer(reader, READ_SIZE)
    }

    /// A splitter reading `size` bytes at a time (at least one): input
    /// known to be small needs no 64 KiB buffer zeroed first.
    fn with_buffer(reader: R, size: usize) -> Self {
        Splitter {
            reader,
            buf: vec![0; size.clamp(1, READ_SIZE)].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            line: 1,
            column: 1,
            index: 0,
            partial: None,
            failed: false,
        }
    }

    /// Moves the position past the next `n` unscanned bytes.
    fn consume(&mut self, n: usize) {
        let bytes = &self.buf[self.start..self.start + n];
        let chars = |b: &[u8]| b.len() - continuation_bytes(b);
        match crate::scan::rfind(b'\n', bytes) {
            Some(last) => {
                self.line += crate::scan::count(b'\n', bytes);
                self.column = 1 + chars(&bytes[last + 1..]);
            }
            None => self.column += chars(bytes),
        }
        self.start += n;
    }

    /// The next value complete in what has been read, without reading more.
    /// `None` when the buffer holds no further complete value.
    fn next_buffered(&mut self) -> Option<Result<Chunk>> {
        if self.failed {
            return None;
        }
        if self.partial.is_none() {
            let unscanned = &self.buf[self.start..self.end];
            let blanks = unscanned
                .iter()
                .take_while(|b| b" \t\r\n".contains(b))
                .count();
            self.consume(blanks);
            if self.start == self.end {
                return None;
            }
            self.index += 1;
            let first = self.buf[self.start];
            if first != b'{' {
                self.failed = true;
                return Some(Err(anyhow!(
                    "message {}: expected a JSON object, found {} at line {} column {}",
                    self.index,
                    printable(first),
                    self.line,
                    self.column
                )));
            }
            self.partial = Some(Partial {
                chunk: Chunk {
                    bytes: Vec::new(),
                    index: self.index,
                    line: self.line,
                    column: self.column,
                    format: InputFormat::Json,
                },
                depth: 0,
                in_string: false,
                escaped: false,
            });
        }
        let partial = self.partial.as_mut().expect("a value is open");
        let unscanned = &self.buf[self.start..self.end];
        let mut done = None;
        let mut i = 0;
        while i < unscanned.len() {
            if partial.in_string {
                if partial.escaped {
                    partial.escaped = false;
                    i += 1;
                    continue;
                }
                // Strings are most of the bytes: jump to their next quote
                // or backslash.
                match crate::scan::find2(b'"', b'\\', &unscanned[i..]) {
                    Some(at) => {
                        i += at;
                        match unscanned[i] {
                            b'\\' => partial.escaped = true,
                            _ => partial.in_string = false,
                        }
                        i += 1;
                    }
                    None => i = unscanned.len(),
                }
                continue;
            }
            match unscanned[i] {
                b'"' => partial.in_string = true,
                b'{' | b'[' => partial.depth += 1,
                b'}' | b']' => {
                    partial.depth = partial.depth.saturating_sub(1);
                    if partial.depth == 0 {
                        done = Some(i + 1);
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        let take = done.unwrap_or(unscanned.len());
        partial.chunk.bytes.extend_from_slice(&unscanned[..take]);
        self.consume(take);
        done?;
        self.partial.take().map(|p| Ok(p.chunk))
    }

    /// The next value, then every further value already complete in the
    /// buffer: all of them can go at once, without waiting on a read.
    pub fn next_batch(&mut self) -> Option<Vec<Result<Chunk>>> {
        let mut batch = vec![self.next()?];
        while batch.len() < BATCH && !matches!(batch.last(), Some(Err(_))) {
            match self.next_buffered() {
                Some(item) => batch.push(item),
                None => break,
            }
        }
        Some(batch)
    }
}

impl<R: Read> Iterator for Splitter<R> {
    type Item = Result<Chunk>;

    /// The next value, reading as much as it takes; `None` at the end.
    fn next(&mut self) -> Option<Result<Chunk>> {
        loop {
            if let Some(item) = self.next_buffered() {
                return Some(item);
            }
            if self.failed {
                return None;
            }
            if self.eof {
                let open = self.partial.take()?.chunk;
                self.failed = true;
                return Some(Err(anyhow!(
                    "message {}: the input ends in an unfinished value (truncated JSON starting at line {} column {})",
                    open.index,
                    open.line,
                    open.column
                )));
            }
            self.start = 0;
            self.end = 0;
            match self.reader.read(&mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end = n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    self.failed = true;
                    return Some(Err(anyhow::Error::new(err).context("cannot read the input")));
                }
            }
        }
    }
}

/// The receiving end of a thread that sends its work in batches: the items
/// one at a time, in order. `Chunks` for the input, and the parsed messages
/// of `ahead.rs`.
pub struct Batches<T> {
    rx: mpsc::Receiver<Vec<Result<T>>>,
    pending: VecDeque<Result<T>>,
}

/// The chunks of the input, in order.
pub type Chunks = Batches<Chunk>;

impl<T> Batches<T> {
    /// The next item, or `None` at the end.
    pub async fn recv(&mut self) -> Option<Result<T>> {
        if self.pending.is_empty() {
            self.pending.extend(self.rx.recv().await?);
        }
        self.pending.pop_front()
    }
}

fn printable(byte: u8) -> String {
    match byte {
        b'[' => "an array".into(),
        b'"' => "a string".into(),
        b'0'..=b'9' | b'-' => "a number".into(),
        b't' | b'f' => "a boolean".into(),
        b'n' => "null".into(),
        0x20..=0x7e => format!("'{}'", byte as char),
        _ => format!("byte 0x{byte:02x}"),
    }
}

/// Parses one chunk (JSON, or text format) as a message of type `desc`.
/// Errors name the message index, the field path, and the line and column
/// in the whole input.
pub fn parse_message(
    chunk: &Chunk,
    desc: &MessageDescriptor,
    options: &DeserializeOptions,
) -> Result<DynamicMessage> {
    let (index, name) = (chunk.index, desc.full_name());
    // Tracking the field path costs on every field; errors are rare, so
    // parse plainly first and again, tracking, only to explain a failure.
    let plain = match chunk.format {
        InputFormat::Json => {
            let mut de = serde_json::Deserializer::from_slice(&chunk.bytes);
            DynamicMessage::deserialize_with_options(desc.clone(), &mut de, options)
                .and_then(|message| de.end().map(|()| message))
                .ok()
        }
        InputFormat::Text => Some(text::parse(chunk, desc)?),
    };
    if let Some(mut message) = plain {
        if let Some(path) = crate::required::first_missing(&message) {
            return Err(anyhow!(
                "message {index}: invalid {name}: required field '{path}' is missing (line {} column {})",
                chunk.line,
                chunk.column
            ));
        }
        crate::schema::editions::prepare_input(&mut message)
            .map_err(|err| anyhow!("message {index}: invalid {name}: {err}"))?;
        return Ok(message);
    }
    let mut de = serde_json::Deserializer::from_slice(&chunk.bytes);
    let mut track = serde_path_to_error::Track::new();
    let result = DynamicMessage::deserialize_with_options(
        desc.clone(),
        serde_path_to_error::Deserializer::new(&mut de, &mut track),
        options,
    )
    .and_then(|message| de.end().map(|()| message));
    result.map_err(|err| {
        let path = shorten(&track.path().to_string());
        let (line, column) = if err.line() <= 1 {
            (chunk.line, chunk.column + err.column().saturating_sub(1))
        } else {
            (chunk.line + err.line() - 1, err.column())
        };
        // serde_json ends its message with the position in the chunk; grpcx
        // reports its own, in the whole input.
        let detail = err.to_string();
        let detail = detail.rfind(" at line ").map_or(&*detail, |i| &detail[..i]);
        let at = match path.as_str() {
            "" | "?" | "." => String::new(),
            path => format!(" at field '{path}'"),
        };
        anyhow!("message {index}: invalid {name}{at}: {detail} (line {line} column {column})")
    })
}

/// A field path short enough for one line: deep nesting (up to serde_json's
/// recursion limit of 128 levels) keeps its start and its end.
fn shorten(path: &str) -> String {
    const KEEP: usize = 60;
    let chars: Vec<char> = path.chars().collect();
    if chars.len() <= 2 * KEEP + 20 {
        return path.to_string();
    }
    let head: String = chars[..KEEP].iter().collect();
    let tail: String = chars[chars.len() - KEEP..].iter().collect();
    format!("{head}…{tail}")
}

/// Where the request data comes from.
pub enum DataSource {
    Inline(String),
    File(std::path::PathBuf),
    Stdin,
}

impl DataSource {
    /// `@-` is stdin, `@path` a file, anything else inline JSON.
    pub fn from_arg(arg: &str) -> DataSource {
        match arg.strip_prefix('@') {
            Some("-") => DataSource::Stdin,
            Some(path) => DataSource::File(path.into()),
            None => DataSource::Inline(arg.to_string()),
        }
    }

    /// Starts a thread that splits the input (in `format`) and sends the
    /// chunks, in batches, through a small bounded channel: stdin is read
    /// with back-pressure, never slurped.
    pub fn spawn_as(self, format: InputFormat) -> Result<Chunks> {
        // Input that is already in memory, or a small file, is split here:
        // a thread takes longer to start than splitting it does.
        let small = match &self {
            DataSource::Inline(text) => Some(text.len() as u64),
            DataSource::File(path) => std::fs::metadata(path)
                .ok()
                .filter(|m| m.is_file() && m.len() <= SPLIT_HERE)
                .map(|m| m.len()),
            DataSource::Stdin => None,
        };
        // One read past the end of a small input sees it (a file that grew
        // is read on, a read at a time).
        let size = small.map_or(READ_SIZE, |len| {
            usize::try_from(len).unwrap_or(READ_SIZE).saturating_add(1)
        });
        let reader: Box<dyn Read + Send> = match self {
            DataSource::Inline(text) => Box::new(io::Cursor::new(text.into_bytes())),
            DataSource::File(path) => Box::new(
                std::fs::File::open(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            ),
            DataSource::Stdin => Box::new(StdinRaw),
        };
        // The splitter, made where it runs (its buffer is zeroed there).
        type Next = Box<dyn FnMut() -> Option<Vec<Result<Chunk>>> + Send>;
        let splitter = move || -> Next {
            match format {
                InputFormat::Json => {
                    let mut splitter = Splitter::with_buffer(reader, size);
                    Box::new(move || splitter.next_batch())
                }
                InputFormat::Text => {
                    let mut records = text::Records::new(reader);
                    Box::new(move || records.next_batch())
                }
            }
        };
        let (tx, rx) = mpsc::channel(4);
        if small.is_some() {
            let pending = std::iter::from_fn(splitter()).flatten().collect();
            return Ok(Batches { rx, pending });
        }
        std::thread::Builder::new()
            .name("grpcx-input".into())
            .spawn(move || {
                let mut next = splitter();
                while let Some(batch) = next() {
                    if tx.blocking_send(batch).is_err() {
                        break;
                    }
                }
            })
            .context("cannot start the input thread")?;
        let pending = VecDeque::new();
        Ok(Batches { rx, pending })
    }
}

/// The largest file split on the calling thread (see [`DataSource::spawn_as`]).
const SPLIT_HERE: u64 = 256 * 1024;

/// stdin without std's own buffer (the readers have one).
pub struct StdinRaw;

impl Read for StdinRaw {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        io::stdin().lock().read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_bytes_are_counted_eight_at_a_time_as_one_by_one() {
        let text = "aé€𝄞 plain ascii and ünïcödé, repeated: aé€𝄞 plain ascii and ünïcödé";
        for start in 0..text.len() {
            let bytes = &text.as_bytes()[start..];
            let slow = bytes.iter().filter(|&&c| c & 0xC0 == 0x80).count();
            assert_eq!(continuation_bytes(bytes), slow, "from byte {start}");
        }
    }

    fn split(text: &str) -> Vec<Result<Chunk>> {
        Splitter::new(text.as_bytes()).collect()
    }

    fn texts(text: &str) -> Vec<String> {
        split(text)
            .into_iter()
            .map(|c| String::from_utf8(c.unwrap().bytes).unwrap())
            .collect()
    }

    #[test]
    fn splits_ndjson_and_concatenated_pretty_objects() {
        assert_eq!(texts("{\"a\":1}\n{\"b\":2}\n"), ["{\"a\":1}", "{\"b\":2}"]);
        assert_eq!(
            texts("{\n \"a\": {\"b\": [1, {}]}\n}{}  {}"),
            ["{\n \"a\": {\"b\": [1, {}]}\n}", "{}", "{}"]
        );
        assert!(texts("  \n\t ").is_empty());
    }

    /// A small read buffer (small input gets one of its own size) splits
    /// the same values, at the same places, however the values fall across
    /// reads.
    #[test]
    fn any_buffer_size_splits_alike() {
        let text =
            "{\"a\": \"}{\\\"\"}\n  {\"é\": [1, {\"b\": 2}]}{}\n{\"long\": \"0123456789abcdef\"}";
        let key = |c: Chunk| {
            (
                String::from_utf8(c.bytes).unwrap(),
                c.index,
                c.line,
                c.column,
            )
        };
        let whole: Vec<_> = split(text).into_iter().map(|c| key(c.unwrap())).collect();
        assert_eq!(whole.len(), 4);
        for size in 1..=text.len() + 1 {
            let small: Vec<_> = Splitter::with_buffer(text.as_bytes(), size)
                .map(|c| key(c.unwrap()))
                .collect();
            assert_eq!(small, whole, "buffer of {size}");
        }
    }

    #[test]
    fn braces_inside_strings_do_not_count() {
        assert_eq!(texts(r#"{"a":"}{\"}"} {}"#), [r#"{"a":"}{\"}"}"#, "{}"]);
    }

    #[test]
    fn positions_are_tracked() {
        let chunks: Vec<Chunk> = split("{}\n  {\"é\":1}")
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let second = &chunks[1];
        assert_eq!((second.index, second.line, second.column), (2, 2, 3));
    }

    #[test]
    fn non_objects_and_truncation_are_errors() {
        let err = split("{} 42").pop().unwrap().unwrap_err().to_string();
        assert!(
            err.contains("message 2: expected a JSON object, found a number at line 1 column 4"),
            "{err}"
        );
        let err = split("{\"a\": [1,").pop().unwrap().unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
        // After an error the splitter stops.
        assert_eq!(split("[ {} {}").len(), 1);
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(texts(&deep).len(), 1);
    }

    proptest::proptest! {
        /// Any bytes split into whole objects and at most one error, which
        /// ends the input.
        #[test]
        fn any_bytes_split_or_fail_once(bytes: Vec<u8>) {
            let items: Vec<Result<Chunk>> = Splitter::new(bytes.as_slice()).collect();
            for (i, item) in items.iter().enumerate() {
                match item {
                    Ok(chunk) => proptest::prop_assert_eq!(chunk.bytes.first(), Some(&b'{')),
                    Err(_) => proptest::prop_assert_eq!(i, items.len() - 1),
                }
            }
        }

        /// Objects written one after another, compact or pretty, split back
        /// into exactly those objects.
        #[test]
        fn written_objects_split_back(values in proptest::collection::vec(json_object(), 0..6), pretty: bool) {
            let mut text = String::new();
            for value in &values {
                let one = if pretty { serde_json::to_string_pretty(value) } else { serde_json::to_string(value) };
                text.push_str(&one.unwrap());
                text.push('\n');
            }
            let got: Vec<serde_json::Value> = texts(&text).iter().map(|t| serde_json::from_str(t).unwrap()).collect();
            proptest::prop_assert_eq!(got, values);
        }
    }

    fn json_object() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "\\PC{0,8}|[{}\\[\\]\"\\\\]{0,4}".prop_map(serde_json::Value::from),
        ];
        let value = leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("\\PC{0,6}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        });
        proptest::collection::btree_map("[a-z{}\"]{0,6}", value, 0..4)
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()))
    }
}
