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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    /// The names the abort message needs, behind the one lock the watchdog takes to read them.
    pub(crate) names: Mutex<Names>,
    pub(crate) seed: u64,
    pub(crate) replay: Option<String>,
}

/// Names of the simulation's nodes and threads, for the abort message.
#[derive(Default)]
pub(crate) struct Names {
    /// Node names by node index (nodes are never removed).
    nodes: Vec<Arc<str>>,
    /// (serial, node index, thread name) of the last thread spawned into each of the runtime's
    /// task slots, indexed by slot (the running thread is always the last of its slot). Written at
    /// spawn only: nothing is done at a thread's end (a map of the live threads kept current at
    /// every spawn and exit cost about 3% of a kv run), and the table is bounded by the most
    /// threads alive at once, not by the run's spawns (a list of every spawn held about 23,000
    /// entries per kvraft scenario of `suite_bench`, copied at every doubling). A node's name is
    /// kept once, not per thread, and a slot keeps its thread name when the next thread shares
    /// it (an RPC handler's): every atomic reference count change cost a locked instruction at
    /// each of a kvraft run's 360,000 spawns.
    threads: Vec<(u64, u32, Arc<str>)>,
}

impl Watch {
    pub(crate) fn new(seed: u64, spin_limit: Duration, replay: Option<String>) -> Arc<Watch> {
        let watch = Arc::new(Watch {
            switches: AtomicU64::new(0),
            stalled: AtomicBool::new(false),
            running: AtomicU64::new(u64::MAX),
            virtual_ns: AtomicU64::new(0),
            spin_limit,
            names: Mutex::new(Names::default()),
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
        let names = self.names.lock();
        match names.threads.iter().find(|(s, _, _)| *s == serial) {
            Some((_, node, thread)) => {
                let node = names.nodes.get(*node as usize).map_or("?", |n| n.as_ref());
                format!("thread '{thread}' (#{serial}) on node '{node}'")
            }
            None => "the scheduler itself".to_string(),
        }
    }

    /// Notes the name of node `node`, just created (nodes are created in index order).
    pub(crate) fn note_node(&self, node: NodeId, name: Arc<str>) {
        let mut names = self.names.lock();
        assert_eq!(node.index(), names.nodes.len(), "nodes are created one at a time");
        names.nodes.push(name);
    }

    /// Notes the names of thread `serial` on `node`, just spawned into task slot `slot`.
    #[inline]
    pub(crate) fn note_spawn(&self, slot: u32, serial: u64, node: NodeId, thread: &Arc<str>) {
        let mut names = self.names.lock();
        let slot = slot as usize;
        match names.threads.get_mut(slot) {
            Some(entry) => {
                (entry.0, entry.1) = (serial, node.0);
                if !Arc::ptr_eq(&entry.2, thread) {
                    entry.2 = thread.clone();
                }
            }
            None => {
                debug_assert_eq!(slot, names.threads.len(), "task slots are added one at a time");
                names.threads.push((serial, node.0, thread.clone()));
            }
        }
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
