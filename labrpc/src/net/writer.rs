//! Postcard's format written straight into a `Vec`, or only measured.
//!
//! postcard's serializer writes each varint into a 10-byte buffer, one loop turn per 7 bits,
//! then hands it to its flavor; `encode` ran it twice, once to measure the message and once to
//! write it. Here a varint of one byte is one push, a longer one is built in a register, and the
//! measuring pass counts varint lengths from the number's width without writing anything. The
//! bytes are postcard's, field by field as its serializer writes them (tests compare them), and
//! so are its errors.

use std::fmt::Write as _;

use postcard::{Error, Result};
use serde::ser::{self, Serialize};

/// Where the bytes go: a buffer, or a count of them.
pub(crate) trait Sink {
    fn byte(&mut self, byte: u8);
    fn run(&mut self, bytes: &[u8]);
    fn varint(&mut self, value: u64);

    #[inline(always)]
    fn varint_u128(&mut self, mut value: u128) {
        while value >= 0x80 {
            self.byte(value as u8 | 0x80);
            value >>= 7;
        }
        self.byte(value as u8);
    }
}

/// Appends to a `Vec` (which grows as a `Vec` does: measure first for one allocation).
pub(crate) struct Append<'a>(pub(crate) &'a mut Vec<u8>);

impl Sink for Append<'_> {
    #[inline(always)]
    fn byte(&mut self, byte: u8) {
        self.0.push(byte);
    }

    /// Runs of one or two bytes are stored directly: a call to memcpy cost more than the copy.
    #[inline(always)]
    fn run(&mut self, bytes: &[u8]) {
        match *bytes {
            [byte] => self.0.push(byte),
            [first, second] => self.0.extend_from_slice(&[first, second]),
            _ => self.0.extend_from_slice(bytes),
        }
    }

    #[inline(always)]
    fn varint(&mut self, value: u64) {
        if value < 0x80 {
            self.0.push(value as u8);
        } else {
            self.long_varint(value);
        }
    }
}

impl Append<'_> {
    /// A varint of two bytes or more: seven bits per byte, least significant first, the top bit
    /// set on every byte but the last. Stored by a copy of a length known here, as a copy of
    /// a length only known at run time is a call to memcpy (it cost more than the varint).
    #[inline(never)]
    fn long_varint(&mut self, mut value: u64) {
        let mut bytes = [0u8; 10];
        let mut last = 0;
        while value >= 0x80 {
            bytes[last] = value as u8 | 0x80;
            value >>= 7;
            last += 1;
        }
        bytes[last] = value as u8;
        let out = &mut *self.0;
        match last + 1 {
            2 => out.extend_from_slice(&bytes[..2]),
            3 => out.extend_from_slice(&bytes[..3]),
            4 => out.extend_from_slice(&bytes[..4]),
            5 => out.extend_from_slice(&bytes[..5]),
            9 => out.extend_from_slice(&bytes[..9]),
            10 => out.extend_from_slice(&bytes),
            len => out.extend_from_slice(&bytes[..len]),
        }
    }
}

/// Counts the bytes instead of writing them.
#[derive(Default)]
pub(crate) struct Count(pub(crate) usize);

impl Sink for Count {
    #[inline(always)]
    fn byte(&mut self, _: u8) {
        self.0 += 1;
    }

    #[inline(always)]
    fn run(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }

    /// One byte per started group of seven bits (zero takes one).
    #[inline(always)]
    fn varint(&mut self, value: u64) {
        let bits = 64 - (value | 1).leading_zeros() as usize;
        self.0 += bits.div_ceil(7);
    }
}

/// A serde serializer writing postcard's format into `S`.
pub(crate) struct Writer<S>(pub(crate) S);

impl<S: Sink> Writer<S> {
    #[inline(always)]
    fn len(&mut self, len: usize) {
        self.0.varint(len as u64);
    }
}

impl<S: Sink> ser::Serializer for &mut Writer<S> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn is_human_readable(&self) -> bool {
        false
    }

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<()> {
        self.0.byte(u8::from(v));
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<()> {
        self.0.byte(v as u8);
        Ok(())
    }

    fn serialize_i16(self, v: i16) -> Result<()> {
        self.0.varint(u64::from(((v << 1) ^ (v >> 15)) as u16));
        Ok(())
    }

    #[inline]
    fn serialize_i32(self, v: i32) -> Result<()> {
        self.0.varint(u64::from(((v << 1) ^ (v >> 31)) as u32));
        Ok(())
    }

    #[inline]
    fn serialize_i64(self, v: i64) -> Result<()> {
        self.0.varint(((v << 1) ^ (v >> 63)) as u64);
        Ok(())
    }

    fn serialize_i128(self, v: i128) -> Result<()> {
        self.0.varint_u128(((v << 1) ^ (v >> 127)) as u128);
        Ok(())
    }

    #[inline]
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.0.byte(v);
        Ok(())
    }

    fn serialize_u16(self, v: u16) -> Result<()> {
        self.0.varint(u64::from(v));
        Ok(())
    }

    #[inline]
    fn serialize_u32(self, v: u32) -> Result<()> {
        self.0.varint(u64::from(v));
        Ok(())
    }

    #[inline]
    fn serialize_u64(self, v: u64) -> Result<()> {
        self.0.varint(v);
        Ok(())
    }

    fn serialize_u128(self, v: u128) -> Result<()> {
        self.0.varint_u128(v);
        Ok(())
    }

    fn serialize_f32(self, v: f32) -> Result<()> {
        self.0.run(&v.to_le_bytes());
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result<()> {
        self.0.run(&v.to_le_bytes());
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<()> {
        self.serialize_str(v.encode_utf8(&mut [0u8; 4]))
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Result<()> {
        self.len(v.len());
        self.0.run(v.as_bytes());
        Ok(())
    }

    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        self.len(v.len());
        self.0.run(v);
        Ok(())
    }

    #[inline]
    fn serialize_none(self) -> Result<()> {
        self.0.byte(0);
        Ok(())
    }

    #[inline]
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<()> {
        self.0.byte(1);
        value.serialize(self)
    }

    /// Units are not written.
    fn serialize_unit(self) -> Result<()> {
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<()> {
        Ok(())
    }

    #[inline]
    fn serialize_unit_variant(self, _: &'static str, index: u32, _: &'static str) -> Result<()> {
        self.0.varint(u64::from(index));
        Ok(())
    }

    #[inline]
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, value: &T) -> Result<()> {
        value.serialize(self)
    }

    #[inline]
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        value: &T,
    ) -> Result<()> {
        self.0.varint(u64::from(index));
        value.serialize(self)
    }

    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Self> {
        self.len(len.ok_or(Error::SerializeSeqLengthUnknown)?);
        Ok(self)
    }

    #[inline]
    fn serialize_tuple(self, _: usize) -> Result<Self> {
        Ok(self)
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self> {
        Ok(self)
    }

    fn serialize_tuple_variant(self, _: &'static str, index: u32, _: &'static str, _: usize) -> Result<Self> {
        self.0.varint(u64::from(index));
        Ok(self)
    }

    #[inline]
    fn serialize_map(self, len: Option<usize>) -> Result<Self> {
        self.len(len.ok_or(Error::SerializeSeqLengthUnknown)?);
        Ok(self)
    }

    #[inline]
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self> {
        Ok(self)
    }

    #[inline]
    fn serialize_struct_variant(self, _: &'static str, index: u32, _: &'static str, _: usize) -> Result<Self> {
        self.0.varint(u64::from(index));
        Ok(self)
    }

    /// As postcard: formatted once to learn the length, then again into the output.
    fn collect_str<T: ?Sized + std::fmt::Display>(self, value: &T) -> Result<()> {
        let mut count = Formatted(Count::default());
        write!(count, "{value}").map_err(|_| Error::CollectStrError)?;
        self.len((count.0).0);
        write!(Formatted(&mut self.0), "{value}").map_err(|_| Error::CollectStrError)
    }
}

/// `fmt::Write` into a sink.
struct Formatted<S>(S);

impl<S: Sink> std::fmt::Write for Formatted<S> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.run(s.as_bytes());
        Ok(())
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn byte(&mut self, byte: u8) {
        (**self).byte(byte);
    }

    fn run(&mut self, bytes: &[u8]) {
        (**self).run(bytes);
    }

    fn varint(&mut self, value: u64) {
        (**self).varint(value);
    }
}

/// The compound values: their parts one after the other, nothing at the end.
macro_rules! parts {
    ($($trait:ident :: $method:ident ($($key:ty)?)),* $(,)?) => {$(
        impl<S: Sink> ser::$trait for &mut Writer<S> {
            type Ok = ();
            type Error = Error;

            #[inline]
            fn $method<T: ?Sized + Serialize>(&mut self, $(_: $key,)? value: &T) -> Result<()> {
                value.serialize(&mut **self)
            }

            #[inline]
            fn end(self) -> Result<()> {
                Ok(())
            }
        }
    )*};
}

parts!(
    SerializeSeq::serialize_element(),
    SerializeTuple::serialize_element(),
    SerializeTupleStruct::serialize_field(),
    SerializeTupleVariant::serialize_field(),
    SerializeStruct::serialize_field(&'static str),
    SerializeStructVariant::serialize_field(&'static str),
);

impl<S: Sink> ser::SerializeMap for &mut Writer<S> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<()> {
        key.serialize(&mut **self)
    }

    #[inline]
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        value.serialize(&mut **self)
    }

    fn end(self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    enum Shape {
        Empty,
        Wrapped(i64),
        Pair(i32, char),
        Named { id: u64, small: (u8, i8, u16, i16, u32), wide: (u128, i128), floats: (f32, f64), unit: Unit },
    }

    #[derive(Serialize)]
    struct Message<'a> {
        text: &'a str,
        flag: bool,
        shapes: Vec<Shape>,
        map: BTreeMap<u32, Option<String>>,
        tuple: (u64, u64),
    }

    /// Both serializers, and the measuring pass, on one value.
    fn same<T: Serialize + ?Sized>(value: &T) {
        let theirs = postcard::to_allocvec(value);
        let mut bytes = Vec::new();
        let ours = value.serialize(&mut Writer(Append(&mut bytes))).map(|()| bytes);
        assert_eq!(ours, theirs);
        let mut count = Writer(Count(0));
        let measured = value.serialize(&mut count).map(|()| (count.0).0);
        assert_eq!(measured, postcard::experimental::serialized_size(value));
    }

    #[test]
    fn every_kind_of_value_at_every_varint_length_is_written_as_postcard_writes_it() {
        let mut numbers: Vec<u64> = vec![0, 1, u64::MAX, 1 << 63];
        for k in 1..=9 {
            numbers.extend([(1u64 << (7 * k)) - 1, 1u64 << (7 * k)]);
        }
        for &n in &numbers {
            same(&n);
            same(&(n as i64));
            same(&(n as i64).wrapping_neg());
            same(&(n as u32, n as i32, n as u16, n as i16, n as u8, n as i8));
            same(&(u128::from(n) << 64 | u128::from(n), -(i128::from(n) << 60)));
            same(&(n as f32, n as f64, n % 2 == 0));
            same(&char::from_u32(n as u32 % 0x11_0000).unwrap_or('x'));
            let shapes = vec![
                Shape::Empty,
                Shape::Wrapped(n as i64),
                Shape::Pair(n as i32, 'é'),
                Shape::Named {
                    id: n,
                    small: (n as u8, n as i8, n as u16, n as i16, n as u32),
                    wide: (u128::from(n), i128::from(n as i64)),
                    floats: (1.5, -0.25),
                    unit: Unit,
                },
            ];
            let text = "ü".repeat((n % 200) as usize);
            let map = (0..(n % 4) as u32).map(|k| (k << 20, (k % 2 == 0).then(|| "v".repeat(k as usize)))).collect();
            same(&Message { text: &text, flag: true, shapes, map, tuple: (n, !n) });
        }
        // Sizes around a length's varint steps.
        for len in [0, 1, 2, 127, 128, 16_383, 16_384] {
            same(&vec![7u8; len]);
            same("x".repeat(len).as_str());
            same(&Run(&vec![5u8; len]));
        }
    }

    /// A byte run (`serialize_bytes`, what `serde_bytes` writes).
    struct Run<'a>(&'a [u8]);

    impl Serialize for Run<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }

    #[test]
    fn displayed_values_and_unknown_lengths_match_postcard() {
        struct Shown(u64);
        impl Serialize for Shown {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(&format_args!("value {} and ∑", self.0))
            }
        }
        same(&Shown(12345));
        struct NoLength;
        impl Serialize for NoLength {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                use serde::ser::SerializeSeq;
                s.serialize_seq(None)?.end()
            }
        }
        same(&NoLength);
    }
}
