//! The Go labs' GenericTest for kvraft, plus the fault modes beyond the labs: clients append to,
//! put and read keys for a few seconds per iteration while the network partitions, servers crash,
//! links are cut one way or the leader pauses; then every client's appends are checked (own-key
//! mode) and the whole history is checked for linearizability.

use raftkv::kvsrv::KvClient;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labapi::Lab;
use labrpc::{rand, thread, time};

use super::check::Run;
use super::cluster::KvCluster;
use super::history::{Client, Recorder};
use super::ELECTION_TIMEOUT;

/// Which faults run beside the clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Faults {
    None,
    /// Random two-way partitions of the servers, a new one every 1-1.2 s (Go's partitioner).
    Partitions,
    /// Random one-way cuts between any two nodes, servers and clients alike.
    OneWayCuts,
    /// The leader stops for several election timeouts, again and again.
    PauseLeader,
}

#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub name: &'static str,
    pub nclients: usize,
    pub nservers: usize,
    pub unreliable: bool,
    pub crash: bool,
    pub faults: Faults,
    /// Snapshot threshold in bytes (Go's maxraftstate; None is -1).
    pub maxraftstate: Option<usize>,
    /// Clients use random keys (and also delete and cput); otherwise each appends to its own key
    /// and checks what it reads.
    pub randomkeys: bool,
    /// Per mille of requests delivered twice.
    pub duplicate_per_mille: u32,
}

impl Spec {
    pub const fn new(name: &'static str, nclients: usize, nservers: usize) -> Spec {
        Spec {
            name,
            nclients,
            nservers,
            unreliable: false,
            crash: false,
            faults: Faults::None,
            maxraftstate: None,
            randomkeys: false,
            duplicate_per_mille: 0,
        }
    }
}

/// Iterations of the Go test.
const ITERATIONS: usize = 3;
/// How long clients run per iteration.
const CLIENT_TIME: Duration = Duration::from_secs(5);

/// A client's think time between operations, 10-40 ms: the simulated reliable network delivers
/// in zero virtual time, so without it a client would never let virtual time advance, and it
/// keeps the histories (and, without snapshots, the Raft logs) of a run in the thousands.
pub fn think() {
    time::sleep(Duration::from_millis(rand::range(10..41)));
}

/// "x {client} {j} y": the value a client appends as its j-th operation. Written digit by digit
/// rather than through `format!`: every generic client makes one per operation, and the
/// formatting machinery cost several times the rest of the client's own loop.
pub fn append_value(client: u64, j: usize) -> String {
    let mut value = String::with_capacity(APPEND_VALUE_MAX_BYTES);
    value.push_str("x ");
    push_decimal(&mut value, client);
    value.push(' ');
    push_decimal(&mut value, j as u64);
    value.push_str(" y");
    value
}

/// The longest [`append_value`]: two 20-digit numbers and the 5 bytes around them.
const APPEND_VALUE_MAX_BYTES: usize = 45;

/// Appends `n` in decimal, without leading zeros (as `Display` writes it).
fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[start..]).expect("decimal digits are ASCII"));
}

/// Checks that `value` holds client `client`'s appends 0..count, each once and in order (Go's
/// checkClntAppends). One pass over `value` finds every append of the client (an append's text
/// begins at an "x " and its numbers run to the next space, so no two occurrences overlap), then
/// the appends are checked in order as Go does: missing, duplicated, out of order.
pub fn check_client_appends(client: u64, value: &str, count: usize) {
    if let Err(problem) = client_appends_in_order(client, value, count) {
        panic!("{problem}");
    }
}

/// [`check_client_appends`]'s verdict: the first problem found, if any.
fn client_appends_in_order(client: u64, value: &str, count: usize) -> Result<(), String> {
    // Per append: where it first occurs and how many times.
    let mut found = vec![(0usize, 0usize); count];
    for (at, j) in appends_of(client, value) {
        if let Some((first, times)) = found.get_mut(j) {
            if *times == 0 {
                *first = at;
            }
            *times += 1;
        }
    }
    let mut last = None;
    for (j, &(at, times)) in found.iter().enumerate() {
        let wanted = || append_value(client, j);
        if times == 0 {
            return Err(format!("client {client}: missing append {:?} of {count} in {value:?}", wanted()));
        }
        if times > 1 {
            return Err(format!("client {client}: duplicate append {:?} in {value:?}", wanted()));
        }
        if last.is_some_and(|prev| at <= prev) {
            return Err(format!("client {client}: append {:?} out of order in {value:?}", wanted()));
        }
        last = Some(at);
    }
    Ok(())
}

/// Every occurrence of an [`append_value`] of `client` in `value`: (byte offset, j).
fn appends_of(client: u64, value: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let client = client.to_string();
    let bytes = value.as_bytes();
    let digits_from = move |at: usize| at + bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    value.match_indices("x ").filter_map(move |(at, _)| {
        let client_end = digits_from(at + 2);
        if bytes[at + 2..client_end] != *client.as_bytes() || bytes.get(client_end) != Some(&b' ') {
            return None;
        }
        let j_end = digits_from(client_end + 1);
        let j = &value[client_end + 1..j_end];
        // append_value writes j without leading zeros.
        let canonical = !j.is_empty() && (j == "0" || !j.starts_with('0'));
        if !canonical || !bytes[j_end..].starts_with(b" y") {
            return None;
        }
        Some((at, j.parse().ok()?))
    })
}

/// One client of the one-key tests: `upto` appends to `key`, each followed by a read. Not in the Go
/// tests: the read pins the order of the appends so far, which keeps the linearizability search
/// short (appends alone only reveal their order in the final read).
pub fn append_and_read(client: &mut impl KvClient, key: &str, me: usize, upto: usize) {
    for n in 0..upto {
        client.append(key, &append_value(me as u64, n));
        client.get(key);
    }
}

/// Checks that `value` holds every client's appends, each once and in per-client order (Go's
/// checkConcurrentAppends).
pub fn check_concurrent_appends(value: &str, counts: &[usize]) {
    for (client, &count) in counts.iter().enumerate() {
        check_client_appends(client as u64, value, count);
    }
}

/// One client's operations until `done`; returns the client and how many appends/puts it made.
pub(crate) fn client_loop<L: Lab>(
    mut client: Client<L::KvraftClerk>,
    index: u64,
    nclients: usize,
    randomkeys: bool,
    done: Arc<AtomicBool>,
) -> (Client<L::KvraftClerk>, usize) {
    let mut j = 0;
    let mut last = String::new();
    let own = index.to_string();
    if !randomkeys {
        client.put(&own, "");
    }
    while !done.load(Ordering::Relaxed) {
        // A random key is made afresh each operation; the client's own key is lent, not copied.
        let random_key;
        let key: &str = if randomkeys {
            random_key = rand::range(0..nclients as u64).to_string();
            &random_key
        } else {
            &own
        };
        let draw = rand::range(0..1000);
        // The value is made only by the operations that write it (reads are about half).
        if draw < 500 {
            let nv = append_value(index, j);
            client.append(key, &nv);
            if !randomkeys {
                last.push_str(&nv);
            }
            j += 1;
        } else if randomkeys && draw < 600 {
            client.put(key, &append_value(index, j));
            j += 1;
        } else if randomkeys && draw < 650 {
            client.delete(key);
        } else if randomkeys && draw < 750 {
            let (_, version) = client.get(key);
            think();
            let _ = client.cput(key, &append_value(index, j), version);
            j += 1;
        } else {
            let value = client.get_value(key);
            if !randomkeys {
                assert_eq!(value, last, "client {index}: get({key:?}) returned a wrong value");
            }
        }
        think();
    }
    (client, j)
}

fn fault_loop<L: Lab>(cluster: KvCluster<L>, faults: Faults, clients: Vec<u64>, done: Arc<AtomicBool>) {
    let n = cluster.n();
    // Let the clients work undisturbed for a while first.
    time::sleep(Duration::from_secs(1));
    while !done.load(Ordering::Relaxed) {
        match faults {
            Faults::None => return,
            Faults::Partitions => {
                let side: Vec<u64> = (0..n).map(|_| rand::range(0..2)).collect();
                let p1: Vec<usize> = (0..n).filter(|&i| side[i] == 0).collect();
                let p2: Vec<usize> = (0..n).filter(|&i| side[i] == 1).collect();
                cluster.partition(&p1, &p2);
                time::sleep(ELECTION_TIMEOUT + Duration::from_millis(rand::range(0..200)));
            }
            Faults::OneWayCuts => {
                // Any node to any node: server to server, server to client, client to server.
                let mut nodes: Vec<labrpc::NodeId> = (0..n).map(|i| cluster.node(i)).collect();
                nodes.extend(clients.iter().map(|&c| cluster.client_node(c)));
                let mut cuts = Vec::new();
                for _ in 0..rand::range(1..4) {
                    let a = nodes[rand::range(0..nodes.len() as u64) as usize];
                    let b = nodes[rand::range(0..nodes.len() as u64) as usize];
                    if a != b && !cluster.net().is_cut(a, b) {
                        cluster.cut(a, b);
                        cuts.push((a, b));
                    }
                }
                // Always cut the current leader off from a follower or two, one way.
                if let Some(l) = cluster.leader() {
                    let f = (l + 1 + rand::range(0..(n - 1) as u64) as usize) % n;
                    if !cluster.net().is_cut(cluster.node(l), cluster.node(f)) {
                        cluster.cut(cluster.node(l), cluster.node(f));
                        cuts.push((cluster.node(l), cluster.node(f)));
                    }
                }
                time::sleep(ELECTION_TIMEOUT + Duration::from_millis(rand::range(0..500)));
                for (a, b) in cuts {
                    cluster.heal_cut(a, b);
                }
                time::sleep(Duration::from_millis(rand::range(0..300)));
            }
            Faults::PauseLeader => {
                if let Some(l) = cluster.leader() {
                    // Several election timeouts (300-600 ms each).
                    let pause = Duration::from_millis(rand::range(2000..4000));
                    // For a while after waking, the old leader hears nothing from the others
                    // (one-way cuts towards it), so it still believes it leads; messages queued
                    // during the pause would otherwise depose it at once.
                    let deaf = pause + Duration::from_millis(500);
                    // A reader that reaches only the old leader: its requests wait out the pause
                    // and reach the old leader while the others have moved on without it.
                    let mut reader = cluster.make_client(&[l]);
                    let reader_node = cluster.client_node(reader.id());
                    let (c, nclients) = (cluster.clone(), clients.len().max(1) as u64);
                    cluster.pause(l, pause);
                    let others: Vec<usize> = (0..n).filter(|&i| i != l).collect();
                    for &i in &others {
                        cluster.cut(cluster.node(i), cluster.node(l));
                    }
                    thread::Builder::new().name("stale-reader").node(reader_node).spawn(move || {
                        let until = time::now() + deaf + Duration::from_millis(300);
                        while time::now() < until {
                            reader.get(&rand::range(0..nclients).to_string());
                            time::sleep(Duration::from_millis(rand::range(0..50)));
                        }
                        c.connect_client(reader.id(), &c.all());
                        reader.get(&rand::range(0..nclients).to_string());
                    });
                    time::sleep(deaf);
                    for &i in &others {
                        cluster.heal_cut(cluster.node(i), cluster.node(l));
                    }
                }
                time::sleep(Duration::from_millis(rand::range(200..800)));
            }
        }
    }
}

/// Runs the generic test described by `spec`.
pub fn generic<L: Lab>(spec: Spec) {
    let run = Run::start(spec.name);
    let recorder = Recorder::new();
    let cluster = KvCluster::<L>::new(spec.nservers, spec.unreliable, spec.maxraftstate, &recorder);
    cluster.net().set_duplicate_per_mille(spec.duplicate_per_mille);
    let mut ck = cluster.make_client(&cluster.all());
    let mut clients = Vec::new();
    for _ in 0..spec.nclients {
        clients.push(Some(cluster.make_client(&cluster.all())));
    }
    let client_ids: Vec<u64> = clients.iter().flatten().map(Client::id).collect();
    for _ in 0..ITERATIONS {
        let done_clients = Arc::new(AtomicBool::new(false));
        let done_faults = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = clients
            .iter_mut()
            .enumerate()
            .map(|(index, slot)| {
                let client = slot.take().expect("client returned by the previous iteration");
                let node = cluster.client_node(client.id());
                let done = done_clients.clone();
                let (nclients, randomkeys) = (spec.nclients, spec.randomkeys);
                thread::Builder::new()
                    .name(format!("client-{index}"))
                    .node(node)
                    .spawn(move || client_loop::<L>(client, index as u64, nclients, randomkeys, done))
            })
            .collect();
        let faults = (spec.faults != Faults::None).then(|| {
            let (cluster, done) = (cluster.clone(), done_faults.clone());
            let ids = client_ids.clone();
            thread::Builder::new().name("faults").spawn(move || fault_loop(cluster, spec.faults, ids, done))
        });
        time::sleep(CLIENT_TIME);
        done_clients.store(true, Ordering::Relaxed);
        done_faults.store(true, Ordering::Relaxed);
        if let Some(faults) = faults {
            faults.join().expect("the fault thread ends");
            cluster.connect_all();
            cluster.net().heal_all();
            time::sleep(ELECTION_TIMEOUT);
        }
        if spec.crash {
            cluster.crash_and_restart_all(ELECTION_TIMEOUT);
        }
        for (index, handle) in handles.into_iter().enumerate() {
            let (client, count) = handle.join().expect("a client thread ends");
            clients[index] = Some(client);
            let key = index.to_string();
            let value = ck.get_value(&key);
            if !spec.randomkeys {
                check_client_appends(index as u64, &value, count);
            }
        }
        if let Some(max) = spec.maxraftstate {
            let size = cluster.log_size();
            assert!(size <= 8 * max, "logs were not trimmed ({size} > 8*{max})");
        } else {
            let size = cluster.snapshot_size();
            assert!(size == 0, "snapshot of {size} bytes although maxraftstate is -1");
        }
    }
    run.finish(&recorder, spec.nservers, cluster.total_rpcs());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's check as it reads (a search per append), giving its failure message instead of panicking.
    fn by_search(client: u64, value: &str, count: usize) -> Result<(), String> {
        let mut last = None;
        for j in 0..count {
            let wanted = append_value(client, j);
            let Some(at) = value.find(&wanted) else {
                return Err(format!("client {client}: missing append {wanted:?} of {count} in {value:?}"));
            };
            if value.rfind(&wanted) != Some(at) {
                return Err(format!("client {client}: duplicate append {wanted:?} in {value:?}"));
            }
            if last.is_some_and(|prev| at <= prev) {
                return Err(format!("client {client}: append {wanted:?} out of order in {value:?}"));
            }
            last = Some(at);
        }
        Ok(())
    }

    #[test]
    fn append_values_are_what_format_writes() {
        for client in [0, 1, 9, 10, 11, 99, 100, 12_345, u64::MAX] {
            for j in [0, 1, 9, 10, 19, 100, 999, 1000, usize::MAX] {
                assert_eq!(append_value(client, j), format!("x {client} {j} y"));
            }
        }
        assert_eq!(append_value(u64::MAX, usize::MAX).len(), APPEND_VALUE_MAX_BYTES);
    }

    #[test]
    fn the_one_pass_check_answers_as_the_search_per_append_does() {
        let tokens = [
            "x 1 0 y", "x 1 1 y", "x 1 2 y", "x 1 10 y", "x 11 0 y", "x 2 1 y", "x 1 01 y", "x 01 1 y", "x 1 1",
            "xx 1 1 y", "x 1 2 yy", "1 0 y", "x  1 0 y", "x 1 3 y", "?",
        ];
        // Every sequence of up to 4 tokens (with repeats), for clients 1 and 11 and counts 0-4.
        let mut checked = 0;
        let mut seq = [0usize; 4];
        for len in 0..=4 {
            for code in 0..tokens.len().pow(len as u32) {
                let mut c = code;
                for slot in seq.iter_mut().take(len) {
                    *slot = c % tokens.len();
                    c /= tokens.len();
                }
                let value: String = seq[..len].iter().map(|&t| tokens[t]).collect();
                for client in [1, 11] {
                    for count in 0..=4 {
                        assert_eq!(
                            client_appends_in_order(client, &value, count),
                            by_search(client, &value, count),
                            "{value:?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 100_000);
        let good: String = (0..500).map(|j| append_value(7, j) + &append_value(3, j)).collect();
        assert_eq!(client_appends_in_order(7, &good, 500), Ok(()));
        assert_eq!(client_appends_in_order(3, &good, 501), by_search(3, &good, 501));
    }
}
