//! Simulated mutexes, condvars and channels after the run that made them: the test inspecting a
//! result, or a value used and dropped on another OS thread. They work as objects outside any
//! simulation (a lock taken outside any simulated thread, non-blocking sends and receives).

use std::sync::Arc;

use labrpc::channel::{self, Receiver, Sender, TryRecvError, TrySendError};
use labrpc::sim::{self, Config};
use labrpc::sync::{Condvar, Mutex};

type Objects = (Arc<(Mutex<u32>, Condvar)>, Sender<u32>, Receiver<u32>);

/// A mutex (holding 7), its condvar and a channel of capacity 2 holding one value (5), all made
/// inside a simulation and returned out of it.
fn made_in_a_run() -> Objects {
    sim::run(1, &Config::default(), || {
        let pair = Arc::new((Mutex::new(7u32), Condvar::new()));
        let (tx, rx) = channel::bounded(2);
        tx.send(5).unwrap();
        (pair, tx, rx)
    })
    .unwrap()
    .value
}

/// Every non-blocking call, as a test makes them after the run.
fn use_after_the_run((pair, tx, rx): Objects) {
    let (m, cv) = &*pair;
    {
        let mut g = m.lock();
        assert_eq!(*g, 7);
        *g += 1;
        assert!(m.try_lock().is_none(), "held by the guard above");
    }
    assert_eq!(*m.try_lock().expect("free again"), 8);
    assert!(!cv.notify_one());
    assert_eq!(cv.notify_all(), 0);
    assert_eq!(rx.len(), 1);
    tx.try_send(6).unwrap();
    assert_eq!(tx.try_send(7), Err(TrySendError::Full(7)));
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [5, 6]);
    let tx2 = tx.clone();
    drop((tx, tx2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn objects_of_an_ended_run_work_on_its_own_os_thread() {
    use_after_the_run(made_in_a_run());
}

#[test]
fn objects_of_an_ended_run_work_on_another_os_thread() {
    let objects = made_in_a_run();
    #[allow(clippy::disallowed_methods)] // a real OS thread on purpose
    std::thread::spawn(move || use_after_the_run(objects)).join().unwrap();
}

/// Threads killed at the end of a run while they waited leave their places in the queues of a
/// condvar and a channel; after the run those places are nobody's, and notifying the condvar,
/// or dropping the channel's last sender, finds no thread to wake instead of failing.
#[test]
fn places_of_threads_killed_at_the_end_of_the_run_are_nobodys() {
    let (pair, tx, rendezvous) = sim::run(2, &Config::default(), || {
        let pair = Arc::new((Mutex::new(()), Condvar::new()));
        let (tx, rx) = channel::unbounded::<u32>();
        let (rendezvous, rendezvous_rx) = channel::bounded::<u32>(0);
        let p = pair.clone();
        labrpc::thread::spawn(move || {
            let mut g = p.0.lock();
            p.1.wait(&mut g);
        });
        labrpc::thread::spawn(move || rx.recv());
        labrpc::thread::spawn(move || rendezvous_rx.recv());
        // All three wait now; the end of the run kills them where they wait.
        labrpc::time::sleep(std::time::Duration::from_millis(1));
        (pair, tx, rendezvous)
    })
    .unwrap()
    .value;
    assert!(!pair.1.notify_one(), "a killed waiter is not woken");
    assert_eq!(pair.1.notify_all(), 0);
    drop(pair.0.lock());
    assert_eq!(rendezvous.try_send(1), Err(TrySendError::Disconnected(1)), "its receiver went with the run");
    drop(tx); // the last sender: the killed receiver's place is dropped, not woken
}

/// After the run, two OS threads at once: each call still sees the object's state alone (the
/// state is behind a real lock once its run has ended), so no update is lost.
#[test]
fn objects_of_an_ended_run_serve_two_os_threads_at_once() {
    const EACH: u32 = 20_000;
    let (pair, tx, rx) = made_in_a_run();
    let (tx, rx) = {
        // An unbounded channel of the same run, so every send fits.
        let (utx, urx) = sim::run(3, &Config::default(), channel::unbounded::<u32>).unwrap().value;
        drop((tx, rx));
        (utx, urx)
    };
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (pair, tx) = (pair.clone(), tx.clone());
            #[allow(clippy::disallowed_methods)] // real OS threads on purpose
            std::thread::spawn(move || {
                let (mut got, mut sent) = (0, 0);
                while got < EACH {
                    // `try_lock`: a blocking `lock` held by the other OS thread is refused.
                    if let Some(mut g) = pair.0.try_lock() {
                        *g += 1;
                        got += 1;
                    }
                    tx.try_send(got).unwrap();
                    sent += 1;
                    drop(tx.clone());
                    pair.1.notify_one();
                }
                sent
            })
        })
        .collect();
    let sent: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(*pair.0.lock(), 7 + 2 * EACH);
    assert_eq!(rx.len(), sent);
    drop(tx);
    assert_eq!(rx.try_iter().count(), sent);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

/// While a run runs, another OS thread touching one of its objects is refused with a panic
/// (its state is the run's alone), and the run goes on unharmed.
#[test]
fn another_os_thread_is_refused_during_the_run() {
    let report = sim::run(4, &Config::default(), || {
        let m = Arc::new(Mutex::new(1u32));
        let (tx, rx) = channel::unbounded::<u32>();
        let (m2, tx2) = (m.clone(), tx.clone());
        #[allow(clippy::disallowed_methods)] // a real OS thread on purpose
        let outsider = std::thread::spawn(move || {
            let locked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(m2.lock())));
            let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tx2.try_send(1)));
            std::mem::forget(tx2); // its drop would touch the channel too
            (locked.is_err(), sent.is_err())
        });
        let refused = outsider.join().unwrap();
        tx.send(2).unwrap();
        *m.lock() += 1;
        let value = *m.lock();
        (refused, value, rx.try_recv())
    })
    .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(report.value, ((true, true), 2, Ok(2)));
}
