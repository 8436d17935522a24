//! What the harness knows about one server of a cluster.

use labrpc::persister::Persister;
use labrpc::time::Instant;

/// One server's harness state: the running incarnation (if any), the persister the current or
/// next incarnation gets, and its place on the network.
pub struct Slot<S> {
    /// The running incarnation, None while crashed. The harness's handle is dropped on a crash so
    /// whatever the server owns (its apply channel, for one) goes once the node's threads are gone.
    pub server: Option<S>,
    /// The persister the current (or next) incarnation gets.
    pub persister: Persister,
    /// Bumped by every start, so an old incarnation's helpers never act for a newer one.
    pub incarnation: u64,
    /// On the network (Go's `connected[i]`).
    pub connected: bool,
    /// Partition group; server-to-server ends are enabled only within a group.
    pub group: usize,
    /// While paused the server's threads do not run: checks leave it alone until then, since
    /// calling into it could block the test on a lock a paused thread holds.
    pub paused_until: Option<Instant>,
}

impl<S> Slot<S> {
    /// A server not started yet: empty persister, disconnected.
    pub fn new() -> Slot<S> {
        Slot {
            server: None,
            persister: Persister::new(),
            incarnation: 0,
            connected: false,
            group: 0,
            paused_until: None,
        }
    }

    pub fn is_paused(&self, now: Instant) -> bool {
        self.paused_until.is_some_and(|t| now < t)
    }

    /// Begins a new incarnation: a fresh persister with the old content (nothing of an earlier
    /// incarnation can write into this one's state). Returns it and the incarnation number.
    pub fn reincarnate(&mut self) -> (Persister, u64) {
        self.incarnation += 1;
        self.persister = self.persister.copy();
        (self.persister.clone(), self.incarnation)
    }

    /// Ends the running incarnation: keeps a copy of what it persisted (a save still under way
    /// on the old persister cannot reach the next incarnation) and hands back its handle.
    pub fn take_down(&mut self) -> Option<S> {
        self.persister = self.persister.copy();
        self.paused_until = None;
        self.server.take()
    }
}

impl<S> Default for Slot<S> {
    fn default() -> Slot<S> {
        Slot::new()
    }
}
