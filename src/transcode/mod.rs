//! The JSON fast path: prints a protobuf message straight from its wire bytes,
//! without decoding it into a `DynamicMessage` first.
//!
//! It owns one thing: producing, for the messages it accepts, exactly the bytes
//! that `DynamicMessage::serialize_with_options` would produce with the same
//! options and the same serde_json `Formatter`. It does so by walking the wire
//! and making the same serde calls in the same order (`serialize_map(None)`
//! per message, `serialize_seq(Some(len))` per list, `collect_str` for 64-bit
//! integers and bytes, and so on), so any formatter sees identical events.
//!
//! The contract is "fast or nothing": [`Plans::json`] declines a type it
//! does not plan for, and a [`WireJson`] fails part-way on wire it does not
//! take; the caller then drops what was written and takes the slow path
//! (decode + `serialize_with_options`), which is always correct. (The tests'
//! [`write_json`] does both for one message.) It declines:
//! - types it does not plan for: maps, groups, extensions, proto2 explicit
//!   defaults, any `google.protobuf.*` message (well-known types have their
//!   own JSON forms), and any type that reaches one of those;
//! - `skip_default_fields(false)` (`--emit-defaults`);
//! - wire that is not canonical, because prost-reflect prints fields in
//!   number order and merges repeats: field numbers must strictly increase,
//!   except that the records of one repeated field may follow each other; a
//!   singular field seen twice, two members of one oneof, a repeated field
//!   interrupted by another, a wrong wire type, invalid UTF-8, a group, or a
//!   malformed varint or length all decline. Unknown fields are skipped
//!   wherever they are, as prost-reflect leaves them out of JSON too;
//! - nesting deeper than [`MAX_DEPTH`].
//!
//! The slow path's decode rejects some of these (bad UTF-8, truncation); that
//! is its business, and it reports the error as it always did.

use std::collections::{BTreeSet, HashMap};

use base64::display::Base64Display;
use base64::prelude::BASE64_STANDARD;
use prost_reflect::{DescriptorPool, EnumDescriptor, Kind, MessageDescriptor, SerializeOptions};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// Nesting deeper than this declines. prost's decoder gives up at 100, and
/// the slow path should be the one to say so.
const MAX_DEPTH: u32 = 64;
/// Field numbers below this are found by indexing a Vec; the others (they
/// can reach 2^29) by a binary search.
const DENSE_FIELDS: u32 = 512;
/// "No field with this number" in [`MsgPlan::dense`].
const NO_FIELD: u32 = u32::MAX;

/// Appends `bytes`, a wire-format message of type `desc`, to `out` as JSON,
/// and returns `true`; or returns `false` with `out` untouched when the fast
/// path does not handle this type, these options or this particular wire
/// (see the module header). Never allocates per message beyond `out` itself.
#[cfg(test)]
pub fn write_json<F: serde_json::ser::Formatter>(
    plans: &mut Plans,
    desc: &MessageDescriptor,
    bytes: &[u8],
    out: &mut Vec<u8>,
    formatter: F,
) -> bool {
    let Some(json) = plans.json(desc, bytes) else {
        return false;
    };
    let start = out.len();
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, formatter);
    // Writing to a Vec cannot fail, so any error is a decline.
    let ok = json.serialize(&mut ser).is_ok();
    if !ok {
        out.truncate(start);
    }
    ok
}

/// A wire-format message as a `Serialize` value, for callers that nest it
/// in a larger document (an envelope). Serializing it fails part-way when
/// the fast path declines this wire (see the module header).
pub struct WireJson<'a> {
    cx: Cx<'a>,
    plan: u32,
    bytes: &'a [u8],
}

impl Serialize for WireJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Msg {
            cx: &self.cx,
            plan: self.plan,
            bytes: self.bytes,
            depth: 0,
        }
        .serialize(serializer)
    }
}

/// The plans for every message type seen so far, compiled once per type.
/// Keep one per descriptor pool (a new pool drops what was cached).
#[derive(Default)]
pub struct Plans {
    /// `None` when the options need the slow path for every message
    /// (`--emit-defaults`).
    opts: Option<JsonOptions>,
    pool: Option<DescriptorPool>,
    arena: Arena,
    /// Full name → index in `arena.msgs`, or `None` for a declined type.
    by_name: HashMap<String, Option<u32>>,
    /// The type asked for last: a stream asks for the same one every time,
    /// and comparing descriptors is two word compares, unlike hashing a name.
    last: Option<(MessageDescriptor, Option<u32>)>,
}

/// The JSON options grpcx's flags choose. Both paths are built from this
/// one value: [`JsonOptions::serialize_options`] for prost-reflect's, and
/// [`Plans::new`] for the fast path, so the two cannot disagree.
pub use crate::cli::JsonArgs as JsonOptions;

impl JsonOptions {
    /// prost-reflect's options for the same choices.
    pub fn serialize_options(&self) -> SerializeOptions {
        SerializeOptions::new()
            .skip_default_fields(!self.emit_defaults)
            .use_proto_field_name(self.proto_names)
            .stringify_64_bit_integers(!self.int64_as_number)
            .use_enum_numbers(self.enum_as_number)
    }
}

/// Plans refer to each other by index, so recursive types are no trouble.
#[derive(Default)]
struct Arena {
    msgs: Vec<MsgPlan>,
    enums: Vec<EnumPlan>,
    enum_ids: HashMap<String, u32>,
}

#[derive(Default)]
struct MsgPlan {
    /// Field number → index in `fields`, for numbers below `DENSE_FIELDS`.
    dense: Vec<u32>,
    /// (number, index in `fields`) for the larger numbers, sorted.
    sparse: Vec<(u32, u32)>,
    fields: Vec<FieldPlan>,
}

struct FieldPlan {
    /// The JSON key: json_name, or the proto name when the options say so.
    name: Box<str>,
    ty: Ty,
    repeated: bool,
    /// Printed even when it holds the default (proto3 `optional`, oneof
    /// members, messages, proto2), as `FieldDescriptor::supports_presence`.
    presence: bool,
    /// This field's oneof as one bit, or 0.
    oneof_bit: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ty {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
    /// Index in `Arena::enums`.
    Enum(u32),
    /// Index in `Arena::msgs`.
    Message(u32),
}

struct EnumPlan {
    /// google.protobuf.NullValue prints as `null`.
    null: bool,
    /// The number an implicit-presence field holds by default.
    default: i32,
    /// (number, name) sorted by number; for aliases, the name prost-reflect's
    /// `get_value` picks.
    names: Vec<(i32, Box<str>)>,
}

impl Plans {
    pub fn new(options: &JsonOptions) -> Plans {
        Plans {
            opts: (!options.emit_defaults).then_some(*options),
            ..Plans::default()
        }
    }

    /// `bytes` of type `desc` as a [`WireJson`] value, or `None` when the
    /// type or the options are declined (the wire is checked as it prints).
    pub fn json<'a>(
        &'a mut self,
        desc: &MessageDescriptor,
        bytes: &'a [u8],
    ) -> Option<WireJson<'a>> {
        let plan = self.plan(desc)?;
        let cx = Cx {
            arena: &self.arena,
            opts: self.opts?,
        };
        Some(WireJson { cx, plan, bytes })
    }

    /// The plan for `desc`, compiling it (and every type it reaches) the
    /// first time; `None` when the type is declined.
    fn plan(&mut self, desc: &MessageDescriptor) -> Option<u32> {
        let opts = self.opts?;
        if let Some((last, plan)) = &self.last
            && last == desc
        {
            return *plan;
        }
        if self.pool.as_ref() != Some(desc.parent_pool()) {
            self.arena = Arena::default();
            self.by_name.clear();
            self.pool = Some(desc.parent_pool().clone());
        }
        let plan = match self.by_name.get(desc.full_name()) {
            Some(plan) => *plan,
            None => self.compile(desc, opts),
        };
        self.last = Some((desc.clone(), plan));
        plan
    }

    /// Decides every type reachable from `root` that is not decided yet, and
    /// builds plans for those that are eligible.
    fn compile(&mut self, root: &MessageDescriptor, opts: JsonOptions) -> Option<u32> {
        // The new types reachable through message fields.
        let mut todo = vec![root.clone()];
        let mut local = HashMap::from([(root.full_name().to_owned(), 0)]);
        let mut i = 0;
        while i < todo.len() {
            for field in todo[i].clone().fields() {
                if let Kind::Message(target) = field.kind()
                    && !self.by_name.contains_key(target.full_name())
                    && !local.contains_key(target.full_name())
                {
                    local.insert(target.full_name().to_owned(), todo.len());
                    todo.push(target);
                }
            }
            i += 1;
        }
        // Eligible: its own fields qualify and every message field leads to
        // an eligible type. Start from the first condition and strike types
        // until nothing changes, so that a cycle of good types stays good.
        let mut ok: Vec<bool> = todo.iter().map(locally_eligible).collect();
        let mut changed = true;
        while changed {
            changed = false;
            for (i, msg) in todo.iter().enumerate() {
                let leads_to_bad = |field: prost_reflect::FieldDescriptor| match field.kind() {
                    Kind::Message(target) => match local.get(target.full_name()) {
                        Some(&j) => !ok[j],
                        None => !matches!(self.by_name.get(target.full_name()), Some(Some(_))),
                    },
                    _ => false,
                };
                if ok[i] && msg.fields().any(leads_to_bad) {
                    ok[i] = false;
                    changed = true;
                }
            }
        }
        // Plans are pushed in `todo` order, each at the next free index.
        let mut free = self.arena.msgs.len() as u32..;
        let ids: Vec<Option<u32>> = ok
            .iter()
            .map(|&ok| ok.then(|| free.next().unwrap()))
            .collect();
        let resolve = |name: &str| match local.get(name) {
            Some(&j) => ids[j],
            None => self.by_name[name],
        };
        for (msg, _) in todo.iter().zip(&ok).filter(|&(_, &ok)| ok) {
            let plan = build_plan(msg, opts, &resolve, &mut self.arena);
            self.arena.msgs.push(plan);
        }
        for (name, j) in local {
            self.by_name.insert(name, ids[j]);
        }
        ids[0]
    }
}

/// Whether `msg`'s own fields qualify (the types they lead to are checked
/// separately).
fn locally_eligible(msg: &MessageDescriptor) -> bool {
    !msg.full_name().starts_with("google.protobuf.")
        && msg.extensions().len() == 0
        && msg.oneofs().len() <= 64
        && msg.fields().all(|field| {
            !field.is_map()
                && !field.is_group()
                && !crate::schema::editions::fast_path_declines(&field)
                && field.field_descriptor_proto().default_value.is_none()
        })
}

fn build_plan(
    msg: &MessageDescriptor,
    opts: JsonOptions,
    resolve: &dyn Fn(&str) -> Option<u32>,
    arena: &mut Arena,
) -> MsgPlan {
    let oneofs: Vec<_> = msg.oneofs().collect();
    let mut plan = MsgPlan::default();
    for field in msg.fields() {
        let ty = match field.kind() {
            Kind::Double => Ty::Double,
            Kind::Float => Ty::Float,
            Kind::Int32 => Ty::Int32,
            Kind::Int64 => Ty::Int64,
            Kind::Uint32 => Ty::Uint32,
            Kind::Uint64 => Ty::Uint64,
            Kind::Sint32 => Ty::Sint32,
            Kind::Sint64 => Ty::Sint64,
            Kind::Fixed32 => Ty::Fixed32,
            Kind::Fixed64 => Ty::Fixed64,
            Kind::Sfixed32 => Ty::Sfixed32,
            Kind::Sfixed64 => Ty::Sfixed64,
            Kind::Bool => Ty::Bool,
            Kind::String => Ty::String,
            Kind::Bytes => Ty::Bytes,
            Kind::Enum(e) => Ty::Enum(arena.enum_id(&e)),
            Kind::Message(m) => Ty::Message(
                resolve(m.full_name()).expect("an eligible type's fields lead to eligible types"),
            ),
        };
        let oneof_bit = field
            .containing_oneof()
            .and_then(|oneof| oneofs.iter().position(|o| *o == oneof))
            .map_or(0, |i| 1u64 << i);
        let index = plan.fields.len() as u32;
        let number = field.number();
        if number < DENSE_FIELDS {
            let number = number as usize;
            if plan.dense.len() <= number {
                plan.dense.resize(number + 1, NO_FIELD);
            }
            plan.dense[number] = index;
        } else {
            plan.sparse.push((number, index));
        }
        plan.fields.push(FieldPlan {
            name: if opts.proto_names {
                field.name()
            } else {
                field.json_name()
            }
            .into(),
            ty,
            repeated: field.is_list(),
            presence: field.supports_presence(),
            oneof_bit,
        });
    }
    plan.sparse.sort_unstable();
    plan
}

impl Arena {
    fn enum_id(&mut self, desc: &EnumDescriptor) -> u32 {
        if let Some(&id) = self.enum_ids.get(desc.full_name()) {
            return id;
        }
        let numbers: BTreeSet<i32> = desc.values().map(|v| v.number()).collect();
        let names = numbers
            .into_iter()
            .filter_map(|n| Some((n, desc.get_value(n)?.name().into())))
            .collect();
        let id = self.enums.len() as u32;
        self.enums.push(EnumPlan {
            null: desc.full_name() == "google.protobuf.NullValue",
            default: desc.default_value().number(),
            names,
        });
        self.enum_ids.insert(desc.full_name().to_owned(), id);
        id
    }
}

impl MsgPlan {
    #[inline]
    fn field(&self, number: u32) -> Option<&FieldPlan> {
        let index = if number < DENSE_FIELDS {
            *self.dense.get(number as usize)?
        } else {
            let i = self
                .sparse
                .binary_search_by_key(&number, |&(n, _)| n)
                .ok()?;
            self.sparse[i].1
        };
        self.fields.get(index as usize)
    }
}

impl Ty {
    /// The wire type of one unpacked value.
    fn wire_type(self) -> u8 {
        match self {
            Ty::Double | Ty::Fixed64 | Ty::Sfixed64 => 1,
            Ty::Float | Ty::Fixed32 | Ty::Sfixed32 => 5,
            Ty::String | Ty::Bytes | Ty::Message(_) => 2,
            _ => 0,
        }
    }

    fn packable(self) -> bool {
        self.wire_type() != 2
    }
}

/// The error that means "decline": any error at all ends the fast path.
fn decline<E: serde::ser::Error>() -> E {
    E::custom("the JSON fast path declines this message")
}

/// What every serializer below shares.
struct Cx<'a> {
    arena: &'a Arena,
    opts: JsonOptions,
}

/// A message: its fields as map entries, in wire (= number) order.
struct Msg<'a> {
    cx: &'a Cx<'a>,
    plan: u32,
    bytes: &'a [u8],
    depth: u32,
}

impl Serialize for Msg<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.depth > MAX_DEPTH {
            return Err(decline());
        }
        let plan = &self.cx.arena.msgs[self.plan as usize];
        let mut map = serializer.serialize_map(None)?;
        let mut wire = Wire::new(self.bytes);
        let mut last = 0;
        let mut oneofs_seen = 0u64;
        while !wire.done() {
            let (number, wire_type) = wire.key().ok_or_else(decline)?;
            let Some(field) = plan.field(number) else {
                wire.skip(wire_type).ok_or_else(decline)?;
                continue;
            };
            if number <= last || field.oneof_bit & oneofs_seen != 0 {
                return Err(decline());
            }
            last = number;
            oneofs_seen |= field.oneof_bit;
            if field.repeated {
                let start = wire.pos;
                let count = wire
                    .list_run(number, wire_type, field.ty)
                    .ok_or_else(decline)?;
                // An empty list is a default, and lists have no presence.
                if count > 0 {
                    let list = List {
                        cx: self.cx,
                        ty: field.ty,
                        bytes: &self.bytes[start..wire.pos],
                        wire_type,
                        count,
                        depth: self.depth,
                    };
                    map.serialize_entry(&*field.name, &list)?;
                }
            } else {
                if wire_type != field.ty.wire_type() {
                    return Err(decline());
                }
                let val = wire.value(field.ty).ok_or_else(decline)?;
                if !field.presence && val.is_default(self.cx.arena) {
                    continue;
                }
                let one = One {
                    cx: self.cx,
                    val,
                    depth: self.depth,
                };
                map.serialize_entry(&*field.name, &one)?;
            }
        }
        map.end()
    }
}

/// The records of one repeated field, from just after its first key: packed
/// chunks and single values, as [`Wire::list_run`] found them.
struct List<'a> {
    cx: &'a Cx<'a>,
    ty: Ty,
    bytes: &'a [u8],
    wire_type: u8,
    count: usize,
    depth: u32,
}

impl Serialize for List<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.count))?;
        let mut wire = Wire::new(self.bytes);
        let mut wire_type = self.wire_type;
        let one = |val| One {
            cx: self.cx,
            val,
            depth: self.depth,
        };
        loop {
            if wire_type == 2 && self.ty.packable() {
                let mut packed = Wire::new(wire.delimited().ok_or_else(decline)?);
                while !packed.done() {
                    let val = packed.value(self.ty).ok_or_else(decline)?;
                    seq.serialize_element(&one(val))?;
                }
            } else {
                let val = wire.value(self.ty).ok_or_else(decline)?;
                seq.serialize_element(&one(val))?;
            }
            if wire.done() {
                break;
            }
            // list_run checked that the keys in the run are all this field's.
            wire_type = wire.key().ok_or_else(decline)?.1;
        }
        seq.end()
    }
}

/// One value, serialized as prost-reflect's `SerializeWrapper<ValueAndKind>`.
struct One<'a> {
    cx: &'a Cx<'a>,
    val: Val<'a>,
    /// The depth of the message holding this value.
    depth: u32,
}

impl Serialize for One<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let opts = self.cx.opts;
        match self.val {
            Val::Bool(v) => serializer.serialize_bool(v),
            Val::I32(v) => serializer.serialize_i32(v),
            Val::U32(v) => serializer.serialize_u32(v),
            Val::I64(v) if !opts.int64_as_number => serializer.collect_str(&v),
            Val::I64(v) => serializer.serialize_i64(v),
            Val::U64(v) if !opts.int64_as_number => serializer.collect_str(&v),
            Val::U64(v) => serializer.serialize_u64(v),
            Val::F32(v) if v.is_finite() => serializer.serialize_f32(v),
            Val::F64(v) if v.is_finite() => serializer.serialize_f64(v),
            Val::F32(v) => serializer.serialize_str(non_finite(f64::from(v))),
            Val::F64(v) => serializer.serialize_str(non_finite(v)),
            Val::Str(v) => serializer.serialize_str(v),
            Val::Bytes(v) => serializer.collect_str(&Base64Display::new(v, &BASE64_STANDARD)),
            Val::Enum(e, number) => {
                let plan = &self.cx.arena.enums[e as usize];
                if plan.null {
                    return serializer.serialize_none();
                }
                if !opts.enum_as_number
                    && let Ok(i) = plan.names.binary_search_by_key(&number, |(n, _)| *n)
                {
                    return serializer.serialize_str(&plan.names[i].1);
                }
                serializer.serialize_i32(number)
            }
            Val::Msg(plan, bytes) => Msg {
                cx: self.cx,
                plan,
                bytes,
                depth: self.depth + 1,
            }
            .serialize(serializer),
        }
    }
}

/// The JSON strings for infinities and NaN.
pub(crate) fn non_finite(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

#[cfg(test)]
pub(crate) mod tests;
mod wire;

use wire::{Val, Wire};
