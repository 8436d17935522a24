//! Mutex and Condvar. Inside a simulation a contended `lock()` or a `wait()` suspends the
//! simulated thread (never the OS thread) and lock hand-over is FIFO; outside, they are
//! parking_lot's. There is no poisoning: a panic in a simulated thread fails the whole run.

mod condvar;
pub(crate) mod mutex;

pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
