//! Fixed-size bitset of linearized operations with an incrementally maintained hash.

/// Set of operation indices `0..len`, plus a hash that is the XOR of a per-index random value
/// for each member, so adding or removing one member updates it in O(1).
#[derive(Clone, Debug)]
pub(crate) struct Bitset {
    words: Box<[u64]>,
    hash: u64,
}

impl Bitset {
    pub(crate) fn new(len: usize) -> Self {
        Self { words: vec![0; len.div_ceil(64)].into_boxed_slice(), hash: 0 }
    }

    pub(crate) fn contains(&self, index: usize) -> bool {
        self.words[index / 64] & (1 << (index % 64)) != 0
    }

    pub(crate) fn insert(&mut self, index: usize) {
        debug_assert!(!self.contains(index), "bit {index} already set");
        self.words[index / 64] |= 1 << (index % 64);
        self.hash ^= member_hash(index);
    }

    pub(crate) fn remove(&mut self, index: usize) {
        debug_assert!(self.contains(index), "bit {index} not set");
        self.words[index / 64] &= !(1 << (index % 64));
        self.hash ^= member_hash(index);
    }

    pub(crate) fn hash(&self) -> u64 {
        self.hash
    }

    pub(crate) fn words(&self) -> &[u64] {
        &self.words
    }
}

/// SplitMix64 finaliser: a well-mixed 64-bit value per index.
pub(crate) fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn member_hash(index: usize) -> u64 {
    mix64((index as u64).wrapping_add(0x9e37_79b9_7f4a_7c15))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_only_on_members() {
        let mut a = Bitset::new(130);
        let mut b = Bitset::new(130);
        a.insert(3);
        a.insert(129);
        b.insert(129);
        b.insert(64);
        b.insert(3);
        b.remove(64);
        assert_eq!(a.hash(), b.hash());
        assert_eq!(a.words(), b.words());
        assert!(a.contains(129) && !a.contains(64));
    }
}
