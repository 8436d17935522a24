//! State of a simulated object (a mutex's holder and queue, a condvar's waiters, a channel's
//! queue), reached without atomic instructions while its simulation runs.
//!
//! A simulation runs all its simulated threads as coroutines on one OS thread, so while it runs
//! nothing else may touch its objects' state: a plain borrow flag is all the exclusion the owning
//! thread needs (a locked instruction per lock and unlock was about a sixth of a run's CPU on an
//! Intel Xeon). Each cell records the run that made it. On that run's OS thread, while it runs,
//! access is plain. From any other OS thread, or after the run, the access first checks that
//! the run has ended (a run's end is published under a global lock) and then takes the cell's
//! own real lock: objects returned out of a run keep working, from any thread, one at a time.
//! Another OS thread touching a running simulation's object is refused with a panic.

use std::cell::{Cell, UnsafeCell};
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::lock_api::RawMutex as _;

thread_local! {
    /// The serial of the run this OS thread is driving; 0 outside any run.
    static RUN: Cell<u64> = const { Cell::new(0) };
}

/// Serials of the runs that are running now, on any OS thread (a handful: one per sweep worker).
static LIVE_RUNS: parking_lot::Mutex<Vec<u64>> = parking_lot::const_mutex(Vec::new());

/// Marks this OS thread as driving a new run until dropped. Made right after the runtime is
/// entered and dropped before it is left, so every simulated thread sees its run's serial.
pub(crate) struct RunScope {
    serial: u64,
}

impl RunScope {
    pub(crate) fn begin() -> RunScope {
        static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);
        debug_assert_eq!(RUN.with(Cell::get), 0, "sim_cell: a run began inside a run");
        let serial = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed);
        LIVE_RUNS.lock().push(serial);
        RUN.with(|r| r.set(serial));
        RunScope { serial }
    }
}

impl Drop for RunScope {
    fn drop(&mut self) {
        // From here on this thread takes the slow path too; the global lock's release makes the
        // run's plain writes visible to whichever thread next finds the run ended.
        RUN.with(|r| r.set(0));
        LIVE_RUNS.lock().retain(|&s| s != self.serial);
    }
}

/// A `T` owned by the run that created the cell (see the module's comment).
pub(crate) struct SimCell<T> {
    /// The serial of the run that made the cell.
    run: u64,
    /// A `SimRef` exists. Read and written only by the run's OS thread while it runs, and under
    /// `after` once it has ended.
    borrowed: Cell<bool>,
    /// Taken for every access once the run has ended.
    after: parking_lot::RawMutex,
    value: UnsafeCell<T>,
}

// SAFETY: `borrowed` and `value` are only reached through `borrow`, which hands them out on the
// run's own OS thread while the run is live (no other thread can be in them then: every other
// thread finds the run live and panics before touching them), or under `after` once the run has
// ended (no thread takes the plain path any more; `LIVE_RUNS`'s lock orders the run's last
// plain access before the first locked one). `T: Send` because the value moves between threads
// in the second case.
unsafe impl<T: Send> Sync for SimCell<T> {}

impl<T> SimCell<T> {
    /// A cell of the running simulation; panics outside one.
    pub(crate) fn new(value: T) -> SimCell<T> {
        let run = RUN.with(Cell::get);
        assert_ne!(run, 0, "labrpc: a simulated object was made outside its simulation");
        SimCell { run, borrowed: Cell::new(false), after: parking_lot::RawMutex::INIT, value: UnsafeCell::new(value) }
    }

    /// Exclusive access to the value until the `SimRef` drops. Never hold one across a park or
    /// a switch: another simulated thread reaching this cell meanwhile would panic.
    #[inline(always)]
    pub(crate) fn borrow(&self) -> SimRef<'_, T> {
        if RUN.with(Cell::get) != self.run {
            return self.borrow_after_the_run();
        }
        if self.borrowed.replace(true) {
            reentered::<T>();
        }
        SimRef { cell: self, locked: false, _not_send: PhantomData }
    }

    /// `borrow` from another OS thread or after the run: allowed once the run has ended.
    #[cold]
    #[inline(never)]
    fn borrow_after_the_run(&self) -> SimRef<'_, T> {
        if LIVE_RUNS.lock().contains(&self.run) {
            panic!(
                "labrpc: an object of a running simulation ({}) was used from an OS thread other than the one \
                 running it; simulated mutexes, condvars and channels belong to their simulation until it ends",
                std::any::type_name::<T>()
            );
        }
        self.after.lock();
        if self.borrowed.replace(true) {
            // SAFETY: locked just above by this thread.
            unsafe { self.after.unlock() };
            reentered::<T>();
        }
        SimRef { cell: self, locked: true, _not_send: PhantomData }
    }
}

#[cold]
#[inline(never)]
fn reentered<T>() -> ! {
    panic!("labrpc: the state of a simulated object ({}) was reached while already in use", std::any::type_name::<T>())
}

/// Exclusive access to a `SimCell`'s value.
pub(crate) struct SimRef<'a, T> {
    cell: &'a SimCell<T>,
    /// Holds `cell.after` (the run has ended).
    locked: bool,
    /// Not `Send`: released on the thread that took it, as a lock guard.
    _not_send: PhantomData<*const ()>,
}

impl<T> Deref for SimRef<'_, T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: this `SimRef` is the only one (`borrowed`), on a thread allowed in (`borrow`).
        unsafe { &*self.cell.value.get() }
    }
}

impl<T> DerefMut for SimRef<'_, T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as `deref`, and borrowed mutably.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T> Drop for SimRef<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        self.cell.borrowed.set(false);
        if self.locked {
            // SAFETY: `borrow_after_the_run` took it for this `SimRef`.
            unsafe { self.cell.after.unlock() };
        }
    }
}
