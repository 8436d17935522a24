//! The log's entries as postcard encodes them, kept next to the entries. Not in Figure 2: a
//! cache. Raft persists its log before most replies and sends runs of it in every
//! AppendEntries; encoding thousands of entries each time was most of a long run's cost. With
//! the cache, a persist writes only the bytes that changed since the last one (`persist.rs`),
//! and the entries an AppendEntries carries are one slice of it (`EntryBatch`), not a clone of
//! each entry.

use serde::{Deserialize, Serialize};

use super::log::Entry;

/// An entry read in place from encoded bytes; encodes exactly as `Entry` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct EntryRef<'a> {
    pub term: u64,
    pub command: &'a [u8],
}

/// Consecutive entries as they travel in an AppendEntries: their encodings back to back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryBatch {
    count: usize,
    #[serde(with = "serde_bytes")]
    bytes: Vec<u8>,
}

impl EntryBatch {
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The entries in order, each with the bytes it was read from (its encoding, which a
    /// follower's log keeps as it is instead of encoding the entry again). Panics on bytes that
    /// are not `len()` encoded entries: batches come only from another peer's `Log::batch_from`.
    pub fn iter(&self) -> impl Iterator<Item = (EntryRef<'_>, &[u8])> {
        let mut rest = &self.bytes[..];
        (0..self.count).map(move |k| {
            let (entry, tail) = labrpc::net::take::<EntryRef>(rest)
                .unwrap_or_else(|e| panic!("raft: entry {k} of a batch of {} does not decode: {e}", self.count));
            let encoded = &rest[..rest.len() - tail.len()];
            rest = tail;
            (entry, encoded)
        })
    }
}

/// The encodings of a run of entries, back to back, changed only as the log changes.
#[derive(Clone, Debug, Default)]
pub struct EncodedEntries {
    /// Entry k is `bytes[end_of(k)..end_of(k + 1)]`.
    bytes: Vec<u8>,
    /// Where each entry's encoding ends.
    ends: Vec<usize>,
    /// The shortest `bytes` has been since `take_unchanged_prefix` (0 after the front moved):
    /// the bytes before it are as they were then.
    unchanged_prefix: usize,
}

impl EncodedEntries {
    /// How many entries are encoded.
    pub fn count(&self) -> usize {
        self.ends.len()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn push(&mut self, entry: &Entry) {
        labrpc::net::encode_into(entry, &mut self.bytes).expect("an entry encodes");
        self.ends.push(self.bytes.len());
    }

    /// Adds an entry given as its encoding (postcard's bytes for it, as `push` writes them).
    pub fn push_encoded(&mut self, encoded: &[u8]) {
        self.bytes.extend_from_slice(encoded);
        self.ends.push(self.bytes.len());
    }

    /// Keeps the first `keep` entries.
    pub fn truncate(&mut self, keep: usize) {
        self.bytes.truncate(self.end_of(keep));
        self.ends.truncate(keep);
        self.unchanged_prefix = self.unchanged_prefix.min(self.bytes.len());
    }

    /// Drops the first `drop` entries (a compaction): every byte moves.
    pub fn drop_front(&mut self, drop: usize) {
        let dropped_bytes = self.end_of(drop);
        self.bytes.drain(..dropped_bytes);
        self.ends.drain(..drop);
        self.ends.iter_mut().for_each(|end| *end -= dropped_bytes);
        self.unchanged_prefix = 0;
    }

    /// Entries `start..end` as one batch, the end moved back while they exceed `max_bytes`
    /// (but at least one goes when there is one).
    pub fn batch(&self, start: usize, mut end: usize, max_bytes: usize) -> EntryBatch {
        assert!(start <= end && end <= self.count(), "batch {start}..{end} of {} entries", self.count());
        let base = self.end_of(start);
        while end > start + 1 && self.end_of(end) - base > max_bytes {
            end -= 1;
        }
        EntryBatch { count: end - start, bytes: self.bytes[base..self.end_of(end)].to_vec() }
    }

    /// How many bytes at the start are as they were at the last call (none at the first); from
    /// now on, changes are counted from the current bytes.
    pub fn take_unchanged_prefix(&mut self) -> usize {
        let unchanged = self.unchanged_prefix.min(self.bytes.len());
        self.unchanged_prefix = self.bytes.len();
        unchanged
    }

    /// Entry k's command, read in place (`term` is the entry's): its encoding is the term's
    /// varint, the command's length as a varint, then the command's bytes, which run to the
    /// entry's end.
    pub fn command(&self, k: usize, term: u64) -> &[u8] {
        let (start, end) = (self.end_of(k), self.ends[k]);
        let mut at = start + varint_len(term);
        while self.bytes[at] & 0x80 != 0 {
            at += 1;
        }
        let command = &self.bytes[at + 1..end];
        debug_assert_eq!(
            postcard::from_bytes::<EntryRef>(&self.bytes[start..end]),
            Ok(EntryRef { term, command }),
            "entry {k} read in place"
        );
        command
    }

    /// Where entry k's encoding starts (the end of entry k - 1).
    fn end_of(&self, k: usize) -> usize {
        if k == 0 {
            0
        } else {
            self.ends[k - 1]
        }
    }
}

/// How many bytes postcard's varint of `value` takes: one per started group of seven bits.
fn varint_len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_read_in_place_at_every_varint_length() {
        let terms = [0, 1, 127, 128, 16_383, 16_384, 1 << 40, u64::MAX];
        let lengths = [0, 1, 127, 128, 300, 16_384];
        let mut encoded = EncodedEntries::default();
        let mut entries = Vec::new();
        for &term in &terms {
            for &len in &lengths {
                let entry = Entry { term, command: (0..len).map(|i| (i * 31 + len) as u8).collect() };
                encoded.push(&entry);
                entries.push(entry);
            }
        }
        for (k, entry) in entries.iter().enumerate() {
            assert_eq!(
                encoded.command(k, entry.term),
                &entry.command[..],
                "term {}, {} bytes",
                entry.term,
                entry.command.len()
            );
        }
        // After the front moved, too.
        encoded.drop_front(7);
        assert_eq!(encoded.command(0, entries[7].term), &entries[7].command[..]);
    }
}
