//! Time: virtual inside a simulation (it only moves when every thread is blocked), real outside.

use std::ops::{Add, AddAssign, Sub};
use std::sync::OnceLock;
use std::time::Duration;

use crate::sched::{current, or_unwind, try_current, Killed, Wait};

/// A point in time: virtual nanoseconds since the simulation started, or, outside a simulation,
/// real nanoseconds since the process first asked. Never mix the two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    nanos: u64,
}

fn real_epoch() -> std::time::Instant {
    static EPOCH: OnceLock<std::time::Instant> = OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

fn to_nanos(d: Duration) -> u64 {
    d.as_nanos().min(u64::MAX as u128) as u64
}

impl Instant {
    pub fn now() -> Instant {
        match try_current() {
            Some(rt) => Instant { nanos: rt.now_ns() },
            None => Instant { nanos: to_nanos(real_epoch().elapsed()) },
        }
    }

    /// Time since the start of the simulation (or of the process's clock, outside one).
    pub fn since_start(&self) -> Duration {
        Duration::from_nanos(self.nanos)
    }

    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
    }

    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.nanos.checked_sub(earlier.nanos).map(Duration::from_nanos)
    }

    /// Same as `saturating_duration_since` (std's `Instant` also saturates).
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }

    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        self.nanos.checked_add(to_nanos(d)).map(|nanos| Instant { nanos })
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant { nanos: self.nanos.saturating_add(to_nanos(d)) }
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant { nanos: self.nanos.saturating_sub(to_nanos(d)) }
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

/// The current time.
pub fn now() -> Instant {
    Instant::now()
}

/// Blocks the calling thread for `d` (virtual time inside a simulation). A zero sleep lets every
/// other runnable thread go first.
pub fn sleep(d: Duration) {
    or_unwind(sleep_or_killed(d))
}

/// `sleep`, except that a kill while asleep is returned, not unwound (see
/// `Runtime::park_or_killed`): the caller lets go of what it holds by returning.
pub(crate) fn sleep_or_killed(d: Duration) -> Result<(), Killed> {
    match try_current() {
        Some(rt) => {
            let deadline = rt.now_ns().saturating_add(to_nanos(d));
            rt.park_or_killed(Wait::Sleep, Some(deadline)).map(drop)
        }
        None => {
            std::thread::sleep(d);
            Ok(())
        }
    }
}

/// Blocks until `deadline`.
pub fn sleep_until(deadline: Instant) {
    sleep(deadline.saturating_duration_since(Instant::now()));
}

/// Virtual nanoseconds for a deadline `timeout` from now (for blocking calls with timeouts).
pub(crate) fn deadline_after(timeout: Duration) -> u64 {
    current("a timed wait").now_ns().saturating_add(to_nanos(timeout))
}
