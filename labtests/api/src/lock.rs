//! Lab 2's second part (as in 6.5840): a lock that clients build on the key/value service
//! alone, out of [`KvClient::get`] and [`KvClient::cput`]. The server knows nothing of locks: the
//! lock is one key whose value names its holder, and a conditional put at the version just read
//! is the atomic test-and-set.
//!
//! The subtle answer is [`CPutError::Maybe`](crate::kv::CPutError::Maybe): the put may or may not
//! have taken effect (in 6.5840, a retried put whose first reply was lost). A lock must find out
//! which by reading the key again, so the value it writes must say who holds the lock, not just
//! that someone does.

use crate::kv::KvClient;

/// A lock on the key `key` of a key/value service, reached through the clerk `C`. Each client
/// makes its own lock on the same key; at most one of them holds it at any time.
pub trait KvLock<C: KvClient>: Send + 'static {
    /// A lock on `key`, not held, that talks to the service through `clerk` (it owns it). Every
    /// lock must be told apart from the others on the same key, so it needs an identity of its
    /// own (take it from `labrpc::rand`).
    fn new(clerk: C, key: &str) -> Self;

    /// Returns once this lock holds the key. While another client holds it, waits between
    /// attempts (sleep a few milliseconds of virtual time: a loop that never sleeps never lets
    /// the holder release).
    fn acquire(&mut self);

    /// Gives the key up; called only while this lock holds it. Returns once the release took
    /// effect, so another client may acquire it.
    fn release(&mut self);
}
