//! Spin detection. A simulated thread that runs for seconds of wall time without reaching a
//! simulator call (a spin loop, or a real blocking call such as `std::thread::sleep`) cannot be
//! preempted: coroutines only switch inside simulator calls. One watchdog OS thread per process
//! watches every running simulation's switch counter. When it stops moving for the spin limit, the
//! watchdog raises `stalled`; the next simulator call of that thread fails the run cleanly. If the
//! thread never makes another call, the watchdog prints the diagnostic and aborts the process after
//! a second spin limit, since nothing else can stop it.
//!
//! The registry is process-global, but it only observes runs; nothing in it feeds back into a run
//! that has not already failed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::task::NodeId;

/// How often the watchdog looks at the counters.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// After flagging, how long a thread still gets to reach a simulator call (and fail cleanly)
/// before the process is aborted: the spin limit again, and at least this.
const MIN_ABORT_GRACE: Duration = Duration::from_secs(2);

pub(crate) struct Watch {
    pub(crate) switches: AtomicU64,
    pub(crate) stalled: AtomicBool,
    /// Serial of the running thread, or `u64::MAX` between switches.
    pub(crate) running: AtomicU64,
    pub(crate) virtual_ns: AtomicU64,
    pub(crate) spin_limit: Duration,
    /// Node names by node index (nodes are never removed; created rarely, so behind a lock).
    nodes: Mutex<Vec<Arc<str>>>,
    /// The thread last spawned into each of the runtime's task slots, for the abort message.
    threads: ThreadTable,
    pub(crate) seed: u64,
    pub(crate) replay: Option<String>,
}

/// Bytes of a thread's name the abort message can show; longer names are cut there.
const NAME_BYTES: usize = 48;

/// (serial, node, name) of the last thread spawned into one task slot (the running thread is
/// always the last of its slot), all atomics written with plain stores: a spawn takes no lock
/// and changes no reference count. With the names behind a lock and each slot's name an `Arc`,
/// every spawn cost four locked instructions (lock, the name's count up and the last name's
/// down, unlock), about 2% of a kvraft run on the Intel Xeon of session 14 (perf).
#[repr(C, align(64))]
#[derive(Default)]
struct ThreadRecord {
    /// The serial plus one (0: no thread yet). Written last, with `Release`, so a reader that
    /// sees a serial sees that thread's name.
    serial_plus_one: AtomicU64,
    node: AtomicU32,
    name_len: AtomicU32,
    name: [AtomicU64; NAME_BYTES / 8],
}

/// Chunk `k` holds `FIRST_CHUNK << k` records; 27 chunks cover every `u32` slot index.
const FIRST_CHUNK: usize = 64;
const CHUNKS: usize = 27;

/// Per task slot records in chunks that never move once made: the watchdog thread reads them
/// while the simulation spawns. A chunk is made once (`OnceLock`); finding it is a plain load.
struct ThreadTable {
    chunks: [OnceLock<Box<[ThreadRecord]>>; CHUNKS],
}

impl ThreadTable {
    fn new() -> ThreadTable {
        ThreadTable { chunks: [const { OnceLock::new() }; CHUNKS] }
    }

    /// The chunk and offset of slot `slot`.
    #[inline(always)]
    fn place(slot: u32) -> (usize, usize) {
        let n = slot as usize / FIRST_CHUNK + 1;
        let chunk = (usize::BITS - 1 - n.leading_zeros()) as usize;
        (chunk, slot as usize - FIRST_CHUNK * ((1 << chunk) - 1))
    }

    #[inline(always)]
    fn record(&self, slot: u32) -> &ThreadRecord {
        let (chunk, offset) = Self::place(slot);
        let records = match self.chunks[chunk].get() {
            Some(records) => records,
            None => self.make_chunk(chunk),
        };
        &records[offset]
    }

    #[cold]
    #[inline(never)]
    fn make_chunk(&self, chunk: usize) -> &[ThreadRecord] {
        // The simulator's own bookkeeping: charged to no node.
        crate::alloc::untracked(|| {
            self.chunks[chunk].get_or_init(|| (0..FIRST_CHUNK << chunk).map(|_| ThreadRecord::default()).collect())
        })
    }

    /// (serial, node index, name) of the slot whose last thread is `serial`, if any.
    fn find(&self, serial: u64) -> Option<(u32, String)> {
        let records = self.chunks.iter().filter_map(OnceLock::get).flat_map(|records| records.iter());
        for record in records {
            if record.serial_plus_one.load(Ordering::Acquire) != serial.wrapping_add(1) {
                continue;
            }
            let node = record.node.load(Ordering::Relaxed);
            let full_len = record.name_len.load(Ordering::Relaxed) as usize;
            let bytes: Vec<u8> = record.name.iter().flat_map(|w| w.load(Ordering::Relaxed).to_le_bytes()).collect();
            let mut name = String::from_utf8_lossy(&bytes[..full_len.min(NAME_BYTES)]).into_owned();
            if full_len > NAME_BYTES {
                name.push_str("...");
            }
            return Some((node, name));
        }
        None
    }
}

impl Watch {
    pub(crate) fn new(seed: u64, spin_limit: Duration, replay: Option<String>) -> Arc<Watch> {
        let watch = Arc::new(Watch {
            switches: AtomicU64::new(0),
            stalled: AtomicBool::new(false),
            running: AtomicU64::new(u64::MAX),
            virtual_ns: AtomicU64::new(0),
            spin_limit,
            nodes: Mutex::new(Vec::new()),
            threads: ThreadTable::new(),
            seed,
            replay,
        });
        if !spin_limit.is_zero() {
            registry().lock().push(Arc::downgrade(&watch));
        }
        watch
    }

    pub(crate) fn describe_running(&self) -> String {
        let serial = self.running.load(Ordering::Relaxed);
        if serial == u64::MAX {
            return "the scheduler itself".to_string();
        }
        match self.threads.find(serial) {
            Some((node, thread)) => {
                let nodes = self.nodes.lock();
                let node = nodes.get(node as usize).map_or("?", |n| n.as_ref());
                format!("thread '{thread}' (#{serial}) on node '{node}'")
            }
            None => "the scheduler itself".to_string(),
        }
    }

    /// Notes the name of node `node`, just created (nodes are created in index order).
    pub(crate) fn note_node(&self, node: NodeId, name: Arc<str>) {
        let mut nodes = self.nodes.lock();
        assert_eq!(node.index(), nodes.len(), "nodes are created one at a time");
        nodes.push(name);
    }

    /// Notes the names of thread `serial` on `node`, just spawned into task slot `slot`. Only
    /// the simulation's own OS thread writes (the watchdog only reads), so plain stores do.
    #[inline]
    pub(crate) fn note_spawn(&self, slot: u32, serial: u64, node: NodeId, thread: &str) {
        let record = self.threads.record(slot);
        let bytes = thread.as_bytes();
        let shown = &bytes[..bytes.len().min(NAME_BYTES)];
        for (word, chunk) in record.name.iter().zip(shown.chunks(8)) {
            let mut padded = [0u8; 8];
            padded[..chunk.len()].copy_from_slice(chunk);
            word.store(u64::from_le_bytes(padded), Ordering::Relaxed);
        }
        record.name_len.store(bytes.len().min(u32::MAX as usize) as u32, Ordering::Relaxed);
        record.node.store(node.0, Ordering::Relaxed);
        record.serial_plus_one.store(serial.wrapping_add(1), Ordering::Release);
    }
}

fn registry() -> &'static Mutex<Vec<Weak<Watch>>> {
    static REGISTRY: OnceLock<Mutex<Vec<Weak<Watch>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        std::thread::Builder::new()
            .name("labrpc-watchdog".into())
            .spawn(watch_loop)
            .expect("labrpc: cannot start the spin watchdog thread");
        Mutex::new(Vec::new())
    })
}

struct Seen {
    switches: u64,
    since: Instant,
    flagged_at: Option<Instant>,
}

fn watch_loop() {
    let mut seen: BTreeMap<usize, Seen> = BTreeMap::new();
    loop {
        std::thread::sleep(POLL_INTERVAL);
        let now = Instant::now();
        let watches: Vec<Arc<Watch>> = {
            let mut reg = registry().lock();
            reg.retain(|w| w.strong_count() > 0);
            reg.iter().filter_map(Weak::upgrade).collect()
        };
        let live: Vec<usize> = watches.iter().map(|w| Arc::as_ptr(w) as usize).collect();
        seen.retain(|key, _| live.contains(key));
        for watch in &watches {
            let key = Arc::as_ptr(watch) as usize;
            let switches = watch.switches.load(Ordering::Relaxed);
            let entry = seen.entry(key).or_insert(Seen { switches, since: now, flagged_at: None });
            if entry.switches != switches || watch.running.load(Ordering::Relaxed) == u64::MAX {
                *entry = Seen { switches, since: now, flagged_at: None };
                continue;
            }
            match entry.flagged_at {
                None if now - entry.since >= watch.spin_limit => {
                    watch.stalled.store(true, Ordering::Relaxed);
                    entry.flagged_at = Some(now);
                }
                Some(at) if now - at >= watch.spin_limit.max(MIN_ABORT_GRACE) => {
                    abort_spinning(watch, now - entry.since)
                }
                _ => {}
            }
        }
    }
}

fn abort_spinning(watch: &Watch, stuck: Duration) -> ! {
    let replay = watch.replay.as_deref().map(|r| format!("\n  replay: {r}")).unwrap_or_default();
    eprintln!(
        "labrpc: spin detected: {} has run for {:.1} s of wall time without reaching a simulator call \
         (seed {}, virtual time {}).\n  It is spinning, or blocked in a real OS call (std::thread::sleep, a std \
         mutex, real I/O); a coroutine cannot be interrupted, so the process is aborted.{replay}",
        watch.describe_running(),
        stuck.as_secs_f64(),
        watch.seed,
        crate::sim::failure::format_time(watch.virtual_ns.load(Ordering::Relaxed)),
    );
    std::process::abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_map_to_chunks_without_gaps() {
        let mut expected = (0, 0);
        for slot in 0..20_000u32 {
            assert_eq!(ThreadTable::place(slot), expected, "slot {slot}");
            expected.1 += 1;
            if expected.1 == FIRST_CHUNK << expected.0 {
                expected = (expected.0 + 1, 0);
            }
        }
        let (chunk, offset) = ThreadTable::place(u32::MAX);
        assert!(chunk < CHUNKS && offset < FIRST_CHUNK << chunk);
    }

    #[test]
    fn the_running_thread_is_described_by_its_slots_last_spawn() {
        let watch = Watch::new(1, Duration::ZERO, None);
        watch.note_node(NodeId(0), Arc::from("main"));
        watch.note_node(NodeId(1), Arc::from("server-1"));
        let long = "a name longer than the forty-eight bytes kept for it (cut)";
        for (slot, serial, node, name) in
            [(0, 0, 0, "first"), (63, 1, 1, "at the end of chunk 0"), (64, 2, 1, long), (0, 3, 1, "second é")]
        {
            watch.note_spawn(slot, serial, NodeId(node), name);
        }
        let describe = |serial: u64| {
            watch.running.store(serial, Ordering::Relaxed);
            watch.describe_running()
        };
        assert_eq!(describe(3), "thread 'second é' (#3) on node 'server-1'");
        assert_eq!(describe(1), "thread 'at the end of chunk 0' (#1) on node 'server-1'");
        assert_eq!(describe(2), format!("thread '{}...' (#2) on node 'server-1'", &long[..NAME_BYTES]));
        assert_eq!(describe(0), "the scheduler itself", "slot 0's thread #0 was replaced by #3");
        assert_eq!(describe(u64::MAX), "the scheduler itself");
    }
}
