//! A persister's disk side: Raft state and snapshot in one checksummed file, replaced atomically,
//! with group commit.
//!
//! File `state.bin` in the data directory: magic `RKVSTAT1`, Raft state length and snapshot
//! length (u64 little-endian), the two byte strings, then a CRC-32 of everything before it. A save
//! writes `state.bin.tmp`, fsyncs it, renames it over `state.bin` and fsyncs the directory, so a
//! crash leaves either the old file or the new one. A file that is short, too long, of another
//! format or fails its checksum is reported with its path; it is never read as empty.
//!
//! Group commit: each save replaces the whole state, so the writer thread only ever writes the
//! newest one, and every save submitted before that write started is durable when it ends. Saves
//! that arrive while a write is under way therefore share the next fsync. `batch_size` and
//! `batch_timeout` widen the window: the writer waits until `batch_size` saves are pending or the
//! oldest has waited `batch_timeout`. A save returns only once its state is durable, so nothing
//! is acknowledged before then.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

const MAGIC: &[u8; 8] = b"RKVSTAT1";
/// Magic and the two lengths.
const HEADER_BYTES: usize = 8 + 8 + 8;
const CRC_BYTES: usize = 4;
pub const STATE_FILE: &str = "state.bin";
const TEMP_FILE: &str = "state.bin.tmp";

/// Where a save can be made to crash (a test hook: the process aborts there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// Half of the temporary file written.
    MidTempWrite,
    /// The temporary file written, not yet fsynced.
    BeforeTempSync,
    /// The temporary file durable, not yet renamed.
    BeforeRename,
    /// Renamed, the directory not yet fsynced.
    BeforeDirSync,
}

#[derive(Clone, Debug)]
pub struct DiskOptions {
    /// A write waits for this many pending saves (1: write as soon as one is pending)...
    pub batch_size: usize,
    /// ...or until the oldest pending save has waited this long.
    pub batch_timeout: Duration,
    /// Test hook: abort the process at this point of the save with this number (1 = first).
    pub crash_at: Option<(CrashPoint, u64)>,
}

impl Default for DiskOptions {
    fn default() -> DiskOptions {
        DiskOptions { batch_size: 1, batch_timeout: Duration::ZERO, crash_at: None }
    }
}

/// A state file that cannot be trusted, or a directory that cannot be used.
#[derive(Debug)]
pub struct DiskError {
    pub path: PathBuf,
    pub reason: String,
}

impl std::fmt::Display for DiskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for DiskError {}

/// Saves asked for and writes (fsyncs of the state file) made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskStats {
    pub saves: u64,
    pub writes: u64,
}

type Pair = (Arc<Vec<u8>>, Arc<Vec<u8>>);

/// What a state file holds: (Raft state, snapshot).
pub type SavedState = (Vec<u8>, Vec<u8>);

struct Queue {
    /// The newest state not yet written.
    latest: Option<Pair>,
    /// Number of the newest save submitted, and of the newest one durable.
    submitted: u64,
    durable: u64,
    /// Saves pending in the current batch, and when the first of them came.
    pending: usize,
    first_pending_at: Option<Instant>,
    failed: Option<String>,
    stopping: bool,
    stats: DiskStats,
}

struct Shared {
    dir: PathBuf,
    options: DiskOptions,
    queue: Mutex<Queue>,
    changed: Condvar,
}

/// The disk side of one persister: a directory and its writer thread.
pub struct DiskStore {
    shared: Arc<Shared>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl DiskStore {
    /// Opens (creating it if needed) `dir` and reads the state saved there: (raft state,
    /// snapshot), both empty for a new directory.
    pub fn open(dir: &Path, options: DiskOptions) -> Result<(DiskStore, SavedState), DiskError> {
        assert!(options.batch_size >= 1, "disk persister: batch size must be at least 1");
        let err = |path: &Path, e: io::Error| DiskError { path: path.to_path_buf(), reason: e.to_string() };
        if dir.exists() && !dir.is_dir() {
            return Err(DiskError { path: dir.to_path_buf(), reason: "exists and is not a directory".into() });
        }
        fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        // A temporary file is a save that never completed: nothing of it was acknowledged.
        let temp = dir.join(TEMP_FILE);
        if temp.exists() {
            fs::remove_file(&temp).map_err(|e| err(&temp, e))?;
        }
        let (raft_state, snapshot) = read_state_file(&dir.join(STATE_FILE))?.unwrap_or_default();
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            options,
            queue: Mutex::new(Queue {
                latest: None,
                submitted: 0,
                durable: 0,
                pending: 0,
                first_pending_at: None,
                failed: None,
                stopping: false,
                stats: DiskStats::default(),
            }),
            changed: Condvar::new(),
        });
        let writer_shared = shared.clone();
        let writer = std::thread::Builder::new()
            .name(format!("disk-writer {}", dir.display()))
            .spawn(move || writer_shared.writer())
            .map_err(|e| err(dir, e))?;
        Ok((DiskStore { shared, writer: Some(writer) }, (raft_state, snapshot)))
    }

    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Queues `state` as the newest; returns the ticket to wait on. Callers submit in the order
    /// their states were made (under the persister's lock).
    pub fn submit(&self, raft_state: Arc<Vec<u8>>, snapshot: Arc<Vec<u8>>) -> u64 {
        let mut q = self.shared.queue.lock();
        q.submitted += 1;
        q.stats.saves += 1;
        q.latest = Some((raft_state, snapshot));
        q.pending += 1;
        q.first_pending_at.get_or_insert_with(Instant::now);
        self.shared.changed.notify_all();
        q.submitted
    }

    /// Blocks until the save with `ticket` is durable. A failed write cannot be acknowledged
    /// and the state in memory is ahead of the disk for good: the process stops.
    pub fn wait_durable(&self, ticket: u64) {
        let mut q = self.shared.queue.lock();
        while q.durable < ticket {
            if let Some(e) = &q.failed {
                eprintln!("disk persister {}: a save failed ({e}); stopping the process", self.shared.dir.display());
                std::process::abort();
            }
            self.shared.changed.wait(&mut q);
        }
    }

    pub fn stats(&self) -> DiskStats {
        self.shared.queue.lock().stats
    }
}

impl Drop for DiskStore {
    fn drop(&mut self) {
        self.shared.queue.lock().stopping = true;
        self.shared.changed.notify_all();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

impl Shared {
    fn writer(&self) {
        loop {
            let (pair, ticket) = {
                let mut q = self.queue.lock();
                while q.latest.is_none() && !q.stopping {
                    self.changed.wait(&mut q);
                }
                // The batch window (not when stopping: then write what is there).
                while q.pending < self.options.batch_size && !q.stopping {
                    let waited = q.first_pending_at.map_or(Duration::ZERO, |t| t.elapsed());
                    let Some(left) = self.options.batch_timeout.checked_sub(waited).filter(|d| !d.is_zero()) else {
                        break;
                    };
                    self.changed.wait_for(&mut q, left);
                }
                let Some(pair) = q.latest.take() else { return };
                q.pending = 0;
                q.first_pending_at = None;
                (pair, q.submitted)
            };
            let result = self.write(&pair.0, &pair.1, ticket);
            let mut q = self.queue.lock();
            match result {
                Ok(()) => {
                    q.durable = ticket;
                    q.stats.writes += 1;
                }
                Err(e) => q.failed = Some(e.to_string()),
            }
            self.changed.notify_all();
            if q.failed.is_some() {
                return;
            }
        }
    }

    fn crash_point(&self, point: CrashPoint, ticket: u64) {
        if self.options.crash_at == Some((point, ticket)) {
            std::process::abort();
        }
    }

    /// Writes `state.bin` atomically (see the module doc); `ticket` only feeds the crash hook.
    fn write(&self, raft_state: &[u8], snapshot: &[u8], ticket: u64) -> Result<(), DiskError> {
        let temp = self.dir.join(TEMP_FILE);
        let err = |path: &Path, what: &str, e: io::Error| DiskError {
            path: path.to_path_buf(),
            reason: format!("{what}: {e}"),
        };
        let file = File::create(&temp).map_err(|e| err(&temp, "create", e))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let (raft_len, snap_len) = ((raft_state.len() as u64).to_le_bytes(), (snapshot.len() as u64).to_le_bytes());
        let pieces: [&[u8]; 5] = [MAGIC, &raft_len, &snap_len, raft_state, snapshot];
        let mut crc = crc32fast::Hasher::new();
        for (i, piece) in pieces.into_iter().enumerate() {
            if i == pieces.len() - 1 && self.options.crash_at == Some((CrashPoint::MidTempWrite, ticket)) {
                let _ = out.write_all(&piece[..piece.len() / 2]).and_then(|()| out.flush());
                std::process::abort();
            }
            crc.update(piece);
            out.write_all(piece).map_err(|e| err(&temp, "write", e))?;
        }
        out.write_all(&crc.finalize().to_le_bytes()).map_err(|e| err(&temp, "write", e))?;
        let file = out.into_inner().map_err(|e| err(&temp, "write", e.into_error()))?;
        self.crash_point(CrashPoint::BeforeTempSync, ticket);
        file.sync_all().map_err(|e| err(&temp, "fsync", e))?;
        drop(file);
        self.crash_point(CrashPoint::BeforeRename, ticket);
        let path = self.dir.join(STATE_FILE);
        fs::rename(&temp, &path).map_err(|e| err(&path, "rename", e))?;
        self.crash_point(CrashPoint::BeforeDirSync, ticket);
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(|e| err(&self.dir, "fsync directory", e))
    }
}

/// Reads and checks a state file: None when it does not exist.
pub fn read_state_file(path: &Path) -> Result<Option<SavedState>, DiskError> {
    let bad = |reason: String| DiskError { path: path.to_path_buf(), reason };
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(format!("cannot read: {e}"))),
    };
    if bytes.len() < HEADER_BYTES + CRC_BYTES {
        return Err(bad(format!("truncated: {} bytes, shorter than an empty state file", bytes.len())));
    }
    if &bytes[..8] != MAGIC {
        return Err(bad(format!("not a raftkv state file (starts with {:?})", String::from_utf8_lossy(&bytes[..8]))));
    }
    let len_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let (raft_len, snap_len) = (len_at(8), len_at(16));
    let expected = (HEADER_BYTES as u64 + CRC_BYTES as u64).checked_add(raft_len).and_then(|n| n.checked_add(snap_len));
    if expected != Some(bytes.len() as u64) {
        return Err(bad(format!(
            "torn or truncated: its lengths ({raft_len} + {snap_len} bytes) do not match its size ({} bytes)",
            bytes.len()
        )));
    }
    let body_end = bytes.len() - CRC_BYTES;
    let stored = u32::from_le_bytes(bytes[body_end..].try_into().expect("4 bytes"));
    let mut crc = crc32fast::Hasher::new();
    crc.update(&bytes[..body_end]);
    let computed = crc.finalize();
    if stored != computed {
        return Err(bad(format!("corrupted: checksum {computed:08x} does not match the stored {stored:08x}")));
    }
    let raft_end = HEADER_BYTES + raft_len as usize;
    Ok(Some((bytes[HEADER_BYTES..raft_end].to_vec(), bytes[raft_end..body_end].to_vec())))
}

#[cfg(test)]
mod tests {
    /// The on-disk format names CRC-32 (IEEE): pin the variant, so a change of checksum crate
    /// cannot silently make existing state files unreadable.
    #[test]
    fn the_checksum_is_crc32_ieee() {
        let mut crc = crc32fast::Hasher::new();
        crc.update(b"1234");
        crc.update(b"56789");
        assert_eq!(crc.finalize(), 0xCBF4_3926);
    }
}
