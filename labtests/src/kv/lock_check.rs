//! The lock scenarios' own record of the critical section: each client (named as its thread,
//! `client-N`) says when it starts to acquire, when acquire returned (it entered), when it leaves
//! (before it calls release) and when release returned. Entering while another client is inside fails the run at once, naming both
//! clients; and the record tells, when the run must end, which clients are stuck and where.
//!
//! No false alarm is possible with a correct lock: a client leaves before its release is sent,
//! and the next holder enters after its acquire returned, which is after that release applied.

use std::fmt::Write as _;
use std::sync::Arc;

use labrpc::sync::Mutex;

use super::history::now_us;

/// Where a client is, and since when (virtual microseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Acquiring(u64),
    Holding(u64),
    Releasing(u64),
    Finished,
}

struct State {
    phases: Vec<Phase>,
    /// Times each client entered the critical section.
    entries: Vec<u64>,
    /// The client inside, if any.
    inside: Option<usize>,
    /// The client that entered last, and when.
    last_entry: Option<(usize, u64)>,
}

/// Shared by the scenario's clients. Cheap to clone; clones share the record.
#[derive(Clone)]
pub struct Exclusion {
    key: String,
    state: Arc<Mutex<State>>,
}

impl Exclusion {
    /// A record for `clients` clients of the lock on `key`.
    pub fn new(key: &str, clients: usize) -> Exclusion {
        let state =
            State { phases: vec![Phase::Idle; clients], entries: vec![0; clients], inside: None, last_entry: None };
        Exclusion { key: key.to_string(), state: Arc::new(Mutex::new(state)) }
    }

    pub fn acquiring(&self, me: usize) {
        self.state.lock().phases[me] = Phase::Acquiring(now_us());
    }

    /// Client `me`'s acquire returned; fails the run if another client is inside.
    pub fn entered(&self, me: usize) {
        let now = now_us();
        let mut s = self.state.lock();
        if let Some(other) = s.inside {
            let since = match s.phases[other] {
                Phase::Holding(t) => t,
                phase => panic!("lock record: client-{other} is inside in phase {phase:?}"),
            };
            panic!(
                "mutual exclusion violated (seed {}): client-{me}'s acquire of lock {:?} returned at {now} us while \
                 client-{other} held the lock (since {since} us, not yet released)",
                labrpc::sim::current_seed(),
                self.key
            );
        }
        s.inside = Some(me);
        s.phases[me] = Phase::Holding(now);
        s.entries[me] += 1;
        s.last_entry = Some((me, now));
    }

    /// Client `me` leaves the critical section and is about to release.
    pub fn leaving(&self, me: usize) {
        let mut s = self.state.lock();
        assert_eq!(s.inside, Some(me), "lock record: client-{me} leaves a critical section it is not in");
        s.inside = None;
        s.phases[me] = Phase::Releasing(now_us());
    }

    pub fn released(&self, me: usize) {
        self.state.lock().phases[me] = Phase::Idle;
    }

    pub fn finished(&self, me: usize) {
        self.state.lock().phases[me] = Phase::Finished;
    }

    /// Times each client entered.
    pub fn entries(&self) -> Vec<u64> {
        self.state.lock().entries.clone()
    }

    /// The clients not finished, with where they are and since when, and who entered last.
    pub fn unfinished(&self) -> String {
        let s = self.state.lock();
        let mut out = String::new();
        for (client, phase) in s.phases.iter().enumerate() {
            let (what, since) = match *phase {
                Phase::Finished => continue,
                Phase::Idle => ("between critical sections", None),
                Phase::Acquiring(t) => ("in acquire", Some(t)),
                Phase::Holding(t) => ("in its critical section", Some(t)),
                Phase::Releasing(t) => ("in release", Some(t)),
            };
            let sep = if out.is_empty() { "" } else { "; " };
            let _ = write!(out, "{sep}client-{client} {what}");
            if let Some(t) = since {
                let _ = write!(out, " since {t} us");
            }
        }
        match s.last_entry {
            Some((client, t)) => {
                let _ = write!(out, "; the last to enter the critical section was client-{client}, at {t} us");
            }
            None => out.push_str("; no client ever entered the critical section"),
        }
        out
    }
}
