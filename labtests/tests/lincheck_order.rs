//! Real-time order at equal times (sequence numbers) and operations that returned without a
//! known output ("maybe"): at the checker, and through the kv recorder inside a simulation.

use labrpc::sim::{self, Config};
use labtests::kv::{Client, Recorder};
use lincheck::{check, CheckOptions, History, KvInput, KvModel, KvOutput, Operation, Stamp, Verdict};
use raftkv::kvsrv::{KvClient, Op, Outcome};

fn put(value: &str) -> KvInput {
    KvInput::Put { key: "k".into(), value: value.into() }
}

fn get() -> KvInput {
    KvInput::Get { key: "k".into() }
}

fn read(value: Option<&str>, version: u64) -> KvOutput {
    KvOutput::Get { value: value.map(str::to_string), version: Some(version) }
}

fn cput(value: &str, version: u64) -> KvInput {
    KvInput::CPut { key: "k".into(), value: value.into(), version }
}

fn verdict(history: &History<KvInput, KvOutput>) -> Verdict {
    check(&KvModel, history, &CheckOptions::default()).verdict
}

/// The same operations with their sequence numbers dropped: what the checker saw before.
fn without_seq(history: &History<KvInput, KvOutput>) -> History<KvInput, KvOutput> {
    history
        .ops()
        .iter()
        .map(|op| {
            let mut op: Operation<KvInput, KvOutput> = op.clone();
            op.call_seq = None;
            if let Some(ret) = op.ret.as_mut() {
                ret.seq = None;
            }
            op
        })
        .collect()
}

#[test]
fn a_stale_read_at_the_same_instant_is_caught_with_sequence_numbers() {
    // One client: put(k, v1) over [100, 100], then get(k) -> absent over [100, 100].
    let mut history = History::new();
    history
        .push_returned(1, Stamp::sequenced(100, 0), Stamp::sequenced(100, 1), put("v1"), Some(KvOutput::Done))
        .unwrap();
    history.push_returned(1, Stamp::sequenced(100, 2), Stamp::sequenced(100, 3), get(), Some(read(None, 0))).unwrap();
    assert_eq!(verdict(&history), Verdict::Illegal);
    // Without sequence numbers the tie is concurrency, and the get may go first.
    assert_eq!(verdict(&without_seq(&history)), Verdict::Ok);
    // The same instant, but the get was called before the put returned: concurrent, legal.
    let mut overlapping = History::new();
    overlapping
        .push_returned(1, Stamp::sequenced(100, 0), Stamp::sequenced(100, 2), put("v1"), Some(KvOutput::Done))
        .unwrap();
    overlapping
        .push_returned(2, Stamp::sequenced(100, 1), Stamp::sequenced(100, 3), get(), Some(read(None, 0)))
        .unwrap();
    assert_eq!(verdict(&overlapping), Verdict::Ok);
}

#[test]
fn time_orders_before_sequence_numbers() {
    // seq only breaks ties: a return at 50 precedes a call at 60 whatever their seqs say.
    let mut history = History::new();
    history
        .push_returned(1, Stamp::sequenced(40, 9), Stamp::sequenced(50, 10), put("v1"), Some(KvOutput::Done))
        .unwrap();
    history.push_returned(2, Stamp::sequenced(60, 1), Stamp::sequenced(70, 2), get(), Some(read(None, 0))).unwrap();
    assert_eq!(verdict(&history), Verdict::Illegal);
}

#[test]
#[should_panic(expected = "a history's events all have a seq or none do")]
fn mixing_sequenced_and_plain_events_is_a_bug() {
    let mut history: History<KvInput, KvOutput> = History::new();
    history.push(1, 0, 1, put("a"), KvOutput::Done).unwrap();
    history.invoke_at(2, Stamp::sequenced(2, 0), get());
}

#[test]
fn a_maybe_precedes_the_clients_next_operation() {
    // Client 1: cput(k, a, version 0) answered "maybe" over [0, 10], then get(k) -> absent over
    // [20, 30]; client 2 later reads "a". Only a cput taking effect after the get explains both
    // reads, and a returned maybe cannot.
    let build = |maybe_returned: bool| {
        let mut history = History::new();
        if maybe_returned {
            history.push_output_unknown(1, 0, 10, cput("a", 0)).unwrap();
        } else {
            history.push_unknown(1, 0, cput("a", 0));
        }
        history.push(1, 20, 30, get(), read(None, 0)).unwrap();
        history.push(2, 40, 50, get(), read(Some("a"), 1)).unwrap();
        history
    };
    assert_eq!(verdict(&build(true)), Verdict::Illegal);
    // The same cput recorded as never returned may take effect late: legal.
    assert_eq!(verdict(&build(false)), Verdict::Ok);
}

#[test]
fn a_maybe_may_have_applied_or_not() {
    // It applied: the later read sees it.
    let mut applied = History::new();
    applied.push_output_unknown(1, 0, 10, cput("a", 0)).unwrap();
    applied.push(1, 20, 30, get(), read(Some("a"), 1)).unwrap();
    assert_eq!(verdict(&applied), Verdict::Ok);
    // It did not (the version had moved on): the later read sees the put.
    let mut refused = History::new();
    refused.push(2, 0, 5, put("x"), KvOutput::Done).unwrap();
    refused.push_output_unknown(1, 10, 20, cput("a", 0)).unwrap();
    refused.push(1, 30, 40, get(), read(Some("x"), 1)).unwrap();
    assert_eq!(verdict(&refused), Verdict::Ok);
    // But it must be one or the other before its return: it cannot have applied at version 1.
    let mut impossible = History::new();
    impossible.push(2, 0, 5, put("x"), KvOutput::Done).unwrap();
    impossible.push_output_unknown(1, 10, 20, cput("a", 0)).unwrap();
    impossible.push(1, 30, 40, get(), read(Some("a"), 2)).unwrap();
    assert_eq!(verdict(&impossible), Verdict::Illegal);
}

/// A broken store that answers instantly (zero virtual time): writes are acknowledged and
/// dropped, reads see absent; conditional puts answer `cput_answer`.
struct ForgetfulClerk {
    cput_answer: Outcome,
}

impl KvClient for ForgetfulClerk {
    fn execute(&mut self, op: Op) -> Outcome {
        match op {
            Op::Get { .. } => Outcome::Value { value: None, version: 0 },
            Op::CPut { .. } => self.cput_answer.clone(),
            Op::Put { .. } | Op::Append { .. } | Op::Delete { .. } => Outcome::Done,
            other => unimplemented!("these tests send no {other:?}"),
        }
    }
}

/// Runs `body` with a recorded client over a `ForgetfulClerk` in a simulation and returns the
/// history.
fn record(cput_answer: Outcome, body: fn(&mut Client<ForgetfulClerk>)) -> History<KvInput, KvOutput> {
    let report = sim::run(7, &Config::default(), move || {
        let recorder = Recorder::new();
        let mut client = Client::new(ForgetfulClerk { cput_answer }, 1, recorder.clone());
        body(&mut client);
        recorder.snapshot().0
    })
    .unwrap_or_else(|failure| panic!("{failure}"));
    report.value
}

#[test]
fn the_recorder_orders_zero_time_operations_as_they_happened() {
    let history = record(Outcome::Done, |client| {
        client.put("k", "v1");
        assert_eq!(client.get("k"), (None, 0));
    });
    assert!(history.is_sequenced());
    let ops = history.ops();
    assert_eq!(ops.len(), 2);
    assert_eq!((ops[0].call_time, ops[0].return_time()), (0, Some(0)), "no virtual time passes");
    assert_eq!((ops[1].call_time, ops[1].return_time()), (0, Some(0)));
    assert_eq!(verdict(&history), Verdict::Illegal, "the stale read must fail");
    assert_eq!(verdict(&without_seq(&history)), Verdict::Ok, "by time alone the tie hides it");
}

#[test]
fn the_recorder_keeps_a_maybe_as_returned_with_unknown_output() {
    // cput(k, a, version 0) answered "maybe" on an absent key, then get(k) -> absent. Before its
    // return the key was at version 0, so the cput applied: the read is stale.
    let history = record(Outcome::ErrMaybe, |client| {
        assert_eq!(client.execute(Op::CPut { key: "k".into(), value: "a".into(), version: 0 }), Outcome::ErrMaybe);
        assert_eq!(client.get("k"), (None, 0));
    });
    let ops = history.ops();
    assert!(ops[0].output_unknown() && ops[0].ret.is_some(), "{:?}", ops[0]);
    assert!(ops[0].precedes(&ops[1]));
    assert_eq!(verdict(&history), Verdict::Illegal);
    // Recorded as never returned (as before), it could take effect after the read.
    let never_returned: History<KvInput, KvOutput> = history
        .ops()
        .iter()
        .cloned()
        .enumerate()
        .map(|(index, mut op)| {
            if index == 0 {
                op.ret = None;
            }
            op
        })
        .collect();
    assert_eq!(verdict(&never_returned), Verdict::Ok);

    // At a version the key does not have, the maybe did not apply: the same read is legal.
    let history = record(Outcome::ErrMaybe, |client| {
        assert_eq!(client.execute(Op::CPut { key: "k".into(), value: "a".into(), version: 5 }), Outcome::ErrMaybe);
        assert_eq!(client.get("k"), (None, 0));
    });
    assert_eq!(verdict(&history), Verdict::Ok);
}
