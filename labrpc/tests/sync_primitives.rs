//! Mutex, Condvar, channels, join and sleep inside a simulation.

use std::sync::Arc;
use std::time::Duration;

use labrpc::channel::{self, RecvTimeoutError, TryRecvError, TrySendError};
use labrpc::sim::{self, Config};
use labrpc::sync::{Condvar, Mutex};
use labrpc::{thread, time};

#[test]
fn mutex_excludes_across_suspensions() {
    let config = Config { preempt_per_mille: 300, ..Config::default() };
    sim::check(&labrpc::target!("mutex_excludes_across_suspensions"), config, || {
        let counter = Arc::new(Mutex::new((0u64, false)));
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let counter = counter.clone();
                thread::spawn(move || {
                    for _ in 0..50 {
                        let mut g = counter.lock();
                        assert!(!g.1, "two threads inside the critical section");
                        g.1 = true;
                        // Suspend while holding the lock: others must queue, not enter.
                        time::sleep(Duration::from_millis(1));
                        g.0 += 1;
                        g.1 = false;
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(counter.lock().0, 400);
        // 400 one-ms critical sections, strictly one at a time.
        assert_eq!(time::now().since_start(), Duration::from_millis(400));
    });
}

#[test]
fn condvar_notify_and_timeout() {
    sim::check(&labrpc::target!("condvar_notify_and_timeout"), Config::default(), || {
        let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
        let p = pair.clone();
        let waiter = thread::spawn(move || {
            let (m, cv) = &*p;
            let mut g = m.lock();
            cv.wait_while(&mut g, |v| *v < 3);
            (*g, time::now().since_start())
        });
        for _ in 0..3 {
            time::sleep(Duration::from_millis(10));
            *pair.0.lock() += 1;
            pair.1.notify_all();
        }
        assert_eq!(waiter.join().unwrap(), (3, Duration::from_millis(30)));

        let mut g = pair.0.lock();
        let start = time::now();
        let r = pair.1.wait_timeout(&mut g, Duration::from_millis(250));
        assert!(r.timed_out());
        assert_eq!(start.elapsed(), Duration::from_millis(250));
        let r = pair.1.wait_timeout_while(&mut g, Duration::from_millis(50), |v| *v == 3);
        assert!(r.timed_out());
        assert!(!pair.1.notify_one(), "no waiter left behind by timed-out waits");
    });
}

#[test]
fn channels_bounded_unbounded_rendezvous() {
    sim::check(&labrpc::target!("channels_bounded_unbounded_rendezvous"), Config::default(), || {
        // Bounded: the sender blocks when full.
        let (tx, rx) = channel::bounded::<u32>(2);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
        let consumer = thread::spawn(move || {
            time::sleep(Duration::from_secs(1));
            let got: Vec<u32> = rx.iter().collect();
            got
        });
        tx.send(3).unwrap(); // blocks until the consumer drains at t=1s
        assert_eq!(time::now().since_start(), Duration::from_secs(1));
        drop(tx);
        assert_eq!(consumer.join().unwrap(), vec![1, 2, 3]);

        // Rendezvous: send returns only once the value is taken.
        let (tx, rx) = channel::bounded::<&str>(0);
        let taker = thread::spawn(move || {
            time::sleep(Duration::from_millis(500));
            rx.recv().unwrap()
        });
        let before = time::now();
        tx.send("hi").unwrap();
        assert_eq!(before.elapsed(), Duration::from_millis(500));
        assert_eq!(taker.join().unwrap(), "hi");
        assert!(tx.send("nobody").is_err(), "receiver gone: send fails");

        // Unbounded with timeouts and disconnection.
        let (tx, rx) = channel::unbounded::<u8>();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(rx.recv_timeout(Duration::from_millis(70)), Err(RecvTimeoutError::Timeout));
        let tx2 = tx.clone();
        thread::spawn(move || {
            time::sleep(Duration::from_millis(5));
            tx2.send(9).unwrap();
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(1)), Ok(9));
        drop(tx);
        assert_eq!(rx.recv_timeout(Duration::from_secs(1)), Err(RecvTimeoutError::Disconnected));
        assert!(rx.recv().is_err());
    });
}

#[test]
fn many_receivers_share_the_values() {
    sim::check(&labrpc::target!("many_receivers_share_the_values"), Config::default(), || {
        let (tx, rx) = channel::unbounded::<u32>();
        let results = Arc::new(Mutex::new(Vec::new()));
        let receivers: Vec<_> = (0..4)
            .map(|_| {
                let (rx, results) = (rx.clone(), results.clone());
                thread::spawn(move || {
                    for v in rx.iter() {
                        results.lock().push(v);
                    }
                })
            })
            .collect();
        drop(rx);
        for v in 0..100 {
            tx.send(v).unwrap();
            if v % 10 == 0 {
                time::sleep(Duration::from_millis(1));
            }
        }
        drop(tx);
        for r in receivers {
            r.join().unwrap();
        }
        let mut got = results.lock().clone();
        got.sort();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    });
}

#[test]
fn thousand_virtual_seconds_take_little_wall_time() {
    #[allow(clippy::disallowed_methods)]
    let wall = std::time::Instant::now();
    let report = sim::run(1, &Config { time_limit: Duration::from_secs(2000), ..Config::default() }, || {
        time::sleep(Duration::from_secs(1000));
        time::now().since_start()
    })
    .unwrap();
    assert_eq!(report.value, Duration::from_secs(1000));
    assert_eq!(report.virtual_time, Duration::from_secs(1000));
    // A functional property (time does not wait on the wall clock), with a wide margin.
    assert!(wall.elapsed() < Duration::from_millis(500), "took {:?}", wall.elapsed());
}

#[test]
fn equal_deadlines_and_time_only_moves_when_all_wait() {
    sim::check(&labrpc::target!("equal_deadlines_and_time_only_moves_when_all_wait"), Config::default(), || {
        let log = Arc::new(Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..5)
            .map(|i| {
                let log = log.clone();
                thread::spawn(move || {
                    time::sleep(Duration::from_millis(100));
                    log.lock().push((i, time::now().since_start()));
                })
            })
            .collect();
        // A busy thread that never blocks keeps time still.
        let t0 = time::now();
        let mut x = 0u64;
        for i in 0..10_000 {
            x = x.wrapping_add(i);
        }
        assert_eq!(time::now(), t0, "time moved while a thread was running ({x})");
        for h in handles {
            h.join().unwrap();
        }
        let log = log.lock();
        assert_eq!(log.len(), 5);
        assert!(log.iter().all(|(_, t)| *t == Duration::from_millis(100)));
    });
}
