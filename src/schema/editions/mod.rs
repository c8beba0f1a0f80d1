//! Protobuf Editions (`edition = "2023"`, `"2024"`), from every schema
//! source: each editions file is lowered (`lower`) to the proto2 or proto3
//! file that means the same, before prost-reflect sees it, since
//! prost-reflect 0.16 knows no editions (and panics on them).
//!
//! What lowering cannot carry into the pool is kept here, by file name, for
//! the life of the process: each file's edition and original descriptor
//! (`--protoset-out` writes it back as it came), the features `describe`
//! shows, and which enums are closed. A pool holds one file per name, and
//! grpcx builds one schema per run, so the file name is the key.
//!
//! Two things prost-reflect cannot be told are done on the messages
//! themselves, in input (`prepare_input`) and in output
//! (`prepare_output`), and the JSON fast path leaves such types to the
//! slow path (`fast_path_declines`):
//! - closed enums (prost-reflect treats every enum as open) behave as
//!   protobuf's JSON mapping says: a number that is not a value of the
//!   enum is refused in input, and left out of output (protobuf keeps it
//!   among the unknown fields, which JSON does not print);
//! - implicit-presence fields of a file that had to be lowered to proto2
//!   (see `lower`) are cleared when they hold zero, so a zero is neither
//!   sent nor printed.

mod features;
mod lower;
mod resolver;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, RwLock};

use anyhow::{Result, anyhow};
use prost::Message as _;
use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};
use prost_reflect::{
    DescriptorPool, DynamicMessage, EnumDescriptor, FieldDescriptor, FileDescriptor, Kind, MapKey,
    Value,
};
use prost_types::FileDescriptorProto;

pub use resolver::Resolver;

/// What is known of one lowered file.
struct FileInfo {
    edition: i32,
    /// The file as it came, from a protoset or reflection; `None` for a
    /// file parsed from source (`original` raises the pool's copy).
    received: Option<Vec<u8>>,
    explicit: lower::Explicit,
    shown: HashMap<Vec<i32>, Vec<(usize, i32)>>,
}

#[derive(Default)]
struct Registry {
    files: HashMap<String, Arc<FileInfo>>,
    closed: HashSet<String>,
    implicit: HashSet<String>,
}

impl Registry {
    /// True when messages need `prepare_input`/`prepare_output` at all.
    fn active(&self) -> bool {
        !self.closed.is_empty() || !self.implicit.is_empty()
    }
}

static REGISTRY: LazyLock<RwLock<Registry>> = LazyLock::new(Default::default);

fn registry() -> std::sync::RwLockReadGuard<'static, Registry> {
    REGISTRY.read().unwrap_or_else(|e| e.into_inner())
}

/// An encoded FileDescriptorProto, lowered when it is an editions file;
/// `None` when it is not (use the bytes as they are).
pub fn lower_encoded(bytes: &[u8]) -> Result<Option<Vec<u8>>> {
    if syntax_of(bytes).as_deref() != Some("editions") {
        return Ok(None);
    }
    let file =
        file_message(bytes).map_err(|err| anyhow!("a file descriptor does not decode: {err}"))?;
    let edition = lower::enum_field(&file, "edition");
    lower_and_register(file, edition, Some(bytes)).map(Some)
}

/// A file parsed from .proto source that declares `edition`, lowered.
pub fn lower_parsed(file: FileDescriptorProto, edition: &str) -> Result<FileDescriptorProto> {
    let number = features::edition_number(edition)
        .ok_or_else(|| anyhow!("{}: unknown edition '{edition}'", file.name()))?;
    let message =
        file_message(&file.encode_to_vec()).map_err(|err| anyhow!("{}: {err}", file.name()))?;
    let lowered = lower_and_register(message, number, None)?;
    FileDescriptorProto::decode(lowered.as_slice()).map_err(|err| anyhow!("{}: {err}", file.name()))
}

/// Adds an encoded FileDescriptorSet to `pool`, lowering its editions
/// files. Other files go in byte for byte, custom options and all.
pub fn decode_set(pool: &mut DescriptorPool, bytes: &[u8]) -> Result<()> {
    // The set's files are its field 1.
    let files = delimited(bytes, 1).ok_or_else(|| anyhow!("it does not decode"))?;
    let mut changed = false;
    let mut out = Vec::with_capacity(bytes.len());
    for file in files {
        let lowered = lower_encoded(file)?;
        changed |= lowered.is_some();
        let file = lowered.as_deref().unwrap_or(file);
        prost::encoding::encode_key(1, WireType::LengthDelimited, &mut out);
        prost::encoding::encode_varint(file.len() as u64, &mut out);
        out.extend_from_slice(file);
    }
    let bytes = if changed { out.as_slice() } else { bytes };
    pool.decode_file_descriptor_set(bytes)?;
    Ok(())
}

fn lower_and_register(
    file: DynamicMessage,
    edition: i32,
    received: Option<&[u8]>,
) -> Result<Vec<u8>> {
    let name = lower::str_field(&file, "name");
    if features::edition_name(edition).is_none() {
        return Err(anyhow!(
            "{name} uses edition {edition}, which grpcx does not know (it knows 2023 and 2024)"
        ));
    }
    let lowered = lower::lower(file, edition);
    let mut registry = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    registry.closed.extend(lowered.closed);
    registry.implicit.extend(lowered.implicit);
    registry.files.insert(
        name,
        Arc::new(FileInfo {
            edition,
            received: received.map(<[u8]>::to_vec),
            explicit: lowered.explicit,
            shown: lowered.shown,
        }),
    );
    Ok(lowered.file.encode_to_vec())
}

/// The file's edition (`"2023"`), when it was lowered from one.
pub fn edition_of(file: &str) -> Option<&'static str> {
    features::edition_name(registry().files.get(file)?.edition)
}

/// The editions file a lowered file came from (`--protoset-out`): as it
/// came from a protoset or reflection, or, parsed from source, as protoc
/// would write it (names resolved, options compiled).
pub fn original(file: &FileDescriptor) -> Option<Vec<u8>> {
    let info = registry().files.get(file.name())?.clone();
    if let Some(bytes) = &info.received {
        return Some(bytes.clone());
    }
    let lowered = file_message(&file.encode_to_vec()).ok()?;
    let pool = file.parent_pool();
    let is_enum = |name: &str| pool.get_enum_by_name(name).is_some();
    Some(lower::raise(lowered, &info.explicit, info.edition, &is_enum).encode_to_vec())
}

/// The element at `path` of `file` (a message, field, enum, …) as the
/// original editions descriptor has it, for `describe --format json`.
pub fn original_element(file: &FileDescriptor, path: &[i32]) -> Option<DynamicMessage> {
    let mut message = file_message(&original(file)?).ok()?;
    for step in path.chunks(2) {
        let [number, index] = step else {
            return None;
        };
        let value = message.get_field_by_number(*number as u32)?;
        message = value.as_list()?.get(*index as usize)?.as_message()?.clone();
    }
    Some(message)
}

/// The features set on the element at `path` of `file` that differ from
/// what it inherits, as `features.x = Y`.
pub fn shown(file: &str, path: &[i32]) -> Vec<String> {
    registry()
        .files
        .get(file)
        .and_then(|info| info.shown.get(path))
        .into_iter()
        .flatten()
        .map(|&(i, v)| features::describe(i, v))
        .collect()
}

/// True for a closed enum of an editions file.
pub fn is_closed(enumeration: &EnumDescriptor) -> bool {
    let registry = registry();
    !registry.closed.is_empty() && registry.closed.contains(enumeration.full_name())
}

/// Fails on a number that is not a value of its enum, where the enum is a
/// proto2 file's and so closed, naming the field (protobuf's text parser
/// refuses it). Editions files' closed enums are `prepare_input`'s.
pub fn check_proto2_enums(message: &DynamicMessage) -> Result<()> {
    let closed = |e: &EnumDescriptor| {
        e.parent_file().syntax() == prost_reflect::Syntax::Proto2
            && !registry().files.contains_key(e.parent_file().name())
    };
    for (field, value) in message.fields() {
        let value_field = value_field(&field);
        let check = |v: &Value| match (value_field.kind(), v) {
            (Kind::Enum(e), Value::EnumNumber(n)) if closed(&e) && e.get_value(*n).is_none() => {
                Err(unknown_error(&value_field, *n))
            }
            (_, Value::Message(inner)) => check_proto2_enums(inner),
            _ => Ok(()),
        };
        match value {
            Value::List(items) => items.iter().try_for_each(check)?,
            Value::Map(entries) => entries.values().try_for_each(check)?,
            other => check(other)?,
        }
    }
    Ok(())
}

/// True for a field the JSON fast path must leave to the slow path: a
/// closed enum, or implicit presence that prost-reflect does not know.
pub fn fast_path_declines(field: &FieldDescriptor) -> bool {
    let registry = registry();
    if !registry.active() {
        return false;
    }
    (registry.implicit.contains(field.full_name()) && field.kind().as_message().is_none())
        || field
            .kind()
            .as_enum()
            .is_some_and(|e| registry.closed.contains(e.full_name()))
}

/// Readies a message parsed from the user's JSON for the wire: fails on a
/// closed enum holding a number that is not one of its values (protobuf's
/// JSON parser refuses it), naming the field; clears implicit zeros.
pub fn prepare_input(message: &mut DynamicMessage) -> Result<()> {
    if !registry().active() {
        return Ok(());
    }
    visit(message, true)
}

/// Readies a decoded message for printing: leaves out closed-enum numbers
/// that are not values (protobuf moves them to the unknown fields) and
/// implicit zeros.
pub fn prepare_output(message: &mut DynamicMessage) {
    if registry().active() {
        let _ = visit(message, false);
    }
}

/// False for a closed-enum number that is not a value of the enum.
fn known(field: &FieldDescriptor, value: &Value) -> bool {
    match (field.kind(), value) {
        (Kind::Enum(e), Value::EnumNumber(n)) => !is_closed(&e) || e.get_value(*n).is_some(),
        _ => true,
    }
}

fn unknown_error(field: &FieldDescriptor, number: i32) -> anyhow::Error {
    let enumeration = field
        .kind()
        .as_enum()
        .map_or_else(String::new, |e| e.full_name().to_string());
    anyhow!(
        "{number} is not a value of the closed enum {enumeration} (field '{}')",
        field.name()
    )
}

/// The work of `prepare_input` (`input`) and `prepare_output`.
fn visit(message: &mut DynamicMessage, input: bool) -> Result<()> {
    let mut clear = Vec::new();
    for (field, value) in message.fields_mut() {
        let value_field = value_field(&field);
        let check = |v: &Value| match v {
            Value::EnumNumber(n) if input && !known(&value_field, v) => {
                Err(unknown_error(&value_field, *n))
            }
            _ => Ok(()),
        };
        match value {
            Value::List(items) => {
                items.iter().try_for_each(check)?;
                items.retain(|v| known(&value_field, v));
                items.iter_mut().try_for_each(|v| visit_value(v, input))?;
            }
            Value::Map(entries) => {
                entries.values().try_for_each(check)?;
                entries.retain(|_: &MapKey, v| known(&value_field, v));
                entries
                    .values_mut()
                    .try_for_each(|v| visit_value(v, input))?;
            }
            other => {
                check(other)?;
                let implicit_zero = || {
                    field.kind().as_message().is_none()
                        && registry().implicit.contains(field.full_name())
                        && other.is_default_for_field(&field)
                };
                if !known(&field, other) || implicit_zero() {
                    clear.push(field.clone());
                } else {
                    visit_value(other, input)?;
                }
            }
        }
    }
    for field in clear {
        message.clear_field(&field);
    }
    Ok(())
}

fn visit_value(value: &mut Value, input: bool) -> Result<()> {
    match value {
        Value::Message(m) => visit(m, input),
        _ => Ok(()),
    }
}

/// The field that describes each of `field`'s values: a map's value field,
/// or `field` itself.
fn value_field(field: &FieldDescriptor) -> FieldDescriptor {
    match field.kind() {
        Kind::Message(entry) if field.is_map() => entry.map_entry_value_field(),
        _ => field.clone(),
    }
}

/// An encoded FileDescriptorProto as a message of the bundled
/// `descriptor.proto`.
fn file_message(bytes: &[u8]) -> Result<DynamicMessage, prost::DecodeError> {
    DynamicMessage::decode(features::descriptor_type("FileDescriptorProto"), bytes)
}

/// The `syntax` (field 12) of an encoded FileDescriptorProto, read without
/// decoding the rest.
fn syntax_of(bytes: &[u8]) -> Option<String> {
    let text = *delimited(bytes, 12)?.last()?;
    Some(String::from_utf8_lossy(text).into_owned())
}

/// Each length-delimited field `number` of an encoded message, in order;
/// `None` when the message does not decode.
fn delimited(mut bytes: &[u8], number: u32) -> Option<Vec<&[u8]>> {
    let mut found = Vec::new();
    while !bytes.is_empty() {
        let (key, wire_type) = decode_key(&mut bytes).ok()?;
        if key == number && wire_type == WireType::LengthDelimited {
            let len = decode_varint(&mut bytes).ok()? as usize;
            found.push(bytes.get(..len)?);
            bytes = &bytes[len..];
        } else {
            skip_field(wire_type, key, &mut bytes, DecodeContext::default()).ok()?;
        }
    }
    Some(found)
}

#[cfg(test)]
mod tests;
