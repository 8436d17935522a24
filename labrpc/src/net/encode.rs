//! Postcard encoding into a buffer of exactly the message's size.
//!
//! `postcard::to_extend` feeds a `Vec` through `Extend<u8>`, one byte at a time even for a
//! string or a `serde_bytes` payload, and postcard's serializer builds every varint in a buffer
//! of its own; `writer.rs` writes the same bytes (postcard's format is the serializer's, and
//! tests compare them) with runs copied at once and varints built in a register, and measures a
//! message without writing it.

use serde::Serialize;

use super::writer::{Append, Count, Writer};

/// Postcard's bytes for `value` in a buffer of exactly their size, measured first: one
/// allocation, where growing from empty (`postcard::to_stdvec`) reallocated at 8, 16, 32, ...
/// bytes. The same bytes as `postcard::to_stdvec`.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> postcard::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    encode_exact(value, &mut bytes)?;
    Ok(bytes)
}

/// `encode` into `bytes` (empty), for the per-call paths: the buffer stays in the caller's frame
/// and only a one-byte result comes back, where `encode`'s `Result<Vec<u8>, _>` came back through
/// memory and its caller's unaligned reads of it stalled on store forwarding.
#[inline(always)]
pub(crate) fn encode_exact<T: Serialize + ?Sized>(value: &T, bytes: &mut Vec<u8>) -> postcard::Result<()> {
    debug_assert!(bytes.is_empty(), "encode_exact: the buffer holds bytes already");
    let mut count = Writer(Count(0));
    value.serialize(&mut count)?;
    // A new buffer, not `reserve_exact`: that takes `Vec`'s general growth path, measured 13 M
    // more instructions per kvraft suite.
    *bytes = Vec::with_capacity((count.0).0);
    encode_into(value, bytes)
}

/// Appends postcard's bytes for `value` to `bytes`, which grows as a `Vec` does (reserve first
/// for one allocation). The same bytes as `postcard::to_io` or `to_extend` would append.
pub fn encode_into<T: Serialize + ?Sized>(value: &T, bytes: &mut Vec<u8>) -> postcard::Result<()> {
    value.serialize(&mut Writer(Append(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Bytes written as one run (serde's `serialize_bytes`, what `serde_bytes` does). Postcard
    /// writes a run as its length and the bytes, as it writes a `Vec<u8>` sequence, so it reads
    /// back as one.
    #[derive(Debug, PartialEq)]
    struct Blob(Vec<u8>);

    impl Serialize for Blob {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }

    impl<'de> Deserialize<'de> for Blob {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Blob, D::Error> {
            Vec::deserialize(d).map(Blob)
        }
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Op {
        Put { key: String, value: String },
        Batch(Blob),
        Nothing,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Outer {
        id: u64,
        neg: i32,
        flag: bool,
        ratio: f64,
        name: String,
        /// A plain `Vec<u8>`: a sequence, written byte by byte by every flavor.
        seq: Vec<u8>,
        payload: Blob,
        ops: Vec<Op>,
        maybe: Option<Box<Outer>>,
        chars: char,
    }

    fn outer(payload_bytes: usize, nested: bool) -> Outer {
        let text: String = (0..payload_bytes).map(|k| char::from(b'a' + (k % 26) as u8)).collect();
        Outer {
            id: u64::MAX - 3,
            neg: -300,
            flag: true,
            ratio: -0.125,
            name: format!("ünïcode {text}"),
            seq: (0..payload_bytes).map(|k| (k * 7) as u8).collect(),
            payload: Blob((0..payload_bytes).map(|k| (k * 13 + 5) as u8).collect()),
            ops: vec![
                Op::Put { key: "k".repeat(payload_bytes % 300), value: text.clone() },
                Op::Batch(Blob((0..payload_bytes).map(|k| k as u8).collect())),
                Op::Nothing,
            ],
            maybe: nested.then(|| Box::new(outer(payload_bytes / 2 + 1, false))),
            chars: '€',
        }
    }

    #[test]
    fn bytes_are_postcards_own_for_strings_bytes_and_nested_structs() {
        // Runs of 1 and 2 bytes (stored without a copy call), sizes around the varint steps of a
        // length (127/128, 16383/16384) and a large one.
        for payload_bytes in [0, 1, 2, 3, 127, 128, 200, 16_383, 16_384, 1 << 20] {
            let value = outer(payload_bytes, true);
            let ours = encode(&value).unwrap();
            assert_eq!(ours, postcard::to_allocvec(&value).unwrap(), "{payload_bytes}-byte payloads");
            assert_eq!(ours.capacity(), ours.len(), "{payload_bytes}-byte payloads: the measured size was not exact");
            let back: Outer = postcard::from_bytes(&ours).unwrap();
            assert_eq!(back, value);
        }
    }

    #[test]
    fn unsized_values_and_appending_after_a_prefix_match_postcard() {
        let text = "a str, not a String: ∑ 10 bytes";
        assert_eq!(encode(text).unwrap(), postcard::to_allocvec(text).unwrap());
        let bytes: &[u8] = &[1, 2, 3, 250];
        assert_eq!(encode(bytes).unwrap(), postcard::to_allocvec(bytes).unwrap());

        let value = outer(300, true);
        let mut expected = vec![9u8, 8, 7, 6];
        expected.extend_from_slice(&postcard::to_allocvec(&value).unwrap());
        let mut ours = vec![9u8, 8, 7, 6];
        encode_into(&value, &mut ours).unwrap();
        assert_eq!(ours, expected);
    }
}
