//! The Raft log with a snapshot offset: entries before `snapshot_index` live only in the snapshot.
//! Indices are 1-based as in the paper; index 0 (term 0) is the empty log's sentinel.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub term: u64,
    pub command: Vec<u8>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Log {
    /// Last index covered by the snapshot (0: none).
    snapshot_index: u64,
    snapshot_term: u64,
    /// `entries[k]` has index `snapshot_index + 1 + k`.
    entries: Vec<Entry>,
}

impl Log {
    pub fn snapshot_index(&self) -> u64 {
        self.snapshot_index
    }

    pub fn snapshot_term(&self) -> u64 {
        self.snapshot_term
    }

    pub fn last_index(&self) -> u64 {
        self.snapshot_index + self.entries.len() as u64
    }

    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.snapshot_term, |e| e.term)
    }

    /// The term at `index`, if the log still knows it (the snapshot's last index included).
    pub fn term(&self, index: u64) -> Option<u64> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.entry(index).map(|e| e.term)
    }

    pub fn entry(&self, index: u64) -> Option<&Entry> {
        if index <= self.snapshot_index {
            return None;
        }
        self.entries.get((index - self.snapshot_index - 1) as usize)
    }

    /// Copies of the entries from `index` to the end (`index` must be after the snapshot).
    pub fn entries_from(&self, index: u64) -> Vec<Entry> {
        assert!(index > self.snapshot_index, "entries_from({index}) is inside the snapshot");
        let start = ((index - self.snapshot_index - 1) as usize).min(self.entries.len());
        self.entries[start..].to_vec()
    }

    pub fn append(&mut self, entry: Entry) -> u64 {
        assert!(entry.term >= self.last_term(), "log terms must not decrease");
        self.entries.push(entry);
        self.last_index()
    }

    /// Removes `index` and everything after it.
    pub fn truncate_from(&mut self, index: u64) {
        assert!(index > self.snapshot_index, "truncating into the snapshot at {index}");
        self.entries.truncate((index - self.snapshot_index - 1) as usize);
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
        let pos = self.entries.iter().rposition(|e| e.term == term)?;
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
            self.entries.drain(..drop);
        } else {
            self.entries.clear();
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
        assert_eq!(log.entries_from(5).len(), 2);
        log.truncate_from(6);
        assert_eq!(log.last_index(), 5);
        // A snapshot from the leader that disagrees with the log discards it.
        log.compact(9, 7);
        assert_eq!((log.last_index(), log.last_term()), (9, 7));
    }
}
