//! State of a simulated network that only its simulation's OS thread touches, reached with plain
//! loads and stores instead of a lock.
//!
//! A simulation runs every one of its threads as a coroutine on the OS thread that called
//! `sim::run`, so a network made inside one is, in practice, only ever touched by that OS thread.
//! A lock there costs two `lock cmpxchg` per access, each a full barrier that waits for every
//! earlier store to drain (dear on the Intel Xeon of session 14); a call took the network's lock
//! twice, plus once per 100 ms it waits. [`Owned`] made inside a simulation belongs
//! to its OS thread: that thread reaches the value with plain loads and stores, and any other OS
//! thread that tries panics before it touches the value, so the value is never shared. Made
//! outside a simulation it is an ordinary mutex, as the whole network was.

use std::cell::{Cell, UnsafeCell};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::lock_api::RawMutex as _;

use crate::sched::try_current;

/// `owner` of a value shared between OS threads (behind the mutex).
const SHARED: u64 = 0;

thread_local! {
    /// This OS thread's token: drawn once, never given to another thread (0: not drawn yet).
    static TOKEN: Cell<u64> = const { Cell::new(0) };
}

/// The calling OS thread's token, unique over the process's life (a thread-local's address would
/// be reused by a later thread).
#[inline]
fn thread_token() -> u64 {
    let token = TOKEN.with(Cell::get);
    if token != 0 {
        return token;
    }
    draw_token()
}

#[cold]
#[inline(never)]
fn draw_token() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let token = NEXT.fetch_add(1, Ordering::Relaxed);
    assert_ne!(token, SHARED, "labrpc: thread tokens ran out");
    TOKEN.with(|t| t.set(token));
    token
}

/// A value behind a mutex, or, when made inside a simulation, owned by that simulation's OS
/// thread (see the module's comment).
pub(crate) struct Owned<T> {
    /// The owning OS thread's token, or `SHARED`.
    owner: u64,
    /// Owned: whether a guard is out (a second one would alias it). Only the owner reads and
    /// writes it, with plain loads and stores (relaxed atomics compile to those).
    busy: AtomicBool,
    /// Shared: the mutex.
    raw: parking_lot::RawMutex,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, and guards are exclusive: shared, by the
// mutex; owned, by `busy`, which only the owning OS thread reads or writes (every other thread
// panics in `lock` before touching it or the value). `T: Send` since the value may be dropped by
// another thread than the one that used it.
unsafe impl<T: Send> Sync for Owned<T> {}
unsafe impl<T: Send> Send for Owned<T> {}

impl<T> Owned<T> {
    /// Owned by the calling OS thread inside a simulation, shared behind a mutex outside one.
    pub(crate) fn new(value: T) -> Owned<T> {
        let owner = if try_current().is_some() { thread_token() } else { SHARED };
        Owned { owner, busy: AtomicBool::new(false), raw: parking_lot::RawMutex::INIT, value: UnsafeCell::new(value) }
    }

    /// The value, exclusively, until the guard drops. Owned: panics on another OS thread than
    /// the owner, or while another guard is out (the mutex would deadlock there).
    #[inline]
    pub(crate) fn lock(&self) -> Guard<'_, T> {
        if self.owner == SHARED {
            self.raw.lock();
        } else {
            if thread_token() != self.owner {
                foreign_thread();
            }
            if self.busy.load(Ordering::Relaxed) {
                reentered();
            }
            self.busy.store(true, Ordering::Relaxed);
        }
        Guard { cell: self }
    }
}

#[cold]
#[inline(never)]
fn foreign_thread() -> ! {
    panic!("labrpc: a network made inside a simulation was used by another OS thread than the simulation's");
}

#[cold]
#[inline(never)]
fn reentered() -> ! {
    panic!("labrpc: the network's state was reached while already held (a nested lock)");
}

pub(crate) struct Guard<'a, T> {
    cell: &'a Owned<T>,
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard is the one way to the value while it lives (see `Owned`'s Sync).
        unsafe { &*self.cell.value.get() }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this borrow the guard's only one.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if self.cell.owner == SHARED {
            // SAFETY: this guard's `lock` took the mutex.
            unsafe { self.cell.raw.unlock() };
        } else {
            self.cell.busy.store(false, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{self, Config};

    #[test]
    fn shared_outside_a_simulation() {
        let cell = std::sync::Arc::new(Owned::new(0u64));
        assert_eq!(cell.owner, SHARED);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let cell = cell.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        *cell.lock() += 1;
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(*cell.lock(), 4000);
    }

    #[test]
    fn owned_inside_a_simulation_and_after_it() {
        let cell = sim::run(1, &Config::default(), || {
            let cell = Owned::new(vec![1]);
            cell.lock().push(2);
            cell
        })
        .unwrap()
        .value;
        assert_ne!(cell.owner, SHARED);
        // The same OS thread, after the run: still the owner.
        cell.lock().push(3);
        assert_eq!(*cell.lock(), [1, 2, 3]);
        let foreign = std::thread::spawn(move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cell.lock().len())).is_err()
        });
        assert!(foreign.join().unwrap(), "another OS thread must not reach an owned value");
    }

    #[test]
    fn a_nested_lock_panics() {
        let failure = sim::run(1, &Config::default(), || {
            let cell = Owned::new(0);
            let _first = cell.lock();
            let _second = cell.lock();
        })
        .unwrap_err();
        assert!(failure.to_string().contains("already held"), "{failure}");
    }
}
