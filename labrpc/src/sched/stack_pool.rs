//! Coroutine stacks are mmap'd regions (made many at a time, `stack_chunk`); making one per
//! simulated thread would dominate the cost of short-lived threads such as RPC handlers, so
//! finished stacks are kept for reuse. Stack contents never influence a run, so reuse is invisible.
//!
//! Two tiers: each OS thread keeps its idle stacks in a thread-local pool (no lock on the spawn
//! path), and when the OS thread ends it hands them to one process-wide pool, where the next
//! OS thread that runs out takes them (cargo's test threads reuse each other's stacks). The
//! process-wide pool is never dropped: a process ends without unmapping its stacks one by one
//! (419 `munmap` calls at the end of `suite_bench raft`, 2.4% of its CPU), and the kernel frees
//! them with the rest of the address space.

use std::cell::RefCell;

use parking_lot::Mutex;

use super::stack_chunk::{self, CarvedStack, STACKS_PER_CHUNK};

/// At most this many idle stacks are kept per OS thread, and as many again process-wide. Runs
/// with many concurrent threads (calls waiting out long delays) need hundreds; a smaller pool
/// turned into mmap/munmap churn. Only the pages a stack touched are resident (two pages for
/// nearly every stack of the Raft family).
const POOL_CAPACITY: usize = 2048;

/// Idle stacks and, at the same index, their sizes in bytes. Two vectors, not one of pairs: a
/// stack handed back was written into a pair on the stack as three words and read back from it
/// as two 16-byte halves, the second across two of those writes, which stalled on store
/// forwarding (perf: two thirds of `give_back`'s samples, about 0.5% of a kvraft run).
struct Idle {
    sizes: Vec<usize>,
    stacks: Vec<CarvedStack>,
}

impl Idle {
    const fn new() -> Idle {
        Idle { sizes: Vec::new(), stacks: Vec::new() }
    }

    fn len(&self) -> usize {
        self.stacks.len()
    }

    #[inline(always)]
    fn push(&mut self, size_bytes: usize, stack: CarvedStack) {
        self.sizes.push(size_bytes);
        self.stacks.push(stack);
    }

    /// Takes the most recently used idle stack of `size_bytes` (the likeliest to be in cache).
    #[inline(always)]
    fn take(&mut self, size_bytes: usize) -> Option<CarvedStack> {
        let pos = self.sizes.iter().rposition(|s| *s == size_bytes)?;
        self.sizes.swap_remove(pos);
        Some(self.stacks.swap_remove(pos))
    }
}

/// This OS thread's idle stacks; on the thread's end they go to [`SHARED`].
struct LocalPool(Idle);

impl Drop for LocalPool {
    fn drop(&mut self) {
        give_to_shared(std::mem::replace(&mut self.0, Idle::new()));
    }
}

thread_local! {
    static POOL: RefCell<LocalPool> = const { RefCell::new(LocalPool(Idle::new())) };
}

/// Stacks of OS threads that have ended, for any thread to take. A static: never dropped.
static SHARED: Mutex<Idle> = parking_lot::const_mutex(Idle::new());

pub(crate) fn take(size_bytes: usize) -> CarvedStack {
    // `try_with`: during this OS thread's own teardown the local pool may be gone already.
    let reused = POOL.try_with(|p| p.borrow_mut().0.take(size_bytes)).ok().flatten();
    match reused {
        Some(stack) => stack,
        None => take_shared_or_new(size_bytes),
    }
}

/// A stack the local pool did not have (the first threads of an OS thread): from the shared pool
/// if it has one, else a new chunk of stacks, whose others go to the local pool. Out of line, so
/// taking a pooled one, as nearly every spawn does, saves no registers for this path.
#[cold]
#[inline(never)]
fn take_shared_or_new(size_bytes: usize) -> CarvedStack {
    if let Some(stack) = SHARED.lock().take(size_bytes) {
        return stack;
    }
    let mut chunk = stack_chunk::carve(size_bytes, STACKS_PER_CHUNK).unwrap_or_else(|e| {
        panic!("labrpc: cannot allocate {STACKS_PER_CHUNK} coroutine stacks of {size_bytes} bytes: {e}")
    });
    let stack = chunk.pop().expect("a chunk has stacks");
    for spare in chunk {
        give_back(size_bytes, spare);
    }
    stack
}

pub(crate) fn give_back(size_bytes: usize, stack: CarvedStack) {
    // `try_with`: during this OS thread's own teardown the local pool may be gone already.
    let room = POOL.try_with(|p| p.borrow().0.len() < POOL_CAPACITY).unwrap_or(false);
    if room {
        POOL.with_borrow_mut(|p| p.0.push(size_bytes, stack));
    } else {
        give_one_to_shared(size_bytes, stack);
    }
}

#[cold]
#[inline(never)]
fn give_one_to_shared(size_bytes: usize, stack: CarvedStack) {
    let mut idle = Idle::new();
    idle.push(size_bytes, stack);
    give_to_shared(idle);
}

/// Moves idle stacks to the shared pool, up to its bound; the rest are unmapped.
#[cold]
#[inline(never)]
fn give_to_shared(idle: Idle) {
    let mut shared = SHARED.lock();
    let room = POOL_CAPACITY.saturating_sub(shared.len());
    let moved = idle.len().min(room);
    let Idle { mut sizes, mut stacks } = idle;
    shared.sizes.extend(sizes.drain(..moved));
    shared.stacks.extend(stacks.drain(..moved));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stack size no other test uses, so the shared pool's stacks of it are this test's.
    const SIZE: usize = 64 * 1024 + 4096 * 3;

    fn shared_count() -> usize {
        SHARED.lock().sizes.iter().filter(|s| **s == SIZE).count()
    }

    #[test]
    fn an_ended_threads_stacks_go_to_the_next_thread() {
        let bases = std::thread::spawn(|| {
            let stacks: Vec<CarvedStack> = (0..3).map(|_| take(SIZE)).collect();
            let bases: Vec<usize> = stacks.iter().map(|s| corosensei::stack::Stack::base(s).get()).collect();
            for stack in stacks {
                give_back(SIZE, stack);
            }
            bases
        })
        .join()
        .unwrap();
        assert_eq!(
            shared_count(),
            STACKS_PER_CHUNK,
            "the ended thread handed its idle stacks (and its chunk's spares) over"
        );
        let reused = std::thread::spawn(|| {
            let stack = take(SIZE);
            let base = corosensei::stack::Stack::base(&stack).get();
            give_back(SIZE, stack);
            base
        })
        .join()
        .unwrap();
        assert!(bases.contains(&reused), "a new thread takes a shared stack before mapping one");
        assert_eq!(shared_count(), STACKS_PER_CHUNK, "and hands it back when it ends");
    }
}
