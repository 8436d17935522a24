//! The key/value state machine shared by kvsrv (lab 2, under one lock) and kvraft (lab 4,
//! replicated by the state machine layer): the store plus the duplicate table, as plain methods
//! (no threads, no RPC), so it is unit-tested on its own and kvraft can snapshot it whole.
//!
//! Duplicate detection keeps, per client, only the sequence number of its last mutating
//! operation and that operation's reply. For put, append, delete and cput that is one of two unit
//! answers (done / wrong version): no value is stored, so such a client costs a few dozen bytes
//! whatever it wrote. A swap's or a transaction's answer carries data (the old value, what the
//! transaction read), which a retry must get back unchanged, so it is kept whole until the
//! client's next mutation replaces it.

use std::collections::BTreeMap;
use std::mem::size_of;
use std::ops::Bound;

use serde::{Deserialize, Serialize};

use labapi::kv::{KeyValue, Op, Outcome, Request, Txn};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    value: String,
    /// >= 1 for a present key.
    version: u64,
}

/// The reply of a client's last mutating operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Stored {
    Done,
    ErrVersion,
    /// A swap's or a transaction's whole answer (boxed: the other replies stay one word).
    Full(Box<Outcome>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Session {
    seq: u64,
    reply: Stored,
}

/// Store and duplicate table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvMachine {
    data: BTreeMap<String, Entry>,
    sessions: BTreeMap<u64, Session>,
}

/// A B-tree node holds 5 to 11 entries (B = 6), so each entry is charged for its own slot twice:
/// an upper bound on the node space (slots, parent links, lengths) it takes at the worst fill.
const BTREE_SLOT_FACTOR: usize = 2;

impl KvMachine {
    pub fn new() -> KvMachine {
        KvMachine::default()
    }

    /// Applies `request` exactly once: a mutation whose `seq` is not above the client's last one
    /// is a duplicate and gets the stored reply (or `ErrMaybe` for one older than the last, which
    /// no client waits for). Reads always run: re-reading inside the operation's call interval is
    /// still linearizable.
    pub fn apply(&mut self, request: Request) -> Outcome {
        let Request { client, seq, op } = request;
        if op.answer_has_data() {
            return self.apply_keeping_answer(client, seq, op);
        }
        if op.is_read() {
            return self.execute(op);
        }
        self.apply_write(client, seq, op)
    }

    // skeleton: omit begin (the reference's duplicate check, shared by both kinds of write)
    /// [`KvMachine::apply`] for a mutation whose answer is done or wrong version: a decoded `Op`
    /// (a leader's, whose answer a client waits for), or, as an optimisation, one read in place
    /// from its log entry (a follower's `WriteRef`). Both go through this duplicate check.
    fn apply_write(&mut self, client: u64, seq: u64, op: impl Write) -> Outcome {
        if let Some(session) = self.sessions.get(&client) {
            if seq == session.seq {
                return match session.reply {
                    Stored::Done => Outcome::Done,
                    Stored::ErrVersion => Outcome::ErrVersion,
                    Stored::Full(ref answer) => (**answer).clone(),
                };
            }
            if seq < session.seq {
                return Outcome::ErrMaybe;
            }
        }
        let outcome = op.execute_on(self);
        let reply = if outcome == Outcome::ErrVersion { Stored::ErrVersion } else { Stored::Done };
        self.sessions.insert(client, Session { seq, reply });
        outcome
    }
    // skeleton: omit end

    /// [`KvMachine::apply`] for an operation whose whole answer the duplicate table keeps.
    fn apply_keeping_answer(&mut self, client: u64, seq: u64, op: Op) -> Outcome {
        if let Some(session) = self.sessions.get(&client) {
            if seq == session.seq {
                return match &session.reply {
                    Stored::Full(answer) => (**answer).clone(),
                    // The same seq carried another operation: not a retry of this one.
                    _ => Outcome::ErrMaybe,
                };
            }
            if seq < session.seq {
                return Outcome::ErrMaybe;
            }
        }
        let outcome = self.execute(op);
        self.sessions.insert(client, Session { seq, reply: Stored::Full(Box::new(outcome.clone())) });
        outcome
    }

    /// Applies `op` with no duplicate detection.
    pub fn execute(&mut self, op: Op) -> Outcome {
        match op {
            Op::Get { key } => {
                let (value, version) = self.get(&key);
                Outcome::Value { value: value.map(str::to_string), version }
            }
            Op::Put { key, value } => {
                self.write(key, value);
                Outcome::Done
            }
            Op::Append { key, value } => {
                match self.data.get_mut(&key) {
                    Some(entry) => {
                        entry.value.push_str(&value);
                        entry.version += 1;
                    }
                    None => {
                        self.data.insert(key, Entry { value, version: 1 });
                    }
                }
                Outcome::Done
            }
            Op::Delete { key } => {
                self.data.remove(&key);
                Outcome::Done
            }
            Op::CPut { key, value, version } => {
                if self.get(&key).1 != version {
                    return Outcome::ErrVersion;
                }
                self.write(key, value);
                Outcome::Done
            }
            Op::Swap { key, value } => {
                let (old, version) = self.get(&key);
                let old = Outcome::Value { value: old.map(str::to_string), version };
                self.write(key, value);
                old
            }
            Op::Scan { from, to, limit } => self.scan(&from, &to, limit),
            Op::Txn(txn) => self.txn(txn),
        }
    }

    fn scan(&self, from: &str, to: &str, limit: u64) -> Outcome {
        if from > to {
            // BTreeMap::range refuses an inverted range; it holds no keys.
            return Outcome::Range { entries: Vec::new(), more: false };
        }
        let mut range = self.data.range::<str, _>((Bound::Included(from), Bound::Included(to)));
        let entries: Vec<KeyValue> = range
            .by_ref()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|(key, e)| KeyValue { key: key.clone(), value: e.value.clone(), version: e.version })
            .collect();
        Outcome::Range { entries, more: range.next().is_some() }
    }

    fn txn(&mut self, txn: Txn) -> Outcome {
        let succeeded = txn.compares.iter().all(|c| {
            let (value, version) = self.get(&c.key);
            c.holds(value, version)
        });
        let branch = if succeeded { txn.success } else { txn.failure };
        let results = branch.into_iter().map(|op| self.execute(op)).collect();
        Outcome::Txn { succeeded, results }
    }

    // skeleton: omit begin (the reference's follower writes, read in place)
    /// [`KvMachine::execute`] for a write read in place: the same changes, each string copied
    /// only where the store keeps it (at its exact length, as a decoded one is), not decoded
    /// into a `String` first to be dropped (an append's value, a present key).
    fn execute_ref(&mut self, op: WriteRef<'_>) -> Outcome {
        match op {
            WriteRef::Put { key, value } => {
                self.write_ref(key, value);
                Outcome::Done
            }
            WriteRef::Append { key, value } => {
                match self.data.get_mut(key) {
                    Some(entry) => {
                        entry.value.push_str(value);
                        entry.version += 1;
                    }
                    None => {
                        self.data.insert(key.to_owned(), Entry { value: value.to_owned(), version: 1 });
                    }
                }
                Outcome::Done
            }
            WriteRef::Delete { key } => {
                self.data.remove(key);
                Outcome::Done
            }
            WriteRef::CPut { key, value, version } => {
                if self.get(key).1 != version {
                    return Outcome::ErrVersion;
                }
                self.write_ref(key, value);
                Outcome::Done
            }
        }
    }

    /// [`KvMachine::write`] of borrowed strings.
    fn write_ref(&mut self, key: &str, value: &str) {
        match self.data.get_mut(key) {
            Some(entry) => {
                entry.value = value.to_owned();
                entry.version += 1;
            }
            None => {
                self.data.insert(key.to_owned(), Entry { value: value.to_owned(), version: 1 });
            }
        }
    }
    // skeleton: omit end

    fn write(&mut self, key: String, value: String) {
        match self.data.get_mut(&key) {
            Some(entry) => {
                entry.value = value;
                entry.version += 1;
            }
            None => {
                self.data.insert(key, Entry { value, version: 1 });
            }
        }
    }

    /// The value and version of `key`; an absent key is `(None, 0)`.
    pub fn get(&self, key: &str) -> (Option<&str>, u64) {
        match self.data.get(key) {
            Some(entry) => (Some(&entry.value), entry.version),
            None => (None, 0),
        }
    }

    /// Present keys.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Clients in the duplicate table.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Bytes the store takes: key and value heap buffers (capacity, not length) plus each
    /// entry's B-tree slot at the worst node fill.
    pub fn store_bytes(&self) -> usize {
        let slot = size_of::<String>() + size_of::<Entry>();
        self.data.iter().map(|(k, e)| k.capacity() + e.value.capacity() + slot * BTREE_SLOT_FACTOR).sum()
    }

    /// Bytes the duplicate table takes: each client's B-tree slot (id, last seq, reply) at the
    /// worst node fill, plus the heap buffers of the swap and transaction answers it keeps.
    pub fn session_bytes(&self) -> usize {
        let slots = self.sessions.len() * (size_of::<u64>() + size_of::<Session>()) * BTREE_SLOT_FACTOR;
        let answers: usize = self
            .sessions
            .values()
            .map(|s| match &s.reply {
                Stored::Full(answer) => size_of::<Outcome>() + heap_bytes(answer),
                Stored::Done | Stored::ErrVersion => 0,
            })
            .sum();
        slots + answers
    }

    /// Everything the machine holds, in bytes.
    pub fn state_bytes(&self) -> usize {
        size_of::<KvMachine>() + self.store_bytes() + self.session_bytes()
    }

    /// Postcard's bytes, in a buffer of their exact size (measured first, so not reallocated as
    /// it grows: a snapshot of a large store was copied several times).
    pub fn encode(&self) -> Vec<u8> {
        labrpc::net::encode(self).expect("a KvMachine always encodes")
    }

    pub fn decode(bytes: &[u8]) -> Result<KvMachine, postcard::Error> {
        labrpc::net::decode(bytes)
    }
}

/// kvraft replicates the machine through the state machine layer: each log entry is a
/// [`Request`], applied with its duplicate detection.
impl labapi::StateMachine for KvMachine {
    type Op = Request;
    type Output = Outcome;

    fn apply(&mut self, request: Request) -> Outcome {
        KvMachine::apply(self, request)
    }

    fn snapshot(&self) -> Vec<u8> {
        self.encode()
    }

    fn restore(&mut self, snapshot: &[u8]) {
        *self = KvMachine::decode(snapshot)
            .unwrap_or_else(|e| panic!("kv machine: corrupt snapshot ({} bytes): {e}", snapshot.len()));
    }
    // skeleton: omit begin (an optimisation of the reference; the trait's default is correct)

    /// An optimisation: a read changes nothing (reads keep no duplicate-table entry), so one
    /// whose answer nobody takes is skipped. Writes go through the trait's `apply`, the same path a
    /// leader's take.
    fn apply_unobserved(&mut self, request: Request) {
        if !request.op.is_read() {
            let _ = labapi::StateMachine::apply(self, request);
        }
    }

    /// An optimisation: a read nobody waits for is skipped from the start of its bytes, before
    /// its strings are decoded (a follower sees every read in the log). A put, append, delete or
    /// cput is read in place, its strings borrowed from the entry, and goes through the same
    /// duplicate check as a decoded one (`apply_write`); a swap or transaction, whose answer the
    /// table keeps, is decoded whole and goes through `apply_unobserved`.
    fn apply_unobserved_encoded(&mut self, request: &[u8]) {
        let (RequestStart { client, seq }, op) = labrpc::net::take::<RequestStart>(request).unwrap_or_else(undecodable);
        let (kind, fields) = labrpc::net::take::<OpKind>(op).unwrap_or_else(undecodable);
        let write = match kind {
            OpKind::Get | OpKind::Scan => return,
            OpKind::Put => {
                let KeyValueRef { key, value } = decode_fields(fields);
                WriteRef::Put { key, value }
            }
            OpKind::Append => {
                let KeyValueRef { key, value } = decode_fields(fields);
                WriteRef::Append { key, value }
            }
            OpKind::Delete => WriteRef::Delete { key: decode_fields::<KeyRef>(fields).key },
            OpKind::CPut => {
                let CPutRef { key, value, version } = decode_fields(fields);
                WriteRef::CPut { key, value, version }
            }
            OpKind::Swap | OpKind::Txn => {
                // The operation from its own first byte on: the client and number are read once.
                let op = labrpc::net::decode(op).unwrap_or_else(undecodable);
                labapi::StateMachine::apply_unobserved(self, Request { client, seq, op });
                return;
            }
        };
        let _ = self.apply_write(client, seq, write);
    }
    // skeleton: omit end
}

// skeleton: omit begin (what the reference's apply_unobserved_encoded reads)
fn undecodable<T>(e: postcard::Error) -> T {
    panic!("kv machine: a committed request does not decode: {e}")
}

/// The start of a [`Request`]'s encoding: postcard writes a struct's fields in order, so this
/// reads a request's client and number, and what follows is the operation's encoding.
#[derive(Deserialize)]
struct RequestStart {
    client: u64,
    seq: u64,
}

/// [`Op`]'s variants in [`Op`]'s order, without their fields: postcard writes an enum as its
/// variant's index followed by the variant's fields, so this reads an operation's kind and leaves
/// its strings unread.
#[derive(Debug, PartialEq, Eq, Deserialize)]
enum OpKind {
    Get,
    Put,
    Append,
    Delete,
    CPut,
    Swap,
    Scan,
    Txn,
}

impl OpKind {
    /// [`Op::is_read`].
    #[cfg(test)]
    fn is_read(&self) -> bool {
        matches!(self, OpKind::Get | OpKind::Scan)
    }
}

/// A mutation [`KvMachine::apply_write`] runs: it changes the machine and answers done or
/// wrong version.
trait Write {
    fn execute_on(self, machine: &mut KvMachine) -> Outcome;
}

impl Write for Op {
    fn execute_on(self, machine: &mut KvMachine) -> Outcome {
        machine.execute(self)
    }
}

/// A put, append, delete or cput read in place from a committed request (a follower's), its
/// strings borrowed from the log entry's bytes.
enum WriteRef<'a> {
    Put { key: &'a str, value: &'a str },
    Append { key: &'a str, value: &'a str },
    Delete { key: &'a str },
    CPut { key: &'a str, value: &'a str, version: u64 },
}

impl Write for WriteRef<'_> {
    fn execute_on(self, machine: &mut KvMachine) -> Outcome {
        machine.execute_ref(self)
    }
}

/// The fields of [`Op`]'s variants, in their order, borrowed: postcard writes a variant's
/// fields after its index, as a struct's, and a string as its length and bytes.
#[derive(Deserialize)]
struct KeyRef<'a> {
    key: &'a str,
}

#[derive(Deserialize)]
struct KeyValueRef<'a> {
    key: &'a str,
    value: &'a str,
}

#[derive(Deserialize)]
struct CPutRef<'a> {
    key: &'a str,
    value: &'a str,
    version: u64,
}

/// A variant's fields: the rest of a committed request, nothing after them.
fn decode_fields<'a, T: Deserialize<'a>>(fields: &'a [u8]) -> T {
    let (value, rest) = labrpc::net::take::<T>(fields).unwrap_or_else(undecodable);
    debug_assert!(rest.is_empty(), "kv machine: {} bytes after a committed operation", rest.len());
    value
}
// skeleton: omit end

/// Heap bytes an outcome holds (buffer capacities).
fn heap_bytes(outcome: &Outcome) -> usize {
    match outcome {
        Outcome::Value { value, .. } => value.as_ref().map_or(0, String::capacity),
        Outcome::Range { entries, .. } => {
            entries.capacity() * size_of::<KeyValue>()
                + entries.iter().map(|e| e.key.capacity() + e.value.capacity()).sum::<usize>()
        }
        Outcome::Txn { results, .. } => {
            results.capacity() * size_of::<Outcome>() + results.iter().map(heap_bytes).sum::<usize>()
        }
        Outcome::Done | Outcome::ErrVersion | Outcome::ErrMaybe => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(client: u64, seq: u64, op: Op) -> Request {
        Request { client, seq, op }
    }
    fn get(key: &str) -> Op {
        Op::Get { key: key.into() }
    }
    fn put(key: &str, value: &str) -> Op {
        Op::Put { key: key.into(), value: value.into() }
    }
    fn append(key: &str, value: &str) -> Op {
        Op::Append { key: key.into(), value: value.into() }
    }
    fn cput(key: &str, value: &str, version: u64) -> Op {
        Op::CPut { key: key.into(), value: value.into(), version }
    }
    fn value(v: Option<&str>, version: u64) -> Outcome {
        Outcome::Value { value: v.map(str::to_string), version }
    }

    #[test]
    fn versions_follow_the_model() {
        let mut m = KvMachine::new();
        assert_eq!(m.apply(req(1, 1, get("k"))), value(None, 0));
        assert_eq!(m.apply(req(1, 2, append("k", "a"))), Outcome::Done);
        assert_eq!(m.apply(req(1, 3, get("k"))), value(Some("a"), 1));
        assert_eq!(m.apply(req(1, 4, put("k", "b"))), Outcome::Done);
        assert_eq!(m.apply(req(1, 5, cput("k", "c", 1))), Outcome::ErrVersion);
        assert_eq!(m.apply(req(1, 6, cput("k", "c", 2))), Outcome::Done);
        assert_eq!(m.apply(req(1, 7, get("k"))), value(Some("c"), 3));
        assert_eq!(m.apply(req(1, 8, Op::Delete { key: "k".into() })), Outcome::Done);
        assert_eq!(m.apply(req(1, 9, get("k"))), value(None, 0));
        assert_eq!(m.apply(req(1, 10, Op::Delete { key: "k".into() })), Outcome::Done);
        assert_eq!(m.apply(req(1, 11, cput("k", "d", 0))), Outcome::Done);
        assert_eq!(m.apply(req(1, 12, get("k"))), value(Some("d"), 1));
        assert_eq!(m.apply(req(1, 13, append("k", "e"))), Outcome::Done);
        assert_eq!(m.get("k"), (Some("de"), 2));
    }

    #[test]
    fn duplicates_apply_once_and_get_the_first_reply() {
        let mut m = KvMachine::new();
        assert_eq!(m.apply(req(7, 1, append("k", "x"))), Outcome::Done);
        assert_eq!(m.apply(req(7, 1, append("k", "x"))), Outcome::Done);
        assert_eq!(m.get("k"), (Some("x"), 1));
        // A retried cput answers what its first try did, even after the version moved on.
        assert_eq!(m.apply(req(7, 2, cput("k", "y", 1))), Outcome::Done);
        assert_eq!(m.apply(req(8, 1, put("k", "z"))), Outcome::Done);
        assert_eq!(m.apply(req(7, 2, cput("k", "y", 1))), Outcome::Done);
        assert_eq!(m.apply(req(7, 3, cput("k", "w", 1))), Outcome::ErrVersion);
        assert_eq!(m.apply(req(7, 3, cput("k", "w", 3))), Outcome::ErrVersion);
        assert_eq!(m.get("k"), (Some("z"), 3));
        // A request older than the client's last: nobody waits for it, and it never re-applies.
        assert_eq!(m.apply(req(7, 1, append("k", "x"))), Outcome::ErrMaybe);
        assert_eq!(m.get("k"), (Some("z"), 3));
        // Reads never touch the table.
        assert_eq!(m.apply(req(9, 1, get("k"))), value(Some("z"), 3));
        assert_eq!(m.sessions(), 2);
    }

    #[test]
    fn idle_clients_cost_little_and_values_are_not_duplicated() {
        let mut m = KvMachine::new();
        let big = "v".repeat(1 << 20);
        for client in 0..1000 {
            m.apply(req(client, 1, put("k", &big)));
        }
        assert!(m.session_bytes() <= 1000 * 64, "{}", m.session_bytes());
        assert!(m.state_bytes() < (1 << 20) + 1000 * 64 + 1000, "{}", m.state_bytes());
    }

    fn scan(from: &str, to: &str, limit: u64) -> Op {
        Op::Scan { from: from.into(), to: to.into(), limit }
    }
    fn kv(key: &str, value: &str, version: u64) -> KeyValue {
        KeyValue { key: key.into(), value: value.into(), version }
    }

    #[test]
    fn swap_scan_and_transactions() {
        use labapi::kv::{Cmp, Compare, Target};
        let mut m = KvMachine::new();
        assert_eq!(m.apply(req(1, 1, Op::Swap { key: "b".into(), value: "1".into() })), value(None, 0));
        assert_eq!(m.apply(req(1, 2, Op::Swap { key: "b".into(), value: "2".into() })), value(Some("1"), 1));
        m.apply(req(1, 3, put("a", "x")));
        m.apply(req(1, 4, put("c", "y")));
        let range = |entries: Vec<KeyValue>, more| Outcome::Range { entries, more };
        assert_eq!(m.apply(req(1, 5, scan("a", "b", 10))), range(vec![kv("a", "x", 1), kv("b", "2", 2)], false));
        assert_eq!(m.apply(req(1, 6, scan("a", "z", 2))), range(vec![kv("a", "x", 1), kv("b", "2", 2)], true));
        assert_eq!(m.apply(req(1, 7, scan("c", "a", 10))), range(vec![], false));
        assert_eq!(m.apply(req(1, 8, scan("bb", "c", 10))), range(vec![kv("c", "y", 1)], false));
        // A transaction: its branch sees its own writes; the other branch does not run.
        let txn = |version| {
            Op::Txn(Txn {
                compares: vec![
                    Compare { key: "a".into(), cmp: Cmp::Eq, target: Target::Version(version) },
                    Compare { key: "zz".into(), cmp: Cmp::Ne, target: Target::Value("q".into()) },
                ],
                success: vec![put("a", "t"), get("a"), Op::Delete { key: "c".into() }],
                failure: vec![append("b", "!")],
            })
        };
        assert_eq!(m.apply(req(2, 1, txn(7))), Outcome::Txn { succeeded: false, results: vec![Outcome::Done] });
        assert_eq!(m.get("b"), (Some("2!"), 3));
        let done = Outcome::Txn { succeeded: true, results: vec![Outcome::Done, value(Some("t"), 2), Outcome::Done] };
        assert_eq!(m.apply(req(2, 2, txn(1))), done);
        assert_eq!((m.get("a"), m.get("c")), ((Some("t"), 2), (None, 0)));
        // Retries get the first answer back whole, and apply nothing again.
        m.apply(req(3, 1, put("a", "other")));
        assert_eq!(m.apply(req(2, 2, txn(1))), done);
        assert_eq!(m.get("a"), (Some("other"), 3));
        assert_eq!(m.apply(req(1, 2, Op::Swap { key: "b".into(), value: "2".into() })), Outcome::ErrMaybe);
        assert_eq!(m.apply(req(4, 1, Op::Swap { key: "a".into(), value: "s".into() })), value(Some("other"), 3));
        assert_eq!(m.apply(req(4, 1, Op::Swap { key: "a".into(), value: "s".into() })), value(Some("other"), 3));
        assert_eq!(m.get("a"), (Some("s"), 4));
        // A kept answer is counted in the table's bytes.
        let before = m.session_bytes();
        m.apply(req(4, 2, Op::Swap { key: "a".into(), value: "v".repeat(1000) }));
        m.apply(req(4, 3, Op::Swap { key: "a".into(), value: "w".into() }));
        assert!(m.session_bytes() >= before + 900, "{} vs {before}", m.session_bytes());
    }

    #[test]
    fn encoded_requests_apply_as_decoded_ones_and_reads_are_read_by_kind() {
        use labapi::kv::{Cmp, Compare, Target};
        use labapi::StateMachine;
        let ops = [
            get("k"),
            put("k", "v"),
            append("k", "w"),
            Op::Delete { key: "k".into() },
            cput("k", "x", 0),
            Op::Swap { key: "k".into(), value: "y".into() },
            scan("a", "z", 3),
            Op::Txn(Txn {
                compares: vec![Compare { key: "k".into(), cmp: Cmp::Eq, target: Target::Version(2) }],
                success: vec![append("k", "t")],
                failure: vec![],
            }),
        ];
        let kinds = [
            OpKind::Get,
            OpKind::Put,
            OpKind::Append,
            OpKind::Delete,
            OpKind::CPut,
            OpKind::Swap,
            OpKind::Scan,
            OpKind::Txn,
        ];
        let (mut decoded, mut encoded) = (KvMachine::new(), KvMachine::new());
        for (k, (op, kind)) in ops.iter().zip(kinds).enumerate() {
            // Client ids are random 64-bit numbers: varints of every length.
            let request = req(u64::MAX >> (k * 8), 1 << (k * 7), op.clone());
            let bytes = labrpc::net::encode(&request).unwrap();
            let (start, rest) = labrpc::net::take::<RequestStart>(&bytes).unwrap();
            assert_eq!((start.client, start.seq), (request.client, request.seq));
            assert_eq!(rest, labrpc::net::encode(op).unwrap(), "not the operation's encoding");
            let start_kind: OpKind = labrpc::net::take(rest).unwrap().0;
            assert_eq!((&start_kind, start_kind.is_read()), (&kind, op.is_read()), "{op:?}");
            decoded.apply_unobserved(request.clone());
            encoded.apply_unobserved_encoded(&bytes);
            // Retries too.
            decoded.apply_unobserved(request);
            encoded.apply_unobserved_encoded(&bytes);
            assert_eq!(encoded, decoded, "after {op:?}");
        }
        assert_eq!(decoded.get("k"), (Some("yt"), 3), "the transaction applied");
    }

    /// Random writes, retries and stale requests of a few clients on a few keys: a follower's
    /// writes read in place leave the machine as decoded ones do, buffer capacities included.
    #[test]
    fn writes_read_in_place_apply_as_decoded_ones() {
        use labapi::StateMachine;
        let mut rng = crate::test_rng::TestRng::new(0x2545_f491_4f6c_dd1d);
        let mut next = move |bound: u64| rng.below(bound);
        let (mut decoded, mut in_place) = (KvMachine::new(), KvMachine::new());
        let mut seqs = [0u64; 4];
        for step in 0..20_000 {
            let client = next(4);
            // Mostly the next number; sometimes a retry of the last, or an older one.
            let seq = match next(10) {
                0 => seqs[client as usize],
                1 => seqs[client as usize].saturating_sub(1 + next(3)),
                _ => {
                    seqs[client as usize] += 1;
                    seqs[client as usize]
                }
            };
            let key = ["", "a", "k", "k2", "long-key-name"][next(5) as usize].to_string();
            let value = "v".repeat(next(40) as usize) + &step.to_string();
            let op = match next(8) {
                0 => Op::Put { key, value },
                1 | 2 => Op::Append { key, value },
                3 => Op::Delete { key },
                4 => Op::CPut { key, value, version: next(4) },
                5 => Op::Swap { key, value },
                6 => get(&key),
                _ => scan("a", "l", next(3)),
            };
            let request = Request { client: client.wrapping_mul(0x9e37_79b9_7f4a_7c15), seq, op };
            let bytes = labrpc::net::encode(&request).unwrap();
            // Decoded from the bytes, as the follower's path did: strings at their exact size.
            let request: Request = labrpc::net::decode(&bytes).unwrap();
            decoded.apply_unobserved(request);
            in_place.apply_unobserved_encoded(&bytes);
            assert_eq!(in_place, decoded, "step {step}");
            assert_eq!(in_place.store_bytes(), decoded.store_bytes(), "step {step}: other capacities");
        }
        assert!(!decoded.is_empty() && decoded.sessions() == 4);
    }

    #[test]
    fn snapshots_round_trip() {
        let mut m = KvMachine::new();
        m.apply(req(1, 1, put("a", "1")));
        m.apply(req(2, 1, cput("b", "2", 1)));
        let bytes = m.encode();
        assert_eq!(bytes, postcard::to_stdvec(&m).unwrap(), "not postcard's bytes");
        assert_eq!(bytes.capacity(), bytes.len(), "not at the exact size");
        let copy = KvMachine::decode(&bytes).unwrap();
        assert_eq!(copy, m);
    }
}
