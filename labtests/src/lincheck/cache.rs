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
struct Entry<S> {
    /// Words of the returned-ops set, then words of the never-returned-ops set.
    bits: Box<[u64]>,
    state: S,
    /// Every continuation has been explored and none succeeded.
    failed: bool,
}

/// Handle to a cached configuration, to mark it failed when the search backtracks out of it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntryId(u32);

/// Configurations with the same returned set and state share a bucket (as do hash collisions).
enum Bucket {
    One(u32),
    Many(Vec<u32>),
}

impl Bucket {
    fn ids(&self) -> &[u32] {
        match self {
            Bucket::One(id) => std::slice::from_ref(id),
            Bucket::Many(ids) => ids,
        }
    }
}

// Iteration order of this map is never observed (lookups and inserts only), so the per-process
// random order that clippy.toml guards against cannot leak into results.
#[allow(clippy::disallowed_types)]
type Map = std::collections::HashMap<u64, Bucket, BuildHasherDefault<PassThrough>>;

/// Seen configurations, with Lowe's pruning plus one rule for operations that never returned:
/// a configuration is skipped if an equal one was seen, or if a failed one had the same state,
/// the same returned operations, and a subset of its never-returned operations. (Whatever
/// succeeds from the larger set also succeeds from the smaller: the extra operations never
/// returned, so leaving them out constrains nothing.)
pub(crate) struct Cache<S> {
    map: Map,
    entries: Vec<Entry<S>>,
    returned_words: usize,
    heap_bytes: usize,
}

impl<S: Clone + Eq + Hash> Cache<S> {
    pub(crate) fn new() -> Self {
        Self {
            map: Map::default(),
            entries: Vec::new(),
            returned_words: 0,
            heap_bytes: 0,
        }
    }

    pub(crate) fn entries(&self) -> usize {
        self.entries.len()
    }

    /// Approximate bytes held: bitsets, state values and bookkeeping (not what states point
    /// to, which the cache cannot see).
    pub(crate) fn approx_bytes(&self) -> usize {
        self.heap_bytes
    }

    /// Records the configuration and returns its id, or `None` if it need not be explored.
    pub(crate) fn insert(
        &mut self,
        returned: &Bitset,
        never_returned: &Bitset,
        state: &S,
    ) -> Option<EntryId> {
        let mut hasher = StateHasher::default();
        state.hash(&mut hasher);
        let key = mix64(hasher.finish() ^ returned.hash());
        let returned_words = returned.words();
        let never_words = never_returned.words();
        if self.entries.is_empty() {
            self.returned_words = returned_words.len();
        }
        debug_assert_eq!(self.returned_words, returned_words.len());
        let split = self.returned_words;
        let redundant = |entry: &Entry<S>| {
            let (seen_returned, seen_never) = entry.bits.split_at(split);
            if seen_returned != returned_words || entry.state != *state {
                return false;
            }
            if seen_never == never_words {
                return true;
            }
            entry.failed && seen_never.iter().zip(never_words).all(|(seen, now)| seen & !now == 0)
        };
        let id = u32::try_from(self.entries.len()).expect("cache holds fewer than 2^32 entries");
        match self.map.entry(key) {
            std::collections::hash_map::Entry::Vacant(vacant) => {
                vacant.insert(Bucket::One(id));
            }
            std::collections::hash_map::Entry::Occupied(mut occupied) => {
                let bucket = occupied.get_mut();
                if bucket.ids().iter().any(|&seen| redundant(&self.entries[seen as usize])) {
                    return None;
                }
                match bucket {
                    Bucket::One(first) => *bucket = Bucket::Many(vec![*first, id]),
                    Bucket::Many(ids) => ids.push(id),
                }
            }
        }
        let bits: Box<[u64]> = returned_words.iter().chain(never_words).copied().collect();
        self.heap_bytes += std::mem::size_of_val(&*bits)
            + std::mem::size_of::<Entry<S>>()
            + std::mem::size_of::<(u64, Bucket)>();
        self.entries.push(Entry {
            bits,
            state: state.clone(),
            failed: false,
        });
        Some(EntryId(id))
    }

    /// The search backtracked out of this configuration: nothing succeeds from it.
    pub(crate) fn mark_failed(&mut self, id: EntryId) {
        self.entries[id.0 as usize].failed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_configuration_is_explored_once() {
        let mut cache = Cache::new();
        let mut returned = Bitset::new(70);
        let never = Bitset::new(3);
        let a = "a".to_string();
        assert!(cache.insert(&returned, &never, &a).is_some());
        assert!(cache.insert(&returned, &never, &a).is_none());
        assert!(cache.insert(&returned, &never, &"b".to_string()).is_some());
        returned.insert(69);
        assert!(cache.insert(&returned, &never, &a).is_some());
        assert!(cache.insert(&returned, &never, &a).is_none());
        assert_eq!(cache.entries(), 3);
        assert!(cache.approx_bytes() >= 3 * 16);
    }

    #[test]
    fn failed_configuration_prunes_supersets_of_never_returned_ops_only() {
        let mut cache = Cache::new();
        let returned = Bitset::new(4);
        let mut never = Bitset::new(3);
        never.insert(0);
        let state = 7u8;
        let id = cache.insert(&returned, &never, &state).unwrap();
        never.insert(2);
        // Not failed yet: a superset is still explored.
        assert!(cache.insert(&returned, &never, &state).is_some());
        cache.mark_failed(id);
        never.insert(1);
        assert!(cache.insert(&returned, &never, &state).is_none());
        // A set that lacks op 0 is no superset: explored.
        never.remove(0);
        assert!(cache.insert(&returned, &never, &state).is_some());
        // Another state is another configuration.
        never.insert(0);
        assert!(cache.insert(&returned, &never, &8u8).is_some());
    }
}
