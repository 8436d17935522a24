//! Crash-stop, restart and pause of nodes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::channel;
use labrpc::sim::{self, Config};
use labrpc::sync::{Condvar, Mutex};
use labrpc::{node, thread, time};

struct DropCounter(Arc<AtomicUsize>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn crash_unwinds_every_thread_and_runs_destructors() {
    sim::check(&labrpc::target!("crash_unwinds_every_thread_and_runs_destructors"), Config::default(), || {
        let server = node::create("server");
        let dropped = Arc::new(AtomicUsize::new(0));
        let ran_after = Arc::new(AtomicUsize::new(0));
        let shared = Arc::new((Mutex::new(0u32), Condvar::new()));
        let (_tx, rx) = channel::unbounded::<u32>();
        let held = Arc::new(Mutex::new(()));
        let guard = held.lock(); // a server thread will block on this

        let mut handles = Vec::new();
        // One thread per way of being suspended: sleeping, in a condvar, in recv, on a mutex.
        for kind in 0..4 {
            let (dropped, ran_after, shared, rx, held) =
                (dropped.clone(), ran_after.clone(), shared.clone(), rx.clone(), held.clone());
            handles.push(thread::Builder::new().name(format!("victim{kind}")).node(server).spawn(move || {
                let _d = DropCounter(dropped);
                match kind {
                    0 => time::sleep(Duration::from_secs(100)),
                    1 => {
                        let mut g = shared.0.lock();
                        shared.1.wait(&mut g);
                    }
                    2 => {
                        let _ = rx.recv();
                    }
                    _ => {
                        let _g = held.lock();
                    }
                }
                ran_after.fetch_add(1, Ordering::SeqCst);
            }));
        }
        time::sleep(Duration::from_millis(10));
        assert_eq!(dropped.load(Ordering::SeqCst), 0);
        node::crash(server);
        // All four unwound before crash returned; none ran past its suspension point.
        assert_eq!(dropped.load(Ordering::SeqCst), 4);
        drop(guard);
        shared.1.notify_all();
        time::sleep(Duration::from_secs(50));
        assert_eq!(ran_after.load(Ordering::SeqCst), 0);
        for h in handles {
            let err = h.join().unwrap_err();
            assert!(thread::is_killed(&*err));
        }
        assert!(!node::is_alive(server));
        assert_eq!(node::incarnation(server), 1);

        // Threads spawned on a crashed node never run; after a restart fresh ones do.
        let flag = Arc::new(AtomicUsize::new(0));
        let f = flag.clone();
        let h = thread::Builder::new().node(server).spawn(move || f.fetch_add(1, Ordering::SeqCst));
        assert!(h.join().is_err());
        node::restart(server);
        let f = flag.clone();
        let h = thread::Builder::new().node(server).spawn(move || f.fetch_add(1, Ordering::SeqCst));
        h.join().unwrap();
        assert_eq!(flag.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn crash_of_own_node_unwinds_the_caller() {
    sim::check(&labrpc::target!("crash_of_own_node_unwinds_the_caller"), Config::default(), || {
        let n = node::create("n");
        let dropped = Arc::new(AtomicUsize::new(0));
        let d = dropped.clone();
        let h = thread::Builder::new().node(n).spawn(move || {
            let _d = DropCounter(d);
            node::crash(node::current_node());
            unreachable!("code after a self-crash ran");
        });
        assert!(thread::is_killed(&*h.join().unwrap_err()));
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn destructor_may_block_while_its_node_crashes() {
    sim::check(&labrpc::target!("destructor_may_block_while_its_node_crashes"), Config::default(), || {
        let n = node::create("n");
        let state = Arc::new(Mutex::new(Vec::<&str>::new()));
        struct Deregister(Arc<Mutex<Vec<&'static str>>>);
        impl Drop for Deregister {
            fn drop(&mut self) {
                // Locks a mutex that another thread holds at the moment of the crash.
                self.0.lock().push("deregistered");
            }
        }
        let s = state.clone();
        thread::Builder::new().node(n).spawn(move || {
            let _d = Deregister(s);
            time::sleep(Duration::from_secs(10));
        });
        time::sleep(Duration::from_millis(1));
        let g = state.lock();
        node::crash(n);
        drop(g);
        time::sleep(Duration::from_millis(1));
        assert_eq!(*state.lock(), vec!["deregistered"]);
    });
}

#[test]
fn pause_stops_a_node_and_defers_its_timers() {
    sim::check(&labrpc::target!("pause_stops_a_node_and_defers_its_timers"), Config::default(), || {
        let n = node::create("gc");
        let ticks = Arc::new(Mutex::new(Vec::new()));
        let t = ticks.clone();
        thread::Builder::new().node(n).spawn(move || loop {
            time::sleep(Duration::from_millis(100));
            t.lock().push(time::now().since_start().as_millis() as u64);
        });
        time::sleep(Duration::from_millis(250));
        node::pause(n, Duration::from_secs(1));
        time::sleep(Duration::from_millis(1500));
        let ticks = ticks.lock().clone();
        // Ticks at 100, 200; the one due at 300 fires when the pause ends at 1250; then every 100.
        assert_eq!(&ticks[..4], &[100, 200, 1250, 1350]);
        assert!(!ticks.iter().any(|&t| t > 250 && t < 1250), "ran during the pause: {ticks:?}");
    });
}

/// This binary does not declare `labrpc::count_allocations!()`: no memory figures, no harm.
#[test]
fn memory_figures_need_the_counting_allocator() {
    assert!(!labrpc::alloc::is_counting());
    sim::check(&labrpc::target!("memory_figures_need_the_counting_allocator"), Config::default(), || {
        assert_eq!(node::memory(node::current_node()), None);
        assert_eq!(node::live_threads(node::current_node()), 1);
    });
}
