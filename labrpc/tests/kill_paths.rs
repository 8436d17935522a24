//! Crash-stop through the waits that report a kill instead of unwinding from inside the park
//! (`time::sleep`, `Condvar` waits, channel waits, every wait of an RPC call): a thread killed
//! there runs none of its own code again (no return to it, not even an error), drops what it
//! holds (a lock taken before the wait is free afterwards), and a wake-up it was given before it
//! died reaches another waiter.
//!
//! "Woken but not yet run" is made deterministic by pausing the node first: a paused node's woken
//! threads wait in its held list, where the crash finds them.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::net::{ClientEnd, Network, Server, Service};
use labrpc::sim::{self, Config};
use labrpc::sync::{Condvar, Mutex};
use labrpc::{channel, node, thread, time, NodeId};

const MS: Duration = Duration::from_millis(1);

/// Counts the steps a thread got through; a killed thread's count must stop where it was killed.
#[derive(Clone, Default)]
struct Steps(Arc<AtomicU32>);

impl Steps {
    fn reached(&self, step: u32) {
        self.0.store(step, Ordering::SeqCst);
    }
    fn last(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Counts drops, to show a killed thread's locals were dropped exactly once.
struct DropCount(Arc<AtomicU32>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn assert_killed<T: std::fmt::Debug>(joined: std::thread::Result<T>, what: &str) {
    match joined {
        Ok(value) => panic!("{what}: the thread returned {value:?} after its node crashed"),
        Err(payload) => assert!(thread::is_killed(&*payload), "{what}: the thread panicked instead of being killed"),
    }
}

#[test]
fn a_thread_killed_in_sleep_runs_nothing_more_and_drops_its_guard() {
    sim::check(
        &labrpc::target!("a_thread_killed_in_sleep_runs_nothing_more_and_drops_its_guard"),
        Config::default(),
        || {
            let b = node::create("b");
            let m = Arc::new(Mutex::new(0u32));
            let (steps, drops) = (Steps::default(), Arc::new(AtomicU32::new(0)));
            let (m2, s, d) = (m.clone(), steps.clone(), drops.clone());
            let sleeper = thread::Builder::new().name("sleeper").node(b).spawn(move || {
                let _probe = DropCount(d);
                let mut g = m2.lock();
                s.reached(1);
                time::sleep(Duration::from_secs(100));
                *g += 1;
                s.reached(2);
                time::sleep_until(time::now() + Duration::from_secs(100));
                s.reached(3);
            });
            time::sleep(MS);
            node::crash(b);
            assert_killed(sleeper.join(), "sleeper");
            assert_eq!(steps.last(), 1, "code after the sleep ran");
            assert_eq!(drops.load(Ordering::SeqCst), 1, "the killed thread's locals dropped once");
            assert_eq!(*m.try_lock().expect("the killed sleeper's guard was dropped"), 0);
            assert_eq!(node::live_threads(b), 0);
        },
    );
}

/// A sleeper killed at the instant its own timer fires (woken, held by the pause, then killed)
/// does not run on either.
#[test]
fn a_sleeper_woken_by_its_timer_and_killed_before_it_ran_stays_dead() {
    sim::check(
        &labrpc::target!("a_sleeper_woken_by_its_timer_and_killed_before_it_ran_stays_dead"),
        Config::default(),
        || {
            let b = node::create("b");
            let steps = Steps::default();
            let s = steps.clone();
            let sleeper = thread::Builder::new().name("sleeper").node(b).spawn(move || {
                s.reached(1);
                time::sleep(2 * MS);
                s.reached(2);
            });
            time::sleep(MS);
            node::pause(b, Duration::from_secs(10));
            time::sleep(5 * MS); // the sleeper's timer fired at 2 ms; it waits in the held list
            node::crash(b);
            assert_killed(sleeper.join(), "sleeper");
            assert_eq!(steps.last(), 1);
        },
    );
}

/// Every public condvar wait, killed while parked: the waiter's code stops there (the condition
/// of `wait_while` is not evaluated again), and the mutex, released by the wait, is not released
/// a second time by the dying waiter's guard: the thread that holds it keeps it.
#[test]
fn every_condvar_wait_killed_while_parked_stops_there() {
    sim::check(&labrpc::target!("every_condvar_wait_killed_while_parked_stops_there"), Config::default(), || {
        let b = node::create("b");
        let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
        let condition_calls = Arc::new(AtomicU32::new(0));
        let mut waiters = Vec::new();
        for kind in 0..4 {
            let (p, calls, steps) = (pair.clone(), condition_calls.clone(), Steps::default());
            let s = steps.clone();
            let h = thread::Builder::new().name(format!("waiter {kind}")).node(b).spawn(move || {
                let (m, cv) = &*p;
                let mut g = m.lock();
                s.reached(1);
                let long = Duration::from_secs(100);
                match kind {
                    0 => cv.wait(&mut g),
                    1 => assert!(!cv.wait_timeout(&mut g, long).timed_out()),
                    2 => cv.wait_while(&mut g, |v| {
                        calls.fetch_add(1, Ordering::SeqCst);
                        *v == 0
                    }),
                    _ => {
                        let timed_out = cv.wait_timeout_while(&mut g, long, |v| {
                            calls.fetch_add(1, Ordering::SeqCst);
                            *v == 0
                        });
                        assert!(!timed_out.timed_out());
                    }
                }
                *g += 100;
                s.reached(2);
            });
            waiters.push((h, steps));
        }
        time::sleep(MS); // all four wait, the mutex free
        let calls_before = condition_calls.load(Ordering::SeqCst);
        assert_eq!(calls_before, 2, "each predicate wait checked its condition once");
        let mut held = pair.0.lock();
        node::crash(b);
        assert!(pair.0.try_lock().is_none(), "a killed waiter released the mutex this thread holds");
        *held += 1;
        drop(held);
        for (h, steps) in waiters {
            assert_killed(h.join(), "condvar waiter");
            assert_eq!(steps.last(), 1, "a killed waiter ran past its wait");
        }
        assert_eq!(condition_calls.load(Ordering::SeqCst), calls_before, "a killed waiter evaluated its condition");
        assert_eq!(*pair.0.lock(), 1);
        assert_eq!(node::live_threads(b), 0);
    });
}

/// A notification given to a *timed* waiter that is killed before it runs passes on to the next
/// waiter (the timed park takes the same pass-on path as the untimed one).
#[test]
fn notify_one_to_a_killed_timed_waiter_passes_on() {
    sim::check(&labrpc::target!("notify_one_to_a_killed_timed_waiter_passes_on"), Config::default(), || {
        let (a, b) = (node::create("a"), node::create("b"));
        let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
        let spawn_waiter = |name: &'static str, on| {
            let p = pair.clone();
            let h = thread::Builder::new().name(name).node(on).spawn(move || {
                let (m, cv) = &*p;
                let mut g = m.lock();
                let result = cv.wait_timeout_while(&mut g, Duration::from_secs(100), |v| *v == 0);
                assert!(!result.timed_out());
                *g -= 1;
                time::now().since_start()
            });
            time::sleep(MS); // waits in this order
            h
        };
        let doomed = spawn_waiter("doomed", b);
        let survivor = spawn_waiter("survivor", a);
        node::pause(b, Duration::from_secs(10));
        *pair.0.lock() += 1;
        assert!(pair.1.notify_one(), "there was a waiter");
        time::sleep(MS); // the doomed waiter is woken but held by the pause; the survivor still waits
        node::crash(b);
        assert_eq!(survivor.join().unwrap(), 3 * MS, "the notification reached the survivor at once");
        assert_killed(doomed.join(), "doomed");
        assert_eq!(*pair.0.lock(), 0);
    });
}

/// A condvar waiter chosen by `notify_one` and killed while it re-takes the mutex (the notifier
/// still holds it) passes the notification on: the other waiter wakes. (Before the fix only the
/// park on the condvar passed it on, and this deadlocked.)
#[test]
fn notify_one_to_a_waiter_killed_while_retaking_the_mutex_passes_on() {
    sim::check(
        &labrpc::target!("notify_one_to_a_waiter_killed_while_retaking_the_mutex_passes_on"),
        Config::default(),
        || {
            let (a, b) = (node::create("a"), node::create("b"));
            let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
            let spawn_waiter = |name: &'static str, on| {
                let p = pair.clone();
                let h = thread::Builder::new().name(name).node(on).spawn(move || {
                    let (m, cv) = &*p;
                    let mut g = m.lock();
                    while *g == 0 {
                        cv.wait(&mut g);
                    }
                    *g -= 1;
                });
                time::sleep(MS);
                h
            };
            let doomed = spawn_waiter("doomed", b);
            let survivor = spawn_waiter("survivor", a);
            let mut g = pair.0.lock();
            *g += 1;
            assert!(pair.1.notify_one());
            time::sleep(MS); // the doomed waiter ran out of the condvar park and queued on the mutex
            node::crash(b);
            drop(g);
            survivor.join().unwrap(); // with the notification lost: deadlock, the survivor waits forever
            assert_killed(doomed.join(), "doomed");
            assert_eq!(*pair.0.lock(), 0);
        },
    );
}

/// A value woken for a receiver in `recv_timeout` (a timed park) that is killed before it runs
/// stays in the channel and wakes the next receiver at once.
#[test]
fn value_woken_for_a_killed_timed_receiver_reaches_another() {
    sim::check(&labrpc::target!("value_woken_for_a_killed_timed_receiver_reaches_another"), Config::default(), || {
        let (a, b) = (node::create("a"), node::create("b"));
        let (tx, rx) = channel::unbounded::<u32>();
        let spawn_receiver = |name: &'static str, on| {
            let rx = rx.clone();
            let h = thread::Builder::new()
                .name(name)
                .node(on)
                .spawn(move || (rx.recv_timeout(Duration::from_secs(100)), time::now().since_start()));
            time::sleep(MS);
            h
        };
        let doomed = spawn_receiver("doomed", b);
        let survivor = spawn_receiver("survivor", a);
        node::pause(b, Duration::from_secs(10));
        tx.send(7).unwrap(); // wakes the doomed receiver, held by the pause
        time::sleep(MS);
        node::crash(b);
        assert_eq!(survivor.join().unwrap(), (Ok(7), 3 * MS));
        assert_killed(doomed.join(), "doomed");
        assert!(rx.try_recv().is_err(), "the value was delivered once");
    });
}

/// A receiver whose deadline passed (woken by its timer, not by a value) and which is killed
/// before it runs takes nothing: a value sent meanwhile goes to the live receiver.
#[test]
fn a_killed_receiver_that_timed_out_takes_nothing() {
    sim::check(&labrpc::target!("a_killed_receiver_that_timed_out_takes_nothing"), Config::default(), || {
        let (a, b) = (node::create("a"), node::create("b"));
        let (tx, rx) = channel::unbounded::<u32>();
        let rx_doomed = rx.clone();
        let doomed = thread::Builder::new()
            .name("doomed")
            .node(b)
            .spawn(move || rx_doomed.recv_timeout(2 * MS).map_err(|e| e.to_string()));
        let rx_live = rx.clone();
        let survivor = thread::Builder::new().name("survivor").node(a).spawn(move || rx_live.recv().unwrap());
        time::sleep(MS);
        node::pause(b, Duration::from_secs(10));
        time::sleep(2 * MS); // the doomed receiver timed out at 2 ms, held by the pause
                             // Were the doomed receiver to run its timeout path, it would take this value (it arrived
                             // after its deadline, before it ran) and the survivor would wait forever.
        tx.send(9).unwrap();
        node::crash(b);
        assert_eq!(survivor.join().unwrap(), 9);
        assert_killed(doomed.join(), "doomed");
    });
}

/// A rendezvous sender killed while it waits for a receiver to take its value never returns to
/// its code (no `Ok`, no `SendError`).
#[test]
fn a_killed_rendezvous_sender_never_returns() {
    sim::check(&labrpc::target!("a_killed_rendezvous_sender_never_returns"), Config::default(), || {
        let b = node::create("b");
        let (tx, rx) = channel::bounded::<u32>(0);
        let steps = Steps::default();
        let s = steps.clone();
        let sender = thread::Builder::new().name("sender").node(b).spawn(move || {
            s.reached(1);
            let sent = tx.send(5);
            s.reached(2);
            sent.is_ok()
        });
        time::sleep(MS);
        node::crash(b);
        assert_killed(sender.join(), "sender");
        assert_eq!(steps.last(), 1);
        drop(rx);
    });
}

/// A receiver killed while it waits on a rendezvous channel is no waiting receiver: `try_send`
/// says `Full`, as crossbeam does, instead of queueing the value for whoever receives next
/// because the killed receiver's ticket was still in the channel's list.
#[test]
fn rendezvous_try_send_does_not_count_a_killed_receiver_as_waiting() {
    sim::check(
        &labrpc::target!("rendezvous_try_send_does_not_count_a_killed_receiver_as_waiting"),
        Config::default(),
        || {
            let b = node::create("b");
            let (tx, rx) = channel::bounded::<u32>(0);
            let rx_doomed = rx.clone();
            let doomed = thread::Builder::new().name("doomed").node(b).spawn(move || rx_doomed.recv());
            time::sleep(MS);
            node::crash(b);
            assert_killed(doomed.join(), "doomed");
            assert!(
                matches!(tx.try_send(1), Err(channel::TrySendError::Full(1))),
                "try_send on a rendezvous channel succeeded with no receiver waiting"
            );
            drop(rx);
        },
    );
}

/// An echo server on its own node; the returned end calls it from `caller_node`.
fn echo(net: &Network, caller_node: NodeId, handler_sleep: Duration) -> (ClientEnd, Arc<AtomicU32>) {
    let server = node::create("server");
    let runs = Arc::new(AtomicU32::new(0));
    let r = runs.clone();
    let svc = Service::new("Echo").method("Echo", move |x: u64| {
        r.fetch_add(1, Ordering::SeqCst);
        time::sleep(handler_sleep);
        x + 1
    });
    net.add_server("echo", server, Server::new().with_service(svc));
    let end = net.make_end("client", caller_node);
    net.connect("client", "echo");
    (end, runs)
}

/// Where in `ClientEnd::call` the caller is when its node crashes.
#[derive(Clone, Copy, Debug)]
enum CallWait {
    /// No route: the delay before `Unreachable`.
    Unreachable,
    /// The request on the wire (latency).
    Request,
    /// Waiting for the handler's reply.
    Reply,
    /// The reply on the wire (latency).
    ReplyLatency,
    /// The reply held (rule 10).
    HeldReply,
}

/// A caller holding a lock across `call` is killed at `wait`: it neither gets a reply nor an
/// error back, its lock is free afterwards, and its node has no thread left.
fn caller_killed_in(wait: CallWait) {
    let b = node::create("b");
    let net = Network::new();
    let handler_sleep = if matches!(wait, CallWait::Reply) { Duration::from_secs(10) } else { Duration::ZERO };
    let (end, runs) = echo(&net, b, handler_sleep);
    match wait {
        CallWait::Unreachable => {
            net.set_long_delays(true);
            net.enable("client", false);
        }
        CallWait::Request | CallWait::ReplyLatency => net.set_latency(10 * MS, 10 * MS),
        CallWait::Reply => {}
        CallWait::HeldReply => net.set_held_replies(1000, Duration::from_secs(5), Duration::from_secs(5)),
    }
    let m = Arc::new(Mutex::new(0u32));
    let (m2, steps, drops) = (m.clone(), Steps::default(), Arc::new(AtomicU32::new(0)));
    let (s, d) = (steps.clone(), drops.clone());
    let caller = thread::Builder::new().name("caller").node(b).spawn(move || {
        let _probe = DropCount(d);
        let mut g = m2.lock();
        s.reached(1);
        let reply = end.call::<u64, u64>("Echo.Echo", &41);
        s.reached(2);
        *g += 1;
        format!("{reply:?}")
    });
    // Into the wait: past the 10 ms request latency for the reply-side waits.
    let crash_at = match wait {
        CallWait::Unreachable | CallWait::Request | CallWait::Reply => MS,
        CallWait::ReplyLatency => 15 * MS,
        CallWait::HeldReply => Duration::from_secs(1),
    };
    time::sleep(crash_at);
    node::crash(b);
    assert_killed(caller.join(), &format!("caller killed waiting for {wait:?}"));
    assert_eq!(steps.last(), 1, "{wait:?}: code after the call ran");
    assert_eq!(drops.load(Ordering::SeqCst), 1, "{wait:?}: the caller's locals dropped once");
    assert_eq!(*m.try_lock().unwrap_or_else(|| panic!("{wait:?}: the caller's lock is still held")), 0);
    assert_eq!(node::live_threads(b), 0, "{wait:?}: a thread of the crashed node is left");
    let handler_ran = runs.load(Ordering::SeqCst);
    let expected_runs = u32::from(!matches!(wait, CallWait::Unreachable | CallWait::Request));
    assert_eq!(handler_ran, expected_runs, "{wait:?}: handler runs");
    // Whatever the handler still has to do finishes without a failure (its reply has nowhere to go).
    time::sleep(Duration::from_secs(20));
}

#[test]
fn a_caller_killed_in_the_unreachable_delay_gets_nothing_back() {
    sim::check(
        &labrpc::target!("a_caller_killed_in_the_unreachable_delay_gets_nothing_back"),
        Config::default(),
        || caller_killed_in(CallWait::Unreachable),
    );
}

#[test]
fn a_caller_killed_while_its_request_travels_gets_nothing_back() {
    sim::check(
        &labrpc::target!("a_caller_killed_while_its_request_travels_gets_nothing_back"),
        Config::default(),
        || caller_killed_in(CallWait::Request),
    );
}

#[test]
fn a_caller_killed_waiting_for_the_handler_gets_nothing_back() {
    sim::check(
        &labrpc::target!("a_caller_killed_waiting_for_the_handler_gets_nothing_back"),
        Config::default(),
        || caller_killed_in(CallWait::Reply),
    );
}

#[test]
fn a_caller_killed_while_its_reply_travels_gets_nothing_back() {
    sim::check(
        &labrpc::target!("a_caller_killed_while_its_reply_travels_gets_nothing_back"),
        Config::default(),
        || caller_killed_in(CallWait::ReplyLatency),
    );
}

#[test]
fn a_caller_killed_while_its_reply_is_held_gets_nothing_back() {
    sim::check(
        &labrpc::target!("a_caller_killed_while_its_reply_is_held_gets_nothing_back"),
        Config::default(),
        || caller_killed_in(CallWait::HeldReply),
    );
}

/// A reply that arrives while the caller's node is paused wakes the caller (a value on its reply
/// channel) but the caller is killed before it runs: still no return into its code.
#[test]
fn a_caller_woken_by_its_reply_and_killed_before_it_ran_gets_nothing() {
    sim::check(
        &labrpc::target!("a_caller_woken_by_its_reply_and_killed_before_it_ran_gets_nothing"),
        Config::default(),
        || {
            let b = node::create("b");
            let net = Network::new();
            let (end, runs) = echo(&net, b, 5 * MS);
            let steps = Steps::default();
            let s = steps.clone();
            let caller = thread::Builder::new().name("caller").node(b).spawn(move || {
                s.reached(1);
                let reply = end.call::<u64, u64>("Echo.Echo", &1);
                s.reached(2);
                reply
            });
            time::sleep(MS);
            node::pause(b, Duration::from_secs(10));
            time::sleep(10 * MS); // the handler replied at 5 ms; the caller is woken and held
            node::crash(b);
            assert_killed(caller.join(), "caller");
            assert_eq!(steps.last(), 1);
            assert_eq!(runs.load(Ordering::SeqCst), 1);
        },
    );
}
