//! The persister: a server's durable state (Raft state and snapshot), in memory.
//!
//! `save` replaces both together, atomically. Clones share one store; `copy` makes an independent
//! one. On a crash the harness gives the restarted server `persister.copy()`, so nothing the
//! crashed instance might still write reaches its successor (with crash-stop nodes it cannot
//! write anyway, but a handle kept elsewhere could).
//!
//! Crash points (`set_crash_points`, off by default; the rules are 11 and 12 of
//! `net/faults.rs`) crash the saving node in the middle of a save (the previous state stays) or
//! right after it. They carry over to `copy`, so a restarted server keeps them.

pub mod disk;

use std::path::Path;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

pub use crate::net::faults::CrashPoints;
use crate::net::faults::{crash_here, SaveFate};

#[derive(Default)]
struct Stored {
    raft_state: Bytes,
    snapshot: Bytes,
    crash_points: CrashPoints,
    /// A crash point fired: the node is down and nothing more it saves lands here.
    down: bool,
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
        let mut st = self.stored.lock();
        Persister {
            stored: Arc::new(Mutex::new(Stored {
                raft_state: Bytes::Shared(st.raft_state.share()),
                snapshot: Bytes::Shared(st.snapshot.share()),
                crash_points: st.crash_points,
                down: false,
            })),
            disk: None,
        }
    }

    /// Crash the saving node during or right after a save with these probabilities (for this
    /// store, its clones and later copies).
    pub fn set_crash_points(&self, points: CrashPoints) {
        points.check();
        self.stored.lock().crash_points = points;
    }

    /// Replaces Raft state and snapshot together.
    pub fn save(&self, raft_state: Vec<u8>, snapshot: Vec<u8>) {
        self.store(|st| {
            st.raft_state = Bytes::Own(raft_state);
            st.snapshot = Bytes::Own(snapshot);
        });
    }

    /// Replaces the Raft state, keeping the snapshot.
    pub fn save_raft_state(&self, raft_state: Vec<u8>) {
        self.store(|st| st.raft_state = Bytes::Own(raft_state));
    }

    /// Replaces the Raft state by editing the saved bytes in place, keeping the snapshot: `edit`
    /// gets the saved state and turns it into the new one. A saver that knows what changed (a
    /// Raft that appended to its log) then pays for the change, not for the whole state. The
    /// bytes are copied first only while a `copy` or the disk writer still shares them. As
    /// atomic as the other saves: when a crash point fires mid-save, `edit` never runs.
    pub fn update_raft_state(&self, edit: impl FnOnce(&mut Vec<u8>)) {
        self.store(|st| edit(st.raft_state.edit()));
    }

    /// One save, through the crash points, under one lock (the fate's draws are no scheduling
    /// point).
    fn store(&self, write: impl FnOnce(&mut Stored)) {
        let mut st = self.stored.lock();
        if st.down {
            return;
        }
        let fate = st.crash_points.fate();
        if let SaveFate::CrashMid(node) = fate {
            st.down = true;
            drop(st);
            crash_here(node, "mid-save");
        }
        write(&mut st);
        st.down = matches!(fate, SaveFate::CrashAfter(_));
        self.write_through(st);
        if let SaveFate::CrashAfter(node) = fate {
            crash_here(node, "after-save");
        }
    }

    /// A persister kept in directory `dir` (created if needed), starting from the state saved
    /// there. A state file that is torn or corrupted is an error naming it, never an empty start.
    /// Each save returns once durable (see [`disk`]). `copy` of it is in memory only.
    pub fn open_dir(dir: &Path, options: disk::DiskOptions) -> Result<Persister, disk::DiskError> {
        let (store, (raft_state, snapshot)) = disk::DiskStore::open(dir, options)?;
        let stored = Stored { raft_state: Bytes::Own(raft_state), snapshot: Bytes::Own(snapshot), ..Stored::default() };
        Ok(Persister { stored: Arc::new(Mutex::new(stored)), disk: Some(Arc::new(store)) })
    }

    /// Saves and disk writes so far (None: in memory only).
    pub fn disk_stats(&self) -> Option<disk::DiskStats> {
        self.disk.as_ref().map(|d| d.stats())
    }

    /// Queued under the lock, so the disk sees saves in the order memory did; waited for
    /// outside it, so concurrent saves can share one fsync.
    fn write_through(&self, mut st: MutexGuard<'_, Stored>) {
        if let Some(disk) = &self.disk {
            let ticket = disk.submit(st.raft_state.share(), st.snapshot.share());
            drop(st);
            disk.wait_durable(ticket);
        }
    }

    pub fn read_raft_state(&self) -> Vec<u8> {
        self.stored.lock().raft_state.get().clone()
    }

    pub fn read_snapshot(&self) -> Vec<u8> {
        self.stored.lock().snapshot.get().clone()
    }

    pub fn raft_state_size(&self) -> usize {
        self.stored.lock().raft_state.get().len()
    }

    pub fn snapshot_size(&self) -> usize {
        self.stored.lock().snapshot.get().len()
    }
}

/// Saved bytes: owned while this store alone has them, so a save replaces or edits them with no
/// atomic operation (an `Arc`'s uniqueness check and drop are each one); shared, not copied, once
/// a `copy` or the disk writer takes them.
enum Bytes {
    Own(Vec<u8>),
    Shared(Arc<Vec<u8>>),
}

impl Default for Bytes {
    fn default() -> Bytes {
        Bytes::Own(Vec::new())
    }
}

impl Bytes {
    fn get(&self) -> &Vec<u8> {
        match self {
            Bytes::Own(bytes) => bytes,
            Bytes::Shared(bytes) => bytes,
        }
    }

    /// A reference for a `copy` or the disk writer: from now on the bytes are shared.
    fn share(&mut self) -> Arc<Vec<u8>> {
        if let Bytes::Own(bytes) = self {
            *self = Bytes::Shared(Arc::new(std::mem::take(bytes)));
        }
        match self {
            Bytes::Shared(bytes) => bytes.clone(),
            Bytes::Own(_) => unreachable!("just shared"),
        }
    }

    /// The bytes to edit in place, copied first only while a `copy` or the disk writer still
    /// shares them.
    fn edit(&mut self) -> &mut Vec<u8> {
        if let Bytes::Shared(_) = self {
            let Bytes::Shared(shared) = std::mem::take(self) else { unreachable!("just matched") };
            *self = Bytes::Own(Arc::try_unwrap(shared).unwrap_or_else(|shared| shared.as_ref().clone()));
        }
        match self {
            Bytes::Own(bytes) => bytes,
            Bytes::Shared(_) => unreachable!("just owned"),
        }
    }
}
