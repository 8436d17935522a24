//! Lab 2 scenarios (kvsrv, one server), after the Go kvsrv test_test.go: the generic client test
//! in three flavours, concurrent appends to one key, and the memory tests, which measure the bytes
//! the server's node holds with the harness's counting allocator (`labrpc::node::memory`), not
//! what the server reports about itself.

use raftkv::kvsrv::KvClient;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labapi::{KvsrvClerk, KvsrvServer, Lab};
use labrpc::net::{ClientEnd, Network, Server};
use labrpc::{node, rand, thread, time, NodeId};

use super::check::Run;
use super::generic::{append_and_read, append_value, check_client_appends, check_concurrent_appends, think};
use super::history::{Client, Recorder};

/// One kvsrv on its own node, and the clerks' network.
pub struct Single<L: Lab> {
    pub net: Network,
    pub server: L::KvsrvServer,
    pub node: NodeId,
    recorder: Recorder,
    clients: u64,
}

impl<L: Lab> Single<L> {
    pub fn new(unreliable: bool, recorder: &Recorder) -> Single<L> {
        let net = Network::new();
        net.set_reliable(!unreliable);
        let node = node::create("kvsrv");
        let server = L::KvsrvServer::new();
        net.add_server("kvsrv", node, Server::new().with_service(server.service()));
        Single { net, server, node, recorder: recorder.clone(), clients: 0 }
    }

    /// A bare clerk (not recorded), its end owned by the test's node.
    pub fn make_clerk(&mut self) -> L::KvsrvClerk {
        L::KvsrvClerk::new(self.make_end())
    }

    /// A new client end to the server, owned by the test's node.
    pub fn make_end(&mut self) -> ClientEnd {
        let name = format!("ck-{}", self.clients);
        self.clients += 1;
        let end = self.net.make_end(&name, NodeId::MAIN);
        self.net.connect(&name, "kvsrv");
        end
    }

    /// A recorded clerk.
    pub fn make_client(&mut self) -> Client<L::KvsrvClerk> {
        let id = self.clients;
        let clerk = self.make_clerk();
        Client::new(clerk, id, self.recorder.clone())
    }
}

const ITERATIONS: usize = 3;
const CLIENT_TIME: Duration = Duration::from_secs(1);

/// Go's GenericTest for kvsrv: each client appends to and reads its own key (or, with
/// `randomkeys`, all five operations on shared keys); appends are checked per iteration and the
/// history for linearizability at the end.
fn generic<L: Lab>(name: &str, nclients: usize, unreliable: bool, randomkeys: bool, duplicate_per_mille: u32) {
    let run = Run::start(name);
    let recorder = Recorder::new();
    let mut single = Single::<L>::new(unreliable, &recorder);
    single.net.set_duplicate_per_mille(duplicate_per_mille);
    let mut ck = single.make_client();
    let mut clients: Vec<Option<Client<L::KvsrvClerk>>> = (0..nclients).map(|_| Some(single.make_client())).collect();
    for _ in 0..ITERATIONS {
        let done = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = clients
            .iter_mut()
            .enumerate()
            .map(|(index, slot)| {
                let mut client = slot.take().expect("client back from the previous iteration");
                let done = done.clone();
                thread::Builder::new().name(format!("client-{index}")).spawn(move || {
                    let count = client_loop::<L>(&mut client, index as u64, nclients, randomkeys, &done);
                    (client, count)
                })
            })
            .collect();
        time::sleep(CLIENT_TIME);
        done.store(true, Ordering::Relaxed);
        for (index, handle) in handles.into_iter().enumerate() {
            let (client, count) = handle.join().expect("a client thread ends");
            clients[index] = Some(client);
            let value = ck.get_value(&index.to_string());
            if !randomkeys {
                check_client_appends(index as u64, &value, count);
            }
        }
    }
    run.finish(&recorder, 1, single.net.total_rpcs());
}

fn client_loop<L: Lab>(
    client: &mut Client<L::KvsrvClerk>,
    index: u64,
    nclients: usize,
    randomkeys: bool,
    done: &AtomicBool,
) -> usize {
    let own = index.to_string();
    let mut last = String::new();
    let mut j = 0;
    if !randomkeys {
        client.put(&own, "");
    }
    while !done.load(Ordering::Relaxed) {
        let key = if randomkeys { rand::range(0..nclients as u64).to_string() } else { own.clone() };
        let nv = append_value(index, j);
        let draw = rand::range(0..1000);
        if draw < 500 {
            client.append(&key, &nv);
            last.push_str(&nv);
            j += 1;
        } else if randomkeys && draw < 600 {
            client.put(&key, &nv);
        } else if randomkeys && draw < 650 {
            client.delete(&key);
        } else if randomkeys && draw < 750 {
            let (_, version) = client.get(&key);
            let _ = client.cput(&key, &nv, version);
        } else {
            let value = client.get_value(&key);
            if !randomkeys {
                assert_eq!(value, last, "client {index}: get({key:?}) returned a wrong value");
            }
        }
        think();
    }
    j
}

pub fn basic_2<L: Lab>() {
    generic::<L>("basic_2", 1, false, false, 0);
}

pub fn concurrent_2<L: Lab>() {
    generic::<L>("concurrent_2", 5, false, false, 0);
}

pub fn unreliable_2<L: Lab>() {
    generic::<L>("unreliable_2", 5, true, false, 0);
}

/// Beyond the Go tests: all five operations, conditional puts included, on shared keys over an
/// unreliable network.
pub fn unreliable_random_keys_2<L: Lab>() {
    generic::<L>("unreliable_random_keys_2", 5, true, true, 0);
}

/// 5 clients x 10 appends to one key over an unreliable network: each exactly once, in
/// per-client order.
pub fn unreliable_one_key_2<L: Lab>() {
    const CLIENTS: usize = 5;
    const UPTO: usize = 10;
    let run = Run::start("unreliable_one_key_2");
    let recorder = Recorder::new();
    let mut single = Single::<L>::new(true, &recorder);
    let mut ck = single.make_client();
    ck.put("k", "");
    let handles: Vec<_> = (0..CLIENTS)
        .map(|me| {
            let mut client = single.make_client();
            thread::Builder::new().name(format!("client-{me}")).spawn(move || {
                append_and_read(&mut client, "k", me, UPTO);
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("a client thread ends");
    }
    let value = ck.get_value("k");
    check_concurrent_appends(&value, &[UPTO; CLIENTS]);
    run.finish(&recorder, 1, single.net.total_rpcs());
}

const MIB10: usize = 10 << 20;
/// Slack over the values for keys, the duplicate table's few entries, B-tree nodes and the
/// bookkeeping of the server's last RPC threads.
const SLACK: usize = 16 << 10;

fn big_value(fill: char) -> String {
    fill.to_string().repeat(MIB10)
}

/// Bytes the server's node holds, as the harness counts them (like the Go lab reading the heap,
/// whatever the server believes its state is): everything its threads allocated and nobody has
/// freed, wherever it is referenced from.
fn server_live_bytes<L: Lab>(single: &Single<L>) -> usize {
    match node::memory(single.node) {
        Some(memory) => memory.live_bytes as usize,
        None => panic!(
            "the lab 2 memory scenarios measure the server's allocations, but this binary does not \
             count them: declare `labrpc::count_allocations!();` in it (as labtests/tests/lab2_kvsrv.rs does)"
        ),
    }
}

/// The memory scenarios check values directly instead of recording histories: their operations
/// carry 10 MiB values or number 100,000, which the linearizability check does not need to see.
fn mem_check<L: Lab>(single: &Single<L>, limit: usize, what: &str) {
    let bytes = server_live_bytes(single);
    assert!(bytes <= limit, "{what}: the server's node holds {bytes} bytes, more than {limit}");
    crate::say!("  {what}: the server's node holds {bytes} bytes (limit {limit})");
}

/// A 10 MiB value read by two clients is not kept again for either of them.
pub fn mem_get_2<L: Lab>() {
    let run = Run::start("mem_get_2");
    let mut single = Single::<L>::new(false, &Recorder::new());
    let (mut ck0, mut ck1) = (single.make_clerk(), single.make_clerk());
    let value = big_value('a');
    ck0.put("k", &value);
    assert!(ck0.get("k").0.as_deref() == Some(value.as_str()), "get returned a wrong value");
    assert!(ck1.get("k").0.as_deref() == Some(value.as_str()), "get returned a wrong value");
    mem_check(&single, MIB10 + SLACK, "mem_get_2");
    run.passed(1, single.net.total_rpcs(), 3);
}

/// A 10 MiB value overwritten by another client's 10 MiB value leaves one copy.
pub fn mem_put_2<L: Lab>() {
    let run = Run::start("mem_put_2");
    let mut single = Single::<L>::new(false, &Recorder::new());
    let (mut ck0, mut ck1) = (single.make_clerk(), single.make_clerk());
    ck0.put("k", &big_value('a'));
    ck1.put("k", &big_value('b'));
    mem_check(&single, MIB10 + SLACK, "mem_put_2");
    assert_eq!(ck0.get("k").1, 2, "two puts give version 2");
    run.passed(1, single.net.total_rpcs(), 3);
}

/// A 10 MiB append to a 10 MiB value keeps the 20 MiB value once, nothing in the duplicate table.
pub fn mem_append_2<L: Lab>() {
    let run = Run::start("mem_append_2");
    let mut single = Single::<L>::new(false, &Recorder::new());
    let (mut ck0, mut ck1) = (single.make_clerk(), single.make_clerk());
    ck0.put("k", &big_value('a'));
    ck1.append("k", &big_value('b'));
    mem_check(&single, 2 * MIB10 + SLACK, "mem_append_2");
    let (value, version) = ck0.get("k");
    assert_eq!(version, 2);
    assert_eq!(value.map(|v| v.len()), Some(2 * MIB10));
    run.passed(1, single.net.total_rpcs(), 3);
}

const MANY_CLIENTS: usize = 100_000;
const PER_CLIENT_LIMIT: usize = 200;

fn many_clients<L: Lab>(name: &str, put: bool) {
    let run = Run::start(name);
    let mut single = Single::<L>::new(false, &Recorder::new());
    let value: String = "v".repeat(1000);
    let mut first = single.make_clerk();
    first.put("k", &value);
    let before = server_live_bytes(&single);
    // Every clerk is a distinct client to the server (its own id and sequence numbers), as in the
    // Go test; they share one client end, because the network's table of ends is not what this
    // measures, and 100,000 entries in it made each call's route lookup several times slower.
    let end = single.make_end();
    for _ in 0..MANY_CLIENTS {
        let mut ck = L::KvsrvClerk::new(end.clone());
        if put {
            ck.put("k", &value);
        } else {
            assert_eq!(ck.get("k").0.as_deref(), Some(value.as_str()));
        }
    }
    let after = server_live_bytes(&single);
    let grown = after.saturating_sub(before);
    let per_client = grown as f64 / MANY_CLIENTS as f64;
    crate::say!(
        "  {name}: {MANY_CLIENTS} clients grew the server's node by {grown} bytes ({per_client:.1} per client)"
    );
    assert!(
        grown <= MANY_CLIENTS * PER_CLIENT_LIMIT,
        "server uses too much memory: its node went from {before} to {after} bytes ({per_client:.1} per client, limit {PER_CLIENT_LIMIT})"
    );
    run.passed(1, single.net.total_rpcs(), MANY_CLIENTS + 1);
}

/// 100,000 clients each put once: the server's node grows by at most 200 bytes per client.
pub fn mem_put_many_clients_2<L: Lab>() {
    many_clients::<L>("mem_put_many_clients_2", true);
}

/// 100,000 clients each get once: the server's node grows by at most 200 bytes per client.
pub fn mem_get_many_clients_2<L: Lab>() {
    many_clients::<L>("mem_get_many_clients_2", false);
}

/// 1024 appends of 1000 bytes by one client: the server holds the value (a String that doubles
/// from 1000 bytes lands exactly on 1024 x 1000) and one duplicate-table entry, not the history
/// of old values or arguments. The limit allows a quarter over the value for other growth
/// policies; keeping the history (another 1,024,000 bytes) does not fit.
pub fn mem_many_appends_2<L: Lab>() {
    const N: usize = 1024;
    const CHUNK: usize = 1000;
    let run = Run::start("mem_many_appends_2");
    let mut single = Single::<L>::new(false, &Recorder::new());
    let mut ck = single.make_clerk();
    let chunk = "y".repeat(CHUNK);
    for _ in 0..N {
        ck.append("k", &chunk);
    }
    mem_check(&single, N * CHUNK * 5 / 4 + SLACK, "mem_many_appends_2");
    assert_eq!(ck.get("k").0.map(|v| v.len()), Some(N * CHUNK), "the value is every append once");
    run.passed(1, single.net.total_rpcs(), N + 1);
}

/// For the beyond scenarios: all five operations on shared keys with 30% duplicated requests.
pub fn generic_duplicates<L: Lab>(name: &str) {
    generic::<L>(name, 5, true, true, 300);
}
