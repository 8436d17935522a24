use std::collections::VecDeque;
use std::time::Duration;

use super::mutex::MutexGuard;
use crate::sched::{current, or_unwind, try_current, Killed, Ticket, Wait, Wake};
use crate::sim_cell::SimCell;
use crate::time::deadline_after;

/// Whether a timed wait returned because its time ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

struct SimCondvar {
    id: u64,
    waiters: SimCell<VecDeque<Ticket>>,
}

enum CondvarImpl {
    Real(parking_lot::Condvar),
    Sim(SimCondvar),
}

/// A condition variable, used with this crate's `Mutex`. Waits take the guard by `&mut`
/// (parking_lot style) and may wake spuriously; re-check the condition in a loop or use
/// `wait_while`.
pub struct Condvar {
    imp: CondvarImpl,
}

impl Default for Condvar {
    fn default() -> Condvar {
        Condvar::new()
    }
}

impl Condvar {
    pub fn new() -> Condvar {
        let imp = match try_current() {
            Some(rt) => {
                CondvarImpl::Sim(SimCondvar { id: rt.next_object_id(), waiters: SimCell::new(VecDeque::new()) })
            }
            None => CondvarImpl::Real(parking_lot::Condvar::new()),
        };
        Condvar { imp }
    }

    pub fn wait<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>) {
        or_unwind(self.wait_inner(guard, None));
    }

    pub fn wait_timeout<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>, timeout: Duration) -> WaitTimeoutResult {
        or_unwind(self.wait_inner(guard, Some(timeout)))
    }

    /// Waits while `condition` holds.
    pub fn wait_while<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>, mut condition: impl FnMut(&mut T) -> bool) {
        while condition(&mut **guard) {
            self.wait(guard);
        }
    }

    /// Waits while `condition` holds, at most `timeout`; the result says whether time ran out.
    pub fn wait_timeout_while<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Duration,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> WaitTimeoutResult {
        let deadline = crate::time::now() + timeout;
        loop {
            if !condition(&mut **guard) {
                return WaitTimeoutResult(false);
            }
            let left = deadline.saturating_duration_since(crate::time::now());
            if left.is_zero() {
                return WaitTimeoutResult(true);
            }
            self.wait_timeout(guard, left);
        }
    }

    /// A kill while waiting is returned, not unwound: the public waits, inlined into the caller,
    /// unwind from there, so a killed waiter's unwind passes neither this frame nor the park's.
    fn wait_inner<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Option<Duration>,
    ) -> Result<WaitTimeoutResult, Killed> {
        match &self.imp {
            CondvarImpl::Real(cv) => {
                let real = guard
                    .real
                    .as_mut()
                    .expect("labrpc: a Condvar created outside a simulation was used with a simulated Mutex");
                match timeout {
                    None => {
                        cv.wait(real);
                        Ok(WaitTimeoutResult(false))
                    }
                    Some(t) => Ok(WaitTimeoutResult(cv.wait_for(real, t).timed_out())),
                }
            }
            CondvarImpl::Sim(cv) => {
                let lock = guard
                    .mutex
                    .sim_lock()
                    .expect("labrpc: a Condvar created inside a simulation was used with a Mutex created outside it");
                let rt = current("Condvar::wait");
                let deadline = timeout.map(deadline_after);
                cv.waiters.borrow().push_back(rt.park_ticket());
                guard.sim_held = false;
                lock.release();
                // A notify_one that chose this thread must not die with it.
                let wake = rt.park_passing_on_or_killed(Wait::Condvar { id: cv.id }, deadline, &|| {
                    self.notify_one();
                })?;
                let timed_out = wake == Wake::TimedOut;
                if timed_out {
                    let me = rt.current_task();
                    cv.waiters.borrow().retain(|t| Some(t.task) != me);
                }
                // Nor may it die with a notified waiter killed while it queues for the mutex
                // (the notifier usually still holds it). `then`, not `then_some`: a guard built
                // for another wake would drop at once and notify.
                let pass_on = (wake == Wake::Notified).then(|| PassOnIfUnwound(self));
                lock.acquire();
                std::mem::forget(pass_on);
                guard.sim_held = true;
                Ok(WaitTimeoutResult(timed_out))
            }
        }
    }

    /// Wakes one waiter; returns whether there was one.
    pub fn notify_one(&self) -> bool {
        match &self.imp {
            CondvarImpl::Real(cv) => cv.notify_one(),
            CondvarImpl::Sim(cv) => {
                let mut waiters = cv.waiters.borrow();
                if waiters.is_empty() {
                    return false;
                }
                let Some(rt) = try_current() else {
                    // After the run: the places are those of threads killed at its end.
                    waiters.clear();
                    return false;
                };
                while let Some(ticket) = waiters.pop_front() {
                    if rt.unpark(ticket) {
                        return true;
                    }
                }
                false
            }
        }
    }

    /// Wakes every waiter; returns how many there were.
    pub fn notify_all(&self) -> usize {
        match &self.imp {
            CondvarImpl::Real(cv) => cv.notify_all(),
            CondvarImpl::Sim(cv) => {
                let mut waiters = cv.waiters.borrow();
                if waiters.is_empty() {
                    return 0;
                }
                let Some(rt) = try_current() else {
                    // After the run: the places are those of threads killed at its end.
                    waiters.clear();
                    return 0;
                };
                // Woken in queue order straight from the queue, not from a copy of it: a wake-up
                // only marks a thread runnable, and nothing else runs (or touches this queue)
                // before the caller blocks.
                waiters.drain(..).filter(|&t| rt.unpark(t)).count()
            }
        }
    }
}

/// Armed while a notified waiter re-takes the mutex: a kill there unwinds through it, and the
/// notification goes to another waiter.
struct PassOnIfUnwound<'a>(&'a Condvar);

impl Drop for PassOnIfUnwound<'_> {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}
