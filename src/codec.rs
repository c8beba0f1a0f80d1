//! The tonic codec for calls made from a schema: requests are
//! `DynamicMessage`s, encoded as they go, or already encoded (bench sends
//! the same requests many times, encoded once); responses stay wire bytes.
//!
//! Responses are decoded lazily: the printer's fast path turns most of them
//! into JSON straight from the wire (`transcode`), and only the rest are
//! decoded into a `DynamicMessage`, by the printer, with the method's output
//! type.

use bytes::{Buf as _, BufMut as _, Bytes};
use prost::Message as _;
use prost_reflect::DynamicMessage;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// A request message, to encode or already encoded.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Message(DynamicMessage),
    /// The message's wire bytes.
    Encoded(Bytes),
}

impl From<DynamicMessage> for Outgoing {
    fn from(message: DynamicMessage) -> Outgoing {
        Outgoing::Message(message)
    }
}

/// Encodes any request; hands responses over as wire bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct DynamicCodec;

impl Codec for DynamicCodec {
    type Encode = Outgoing;
    type Decode = Bytes;
    type Encoder = DynamicEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawDecoder
    }
}

#[derive(Debug)]
pub struct DynamicEncoder;

impl Encoder for DynamicEncoder {
    type Item = Outgoing;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        match item {
            Outgoing::Message(message) => message
                .encode(dst)
                .map_err(|err| Status::internal(format!("cannot encode the request: {err}"))),
            Outgoing::Encoded(bytes) => {
                dst.put_slice(&bytes);
                Ok(())
            }
        }
    }
}

/// Takes each response message's bytes as they are.
#[derive(Debug)]
pub struct RawDecoder;

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
