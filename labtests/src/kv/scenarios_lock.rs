//! Lab 2's lock scenarios, after 6.5840's lock tests: clients each make a lock on one key of a
//! kvsrv (`labapi::KvLock` over their clerk) and, for two seconds, acquire it, run a critical
//! section, release it and think. On the unreliable network their conditional puts also answer
//! ErrMaybe now and then (`super::maybe`), as 6.5840's do there.
//!
//! The harness checks, itself:
//! - mutual exclusion, at once: no acquire returns while another client is inside
//!   (`super::lock_check`);
//! - no interleaving, in the store: each critical section reads a counter, pauses and writes it
//!   plus one, so the counter ends equal to the number of critical sections, or updates were lost;
//! - progress: told to stop, every client finishes within a bound, a client that never got in
//!   only after it did (otherwise the failure lists which clients are stuck, in acquire or
//!   release, since when); then a new client must acquire the lock within the same bound (a lock
//!   left held fails here);
//! - linearizability of the whole history, the locks' gets and puts included.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labapi::{KvLock, Lab};
use labrpc::thread::{self, JoinHandle};
use labrpc::{rand, time};
use raftkv::kvsrv::KvClient;

use super::check::Run;
use super::generic::think;
use super::history::{Client, Recorder};
use super::lock_check::Exclusion;
use super::maybe::{MaybeAnswers, MAYBE_EVENT};
use super::scenarios_lab2::Single;

/// The lock's key.
pub const LOCK_KEY: &str = "lock";
/// The counter the critical sections increment.
const COUNT_KEY: &str = "count";
/// How long the clients run (6.5840's NSEC).
const RUN_TIME: Duration = Duration::from_secs(2);
/// How long clients get to finish once told to stop, and the last acquire to return.
const STUCK_LIMIT: Duration = Duration::from_secs(20);
/// How often the main thread looks whether the clients finished.
const POLL: Duration = Duration::from_millis(10);
/// Conditional puts answered ErrMaybe on the unreliable network, per mille: more often than
/// 6.5840's lost replies (1 in 10) give it, so every run meets a few dozen.
const MAYBE_PER_MILLE: u32 = 250;

/// The clerk a client's lock gets: recorded, with the ErrMaybe rule outside the recording (the
/// history shows what the server did).
type LockClerk<L> = MaybeAnswers<Client<<L as Lab>::KvsrvClerk>>;

fn lock_test<L: Lab>(name: &str, nclients: usize, unreliable: bool) {
    let run = Run::start(name);
    let recorder = Recorder::new();
    let mut single = Single::<L>::new(unreliable, &recorder);
    let maybe_per_mille = if unreliable { MAYBE_PER_MILLE } else { 0 };
    let exclusion = Exclusion::new(LOCK_KEY, nclients);
    let done = Arc::new(AtomicBool::new(false));
    let handles: Vec<JoinHandle<()>> = (0..nclients)
        .map(|me| {
            let lock_client = single.make_client();
            let id = lock_client.id();
            let clerk = MaybeAnswers::new(lock_client, maybe_per_mille, id, recorder.clone());
            let section = single.make_client();
            let (exclusion, done) = (exclusion.clone(), done.clone());
            thread::Builder::new()
                .name(format!("client-{me}"))
                .spawn(move || lock_client_loop::<L>(me, clerk, section, &exclusion, &done))
        })
        .collect();
    time::sleep(RUN_TIME);
    done.store(true, Ordering::Relaxed);
    if !wait_finished(&handles) {
        panic!(
            "{name}: clients still running {STUCK_LIMIT:?} after they were told to stop (seed {}): {}; a lock that is \
             never granted, or is left held",
            labrpc::sim::current_seed(),
            exclusion.unfinished()
        );
    }
    for handle in handles {
        handle.join().expect("a client thread ends");
    }
    let entries = exclusion.entries();
    let mut ck = single.make_client();
    let total: u64 = entries.iter().sum();
    let count = read_count(&mut ck);
    assert_eq!(
        count,
        total,
        "{name}: the critical sections' counter is {count} after {total} critical sections (seed {}): updates were \
         lost, so two clients were inside at once",
        labrpc::sim::current_seed()
    );
    acquire_once_more::<L>(name, &mut single, &recorder);
    let maybes = recorder.snapshot().1.iter().filter(|a| a.label == MAYBE_EVENT).count();
    crate::say!("  {name}: {total} critical sections, per client {entries:?}; {maybes} puts answered ErrMaybe");
    run.finish(&recorder, 1, single.net.total_rpcs());
}

fn lock_client_loop<L: Lab>(
    me: usize,
    clerk: LockClerk<L>,
    mut section: Client<L::KvsrvClerk>,
    exclusion: &Exclusion,
    done: &AtomicBool,
) {
    let mut lock = <L::Lock<LockClerk<L>> as KvLock<_>>::new(clerk, LOCK_KEY);
    // Told to stop, a client that never acquired keeps trying: every client must get in.
    let mut entered = 0;
    while entered == 0 || !done.load(Ordering::Relaxed) {
        exclusion.acquiring(me);
        lock.acquire();
        exclusion.entered(me);
        entered += 1;
        // A read-modify-write with a pause inside: two clients inside at once lose an update.
        let count = read_count(&mut section);
        time::sleep(Duration::from_millis(rand::range(1..11)));
        section.put(COUNT_KEY, &(count + 1).to_string());
        exclusion.leaving(me);
        lock.release();
        exclusion.released(me);
        think();
    }
    exclusion.finished(me);
}

/// The counter's value (0 while absent).
fn read_count<C: KvClient>(client: &mut C) -> u64 {
    match client.get(COUNT_KEY).0 {
        None => 0,
        Some(v) => v.parse().unwrap_or_else(|_| panic!("the counter {COUNT_KEY:?} holds {v:?}, not a number")),
    }
}

/// Whether every thread of `handles` finished within [`STUCK_LIMIT`].
fn wait_finished<T>(handles: &[JoinHandle<T>]) -> bool {
    let deadline = time::now() + STUCK_LIMIT;
    while !handles.iter().all(JoinHandle::is_finished) {
        if time::now() >= deadline {
            return false;
        }
        time::sleep(POLL);
    }
    true
}

/// After every client released: a new client's lock must be granted (and released) in time.
fn acquire_once_more<L: Lab>(name: &str, single: &mut Single<L>, recorder: &Recorder) {
    let client = single.make_client();
    let id = client.id();
    let clerk = MaybeAnswers::new(client, 0, id, recorder.clone());
    let handle = thread::Builder::new().name("last-client".to_string()).spawn(move || {
        let mut lock = <L::Lock<LockClerk<L>> as KvLock<_>>::new(clerk, LOCK_KEY);
        lock.acquire();
        lock.release();
    });
    if !wait_finished(std::slice::from_ref(&handle)) {
        panic!(
            "{name}: a new client's acquire did not return within {STUCK_LIMIT:?} after every client had released \
             the lock (seed {}): the lock was left held",
            labrpc::sim::current_seed()
        );
    }
    handle.join().expect("the last client ends");
}

/// 6.5840's TestOneClientReliable.
pub fn lock_reliable_one_client_2<L: Lab>() {
    lock_test::<L>("lock_reliable_one_client_2", 1, false);
}

/// 6.5840's TestManyClientsReliable: ten clients.
pub fn lock_reliable_many_clients_2<L: Lab>() {
    lock_test::<L>("lock_reliable_many_clients_2", 10, false);
}

/// 6.5840's TestOneClientUnreliable, with ErrMaybe answers.
pub fn lock_unreliable_one_client_2<L: Lab>() {
    lock_test::<L>("lock_unreliable_one_client_2", 1, true);
}

/// 6.5840's TestManyClientsUnreliable: ten clients, with ErrMaybe answers.
pub fn lock_unreliable_many_clients_2<L: Lab>() {
    lock_test::<L>("lock_unreliable_many_clients_2", 10, true);
}
