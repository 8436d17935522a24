//! Crash points (rules 9, 11 and 12 of `net/faults.rs`): a server's node crashes right after
//! sending a reply, in the middle of a persister save (the previous state stays) or right after
//! one, each at its configured rate; the harness learns of it through `node::is_alive`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::net::{Network, RpcError, Server, Service};
use labrpc::persister::{CrashPoints, Persister};
use labrpc::sim::{self, Config};
use labrpc::{node, thread, time, NodeId};

fn long_config() -> Config {
    Config { time_limit: Duration::from_secs(100_000), ..Config::default() }
}

fn echo_server(runs: &Arc<AtomicU64>) -> Server {
    let r = runs.clone();
    Server::new().with_service(Service::new("Echo").method("Echo", move |x: u64| {
        r.fetch_add(1, Ordering::SeqCst);
        x + 1
    }))
}

#[test]
fn crash_after_reply_delivers_the_reply_then_the_node_is_down() {
    sim::check(&labrpc::target!("crash_after_reply_delivers_the_reply_then_the_node_is_down"), long_config(), || {
        let net = Network::new();
        let server = node::create("server");
        let runs = Arc::new(AtomicU64::new(0));
        net.add_server("echo", server, echo_server(&runs));
        let end = net.make_end("client", NodeId::MAIN);
        net.connect("client", "echo");
        net.set_crash_after_reply_per_mille(100);
        let calls = 2000u64;
        let mut crashes = 0u64;
        for i in 0..calls {
            assert_eq!(end.call::<u64, u64>("Echo.Echo", &i), Ok(i + 1), "the reply before a crash point was lost");
            if !node::is_alive(server) {
                // What a harness does: notice, restart the node, start a new server on it.
                crashes += 1;
                assert_eq!(node::incarnation(server), crashes);
                node::restart(server);
                net.add_server("echo", server, echo_server(&runs));
            }
        }
        assert_eq!(runs.load(Ordering::SeqCst), calls);
        // 10% of 2000: mean 200, standard deviation 13.4; the bounds are 5 of them.
        assert!((133..267).contains(&crashes), "crashes after reply: {crashes} of {calls} at 10%");

        // A crash while the reply travels (latency) still delivers it; a later call finds no route.
        net.set_crash_after_reply_per_mille(1000);
        net.set_latency(Duration::from_millis(5), Duration::from_millis(5));
        assert_eq!(end.call::<u64, u64>("Echo.Echo", &7), Ok(8));
        assert!(!node::is_alive(server));
        assert_eq!(end.call::<u64, u64>("Echo.Echo", &7), Err(RpcError::Unreachable));
    });
}

/// One saver thread on a node saves 1, 2, 3, ... until a crash point stops it; the test restarts
/// it from a copy of the persister, as a harness does, until `cycles` crashes happened.
struct SaveCounts {
    saves: u64,
    mid: u64,
    after: u64,
}

fn save_until_crashes(points: CrashPoints, cycles: u64, snapshot_too: bool) -> SaveCounts {
    let server = node::create("server");
    let mut persister = Persister::new();
    persister.set_crash_points(points);
    let mut counts = SaveCounts { saves: 0, mid: 0, after: 0 };
    let mut stored_before = 0;
    for _ in 0..cycles {
        let attempted = Arc::new(AtomicU64::new(0));
        let (saver, attempt) = (persister.clone(), attempted.clone());
        let first = counts.saves + 1;
        thread::Builder::new().name("saver").node(server).spawn(move || {
            for i in first.. {
                attempt.store(i, Ordering::SeqCst);
                let bytes = i.to_le_bytes().to_vec();
                if snapshot_too {
                    saver.save(bytes.clone(), bytes);
                } else {
                    saver.save_raft_state(bytes);
                }
                time::sleep(Duration::from_millis(1));
            }
        });
        while node::is_alive(server) {
            time::sleep(Duration::from_millis(1));
        }
        let tried = attempted.load(Ordering::SeqCst);
        let stored = persister.read_raft_state();
        let stored = if stored.is_empty() { 0 } else { u64::from_le_bytes(stored.try_into().unwrap()) };
        if stored == tried {
            counts.after += 1;
        } else {
            let previous = if tried == first { stored_before } else { tried - 1 };
            assert_eq!(stored, previous, "save {tried} crashed midway but changed the stored state");
            counts.mid += 1;
        }
        if snapshot_too {
            assert_eq!(persister.read_snapshot(), persister.read_raft_state(), "a torn save half-applied");
        }
        counts.saves = tried;
        stored_before = stored;
        // The crashed instance is down: nothing more lands in its persister.
        let dead = persister.clone();
        thread::Builder::new().node(NodeId::MAIN).spawn(move || dead.save_raft_state(vec![0xff])).join().unwrap();
        assert_ne!(persister.read_raft_state(), vec![0xff], "a save after the crash point landed");
        persister = persister.copy();
        node::restart(server);
    }
    counts
}

#[test]
fn crash_points_of_a_save_fire_at_their_rates_and_never_tear_it() {
    sim::check(&labrpc::target!("crash_points_of_a_save_fire_at_their_rates_and_never_tear_it"), long_config(), || {
        let points = CrashPoints { mid_save_per_mille: 50, after_save_per_mille: 50 };
        for snapshot_too in [false, true] {
            let c = save_until_crashes(points, 800, snapshot_too);
            // Per save: mid 5%, after 0.95 * 5% = 4.75%; over about 8200 saves the standard
            // deviation is 0.24%; the bounds are 4.5 of them.
            let (mid_rate, after_rate) = (c.mid as f64 / c.saves as f64, c.after as f64 / c.saves as f64);
            assert!((0.039..0.061).contains(&mid_rate), "mid-save crashes {} of {} saves", c.mid, c.saves);
            assert!((0.037..0.058).contains(&after_rate), "after-save crashes {} of {} saves", c.after, c.saves);
        }
    });
}

#[test]
fn crash_points_carry_over_a_copy_and_spare_the_main_node() {
    sim::check(&labrpc::target!("crash_points_carry_over_a_copy_and_spare_the_main_node"), long_config(), || {
        let p = Persister::new();
        p.set_crash_points(CrashPoints { mid_save_per_mille: 1000, after_save_per_mille: 0 });
        // The test's own thread saves: never crashed.
        p.save_raft_state(vec![1]);
        assert_eq!(p.read_raft_state(), vec![1]);
        let server = node::create("server");
        let successor = p.copy();
        let saver = successor.clone();
        thread::Builder::new().node(server).spawn(move || saver.save_raft_state(vec![2]));
        time::sleep(Duration::from_millis(1));
        assert!(!node::is_alive(server), "the copy lost its crash points");
        assert_eq!(successor.read_raft_state(), vec![1]);
        // Turned off, saves land again (on a fresh copy: the crashed one is down).
        let next = successor.copy();
        next.set_crash_points(CrashPoints::default());
        node::restart(server);
        let saver = next.clone();
        thread::Builder::new().node(server).spawn(move || saver.save_raft_state(vec![3])).join().unwrap();
        assert!(node::is_alive(server));
        assert_eq!(next.read_raft_state(), vec![3]);
    });
}

/// An in-place update is one save like the others: crashed midway, its edit never ran.
#[test]
fn an_update_crashed_midway_leaves_the_saved_bytes_untouched() {
    sim::check(&labrpc::target!("an_update_crashed_midway_leaves_the_saved_bytes_untouched"), long_config(), || {
        let p = Persister::new();
        p.save_raft_state(vec![1, 2]);
        p.set_crash_points(CrashPoints { mid_save_per_mille: 1000, after_save_per_mille: 0 });
        let server = node::create("server");
        let saver = p.clone();
        thread::Builder::new().node(server).spawn(move || saver.update_raft_state(|state| state.push(3)));
        time::sleep(Duration::from_millis(1));
        assert!(!node::is_alive(server), "the mid-save crash point did not fire");
        assert_eq!(p.read_raft_state(), vec![1, 2]);
    });
}

#[test]
#[should_panic(expected = "mid-save crash probability 1001 per mille is above 1000")]
fn a_crash_probability_above_one_is_refused() {
    Persister::new().set_crash_points(CrashPoints { mid_save_per_mille: 1001, after_save_per_mille: 0 });
}
