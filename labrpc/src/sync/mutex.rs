use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::sched::{current, try_current, Runtime, TaskId, Ticket, Wait};
use crate::sim_cell::{SimCell, SimRef};

pub(crate) struct SimLock {
    id: u64,
    state: SimCell<LockState>,
}

struct LockState {
    /// The holder; `None` also when taken outside any simulated thread (e.g. by the test after
    /// the run), which `outside` marks.
    holder: Option<TaskId>,
    outside: bool,
    waiters: VecDeque<Ticket>,
}

impl SimLock {
    /// The mutex's number, for deadlock reports.
    pub(crate) fn lock_id(&self) -> u64 {
        self.id
    }

    /// The thread holding the mutex, for deadlock reports.
    pub(crate) fn holder(&self) -> Option<TaskId> {
        self.state.borrow().holder
    }

    fn is_free(st: &LockState) -> bool {
        st.holder.is_none() && !st.outside
    }

    /// Takes the lock. The common case (a simulated thread, no preemption draws configured, the
    /// lock free) is inlined and makes no call; everything else is `acquire_slow`, which starts
    /// over (the fast attempt changes nothing when it fails), so the fast path saves no
    /// registers for the waiting paths.
    #[track_caller]
    #[inline]
    pub(crate) fn acquire(&self) {
        if !self.acquire_fast() {
            self.acquire_slow();
        }
    }

    /// `acquire` when it needs neither a preemption draw nor a wait; false (with nothing
    /// changed) otherwise.
    #[inline(always)]
    fn acquire_fast(&self) -> bool {
        let Some(rt) = try_current() else { return false };
        let Some(me) = rt.current_task() else { return false };
        if rt.preempts() {
            return false;
        }
        let mut st = self.state.borrow();
        if !Self::is_free(&st) {
            return false;
        }
        st.holder = Some(me);
        true
    }

    /// `acquire`'s general path: the preemption point, then the lock or its wait.
    #[inline(never)]
    #[track_caller]
    fn acquire_slow(&self) {
        let Some(rt) = try_current().filter(|rt| rt.current_task().is_some()) else {
            return self.acquire_outside();
        };
        rt.maybe_preempt();
        let me = rt.current_task().unwrap();
        let mut st = self.state.borrow();
        if Self::is_free(&st) {
            st.holder = Some(me);
            return;
        }
        self.acquire_contended(rt, me, st);
    }

    /// `acquire` outside any simulated thread (e.g. by the test after the run).
    #[cold]
    #[inline(never)]
    fn acquire_outside(&self) {
        let mut st = self.state.borrow();
        assert!(
            Self::is_free(&st),
            "labrpc: mutex #{} is held inside a simulation and cannot be taken from outside it",
            self.id
        );
        st.outside = true;
    }

    /// `acquire` when the lock is held: queue (`st` is the bookkeeping, still locked) and park
    /// until the holder hands the lock over.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn acquire_contended(&self, rt: &Runtime, me: TaskId, mut st: SimRef<'_, LockState>) {
        if st.holder == Some(me) {
            drop(st);
            panic!("labrpc: {} locks mutex #{} which it already holds (self-deadlock)", rt.describe_task(me), self.id);
        }
        st.waiters.push_back(rt.park_ticket());
        drop(st);
        // If this thread is killed (its node crashes) while queued, or after the lock was handed
        // to it but before it ran, the unwind passes through here: give the lock on.
        let abandon = AbandonOnUnwind { lock: self, me };
        loop {
            rt.park(Wait::Mutex(self), None);
            // Hand-over: the releasing thread made us the holder before waking us.
            if self.state.borrow().holder == Some(me) {
                std::mem::forget(abandon);
                return;
            }
            // Woken without the lock (cannot happen with hand-over; be safe): queue again.
            self.state.borrow().waiters.push_back(rt.park_ticket());
        }
    }

    /// A queued thread unwinds out of `acquire` (killed): drop its place in the queue, and if
    /// the lock was already handed to it, release it to the next waiter.
    fn abandon(&self, me: TaskId) {
        let handed_over = {
            let mut st = self.state.borrow();
            st.waiters.retain(|t| t.task != me);
            st.holder == Some(me)
        };
        if handed_over {
            self.release();
        }
    }

    pub(crate) fn try_acquire(&self) -> bool {
        let mut st = self.state.borrow();
        if !Self::is_free(&st) {
            return false;
        }
        match try_current().and_then(|rt| rt.current_task()) {
            Some(me) => st.holder = Some(me),
            None => st.outside = true,
        }
        true
    }

    pub(crate) fn release(&self) {
        let mut st = self.state.borrow();
        let me = try_current().and_then(|rt| rt.current_task());
        assert!(
            st.holder == me || (me.is_none() && st.outside),
            "labrpc: mutex #{} released by a thread that does not hold it",
            self.id
        );
        st.outside = false;
        st.holder = None;
        if !st.waiters.is_empty() {
            Self::hand_over(st);
        }
    }

    /// `release` with threads queued: hand the lock to the first waiter whose park is still
    /// current (skipping waiters that were killed meanwhile). Out of line, as `acquire`'s wait.
    #[cold]
    #[inline(never)]
    fn hand_over(mut st: SimRef<'_, LockState>) {
        let rt = current("releasing a contended mutex");
        while let Some(ticket) = st.waiters.pop_front() {
            st.holder = Some(ticket.task);
            if rt.unpark(ticket) {
                return;
            }
        }
        st.holder = None;
    }
}

/// Armed while a thread waits in `acquire`; see `SimLock::abandon`.
struct AbandonOnUnwind<'a> {
    lock: &'a SimLock,
    me: TaskId,
}

impl Drop for AbandonOnUnwind<'_> {
    fn drop(&mut self) {
        self.lock.abandon(self.me);
    }
}

enum LockImpl {
    Real(parking_lot::Mutex<()>),
    Sim(SimLock),
}

/// A mutual-exclusion lock protecting a `T`.
pub struct Mutex<T: ?Sized> {
    imp: LockImpl,
    data: UnsafeCell<T>,
}

// SAFETY: access to `data` is serialised by the lock in both worlds.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// Created inside a simulation, the mutex is simulated; outside, it is a parking_lot mutex.
    pub fn new(value: T) -> Mutex<T> {
        let imp = match try_current() {
            Some(rt) => LockImpl::Sim(SimLock {
                id: rt.next_object_id(),
                state: SimCell::new(LockState { holder: None, outside: false, waiters: VecDeque::new() }),
            }),
            None => LockImpl::Real(parking_lot::Mutex::new(())),
        };
        Mutex { imp, data: UnsafeCell::new(value) }
    }

    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        match &self.imp {
            LockImpl::Sim(lock) => {
                lock.acquire();
                MutexGuard { mutex: self, real: None, sim_held: true }
            }
            LockImpl::Real(m) => {
                if try_current().is_some() {
                    // A real mutex inside a simulation would block the one OS thread that runs
                    // every simulated thread if it were ever contended.
                    let guard = m.try_lock().unwrap_or_else(|| {
                        panic!("labrpc: a Mutex created outside the simulation is contended inside it; create it inside sim::run")
                    });
                    return MutexGuard { mutex: self, real: Some(guard), sim_held: false };
                }
                MutexGuard { mutex: self, real: Some(m.lock()), sim_held: false }
            }
        }
    }

    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        match &self.imp {
            // `then`, not `then_some`: a guard built for a failed attempt would release the
            // holder's lock as it drops.
            LockImpl::Sim(lock) => lock.try_acquire().then(|| MutexGuard { mutex: self, real: None, sim_held: true }),
            LockImpl::Real(m) => m.try_lock().map(|g| MutexGuard { mutex: self, real: Some(g), sim_held: false }),
        }
    }

    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    pub(crate) fn sim_lock(&self) -> Option<&SimLock> {
        match &self.imp {
            LockImpl::Sim(lock) => Some(lock),
            LockImpl::Real(_) => None,
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Some(guard) => f.debug_struct("Mutex").field("data", &&*guard).finish(),
            None => f.write_str("Mutex { <locked> }"),
        }
    }
}

/// Holds the lock until dropped.
pub struct MutexGuard<'a, T: ?Sized> {
    pub(crate) mutex: &'a Mutex<T>,
    pub(crate) real: Option<parking_lot::MutexGuard<'a, ()>>,
    /// A simulated lock is held through this guard. False while `Condvar::wait` has released it,
    /// so a thread killed in that wait does not release a lock it no longer holds as the guard
    /// drops during its unwind.
    pub(crate) sim_held: bool,
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves the lock is held, and is borrowed mutably.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        if self.sim_held {
            if let Some(lock) = self.mutex.sim_lock() {
                lock.release();
            }
        }
        // The real guard, if any, unlocks when its field drops.
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
