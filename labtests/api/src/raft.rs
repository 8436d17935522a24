//! Lab 3: a Raft peer as the harness drives it (the 6.5840 API: make, start, state, snapshot),
//! and what it delivers on its apply channel.

use labrpc::channel::Sender;
use labrpc::net::{ClientEnd, Service};
use labrpc::persister::Persister;

/// What a peer delivers, in log order, on its apply channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyMsg {
    /// A committed command at `index` (1-based), from `term`.
    Command { index: u64, term: u64, command: Vec<u8> },
    /// A snapshot to replace the service's state with: one installed from the leader, or, as the
    /// first message after a restart, the one the peer persisted. Every later `Command` has an
    /// index above `index`.
    Snapshot { index: u64, term: u64, snapshot: Vec<u8> },
}

/// One Raft peer. A handle: clones share the peer (the harness keeps one, its applier and
/// clients call through others). Every method may be called from any simulated thread.
pub trait RaftPeer: Clone + Send + Sync + 'static {
    /// Starts a peer on the calling thread's node: `peers[i]` reaches peer i (`peers[me]` is
    /// unused), `persister` holds what an earlier incarnation saved, committed entries go to
    /// `apply_tx` (unbuffered in the harness: a send waits until the service takes it). Spawns
    /// the peer's background threads and returns at once.
    fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: Sender<ApplyMsg>) -> Self;

    /// Proposes `command`. Returns at once: `Some((index, term))` where it will appear if this
    /// peer believes it leads, None otherwise (no guarantee it ever commits).
    fn start(&self, command: Vec<u8>) -> Option<(u64, u64)>;

    /// (current term, whether this peer believes it is the leader).
    fn state(&self) -> (u64, bool);

    /// The service has a snapshot of its state through `index` inclusive: the peer may discard
    /// its log up to there and persist `snapshot` with its state.
    fn snapshot(&self, index: u64, snapshot: Vec<u8>);

    /// The RPC service the peer answers (its handlers), to put on this peer's labrpc server.
    fn service(&self) -> Service;
}
