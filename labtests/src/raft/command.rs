//! The commands the scenarios replicate, and how they travel through Raft as bytes.
//!
//! Raft carries opaque `Vec<u8>`; the harness postcard-encodes a `Command` and the appliers decode
//! it again, so a corrupted or truncated entry fails the run instead of being compared as bytes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A replicated command: a number (most scenarios) or a byte payload (the RPC byte count).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Value(u64),
    Payload(Vec<u8>),
}

impl Command {
    /// A random number command (the Go tests' `rand.Int()`), drawn from the simulation's seed.
    pub fn random() -> Command {
        Command::Value(labrpc::rand::next_u64() >> 1)
    }

    /// A payload of `len_bytes` random printable bytes (the Go tests' `randstring`).
    pub fn random_payload(len_bytes: usize) -> Command {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = (0..len_bytes).map(|_| ALPHABET[labrpc::rand::range(0..ALPHABET.len() as u64) as usize]).collect();
        Command::Payload(bytes)
    }

    /// Postcard's bytes, in a buffer of their exact size (`labrpc::net::encode`): growing one
    /// from empty reallocated three times for a number command, at every command a scenario
    /// starts.
    pub fn encode(&self) -> Vec<u8> {
        labrpc::net::encode(self).expect("a command always encodes")
    }

    /// Decodes a whole entry (`labrpc::net::take`, postcard's format and errors read straight
    /// from the slice: the appliers decode every command applied): trailing bytes mean the entry
    /// was corrupted on its way.
    pub fn decode(bytes: &[u8]) -> Result<Command, String> {
        match labrpc::net::take::<Command>(bytes) {
            Ok((command, [])) => Ok(command),
            Ok((_, rest)) => Err(format!("{} bytes left over after the command", rest.len())),
            Err(e) => Err(format!("{e} (entry of {} bytes)", bytes.len())),
        }
    }

    /// The payload length, or 0 for a number.
    pub fn payload_len(&self) -> usize {
        match self {
            Command::Value(_) => 0,
            Command::Payload(bytes) => bytes.len(),
        }
    }
}

impl fmt::Display for Command {
    /// Payloads are shown by length and head only: failure messages stay one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Value(v) => write!(f, "{v}"),
            Command::Payload(bytes) => {
                let head = String::from_utf8_lossy(&bytes[..bytes.len().min(8)]);
                write!(f, "payload[{} bytes, {head}..]", bytes.len())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Command;

    #[test]
    fn commands_encode_to_postcards_bytes_and_back() {
        let payload: Vec<u8> = (0..300u32).map(|k| k as u8).collect();
        for command in [Command::Value(0), Command::Value(127), Command::Value(128), Command::Value(u64::MAX >> 1)]
            .into_iter()
            .chain([Command::Payload(Vec::new()), Command::Payload(payload)])
        {
            let bytes = command.encode();
            assert_eq!(bytes, postcard::to_stdvec(&command).unwrap(), "{command}");
            assert_eq!(bytes.capacity(), bytes.len(), "{command}: one buffer of the exact size");
            assert_eq!(Command::decode(&bytes), Ok(command));
        }
    }

    /// Postcard's answer for `bytes`, in `Command::decode`'s terms.
    fn by_postcard(bytes: &[u8]) -> Result<Command, String> {
        match postcard::take_from_bytes::<Command>(bytes) {
            Ok((command, [])) => Ok(command),
            Ok((_, rest)) => Err(format!("{} bytes left over after the command", rest.len())),
            Err(e) => Err(format!("{e} (entry of {} bytes)", bytes.len())),
        }
    }

    #[test]
    fn numbers_encode_as_postcard_at_every_varint_length() {
        for shift in 0..64 {
            for v in [1u64 << shift, (1u64 << shift) - 1, (1u64 << shift) + 1, u64::MAX >> shift] {
                let command = Command::Value(v);
                let bytes = command.encode();
                assert_eq!(bytes, postcard::to_stdvec(&command).unwrap(), "{v}");
                assert_eq!(bytes.capacity(), bytes.len(), "{v}: one buffer of the exact size");
                assert_eq!(Command::decode(&bytes), Ok(command), "{v}");
            }
        }
    }

    #[test]
    fn decoding_answers_as_postcard_does() {
        // Every entry of up to two bytes, and of three starting with variant 0.
        let mut entries: Vec<Vec<u8>> = vec![Vec::new()];
        entries.extend((0..=255u8).map(|a| vec![a]));
        entries.extend((0..=255u8).flat_map(|a| (0..=255u8).map(move |b| vec![a, b])));
        entries.extend((0..=255u8).flat_map(|b| (0..=255u8).map(move |c| vec![0, b, c])));
        // Ten- and eleven-byte varints around the top bit, non-canonical ones, trailing bytes.
        let top = [0xff; 9];
        for last in [0u8, 1, 2, 0x7f, 0x80, 0xff] {
            let mut entry = vec![0];
            entry.extend(top);
            entry.push(last);
            entries.push(entry.clone());
            entry.push(0);
            entries.push(entry);
        }
        entries.push(vec![0, 0x80, 0x80, 0x00]);
        entries.push(vec![0, 0x85, 0x00, 0x07]);
        entries.push(Command::Payload(b"abc".to_vec()).encode());
        for entry in &entries {
            assert_eq!(Command::decode(entry), by_postcard(entry), "{entry:?}");
        }
    }
}
