//! The bytes labrpc puts on the wire are postcard's own (`postcard::to_allocvec`), whatever the
//! message holds: labrpc encodes through its own postcard flavor (`net/encode.rs`, runs of bytes
//! copied at once), and a student's reply decoded by another postcard user, a recorded message,
//! or a TCP peer of another build must read the same bytes.
//!
//! Seen from outside: a handler declared to take `Raw` receives the request's bytes exactly as
//! sent, a caller asking for `Raw` gets the reply's bytes, and `tcp::frame::encode` writes its
//! header through the same flavor after a prefix.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use labrpc::net::tcp::frame::{self, Header};
use labrpc::net::{Network, Server, Service};
use labrpc::sim::{self, Config};
use labrpc::sync::Mutex;
use labrpc::{node, NodeId};
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A message's bytes, whatever they encode: read one byte at a time as a tuple with no end, the
/// read that runs past the last byte ending it (postcard writes a tuple's elements with no
/// length before them, and a `u8` as one byte).
#[derive(Debug, PartialEq, Eq)]
struct Raw(Vec<u8>);

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        struct Bytes;
        impl<'de> Visitor<'de> for Bytes {
            type Value = Raw;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any bytes")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
                let mut bytes = Vec::new();
                while let Ok(Some(byte)) = seq.next_element::<u8>() {
                    bytes.push(byte);
                }
                Ok(Raw(bytes))
            }
        }
        d.deserialize_tuple(usize::MAX, Bytes)
    }
}

/// Bytes written as one run (`serialize_bytes`, what `serde_bytes` does).
#[derive(Debug, PartialEq)]
struct Blob(Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

/// Written with `collect_str` (formatted twice by postcard: once to count, once to write).
struct Shown(u64, usize);

impl Serialize for Shown {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}:{}", self.0, "é".repeat(self.1)))
    }
}

#[derive(Serialize)]
struct Unit;

#[derive(Serialize)]
struct Newtype(i16);

#[derive(Serialize)]
struct Pair(u32, String);

#[derive(Serialize)]
enum Kind {
    Plain,
    Wrapped(u64),
    Two(i8, char),
    Named { text: String, blob: Blob },
}

/// Every shape serde can hand a serializer, with lengths of `n` bytes or items.
#[derive(Serialize)]
struct Everything {
    small: (u8, u16, u32, u64),
    large: (u16, u32, u64, u128, i128),
    signed: (i8, i16, i32, i64),
    floats: (f32, f64, f64),
    flags: (bool, bool),
    chars: (char, char, char),
    empty: String,
    text: String,
    seq: Vec<u8>,
    blob: Blob,
    shown: Shown,
    none: Option<u32>,
    some: Option<Option<String>>,
    unit: (),
    unit_struct: Unit,
    newtype: Newtype,
    pair: Pair,
    kinds: Vec<Kind>,
    map: BTreeMap<String, Vec<u16>>,
    nested: Vec<Vec<String>>,
    array: [u64; 3],
}

/// `n` sets the lengths; only the blob (one run of bytes) takes the largest ones in full, so the
/// test stays quick in a debug build.
fn everything(n: usize) -> Everything {
    let short = n.min(20_000);
    let text: String = (0..short).map(|k| ['a', 'ß', '€', '😀'][k % 4]).collect();
    Everything {
        small: (7, 127, 128, 16_383),
        large: (u16::MAX, u32::MAX, u64::MAX, u128::MAX - 5, i128::MIN + 3),
        signed: (i8::MIN, -64, -65, i64::MIN),
        floats: (-1.5, f64::MIN_POSITIVE, f64::NAN),
        flags: (true, false),
        chars: ('a', 'ß', '😀'),
        empty: String::new(),
        text: text.clone(),
        seq: (0..short).map(|k| (k * 31) as u8).collect(),
        blob: Blob((0..n).map(|k| (k * 7 + 1) as u8).collect()),
        shown: Shown(n as u64, n % 200),
        none: None,
        some: Some(Some(text.chars().take(3).collect())),
        unit: (),
        unit_struct: Unit,
        newtype: Newtype(-300),
        pair: Pair(n as u32, "p".repeat(n % 130)),
        kinds: vec![
            Kind::Plain,
            Kind::Wrapped(n as u64),
            Kind::Two(-1, '€'),
            Kind::Named { text: "t".repeat(n % 300), blob: Blob(vec![0xff; n % 1000]) },
        ],
        map: (0..(n % 5) as u16).map(|k| (format!("key{k}"), vec![k; k as usize])).collect(),
        nested: vec![vec![], vec![String::new(), text]],
        array: [1, 1 << 35, u64::MAX],
    }
}

/// Lengths around postcard's varint steps (127/128, 16383/16384, 2097151/2097152).
const SIZES: [usize; 9] = [0, 1, 127, 128, 129, 16_383, 16_384, (1 << 21) - 1, 1 << 21];

#[test]
fn rpc_requests_and_replies_carry_postcards_bytes() {
    sim::check(&labrpc::target!("rpc_requests_and_replies_carry_postcards_bytes"), Config::default(), || {
        let net = Network::new();
        let server = node::create("server");
        let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let s = seen.clone();
        // The handler keeps the request's bytes and replies with an `Everything` of the size the
        // request's length picks.
        let svc = Service::new("Bytes").method("Keep", move |raw: Raw| {
            let n = SIZES[raw.0.len() % SIZES.len()];
            s.lock().push(raw.0);
            everything(n)
        });
        net.add_server("bytes", server, Server::new().with_service(svc));
        let end = net.make_end("client", NodeId::MAIN);
        net.connect("client", "bytes");
        for n in SIZES {
            let request = everything(n);
            let expected_request = postcard::to_allocvec(&request).unwrap();
            let bytes_before = net.total_bytes();
            let Raw(reply) = end.call::<Everything, Raw>("Bytes.Keep", &request).unwrap();
            let sent = seen.lock().pop().expect("the handler ran");
            assert!(sent == expected_request, "{n}: the request's bytes are not postcard's");
            let reply_n = SIZES[sent.len() % SIZES.len()];
            let expected_reply = postcard::to_allocvec(&everything(reply_n)).unwrap();
            assert!(reply == expected_reply, "{n}: the reply's bytes are not postcard's");
            let counted = net.total_bytes() - bytes_before;
            assert_eq!(counted as usize, sent.len() + reply.len(), "{n}: the bytes counted are the bytes sent");
        }
    });
}

#[test]
fn a_frame_is_its_length_postcards_header_and_the_body() {
    for (n, body_bytes) in [(0, 0), (1, 5), (127, 0), (128, 1), (16_383, 3), (16_384, 100_000)] {
        let method = "m".repeat(n);
        let body: Vec<u8> = (0..body_bytes).map(|k| (k * 11) as u8).collect();
        let headers = [
            Header::Request { id: n as u64, method: method.clone() },
            Header::Reply { id: u64::MAX },
            Header::Failed { id: 0, reason: format!("bad ✗ {method}") },
        ];
        for header in headers {
            let frame = frame::encode(&header, &body);
            let mut expected = postcard::to_allocvec(&header).unwrap();
            expected.extend_from_slice(&body);
            let prefix = u32::try_from(expected.len()).unwrap().to_le_bytes();
            assert_eq!(frame[..frame::LENGTH_BYTES], prefix, "{header:?}: the length prefix");
            assert!(frame[frame::LENGTH_BYTES..] == expected[..], "{header:?}: header and body bytes");
        }
    }
}
