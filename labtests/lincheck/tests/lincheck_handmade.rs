//! Hand-made histories with known answers: the classic anomalies, never-returned operations,
//! partitions, and the limits (timeout, cache bound) that make the answer unknown.

mod lincheck_common;

use std::time::Duration;

use lincheck::{
    check, CheckOptions, History, KvInput, KvModel, KvOutput, PartitionStatus, RegisterInput, RegisterModel,
    RegisterOutput, Verdict,
};
use lincheck_common::assert_valid_linearization;

type KvHistory = History<KvInput, KvOutput>;

fn put(key: &str, value: &str) -> KvInput {
    KvInput::Put { key: key.into(), value: value.into() }
}

fn append(key: &str, value: &str) -> KvInput {
    KvInput::Append { key: key.into(), value: value.into() }
}

fn get(key: &str) -> KvInput {
    KvInput::Get { key: key.into() }
}

fn seen(value: Option<&str>) -> KvOutput {
    KvOutput::Get { value: value.map(str::to_string), version: None }
}

fn seen_version(value: &str, version: u64) -> KvOutput {
    KvOutput::Get { value: Some(value.into()), version: Some(version) }
}

fn verdict(history: &KvHistory) -> Verdict {
    let result = check(&KvModel, history, &CheckOptions::default());
    if result.verdict == Verdict::Ok {
        for partition in &result.partitions {
            assert_valid_linearization(&KvModel, history.ops(), &partition.op_indices, &partition.linearized);
        }
    }
    result.verdict
}

#[test]
fn stale_read_is_caught_and_named() {
    let mut h = KvHistory::new();
    h.push(1, 0, 10, put("k", "a"), KvOutput::Done).unwrap();
    h.push(1, 20, 30, put("k", "b"), KvOutput::Done).unwrap();
    let stale = h.push(2, 40, 50, get("k"), seen(Some("a"))).unwrap();
    let result = check(&KvModel, &h, &CheckOptions::default());
    assert_eq!(result.verdict, Verdict::Illegal);
    let violation = result.violation().unwrap();
    assert_eq!(violation.blocked_op, Some(stale.0));
    assert_eq!(violation.linearized, vec![0, 1]);

    // Control: the same read concurrent with the second put may see either value.
    let mut h = KvHistory::new();
    h.push(1, 0, 10, put("k", "a"), KvOutput::Done).unwrap();
    h.push(1, 20, 45, put("k", "b"), KvOutput::Done).unwrap();
    h.push(2, 40, 50, get("k"), seen(Some("a"))).unwrap();
    assert_eq!(verdict(&h), Verdict::Ok);
}

#[test]
fn lost_write_is_caught() {
    // Two concurrent appends both completed; a later read sees only one of them.
    let mut h = KvHistory::new();
    h.push(1, 0, 10, append("k", "x"), KvOutput::Done).unwrap();
    h.push(2, 2, 12, append("k", "y"), KvOutput::Done).unwrap();
    h.push(3, 20, 30, get("k"), seen(Some("x"))).unwrap();
    assert_eq!(verdict(&h), Verdict::Illegal);
    // Controls: either order of both appends is fine.
    for both in ["xy", "yx"] {
        let mut h = KvHistory::new();
        h.push(1, 0, 10, append("k", "x"), KvOutput::Done).unwrap();
        h.push(2, 2, 12, append("k", "y"), KvOutput::Done).unwrap();
        h.push(3, 20, 30, get("k"), seen(Some(both))).unwrap();
        assert_eq!(verdict(&h), Verdict::Ok, "{both}");
    }
}

#[test]
fn duplicated_append_is_caught() {
    let mut h = KvHistory::new();
    h.push(1, 0, 10, append("k", "x"), KvOutput::Done).unwrap();
    h.push(2, 20, 30, get("k"), seen(Some("xx"))).unwrap();
    assert_eq!(verdict(&h), Verdict::Illegal);
    // A retried append that was applied twice also shows in the version.
    let mut h = KvHistory::new();
    h.push(1, 0, 10, append("k", "x"), KvOutput::Done).unwrap();
    h.push(2, 20, 30, get("k"), seen_version("x", 2)).unwrap();
    assert_eq!(verdict(&h), Verdict::Illegal);
    let mut h = KvHistory::new();
    h.push(1, 0, 10, append("k", "x"), KvOutput::Done).unwrap();
    h.push(2, 20, 30, get("k"), seen_version("x", 1)).unwrap();
    assert_eq!(verdict(&h), Verdict::Ok);
}

#[test]
fn read_from_the_future_is_caught() {
    // The read returned before the write was even called.
    let mut h = KvHistory::new();
    h.push(1, 0, 10, get("k"), seen(Some("a"))).unwrap();
    h.push(2, 11, 20, put("k", "a"), KvOutput::Done).unwrap();
    assert_eq!(verdict(&h), Verdict::Illegal);
    // Equal times count as concurrent: no violation hinges on a tie.
    let mut h = KvHistory::new();
    h.push(1, 0, 10, get("k"), seen(Some("a"))).unwrap();
    h.push(2, 10, 20, put("k", "a"), KvOutput::Done).unwrap();
    assert_eq!(verdict(&h), Verdict::Ok);
}

#[test]
fn never_returned_write_may_take_effect_late_or_never() {
    // Seen long after its call: fine.
    let mut h = KvHistory::new();
    h.push_unknown(1, 0, put("k", "a"));
    h.push(2, 10, 20, get("k"), seen(None)).unwrap();
    h.push(2, 100, 110, get("k"), seen(Some("a"))).unwrap();
    assert_eq!(verdict(&h), Verdict::Ok);
    // Never seen: fine too.
    let mut h = KvHistory::new();
    h.push_unknown(1, 0, put("k", "a"));
    h.push(2, 100, 110, get("k"), seen(None)).unwrap();
    assert_eq!(verdict(&h), Verdict::Ok);
    // Seen, then unseen without any other write: it cannot be undone.
    let mut h = KvHistory::new();
    h.push_unknown(1, 0, put("k", "a"));
    h.push(2, 10, 20, get("k"), seen(Some("a"))).unwrap();
    h.push(2, 30, 40, get("k"), seen(None)).unwrap();
    assert_eq!(verdict(&h), Verdict::Illegal);
    // Not before its call.
    let mut h = KvHistory::new();
    h.push(2, 10, 20, get("k"), seen(Some("a"))).unwrap();
    h.push_unknown(1, 30, put("k", "a"));
    assert_eq!(verdict(&h), Verdict::Illegal);
}

#[test]
fn live_recording_with_invoke_and_finish() {
    let mut h = KvHistory::new();
    let w = h.invoke(1, 0, put("k", "a"));
    let r = h.invoke(2, 5, get("k"));
    h.finish(r, 8, seen(Some("a"))).unwrap();
    h.finish(w, 9, KvOutput::Done).unwrap();
    let lost = h.invoke(3, 10, put("k", "b")); // never finished: outcome unknown
    assert!(h.ops()[lost.0].ret.is_none());
    assert_eq!(verdict(&h), Verdict::Ok);
    let late = h.invoke(4, 50, get("k"));
    let error = h.finish(late, 40, seen(None)).unwrap_err();
    assert_eq!(error.to_string(), "return 40 is before call 50");
}

#[test]
fn register_cas_semantics() {
    let mut h: History<RegisterInput, RegisterOutput> = History::new();
    h.push(1, 0, 10, RegisterInput::Write(1), RegisterOutput::Done).unwrap();
    h.push(2, 20, 30, RegisterInput::Cas { from: 1, to: 2 }, RegisterOutput::Cas(true)).unwrap();
    h.push(3, 25, 35, RegisterInput::Cas { from: 1, to: 3 }, RegisterOutput::Cas(true)).unwrap();
    // Both cas from 1 cannot succeed.
    let result = check(&RegisterModel, &h, &CheckOptions::default());
    assert_eq!(result.verdict, Verdict::Illegal);
    let mut h: History<RegisterInput, RegisterOutput> = History::new();
    h.push(1, 0, 10, RegisterInput::Write(1), RegisterOutput::Done).unwrap();
    h.push(2, 20, 30, RegisterInput::Cas { from: 1, to: 2 }, RegisterOutput::Cas(true)).unwrap();
    h.push(3, 25, 35, RegisterInput::Cas { from: 1, to: 3 }, RegisterOutput::Cas(false)).unwrap();
    h.push(3, 40, 50, RegisterInput::Read, RegisterOutput::Read(Some(2))).unwrap();
    let result = check(&RegisterModel, &h, &CheckOptions::default());
    assert_eq!(result.verdict, Verdict::Ok);
}

#[test]
fn partitions_are_checked_independently_and_named() {
    let mut h = KvHistory::new();
    for key in ["a", "b", "c", "d"] {
        h.push(1, 0, 10, put(key, "1"), KvOutput::Done).unwrap();
        h.push(2, 20, 30, get(key), seen(Some("1"))).unwrap();
    }
    // Only key "c" is broken.
    h.push(3, 40, 50, get("c"), seen(Some("2"))).unwrap();
    for threads in [1, 2, 4] {
        let options = CheckOptions { threads: Some(threads), ..CheckOptions::default() };
        let result = check(&KvModel, &h, &options);
        assert_eq!(result.verdict, Verdict::Illegal);
        // Smallest first ("c" is the largest): the others are done before it, whatever the
        // number of threads, except one a thread had not finished when "c" was found illegal.
        let statuses: Vec<_> = result.partitions.iter().map(|p| p.status.clone()).collect();
        assert_eq!(statuses[2], PartitionStatus::Illegal, "{statuses:?}");
        for status in [&statuses[0], &statuses[1], &statuses[3]] {
            assert!(matches!(status, PartitionStatus::Linearizable | PartitionStatus::Cancelled), "{statuses:?}");
        }
        if threads == 1 {
            assert!(statuses.iter().filter(|&status| *status == PartitionStatus::Linearizable).count() == 3);
        }
        let violation = result.violation().unwrap();
        assert_eq!(violation.label, "key \"c\"");
        assert_eq!(violation.blocked_op, Some(8));
    }
}

#[test]
fn the_first_illegal_key_stops_the_search_of_the_others() {
    // Keys "a" to "c": 40 concurrent never-returned puts and a read of a value none wrote, far
    // too expensive to decide; key "z": a plain stale read.
    let mut h = KvHistory::new();
    for key in ["a", "b", "c"] {
        for n in 0..40 {
            h.push_unknown(n, 0, put(key, &format!("v{n}")));
        }
        h.push(99, 1, 1000, get(key), seen(Some("never written"))).unwrap();
    }
    h.push(100, 0, 10, put("z", "1"), KvOutput::Done).unwrap();
    h.push(101, 20, 30, get("z"), seen(None)).unwrap();
    for threads in [1, 2, 4] {
        // The timeout only keeps a broken checker from hanging the test.
        let options = CheckOptions { threads: Some(threads), ..CheckOptions::with_timeout(Duration::from_secs(60)) };
        let result = check(&KvModel, &h, &options);
        assert_eq!(result.verdict, Verdict::Illegal);
        assert_eq!(result.violation().unwrap().label, "key \"z\"");
        let statuses: Vec<_> = result.partitions.iter().map(|p| p.status.clone()).collect();
        assert_eq!(
            &statuses[..3],
            &[PartitionStatus::Cancelled, PartitionStatus::Cancelled, PartitionStatus::Cancelled]
        );
        assert!(result.elapsed < Duration::from_secs(10), "{threads} threads: stopped after {:?}", result.elapsed);
    }
}

/// Concurrent never-returned puts and a read of a value none wrote: illegal, but proving it
/// means trying every subset and order of the puts, far more than any test can wait for.
fn hopeless(puts: usize) -> KvHistory {
    let mut h = KvHistory::new();
    for n in 0..puts {
        h.push_unknown(n as u64, 0, put("k", &format!("v{n}")));
    }
    h.push(99, 1, 1000, get("k"), seen(Some("never written"))).unwrap();
    h
}

#[test]
fn timeout_stops_the_search_with_unknown() {
    let timeout = Duration::from_millis(50);
    let result = check(&KvModel, &hopeless(40), &CheckOptions::with_timeout(timeout));
    assert_eq!(result.verdict, Verdict::Unknown);
    assert_eq!(result.partitions[0].status, PartitionStatus::TimedOut);
    assert!(result.elapsed < Duration::from_secs(2), "stopped after {:?}", result.elapsed);
    // The same shape, small enough to finish, is indeed illegal.
    let result = check(&KvModel, &hopeless(6), &CheckOptions::default());
    assert_eq!(result.verdict, Verdict::Illegal);
}

#[test]
fn step_budget_stops_the_search_with_unknown_at_the_same_step_every_time() {
    let options = CheckOptions { max_steps: Some(20_000), ..CheckOptions::default() };
    let first = check(&KvModel, &hopeless(40), &options);
    assert_eq!(first.verdict, Verdict::Unknown);
    assert_eq!(first.partitions[0].status, PartitionStatus::BudgetSpent { steps: 20_000 });
    assert_eq!(first.total_steps(), 20_000);
    let again = check(&KvModel, &hopeless(40), &options);
    assert_eq!(again.partitions[0].linearized, first.partitions[0].linearized);
    assert_eq!(again.partitions[0].cache_entries, first.partitions[0].cache_entries);
    // A history that needs fewer steps than the budget is decided, and says how many it took.
    let result = check(&KvModel, &hopeless(6), &options);
    assert_eq!(result.verdict, Verdict::Illegal);
    assert!(result.total_steps() > 0 && result.total_steps() < 20_000);
}

#[test]
fn cache_bound_stops_the_search_with_unknown() {
    let options = CheckOptions { max_cache_bytes: 64 << 10, ..CheckOptions::default() };
    let result = check(&KvModel, &hopeless(40), &options);
    assert_eq!(result.verdict, Verdict::Unknown);
    assert!(matches!(result.partitions[0].status, PartitionStatus::CacheFull { .. }));
}

#[test]
fn illegal_wins_over_unknown() {
    let mut h = hopeless(40);
    h.push(1, 0, 10, put("other", "a"), KvOutput::Done).unwrap();
    h.push(2, 20, 30, get("other"), seen(Some("b"))).unwrap();
    let result = check(&KvModel, &h, &CheckOptions::with_timeout(Duration::from_millis(50)));
    assert_eq!(result.verdict, Verdict::Illegal);
}

#[test]
fn empty_history_is_linearizable() {
    assert_eq!(verdict(&KvHistory::new()), Verdict::Ok);
}
