//! Postcard decoding straight from a byte slice, long varints read a word at a time.
//!
//! `postcard::from_bytes` reads every varint byte by byte through its flavor, each byte a
//! bounds check and a branch: a kv client's id (a random u64, 9 or 10 bytes) cost about 64
//! instructions, and varints were 2.4% of kvraft's. Here a one-byte varint is one compare, and a
//! longer one with 8 bytes left in the input is one load, one mask for its length and three
//! shift-and-merge steps. Everything else is postcard's format as `postcard::Deserializer` reads
//! it: the same values, the same errors (`postcard::Error`) for the same bad input, and the same
//! size hints (so the same allocations). Tests compare both on random and broken input.

use postcard::{Error, Result};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::Deserialize;

/// Decodes a `T` from the front of `bytes`; trailing bytes are ignored, as `postcard::from_bytes`
/// ignores them.
pub fn decode<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T> {
    T::deserialize(&mut Decoder { input: bytes })
}

/// Decodes a `T` from the front of `bytes` and returns the bytes after it
/// (`postcard::take_from_bytes`).
pub fn take<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<(T, &'de [u8])> {
    let mut decoder = Decoder { input: bytes };
    let value = T::deserialize(&mut decoder)?;
    Ok((value, decoder.input))
}

/// The bytes not read yet.
struct Decoder<'de> {
    input: &'de [u8],
}

/// Each byte's high bit: set while the varint goes on.
const CONTINUES: u64 = 0x8080_8080_8080_8080;

/// Joins the 7-bit groups of up to 8 little-endian varint bytes (high bits already cleared)
/// into one number: pairs of groups, then pairs of pairs, then the two halves.
#[inline(always)]
fn join_groups(word: u64) -> u64 {
    let pairs = (word & 0x007f_007f_007f_007f) | ((word & 0x7f00_7f00_7f00_7f00) >> 1);
    let quads = (pairs & 0x0000_3fff_0000_3fff) | ((pairs & 0x3fff_0000_3fff_0000) >> 2);
    (quads & 0x0000_0000_0fff_ffff) | ((quads & 0x0fff_ffff_0000_0000) >> 4)
}

impl<'de> Decoder<'de> {
    #[inline(always)]
    fn byte(&mut self) -> Result<u8> {
        match self.input.split_first() {
            Some((&byte, rest)) => {
                self.input = rest;
                Ok(byte)
            }
            None => Err(Error::DeserializeUnexpectedEnd),
        }
    }

    #[inline(always)]
    fn bytes(&mut self, n: usize) -> Result<&'de [u8]> {
        if self.input.len() < n {
            return Err(Error::DeserializeUnexpectedEnd);
        }
        let (taken, rest) = self.input.split_at(n);
        self.input = rest;
        Ok(taken)
    }

    /// A varint of at most `max_bytes` bytes whose last byte may be at most `max_last`
    /// (postcard's limits for the type), starting with `out` from the first `start` bytes
    /// already read: byte by byte, as postcard reads it.
    #[inline(always)]
    fn varint_tail(&mut self, mut out: u128, start: u32, max_bytes: u32, max_last: u8) -> Result<u128> {
        for i in start..max_bytes {
            let byte = self.byte()?;
            out |= u128::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return if i == max_bytes - 1 && byte > max_last { Err(Error::DeserializeBadVarint) } else { Ok(out) };
            }
        }
        Err(Error::DeserializeBadVarint)
    }

    #[inline(always)]
    fn varint_u64(&mut self) -> Result<u64> {
        match self.input.first() {
            Some(&byte) if byte < 0x80 => {
                self.input = &self.input[1..];
                Ok(u64::from(byte))
            }
            _ => self.varint_u64_long(),
        }
    }

    /// A u64 varint of two bytes or more (or none left).
    #[inline(never)]
    fn varint_u64_long(&mut self) -> Result<u64> {
        let Some(head) = self.input.first_chunk::<8>() else {
            return self.varint_tail(0, 0, 10, 1).map(|v| v as u64);
        };
        let word = u64::from_le_bytes(*head);
        let ends = !word & CONTINUES;
        if ends == 0 {
            // Eight bytes that all go on (a random u64 such as a client id): 56 bits, then a
            // ninth byte and maybe a tenth, which postcard allows to hold the one bit left.
            self.input = &self.input[8..];
            let mut out = join_groups(word & !CONTINUES);
            let ninth = self.byte()?;
            out |= u64::from(ninth & 0x7f) << 56;
            if ninth & 0x80 == 0 {
                return Ok(out);
            }
            let tenth = self.byte()?;
            return if tenth > 1 { Err(Error::DeserializeBadVarint) } else { Ok(out | (u64::from(tenth) << 63)) };
        }
        let len_bytes = ends.trailing_zeros() / 8 + 1;
        let kept = word & (u64::MAX >> (64 - 8 * len_bytes));
        self.input = &self.input[len_bytes as usize..];
        Ok(join_groups(kept & !CONTINUES))
    }

    #[inline(always)]
    fn varint_u32(&mut self) -> Result<u32> {
        match self.input.first() {
            Some(&byte) if byte < 0x80 => {
                self.input = &self.input[1..];
                Ok(u32::from(byte))
            }
            _ => self.varint_tail(0, 0, 5, 0x0f).map(|v| v as u32),
        }
    }

    fn varint_u16(&mut self) -> Result<u16> {
        self.varint_tail(0, 0, 3, 0x03).map(|v| v as u16)
    }

    fn varint_u128(&mut self) -> Result<u128> {
        self.varint_tail(0, 0, 19, 0x03)
    }

    #[inline(always)]
    fn len(&mut self) -> Result<usize> {
        self.varint_u64().map(|v| v as usize)
    }
}

/// The elements of a sequence, tuple or struct, or the entries of a map.
struct Items<'a, 'de> {
    decoder: &'a mut Decoder<'de>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Items<'_, 'de> {
    type Error = Error;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.decoder).map(Some)
    }

    /// Postcard's hint: none when fewer bytes are left than elements claimed.
    #[inline]
    fn size_hint(&self) -> Option<usize> {
        (self.decoder.input.len() >= self.left).then_some(self.left)
    }
}

impl<'de> de::MapAccess<'de> for Items<'_, 'de> {
    type Error = Error;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.decoder).map(Some)
    }

    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(&mut *self.decoder)
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

fn unzigzag(n: u128) -> i128 {
    ((n >> 1) as i128) ^ -((n & 1) as i128)
}

impl<'de> de::Deserializer<'de> for &mut Decoder<'de> {
    type Error = Error;

    fn is_human_readable(&self) -> bool {
        false
    }

    /// Postcard's messages do not describe themselves.
    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(Error::WontImplement)
    }

    #[inline]
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.byte()? {
            0 => visitor.visit_bool(false),
            1 => visitor.visit_bool(true),
            _ => Err(Error::DeserializeBadBool),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i8(self.byte()? as i8)
    }

    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let v = self.varint_u16()?;
        visitor.visit_i16(unzigzag(u128::from(v)) as i16)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let v = self.varint_u32()?;
        visitor.visit_i32(unzigzag(u128::from(v)) as i32)
    }

    #[inline]
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let v = self.varint_u64()?;
        visitor.visit_i64(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let v = self.varint_u128()?;
        visitor.visit_i128(unzigzag(v))
    }

    #[inline]
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u8(self.byte()?)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u16(self.varint_u16()?)
    }

    #[inline]
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u32(self.varint_u32()?)
    }

    #[inline]
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u64(self.varint_u64()?)
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u128(self.varint_u128()?)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let bytes = self.bytes(4)?;
        visitor.visit_f32(f32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let bytes = self.bytes(8)?;
        visitor.visit_f64(f64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let len = self.len()?;
        if len > 4 {
            return Err(Error::DeserializeBadChar);
        }
        let bytes = self.bytes(len)?;
        let c = std::str::from_utf8(bytes).ok().and_then(|s| s.chars().next()).ok_or(Error::DeserializeBadChar)?;
        visitor.visit_char(c)
    }

    #[inline]
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let len = self.len()?;
        let bytes = self.bytes(len)?;
        visitor.visit_borrowed_str(std::str::from_utf8(bytes).map_err(|_| Error::DeserializeBadUtf8)?)
    }

    /// As postcard: the visitor gets a `&str` it may not keep (it copies it anyway).
    #[inline]
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let len = self.len()?;
        let bytes = self.bytes(len)?;
        visitor.visit_str(std::str::from_utf8(bytes).map_err(|_| Error::DeserializeBadUtf8)?)
    }

    #[inline]
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let len = self.len()?;
        visitor.visit_borrowed_bytes(self.bytes(len)?)
    }

    #[inline]
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let len = self.len()?;
        visitor.visit_bytes(self.bytes(len)?)
    }

    #[inline]
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.byte()? {
            0 => visitor.visit_none(),
            1 => visitor.visit_some(self),
            _ => Err(Error::DeserializeBadOption),
        }
    }

    /// Units are not written.
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    #[inline]
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    #[inline]
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let left = self.len()?;
        visitor.visit_seq(Items { decoder: self, left })
    }

    #[inline]
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Items { decoder: self, left: len })
    }

    #[inline]
    fn deserialize_tuple_struct<V: Visitor<'de>>(self, _: &'static str, len: usize, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Items { decoder: self, left: len })
    }

    #[inline]
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let left = self.len()?;
        visitor.visit_map(Items { decoder: self, left })
    }

    #[inline]
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_seq(Items { decoder: self, left: fields.len() })
    }

    #[inline]
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_enum(self)
    }

    /// Fields and variants are written by position, never by name.
    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(Error::WontImplement)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(Error::WontImplement)
    }
}

impl<'de> de::EnumAccess<'de> for &mut Decoder<'de> {
    type Error = Error;
    type Variant = Self;

    #[inline]
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        let index = self.varint_u32()?;
        let value = seed.deserialize(index.into_deserializer())?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for &mut Decoder<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    #[inline]
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Items { decoder: self, left: len })
    }

    #[inline]
    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Items { decoder: self, left: fields.len() })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fmt::Debug;

    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    enum Shape {
        Empty,
        Wrapped(u64),
        Pair(i32, String),
        Named { id: u64, seq: u64, tags: Vec<u8>, next: Option<Box<Shape>> },
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    struct Unit;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    struct Mixed {
        flag: bool,
        small: (u8, i8, u16, i16),
        wide: (u32, i32, u64, i64, u128, i128),
        floats: (f32, f64),
        letter: char,
        text: String,
        unit: Unit,
        shapes: Vec<Shape>,
        map: BTreeMap<u32, String>,
    }

    /// A fixed pseudo-random sequence (xorshift), so the tests are the same every run.
    struct Bits(u64);

    impl Bits {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        /// A number of a random bit width, so every varint length comes up.
        fn width(&mut self) -> u64 {
            let bits = self.next() % 65;
            if bits == 0 {
                0
            } else {
                self.next() >> (64 - bits)
            }
        }
    }

    /// Both decoders on the same bytes: the same value or the same error, the same bytes left.
    /// Compared as printed, so that a NaN decoded by both counts as the same (floats are also
    /// compared bit for bit, in `floats_decode_bit_for_bit`).
    fn same<T: for<'de> Deserialize<'de> + Debug>(bytes: &[u8]) {
        let theirs = format!("{:?}", postcard::take_from_bytes::<T>(bytes));
        let ours = format!("{:?}", take::<T>(bytes));
        assert_eq!(ours, theirs, "decoding {bytes:02x?} as {}", std::any::type_name::<T>());
        let theirs = format!("{:?}", postcard::from_bytes::<T>(bytes));
        assert_eq!(format!("{:?}", decode::<T>(bytes)), theirs, "decoding {bytes:02x?}");
    }

    fn mixed(bits: &mut Bits) -> Mixed {
        let n = bits.width();
        Mixed {
            flag: n.is_multiple_of(2),
            small: (n as u8, n as i8, n as u16, n as i16),
            wide: (n as u32, n as i32, n, n as i64, u128::from(n) << 50, -(i128::from(n) << 40)),
            floats: (n as f32, -(n as f64)),
            letter: char::from_u32(n as u32 % 0x11_0000).unwrap_or('\u{fffd}'),
            text: "é-".repeat((n % 5) as usize),
            unit: Unit,
            shapes: vec![
                Shape::Empty,
                Shape::Wrapped(bits.width()),
                Shape::Pair(bits.width() as i32, format!("{n}")),
                Shape::Named {
                    id: bits.next(),
                    seq: bits.width(),
                    tags: vec![n as u8; (n % 4) as usize],
                    next: Some(Box::new(Shape::Wrapped(bits.next()))),
                },
            ],
            map: (0..(n % 3) as u32).map(|k| (k * 1000, "v".repeat(k as usize))).collect(),
        }
    }

    #[test]
    fn varints_at_every_length_and_bound_decode_as_postcard_does() {
        let mut values: Vec<u64> = vec![0, 1, u64::MAX, u64::MAX - 1, 1 << 63];
        for k in 1..=9 {
            values.extend([(1u64 << (7 * k)) - 1, 1u64 << (7 * k), (1u64 << (7 * k)) + 1]);
        }
        let mut bits = Bits(0x9e37_79b9_7f4a_7c15);
        values.extend((0..2000).map(|_| bits.width()));
        for v in values {
            for tail in [&[][..], &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80][..], &[7][..]] {
                let mut bytes = postcard::to_stdvec(&v).unwrap();
                bytes.extend_from_slice(tail);
                assert_eq!(take::<u64>(&bytes).unwrap(), (v, tail), "{v}");
                same::<u64>(&bytes);
                same::<i64>(&bytes);
                same::<u32>(&bytes);
                same::<u16>(&bytes);
                same::<u128>(&bytes);
                same::<Vec<u8>>(&bytes);
                same::<String>(&bytes);
            }
        }
    }

    #[test]
    fn rich_values_decode_as_postcard_decodes_them_and_every_prefix_fails_the_same() {
        let mut bits = Bits(42);
        for _ in 0..300 {
            let value = mixed(&mut bits);
            let bytes = postcard::to_stdvec(&value).unwrap();
            assert_eq!(decode::<Mixed>(&bytes).unwrap(), value);
            for end in 0..bytes.len() {
                same::<Mixed>(&bytes[..end]);
            }
        }
    }

    #[test]
    fn random_and_corrupted_bytes_give_postcards_values_and_errors() {
        let mut bits = Bits(7);
        for round in 0..20_000 {
            let bytes: Vec<u8> = if round % 2 == 0 {
                let len = (bits.next() % 40) as usize;
                (0..len).map(|_| bits.next() as u8).collect()
            } else {
                // A valid message with one byte changed: mostly decodes, sometimes breaks.
                let mut bytes = postcard::to_stdvec(&mixed(&mut bits)).unwrap();
                let at = (bits.next() as usize) % bytes.len();
                bytes[at] = bits.next() as u8;
                bytes
            };
            same::<Mixed>(&bytes);
            same::<Shape>(&bytes);
            same::<(bool, Option<u8>, char)>(&bytes);
            same::<(u64, u64, u64)>(&bytes);
            same::<BTreeMap<u16, i16>>(&bytes);
            same::<(f32, f64, i128)>(&bytes);
        }
    }

    #[test]
    fn floats_decode_bit_for_bit() {
        let mut bits = Bits(99);
        for _ in 0..5000 {
            let bytes = bits.next().to_le_bytes();
            let bit_pattern = |r: postcard::Result<(f32, f64)>| r.map(|(a, b)| (a.to_bits(), b.to_bits()));
            assert_eq!(bit_pattern(decode(&bytes)), bit_pattern(postcard::from_bytes(&bytes)));
            let mut long = bytes.to_vec();
            long.extend_from_slice(&bits.next().to_le_bytes());
            assert_eq!(bit_pattern(decode(&long)), bit_pattern(postcard::from_bytes(&long)));
        }
    }

    #[test]
    fn sequences_reserve_what_postcard_reserves() {
        // A length larger than the bytes left gets no size hint, so no large reservation.
        for bytes in [vec![3, 1, 2, 3], vec![200, 1, 1], vec![0xff, 0xff, 0x03, 9], vec![2, 0x80, 1, 5]] {
            let theirs: postcard::Result<Vec<u64>> = postcard::from_bytes(&bytes);
            let ours: postcard::Result<Vec<u64>> = decode(&bytes);
            assert_eq!(ours, theirs);
            if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
                assert_eq!(ours.capacity(), theirs.capacity());
            }
        }
    }

    #[test]
    fn what_postcard_will_not_decode_is_refused_alike() {
        #[derive(Deserialize, Debug, PartialEq)]
        #[serde(tag = "kind")]
        enum Tagged {
            A,
        }
        same::<Tagged>(&[0]);
        same::<serde::de::IgnoredAny>(&[0]);
    }
}
