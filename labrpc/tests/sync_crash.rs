//! Mutex and Condvar when one party's node crashes: a lock is never left held by a dead thread,
//! never released by a thread that does not hold it, and a notification is never lost with a
//! killed waiter. Each test puts the two parties on different nodes, one way round and the other.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::sim::{self, Config};
use labrpc::sync::{Condvar, Mutex};
use labrpc::{node, thread, time};

/// A waiter on the crashing node is handed the lock on release and killed before it runs: the
/// lock must pass on (here to the releasing thread's next `lock`), not stay with the dead thread.
#[test]
fn lock_handed_to_a_killed_waiter_passes_on() {
    sim::check(&labrpc::target!("lock_handed_to_a_killed_waiter_passes_on"), Config::default(), || {
        let b = node::create("b");
        let m = Arc::new(Mutex::new(0u32));
        let g = m.lock();
        let m2 = m.clone();
        let waiter = thread::Builder::new().name("waiter").node(b).spawn(move || {
            *m2.lock() += 1;
        });
        time::sleep(Duration::from_millis(1)); // the waiter is queued on the lock
        drop(g); // hand-over: the waiter now holds the lock but has not run
        node::crash(b);
        assert!(thread::is_killed(&*waiter.join().unwrap_err()));
        assert_eq!(*m.lock(), 0, "the killed waiter never ran its critical section");
    });
}

/// As above with a second waiter on a live node queued behind the killed one: it gets the lock
/// without anyone releasing again.
#[test]
fn lock_handed_to_a_killed_waiter_reaches_the_next_waiter() {
    sim::check(&labrpc::target!("lock_handed_to_a_killed_waiter_reaches_the_next_waiter"), Config::default(), || {
        let (a, b) = (node::create("a"), node::create("b"));
        let m = Arc::new(Mutex::new(Vec::<&str>::new()));
        let g = m.lock();
        let spawn_waiter = |name: &'static str, on| {
            let m = m.clone();
            let h = thread::Builder::new().name(name).node(on).spawn(move || m.lock().push(name));
            time::sleep(Duration::from_millis(1)); // queued in this order
            h
        };
        let doomed = spawn_waiter("doomed", b);
        let survivor = spawn_waiter("survivor", a);
        drop(g);
        node::crash(b);
        survivor.join().unwrap();
        assert!(doomed.join().is_err());
        assert_eq!(*m.lock(), vec!["survivor"]);
    });
}

/// The reverse: the holder's node crashes while a thread of a live node waits; the holder's guard
/// drops as it unwinds and the waiter gets the lock.
#[test]
fn holder_crash_hands_the_lock_to_a_live_waiter() {
    sim::check(&labrpc::target!("holder_crash_hands_the_lock_to_a_live_waiter"), Config::default(), || {
        let (a, b) = (node::create("a"), node::create("b"));
        let m = Arc::new(Mutex::new(0u32));
        let m2 = m.clone();
        thread::Builder::new().name("holder").node(b).spawn(move || {
            let _g = m2.lock();
            time::sleep(Duration::from_secs(100));
        });
        time::sleep(Duration::from_millis(1));
        let m3 = m.clone();
        let waiter = thread::Builder::new().name("waiter").node(a).spawn(move || {
            *m3.lock() += 1;
            time::now().since_start()
        });
        time::sleep(Duration::from_millis(1));
        node::crash(b);
        assert_eq!(waiter.join().unwrap(), Duration::from_millis(2));
    });
}

/// A thread killed inside `Condvar::wait` (which had released the mutex) must not release the
/// mutex again as its guard drops: another node's thread holds it by then, and a third thread
/// queued on it must stay out until that holder leaves.
#[test]
fn killed_condvar_waiter_does_not_release_anothers_lock() {
    sim::check(&labrpc::target!("killed_condvar_waiter_does_not_release_anothers_lock"), Config::default(), || {
        let (a, b) = (node::create("a"), node::create("b"));
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let p = pair.clone();
        thread::Builder::new().name("cv-waiter").node(b).spawn(move || {
            let mut g = p.0.lock();
            p.1.wait(&mut g);
        });
        time::sleep(Duration::from_millis(1)); // the waiter sits in wait(), mutex free
        let mut inside = pair.0.lock();
        *inside = true;
        let p = pair.clone();
        let entered_while_held = Arc::new(AtomicBool::new(false));
        let e = entered_while_held.clone();
        let third = thread::Builder::new().name("third").node(a).spawn(move || {
            let g = p.0.lock();
            e.store(*g, Ordering::SeqCst);
        });
        time::sleep(Duration::from_millis(1)); // the third thread queues behind us
        node::crash(b);
        time::sleep(Duration::from_millis(1)); // give the third thread every chance to enter
        assert!(pair.0.try_lock().is_none(), "the mutex is held (by this thread)");
        *inside = false;
        drop(inside);
        third.join().unwrap();
        assert!(!entered_while_held.load(Ordering::SeqCst), "a thread entered while another held the lock");
    });
}

/// The reverse: a live node's thread times out of a condvar wait while the crashing node's thread
/// holds the mutex; the crash releases it and the waiter returns holding it.
#[test]
fn condvar_waiter_reacquires_after_the_holders_node_crashes() {
    sim::check(&labrpc::target!("condvar_waiter_reacquires_after_the_holders_node_crashes"), Config::default(), || {
        let (a, b) = (node::create("a"), node::create("b"));
        let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
        let p = pair.clone();
        let waiter = thread::Builder::new().name("cv-waiter").node(a).spawn(move || {
            let mut g = p.0.lock();
            let timed_out = p.1.wait_timeout(&mut g, Duration::from_millis(5)).timed_out();
            *g += 1;
            (timed_out, time::now().since_start())
        });
        time::sleep(Duration::from_millis(1));
        let p = pair.clone();
        thread::Builder::new().name("holder").node(b).spawn(move || {
            let _g = p.0.lock();
            time::sleep(Duration::from_secs(100));
        });
        time::sleep(Duration::from_millis(9));
        node::crash(b);
        assert_eq!(waiter.join().unwrap(), (true, Duration::from_millis(10)));
        assert_eq!(*pair.0.lock(), 1);
    });
}

/// `notify_one` picks a waiter on the crashing node, which is killed before it runs: the
/// notification passes to the next waiter instead of being lost with it.
#[test]
fn notify_one_to_a_killed_waiter_passes_on() {
    sim::check(&labrpc::target!("notify_one_to_a_killed_waiter_passes_on"), Config::default(), || {
        let (a, b) = (node::create("a"), node::create("b"));
        let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
        let spawn_waiter = |name: &'static str, on| {
            let p = pair.clone();
            let h = thread::Builder::new().name(name).node(on).spawn(move || {
                let mut g = p.0.lock();
                while *g == 0 {
                    p.1.wait(&mut g);
                }
                *g -= 1;
            });
            time::sleep(Duration::from_millis(1)); // waits in this order
            h
        };
        let doomed = spawn_waiter("doomed", b);
        let survivor = spawn_waiter("survivor", a);
        *pair.0.lock() += 1;
        assert!(pair.1.notify_one(), "there was a waiter");
        node::crash(b);
        survivor.join().unwrap();
        assert!(doomed.join().is_err());
        assert_eq!(*pair.0.lock(), 0);
    });
}

/// A failed `try_lock` leaves the holder's lock alone (it once built a guard for the failed
/// attempt, whose drop released the lock under its holder).
#[test]
fn failed_try_lock_leaves_the_lock_held() {
    sim::check(&labrpc::target!("failed_try_lock_leaves_the_lock_held"), Config::default(), || {
        let m = Arc::new(Mutex::new(0u32));
        let m2 = m.clone();
        let holder = thread::spawn(move || {
            let mut g = m2.lock();
            time::sleep(Duration::from_millis(10));
            *g += 1;
        });
        time::sleep(Duration::from_millis(1));
        assert!(m.try_lock().is_none(), "the holder has it");
        assert!(m.try_lock().is_none(), "the holder still has it after a failed try_lock");
        holder.join().unwrap();
        assert_eq!(*m.try_lock().expect("free once the holder left"), 1);
    });
}

/// A receiver on the crashing node is woken for a value and killed before it runs: the value
/// stays in the channel, and the wake-up passes to a receiver on a live node.
#[test]
fn value_woken_for_a_killed_receiver_reaches_another() {
    sim::check(&labrpc::target!("value_woken_for_a_killed_receiver_reaches_another"), Config::default(), || {
        let (a, b) = (node::create("a"), node::create("b"));
        let (tx, rx) = labrpc::channel::unbounded::<u32>();
        let spawn_receiver = |name: &'static str, on| {
            let rx = rx.clone();
            let h = thread::Builder::new().name(name).node(on).spawn(move || rx.recv().unwrap());
            time::sleep(Duration::from_millis(1)); // parked in this order
            h
        };
        let doomed = spawn_receiver("doomed", b);
        let survivor = spawn_receiver("survivor", a);
        tx.send(7).unwrap(); // wakes the first receiver
        node::crash(b);
        assert_eq!(survivor.join().unwrap(), 7);
        assert!(doomed.join().is_err());
    });
}

/// A sender on the crashing node, parked on a full channel, is woken for the free slot and
/// killed before it runs: the slot goes to a sender on a live node.
#[test]
fn room_woken_for_a_killed_sender_reaches_another() {
    sim::check(&labrpc::target!("room_woken_for_a_killed_sender_reaches_another"), Config::default(), || {
        let (a, b) = (node::create("a"), node::create("b"));
        let (tx, rx) = labrpc::channel::bounded::<&str>(1);
        tx.send("first").unwrap();
        let spawn_sender = |name: &'static str, on| {
            let tx = tx.clone();
            let h = thread::Builder::new().name(name).node(on).spawn(move || tx.send(name).unwrap());
            time::sleep(Duration::from_millis(1)); // parked in this order
            h
        };
        let doomed = spawn_sender("doomed", b);
        let survivor = spawn_sender("survivor", a);
        assert_eq!(rx.recv().unwrap(), "first"); // wakes the first sender
        node::crash(b);
        survivor.join().unwrap();
        assert!(doomed.join().is_err());
        assert_eq!(rx.recv().unwrap(), "survivor");
    });
}
