//! The same API outside a simulation: real threads, real time, parking_lot, crossbeam.

use std::sync::Arc;
use std::time::Duration;

use labrpc::channel;
use labrpc::net::{Network, Server, Service};
use labrpc::sync::{Condvar, Mutex};
use labrpc::{node, rand, sim, thread, time, NodeId};

#[test]
fn threads_locks_condvars_and_channels_work_on_real_threads() {
    assert!(!sim::in_simulation());
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let counter = counter.clone();
            thread::Builder::new().name(format!("real-{i}")).spawn(move || {
                assert_eq!(thread::current_name(), format!("real-{i}"));
                for _ in 0..1000 {
                    *counter.lock() += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*counter.lock(), 4000);

    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p = pair.clone();
    let t = thread::spawn(move || {
        time::sleep(Duration::from_millis(20));
        *p.0.lock() = true;
        p.1.notify_all();
    });
    let start = time::now();
    let mut ready = pair.0.lock();
    pair.1.wait_while(&mut ready, |r| !*r);
    drop(ready);
    assert!(start.elapsed() >= Duration::from_millis(15), "real time passed: {:?}", start.elapsed());
    t.join().unwrap();

    let (tx, rx) = channel::bounded(1);
    thread::spawn(move || tx.send(rand::range(10..20)).unwrap());
    let v = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!((10..20).contains(&v));
}

#[test]
fn rpc_works_on_real_threads() {
    let net = Network::new();
    let svc = Service::new("Echo").method("Twice", |x: u32| x * 2);
    net.add_server("s", NodeId::MAIN, Server::new().with_service(svc));
    let end = net.make_end("c", node::current_node());
    net.connect("c", "s");
    assert_eq!(end.call::<u32, u32>("Echo.Twice", &21), Ok(42));
    assert_eq!(net.rpc_count("s"), 1);
}
