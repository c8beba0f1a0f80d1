//! The tonic codec for calls made from a schema: requests are
//! `DynamicMessage`s, encoded as they are; responses stay wire bytes.
//!
//! Responses are decoded lazily: the printer's fast path turns most of them
//! into JSON straight from the wire (`transcode`), and only the rest are
//! decoded into a `DynamicMessage`, by the printer, with the method's output
//! type.

use bytes::{Buf as _, Bytes};
use prost::Message as _;
use prost_reflect::DynamicMessage;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// Encodes any `DynamicMessage`; hands responses over as wire bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct DynamicCodec;

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
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
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        item.encode(dst)
            .map_err(|err| Status::internal(format!("cannot encode the request: {err}")))
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
