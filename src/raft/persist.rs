//! What a peer persists (Figure 2's "persistent state on all servers": currentTerm, votedFor,
//! log[]) and how it does so cheaply.
//!
//! The layout is postcard's encoding of `Persistent`: a header of five small fields (term, vote,
//! snapshot index and term, number of entries), then the entries, which `Log` keeps encoded.
//! A persist edits the persister's copy in place (`Persister::update_raft_state`): it writes the
//! new header over the old one, cuts the old entries back to the first byte that changed since
//! the last persist and appends the rest. So a persist costs the header plus the entries
//! appended or rewritten since the last one, not the whole log. (Copying the whole log on every
//! persist was about a fifth of the Raft suite's CPU time, and 3C logs are never compacted.) The
//! bytes are the same either way; when the header changes length (a varint grows) or the log was
//! compacted, everything is written again.

use serde::Deserialize;

use super::log::{Log, LogData};

/// The state that survives crashes, as decoded.
#[derive(Deserialize)]
pub struct Persistent {
    pub term: u64,
    pub voted_for: Option<usize>,
    pub log: LogData,
}

/// The longest header: four varints of at most 10 bytes, and an option tag with a fifth.
const MAX_HEADER_BYTES: usize = 51;

/// `Persistent` up to its first entry: postcard writes a struct as its fields in order and a
/// sequence as its length followed by the items, so these bytes and the encoded entries
/// concatenated are exactly `Persistent`'s encoding.
pub struct Header {
    bytes: [u8; MAX_HEADER_BYTES],
    len: usize,
}

impl Header {
    /// Written by hand, varint by varint, as postcard writes them: postcard's slice output copied
    /// each varint with a call to memcpy, five per persist (a persist is the Raft's most
    /// frequent step).
    pub fn new(term: u64, voted_for: Option<usize>, log: &Log) -> Header {
        let mut header = Header { bytes: [0; MAX_HEADER_BYTES], len: 0 };
        header.put_varint(term);
        match voted_for {
            None => header.put_byte(0),
            Some(peer) => {
                header.put_byte(1);
                header.put_varint(peer as u64);
            }
        }
        header.put_varint(log.snapshot_index());
        header.put_varint(log.snapshot_term());
        header.put_varint(log.len_after_snapshot() as u64);
        header
    }

    fn put_byte(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// Postcard's varint: seven bits per byte, least significant first, the top bit set on
    /// every byte but the last.
    fn put_varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.put_byte(value as u8 | 0x80);
            value >>= 7;
        }
        self.put_byte(value as u8);
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// What this peer last left in the persister, so the next persist can edit it: the header's
/// length and the whole state's. Unknown (`None`) at start: the first persist writes it all.
#[derive(Clone, Copy, Debug, Default)]
pub struct Saved(Option<(usize, usize)>);

impl Saved {
    /// Turns `state`, the persister's bytes, into `header` followed by `log`'s entries. Edits in
    /// place when `state` is what the last call left (its length is the check: a persister
    /// written by someone else is rewritten whole), else writes it all.
    pub fn rewrite(&mut self, state: &mut Vec<u8>, header: &Header, log: &mut Log) {
        let unchanged = log.take_unchanged_prefix();
        let header = header.as_bytes();
        let entries = log.encoded_entries();
        match self.0 {
            Some((header_len, total_len)) if header_len == header.len() && total_len == state.len() => {
                assert!(header_len + unchanged <= total_len, "raft: more entry bytes unchanged than were saved");
                state.truncate(header_len + unchanged);
                state[..header_len].copy_from_slice(header);
                state.extend_from_slice(&entries[unchanged..]);
            }
            _ => {
                state.clear();
                state.reserve(header.len() + entries.len());
                state.extend_from_slice(header);
                state.extend_from_slice(entries);
            }
        }
        self.0 = Some((header.len(), state.len()));
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;
    use crate::raft::log::Entry;

    /// The layout as postcard derives it, to compare the hand-assembled bytes with.
    #[derive(Serialize)]
    struct Plain<'a> {
        term: u64,
        voted_for: Option<usize>,
        snapshot_index: u64,
        snapshot_term: u64,
        entries: &'a [Entry],
    }

    fn entries_of(log: &Log) -> Vec<Entry> {
        (log.snapshot_index() + 1..=log.last_index())
            .map(|i| log.entry(i).map(|e| Entry { term: e.term, command: e.command.to_vec() }).unwrap())
            .collect()
    }

    fn plain(term: u64, voted_for: Option<usize>, log: &Log) -> Vec<u8> {
        let entries = entries_of(log);
        let plain = Plain {
            term,
            voted_for,
            snapshot_index: log.snapshot_index(),
            snapshot_term: log.snapshot_term(),
            entries: &entries,
        };
        postcard::to_stdvec(&plain).unwrap()
    }

    /// Persists into `state` as the driver does, then checks the bytes against postcard's own
    /// encoding of the same state and that they decode back to the same log.
    fn persist_and_check(saved: &mut Saved, state: &mut Vec<u8>, term: u64, voted_for: Option<usize>, log: &mut Log) {
        saved.rewrite(state, &Header::new(term, voted_for, log), log);
        assert_eq!(*state, plain(term, voted_for, log), "persisted bytes differ from postcard's");
        let back: Persistent = postcard::from_bytes(state).unwrap();
        assert_eq!((back.term, back.voted_for), (term, voted_for));
        assert_eq!(&Log::from_data(back.log), log);
    }

    #[test]
    fn header_is_postcards_encoding_at_every_varint_length() {
        let edges = [0, 1, 127, 128, 16_383, 16_384, 1 << 35, u64::MAX >> 1, u64::MAX];
        for (k, &value) in edges.iter().enumerate() {
            let mut log = Log::default();
            // Room after the snapshot index for the entries; 0 to 320 entries (a varint of 1 or 2).
            log.compact(value.clamp(1, u64::MAX - 1000), value);
            for _ in 0..k * 40 {
                log.append(Entry { term: value, command: vec![] });
            }
            for voted_for in [None, Some(0), Some(k), Some(value as usize), Some(usize::MAX)] {
                let fields = (value, voted_for, log.snapshot_index(), log.snapshot_term(), log.len_after_snapshot());
                let header = Header::new(value, voted_for, &log);
                assert_eq!(
                    header.as_bytes(),
                    postcard::to_stdvec(&fields).unwrap(),
                    "term {value}, vote {voted_for:?}"
                );
            }
        }
    }

    #[test]
    fn edited_state_is_what_postcard_writes_through_every_change() {
        let (mut saved, mut state, mut log) = (Saved::default(), Vec::new(), Log::default());
        persist_and_check(&mut saved, &mut state, 0, None, &mut log);
        for k in 0..300u64 {
            log.append(Entry { term: 1 + k / 100, command: k.to_le_bytes()[..(k % 9) as usize].to_vec() });
            if k % 7 == 0 {
                // Terms crossing 127 grow the header by a byte: a full rewrite.
                persist_and_check(&mut saved, &mut state, k, Some(k as usize % 3), &mut log);
            }
        }
        log.truncate_from(250);
        log.append(Entry { term: 4, command: vec![1; 300] });
        log.truncate_from(251);
        // The same header length as the last persist: an edit that cuts back to entry 250.
        persist_and_check(&mut saved, &mut state, 400, Some(1), &mut log);
        log.compact(120, 2);
        persist_and_check(&mut saved, &mut state, 400, Some(1), &mut log);
        log.append(Entry { term: 9, command: vec![7; 1000] });
        persist_and_check(&mut saved, &mut state, 400, Some(1), &mut log);
        // A compaction past the log's end discards it all.
        log.compact(400, 9);
        persist_and_check(&mut saved, &mut state, 401, None, &mut log);
        // Bytes someone else wrote are rewritten whole.
        state = vec![1, 2, 3];
        persist_and_check(&mut saved, &mut state, 401, None, &mut log);
    }

    /// Random appends, truncations, compactions and term changes, each persisted or not: the
    /// edited bytes always equal a fresh encoding.
    #[test]
    fn random_changes_persist_as_a_fresh_encoding_would() {
        let mut rng = crate::test_rng::TestRng::new(0x9e37_79b9_7f4a_7c15);
        let mut next = move |bound: u64| rng.below(bound);
        let (mut saved, mut state, mut log) = (Saved::default(), Vec::new(), Log::default());
        let (mut term, mut voted_for) = (1u64, None);
        for _ in 0..3000 {
            match next(10) {
                0..=4 => {
                    let len = next(40) as usize;
                    log.append(Entry { term, command: vec![next(256) as u8; len] });
                }
                5 if log.last_index() > log.snapshot_index() => {
                    let from = log.snapshot_index() + 1 + next(log.last_index() - log.snapshot_index());
                    log.truncate_from(from);
                }
                6 if next(10) == 0 && log.last_index() > log.snapshot_index() => {
                    let to = log.snapshot_index() + 1 + next(log.last_index() - log.snapshot_index());
                    let t = log.term(to).unwrap();
                    log.compact(to, t);
                }
                7 => {
                    term += next(60);
                    voted_for = if next(2) == 0 { None } else { Some(next(5) as usize) };
                }
                _ => persist_and_check(&mut saved, &mut state, term, voted_for, &mut log),
            }
        }
        persist_and_check(&mut saved, &mut state, term, voted_for, &mut log);
    }
}
