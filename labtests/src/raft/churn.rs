//! The churn helpers the 3C churn tests and the chaos scenarios share: clients that propose to
//! every running peer while the cluster changes under them, and the final check that every value
//! a client saw committed is in the committed log.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::thread::JoinHandle;
use labrpc::{thread, time};

use super::{Cluster, Command, ELECTION_TIMEOUT};
use labapi::RaftPeer;

/// Restarts every crashed peer and connects every peer.
pub(crate) fn revive_all<R: RaftPeer>(cfg: &Cluster<R>, servers: usize) {
    for i in 0..servers {
        if !cfg.is_running(i) {
            cfg.start(i);
        }
        cfg.connect(i);
    }
}

/// Stops the churn clients, lets the cluster settle, commits one more command on every peer, and
/// checks that every value a client saw committed is in the committed log.
pub(crate) fn check_client_values<R: RaftPeer>(
    cfg: &Cluster<R>,
    stop: &AtomicBool,
    clients: Vec<JoinHandle<Vec<u64>>>,
    servers: usize,
) {
    stop.store(true, Ordering::SeqCst);
    let mut values = Vec::new();
    for client in clients {
        values.extend(client.join().expect("client failed"));
    }
    time::sleep(ELECTION_TIMEOUT);
    let last_index = cfg.one(&Command::random(), servers, true);
    // Sorted once and searched: the clients saw thousands of values commit, and searching the
    // log for each was quadratic.
    let mut really = cfg.committed_prefix(last_index);
    really.sort_unstable();
    for v in values {
        assert!(
            really.binary_search(&v).is_ok(),
            "didn't find a value: {v} was committed to a client but is not in the log"
        );
    }
}

/// Starts `count` threads named `{name}-{me}` running `churn_client` until `stop`.
pub(crate) fn spawn_churn_clients<R: RaftPeer>(
    cfg: &Cluster<R>,
    name: &str,
    count: u64,
    stop: &Arc<AtomicBool>,
    think: Duration,
) -> Vec<JoinHandle<Vec<u64>>> {
    (0..count)
        .map(|me| {
            let (cfg, stop) = (cfg.clone(), stop.clone());
            thread::Builder::new().name(format!("{name}-{me}")).spawn(move || churn_client(cfg, me, stop, think))
        })
        .collect()
}

/// A churn client: proposes random values to every running peer until `stop`, and returns the
/// values it saw committed at the index it was given. Paused peers are skipped (Go has none):
/// calling into one could stall the client until the pause ends. `think` is slept after every
/// accepted proposal (zero in the Go churn tests).
pub(crate) fn churn_client<R: RaftPeer>(cfg: Cluster<R>, me: u64, stop: Arc<AtomicBool>, think: Duration) -> Vec<u64> {
    let mut values = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let x = labrpc::rand::next_u64() >> 1;
        let encoded = Command::Value(x).encode();
        let mut index = None;
        // Try them all, maybe one of them is a leader.
        for (i, raft) in cfg.awake() {
            if let Some((at, _)) = cfg.start_on(i, &raft, encoded.clone()) {
                index = Some(at);
            }
        }
        match index {
            Some(index) => {
                // Maybe the leader will commit our value, maybe not; don't wait forever.
                for to_ms in [10, 20, 50, 100, 200] {
                    let (nd, command) = cfg.n_committed(index);
                    if nd > 0 {
                        match command {
                            Some(Command::Value(v)) if v == x => values.push(x),
                            Some(Command::Value(_)) => {}
                            other => panic!("wrong command type at index {index}: {other:?}"),
                        }
                        break;
                    }
                    time::sleep(Duration::from_millis(to_ms));
                }
                if !think.is_zero() {
                    time::sleep(think);
                }
            }
            None => time::sleep(Duration::from_millis(79 + me * 17)),
        }
    }
    values
}
