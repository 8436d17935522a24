//! Lab 2's lock (6.5840's `lock`): built by a client out of the key/value service's get and
//! conditional put, with no help from the server.
//!
//! The lock is one key. Its value is [`FREE`] (or the key is absent) while nobody holds it, and
//! the holder's identity while someone does. Acquiring is a conditional put of my identity at the
//! version I read the key free at: of all clients that read the same free version, exactly one
//! put applies. Releasing is a conditional put of [`FREE`] at the version my acquire left.
//!
//! The subtle answer is `ErrMaybe` (6.5840 gives it when a retried put's first reply was lost:
//! the first try may have applied, and the retry then found the version moved). For acquire it
//! means "either you hold the lock, or another client took it first": reading the key again
//! tells which, because the value names the holder. For release it means the put applied: nobody
//! else writes the key of a held lock, so the put cannot have met another version.

use std::time::Duration;

use labrpc::{rand, time};

use super::{CPutError, KvClient};

/// The value of a free lock's key (an absent key is free too).
pub const FREE: &str = "";

/// How long acquire waits before looking again at a lock another client holds.
const RETRY_MS: u64 = 10;

/// A lock on one key, reached through the clerk `C`.
pub struct Lock<C> {
    clerk: C,
    key: String,
    /// This lock's identity: the key's value while it holds the lock.
    me: String,
    /// While this lock holds the key: the key's version, which release must name.
    held: Option<u64>,
}

impl<C: KvClient> Lock<C> {
    /// A lock on `key`, not held, with a fresh random identity.
    pub fn new(clerk: C, key: &str) -> Lock<C> {
        Lock { clerk, key: key.to_string(), me: format!("holder-{:016x}", rand::next_u64()), held: None }
    }

    /// Returns once this lock holds the key.
    pub fn acquire(&mut self) {
        assert!(self.held.is_none(), "lock {:?}: acquire while holding it already", self.key);
        loop {
            let (value, version) = self.clerk.get(&self.key);
            match value.as_deref() {
                // An earlier put of ours that answered ErrMaybe did apply.
                Some(holder) if holder == self.me => {
                    self.held = Some(version);
                    return;
                }
                None | Some(FREE) => match self.clerk.cput(&self.key, &self.me, version) {
                    Ok(()) => {
                        self.held = Some(version + 1);
                        return;
                    }
                    // Another client's put applied first: look again.
                    Err(CPutError::Version) => continue,
                    // Ours, or another client's first: the value says which.
                    Err(CPutError::Maybe) => continue,
                },
                Some(_) => {}
            }
            time::sleep(Duration::from_millis(RETRY_MS));
        }
    }

    /// Frees the key; call only while holding it.
    pub fn release(&mut self) {
        let version = self.held.take().unwrap_or_else(|| panic!("lock {:?}: release without holding it", self.key));
        match self.clerk.cput(&self.key, FREE, version) {
            // ErrMaybe: applied (see the module's doc).
            Ok(()) | Err(CPutError::Maybe) => {}
            Err(CPutError::Version) => {
                panic!("lock {:?}: the key changed while this lock held it (version {version})", self.key)
            }
        }
    }
}
