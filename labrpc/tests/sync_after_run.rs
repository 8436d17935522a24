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
