//! The search cache: every (set of linearized operations, model state) configuration seen.
//!
//! Lowe's observation: two search nodes with the same linearized set and the same state have the
//! same futures, so a configuration seen once never needs exploring again.

use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::bitset::{mix64, Bitset};

/// Configurations whose hashes collide share a bucket; almost all buckets hold one.
enum Bucket<S> {
    One(Box<[u64]>, S),
    Many(Vec<(Box<[u64]>, S)>),
}

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

// Iteration order of this map is never observed (lookups and inserts only), so the per-process
// random order that clippy.toml guards against cannot leak into results.
#[allow(clippy::disallowed_types)]
type Map<S> = std::collections::HashMap<u64, Bucket<S>, BuildHasherDefault<PassThrough>>;

pub(crate) struct Cache<S> {
    map: Map<S>,
    entries: usize,
    heap_bytes: usize,
}

impl<S: Clone + Eq + Hash> Cache<S> {
    pub(crate) fn new() -> Self {
        Self {
            map: Map::default(),
            entries: 0,
            heap_bytes: 0,
        }
    }

    pub(crate) fn entries(&self) -> usize {
        self.entries
    }

    /// Approximate bytes held: bitsets and the state values themselves (not what states point
    /// to, which the cache cannot see).
    pub(crate) fn approx_bytes(&self) -> usize {
        self.heap_bytes
    }

    /// Records the configuration; returns false if it was already there.
    pub(crate) fn insert(&mut self, linearized: &Bitset, state: &S) -> bool {
        let mut hasher = StateHasher::default();
        state.hash(&mut hasher);
        let key = mix64(hasher.finish() ^ linearized.hash());
        let words = linearized.words();
        let fresh = || (Box::<[u64]>::from(words), state.clone());
        match self.map.entry(key) {
            std::collections::hash_map::Entry::Vacant(vacant) => {
                let (bits, state) = fresh();
                vacant.insert(Bucket::One(bits, state));
            }
            std::collections::hash_map::Entry::Occupied(mut occupied) => {
                let bucket = occupied.get_mut();
                let seen = |(bits, seen_state): &(Box<[u64]>, S)| {
                    &**bits == words && seen_state == state
                };
                match bucket {
                    Bucket::One(bits, seen_state) => {
                        if &**bits == words && seen_state == state {
                            return false;
                        }
                        let Bucket::One(bits, seen_state) =
                            std::mem::replace(bucket, Bucket::Many(Vec::with_capacity(2)))
                        else {
                            unreachable!("matched One above");
                        };
                        let Bucket::Many(list) = bucket else {
                            unreachable!("just replaced by Many");
                        };
                        list.push((bits, seen_state));
                        list.push(fresh());
                    }
                    Bucket::Many(list) => {
                        if list.iter().any(seen) {
                            return false;
                        }
                        list.push(fresh());
                    }
                }
            }
        }
        self.entries += 1;
        self.heap_bytes += linearized.heap_bytes() + std::mem::size_of::<(u64, Bucket<S>)>();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_configuration_is_seen_once() {
        let mut cache = Cache::new();
        let mut bits = Bitset::new(70);
        assert!(cache.insert(&bits, &"a".to_string()));
        assert!(!cache.insert(&bits, &"a".to_string()));
        assert!(cache.insert(&bits, &"b".to_string()));
        bits.insert(69);
        assert!(cache.insert(&bits, &"a".to_string()));
        assert!(!cache.insert(&bits, &"a".to_string()));
        assert_eq!(cache.entries(), 3);
        assert!(cache.approx_bytes() >= 3 * 16);
    }
}
