//! The page's data for real runs, without a browser (`scripts/timeline-browser-check` renders
//! one in headless Chromium): what the harness saw is on the page, the failure is marked, and
//! recording leaves the run's schedule exactly as it was.

use std::time::Duration;

use labrpc::time;

use super::model::Fate;
use super::*;
use crate::raft::{ApplierKind, Cluster, Command, Reliability};

/// Three peers elect a leader and commit, peer 2 is disconnected then crashed, peer 1 paused,
/// and at 3.5 s a planted check fails (as a harness check does: a panic on the test's node).
fn planted_failure() {
    let cfg = Cluster::<raftkv::raft::Raft>::new(3, Reliability::Reliable, ApplierKind::Plain);
    cfg.one(&Command::Value(11), 3, true);
    cfg.disconnect(2);
    time::sleep(Duration::from_millis(300));
    cfg.crash(2);
    cfg.pause(1, Duration::from_millis(200));
    time::sleep(Duration::from_secs(3).saturating_sub(time::now().since_start()));
    time::sleep(Duration::from_millis(500));
    panic!("planted check: peer 9 applied nonsense");
}

fn case(run: fn()) -> Case {
    Case { run, ..crate::dstest::case::for_tests("planted_failure", "test", "timeline") }
}

#[test]
fn a_failing_run_shows_states_applies_messages_faults_and_the_failure() {
    let (outcome, t) = record(&case(planted_failure), 5);
    let failure = outcome.expect_err("the planted check fails");
    assert_eq!(&t.lanes[..3], ["peer-0", "peer-1", "peer-2"], "{:?}", t.lanes);
    assert_eq!(t.lanes.last().map(String::as_str), Some("main"));

    // Every peer's state was seen, and one of them led.
    for lane in 0..3 {
        assert!(t.states.iter().any(|s| s.lane == lane), "no state of lane {lane}");
    }
    let leader = t.states.iter().find(|s| s.leader).expect("a leader was seen");
    assert!(leader.term >= 1);
    // The command was applied at index 1 by all three peers.
    let applied_1: Vec<usize> = t.applied.iter().filter(|a| a.index == 1).map(|a| a.lane).collect();
    assert_eq!(applied_1.len(), 3, "{:?}", t.applied);

    // Votes and appends between the peers, answered.
    let method =
        |name: &str| t.methods.iter().position(|m| m == name).unwrap_or_else(|| panic!("{name}: {:?}", t.methods));
    for name in ["Raft.RequestVote", "Raft.AppendEntries"] {
        let m = method(name);
        let replied = t.messages.iter().filter(|msg| msg.method == m && msg.fate == Fate::Replied);
        assert!(replied.clone().count() > 0, "no {name} replied");
        for msg in replied {
            let handled = msg.handled_us.expect("a replied call was handled");
            assert!(msg.sent_us <= handled && handled <= msg.end_us.unwrap(), "{msg:?}");
            assert!(msg.from < 3 && msg.to < 3 && msg.from != msg.to, "{msg:?}");
        }
    }

    // Faults: peer 2 disconnected then down until the end; peer 1 paused for 200 ms.
    let band = |lane: usize, kind: &str| t.bands.iter().find(|b| b.lane == lane && b.kind == kind);
    let disconnected = band(2, "disconnected").expect("peer 2 disconnected");
    let down = band(2, "down").expect("peer 2 down");
    assert!(disconnected.from_us < down.from_us && down.to_us == t.end_us, "{disconnected:?} {down:?}");
    let paused = band(1, "paused").expect("peer 1 paused");
    assert_eq!(paused.to_us - paused.from_us, 200_000);
    assert!(t.marks.iter().any(|m| m.lane == 2 && m.kind == "crash"));
    let last_of_2 = t.states.iter().rev().find(|s| s.lane == 2).unwrap();
    assert!(!last_of_2.seen && last_of_2.at_us == down.from_us, "a crashed peer's last answer ends: {last_of_2:?}");

    // The failure: its time, its node, the report's text with the seed.
    let mark = t.failure.as_ref().expect("the failure is marked");
    assert_eq!(mark.at_us, failure.virtual_time.as_micros() as u64);
    assert_eq!(mark.at_us, 3_500_000);
    assert_eq!(mark.lane.map(|l| t.lanes[l].as_str()), Some("main"));
    assert!(
        mark.text.contains("planted check: peer 9 applied nonsense") && mark.text.contains("seed 5"),
        "{}",
        mark.text
    );

    // The page carries all of it, with the failure colour and the jump button.
    let html = page::render(&t);
    assert!(html.contains(page::FAILURE_COLOUR) && html.contains("Jump to the failure"));
    assert!(html.contains("planted check: peer 9 applied nonsense") && html.contains("\"Raft.RequestVote\""));
    assert!(!html.contains("http://") && !html.contains("https://"), "the page fetches nothing");
    assert!(t.window.is_none(), "a short run is drawn whole");
}

#[test]
fn recording_does_not_move_the_schedule() {
    let c = case(planted_failure);
    let plain = c.run_seed(5, false).expect_err("fails");
    let (recorded, _) = record(&c, 5);
    let recorded = recorded.expect_err("fails");
    assert_eq!(plain.virtual_time, recorded.virtual_time);
    let headline = |f: &labrpc::sim::Failure| f.to_string().lines().take(2).collect::<Vec<_>>().join("\n");
    assert_eq!(headline(&plain), headline(&recorded));
    // A passing scenario hashes the same recorded or not.
    let pass = crate::dstest::cases().into_iter().find(|c| c.name == "initial_election_3a").expect("in the table");
    let plain = pass.run_seed(3, false).expect("passes");
    let (recorded, t) = record(&pass, 3);
    assert_eq!(recorded.expect("passes").hash, plain.hash);
    assert!(t.failure.is_none() && !t.messages.is_empty());
}

#[test]
fn a_long_run_is_windowed_around_the_failure() {
    let (_, mut t) = record(&case(planted_failure), 5);
    let total = t.items();
    window::bound(&mut t, total / 4);
    let w = t.window.clone().expect("windowed");
    let failure_us = t.failure.as_ref().unwrap().at_us;
    assert!(w.from_us <= failure_us && failure_us <= w.to_us.max(failure_us), "{w:?}");
    assert!(w.items_left_out > 0 && t.items() < total);
    assert!(page::render(&t).contains("items_left_out"));
}
