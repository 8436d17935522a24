//! Coroutine stacks are mmap'd regions; creating one per simulated thread would dominate the cost
//! of short-lived threads such as RPC handlers, so finished stacks are kept for reuse by the next
//! simulation on this OS thread. Stack contents never influence a run, so reuse is invisible.

use std::cell::RefCell;

use corosensei::stack::DefaultStack;

/// At most this many idle stacks are kept per OS thread. Runs with many concurrent threads (calls
/// waiting out long delays) need hundreds; a smaller pool turned into mmap/munmap churn. Only the
/// pages a stack touched are resident.
const POOL_CAPACITY: usize = 2048;

thread_local! {
    static POOL: RefCell<Vec<(usize, DefaultStack)>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn take(size_bytes: usize) -> DefaultStack {
    let reused = POOL.with(|p| {
        let mut pool = p.borrow_mut();
        let pos = pool.iter().rposition(|(s, _)| *s == size_bytes)?;
        Some(pool.swap_remove(pos).1)
    });
    match reused {
        Some(stack) => stack,
        None => new_stack(size_bytes),
    }
}

/// A stack the pool did not have (the first threads of a process): out of line, so taking a
/// pooled one, as nearly every spawn does, saves no registers for the mmap path.
#[cold]
#[inline(never)]
fn new_stack(size_bytes: usize) -> DefaultStack {
    DefaultStack::new(size_bytes)
        .unwrap_or_else(|e| panic!("labrpc: cannot allocate a {size_bytes}-byte coroutine stack: {e}"))
}

pub(crate) fn give_back(size_bytes: usize, stack: DefaultStack) {
    POOL.with(|p| {
        let mut pool = p.borrow_mut();
        if pool.len() < POOL_CAPACITY {
            pool.push((size_bytes, stack));
        }
    });
}
