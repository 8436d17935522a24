//! The persister: a server's durable state (Raft state and snapshot), in memory.
//!
//! `save` replaces both together, atomically. Clones share one store; `copy` makes an independent
//! one. On a crash the harness gives the restarted server `persister.copy()`, so nothing the
//! crashed instance might still write reaches its successor (with crash-stop nodes it cannot
//! write anyway, but a handle kept elsewhere could).

use std::sync::Arc;

use parking_lot::Mutex;

#[derive(Default)]
struct Stored {
    raft_state: Arc<Vec<u8>>,
    snapshot: Arc<Vec<u8>>,
}

#[derive(Clone, Default)]
pub struct Persister {
    stored: Arc<Mutex<Stored>>,
}

impl Persister {
    pub fn new() -> Persister {
        Persister::default()
    }

    /// An independent persister holding the same bytes.
    pub fn copy(&self) -> Persister {
        let st = self.stored.lock();
        Persister {
            stored: Arc::new(Mutex::new(Stored { raft_state: st.raft_state.clone(), snapshot: st.snapshot.clone() })),
        }
    }

    /// Replaces Raft state and snapshot together.
    pub fn save(&self, raft_state: Vec<u8>, snapshot: Vec<u8>) {
        let mut st = self.stored.lock();
        st.raft_state = Arc::new(raft_state);
        st.snapshot = Arc::new(snapshot);
    }

    /// Replaces the Raft state, keeping the snapshot.
    pub fn save_raft_state(&self, raft_state: Vec<u8>) {
        self.stored.lock().raft_state = Arc::new(raft_state);
    }

    pub fn read_raft_state(&self) -> Vec<u8> {
        self.stored.lock().raft_state.as_ref().clone()
    }

    pub fn read_snapshot(&self) -> Vec<u8> {
        self.stored.lock().snapshot.as_ref().clone()
    }

    pub fn raft_state_size(&self) -> usize {
        self.stored.lock().raft_state.len()
    }

    pub fn snapshot_size(&self) -> usize {
        self.stored.lock().snapshot.len()
    }
}
