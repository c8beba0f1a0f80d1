//! Printing a response message, for `call` and `call --each`: a type that
//! can hold an Any is decoded first, and the types its Anys name are fetched
//! (by reflection) before it prints; the rest go to the printer as wire
//! bytes.

use anyhow::Result;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor, ReflectMessage as _};
use tokio::sync::Mutex;

use crate::error;
use crate::output::Printer;
use crate::schema::{self, Schema};

/// Prints one response. A type that can hold an Any is decoded here, so
/// that the types its Anys name can be fetched first; the rest go to the
/// printer as wire bytes.
pub async fn print(
    output: &MessageDescriptor,
    bytes: &[u8],
    has_any: bool,
    schema: &Mutex<Schema>,
    printer: &mut Printer,
) -> Result<()> {
    if !has_any {
        return printer.wire_message(output, bytes);
    }
    let message = DynamicMessage::decode(output.clone(), bytes).map_err(|err| {
        error::StatusError(tonic::Status::internal(format!(
            "the server sent a {} that does not decode: {err}",
            output.full_name()
        )))
    })?;
    printer.message(&resolve_any(message, schema).await?)
}

/// Makes every Any in a response printable: fetches the types it names and
/// re-reads the message against the pool that now holds them. Loops because
/// an Any nested in an Any shows its type only once the outer one decodes.
async fn resolve_any(
    mut message: DynamicMessage,
    schema: &Mutex<Schema>,
) -> Result<DynamicMessage> {
    loop {
        let mut types = Vec::new();
        schema::types_in_message(&message, &mut types);
        let pool = message.descriptor().parent_pool().clone();
        if types.iter().all(|t| pool.get_message_by_name(t).is_some()) {
            return Ok(message);
        }
        let mut schema = schema.lock().await;
        schema.fetch_types(&types).await?;
        let desc = schema
            .pool()
            .get_message_by_name(message.descriptor().full_name())
            .expect("the output type stays in the pool");
        message = DynamicMessage::decode(desc, message.encode_to_vec().as_slice())?;
    }
}
