//! The search cache: every (set of linearized operations, model state) configuration seen.
//!
//! Lowe's observation: two search nodes with the same linearized set and the same state have the
//! same futures, so a configuration seen once never needs exploring again.

use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::bitset::{mix64, Bitset};

/// Keys are already well-mixed hashes, so the map's hasher passes them through.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _bytes: &[u8]) {
        unreachable!("PassThrough only hashes u64 keys");
    }
    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}

/// Fast non-cryptographic hasher (multiply-rotate) for model states; adversarial inputs are not
/// a concern for a test tool.
#[derive(Default)]
struct StateHasher(u64);

impl Hasher for StateHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.write_u64(u64::from_le_bytes(chunk.try_into().expect("8-byte chunk")));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.write_u64(u64::from_le_bytes(tail) ^ bytes.len() as u64);
    }
    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u8(&mut self, byte: u8) {
        self.write_u64(u64::from(byte));
    }
    fn write_u32(&mut self, word: u32) {
        self.write_u64(u64::from(word));
    }
    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }
}

/// One configuration: which operations are linearized (those that returned and those that did
/// not, in separate bitsets) and the model state.
///
/// The returned set is stored compressed: the search numbers operations in call order and
/// linearizes them roughly in that order, so the set is a run of full words then a short tail.
/// The words live in one array for the whole cache (`Cache::words`), not one allocation each.
struct Entry<S> {
    /// Hash of (returned set, state): the key of `Cache::failed`.
    base_key: u64,
    /// Leading words of the returned set that are all ones.
    full_words: u32,
    /// Length of the returned set's tail (up to its last non-zero word).
    tail_words: u32,
    /// Where in `Cache::words` the returned set's tail starts; all words of the never-returned
    /// set follow it.
    start: usize,
    state: S,
}

impl<S: Eq> Entry<S> {
    /// The returned set's tail and the never-returned set, from the cache's word array.
    fn split<'w>(&self, words: &'w [u64], never_words: usize) -> (&'w [u64], &'w [u64]) {
        words[self.start..self.start + self.tail_words as usize + never_words].split_at(self.tail_words as usize)
    }

    /// Same returned set and state (the never-returned set is compared by the caller).
    fn same_base(&self, tail_now: &[u64], full_words: u32, tail: &[u64], state: &S) -> bool {
        self.full_words == full_words && tail_now == tail && self.state == *state
    }
}

/// Handle to a cached configuration, to mark it failed when the search backtracks out of it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntryId(u32);

/// Ids of entries whose keys collide; almost always one.
enum Ids {
    One(u32),
    Many(Vec<u32>),
}

impl Ids {
    fn as_slice(&self) -> &[u32] {
        match self {
            Ids::One(id) => std::slice::from_ref(id),
            Ids::Many(ids) => ids,
        }
    }

    fn push(&mut self, id: u32) {
        match self {
            Ids::One(first) => *self = Ids::Many(vec![*first, id]),
            Ids::Many(ids) => ids.push(id),
        }
    }
}

// Iteration order of this map is never observed (lookups and inserts only), so the per-process
// random order that clippy.toml guards against cannot leak into results.
#[allow(clippy::disallowed_types)]
type Map = std::collections::HashMap<u64, Ids, BuildHasherDefault<PassThrough>>;

/// Seen configurations, with Lowe's pruning plus one rule for operations that never returned:
/// a configuration is skipped if an equal one was seen, or if a failed one had the same state,
/// the same returned operations, and a subset of its never-returned operations. (Whatever
/// succeeds from the larger set also succeeds from the smaller: the extra operations never
/// returned, so leaving them out constrains nothing.)
pub(crate) struct Cache<S> {
    /// Every entry, by hash of the whole configuration.
    seen: Map,
    /// Failed entries, by hash of (returned set, state), for the subset rule; `None` when no
    /// operation of the partition is left without a return (the never-returned set is then
    /// always empty, and a failed configuration with an empty subset of it is an equal one,
    /// which `seen` finds first).
    failed: Option<Map>,
    entries: Vec<Entry<S>>,
    /// Every entry's words (see [`Entry::start`]).
    words: Vec<u64>,
    heap_bytes: usize,
}

impl<S> Cache<S> {
    pub(crate) fn entries(&self) -> usize {
        self.entries.len()
    }

    /// Approximate bytes held: bitsets, state values and bookkeeping (not what states point
    /// to, which the cache cannot see).
    pub(crate) fn approx_bytes(&self) -> usize {
        self.heap_bytes
    }
}

impl<S: Clone + Eq + Hash> Cache<S> {
    /// A cache for configurations of `never_returned` operations that never returned.
    pub(crate) fn new(never_returned: usize) -> Self {
        let failed = (never_returned > 0).then(Map::default);
        Self { seen: Map::default(), failed, entries: Vec::new(), words: Vec::new(), heap_bytes: 0 }
    }

    /// Records the configuration and returns its id, or `None` if it need not be explored. The
    /// cache keeps the state: the search reads it back with [`Cache::state`] instead of keeping
    /// a copy.
    pub(crate) fn insert(&mut self, returned: &Bitset, never_returned: &Bitset, state: S) -> Option<EntryId> {
        let mut hasher = StateHasher::default();
        state.hash(&mut hasher);
        let base_key = mix64(hasher.finish() ^ returned.hash());
        let key = mix64(base_key ^ never_returned.hash().rotate_left(17));
        let (full_words, tail) = compress(returned.words());
        let never = never_returned.words();

        let (entries, words) = (&self.entries, &self.words[..]);
        let seen_ids = self.seen.get(&key).map_or(&[][..], Ids::as_slice);
        let equal = |&id: &u32| {
            let entry = &entries[id as usize];
            let (tail_now, never_now) = entry.split(words, never.len());
            never_now == never && entry.same_base(tail_now, full_words, tail, &state)
        };
        if seen_ids.iter().any(equal) {
            return None;
        }
        let failed_ids = self.failed.as_ref().and_then(|failed| failed.get(&base_key)).map_or(&[][..], Ids::as_slice);
        let failed_subset = |&id: &u32| {
            let entry = &entries[id as usize];
            let (tail_now, never_now) = entry.split(words, never.len());
            let subset = never_now.iter().zip(never).all(|(seen, now)| seen & !now == 0);
            subset && entry.same_base(tail_now, full_words, tail, &state)
        };
        if failed_ids.iter().any(failed_subset) {
            return None;
        }

        let id = u32::try_from(self.entries.len()).expect("cache holds fewer than 2^32 entries");
        match self.seen.entry(key) {
            std::collections::hash_map::Entry::Vacant(vacant) => {
                vacant.insert(Ids::One(id));
            }
            std::collections::hash_map::Entry::Occupied(mut occupied) => occupied.get_mut().push(id),
        }
        let start = self.words.len();
        self.words.extend_from_slice(tail);
        self.words.extend_from_slice(never);
        self.heap_bytes += Self::entry_bytes(self.words.len() - start);
        self.entries.push(Entry {
            base_key,
            full_words,
            tail_words: u32::try_from(tail.len()).expect("bitset under 2^32 words"),
            start,
            state,
        });
        Some(EntryId(id))
    }

    /// What [`Cache::insert`] adds to [`Cache::approx_bytes`] for an entry whose two sets take
    /// `words` words once compressed.
    pub(crate) fn entry_bytes(words: usize) -> usize {
        words * std::mem::size_of::<u64>() + std::mem::size_of::<Entry<S>>() + 2 * std::mem::size_of::<(u64, Ids)>()
    }

    pub(crate) fn state(&self, id: EntryId) -> &S {
        &self.entries[id.0 as usize].state
    }

    /// The search backtracked out of this configuration: nothing succeeds from it.
    pub(crate) fn mark_failed(&mut self, id: EntryId) {
        let Some(failed) = &mut self.failed else { return };
        let base_key = self.entries[id.0 as usize].base_key;
        match failed.entry(base_key) {
            std::collections::hash_map::Entry::Vacant(vacant) => {
                vacant.insert(Ids::One(id.0));
            }
            std::collections::hash_map::Entry::Occupied(mut occupied) => occupied.get_mut().push(id.0),
        }
    }
}

/// Splits a bitset into its count of leading all-ones words and the rest, trailing zero words
/// dropped: a canonical form, so equal sets compress equally.
fn compress(words: &[u64]) -> (u32, &[u64]) {
    let full = words.iter().take_while(|&&word| word == u64::MAX).count();
    let rest = &words[full..];
    let len = rest.iter().rposition(|&word| word != 0).map_or(0, |last| last + 1);
    (u32::try_from(full).expect("bitset under 2^32 words"), &rest[..len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_configuration_is_explored_once() {
        let mut cache = Cache::new(3);
        let mut returned = Bitset::new(70);
        let never = Bitset::new(3);
        let a = "a".to_string();
        assert!(cache.insert(&returned, &never, a.clone()).is_some());
        assert!(cache.insert(&returned, &never, a.clone()).is_none());
        assert!(cache.insert(&returned, &never, "b".to_string()).is_some());
        returned.insert(69);
        assert!(cache.insert(&returned, &never, a.clone()).is_some());
        assert!(cache.insert(&returned, &never, a.clone()).is_none());
        assert_eq!(cache.entries(), 3);
        assert!(cache.approx_bytes() >= 3 * 16);
    }

    #[test]
    fn compression_is_canonical() {
        assert_eq!(compress(&[u64::MAX, u64::MAX, 5, 0, 0]), (2, &[5u64][..]));
        assert_eq!(compress(&[u64::MAX, 0, 1 << 63, 0]), (1, &[0, 1 << 63][..]));
        assert_eq!(compress(&[0, 0]), (0, &[][..]));
        assert_eq!(compress(&[]), (0, &[][..]));
    }

    #[test]
    fn failed_configuration_prunes_supersets_of_never_returned_ops_only() {
        let mut cache = Cache::new(3);
        let returned = Bitset::new(4);
        let mut never = Bitset::new(3);
        never.insert(0);
        let state = 7u8;
        let id = cache.insert(&returned, &never, state).unwrap();
        never.insert(2);
        // Not failed yet: a superset is still explored.
        assert!(cache.insert(&returned, &never, state).is_some());
        cache.mark_failed(id);
        never.insert(1);
        assert!(cache.insert(&returned, &never, state).is_none());
        // A set that lacks op 0 is no superset: explored.
        never.remove(0);
        assert!(cache.insert(&returned, &never, state).is_some());
        // Another state is another configuration.
        never.insert(0);
        assert!(cache.insert(&returned, &never, 8u8).is_some());
    }
}
