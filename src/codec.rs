//! The messages of calls made from a schema: requests are
//! `DynamicMessage`s, encoded as they go (by `protocol::grpc::encode`), or
//! already encoded, or already framed (bench sends the same requests many
//! times, framed once); responses stay wire bytes, which the printer mostly
//! turns into JSON straight from the wire (`transcode`), decoding the rest
//! into a `DynamicMessage`.

use bytes::Bytes;
use prost_reflect::DynamicMessage;

/// A request message, to encode or already encoded.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Message(DynamicMessage),
    /// The message's wire bytes.
    Encoded(Bytes),
    /// A whole gRPC frame: the prefix and the message, compressed if the
    /// call compresses (`protocol::grpc::framed`). Sent as it is.
    Framed(Bytes),
}

impl From<DynamicMessage> for Outgoing {
    fn from(message: DynamicMessage) -> Outgoing {
        Outgoing::Message(message)
    }
}
