//! Fault plans (`sim::fault_plan`): recording every fault changes nothing about a run, and a plan
//! that keeps a subset replays exactly and injects only that subset.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::net::{Network, Server, Service};
use labrpc::persister::{CrashPoints, Persister};
use labrpc::sim::fault_plan::{FaultId, FaultKind, FaultPlan};
use labrpc::sim::{self, Config, Report};
use labrpc::{node, thread, time, NodeId};

/// A server that saves on every request, on a network with every rule on, crash points, and three
/// clients; the main thread restarts the server whenever a crash point took it down. Returns the
/// replies the clients got.
fn workload() -> u64 {
    let net = Network::new();
    net.set_reliable(false);
    net.set_long_reordering(true);
    net.set_duplicate_per_mille(50);
    net.set_late_duplicate_per_mille(50);
    net.set_crash_after_reply_per_mille(10);
    net.set_held_replies(50, Duration::from_millis(100), Duration::from_millis(300));
    let server = node::create("server");
    let points = CrashPoints { mid_save_per_mille: 10, after_save_per_mille: 10 };
    let start = |persister: &Persister| {
        persister.set_crash_points(points);
        let p = persister.clone();
        let lock = Arc::new(labrpc::sync::Mutex::new(0u64));
        let svc = Service::new("Store").method("Put", move |x: u64| {
            let mut total = lock.lock();
            *total += x;
            p.save_raft_state(total.to_le_bytes().to_vec());
            *total
        });
        net.add_server("store", server, Server::new().with_service(svc));
    };
    let mut persister = Persister::new();
    start(&persister);
    let replies = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..3)
        .map(|c| {
            let end = net.make_end(&format!("client-{c}"), NodeId::MAIN);
            net.connect(&format!("client-{c}"), "store");
            let replies = replies.clone();
            thread::spawn(move || {
                for i in 0..60u64 {
                    if end.call::<u64, u64>("Store.Put", &i).is_ok() {
                        replies.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    while clients.iter().any(|c| !c.is_finished()) {
        time::sleep(Duration::from_millis(50));
        if !node::is_alive(server) {
            node::restart(server);
            persister = persister.copy();
            start(&persister);
        }
    }
    replies.load(Ordering::SeqCst)
}

fn config(plan: Option<FaultPlan>) -> Config {
    Config { time_limit: Duration::from_secs(10_000), preempt_per_mille: 50, fault_plan: plan, ..Config::default() }
}

fn run(seed: u64, plan: Option<FaultPlan>) -> Report<u64> {
    sim::run(seed, &config(plan), workload).expect("the workload never fails")
}

#[test]
fn recording_every_fault_changes_nothing() {
    let mut kinds_seen = BTreeMap::new();
    for seed in 1..=5 {
        let plain = run(seed, None);
        let plan = FaultPlan::record_all();
        let recorded = run(seed, Some(plan.clone()));
        assert_eq!((plain.hash, plain.value), (recorded.hash, recorded.value), "seed {seed}");
        let records = plan.records();
        assert!(records.len() > 50, "seed {seed}: only {} faults recorded", records.len());
        assert!(records.iter().all(|r| r.injected), "record_all refused a fault");
        // Ordinals count each kind's decisions from 0, in the order they happened.
        let mut next: BTreeMap<FaultKind, u64> = BTreeMap::new();
        for r in &records {
            let n = next.entry(r.id.kind).or_default();
            assert_eq!(r.id.ordinal, *n, "{r:?}");
            *n += 1;
        }
        assert!(records.windows(2).all(|w| w[0].time_ns <= w[1].time_ns), "records out of time order");
        for (kind, n) in next {
            *kinds_seen.entry(kind).or_insert(0) += n;
        }
    }
    let simulator_kinds = [
        FaultKind::RequestDelay,
        FaultKind::DropRequest,
        FaultKind::Duplicate,
        FaultKind::DropReply,
        FaultKind::Reorder,
        FaultKind::LateDuplicate,
        FaultKind::CrashAfterReply,
        FaultKind::HeldReply,
        FaultKind::CrashMidSave,
        FaultKind::CrashAfterSave,
        FaultKind::Preempt,
    ];
    for kind in simulator_kinds {
        assert!(kinds_seen.contains_key(&kind), "no {kind} decision in 5 seeds: {kinds_seen:?}");
    }
}

#[test]
fn keeping_every_recorded_fault_replays_the_run_and_keeping_none_injects_none() {
    let seed = 3;
    let plan = FaultPlan::record_all();
    let original = run(seed, Some(plan.clone()));
    let all: Vec<FaultId> = plan.records().iter().map(|r| r.id).collect();
    let same = run(seed, Some(FaultPlan::only(all.iter().copied())));
    assert_eq!(same.hash, original.hash);

    let none = FaultPlan::only([]);
    let quiet = run(seed, Some(none.clone()));
    assert!(quiet.hash != original.hash);
    assert!(!none.records().is_empty() && none.injected().is_empty(), "{:?}", none.injected());
    // With no fault at all every call is answered, nothing crashes, every client call succeeds.
    assert_eq!(quiet.value, 180);
}

#[test]
fn a_subset_injects_only_its_own_faults_and_replays_exactly() {
    let seed = 4;
    let plan = FaultPlan::record_all();
    run(seed, Some(plan.clone()));
    let all: Vec<FaultId> = plan.records().iter().map(|r| r.id).collect();
    // Every third fault of the original run.
    let subset: Vec<FaultId> = all.iter().copied().step_by(3).collect();
    let first = FaultPlan::only(subset.iter().copied());
    let second = FaultPlan::only(subset.iter().copied());
    let a = run(seed, Some(first.clone()));
    let b = run(seed, Some(second.clone()));
    assert_eq!(a.hash, b.hash);
    assert_eq!(first.records(), second.records());
    let injected = first.injected();
    assert!(!injected.is_empty());
    assert!(injected.iter().all(|r| subset.contains(&r.id)), "a fault outside the plan was injected");
    assert!(injected.len() < all.len() / 2, "{} of {} injected", injected.len(), all.len());
}

#[test]
fn a_harness_fault_is_recorded_with_its_detail_and_can_be_refused() {
    let body = || {
        time::sleep(Duration::from_millis(5));
        let crashed = labrpc::sim::fault_plan::allow(FaultKind::Crash, || "server 2".to_string());
        // Outside a plan's view nothing changes: the answer is yes.
        crashed
    };
    assert!(sim::run(1, &Config::default(), body).unwrap().value);
    let plan = FaultPlan::record_all();
    assert!(sim::run(1, &config(Some(plan.clone())), body).unwrap().value);
    let records = plan.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!((r.id.kind, r.id.ordinal, r.time_ns, r.detail.as_str()), (FaultKind::Crash, 0, 5_000_000, "server 2"));
    assert_eq!((&*r.node, r.thread.starts_with("main")), ("main", true));
    let refuse = FaultPlan::only([]);
    assert!(!sim::run(1, &config(Some(refuse.clone())), body).unwrap().value);
    assert!(!refuse.records()[0].injected);
    // Outside a simulation every fault happens.
    assert!(labrpc::sim::fault_plan::allow(FaultKind::Pause, String::new));
}
