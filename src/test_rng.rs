//! A small seeded generator for the reference's randomized unit tests (xorshift64): the same
//! sequence on every run and machine, with no dependency and no simulation needed.

/// Xorshift64 over a nonzero state.
pub(crate) struct TestRng {
    state: u64,
}

impl TestRng {
    pub(crate) fn new(seed: u64) -> TestRng {
        assert_ne!(seed, 0, "xorshift needs a nonzero seed");
        TestRng { state: seed }
    }

    /// The next number below `bound` (nonzero).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state % bound
    }
}
