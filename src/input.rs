//! Request input: JSON objects from an inline argument, `@file`, or `@-`
//! (stdin), as a stream.
//!
//! The input is a sequence of JSON values separated by whitespace (NDJSON or
//! concatenated pretty objects). [`Splitter`] cuts it into one byte chunk per
//! value without parsing it, so each message can be sent as soon as its
//! closing brace is read, and memory holds one message at a time. Parsing a
//! chunk into a `DynamicMessage` is [`parse_message`]'s job.

use std::io::{self, BufRead, BufReader, Read};

use anyhow::{Context, Result, anyhow};
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor};
use tokio::sync::mpsc;

/// One JSON value of the input, with where it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub bytes: Vec<u8>,
    /// 1-based index of the value in the input.
    pub index: usize,
    /// 1-based line and column of its first byte.
    pub line: usize,
    pub column: usize,
}

/// Splits a byte stream into top-level JSON values.
pub struct Splitter<R> {
    reader: R,
    line: usize,
    column: usize,
    index: usize,
    failed: bool,
}

impl<R: BufRead> Splitter<R> {
    pub fn new(reader: R) -> Self {
        Splitter {
            reader,
            line: 1,
            column: 1,
            index: 0,
            failed: false,
        }
    }

    fn advance(&mut self, byte: u8) {
        if byte == b'\n' {
            self.line += 1;
            self.column = 1;
        } else if byte & 0xC0 != 0x80 {
            // Columns count characters: UTF-8 continuation bytes do not.
            self.column += 1;
        }
    }

    /// Skips whitespace; false at end of input.
    fn skip_whitespace(&mut self) -> io::Result<bool> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(false);
            }
            let n = buf.iter().take_while(|b| b" \t\r\n".contains(b)).count();
            let more = n == buf.len();
            let skipped: Vec<u8> = buf[..n].to_vec();
            self.reader.consume(n);
            for b in skipped {
                self.advance(b);
            }
            if !more {
                return Ok(true);
            }
        }
    }

    fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        if !self.skip_whitespace().context("cannot read the input")? {
            return Ok(None);
        }
        self.index += 1;
        let (line, column, index) = (self.line, self.column, self.index);
        let mut bytes = Vec::new();
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let buf = self.reader.fill_buf().context("cannot read the input")?;
            if buf.is_empty() {
                let what = if bytes.is_empty() {
                    "nothing"
                } else {
                    "an unfinished value"
                };
                return Err(anyhow!(
                    "message {index}: the input ends in {what} (truncated JSON starting at line {line} column {column})"
                ));
            }
            if bytes.is_empty() && buf[0] != b'{' {
                let found = printable(buf[0]);
                return Err(anyhow!(
                    "message {index}: expected a JSON object, found {found} at line {line} column {column}"
                ));
            }
            let mut end = None;
            for (i, &b) in buf.iter().enumerate() {
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let take = end.unwrap_or(buf.len());
            bytes.extend_from_slice(&buf[..take]);
            self.reader.consume(take);
            if end.is_some() {
                break;
            }
        }
        for &b in &bytes {
            self.advance(b);
        }
        Ok(Some(Chunk {
            bytes,
            index,
            line,
            column,
        }))
    }
}

impl<R: BufRead> Iterator for Splitter<R> {
    type Item = Result<Chunk>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.next_chunk().transpose();
        if matches!(next, Some(Err(_))) {
            self.failed = true;
        }
        next
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

/// Parses one chunk as a message of type `desc`. Errors name the message
/// index, the field path, and the line and column in the whole input.
pub fn parse_message(
    chunk: &Chunk,
    desc: &MessageDescriptor,
    options: &DeserializeOptions,
) -> Result<DynamicMessage> {
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
        let detail = strip_position(&err.to_string());
        let at = if path.is_empty() || path == "?" || path == "." {
            String::new()
        } else {
            format!(" at field '{path}'")
        };
        anyhow!(
            "message {}: invalid {}{at}: {detail} (line {line} column {column})",
            chunk.index,
            desc.full_name()
        )
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

/// serde_json appends " at line L column C" relative to the chunk; grpcx
/// reports its own position relative to the whole input.
fn strip_position(text: &str) -> String {
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text.to_string(),
    }
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

    fn open(self) -> Result<Box<dyn BufRead + Send>> {
        Ok(match self {
            DataSource::Inline(text) => Box::new(io::Cursor::new(text.into_bytes())),
            DataSource::File(path) => {
                let file = std::fs::File::open(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                Box::new(BufReader::with_capacity(64 * 1024, file))
            }
            DataSource::Stdin => Box::new(BufReader::with_capacity(64 * 1024, StdinRaw)),
        })
    }

    /// Starts a thread that splits the input and sends the chunks through a
    /// small bounded channel: stdin is read with back-pressure, never slurped.
    pub fn spawn(self) -> Result<mpsc::Receiver<Result<Chunk>>> {
        let reader = self.open()?;
        let (tx, rx) = mpsc::channel(16);
        std::thread::Builder::new()
            .name("grpcx-input".into())
            .spawn(move || {
                for item in Splitter::new(reader) {
                    if tx.blocking_send(item).is_err() {
                        break;
                    }
                }
            })
            .context("cannot start the input thread")?;
        Ok(rx)
    }
}

/// stdin without std's own buffer (the splitter has one).
struct StdinRaw;

impl Read for StdinRaw {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        io::stdin().lock().read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            (chunks[1].index, chunks[1].line, chunks[1].column),
            (2, 2, 3)
        );
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
