//! Recording a run: every client operation with its virtual call and return time (in virtual
//! microseconds) and its place in the order the recorder saw calls and returns in, plus the simulation events (partitions, crashes, leader changes) the HTML view
//! shows above the clients; and the clerk wrapper that records as it goes.

use raftkv::kvsrv::KvClient;
use std::collections::BTreeMap;
use std::sync::Arc;

use labrpc::sync::Mutex;
use labrpc::time;
use raftkv::kvsrv::{Cmp, Compare, Op, Outcome, Target};

use lincheck::{Annotation, History, KvCmp, KvCompare, KvInput, KvOutput, KvTarget, KvTxn, OpId, Stamp};

/// Virtual microseconds since the simulation started: the history's time unit.
pub fn now_us() -> u64 {
    time::now().since_start().as_micros() as u64
}

/// Anything that runs a key/value operation to completion and can move to a client thread: both
/// services' clerks.
pub trait KvClerk: KvClient + Send + 'static {}

impl<C: KvClient + Send + 'static> KvClerk for C {}

struct Recorded {
    history: History<KvInput, KvOutput>,
    /// Sequence number of the next call or return. The simulation runs every thread on one OS
    /// thread, so the order in which events take this lock is the order they happened in: with
    /// latency off most operations take zero virtual time, and only this tells a put that
    /// returned at t from a get called after it at the same t.
    next_seq: u64,
    annotations: Vec<Annotation>,
    /// Spans begun and not yet ended, by key: (start, label, description).
    open: BTreeMap<String, (u64, String, String)>,
}

/// Operations a recorder has room for before its history grows: the lab 4 scenarios record up
/// to about 3,000. Growing the list from empty copied it a dozen times per run, and those copies
/// into fresh pages were a sixth of `suite_bench kvraft`'s page faults; room that is never
/// written is never touched.
const RESERVED_OPS: usize = 4096;

impl Default for Recorded {
    fn default() -> Recorded {
        Recorded {
            history: History::with_capacity(RESERVED_OPS),
            next_seq: 0,
            annotations: Vec::new(),
            open: BTreeMap::new(),
        }
    }
}

impl Recorded {
    /// Now, with the next sequence number; call with the lock held.
    fn stamp(&mut self) -> Stamp {
        let seq = self.next_seq;
        self.next_seq += 1;
        Stamp::sequenced(now_us(), seq)
    }
}

/// A value's `Debug` cut to `BRIEF_CHARS` for a trace line (values of long appends).
struct Brief<'a, T: std::fmt::Debug>(&'a T);

const BRIEF_CHARS: usize = 80;

impl<T: std::fmt::Debug> std::fmt::Display for Brief<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = format!("{:?}", self.0);
        match text.char_indices().nth(BRIEF_CHARS) {
            Some((cut, _)) => write!(f, "{}… ({} chars)", &text[..cut], text.chars().count()),
            None => f.write_str(&text),
        }
    }
}

/// The run's history and events. Cheap to clone; clones share the record.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Mutex<Recorded>>,
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder::new()
    }
}

/// The checker's input for a service operation.
pub fn to_input(op: &Op) -> KvInput {
    match op.clone() {
        Op::Get { key } => KvInput::Get { key },
        Op::Put { key, value } => KvInput::Put { key, value },
        Op::Append { key, value } => KvInput::Append { key, value },
        Op::Delete { key } => KvInput::Delete { key },
        Op::CPut { key, value, version } => KvInput::CPut { key, value, version },
        Op::Swap { key, value } => KvInput::Swap { key, value },
        Op::Scan { from, to, limit } => KvInput::Scan { from, to, limit },
        Op::Txn(txn) => KvInput::Txn(KvTxn {
            compares: txn.compares.iter().map(to_compare).collect(),
            success: txn.success.iter().map(to_input).collect(),
            failure: txn.failure.iter().map(to_input).collect(),
        }),
    }
}

fn to_compare(c: &Compare) -> KvCompare {
    let cmp = match c.cmp {
        Cmp::Eq => KvCmp::Eq,
        Cmp::Ne => KvCmp::Ne,
        Cmp::Lt => KvCmp::Lt,
        Cmp::Gt => KvCmp::Gt,
    };
    let target = match &c.target {
        Target::Version(n) => KvTarget::Version(*n),
        Target::Value(v) => KvTarget::Value(v.clone()),
    };
    KvCompare { key: c.key.clone(), cmp, target }
}

/// The checker's output for `outcome` of the operation recorded as `input`, or None when the
/// outcome says nothing (ErrMaybe: the operation returned, but whether it applied is unknown).
/// Read from the recorded input rather than the service operation, so a client need not keep a
/// copy of each operation while the service runs it.
pub fn to_output(input: &KvInput, outcome: &Outcome) -> Option<KvOutput> {
    match (input, outcome) {
        (KvInput::Get { .. }, Outcome::Value { value, version }) => {
            Some(KvOutput::Get { value: value.clone(), version: Some(*version) })
        }
        (KvInput::CPut { .. }, Outcome::Done) => Some(KvOutput::CPut(true)),
        (KvInput::CPut { .. }, Outcome::ErrVersion) => Some(KvOutput::CPut(false)),
        (KvInput::CPut { .. }, Outcome::ErrMaybe) => None,
        (KvInput::Put { .. } | KvInput::Append { .. } | KvInput::Delete { .. }, Outcome::Done) => Some(KvOutput::Done),
        (KvInput::Swap { .. }, Outcome::Value { value, version }) => {
            Some(KvOutput::Swap { value: value.clone(), version: *version })
        }
        (KvInput::Swap { .. } | KvInput::Txn(_), Outcome::ErrMaybe) => None,
        (KvInput::Scan { .. }, Outcome::Range { entries, more }) => Some(KvOutput::Scan {
            entries: entries.iter().map(|e| (e.key.clone(), e.value.clone(), e.version)).collect(),
            more: *more,
        }),
        (KvInput::Txn(txn), Outcome::Txn { succeeded, results }) => {
            let branch = if *succeeded { &txn.success } else { &txn.failure };
            assert_eq!(branch.len(), results.len(), "the service answered {txn:?} with {results:?}");
            let results = branch
                .iter()
                .zip(results)
                .map(|(input, outcome)| {
                    to_output(input, outcome)
                        .unwrap_or_else(|| panic!("{input:?} inside a transaction answered {outcome:?}"))
                })
                .collect();
            Some(KvOutput::Txn { succeeded: *succeeded, results })
        }
        (input, outcome) => panic!("the service answered {input:?} with {outcome:?}"),
    }
}

impl Recorder {
    /// Must be created inside the simulation.
    pub fn new() -> Recorder {
        Recorder { inner: Arc::new(Mutex::new(Recorded::default())) }
    }

    /// Records the call of `op` by client `client` now.
    pub fn invoke(&self, client: u64, op: &Op) -> OpId {
        let input = to_input(op);
        let mut rec = self.inner.lock();
        let stamp = rec.stamp();
        let id = rec.history.invoke_at(client, stamp, input);
        tracing::debug!(client, op = id.0, call = %Brief(op), "client: call");
        crate::timeline::event::client_call(client, id.0 as u64, || format!("{op:?}"));
        id
    }

    /// Records the return of `id` now. An ErrMaybe returns with its output unknown: it still
    /// precedes the client's later operations.
    pub fn finish(&self, id: OpId, outcome: &Outcome) {
        crate::timeline::event::client_return(id.0 as u64, || format!("{outcome:?}"));
        tracing::debug!(op = id.0, outcome = %Brief(outcome), "client: return");
        let mut rec = self.inner.lock();
        let output = to_output(&rec.history.ops()[id.0].input, outcome);
        let stamp = rec.stamp();
        rec.history.finish_at(id, stamp, output).expect("virtual time and the sequence never go back");
    }

    /// An instant event (crash, restart, leader change...).
    pub fn event(&self, label: impl Into<String>, description: impl Into<String>) {
        let now = now_us();
        self.inner.lock().annotations.push(Annotation::instant(now, label, description));
    }

    /// Begins a span (a partition, a pause...) under `key`; a span already open under `key`
    /// ends now.
    pub fn begin(&self, key: &str, label: impl Into<String>, description: impl Into<String>) {
        self.end(key);
        let now = now_us();
        self.inner.lock().open.insert(key.to_string(), (now, label.into(), description.into()));
    }

    /// Ends the span open under `key`, if any.
    pub fn end(&self, key: &str) {
        let now = now_us();
        let mut rec = self.inner.lock();
        if let Some((start, label, description)) = rec.open.remove(key) {
            rec.annotations.push(Annotation::span(start, now, label, description));
        }
    }

    /// Operations recorded so far.
    pub fn len(&self) -> usize {
        self.inner.lock().history.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The history and the annotations, open spans ended now.
    pub fn snapshot(&self) -> (History<KvInput, KvOutput>, Vec<Annotation>) {
        self.with_snapshot(|history, annotations| (history.clone(), annotations))
    }

    /// Calls `f` with the history, borrowed under the record's lock rather than copied (the
    /// end-of-run check reads thousands of operations), and the annotations, open spans ended now.
    pub fn with_snapshot<T>(&self, f: impl FnOnce(&History<KvInput, KvOutput>, Vec<Annotation>) -> T) -> T {
        let now = now_us();
        let rec = self.inner.lock();
        let mut annotations = rec.annotations.clone();
        for (start, label, description) in rec.open.values() {
            annotations.push(Annotation::span(*start, now, label.clone(), description.clone()));
        }
        annotations.sort_by_key(|a| a.time);
        f(&rec.history, annotations)
    }
}

/// A clerk whose every operation is recorded under harness client number `id`.
pub struct Client<C: KvClerk> {
    clerk: C,
    id: u64,
    recorder: Recorder,
}

impl<C: KvClerk> Client<C> {
    pub fn new(clerk: C, id: u64, recorder: Recorder) -> Client<C> {
        Client { clerk, id, recorder }
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn clerk(&mut self) -> &mut C {
        &mut self.clerk
    }

    /// The value of `key`, "" when absent (the Go tests' Get).
    pub fn get_value(&mut self, key: &str) -> String {
        self.get(key).0.unwrap_or_default()
    }

    /// Asserts that `key` holds `value` (the Go tests' `check`).
    pub fn check(&mut self, key: &str, value: &str) {
        let got = self.get_value(key);
        assert_eq!(got, value, "get({key:?}): expected {value:?}, got {got:?}");
    }
}

impl<C: KvClerk> KvClient for Client<C> {
    /// Runs and records `op`.
    fn execute(&mut self, op: Op) -> Outcome {
        let id = self.recorder.invoke(self.id, &op);
        let outcome = self.clerk.execute(op);
        self.recorder.finish(id, &outcome);
        outcome
    }
}
