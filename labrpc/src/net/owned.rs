//! The network's state: in a [`SimCell`] when the network is made inside a simulation, behind a
//! mutex otherwise.
//!
//! A simulation runs every one of its threads as a coroutine on the OS thread that called
//! `sim::run`, so while it runs a network made inside it is only touched by that OS thread. A
//! lock there cost two `lock cmpxchg` per access, each a full barrier that waits for every
//! earlier store to drain (dear on the Intel Xeon of session 14); a call took the network's lock
//! twice, plus once per 100 ms it waits. A `SimCell` is plain loads and stores on its run's
//! thread while the run lives, and a lock for any thread after it (so a network returned out of
//! a run still works); another OS thread reaching it during the run panics. A network made
//! outside a simulation (a test's, a TCP end's unused one) is the mutex it always was.

use std::ops::{Deref, DerefMut};

use crate::sched::try_current;
use crate::sim_cell::{SimCell, SimRef};

pub(crate) enum Owned<T> {
    Sim(SimCell<T>),
    Shared(parking_lot::Mutex<T>),
}

impl<T> Owned<T> {
    /// A `SimCell` inside a simulation, a mutex outside one.
    pub(crate) fn new(value: T) -> Owned<T> {
        match try_current() {
            Some(_) => Owned::Sim(SimCell::new(value)),
            None => Owned::Shared(parking_lot::Mutex::new(value)),
        }
    }

    /// The value, exclusively, until the guard drops. Never held across a switch (a `SimCell`
    /// reached again meanwhile panics, as the mutex would have deadlocked).
    #[inline]
    pub(crate) fn lock(&self) -> Guard<'_, T> {
        match self {
            Owned::Sim(cell) => Guard::Sim(cell.borrow()),
            Owned::Shared(mutex) => Guard::Shared(mutex.lock()),
        }
    }
}

pub(crate) enum Guard<'a, T> {
    Sim(SimRef<'a, T>),
    Shared(parking_lot::MutexGuard<'a, T>),
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        match self {
            Guard::Sim(r) => r,
            Guard::Shared(g) => g,
        }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        match self {
            Guard::Sim(r) => r,
            Guard::Shared(g) => g,
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
        assert!(matches!(*cell, Owned::Shared(_)));
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
    fn a_simulations_own_and_usable_after_it() {
        let cell = sim::run(1, &Config::default(), || {
            let cell = Owned::new(vec![1]);
            assert!(matches!(cell, Owned::Sim(_)));
            cell.lock().push(2);
            cell
        })
        .unwrap()
        .value;
        cell.lock().push(3);
        let other = std::thread::spawn(move || {
            cell.lock().push(4);
            cell.lock().clone()
        });
        assert_eq!(other.join().unwrap(), [1, 2, 3, 4]);
    }

    #[test]
    fn a_nested_lock_panics() {
        let failure = sim::run(1, &Config::default(), || {
            let cell = Owned::new(0);
            let _first = cell.lock();
            let _second = cell.lock();
        })
        .unwrap_err();
        assert!(failure.to_string().contains("already in use"), "{failure}");
    }
}
