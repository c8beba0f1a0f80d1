//! Parsing ahead: the chunks of a request stream parsed into messages on a
//! thread of their own, so that the runtime's one thread is left to encode
//! and send them.
//!
//! The thread takes only the plain case: a chunk that names an `Any` type
//! or an extension (which may need the schema to grow by reflection first),
//! or that does not parse, is handed back as it is, in its place in the
//! order, and the caller parses it as it would have. So the messages, their
//! order and every error stay what they were without the thread.

use std::collections::VecDeque;

use anyhow::{Context as _, Result};
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor};
use tokio::sync::mpsc;

use super::{Batches, Chunk, Chunks, parse_message};
use crate::cli::InputFormat;

/// One chunk of the input, parsed or handed back.
pub enum Parsed {
    Message(DynamicMessage),
    /// For the caller to parse: it may need the schema, or it is invalid.
    Chunk(Chunk),
}

/// Starts the thread: it parses `chunks` as messages of type `input`, and
/// hands them on in order.
pub fn spawn(
    chunks: Chunks,
    input: MessageDescriptor,
    options: DeserializeOptions,
) -> Result<Batches<Parsed>> {
    // A batch is what one read of the input held (up to 256 chunks);
    // two in flight keep both threads busy and memory bounded.
    let (tx, rx) = mpsc::channel(2);
    let Batches {
        rx: mut batches,
        pending,
    } = chunks;
    std::thread::Builder::new()
        .name("grpcx-parse".into())
        .spawn(move || {
            let first = (!pending.is_empty()).then(|| Vec::from(pending));
            let batches = first
                .into_iter()
                .chain(std::iter::from_fn(|| batches.blocking_recv()));
            for batch in batches {
                let parsed = batch
                    .into_iter()
                    .map(|chunk| chunk.map(|chunk| parse(chunk, &input, &options)))
                    .collect();
                if tx.blocking_send(parsed).is_err() {
                    break;
                }
            }
        })
        .context("cannot start the parsing thread")?;
    Ok(Batches {
        rx,
        pending: VecDeque::new(),
    })
}

/// The plain case, or the chunk back.
fn parse(chunk: Chunk, input: &MessageDescriptor, options: &DeserializeOptions) -> Parsed {
    // `"@type"` names an Any's type; a `"[pkg.ext]"` key, an extension;
    // in text format, both are in brackets.
    let finder = |needle: &[u8]| crate::scan::contains(&chunk.bytes, needle);
    let named = match chunk.format {
        InputFormat::Json => finder(b"\"@type\"") || finder(b"\"["),
        InputFormat::Text => finder(b"["),
    };
    if named {
        return Parsed::Chunk(chunk);
    }
    match parse_message(&chunk, input, options) {
        Ok(message) => Parsed::Message(message),
        Err(_) => Parsed::Chunk(chunk),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::DataSource;

    fn pool() -> prost_reflect::DescriptorPool {
        prost_reflect::DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap()
    }

    #[tokio::test]
    async fn plain_chunks_are_parsed_and_the_rest_handed_back_in_order() {
        let input = pool()
            .get_message_by_name("helloworld.HelloRequest")
            .unwrap();
        let text = r#"{"name":"a"} {"name":1} {"name":"[b]"} {"name":"c"} {"#;
        let chunks = DataSource::Inline(text.into())
            .spawn_as(crate::cli::InputFormat::Json)
            .unwrap();
        let mut ahead = spawn(chunks, input, DeserializeOptions::new()).unwrap();
        let mut seen = Vec::new();
        while let Some(next) = ahead.recv().await {
            seen.push(match next {
                Ok(Parsed::Message(m)) => format!(
                    "message {}",
                    m.get_field_by_name("name").unwrap().as_str().unwrap()
                ),
                Ok(Parsed::Chunk(c)) => format!("chunk {}", c.index),
                Err(_) => "error".to_string(),
            });
        }
        assert_eq!(
            seen,
            ["message a", "chunk 2", "chunk 3", "message c", "error"]
        );
    }
}
