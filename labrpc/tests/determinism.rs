//! One seed decides everything: same seed, same hash; different seeds, different runs; a run's
//! hash does not depend on what else runs in the process; nondeterminism is caught and located.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::net::{Network, Server, Service};
use labrpc::sim::{self, Config, FailureKind, Knobs};
use labrpc::sync::Mutex;
use labrpc::{node, rand, thread, time, NodeId};

/// A small but busy world: three nodes calling each other over an unreliable network, with
/// random sleeps, lock contention and a crash.
fn busy_world() -> u64 {
    let net = Network::new();
    net.set_reliable(false);
    let nodes: Vec<NodeId> = (0..3).map(|i| node::create(&format!("n{i}"))).collect();
    let total = Arc::new(Mutex::new(0u64));
    for (i, &n) in nodes.iter().enumerate() {
        let t = total.clone();
        let svc = Service::new("W").method("Add", move |x: u64| {
            *t.lock() += x;
            x
        });
        net.add_server(&format!("s{i}"), n, Server::new().with_service(svc));
    }
    let mut handles = Vec::new();
    for (i, &n) in nodes.iter().enumerate() {
        let end = net.make_end(&format!("e{i}"), n);
        net.connect(&format!("e{i}"), &format!("s{}", (i + 1) % 3));
        handles.push(thread::Builder::new().node(n).spawn(move || {
            let mut acc = 0u64;
            for _ in 0..20 {
                time::sleep(Duration::from_millis(rand::range(1..50)));
                if let Ok(v) = end.call::<u64, u64>("W.Add", &rand::range(0..1000)) {
                    acc = acc.wrapping_add(v);
                }
            }
            acc
        }));
    }
    time::sleep(Duration::from_millis(300));
    node::crash(nodes[2]);
    let mut acc = 0;
    for h in handles {
        acc += h.join().unwrap_or(0);
    }
    let total = *total.lock();
    acc ^ total
}

#[test]
fn same_seed_same_hash_and_different_seeds_differ() {
    let config = Config::default();
    let mut hashes = std::collections::BTreeSet::new();
    for seed in 0..100 {
        let a = sim::run(seed, &config, busy_world).unwrap();
        let b = sim::run(seed, &config, busy_world).unwrap();
        assert_eq!(a.hash, b.hash, "seed {seed}");
        assert_eq!(a.value, b.value, "seed {seed}");
        assert_eq!(a.virtual_time, b.virtual_time, "seed {seed}");
        hashes.insert(a.hash);
    }
    assert_eq!(hashes.len(), 100, "different seeds gave equal hashes");
}

#[test]
fn hash_is_the_same_alone_or_beside_other_simulations() {
    let config = Config::default();
    let alone: Vec<u64> = (0..8).map(|s| sim::run(s, &config, busy_world).unwrap().hash).collect();
    // The same seeds again, on four OS threads at once, interleaved with other seeds.
    #[allow(clippy::disallowed_methods)]
    let workers: Vec<_> = (0..4u64)
        .map(|w| {
            let config = config.clone();
            std::thread::spawn(move || {
                let mut out = Vec::new();
                for s in (w..8).step_by(4) {
                    sim::run(1000 + s, &config, busy_world).unwrap();
                    out.push((s, sim::run(s, &config, busy_world).unwrap().hash));
                }
                out
            })
        })
        .collect();
    for w in workers {
        for (s, hash) in w.join().unwrap() {
            assert_eq!(hash, alone[s as usize], "seed {s} changed when run beside others");
        }
    }
}

#[test]
fn preemption_changes_the_schedule_but_stays_deterministic() {
    let config = Config { preempt_per_mille: 200, ..Config::default() };
    let plain = sim::run(5, &Config::default(), busy_world).unwrap().hash;
    let a = sim::run(5, &config, busy_world).unwrap().hash;
    let b = sim::run(5, &config, busy_world).unwrap().hash;
    assert_eq!(a, b);
    assert_ne!(a, plain);
}

#[test]
fn nondeterminism_is_reported_at_the_first_divergent_event() {
    // A process-global counter is exactly what server code must not read: the second run sees a
    // different value and sleeps for a different time.
    static LEAK: AtomicU64 = AtomicU64::new(0);
    let target = labrpc::target!("nondeterminism_is_reported_at_the_first_divergent_event");
    let knobs = Knobs { seed: Some(3), check_determinism: true, ..Knobs::default() };
    let failure = sim::check_with(&target, Config::default(), &knobs, || {
        let n = node::create("leaky");
        thread::Builder::new()
            .name("reader")
            .node(n)
            .spawn(|| {
                time::sleep(Duration::from_millis(10));
                let v = LEAK.fetch_add(1, Ordering::SeqCst);
                time::sleep(Duration::from_millis(1 + v));
            })
            .join()
            .unwrap();
    })
    .unwrap_err();
    assert!(matches!(*failure.kind, FailureKind::Nondeterminism { divergence: Some(_), .. }));
    insta::assert_snapshot!(failure.to_string());
}

#[test]
fn knob_driven_check_passes_many_seeds_with_determinism_check() {
    let target = labrpc::target!("knob_driven_check_passes_many_seeds_with_determinism_check");
    let knobs = Knobs { seed: Some(100), runs: 20, check_determinism: true, ..Knobs::default() };
    sim::check_with(&target, Config::default(), &knobs, || {
        busy_world();
    })
    .unwrap();
}
