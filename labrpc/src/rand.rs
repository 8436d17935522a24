//! Randomness: inside a simulation every draw comes from the seed's ChaCha stream and is folded
//! into the determinism hash; outside one, from the OS-seeded thread generator.

use std::convert::Infallible;

use rand::RngExt;

use crate::sched::try_current;

/// A handle on the simulation's stream; implements `rand::Rng`, so `rand`'s helpers
/// (`random_range`, `shuffle`, ...) work on it. It holds no state of its own.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimRng;

impl rand::TryRng for SimRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(next_u64() as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

/// The generator handle.
pub fn rng() -> SimRng {
    SimRng
}

pub fn next_u64() -> u64 {
    match try_current() {
        Some(rt) => rt.draw_u64(),
        None => rand::rng().random(),
    }
}

/// Uniform in `range` (which must not be empty).
pub fn range(range: std::ops::Range<u64>) -> u64 {
    assert!(range.start < range.end, "labrpc::rand::range: empty range {range:?}");
    SimRng.random_range(range)
}

/// True with probability `per_mille`/1000.
pub fn per_mille(per_mille: u32) -> bool {
    range(0..1000) < per_mille as u64
}

/// Uniform in [0, 1).
pub fn f64() -> f64 {
    (next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

pub fn shuffle<T>(items: &mut [T]) {
    use rand::seq::SliceRandom;
    items.shuffle(&mut SimRng);
}
