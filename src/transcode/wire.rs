//! The wire reader of the fast path: varints, keys, lengths and values,
//! checked the way prost checks them. `None` from any method means the wire
//! is malformed, and the fast path declines.

use super::{Arena, Ty};

/// A reader over wire bytes.
pub(super) struct Wire<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Wire<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Wire<'a> {
        Wire { buf, pos: 0 }
    }

    pub(super) fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// As prost's `decode_varint`: at most ten bytes, and the tenth may only
    /// carry the top bit of a u64.
    #[inline]
    pub(super) fn varint(&mut self) -> Option<u64> {
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

    pub(super) fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(len)?;
        let bytes = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    /// A fixed-width value's `N` little-endian bytes.
    pub(super) fn fixed<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub(super) fn delimited(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        self.take(len)
    }

    /// A record's (field number, wire type), checked as prost's `decode_key`.
    #[inline]
    pub(super) fn key(&mut self) -> Option<(u32, u8)> {
        let key = u32::try_from(self.varint()?).ok()?;
        let number = key >> 3;
        (number != 0).then_some((number, (key & 7) as u8))
    }

    /// Skips an unknown field's value. Groups (3, 4) and 6, 7 decline.
    pub(super) fn skip(&mut self, wire_type: u8) -> Option<()> {
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
    pub(super) fn value(&mut self, ty: Ty) -> Option<Val<'a>> {
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
            Ty::Enum(e) => Val::Enum(e, self.varint()? as i32),
            Ty::Fixed32 => Val::U32(u32::from_le_bytes(self.fixed()?)),
            Ty::Sfixed32 => Val::I32(i32::from_le_bytes(self.fixed()?)),
            Ty::Float => Val::F32(f32::from_le_bytes(self.fixed()?)),
            Ty::Fixed64 => Val::U64(u64::from_le_bytes(self.fixed()?)),
            Ty::Sfixed64 => Val::I64(i64::from_le_bytes(self.fixed()?)),
            Ty::Double => Val::F64(f64::from_le_bytes(self.fixed()?)),
            Ty::String => Val::Str(std::str::from_utf8(self.delimited()?).ok()?),
            Ty::Bytes => Val::Bytes(self.delimited()?),
            Ty::Message(m) => Val::Msg(m, self.delimited()?),
        })
    }

    /// Consumes the run of records of repeated field `number` whose first key
    /// (with `wire_type`) was just read, and counts its elements. Leaves the
    /// reader after the run. Values are only fully checked when printed.
    pub(super) fn list_run(&mut self, number: u32, mut wire_type: u8, ty: Ty) -> Option<usize> {
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
pub(super) enum Val<'a> {
    Bool(bool),
    I32(i32),
    I64(i64),
    U32(u32),
    U64(u64),
    F32(f32),
    F64(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
    /// (index in `Arena::enums`, number)
    Enum(u32, i32),
    /// (index in `Arena::msgs`, wire bytes)
    Msg(u32, &'a [u8]),
}

impl Val<'_> {
    /// As prost-reflect's `Value::is_default` (floats bit for bit: -0.0 and
    /// NaN are not defaults).
    pub(super) fn is_default(self, arena: &Arena) -> bool {
        match self {
            Val::Bool(v) => !v,
            Val::I32(v) => v == 0,
            Val::I64(v) => v == 0,
            Val::U32(v) => v == 0,
            Val::U64(v) => v == 0,
            Val::F32(v) => v.to_bits() == 0,
            Val::F64(v) => v.to_bits() == 0,
            Val::Str(v) => v.is_empty(),
            Val::Bytes(v) => v.is_empty(),
            Val::Enum(e, v) => v == arena.enums[e as usize].default,
            Val::Msg(..) => false,
        }
    }
}
