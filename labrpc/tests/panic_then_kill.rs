//! A thread that panics and, while unwinding, waits in a destructor (here: a `Drop` that locks a
//! mutex held elsewhere) is not killed when its node crashes or the run ends: a second unwind
//! started inside a destructor during unwinding aborts the whole process, so no failure report
//! would be printed and every other test of the binary would die with it. Its destructors run on
//! instead, and the run fails with its panic, or reports it stuck in the destructor. Likewise the
//! spin detector parks, rather than unwinds, a thread that spins in a destructor as it unwinds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::sim::{self, Config, Failure, FailureKind};
use labrpc::sync::Mutex;
use labrpc::{node, thread, time};

/// Locks the mutex when dropped, and records that the lock was taken (the destructor finished).
struct LockOnDrop {
    mutex: Arc<Mutex<u32>>,
    finished: Arc<AtomicBool>,
}

impl Drop for LockOnDrop {
    fn drop(&mut self) {
        *self.mutex.lock() += 1;
        self.finished.store(true, Ordering::SeqCst);
    }
}

/// Spawns, on `on`, a thread named "panicker" that panics with "user bug" while holding a
/// `LockOnDrop` on `mutex`, and lets it run up to its destructor's wait.
fn spawn_panicker(on: node::NodeId, mutex: &Arc<Mutex<u32>>, finished: &Arc<AtomicBool>) -> thread::JoinHandle<()> {
    let guard = LockOnDrop { mutex: mutex.clone(), finished: finished.clone() };
    let handle = thread::Builder::new().name("panicker").node(on).spawn(move || {
        let _guard = guard;
        panic!("user bug");
    });
    time::sleep(Duration::from_millis(1)); // the panicker now waits for the mutex in its destructor
    handle
}

fn expect_panic_report(failure: &Failure) {
    let report = failure.to_string();
    match &*failure.kind {
        FailureKind::Panic(p) => {
            assert_eq!(p.message, "user bug", "{report}");
            let location = p.location.as_deref().unwrap_or_default();
            assert!(location.starts_with("labrpc/tests/panic_then_kill.rs:"), "{report}");
        }
        other => panic!("expected the panicker's panic, got {other:?}\n{report}"),
    }
    assert_eq!(failure.thread.as_deref(), Some("'panicker' (#1)"), "{report}");
    assert_eq!(failure.node.as_deref(), Some("b"), "{report}");
    assert!(report.contains("replay: "), "{report}");
}

/// The node crashes while the panicker waits in its destructor; the lock is released later, the
/// destructor finishes, and the run fails with the panic.
#[test]
fn node_crash_while_a_panicking_thread_waits_in_a_destructor() {
    let finished = Arc::new(AtomicBool::new(false));
    let seen = finished.clone();
    let result = sim::run(1, &Config::default(), move || {
        let b = node::create("b");
        let m = Arc::new(Mutex::new(0u32));
        let held = m.lock();
        let panicker = spawn_panicker(b, &m, &seen);
        node::crash(b);
        assert!(!node::is_alive(b));
        drop(held);
        let payload = panicker.join().unwrap_err();
        assert!(!thread::is_killed(&*payload), "the panicker ended by its panic, not by a kill");
    });
    expect_panic_report(&result.unwrap_err());
    assert!(finished.load(Ordering::SeqCst), "the destructor ran to its end");
}

/// No crash: the run ends (main returns) while the panicker waits in its destructor for a lock
/// that another thread holds. Shutdown kills the holder, whose guard releases the lock, and the
/// panicker's destructor finishes.
#[test]
fn run_end_while_a_panicking_thread_waits_in_a_destructor() {
    let finished = Arc::new(AtomicBool::new(false));
    let seen = finished.clone();
    let result = sim::run(2, &Config::default(), move || {
        let (b, c) = (node::create("b"), node::create("c"));
        let m = Arc::new(Mutex::new(0u32));
        let m2 = m.clone();
        thread::Builder::new().name("holder").node(c).spawn(move || {
            let _held = m2.lock();
            time::sleep(Duration::from_secs(3600));
        });
        time::sleep(Duration::from_millis(1)); // the holder has the lock
        let _panicker = spawn_panicker(b, &m, &seen);
    });
    let failure = result.unwrap_err();
    let report = failure.to_string();
    match &*failure.kind {
        FailureKind::Panic(p) => assert_eq!(p.message, "user bug", "{report}"),
        other => panic!("expected the panicker's panic, got {other:?}\n{report}"),
    }
    assert_eq!(failure.thread.as_deref(), Some("'panicker' (#2)"), "{report}");
    assert!(finished.load(Ordering::SeqCst), "the destructor ran to its end");
}

/// The destructor waits for a lock nobody will ever release: at the end of the run the panicker
/// is reported stuck in its destructor, with its panic; the run returns (no hang, no abort).
#[test]
fn a_panicking_thread_stuck_forever_in_a_destructor_is_reported() {
    let finished = Arc::new(AtomicBool::new(false));
    let seen = finished.clone();
    let result = sim::run(3, &Config::default(), move || {
        let b = node::create("b");
        let m = Arc::new(Mutex::new(0u32));
        std::mem::forget(m.lock());
        let _panicker = spawn_panicker(b, &m, &seen);
        node::crash(b);
    });
    let failure = result.unwrap_err();
    let report = failure.to_string();
    match &*failure.kind {
        FailureKind::StuckInDestructor { blocked } => {
            assert_eq!(blocked.len(), 1, "{report}");
            assert_eq!((blocked[0].thread.as_str(), blocked[0].node.as_str()), ("panicker", "b"), "{report}");
        }
        other => panic!("expected a thread stuck in a destructor, got {other:?}\n{report}"),
    }
    assert!(report.contains("while unwinding from its panic at labrpc/tests/panic_then_kill.rs:"), "{report}");
    assert!(report.contains("user bug"), "{report}");
    assert!(!finished.load(Ordering::SeqCst), "the destructor never got the lock");
}

/// A thread stuck forever in a destructor during its panic, joined by main: the deadlock report
/// names the panic next to what the thread waits for.
#[test]
fn a_deadlock_report_names_the_panic_of_a_thread_unwinding() {
    let finished = Arc::new(AtomicBool::new(false));
    let seen = finished.clone();
    let result = sim::run(4, &Config::default(), move || {
        let b = node::create("b");
        let m = Arc::new(Mutex::new(0u32));
        let _held = m.lock();
        let _ = spawn_panicker(b, &m, &seen).join();
    });
    let failure = result.unwrap_err();
    let report = failure.to_string();
    assert!(matches!(&*failure.kind, FailureKind::Deadlock { .. }), "{report}");
    assert!(report.contains("'panicker' (#1) on node 'b' waits for mutex #"), "{report}");
    assert!(report.contains("while unwinding from its panic at labrpc/tests/panic_then_kill.rs:"), "{report}");
}

/// Panics at the caller's line, after writing that line's location into `at`.
#[track_caller]
fn panic_noting_where(message: &'static str, at: &std::sync::Mutex<String>) -> ! {
    *at.lock().unwrap() = std::panic::Location::caller().to_string();
    panic!("{message}");
}

/// Two threads panic and wait in their destructors for one lock; the first then finishes while
/// the second's panic was the last: the report gives the first thread its own panic's location.
#[test]
fn a_report_gives_a_panic_its_own_location_after_another_panicked() {
    let (first_at, second_at) =
        (Arc::new(std::sync::Mutex::new(String::new())), Arc::new(std::sync::Mutex::new(String::new())));
    let (first_at2, second_at2) = (first_at.clone(), second_at.clone());
    let result = sim::run(6, &Config::default(), move || {
        let b = node::create("b");
        let m = Arc::new(Mutex::new(0u32));
        let held = m.lock();
        let flag = Arc::new(AtomicBool::new(false));
        let first = LockOnDrop { mutex: m.clone(), finished: flag.clone() };
        let first = thread::Builder::new().name("first").node(b).spawn(move || {
            let _guard = first;
            panic_noting_where("first bug", &first_at2);
        });
        time::sleep(Duration::from_millis(1)); // first waits in its destructor, queued first
        let second = LockOnDrop { mutex: m.clone(), finished: flag };
        let second = thread::Builder::new().name("second").node(b).spawn(move || {
            let _guard = second;
            panic_noting_where("second bug", &second_at2);
        });
        time::sleep(Duration::from_millis(1)); // second waits too; its panic was the last
        drop(held);
        let _ = (first.join(), second.join());
    });
    let failure = result.unwrap_err();
    let report = failure.to_string();
    let (first_at, second_at) = (first_at.lock().unwrap().clone(), second_at.lock().unwrap().clone());
    assert_ne!(first_at, second_at);
    match &*failure.kind {
        FailureKind::Panic(p) => {
            assert_eq!(p.message, "first bug", "{report}");
            assert_eq!(p.location.as_deref(), Some(first_at.as_str()), "{report}");
        }
        other => panic!("expected the first thread's panic, got {other:?}\n{report}"),
    }
}

/// The destructor of the panicking thread crashes its own node: it goes on unwinding (no kill of
/// itself from inside the destructor) and the run fails with its panic.
#[test]
fn a_panicking_thread_that_crashes_its_own_node_in_a_destructor() {
    struct CrashOnDrop;
    impl Drop for CrashOnDrop {
        fn drop(&mut self) {
            node::crash(node::current_node());
        }
    }
    let result = sim::run(5, &Config::default(), || {
        let b = node::create("b");
        let panicker = thread::Builder::new().name("panicker").node(b).spawn(|| {
            let _crash = CrashOnDrop;
            panic!("user bug");
        });
        let _ = panicker.join();
    });
    expect_panic_report(&result.unwrap_err());
}

/// A panic the thread catches itself leaves the thread killable: it is no longer unwinding, so its
/// node's crash kills it as usual.
#[test]
fn a_thread_that_caught_its_panic_is_killed_by_its_node_crash() {
    sim::check(
        &labrpc::target!("a_thread_that_caught_its_panic_is_killed_by_its_node_crash"),
        Config::default(),
        || {
            let b = node::create("b");
            let worker = thread::Builder::new().name("worker").node(b).spawn(|| {
                let caught = std::panic::catch_unwind(|| panic!("caught"));
                assert!(caught.is_err());
                loop {
                    time::sleep(Duration::from_millis(10));
                }
            });
            time::sleep(Duration::from_millis(1));
            node::crash(b);
            assert!(thread::is_killed(&*worker.join().unwrap_err()));
            assert_eq!(node::live_threads(b), 0);
        },
    );
}

/// Loops on `time::now` without letting virtual time move: the spin detector's case.
struct SpinOnDrop;

impl Drop for SpinOnDrop {
    fn drop(&mut self) {
        let start = time::now();
        while time::now() == start {}
    }
}

fn spin_config() -> Config {
    Config { spin_limit: Duration::from_millis(200), ..Config::default() }
}

fn expect_spin_report(failure: &Failure, thread: &str) {
    let report = failure.to_string();
    assert!(matches!(&*failure.kind, FailureKind::Spin { .. }), "{report}");
    assert_eq!(failure.thread.as_deref(), Some(thread), "{report}");
    assert_eq!(failure.node.as_deref(), Some("b"), "{report}");
}

/// The spin detector stops a spinning thread by unwinding it; a thread spinning in a destructor
/// while it unwinds from its panic is parked for good instead, and the run reports the spin.
#[test]
fn a_panicking_thread_spinning_in_a_destructor_is_reported() {
    let result = sim::run(7, &spin_config(), || {
        let b = node::create("b");
        let panicker = thread::Builder::new().name("panicker").node(b).spawn(|| {
            let _spin = SpinOnDrop;
            panic!("user bug");
        });
        let _ = panicker.join();
    });
    expect_spin_report(&result.unwrap_err(), "'panicker' (#1)");
}

/// As above for a thread killed by its node's crash, spinning in a destructor as it unwinds.
#[test]
fn a_killed_thread_spinning_in_a_destructor_is_reported() {
    let result = sim::run(8, &spin_config(), || {
        let b = node::create("b");
        thread::Builder::new().name("victim").node(b).spawn(|| {
            let _spin = SpinOnDrop;
            time::sleep(Duration::from_secs(3600));
        });
        time::sleep(Duration::from_millis(1));
        node::crash(b);
    });
    expect_spin_report(&result.unwrap_err(), "'victim' (#1)");
}
