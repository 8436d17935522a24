//! The Raft log with a snapshot offset: entries before `snapshot_index` live only in the snapshot.
//! Indices are 1-based as in the paper; index 0 (term 0) is the empty log's sentinel.
//!
//! The log keeps its entries encoded only (`encoded.rs`), which is what persisting and sending
//! them copy, with each entry's term beside for the lookups Figure 2 makes. (It also kept each
//! entry decoded, its command in an allocation of its own: a copy per entry a follower received
//! and a vector of entries to grow, for commands that are read only to be applied.)

use serde::{Deserialize, Serialize};

use super::encoded::{EncodedEntries, EntryBatch, EntryRef};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub term: u64,
    #[serde(with = "serde_bytes")]
    pub command: Vec<u8>,
}

/// The log as it is decoded on a restart (`persist` writes it).
#[derive(Deserialize)]
pub struct LogData {
    snapshot_index: u64,
    snapshot_term: u64,
    entries: Vec<Entry>,
}

#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Last index covered by the snapshot (0: none).
    snapshot_index: u64,
    snapshot_term: u64,
    /// `terms[k]` is the term of the entry at index `snapshot_index + 1 + k`.
    terms: Vec<u64>,
    /// The entries themselves, encoded back to back (entry k is the one of `terms[k]`).
    encoded: EncodedEntries,
}

/// Two logs are equal when they hold the same entries after the same snapshot point.
impl PartialEq for Log {
    fn eq(&self, other: &Log) -> bool {
        (self.snapshot_index, self.snapshot_term, &self.terms, self.encoded.bytes())
            == (other.snapshot_index, other.snapshot_term, &other.terms, other.encoded.bytes())
    }
}

impl Eq for Log {}

impl Log {
    pub fn from_data(data: LogData) -> Log {
        let mut log = Log { snapshot_index: data.snapshot_index, snapshot_term: data.snapshot_term, ..Log::default() };
        for entry in data.entries {
            log.append(entry);
        }
        log
    }

    /// The entries' encodings back to back: a `LogData` encodes as its header
    /// (`snapshot_index`, `snapshot_term`, the number of entries) followed by these bytes.
    pub fn encoded_entries(&self) -> &[u8] {
        self.encoded.bytes()
    }

    /// How many bytes at the start of `encoded_entries` are as they were at the last call (none
    /// at the first); from now on, changes are counted from the current encoding.
    pub fn take_unchanged_prefix(&mut self) -> usize {
        self.encoded.take_unchanged_prefix()
    }

    /// Entries after the snapshot.
    pub fn len_after_snapshot(&self) -> usize {
        self.terms.len()
    }

    pub fn snapshot_index(&self) -> u64 {
        self.snapshot_index
    }

    pub fn snapshot_term(&self) -> u64 {
        self.snapshot_term
    }

    pub fn last_index(&self) -> u64 {
        self.snapshot_index + self.terms.len() as u64
    }

    pub fn last_term(&self) -> u64 {
        self.terms.last().copied().unwrap_or(self.snapshot_term)
    }

    /// The term at `index`, if the log still knows it (the snapshot's last index included).
    pub fn term(&self, index: u64) -> Option<u64> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.position(index).map(|k| self.terms[k])
    }

    /// The entry at `index`, read in place from its encoding.
    pub fn entry(&self, index: u64) -> Option<EntryRef<'_>> {
        let k = self.position(index)?;
        Some(EntryRef { term: self.terms[k], command: self.encoded.command(k, self.terms[k]) })
    }

    /// Where the entry at `index` is in `terms` and `encoded`, if the log holds it.
    fn position(&self, index: u64) -> Option<usize> {
        let k = usize::try_from(index.checked_sub(self.snapshot_index + 1)?).ok()?;
        (k < self.terms.len()).then_some(k)
    }

    /// The entries from `index` on (`index` must be after the snapshot): at most `max_entries`,
    /// and no more than `max_bytes` encoded unless the first alone is larger.
    pub fn batch_from(&self, index: u64, max_entries: usize, max_bytes: usize) -> EntryBatch {
        assert!(index > self.snapshot_index, "entries_from({index}) is inside the snapshot");
        assert!(max_entries > 0, "an append must be able to carry an entry");
        let start = ((index - self.snapshot_index - 1) as usize).min(self.terms.len());
        let end = (start + max_entries).min(self.terms.len());
        self.encoded.batch(start, end, max_bytes)
    }

    pub fn append(&mut self, entry: Entry) -> u64 {
        assert!(entry.term >= self.last_term(), "log terms must not decrease");
        self.encoded.push(&entry);
        self.terms.push(entry.term);
        debug_assert_eq!(self.encoded.count(), self.terms.len());
        self.last_index()
    }

    /// `append` for an entry that arrived encoded (in a leader's batch): those bytes are kept as
    /// its encoding, which they are (batches are slices of the leader's encodings), so nothing
    /// is encoded again.
    pub fn append_encoded(&mut self, entry: EntryRef<'_>, encoded: &[u8]) -> u64 {
        assert!(entry.term >= self.last_term(), "log terms must not decrease");
        debug_assert_eq!(postcard::from_bytes::<EntryRef>(encoded).ok(), Some(entry), "not the entry's encoding");
        self.encoded.push_encoded(encoded);
        self.terms.push(entry.term);
        debug_assert_eq!(self.encoded.count(), self.terms.len());
        self.last_index()
    }

    /// Removes `index` and everything after it.
    pub fn truncate_from(&mut self, index: u64) {
        assert!(index > self.snapshot_index, "truncating into the snapshot at {index}");
        let keep = ((index - self.snapshot_index - 1) as usize).min(self.terms.len());
        self.terms.truncate(keep);
        self.encoded.truncate(keep);
    }

    /// First index holding `term`, searching back from `index` (for the follower's fast-backup hint).
    pub fn first_index_of_term(&self, term: u64, index: u64) -> u64 {
        let mut first = index;
        while first - 1 > self.snapshot_index && self.term(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }

    /// Last index holding `term`, if any entry after the snapshot does (for the leader's backup).
    pub fn last_index_of_term(&self, term: u64) -> Option<u64> {
        let pos = self.terms.iter().rposition(|&t| t == term)?;
        Some(self.snapshot_index + 1 + pos as u64)
    }

    /// Drops everything through `index`, now covered by a snapshot whose last entry has `term`.
    /// Entries after `index` are kept when the log agrees on `index`'s term; otherwise the log
    /// restarts empty after the snapshot.
    pub fn compact(&mut self, index: u64, term: u64) {
        if index <= self.snapshot_index {
            return;
        }
        let keep_suffix = self.term(index) == Some(term);
        if keep_suffix {
            let drop = (index - self.snapshot_index) as usize;
            self.terms.drain(..drop);
            self.encoded.drop_front(drop);
        } else {
            self.terms.clear();
            self.encoded.drop_front(self.encoded.count());
        }
        self.snapshot_index = index;
        self.snapshot_term = term;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(terms: &[u64]) -> Log {
        let mut log = Log::default();
        for &term in terms {
            log.append(Entry { term, command: vec![] });
        }
        log
    }

    #[test]
    fn indices_terms_and_compaction() {
        let mut log = log_of(&[1, 1, 2, 2, 2, 3]);
        assert_eq!((log.last_index(), log.last_term()), (6, 3));
        assert_eq!(log.term(0), Some(0));
        assert_eq!(log.first_index_of_term(2, 5), 3);
        assert_eq!(log.last_index_of_term(2), Some(5));
        log.compact(4, 2);
        assert_eq!((log.snapshot_index(), log.last_index()), (4, 6));
        assert_eq!(log.term(4), Some(2));
        assert_eq!(log.term(3), None);
        assert_eq!(log.first_index_of_term(2, 5), 5, "backup stops at the snapshot");
        assert_eq!(log.batch_from(5, 10, usize::MAX).len(), 2);
        log.truncate_from(6);
        assert_eq!(log.last_index(), 5);
        // A snapshot from the leader that disagrees with the log discards it.
        log.compact(9, 7);
        assert_eq!((log.last_index(), log.last_term()), (9, 7));
    }

    #[test]
    fn batches_respect_both_caps_and_read_back() {
        let mut log = Log::default();
        for k in 0..10u8 {
            log.append(Entry { term: 1 + k as u64 / 4, command: vec![k; 100] });
        }
        assert_eq!(log.batch_from(1, 4, usize::MAX).len(), 4);
        // Each entry encodes to 1 (term) + 1 (length) + 100 bytes.
        assert_eq!(log.batch_from(1, 10, 3 * 102).len(), 3);
        assert_eq!(log.batch_from(3, 10, 1).len(), 1, "one entry always goes");
        assert!(log.batch_from(11, 10, 1).is_empty());
        let batch = log.batch_from(4, 5, usize::MAX);
        let wire: EntryBatch = postcard::from_bytes(&postcard::to_stdvec(&batch).unwrap()).unwrap();
        let read: Vec<EntryRef> = wire.iter().map(|(e, _)| e).collect();
        let held: Vec<EntryRef> = (4..=8).map(|i| log.entry(i).unwrap()).collect();
        assert_eq!(read, held);
        assert_eq!(held[2], EntryRef { term: 2, command: &[5; 100] });
        // Each entry comes with its own encoding, which a log takes as it is.
        let mut copy = Log::default();
        for (e, encoded) in log.batch_from(1, 10, usize::MAX).iter() {
            copy.append_encoded(e, encoded);
        }
        assert_eq!(copy.encoded_entries(), log.encoded_entries());
        assert_eq!(copy, log);
    }
}
