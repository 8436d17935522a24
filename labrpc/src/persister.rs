//! The persister: a server's durable state (Raft state and snapshot), in memory.
//!
//! `save` replaces both together, atomically. Clones share one store; `copy` makes an independent
//! one. On a crash the harness gives the restarted server `persister.copy()`, so nothing the
//! crashed instance might still write reaches its successor (with crash-stop nodes it cannot
//! write anyway, but a handle kept elsewhere could).

mod crc32;
pub mod disk;

use std::path::Path;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

#[derive(Default)]
struct Stored {
    raft_state: Arc<Vec<u8>>,
    snapshot: Arc<Vec<u8>>,
}

#[derive(Clone, Default)]
pub struct Persister {
    stored: Arc<Mutex<Stored>>,
    /// Set by `open_dir`: every save is also written to disk and returns once durable.
    disk: Option<Arc<disk::DiskStore>>,
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
            disk: None,
        }
    }

    /// Replaces Raft state and snapshot together.
    pub fn save(&self, raft_state: Vec<u8>, snapshot: Vec<u8>) {
        let mut st = self.stored.lock();
        st.raft_state = Arc::new(raft_state);
        st.snapshot = Arc::new(snapshot);
        self.write_through(st);
    }

    /// Replaces the Raft state, keeping the snapshot.
    pub fn save_raft_state(&self, raft_state: Vec<u8>) {
        let mut st = self.stored.lock();
        st.raft_state = Arc::new(raft_state);
        self.write_through(st);
    }

    /// A persister kept in directory `dir` (created if needed), starting from the state saved
    /// there. A state file that is torn or corrupted is an error naming it, never an empty start.
    /// Each save returns once durable (see [`disk`]). `copy` of it is in memory only.
    pub fn open_dir(dir: &Path, options: disk::DiskOptions) -> Result<Persister, disk::DiskError> {
        let (store, (raft_state, snapshot)) = disk::DiskStore::open(dir, options)?;
        let stored = Stored { raft_state: Arc::new(raft_state), snapshot: Arc::new(snapshot) };
        Ok(Persister { stored: Arc::new(Mutex::new(stored)), disk: Some(Arc::new(store)) })
    }

    /// Saves and disk writes so far (None: in memory only).
    pub fn disk_stats(&self) -> Option<disk::DiskStats> {
        self.disk.as_ref().map(|d| d.stats())
    }

    /// Queued under the lock, so the disk sees saves in the order memory did; waited for
    /// outside it, so concurrent saves can share one fsync.
    fn write_through(&self, st: MutexGuard<'_, Stored>) {
        if let Some(disk) = &self.disk {
            let ticket = disk.submit(st.raft_state.clone(), st.snapshot.clone());
            drop(st);
            disk.wait_durable(ticket);
        }
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
