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
//! The contract is "fast or nothing": [`write_json`] either appends the whole
//! JSON text to `out` and returns `true`, or leaves `out` exactly as it found
//! it and returns `false`, and the caller then takes the slow path (decode +
//! `serialize_with_options`), which is always correct. It declines:
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

use std::collections::HashMap;

use base64::display::Base64Display;
use base64::prelude::BASE64_STANDARD;
use prost_reflect::{DescriptorPool, EnumDescriptor, Kind, MessageDescriptor, SerializeOptions};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::ser::Formatter;

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
pub fn write_json<F: Formatter>(
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
    if json.serialize(&mut ser).is_ok() {
        true
    } else {
        out.truncate(start);
        false
    }
}

/// A wire-format message as a `Serialize` value, for callers that nest it
/// in a larger document (an envelope). Serializing it fails, part-way, with
/// a custom error when the fast path declines this wire: the caller must
/// then drop what was written and take the slow path. [`write_json`] does
/// exactly that for a message on its own.
pub struct WireJson<'a> {
    cx: Cx<'a>,
    plan: u32,
    bytes: &'a [u8],
}

impl Serialize for WireJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let message = Msg {
            cx: &self.cx,
            plan: self.plan,
            bytes: self.bytes,
            depth: 0,
        };
        message.serialize(serializer)
    }
}

/// The plans for every message type seen so far, compiled once per type.
/// Keep one per descriptor pool (a new pool drops what was cached).
pub struct Plans {
    /// `None` when the options need the slow path for every message.
    opts: Option<Opts>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JsonOptions {
    /// Print zero-valued fields (`--emit-defaults`).
    pub emit_defaults: bool,
    /// .proto field names instead of lowerCamelCase (`--proto-names`).
    pub proto_names: bool,
    /// 64-bit integers as JSON numbers, not strings (`--int64-as-number`).
    pub int64_as_number: bool,
    /// Enums by number, not name (`--enum-as-number`).
    pub enum_numbers: bool,
}

impl JsonOptions {
    /// prost-reflect's options for the same choices.
    pub fn serialize_options(&self) -> SerializeOptions {
        SerializeOptions::new()
            .skip_default_fields(!self.emit_defaults)
            .use_proto_field_name(self.proto_names)
            .stringify_64_bit_integers(!self.int64_as_number)
            .use_enum_numbers(self.enum_numbers)
    }
}

/// The options that change the fast path's output; it leaves
/// `--emit-defaults` to the slow path.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Opts {
    stringify_64: bool,
    enum_numbers: bool,
    proto_names: bool,
}

impl Opts {
    fn from(options: &JsonOptions) -> Option<Opts> {
        (!options.emit_defaults).then_some(Opts {
            stringify_64: !options.int64_as_number,
            enum_numbers: options.enum_numbers,
            proto_names: options.proto_names,
        })
    }
}

/// Plans refer to each other by index, so recursive types are no trouble.
#[derive(Default)]
struct Arena {
    msgs: Vec<MsgPlan>,
    enums: Vec<EnumPlan>,
    enum_ids: HashMap<String, u32>,
}

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
            opts: Opts::from(options),
            pool: None,
            arena: Arena::default(),
            by_name: HashMap::new(),
            last: None,
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
    fn compile(&mut self, root: &MessageDescriptor, opts: Opts) -> Option<u32> {
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
        let mut next = self.arena.msgs.len() as u32;
        let ids: Vec<Option<u32>> = ok
            .iter()
            .map(|&ok| {
                ok.then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        for (msg, id) in todo.iter().zip(&ids) {
            if id.is_some() {
                let resolve = |name: &str| match local.get(name) {
                    Some(&j) => ids[j],
                    None => self.by_name[name],
                };
                let plan = build_plan(msg, opts, &resolve, &mut self.arena);
                self.arena.msgs.push(plan);
            }
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
                && field.field_descriptor_proto().default_value.is_none()
        })
}

fn build_plan(
    msg: &MessageDescriptor,
    opts: Opts,
    resolve: &dyn Fn(&str) -> Option<u32>,
    arena: &mut Arena,
) -> MsgPlan {
    let oneofs: Vec<_> = msg.oneofs().collect();
    let mut plan = MsgPlan {
        dense: Vec::new(),
        sparse: Vec::new(),
        fields: Vec::new(),
    };
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
        let mut numbers: Vec<i32> = desc.values().map(|v| v.number()).collect();
        numbers.sort_unstable();
        numbers.dedup();
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

/// A reader over wire bytes. `None` from any method means "malformed".
struct Wire<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Wire<'a> {
    fn new(buf: &'a [u8]) -> Wire<'a> {
        Wire { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// As prost's `decode_varint`: at most ten bytes, and the tenth may only
    /// carry the top bit of a u64.
    #[inline]
    fn varint(&mut self) -> Option<u64> {
        let first = *self.buf.get(self.pos)?;
        self.pos += 1;
        if first < 0x80 {
            return Some(u64::from(first));
        }
        let mut value = u64::from(first & 0x7f);
        for i in 1..10 {
            let byte = *self.buf.get(self.pos)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return (i < 9 || byte < 2).then_some(value);
            }
        }
        None
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(len)?;
        let bytes = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    fn fixed32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn fixed64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn delimited(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        self.take(len)
    }

    /// A record's (field number, wire type), checked as prost's `decode_key`.
    #[inline]
    fn key(&mut self) -> Option<(u32, u8)> {
        let key = u32::try_from(self.varint()?).ok()?;
        let number = key >> 3;
        (number != 0).then_some((number, (key & 7) as u8))
    }

    /// Skips an unknown field's value. Groups (3, 4) and 6, 7 decline.
    fn skip(&mut self, wire_type: u8) -> Option<()> {
        match wire_type {
            0 => self.varint().map(drop),
            1 => self.take(8).map(drop),
            2 => self.delimited().map(drop),
            5 => self.take(4).map(drop),
            _ => None,
        }
    }

    /// One value of type `ty`, converted as prost's decoders convert it.
    #[inline]
    fn value(&mut self, ty: Ty) -> Option<Val<'a>> {
        Some(match ty {
            Ty::Int32 => Val::I32(self.varint()? as i32),
            Ty::Int64 => Val::I64(self.varint()? as i64),
            Ty::Uint32 => Val::U32(self.varint()? as u32),
            Ty::Uint64 => Val::U64(self.varint()?),
            Ty::Sint32 => {
                let n = self.varint()? as u32;
                Val::I32(((n >> 1) as i32) ^ -((n & 1) as i32))
            }
            Ty::Sint64 => {
                let n = self.varint()?;
                Val::I64(((n >> 1) as i64) ^ -((n & 1) as i64))
            }
            Ty::Bool => Val::Bool(self.varint()? != 0),
            Ty::Enum(_) => Val::Enum(self.varint()? as i32),
            Ty::Fixed32 => Val::U32(self.fixed32()?),
            Ty::Sfixed32 => Val::I32(self.fixed32()? as i32),
            Ty::Float => Val::F32(f32::from_bits(self.fixed32()?)),
            Ty::Fixed64 => Val::U64(self.fixed64()?),
            Ty::Sfixed64 => Val::I64(self.fixed64()? as i64),
            Ty::Double => Val::F64(f64::from_bits(self.fixed64()?)),
            Ty::String => Val::Str(std::str::from_utf8(self.delimited()?).ok()?),
            Ty::Bytes => Val::Bytes(self.delimited()?),
            Ty::Message(_) => Val::Msg(self.delimited()?),
        })
    }

    /// Consumes the run of records of repeated field `number` whose first key
    /// (with `wire_type`) was just read, and counts its elements. Leaves the
    /// reader after the run. Values are only fully checked when printed.
    fn list_run(&mut self, number: u32, mut wire_type: u8, ty: Ty) -> Option<usize> {
        let mut count = 0;
        loop {
            if wire_type == 2 && ty.packable() {
                let data = self.delimited()?;
                count += match ty.wire_type() {
                    1 => (data.len() % 8 == 0).then_some(data.len() / 8)?,
                    5 => (data.len() % 4 == 0).then_some(data.len() / 4)?,
                    _ => {
                        if data.last().is_some_and(|&b| b >= 0x80) {
                            return None;
                        }
                        data.iter().filter(|&&b| b < 0x80).count()
                    }
                };
            } else if wire_type == ty.wire_type() {
                self.skip(wire_type)?;
                count += 1;
            } else {
                return None;
            }
            let mark = self.pos;
            match self.key() {
                Some((next, next_type)) if next == number => wire_type = next_type,
                _ => {
                    self.pos = mark;
                    return Some(count);
                }
            }
        }
    }
}

/// One decoded value, borrowing strings and bytes from the wire.
#[derive(Clone, Copy)]
enum Val<'a> {
    Bool(bool),
    I32(i32),
    I64(i64),
    U32(u32),
    U64(u64),
    F32(f32),
    F64(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
    Enum(i32),
    Msg(&'a [u8]),
}

impl Val<'_> {
    /// As prost-reflect's `Value == default` (so -0.0 is a default, NaN not).
    fn is_default(self, arena: &Arena, ty: Ty) -> bool {
        match (self, ty) {
            (Val::Bool(v), _) => !v,
            (Val::I32(v), _) => v == 0,
            (Val::I64(v), _) => v == 0,
            (Val::U32(v), _) => v == 0,
            (Val::U64(v), _) => v == 0,
            (Val::F32(v), _) => v == 0.0,
            (Val::F64(v), _) => v == 0.0,
            (Val::Str(v), _) => v.is_empty(),
            (Val::Bytes(v), _) => v.is_empty(),
            (Val::Enum(v), Ty::Enum(e)) => v == arena.enums[e as usize].default,
            _ => false,
        }
    }
}

/// The error that means "decline": any error at all ends the fast path.
fn decline<E: serde::ser::Error>() -> E {
    E::custom("the JSON fast path declines this message")
}

/// What every serializer below shares.
struct Cx<'a> {
    arena: &'a Arena,
    opts: Opts,
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
                if !field.presence && val.is_default(self.cx.arena, field.ty) {
                    continue;
                }
                let one = One {
                    cx: self.cx,
                    ty: field.ty,
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
            ty: self.ty,
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
    ty: Ty,
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
            Val::I64(v) if opts.stringify_64 => serializer.collect_str(&v),
            Val::I64(v) => serializer.serialize_i64(v),
            Val::U64(v) if opts.stringify_64 => serializer.collect_str(&v),
            Val::U64(v) => serializer.serialize_u64(v),
            Val::F32(v) if v.is_finite() => serializer.serialize_f32(v),
            Val::F64(v) if v.is_finite() => serializer.serialize_f64(v),
            Val::F32(v) => serializer.serialize_str(non_finite(f64::from(v))),
            Val::F64(v) => serializer.serialize_str(non_finite(v)),
            Val::Str(v) => serializer.serialize_str(v),
            Val::Bytes(v) => serializer.collect_str(&Base64Display::new(v, &BASE64_STANDARD)),
            Val::Enum(number) => {
                let Ty::Enum(e) = self.ty else {
                    return Err(decline());
                };
                let plan = &self.cx.arena.enums[e as usize];
                if plan.null {
                    return serializer.serialize_none();
                }
                let name = match opts.enum_numbers {
                    true => None,
                    false => plan
                        .names
                        .binary_search_by_key(&number, |(n, _)| *n)
                        .ok()
                        .map(|i| &*plan.names[i].1),
                };
                match name {
                    Some(name) => serializer.serialize_str(name),
                    None => serializer.serialize_i32(number),
                }
            }
            Val::Msg(bytes) => {
                let Ty::Message(plan) = self.ty else {
                    return Err(decline());
                };
                let message = Msg {
                    cx: self.cx,
                    plan,
                    bytes,
                    depth: self.depth + 1,
                };
                message.serialize(serializer)
            }
        }
    }
}

/// The JSON strings for infinities and NaN.
fn non_finite(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::LazyLock;

    use prost::Message as _;
    use prost::encoding::{WireType, encode_key, encode_varint};
    use prost_reflect::{DynamicMessage, Value};
    use serde_json::ser::{CompactFormatter, PrettyFormatter};

    use super::*;

    /// Every eligible kind, nested, repeated, optional, oneof; and types that
    /// must be declined.
    const FAST3: &str = r#"
        syntax = "proto3";
        package fast.v1;
        import "google/protobuf/struct.proto";
        import "google/protobuf/timestamp.proto";

        enum Mood { MOOD_UNSPECIFIED = 0; MOOD_HAPPY = 1; MOOD_SAD = -1; MOOD_HUGE = 100000; }
        enum Aliased { option allow_alias = true; ALIASED_ZERO = 0; ALIASED_ONE = 1; ALIASED_UNO = 1; }

        message Scalars {
          double f_double = 1; float f_float = 2; int32 f_int32 = 3; int64 f_int64 = 4;
          uint32 f_uint32 = 5; uint64 f_uint64 = 6; sint32 f_sint32 = 7; sint64 f_sint64 = 8;
          fixed32 f_fixed32 = 9; fixed64 f_fixed64 = 10; sfixed32 f_sfixed32 = 11;
          sfixed64 f_sfixed64 = 12; bool f_bool = 13; string f_string = 14; bytes f_bytes = 15;
          Mood f_mood = 16; Aliased f_aliased = 17; google.protobuf.NullValue f_null = 18;
        }
        message Lists {
          repeated double r_double = 1; repeated float r_float = 2; repeated int32 r_int32 = 3;
          repeated int64 r_int64 = 4; repeated uint32 r_uint32 = 5; repeated uint64 r_uint64 = 6;
          repeated sint32 r_sint32 = 7; repeated sint64 r_sint64 = 8; repeated fixed32 r_fixed32 = 9;
          repeated fixed64 r_fixed64 = 10; repeated sfixed32 r_sfixed32 = 11;
          repeated sfixed64 r_sfixed64 = 12; repeated bool r_bool = 13; repeated string r_string = 14;
          repeated bytes r_bytes = 15; repeated Mood r_mood = 16; repeated Scalars r_scalars = 17;
          repeated int32 r_unpacked = 18 [packed = false];
          repeated google.protobuf.NullValue r_null = 19;
        }
        message Tree {
          Scalars scalars = 1; Lists lists = 2; Tree left = 3; Tree right = 4;
          optional int32 opt_int32 = 5; optional string opt_string = 6; optional Mood opt_mood = 7;
          optional double opt_double = 8; optional bytes opt_bytes = 9;
          oneof pick {
            int64 pick_int64 = 10; string pick_string = 11; Scalars pick_scalars = 12;
            Mood pick_mood = 13; google.protobuf.NullValue pick_null = 14;
          }
          int32 renamed = 15 [json_name = "customName"];
          string snake_case_name = 16;
          int32 sparse_field = 1000;
          uint64 huge_number = 536870911;
        }
        message WithMap { int32 a = 1; map<string, int32> m = 2; }
        message WithWkt { google.protobuf.Timestamp at = 1; }
        message ReachesMap { Tree tree = 1; WithMap bad = 2; }
        message CycleA { CycleB b = 1; int32 x = 2; }
        message CycleB { CycleA a = 1; WithWkt w = 2; }
    "#;

    const FAST2: &str = r#"
        syntax = "proto2";
        package fast.v2;
        enum Closed { CLOSED_ONE = 1; CLOSED_TWO = 2; }
        message Legacy {
          optional int32 a = 1; optional string s = 2; optional bool b = 3;
          repeated int32 ri = 4; repeated sint64 rp = 5 [packed = true];
          optional Closed c = 6; optional Legacy child = 7; optional bytes by = 8;
        }
        message OnlyRanges { optional int32 a = 1; extensions 100 to 200; }
        message WithDefault { optional int32 a = 1 [default = 7]; }
        message WithGroup { optional group G = 1 { optional int32 x = 2; } }
        message Extendable { optional int32 a = 1; extensions 100 to 200; }
        extend Extendable { optional int32 ext = 100; }
    "#;

    const ELIGIBLE: &[&str] = &[
        "fast.v1.Scalars",
        "fast.v1.Lists",
        "fast.v1.Tree",
        "fast.v2.Legacy",
        "fast.v2.OnlyRanges",
    ];
    const DECLINED: &[&str] = &[
        "fast.v1.WithMap",
        "fast.v1.WithWkt",
        "fast.v1.ReachesMap",
        "fast.v1.CycleA",
        "fast.v1.CycleB",
        "fast.v2.WithDefault",
        "fast.v2.WithGroup",
        "fast.v2.Extendable",
        "google.protobuf.Timestamp",
        "google.protobuf.Struct",
    ];

    static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fast3.proto"), FAST3).unwrap();
        std::fs::write(dir.path().join("fast2.proto"), FAST2).unwrap();
        let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
        compiler.include_imports(true);
        compiler.open_files(["fast3.proto", "fast2.proto"]).unwrap();
        compiler.descriptor_pool()
    });

    static SERVER_POOL: LazyLock<DescriptorPool> =
        LazyLock::new(|| DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap());

    fn desc(name: &str) -> MessageDescriptor {
        POOL.get_message_by_name(name)
            .or_else(|| SERVER_POOL.get_message_by_name(name))
            .unwrap_or_else(|| panic!("no message {name}"))
    }

    /// A formatter that marks keys and strings, standing in for a colour one.
    struct Marking;

    impl Formatter for Marking {
        fn begin_object_key<W: ?Sized + io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> io::Result<()> {
            w.write_all(if first { b"{K" } else { b",K" })
        }
        fn begin_object<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
            Ok(())
        }
        fn begin_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
            w.write_all(b"<\"")
        }
        fn end_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
            w.write_all(b"\">")
        }
        fn write_null<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
            w.write_all(b"NULL")
        }
        fn write_i32<W: ?Sized + io::Write>(&mut self, w: &mut W, v: i32) -> io::Result<()> {
            write!(w, "i32:{v}")
        }
        fn write_i64<W: ?Sized + io::Write>(&mut self, w: &mut W, v: i64) -> io::Result<()> {
            write!(w, "i64:{v}")
        }
        fn write_u32<W: ?Sized + io::Write>(&mut self, w: &mut W, v: u32) -> io::Result<()> {
            write!(w, "u32:{v}")
        }
        fn write_u64<W: ?Sized + io::Write>(&mut self, w: &mut W, v: u64) -> io::Result<()> {
            write!(w, "u64:{v}")
        }
        fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, v: f32) -> io::Result<()> {
            write!(w, "f32:{v:e}")
        }
        fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, v: f64) -> io::Result<()> {
            write!(w, "f64:{v:e}")
        }
        fn begin_array_value<W: ?Sized + io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> io::Result<()> {
            w.write_all(if first { b"[E" } else { b",E" })
        }
    }

    fn slow<F: Formatter>(
        desc: &MessageDescriptor,
        bytes: &[u8],
        opts: &JsonOptions,
        f: F,
    ) -> Option<String> {
        let message = DynamicMessage::decode(desc.clone(), bytes).ok()?;
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, f);
        message
            .serialize_with_options(&mut ser, &opts.serialize_options())
            .unwrap();
        Some(String::from_utf8(out).unwrap())
    }

    /// The fast path's output, or `None` after checking it left `out` alone.
    fn fast<F: Formatter>(
        plans: &mut Plans,
        desc: &MessageDescriptor,
        bytes: &[u8],
        f: F,
    ) -> Option<String> {
        let mut out = b"before|".to_vec();
        if write_json(plans, desc, bytes, &mut out, f) {
            assert!(out.starts_with(b"before|"));
            Some(String::from_utf8(out[7..].to_vec()).unwrap())
        } else {
            assert_eq!(out, b"before|", "a declined write left bytes behind");
            None
        }
    }

    /// Whether the fast path took `bytes`; when it did, it must equal the
    /// slow path with three formatters.
    fn agree(
        plans: &mut Plans,
        desc: &MessageDescriptor,
        bytes: &[u8],
        opts: &JsonOptions,
    ) -> bool {
        let compact = fast(plans, desc, bytes, CompactFormatter);
        let pretty = fast(plans, desc, bytes, PrettyFormatter::with_indent(b"  "));
        let marking = fast(plans, desc, bytes, Marking);
        let name = desc.full_name();
        assert_eq!(compact.is_some(), pretty.is_some(), "{name} {bytes:?}");
        assert_eq!(compact.is_some(), marking.is_some(), "{name} {bytes:?}");
        if compact.is_some() {
            assert_eq!(
                compact,
                slow(desc, bytes, opts, CompactFormatter),
                "{name} {bytes:?}"
            );
            let slow_pretty = slow(desc, bytes, opts, PrettyFormatter::with_indent(b"  "));
            assert_eq!(pretty, slow_pretty, "{name} {bytes:?}");
            assert_eq!(
                marking,
                slow(desc, bytes, opts, Marking),
                "{name} {bytes:?}"
            );
        }
        compact.is_some()
    }

    /// xorshift64*: seeded, so a failure repeats.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())]
        }
        /// Edge cases half the time, any 64 bits otherwise.
        fn bits(&mut self) -> u64 {
            match self.below(8) {
                0 => 0,
                1 => u64::MAX,
                2 => self.below(300) as u64,
                3 => self.pick(&[
                    i32::MIN as u64,
                    i32::MAX as u64,
                    i64::MIN as u64,
                    u32::MAX as u64,
                ]),
                _ => self.next() >> self.below(64),
            }
        }
    }

    const STRINGS: &[&str] = &[
        "",
        "x",
        "héllo",
        "\"quoted\" \\ back",
        "tab\tnew\nline\r",
        "\u{1}\u{1f}\u{7f}",
        "日本語",
        "😀 emoji",
        "</script>",
        "\u{2028}\u{2029}",
        "a\u{0}b",
    ];

    fn random_value(rng: &mut Rng, kind: &Kind, depth: u32) -> Value {
        match kind {
            Kind::Double => Value::F64(match rng.below(3) {
                0 => rng.pick(&[
                    0.0,
                    -0.0,
                    1.5,
                    -2.5e300,
                    1e-310,
                    f64::NAN,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                ]),
                _ => f64::from_bits(rng.bits()),
            }),
            Kind::Float => Value::F32(match rng.below(3) {
                0 => rng.pick(&[
                    0.0,
                    -0.0,
                    0.1,
                    -3.4e38,
                    1e-40,
                    f32::NAN,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                ]),
                _ => f32::from_bits(rng.bits() as u32),
            }),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(rng.bits() as i32),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(rng.bits() as i64),
            Kind::Uint32 | Kind::Fixed32 => Value::U32(rng.bits() as u32),
            Kind::Uint64 | Kind::Fixed64 => Value::U64(rng.bits()),
            Kind::Bool => Value::Bool(rng.below(2) == 0),
            Kind::String => Value::String(rng.pick(STRINGS).to_owned()),
            Kind::Bytes => {
                let len = rng.below(8);
                Value::Bytes(
                    (0..len)
                        .map(|_| rng.next() as u8)
                        .collect::<Vec<u8>>()
                        .into(),
                )
            }
            Kind::Enum(e) => {
                let known: Vec<i32> = e.values().map(|v| v.number()).collect();
                Value::EnumNumber(match rng.below(4) {
                    0 => rng.pick(&[0, 5, -7, i32::MAX]),
                    _ => rng.pick(&known),
                })
            }
            Kind::Message(m) => Value::Message(random_message(rng, m, depth + 1)),
        }
    }

    fn random_message(rng: &mut Rng, desc: &MessageDescriptor, depth: u32) -> DynamicMessage {
        let mut message = DynamicMessage::new(desc.clone());
        if depth > 3 {
            return message;
        }
        for field in desc.fields() {
            if rng.below(2) == 0 || field.is_map() {
                continue;
            }
            let value = if field.is_list() {
                let len = rng.below(4);
                Value::List(
                    (0..len)
                        .map(|_| random_value(rng, &field.kind(), depth))
                        .collect(),
                )
            } else {
                random_value(rng, &field.kind(), depth)
            };
            message.set_field(&field, value);
        }
        message
    }

    /// The top-level records of `bytes`: (number, wire type, whole record).
    fn records(bytes: &[u8]) -> Vec<(u32, u8, &[u8])> {
        let mut wire = Wire::new(bytes);
        let mut records = Vec::new();
        while !wire.done() {
            let start = wire.pos;
            let (number, wire_type) = wire.key().unwrap();
            wire.skip(wire_type).unwrap();
            records.push((number, wire_type, &bytes[start..wire.pos]));
        }
        records
    }

    fn wire_type_of(ty: Ty) -> WireType {
        WireType::try_from(u64::from(ty.wire_type())).unwrap()
    }

    /// Re-encodes packed lists as a random mix of packed chunks (some empty)
    /// and unpacked values: the same message, still canonical.
    fn repack(rng: &mut Rng, plan: &MsgPlan, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for (number, wire_type, record) in records(bytes) {
            let field = plan.field(number).unwrap();
            if !(field.repeated && field.ty.packable() && wire_type == 2) {
                out.extend_from_slice(record);
                continue;
            }
            let mut wire = Wire::new(record);
            wire.key().unwrap();
            let mut data = Wire::new(wire.delimited().unwrap());
            let mut chunk = Vec::new();
            let flush = |chunk: &mut Vec<u8>, out: &mut Vec<u8>| {
                encode_key(number, WireType::LengthDelimited, out);
                encode_varint(chunk.len() as u64, out);
                out.append(chunk);
            };
            while !data.done() {
                let start = data.pos;
                data.value(field.ty).unwrap();
                let element = &data.buf[start..data.pos];
                match rng.below(3) {
                    0 => {
                        encode_key(number, wire_type_of(field.ty), &mut out);
                        out.extend_from_slice(element);
                    }
                    1 => {
                        chunk.extend_from_slice(element);
                        flush(&mut chunk, &mut out);
                    }
                    _ => chunk.extend_from_slice(element),
                }
            }
            flush(&mut chunk, &mut out);
        }
        out
    }

    fn all_options() -> Vec<JsonOptions> {
        (0..8)
            .map(|i| JsonOptions {
                int64_as_number: i & 1 != 0,
                enum_numbers: i & 2 != 0,
                proto_names: i & 4 != 0,
                emit_defaults: false,
            })
            .collect()
    }

    #[test]
    fn random_messages_print_as_the_slow_path_prints_them() {
        let mut rng = Rng(0x5eed_1234_abcd_ef01);
        for opts in all_options() {
            let mut plans = Plans::new(&opts);
            for name in ELIGIBLE {
                let desc = desc(name);
                for _ in 0..150 {
                    let bytes = random_message(&mut rng, &desc, 0).encode_to_vec();
                    assert!(
                        agree(&mut plans, &desc, &bytes, &opts),
                        "declined canonical {name} {bytes:?}"
                    );
                    let id = plans.plan(&desc).unwrap() as usize;
                    let repacked = repack(&mut rng, &plans.arena.msgs[id], &bytes);
                    assert!(
                        agree(&mut plans, &desc, &repacked, &opts),
                        "declined repacked {name}"
                    );
                }
            }
        }
    }

    #[test]
    fn damaged_wire_is_declined_or_printed_as_the_slow_path_prints_it() {
        let mut rng = Rng(42);
        let opts = JsonOptions::default();
        let mut plans = Plans::new(&opts);
        for name in ELIGIBLE {
            let desc = desc(name);
            for _ in 0..200 {
                let bytes = random_message(&mut rng, &desc, 0).encode_to_vec();
                let mut damaged = bytes.clone();
                match rng.below(5) {
                    0 => damaged.truncate(rng.below(bytes.len() + 1)),
                    1 if !bytes.is_empty() => damaged[rng.below(bytes.len())] ^= 1 << rng.below(8),
                    2 => damaged.extend_from_slice(&bytes),
                    3 => {
                        let mut shuffled = records(&bytes);
                        if shuffled.len() >= 2 {
                            let i = rng.below(shuffled.len() - 1);
                            shuffled.swap(i, i + 1);
                        }
                        damaged = shuffled.iter().flat_map(|r| r.2).copied().collect();
                    }
                    _ => {
                        // Unknown fields of every wire type, anywhere, are skipped.
                        let mut unknown = Vec::new();
                        encode_key(4242, WireType::Varint, &mut unknown);
                        encode_varint(rng.next(), &mut unknown);
                        encode_key(4243, WireType::LengthDelimited, &mut unknown);
                        encode_varint(2, &mut unknown);
                        unknown.extend_from_slice(b"\xff\xfe");
                        encode_key(4244, WireType::ThirtyTwoBit, &mut unknown);
                        unknown.extend_from_slice(&[1, 2, 3, 4]);
                        encode_key(4245, WireType::SixtyFourBit, &mut unknown);
                        unknown.extend_from_slice(&[9; 8]);
                        let all = records(&bytes);
                        let i = rng.below(all.len() + 1);
                        let at: usize = all[..i].iter().map(|r| r.2.len()).sum();
                        damaged.splice(at..at, unknown);
                        // Declining is allowed only where they split one list's records.
                        let splits_list = i > 0 && i < all.len() && all[i - 1].0 == all[i].0;
                        let accepted = agree(&mut plans, &desc, &damaged, &opts);
                        assert!(accepted || splits_list, "declined unknown fields");
                    }
                }
                agree(&mut plans, &desc, &damaged, &opts);
            }
        }
    }

    #[test]
    fn ineligible_types_and_emit_defaults_are_declined() {
        let mut plans = Plans::new(&JsonOptions::default());
        for name in DECLINED {
            let desc = desc(name);
            let bytes = random_message(&mut Rng(7), &desc, 0).encode_to_vec();
            assert_eq!(
                fast(&mut plans, &desc, &bytes, CompactFormatter),
                None,
                "{name}"
            );
        }
        let everything = desc("grpcx.test.v1.Everything");
        assert_eq!(fast(&mut plans, &everything, &[], CompactFormatter), None);

        let emit_defaults = JsonOptions {
            emit_defaults: true,
            ..JsonOptions::default()
        };
        let mut plans = Plans::new(&emit_defaults);
        let chunk = desc("grpcx.test.v1.Chunk");
        assert_eq!(fast(&mut plans, &chunk, &[], CompactFormatter), None);
    }

    /// Encodes one message of the server's own generated types.
    fn encoded(message: &impl prost::Message) -> Vec<u8> {
        message.encode_to_vec()
    }

    #[test]
    fn the_streaming_types_take_the_fast_path() {
        use crate::server::pb::helloworld::HelloReply;
        use crate::server::pb::test::{Chunk, StreamRequest, Summary, everything::Inner};
        let opts = JsonOptions::default();
        let mut plans = Plans::new(&opts);
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "grpcx.test.v1.Chunk",
                encoded(&Chunk {
                    seq: 7,
                    pad: "xxxx".into(),
                }),
                r#"{"seq":7,"pad":"xxxx"}"#,
            ),
            ("grpcx.test.v1.Chunk", vec![], "{}"),
            (
                "helloworld.HelloReply",
                encoded(&HelloReply {
                    message: "Hello, é!".into(),
                }),
                r#"{"message":"Hello, é!"}"#,
            ),
            (
                "grpcx.test.v1.StreamRequest",
                encoded(&StreamRequest {
                    count: 3,
                    payload_size: 0,
                    interval_ms: 5,
                }),
                r#"{"count":3,"intervalMs":5}"#,
            ),
            (
                "grpcx.test.v1.Summary",
                encoded(&Summary {
                    count: 2,
                    bytes: 1 << 40,
                }),
                r#"{"count":"2","bytes":"1099511627776"}"#,
            ),
            (
                "grpcx.test.v1.Everything.Inner",
                encoded(&Inner {
                    name: "n".into(),
                    value: -1,
                }),
                r#"{"name":"n","value":-1}"#,
            ),
        ];
        for (name, bytes, json) in cases {
            assert_eq!(
                fast(&mut plans, &desc(name), &bytes, CompactFormatter).as_deref(),
                Some(json)
            );
            assert!(agree(&mut plans, &desc(name), &bytes, &opts));
        }
    }

    /// Hand-built wire: a list of (number, wire type, payload) records.
    fn wire(records: &[(u32, WireType, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(number, wire_type, payload) in records {
            encode_key(number, wire_type, &mut out);
            if wire_type == WireType::LengthDelimited {
                encode_varint(payload.len() as u64, &mut out);
            }
            out.extend_from_slice(payload);
        }
        out
    }

    use WireType::{LengthDelimited as Len, SixtyFourBit as I64, ThirtyTwoBit as I32, Varint};

    #[test]
    fn canonical_variants_are_accepted() {
        let opts = JsonOptions::default();
        let mut plans = Plans::new(&opts);
        let (scalars, lists, tree) = (
            desc("fast.v1.Scalars"),
            desc("fast.v1.Lists"),
            desc("fast.v1.Tree"),
        );
        let ranges = desc("fast.v2.OnlyRanges");
        let accepted: Vec<(&MessageDescriptor, Vec<u8>, &str)> = vec![
            // Implicit-presence defaults on the wire are not printed; -0.0 is a default.
            (
                &scalars,
                wire(&[
                    (1, I64, &(-0.0f64).to_le_bytes()),
                    (3, Varint, &[0]),
                    (14, Len, b""),
                ]),
                "{}",
            ),
            (
                &scalars,
                wire(&[
                    (1, I64, &f64::NAN.to_le_bytes()),
                    (2, I32, &f32::NEG_INFINITY.to_le_bytes()),
                ]),
                r#"{"fDouble":"NaN","fFloat":"-Infinity"}"#,
            ),
            // Packed chunks (one empty), then unpacked values: one list.
            (
                &lists,
                wire(&[
                    (3, Len, &[1, 2]),
                    (3, Len, &[]),
                    (3, Varint, &[3]),
                    (3, Len, &[0x7f]),
                ]),
                r#"{"rInt32":[1,2,3,127]}"#,
            ),
            // A list made only of empty chunks is empty, and empty lists are not printed.
            (
                &lists,
                wire(&[(3, Len, &[]), (4, Len, &[]), (16, Varint, &[1])]),
                r#"{"rMood":["MOOD_HAPPY"]}"#,
            ),
            // Packed on the wire although declared unpacked.
            (
                &lists,
                wire(&[(18, Len, &[5, 6])]),
                r#"{"rUnpacked":[5,6]}"#,
            ),
            (&lists, wire(&[(19, Varint, &[0])]), r#"{"rNull":[null]}"#),
            // Presence: default values are printed; an empty message is {}.
            (
                &tree,
                wire(&[(1, Len, b""), (5, Varint, &[0]), (13, Varint, &[0])]),
                r#"{"scalars":{},"optInt32":0,"pickMood":"MOOD_UNSPECIFIED"}"#,
            ),
            (
                &tree,
                wire(&[
                    (14, Varint, &[0]),
                    (15, Varint, &[1]),
                    (1000, Varint, &[2]),
                    (536870911, Varint, &[3]),
                ]),
                r#"{"pickNull":null,"customName":1,"sparseField":2,"hugeNumber":"3"}"#,
            ),
            // Unknown enum numbers print as numbers; aliases by prost-reflect's choice.
            (
                &scalars,
                wire(&[(16, Varint, &[5]), (17, Varint, &[1])]),
                r#"{"fMood":5,"fAliased":"ALIASED_ONE"}"#,
            ),
            // Unknown fields anywhere, even out of order, are skipped.
            (
                &scalars,
                wire(&[
                    (900, Varint, &[1]),
                    (3, Varint, &[1]),
                    (800, I32, &[0; 4]),
                    (4, Varint, &[2]),
                ]),
                r#"{"fInt32":1,"fInt64":"2"}"#,
            ),
            (
                &ranges,
                wire(&[(1, Varint, &[0]), (150, Varint, &[1])]),
                r#"{"a":0}"#,
            ),
        ];
        for (desc, bytes, json) in accepted {
            assert_eq!(
                fast(&mut plans, desc, &bytes, CompactFormatter).as_deref(),
                Some(json),
                "{bytes:?}"
            );
            assert!(agree(&mut plans, desc, &bytes, &opts));
        }
    }

    #[test]
    fn non_canonical_wire_is_declined_and_out_is_untouched() {
        let mut plans = Plans::new(&JsonOptions::default());
        let (scalars, lists, tree) = (
            desc("fast.v1.Scalars"),
            desc("fast.v1.Lists"),
            desc("fast.v1.Tree"),
        );
        let nested_bad_utf8 = wire(&[(14, Len, b"\xc3\x28")]);
        let mut deep = vec![];
        for _ in 0..70 {
            deep = wire(&[(3, Len, &deep)]);
        }
        let declined: Vec<(&str, &MessageDescriptor, Vec<u8>)> = vec![
            (
                "out of order",
                &scalars,
                wire(&[(3, Varint, &[1]), (1, I64, &[0; 8])]),
            ),
            (
                "singular twice",
                &scalars,
                wire(&[(3, Varint, &[1]), (3, Varint, &[2])]),
            ),
            (
                "default twice",
                &scalars,
                wire(&[(3, Varint, &[0]), (3, Varint, &[0])]),
            ),
            (
                "message twice",
                &tree,
                wire(&[(1, Len, b""), (1, Len, b"")]),
            ),
            (
                "list interrupted",
                &lists,
                wire(&[(3, Len, &[1]), (4, Len, &[1]), (3, Varint, &[2])]),
            ),
            (
                "two oneof members",
                &tree,
                wire(&[(10, Varint, &[1]), (11, Len, b"x")]),
            ),
            ("truncated varint", &scalars, wire(&[(3, Varint, &[0x80])])),
            ("truncated length", &scalars, vec![0x72, 5, b'a']),
            ("truncated fixed", &scalars, vec![0x09, 1, 2, 3]),
            (
                "overlong varint",
                &scalars,
                wire(&[(3, Varint, &[0xff; 10])]),
            ),
            (
                "eleven-byte varint",
                &scalars,
                wire(&[(
                    3,
                    Varint,
                    &[
                        0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0,
                    ],
                )]),
            ),
            ("bad utf-8", &scalars, wire(&[(14, Len, b"\xff")])),
            (
                "bad utf-8 nested",
                &tree,
                wire(&[(1, Len, &nested_bad_utf8)]),
            ),
            (
                "bad utf-8 in list",
                &lists,
                wire(&[(14, Len, b"ok"), (14, Len, b"\xed\xa0\x80")]),
            ),
            ("wrong wire type", &scalars, wire(&[(3, I32, &[0; 4])])),
            ("string as varint", &scalars, wire(&[(14, Varint, &[1])])),
            (
                "packed fixed32 of 3 bytes",
                &lists,
                wire(&[(9, Len, &[1, 2, 3])]),
            ),
            (
                "packed varint cut short",
                &lists,
                wire(&[(3, Len, &[1, 0x80])]),
            ),
            (
                "packed strings",
                &lists,
                wire(&[(14, Len, b"")])
                    .into_iter()
                    .chain(wire(&[(14, Varint, &[0])]))
                    .collect(),
            ),
            ("unknown group", &scalars, vec![0xa3, 0x3e, 0xa4, 0x3e]),
            ("field number 0", &scalars, vec![0x00, 0x01]),
            ("too deep", &tree, deep),
        ];
        for (what, desc, bytes) in declined {
            assert_eq!(
                fast(&mut plans, desc, &bytes, CompactFormatter),
                None,
                "{what}"
            );
            assert_eq!(
                fast(&mut plans, desc, &bytes, PrettyFormatter::new()),
                None,
                "{what}"
            );
        }
    }

    #[test]
    fn every_option_reaches_the_fast_path() {
        for opts in all_options() {
            let parsed = Opts::from(&opts).unwrap();
            let mut plans = Plans::new(&opts);
            let desc = desc("fast.v1.Tree");
            let bytes = wire(&[(15, Varint, &[1]), (536870911, Varint, &[1])]);
            let json = fast(&mut plans, &desc, &bytes, CompactFormatter).unwrap();
            assert_eq!(
                json.contains("custom_name") || json.contains("renamed"),
                parsed.proto_names
            );
            assert_eq!(json.contains("\"1\""), parsed.stringify_64);
            assert!(agree(&mut plans, &desc, &bytes, &opts));
        }
    }

    /// `{"message": value}`, as an envelope nests a message.
    struct Envelope<T>(T);

    impl<T: Serialize> Serialize for Envelope<T> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry("message", &self.0)?;
            map.end()
        }
    }

    struct WithOptions(DynamicMessage, JsonOptions);

    impl Serialize for WithOptions {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            self.0
                .serialize_with_options(serializer, &self.1.serialize_options())
        }
    }

    #[test]
    fn a_nested_wire_json_prints_as_the_slow_path_or_fails() {
        let opts = JsonOptions::default();
        let mut plans = Plans::new(&opts);
        let tree = desc("fast.v1.Tree");
        let mut rng = Rng(99);
        for _ in 0..50 {
            let bytes = random_message(&mut rng, &tree, 0).encode_to_vec();
            let json = plans.json(&tree, &bytes).unwrap();
            let fast = serde_json::to_string_pretty(&Envelope(json)).unwrap();
            let message = DynamicMessage::decode(tree.clone(), &bytes[..]).unwrap();
            let slow = serde_json::to_string_pretty(&Envelope(WithOptions(message, opts)));
            assert_eq!(fast, slow.unwrap());
        }
        let json = plans.json(&tree, b"\x28\x01\x28\x01").unwrap();
        assert!(serde_json::to_vec(&Envelope(json)).is_err());
        assert!(plans.json(&desc("fast.v1.WithMap"), b"").is_none());
    }

    #[test]
    fn a_new_pool_replaces_the_cached_plans() {
        let mut plans = Plans::new(&JsonOptions::default());
        let chunk = desc("grpcx.test.v1.Chunk");
        let bytes = wire(&[(1, Varint, &[1])]);
        assert!(fast(&mut plans, &chunk, &bytes, CompactFormatter).is_some());
        let other = DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET).unwrap();
        let chunk = other.get_message_by_name("grpcx.test.v1.Chunk").unwrap();
        assert_eq!(
            fast(&mut plans, &chunk, &bytes, CompactFormatter).as_deref(),
            Some(r#"{"seq":1}"#)
        );
    }
}
