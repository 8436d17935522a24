//! The network's fault rules, measured over many calls, and its topology controls.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::net::{ClientEnd, Network, RpcError, Server, Service};
use labrpc::sim::{self, Config};
use labrpc::{node, thread, time, NodeId};

/// A server "echo" on its own node, counting handler runs, and one end from the main node.
fn echo_setup(net: &Network) -> (NodeId, ClientEnd, Arc<AtomicU64>) {
    let server = node::create("server");
    let runs = Arc::new(AtomicU64::new(0));
    let r = runs.clone();
    let svc = Service::new("Echo").method("Echo", move |x: u64| {
        r.fetch_add(1, Ordering::SeqCst);
        x + 1
    });
    net.add_server("echo", server, Server::new().with_service(svc));
    let end = net.make_end("client", NodeId::MAIN);
    net.connect("client", "echo");
    (server, end, runs)
}

fn long_config() -> Config {
    Config { time_limit: Duration::from_secs(100_000), ..Config::default() }
}

#[test]
fn reliable_call_round_trip_counts_rpcs_and_bytes() {
    sim::check(&labrpc::target!("reliable_call_round_trip_counts_rpcs_and_bytes"), Config::default(), || {
        let net = Network::new();
        let (_, end, runs) = echo_setup(&net);
        let start = time::now();
        for i in 0..10u64 {
            assert_eq!(end.call::<u64, u64>("Echo.Echo", &i), Ok(i + 1));
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "a reliable network adds no delay");
        assert_eq!(runs.load(Ordering::SeqCst), 10);
        assert_eq!(net.rpc_count("echo"), 10);
        let id = net.server_id("echo");
        assert_eq!(net.server_counts_of(id), (10, 10));
        assert_eq!(net.server_counts_of(id), (net.rpc_count("echo"), net.answered_count("echo")));
        assert_eq!(net.server_counts_of(net.server_id("nobody")), (0, 0), "a name without a server counts nothing");
        assert_eq!(net.total_rpcs(), 10);
        // postcard: u64 values below 128 are one byte, each way.
        assert_eq!(net.total_bytes(), 20);
    });
}

#[test]
#[should_panic(expected = "belongs to another network")]
fn a_server_id_is_read_on_its_own_network_only() {
    let (a, b) = (Network::new(), Network::new());
    let id = a.server_id("echo");
    assert_eq!(a.server_counts_of(id), (0, 0));
    b.server_counts_of(id);
}

#[test]
fn unreliable_drop_and_delay_rates_within_bounds() {
    sim::check(&labrpc::target!("unreliable_drop_and_delay_rates_within_bounds"), long_config(), || {
        let net = Network::new();
        let (_, end, runs) = echo_setup(&net);
        net.set_reliable(false);
        let calls = 4000u64;
        let mut ok = 0u64;
        let mut max_ok_ms = 0u128;
        for i in 0..calls {
            let t = time::now();
            if end.call::<u64, u64>("Echo.Echo", &i).is_ok() {
                ok += 1;
                max_ok_ms = max_ok_ms.max(t.elapsed().as_millis());
            }
        }
        // 10% of requests and 10% of replies dropped: success 0.9 * 0.9 = 0.81.
        let rate = ok as f64 / calls as f64;
        assert!((0.78..0.84).contains(&rate), "success rate {rate}");
        // Handlers ran for every request that was not dropped: about 90%.
        let ran = runs.load(Ordering::SeqCst) as f64 / calls as f64;
        assert!((0.88..0.92).contains(&ran), "handler rate {ran}");
        // Successful calls take the 0-26 ms request delay only.
        assert!(max_ok_ms <= 26, "max delay {max_ok_ms} ms");
        assert!(max_ok_ms >= 20, "delays never reached 20 ms: {max_ok_ms} ms");
    });
}

#[test]
fn long_reordering_holds_about_two_thirds_of_replies() {
    sim::check(&labrpc::target!("long_reordering_holds_about_two_thirds_of_replies"), long_config(), || {
        let net = Network::new();
        let (_, end, _) = echo_setup(&net);
        net.set_long_reordering(true);
        let calls = 3000;
        let mut held = 0;
        for i in 0..calls {
            let t = time::now();
            end.call::<u64, u64>("Echo.Echo", &i).unwrap();
            let ms = t.elapsed().as_millis();
            if ms > 0 {
                assert!((200..2200).contains(&ms), "held {ms} ms");
                held += 1;
            }
        }
        let rate = held as f64 / calls as f64;
        assert!((0.63..0.70).contains(&rate), "held fraction {rate}");
    });
}

#[test]
fn unreachable_calls_fail_after_short_or_long_delays() {
    sim::check(&labrpc::target!("unreachable_calls_fail_after_short_or_long_delays"), long_config(), || {
        let net = Network::new();
        let (_, end, runs) = echo_setup(&net);
        net.enable("client", false);
        let mut max_short = Duration::ZERO;
        for i in 0..300 {
            let t = time::now();
            assert_eq!(end.call::<u64, u64>("Echo.Echo", &i), Err(RpcError::Unreachable));
            max_short = max_short.max(t.elapsed());
        }
        assert!(max_short < Duration::from_millis(100) && max_short > Duration::from_millis(80));
        net.set_long_delays(true);
        let mut max_long = Duration::ZERO;
        for i in 0..300 {
            let t = time::now();
            assert_eq!(end.call::<u64, u64>("Echo.Echo", &i), Err(RpcError::Unreachable));
            max_long = max_long.max(t.elapsed());
        }
        assert!(max_long < Duration::from_secs(7) && max_long > Duration::from_secs(6));
        assert_eq!(runs.load(Ordering::SeqCst), 0, "a disabled end reached the handler");
        net.enable("client", true);
        assert_eq!(end.call::<u64, u64>("Echo.Echo", &1), Ok(2));
    });
}

#[test]
fn one_way_cut_loses_requests_one_way_and_replies_the_other() {
    sim::check(&labrpc::target!("one_way_cut_loses_requests_one_way_and_replies_the_other"), Config::default(), || {
        let net = Network::new();
        let (server, end, runs) = echo_setup(&net);
        // Cut main -> server: requests from main find no route.
        net.cut(NodeId::MAIN, server);
        assert_eq!(end.call::<u64, u64>("Echo.Echo", &1), Err(RpcError::Unreachable));
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        net.heal_all();
        // Cut server -> main: the request arrives (handler runs) but the reply is lost.
        net.cut(server, NodeId::MAIN);
        assert_eq!(end.call::<u64, u64>("Echo.Echo", &1), Err(RpcError::Lost));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        net.heal(server, NodeId::MAIN);
        assert_eq!(end.call::<u64, u64>("Echo.Echo", &1), Ok(2));
    });
}

#[test]
fn duplication_runs_the_handler_twice() {
    sim::check(&labrpc::target!("duplication_runs_the_handler_twice"), Config::default(), || {
        let net = Network::new();
        let (_, end, runs) = echo_setup(&net);
        net.set_duplicate_per_mille(1000);
        for i in 0..50u64 {
            assert_eq!(end.call::<u64, u64>("Echo.Echo", &i), Ok(i + 1));
        }
        time::sleep(Duration::from_millis(1));
        assert_eq!(runs.load(Ordering::SeqCst), 100);
        net.set_duplicate_per_mille(250);
        let before = runs.load(Ordering::SeqCst);
        for i in 0..2000u64 {
            end.call::<u64, u64>("Echo.Echo", &i).unwrap();
        }
        time::sleep(Duration::from_millis(1));
        let extra = runs.load(Ordering::SeqCst) - before - 2000;
        assert!((430..570).contains(&extra), "duplicates: {extra} of 2000 at 25%");
    });
}

#[test]
fn replies_from_replaced_deleted_or_crashed_servers_are_never_delivered() {
    sim::check(
        &labrpc::target!("replies_from_replaced_deleted_or_crashed_servers_are_never_delivered"),
        Config::default(),
        || {
            let net = Network::new();
            let server = node::create("server");
            let slow = Service::new("S").method("Slow", |x: u64| {
                time::sleep(Duration::from_secs(1));
                x
            });
            net.add_server("s", server, Server::new().with_service(slow));
            let end = net.make_end("c", NodeId::MAIN);
            net.connect("c", "s");

            for action in ["replace", "delete", "crash"] {
                let e = end.clone();
                let call = thread::spawn(move || e.call::<u64, u64>("S.Slow", &7));
                time::sleep(Duration::from_millis(300));
                match action {
                    "replace" => {
                        let fast = Service::new("S").method("Slow", |x: u64| x);
                        net.add_server("s", server, Server::new().with_service(fast));
                    }
                    "delete" => net.delete_server("s"),
                    _ => node::crash(server),
                }
                let t = time::now();
                assert_eq!(call.join().unwrap(), Err(RpcError::Lost), "{action}");
                // The caller notices within the 100 ms liveness check.
                assert!(t.elapsed() <= Duration::from_millis(100), "{action}: {:?}", t.elapsed());
                if action == "crash" {
                    node::restart(server);
                }
                let again = Service::new("S").method("Slow", |x: u64| x);
                net.add_server("s", server, Server::new().with_service(again));
                assert_eq!(end.call::<u64, u64>("S.Slow", &8), Ok(8), "{action}: fresh server answers");
                let slow = Service::new("S").method("Slow", |x: u64| {
                    time::sleep(Duration::from_secs(1));
                    x
                });
                net.add_server("s", server, Server::new().with_service(slow));
            }
        },
    );
}

#[test]
fn paused_server_answers_after_the_pause() {
    sim::check(&labrpc::target!("paused_server_answers_after_the_pause"), Config::default(), || {
        let net = Network::new();
        let (server, end, _) = echo_setup(&net);
        node::pause(server, Duration::from_secs(3));
        let t = time::now();
        assert_eq!(end.call::<u64, u64>("Echo.Echo", &1), Ok(2));
        assert_eq!(t.elapsed(), Duration::from_secs(3));
    });
}

#[test]
fn partitioned_servers_cannot_talk() {
    sim::check(&labrpc::target!("partitioned_servers_cannot_talk"), Config::default(), || {
        // Three servers that each call the others; a cut isolates server 2 both ways.
        let net = Network::new();
        let nodes: Vec<NodeId> = (0..3).map(|i| node::create(&format!("s{i}"))).collect();
        for (i, &n) in nodes.iter().enumerate() {
            let svc = Service::new("P").method("Ping", move |from: usize| (from, i));
            net.add_server(&format!("s{i}"), n, Server::new().with_service(svc));
        }
        let mut ends = Vec::new();
        for (i, &n) in nodes.iter().enumerate() {
            for j in 0..3 {
                let name = format!("{i}->{j}");
                ends.push((i, j, net.make_end(&name, n)));
                net.connect(&name, &format!("s{j}"));
            }
        }
        for &other in &nodes[..2] {
            net.cut(nodes[2], other);
            net.cut(other, nodes[2]);
        }
        let results = Arc::new(labrpc::sync::Mutex::new(Vec::new()));
        let handles: Vec<_> = ends
            .into_iter()
            .map(|(i, j, end)| {
                let results = results.clone();
                thread::Builder::new().node(nodes[i]).spawn(move || {
                    let ok = end.call::<usize, (usize, usize)>("P.Ping", &i).is_ok();
                    results.lock().push((i, j, ok));
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        for (i, j, ok) in results.lock().iter().copied() {
            let crosses = (i == 2) != (j == 2);
            assert_eq!(ok, !crosses, "{i}->{j}");
        }
    });
}

#[test]
fn latency_delays_requests_and_replies_and_a_crash_in_transit_loses_the_reply() {
    sim::check(
        &labrpc::target!("latency_delays_requests_and_replies_and_a_crash_in_transit_loses_the_reply"),
        long_config(),
        || {
            let net = Network::new();
            let (server, end, runs) = echo_setup(&net);
            net.set_latency(Duration::from_millis(10), Duration::from_millis(10));
            let t = time::now();
            assert_eq!(end.call::<u64, u64>("Echo.Echo", &1), Ok(2));
            assert_eq!(t.elapsed(), Duration::from_millis(20), "10 ms each way");

            // A range: round trips between 2 x 1 ms and 2 x 5 ms, averaging about 6 ms.
            net.set_latency(Duration::from_millis(1), Duration::from_millis(5));
            let calls = 2000u32;
            let (mut min, mut max, mut total) = (Duration::MAX, Duration::ZERO, Duration::ZERO);
            for i in 0..calls {
                let t = time::now();
                assert_eq!(end.call::<u64, u64>("Echo.Echo", &u64::from(i)), Ok(u64::from(i) + 1));
                let rtt = t.elapsed();
                (min, max, total) = (min.min(rtt), max.max(rtt), total + rtt);
            }
            assert!(min >= Duration::from_millis(2) && min < Duration::from_millis(3), "min round trip {min:?}");
            assert!(max <= Duration::from_millis(10) && max > Duration::from_millis(9), "max round trip {max:?}");
            let mean_ms = total.as_secs_f64() * 1000.0 / f64::from(calls);
            assert!((5.8..6.2).contains(&mean_ms), "mean round trip {mean_ms} ms");

            // The server crashes while its reply is on the wire: the reply never arrives.
            net.set_latency(Duration::from_millis(50), Duration::from_millis(50));
            let before = runs.load(Ordering::SeqCst);
            let e = end.clone();
            let call = thread::spawn(move || e.call::<u64, u64>("Echo.Echo", &5));
            time::sleep(Duration::from_millis(70)); // request arrived at 50 ms, reply due at 100
            assert_eq!(runs.load(Ordering::SeqCst), before + 1, "the handler ran");
            node::crash(server);
            assert_eq!(call.join().unwrap(), Err(RpcError::Lost));
        },
    );
}

#[test]
#[should_panic(expected = "latency range 5ms..=1ms is empty")]
fn an_empty_latency_range_is_refused() {
    Network::new().set_latency(Duration::from_millis(5), Duration::from_millis(1));
}

/// The order and outcome of the network's draws for one fixed seed, pinned: a change to any fault
/// rule, or to the order in which a call meets them, shows up in review as a diff.
/// (virtual ms, argument) of every handler run.
type RunLog = Arc<labrpc::sync::Mutex<Vec<(u128, u64)>>>;

/// An "echo" server whose handler logs every run, and one end from the main node.
fn recording_echo_setup(net: &Network) -> (NodeId, ClientEnd, RunLog) {
    let server = node::create("server");
    let runs = Arc::new(labrpc::sync::Mutex::new(Vec::new()));
    let r = runs.clone();
    let svc = Service::new("Echo").method("Echo", move |x: u64| {
        r.lock().push((time::now().since_start().as_millis(), x));
        x + 1
    });
    net.add_server("echo", server, Server::new().with_service(svc));
    let end = net.make_end("client", NodeId::MAIN);
    net.connect("client", "echo");
    (server, end, runs)
}

#[test]
fn late_duplicates_rerun_the_handler_half_a_second_to_five_seconds_later() {
    sim::check(
        &labrpc::target!("late_duplicates_rerun_the_handler_half_a_second_to_five_seconds_later"),
        long_config(),
        || {
            let net = Network::new();
            let (_, end, runs) = recording_echo_setup(&net);
            net.set_late_duplicate_per_mille(300);
            let calls = 2000u64;
            for i in 0..calls {
                assert_eq!(end.call::<u64, u64>("Echo.Echo", &i), Ok(i + 1), "a late duplicate changed the reply");
                time::sleep(Duration::from_millis(10));
            }
            time::sleep(Duration::from_secs(6));
            let runs = runs.lock();
            let mut first_run_ms = vec![None; calls as usize];
            let mut late = 0u64;
            let (mut min_late_ms, mut max_late_ms) = (u128::MAX, 0);
            for &(at_ms, x) in runs.iter() {
                match first_run_ms[x as usize] {
                    None => first_run_ms[x as usize] = Some(at_ms),
                    Some(first_ms) => {
                        let after_ms = at_ms - first_ms;
                        assert!((500..=5000).contains(&after_ms), "request {x} ran again {after_ms} ms later");
                        (min_late_ms, max_late_ms) = (min_late_ms.min(after_ms), max_late_ms.max(after_ms));
                        late += 1;
                    }
                }
            }
            // 30% of 2000: mean 600, standard deviation 20.5; the bounds are 5 of them (200 seeds
            // gave 515..=658).
            assert!((500..700).contains(&late), "late duplicates: {late} of {calls} at 30%");
            assert!(min_late_ms < 700 && max_late_ms > 4800, "late delays span {min_late_ms}..={max_late_ms} ms");
            assert_eq!(net.rpc_count("echo"), calls + late, "a late duplicate is a dispatch, counted");
            assert_eq!(net.total_rpcs(), calls, "a late duplicate is not a call");
        },
    );
}

#[test]
fn late_duplicates_reach_a_restarted_server_but_not_a_disconnected_one() {
    sim::check(
        &labrpc::target!("late_duplicates_reach_a_restarted_server_but_not_a_disconnected_one"),
        long_config(),
        || {
            let net = Network::new();
            let (server, end, runs) = recording_echo_setup(&net);
            net.set_late_duplicate_per_mille(1000);
            end.call::<u64, u64>("Echo.Echo", &1).unwrap();
            // The server restarts (a new server under the name): the stale copy reaches the new one.
            node::crash(server);
            node::restart(server);
            let r = runs.clone();
            let svc = Service::new("Echo").method("Echo", move |x: u64| {
                r.lock().push((time::now().since_start().as_millis(), 100 + x));
                x + 1
            });
            net.add_server("echo", server, Server::new().with_service(svc));
            time::sleep(Duration::from_secs(5));
            assert_eq!(runs.lock().iter().map(|&(_, x)| x).collect::<Vec<_>>(), vec![1, 101]);
            // Disabled before the copy arrives: it is lost like any message on a cut link.
            end.call::<u64, u64>("Echo.Echo", &2).unwrap();
            net.enable("client", false);
            time::sleep(Duration::from_secs(5));
            assert_eq!(runs.lock().len(), 3, "a late copy crossed a disabled end");
        },
    );
}

#[test]
fn held_replies_wait_within_the_range_at_the_configured_rate() {
    sim::check(&labrpc::target!("held_replies_wait_within_the_range_at_the_configured_rate"), long_config(), || {
        let net = Network::new();
        let (_, end, runs) = echo_setup(&net);
        net.set_held_replies(200, Duration::from_millis(1500), Duration::from_millis(4000));
        let calls = 2000u64;
        let mut held = 0u64;
        let (mut min_ms, mut max_ms) = (u128::MAX, 0);
        for i in 0..calls {
            let t = time::now();
            assert_eq!(end.call::<u64, u64>("Echo.Echo", &i), Ok(i + 1));
            let ms = t.elapsed().as_millis();
            if ms > 0 {
                assert!((1500..=4000).contains(&ms), "reply held {ms} ms");
                (min_ms, max_ms) = (min_ms.min(ms), max_ms.max(ms));
                held += 1;
            }
        }
        // 20% of 2000: mean 400, standard deviation 18; the bounds are 5 of them.
        assert!((310..490).contains(&held), "held replies: {held} of {calls} at 20%");
        assert!(min_ms < 1600 && max_ms > 3900, "holds span {min_ms}..={max_ms} ms");
        assert_eq!(runs.load(Ordering::SeqCst), calls, "holding a reply runs the handler once");
    });
}

#[test]
#[should_panic(expected = "held reply range")]
fn an_empty_held_reply_range_is_refused() {
    Network::new().set_held_replies(10, Duration::from_secs(2), Duration::from_secs(1));
}

/// Rule 13: a held link keeps its replies until released, whatever the time; the handler ran at
/// once; other links and the other direction are not held; a release delivers what was kept.
#[test]
fn held_link_keeps_replies_until_released() {
    sim::check(&labrpc::target!("held_link_keeps_replies_until_released"), long_config(), || {
        let net = Network::new();
        let (server, end, runs) = echo_setup(&net);
        let other = node::create("other");
        let other_end = net.make_end("other-client", other);
        net.connect("other-client", "echo");
        net.hold_replies(server, NodeId::MAIN);
        assert!(net.replies_held(server, NodeId::MAIN) && !net.replies_held(NodeId::MAIN, server));

        let (done_tx, done_rx) = labrpc::channel::unbounded();
        let held_end = end.clone();
        thread::spawn(move || {
            let reply = held_end.call::<u64, u64>("Echo.Echo", &1);
            done_tx.send((reply, time::now())).unwrap();
        });
        // Another caller's node is not on the held link: its reply comes at once.
        let (other_tx, other_rx) = labrpc::channel::unbounded();
        thread::Builder::new().node(other).spawn(move || {
            other_tx.send(other_end.call::<u64, u64>("Echo.Echo", &7)).unwrap();
        });
        assert_eq!(other_rx.recv().unwrap(), Ok(8));

        time::sleep(Duration::from_secs(30));
        assert!(done_rx.try_recv().is_err(), "a held reply arrived before its link was released");
        assert_eq!(runs.load(Ordering::SeqCst), 2, "the held call's handler did not run at once");
        let released_at = time::now();
        net.release_replies(server, NodeId::MAIN);
        let (reply, at) = done_rx.recv().unwrap();
        assert_eq!((reply, at), (Ok(2), released_at), "the held reply is delivered at its release");

        // Released: new calls pass; holding again and releasing everything delivers too.
        assert_eq!(end.call::<u64, u64>("Echo.Echo", &3), Ok(4));
        net.hold_replies(server, NodeId::MAIN);
        let (done_tx, done_rx) = labrpc::channel::unbounded();
        thread::spawn(move || done_tx.send(end.call::<u64, u64>("Echo.Echo", &5)).unwrap());
        time::sleep(Duration::from_secs(1));
        assert!(done_rx.try_recv().is_err());
        net.release_all_replies();
        assert_eq!(done_rx.recv().unwrap(), Ok(6));
        assert!(!net.replies_held(server, NodeId::MAIN));
    });
}

/// Rules 8-12 stay silent unless turned on: a workload that would meet them leaves the seed's
/// random stream exactly where a run that did nothing leaves it.
#[test]
fn rules_beyond_the_labs_are_off_by_default_and_draw_nothing() {
    let config = long_config();
    let untouched = sim::run(5, &config, labrpc::rand::next_u64).unwrap().value;
    let after_workload = sim::run(5, &config, || {
        let net = Network::new();
        let (server, end, runs) = echo_setup(&net);
        let persister = labrpc::persister::Persister::new();
        let saver = persister.clone();
        // Saves by a server node's thread: where crash points would draw.
        thread::Builder::new().node(server).spawn(move || {
            for i in 0..100u8 {
                saver.save(vec![i], vec![i]);
                saver.save_raft_state(vec![i]);
            }
        });
        for i in 0..200u64 {
            assert_eq!(end.call::<u64, u64>("Echo.Echo", &i), Ok(i + 1));
        }
        time::sleep(Duration::from_secs(10));
        assert!(node::is_alive(server));
        assert_eq!(runs.load(Ordering::SeqCst), 200);
        assert_eq!(persister.read_raft_state(), vec![99]);
        labrpc::rand::next_u64()
    })
    .unwrap()
    .value;
    assert_eq!(after_workload, untouched, "a rule that is off drew from the seed's stream");
}

#[test]
fn fault_order_of_a_fixed_seed() {
    let report = sim::run(42, &long_config(), || {
        let net = Network::new();
        let (_, end, runs) = echo_setup(&net);
        net.set_reliable(false);
        net.set_duplicate_per_mille(200);
        net.set_long_reordering(true);
        net.set_latency(Duration::from_millis(1), Duration::from_millis(3));
        let mut lines = Vec::new();
        for i in 0..24u64 {
            let t = time::now();
            let before = runs.load(Ordering::SeqCst);
            let outcome = match end.call::<u64, u64>("Echo.Echo", &i) {
                Ok(v) => format!("ok {v}"),
                Err(e) => format!("{e:?}"),
            };
            let ran = runs.load(Ordering::SeqCst) - before;
            lines.push(format!("call {i:2}: {outcome:<8} after {:>5} ms, handler ran {ran}x", t.elapsed().as_millis()));
        }
        lines.join("\n")
    })
    .unwrap();
    insta::assert_snapshot!(report.value);
}
