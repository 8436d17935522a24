//! Channel wake-ups under churn: threads on three nodes block in `send` on a small bounded
//! channel and in `recv` (and sometimes `recv_timeout`), with preemption at lock and send points,
//! while the main thread crashes and restarts their nodes at random. A value woken for a
//! receiver that dies, or room woken for a sender that dies, must reach another waiter.
//! The churn ends with a few wake-ups each followed at once by a crash. Invariants checked once
//! the system settles:
//! - values sent = values received + values left in the channel (none dies with a receiver);
//! - no live receiver waits while the channel holds a value;
//! - no live sender waits while the channel has room.
//!
//! 16 seeds by default; `LAB_SEED` replays one, `LAB_RUNS` runs more.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::channel::{self, Receiver, Sender};
use labrpc::sync::Mutex;
use labrpc::{node, rand, thread, time, NodeId};

const CAPACITY: usize = 2;
const WORKERS_PER_NODE: usize = 4;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Blocked {
    Receiving,
    Sending,
}

struct World {
    tx: Sender<u64>,
    rx: Receiver<u64>,
    sent: AtomicU64,
    received: AtomicU64,
    /// Threads inside a blocking `send` or `recv`: what they wait for, their node, and the
    /// node's incarnation when they started (a thread of an older incarnation is dead).
    blocked: Mutex<BTreeMap<u64, (Blocked, NodeId, u64)>>,
    next_thread: AtomicU64,
    stop: AtomicBool,
}

/// A blocking send, registered as waiting while it blocks.
fn send_one(world: &World, me: u64, node: NodeId, incarnation: u64) {
    world.blocked.lock().insert(me, (Blocked::Sending, node, incarnation));
    world.tx.send(me).unwrap();
    assert!(common::alive(node, incarnation), "a sender ran after its node crashed");
    world.sent.fetch_add(1, Ordering::SeqCst);
    world.blocked.lock().remove(&me);
}

/// A blocking receive, registered as waiting while it blocks.
fn recv_one(world: &World, me: u64, node: NodeId, incarnation: u64) {
    world.blocked.lock().insert(me, (Blocked::Receiving, node, incarnation));
    world.rx.recv().unwrap();
    assert!(common::alive(node, incarnation), "a receiver ran after its node crashed");
    world.received.fetch_add(1, Ordering::SeqCst);
    world.blocked.lock().remove(&me);
}

/// `send_heavy`: sends outnumber receives, so the channel fills and senders wait; otherwise
/// receivers wait.
fn worker(world: Arc<World>, node: NodeId, incarnation: u64, send_heavy: bool) {
    let me = world.next_thread.fetch_add(1, Ordering::SeqCst);
    while !world.stop.load(Ordering::SeqCst) {
        let op = rand::range(0..5);
        let op = if send_heavy { [0, 0, 0, 2, 4][op as usize] } else { [0, 2, 2, 4, 4][op as usize] };
        match op {
            0 | 1 => send_one(&world, me, node, incarnation),
            2 | 3 => recv_one(&world, me, node, incarnation),
            _ => {
                if world.rx.recv_timeout(Duration::from_micros(rand::range(0..3000))).is_ok() {
                    assert!(common::alive(node, incarnation), "a receiver ran after its node crashed");
                    world.received.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }
}

fn start_workers(world: &Arc<World>, node: NodeId, send_heavy: bool) {
    let incarnation = node::incarnation(node);
    for k in 0..WORKERS_PER_NODE {
        let w = world.clone();
        // The handle is dropped: the thread runs on, detached.
        drop(
            thread::Builder::new()
                .name(format!("worker {k}"))
                .node(node)
                .spawn(move || worker(w, node, incarnation, send_heavy)),
        );
    }
}

fn churn() {
    let (tx, rx) = channel::bounded(CAPACITY);
    let world = Arc::new(World {
        tx,
        rx,
        sent: AtomicU64::new(0),
        received: AtomicU64::new(0),
        blocked: Mutex::new(BTreeMap::new()),
        next_thread: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let send_heavy = rand::per_mille(500);
    let nodes: Vec<NodeId> = (0..3).map(|k| node::create(&format!("w{k}"))).collect();
    for &n in &nodes {
        start_workers(&world, n, send_heavy);
    }
    let mut crashes = common::churn(&nodes, |n| start_workers(&world, n, send_heavy), || {});
    world.stop.store(true, Ordering::SeqCst);
    time::sleep(Duration::from_millis(100)); // receives with a timeout end; the rest wait for good
    assert_no_lost_wake_up(&world, "after the churn");
    // The end: the channel full with a blocked sender on every node (or empty with a blocked
    // receiver on every node), then two wake-ups (a value taken, or sent), each just before a
    // crash of a random node, which kills the woken thread before it runs if it lives there.
    // Nothing after them would make up for a wake-up lost with it.
    loop {
        let moved = if send_heavy { world.tx.try_send(u64::MAX).is_ok() } else { world.rx.try_recv().is_ok() };
        if !moved {
            break;
        }
        if send_heavy { &world.sent } else { &world.received }.fetch_add(1, Ordering::SeqCst);
    }
    for &n in &nodes {
        if !node::is_alive(n) {
            node::restart(n);
        }
        let incarnation = node::incarnation(n);
        for _ in 0..WORKERS_PER_NODE {
            let (w, me) = (world.clone(), world.next_thread.fetch_add(1, Ordering::SeqCst));
            drop(thread::Builder::new().name("last waiter").node(n).spawn(move || {
                if send_heavy {
                    send_one(&w, me, n, incarnation)
                } else {
                    recv_one(&w, me, n, incarnation)
                }
            }));
        }
    }
    time::sleep(Duration::from_millis(1));
    for _ in 0..2 {
        if send_heavy {
            world.rx.try_recv().expect("the channel is full");
            world.received.fetch_add(1, Ordering::SeqCst);
        } else {
            world.tx.try_send(u64::MAX).expect("the channel is empty");
            world.sent.fetch_add(1, Ordering::SeqCst);
        }
        let n = nodes[rand::range(0..nodes.len() as u64) as usize];
        node::crash(n);
        node::restart(n);
        crashes += 1;
    }
    time::sleep(Duration::from_millis(100));
    assert_no_lost_wake_up(&world, "after the last wake-ups");
    assert!(crashes > 10, "the churn crashed nodes only {crashes} times");
}

/// Fails if a value died with a receiver, or a live thread waits on the channel for something
/// it has (call once settled).
fn assert_no_lost_wake_up(world: &World, when: &str) {
    let left = world.rx.len() as u64;
    let (sent, received) = (world.sent.load(Ordering::SeqCst), world.received.load(Ordering::SeqCst));
    assert_eq!(sent, received + left, "{when}: values sent = received + left in the channel");
    let blocked = world.blocked.lock();
    let live = |what: Blocked| {
        blocked.values().filter(|&&(w, n, incarnation)| w == what && common::alive(n, incarnation)).count()
    };
    let (receivers, senders) = (live(Blocked::Receiving), live(Blocked::Sending));
    assert!(
        left == 0 || receivers == 0,
        "lost wake-up {when}: {left} values left and {receivers} live receivers waiting"
    );
    assert!(
        left == CAPACITY as u64 || senders == 0,
        "lost wake-up {when}: room for {} values and {senders} live senders waiting",
        CAPACITY as u64 - left
    );
}

#[test]
fn channel_wake_ups_survive_churn() {
    common::run_seeds(&labrpc::target!("channel_wake_ups_survive_churn"), None, churn);
}
