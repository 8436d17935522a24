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

/// Idle stacks with their size in bytes.
type Idle = Vec<(usize, CarvedStack)>;

/// This OS thread's idle stacks; on the thread's end they go to [`SHARED`].
struct LocalPool(Idle);

impl Drop for LocalPool {
    fn drop(&mut self) {
        give_to_shared(std::mem::take(&mut self.0));
    }
}

thread_local! {
    static POOL: RefCell<LocalPool> = const { RefCell::new(LocalPool(Vec::new())) };
}

/// Stacks of OS threads that have ended, for any thread to take. A static: never dropped.
static SHARED: Mutex<Idle> = parking_lot::const_mutex(Vec::new());

/// Takes the most recently used idle stack of `size_bytes` from `pool` (the likeliest to be in
/// cache).
fn take_from(pool: &mut Idle, size_bytes: usize) -> Option<CarvedStack> {
    let pos = pool.iter().rposition(|(s, _)| *s == size_bytes)?;
    Some(pool.swap_remove(pos).1)
}

pub(crate) fn take(size_bytes: usize) -> CarvedStack {
    // `try_with`: during this OS thread's own teardown the local pool may be gone already.
    let reused = POOL.try_with(|p| take_from(&mut p.borrow_mut().0, size_bytes)).ok().flatten();
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
    if let Some(stack) = take_from(&mut SHARED.lock(), size_bytes) {
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
    let mut spare = Some(stack);
    // `try_with`: during this OS thread's own teardown the local pool may be gone already.
    let _ = POOL.try_with(|p| {
        let pool = &mut p.borrow_mut().0;
        if pool.len() < POOL_CAPACITY {
            pool.extend(spare.take().map(|stack| (size_bytes, stack)));
        }
    });
    if let Some(stack) = spare {
        give_to_shared(vec![(size_bytes, stack)]);
    }
}

/// Moves idle stacks to the shared pool, up to its bound; the rest are unmapped.
#[cold]
#[inline(never)]
fn give_to_shared(mut idle: Idle) {
    let mut shared = SHARED.lock();
    let room = POOL_CAPACITY.saturating_sub(shared.len());
    shared.extend(idle.drain(..idle.len().min(room)));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stack size no other test uses, so the shared pool's stacks of it are this test's.
    const SIZE: usize = 64 * 1024 + 4096 * 3;

    fn shared_count() -> usize {
        SHARED.lock().iter().filter(|(s, _)| *s == SIZE).count()
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
