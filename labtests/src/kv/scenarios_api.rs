//! The seeds' key/value API under faults: swaps, scans and one-shot transactions, for kvsrv and
//! kvraft. Clients move money between four accounts with transactions (compare both accounts'
//! versions, then write both), read all accounts with scans, and pass a token around with swaps
//! and value-guarded transactions. Besides the linearizability check (one partition: scans and
//! transactions span keys, so the histories are kept to a few hundred operations), the harness
//! checks on every answer that a scan of the accounts sees all of them and the total unchanged,
//! and at the end that no swap got back a value another swap already got back.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::{rand, thread, time};
use raftkv::kvsrv::{Cmp, Compare, KvClient, Op, Target, Txn};

use super::check::Run;
use super::cluster::KvCluster;
use super::generic::think;
use super::history::{Client, KvClerk, Recorder};
use super::scenarios_4b::MAXRAFTSTATE;
use super::scenarios_lab2::Single;
use super::ELECTION_TIMEOUT;
use labapi::Lab;

/// The accounts, named so that they sort in this order (a scan from the first to the last
/// covers exactly them).
pub const ACCOUNTS: [&str; 4] = ["acct0", "acct1", "acct2", "acct3"];
/// Each account's balance at the start; transfers keep the sum.
pub const START_BALANCE: i64 = 100;
/// The key the swaps pass around.
pub const TOKEN: &str = "token";

/// What a client saw, for the checks at the end: every value a swap got back; and the number of
/// its next operation, which makes the values it swaps in unique across iterations.
#[derive(Default)]
pub struct Seen {
    swapped_out: Vec<String>,
    next_op: usize,
}

fn version_is(key: &str, version: u64) -> Compare {
    Compare { key: key.to_string(), cmp: Cmp::Eq, target: Target::Version(version) }
}

/// Creates every account in one transaction, if none exists yet.
pub fn open_accounts(client: &mut impl KvClient) {
    let txn = Txn {
        compares: ACCOUNTS.iter().map(|a| version_is(a, 0)).collect(),
        success: ACCOUNTS.iter().map(|a| Op::Put { key: a.to_string(), value: START_BALANCE.to_string() }).collect(),
        failure: Vec::new(),
    };
    client.txn(txn);
}

/// Scans the accounts and checks the invariant: all present, numbers, summing to the total.
/// Returns (balance, version) per account.
pub fn audit(client: &mut impl KvClient, who: &str) -> Vec<(i64, u64)> {
    let (entries, more) = client.scan(ACCOUNTS[0], ACCOUNTS[ACCOUNTS.len() - 1], ACCOUNTS.len() as u64);
    let names: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    assert!(!more && names == ACCOUNTS, "{who}: a scan of the accounts found {names:?} (more: {more})");
    let balances: Vec<(i64, u64)> = entries
        .iter()
        .map(|e| {
            let balance = e.value.parse().unwrap_or_else(|_| panic!("{who}: account {} holds {:?}", e.key, e.value));
            (balance, e.version)
        })
        .collect();
    let total: i64 = balances.iter().map(|b| b.0).sum();
    let expected = START_BALANCE * ACCOUNTS.len() as i64;
    assert_eq!(total, expected, "{who}: the accounts sum to {total}, not {expected}: {entries:?}");
    balances
}

/// Moves a random amount between two random accounts, if neither changed since `balances`.
fn transfer(client: &mut impl KvClient, balances: &[(i64, u64)]) {
    let from = rand::range(0..ACCOUNTS.len() as u64) as usize;
    let to = (from + 1 + rand::range(0..(ACCOUNTS.len() - 1) as u64) as usize) % ACCOUNTS.len();
    let amount = rand::range(1..20) as i64;
    let put = |i: usize, balance: i64| Op::Put { key: ACCOUNTS[i].to_string(), value: balance.to_string() };
    let get = |i: usize| Op::Get { key: ACCOUNTS[i].to_string() };
    let txn = Txn {
        compares: vec![version_is(ACCOUNTS[from], balances[from].1), version_is(ACCOUNTS[to], balances[to].1)],
        success: vec![put(from, balances[from].0 - amount), put(to, balances[to].0 + amount)],
        failure: vec![get(from), get(to)],
    };
    client.txn(txn);
}

/// One client's operations until `done`.
pub fn api_client<C: KvClerk>(client: &mut Client<C>, me: u64, done: &AtomicBool, seen: &mut Seen) {
    let who = format!("client {me}");
    let mut balances = audit(client, &who);
    let mut token = None;
    while !done.load(Ordering::Relaxed) {
        let j = seen.next_op;
        let draw = rand::range(0..100);
        if draw < 30 {
            transfer(client, &balances);
        } else if draw < 55 {
            balances = audit(client, &who);
        } else if draw < 70 {
            let (old, _) = client.swap(TOKEN, &format!("{me}-{j}"));
            seen.swapped_out.extend(old.clone());
            token = old;
        } else if draw < 80 {
            // Hand the token on only if it is still what this client last saw.
            let guard = Compare {
                key: TOKEN.to_string(),
                cmp: Cmp::Eq,
                target: Target::Value(token.clone().unwrap_or_default()),
            };
            let txn = Txn {
                compares: vec![guard],
                success: vec![Op::Swap { key: TOKEN.to_string(), value: format!("{me}-{j}") }],
                failure: vec![Op::Get { key: TOKEN.to_string() }],
            };
            if let Some((true, results)) = client.txn(txn) {
                if let Some(raftkv::kvsrv::Outcome::Value { value: Some(old), .. }) = results.first() {
                    seen.swapped_out.push(old.clone());
                }
            }
        } else if draw < 90 {
            // A partial scan: at most one account, from a random one on.
            let from = ACCOUNTS[rand::range(0..ACCOUNTS.len() as u64) as usize];
            let (entries, more) = client.scan(from, ACCOUNTS[ACCOUNTS.len() - 1], 1);
            assert!(entries.len() == 1 && entries[0].key == from, "{who}: scan from {from} limit 1 gave {entries:?}");
            assert_eq!(more, from != ACCOUNTS[ACCOUNTS.len() - 1], "{who}: scan from {from} limit 1: more is wrong");
        } else {
            client.get(ACCOUNTS[rand::range(0..ACCOUNTS.len() as u64) as usize]);
        }
        seen.next_op += 1;
        think();
    }
}

/// Every value is swapped in once, so it may be swapped out at most once.
fn check_swaps<'a>(seen: impl Iterator<Item = &'a Seen>) {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for value in seen.flat_map(|s| &s.swapped_out) {
        *count.entry(value).or_default() += 1;
    }
    if let Some((value, n)) = count.iter().find(|(_, &n)| n > 1) {
        panic!("token value {value:?} was swapped out {n} times; each value is swapped in once");
    }
}

/// Clients run for this long per iteration.
const CLIENT_TIME: Duration = Duration::from_secs(3);
const ITERATIONS: usize = 2;
const NCLIENTS: usize = 3;

/// Runs `NCLIENTS` API clients for one iteration beside `faults` (None: none), and returns them
/// with what they saw.
fn iteration<C: KvClerk>(
    clients: Vec<(Client<C>, Seen)>,
    node_of: impl Fn(u64) -> labrpc::NodeId,
    faults: Option<Box<dyn FnOnce(Arc<AtomicBool>) + Send>>,
) -> Vec<(Client<C>, Seen)> {
    let done = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(index, (mut client, mut seen))| {
            let done = done.clone();
            thread::Builder::new().name(format!("client-{index}")).node(node_of(client.id())).spawn(move || {
                api_client(&mut client, index as u64, &done, &mut seen);
                (client, seen)
            })
        })
        .collect();
    let fault_done = Arc::new(AtomicBool::new(false));
    let fault_thread = faults.map(|f| {
        let d = fault_done.clone();
        thread::Builder::new().name("faults").spawn(move || f(d))
    });
    time::sleep(CLIENT_TIME);
    done.store(true, Ordering::Relaxed);
    fault_done.store(true, Ordering::Relaxed);
    if let Some(t) = fault_thread {
        t.join().expect("the fault thread ends");
    }
    handles.into_iter().map(|h| h.join().expect("a client thread ends")).collect()
}

/// kvsrv on an unreliable network that also delivers 20% of requests twice.
pub fn kvsrv_unreliable_api<L: Lab>() {
    let run = Run::start("kvsrv_unreliable_api");
    let recorder = Recorder::new();
    let mut single = Single::<L>::new(true, &recorder);
    single.net.set_duplicate_per_mille(200);
    let mut ck = single.make_client();
    open_accounts(&mut ck);
    let mut clients: Vec<_> = (0..NCLIENTS).map(|_| (single.make_client(), Seen::default())).collect();
    for _ in 0..ITERATIONS {
        clients = iteration(clients, |_| labrpc::NodeId::MAIN, None);
        audit(&mut ck, "checker");
    }
    check_swaps(clients.iter().map(|c| &c.1));
    run.finish(&recorder, 1, single.net.total_rpcs());
}

/// Which faults a kvraft API scenario runs beside its clients.
#[derive(Clone, Copy)]
enum KvraftFaults {
    /// A random two-way split of the servers every 1-1.2 s.
    Partitions,
    /// A random server crashes and restarts from its persisted state every 0.5-1 s.
    Crashes,
}

fn kvraft_api<L: Lab>(name: &str, unreliable: bool, faults: KvraftFaults, maxraftstate: Option<usize>) {
    let run = Run::start(name);
    let recorder = Recorder::new();
    let nservers = 5;
    let cluster = KvCluster::<L>::new(nservers, unreliable, maxraftstate, &recorder);
    let mut ck = cluster.make_client(&cluster.all());
    open_accounts(&mut ck);
    let mut clients: Vec<_> = (0..NCLIENTS).map(|_| (cluster.make_client(&cluster.all()), Seen::default())).collect();
    for _ in 0..ITERATIONS {
        let c = cluster.clone();
        let fault_loop: Box<dyn FnOnce(Arc<AtomicBool>) + Send> = Box::new(move |done: Arc<AtomicBool>| {
            time::sleep(Duration::from_millis(500));
            while !done.load(Ordering::Relaxed) {
                match faults {
                    KvraftFaults::Partitions => {
                        c.random_split();
                        time::sleep(ELECTION_TIMEOUT + Duration::from_millis(rand::range(0..200)));
                    }
                    KvraftFaults::Crashes => {
                        let i = rand::range(0..nservers as u64) as usize;
                        c.recorder().event(format!("crash {i}"), format!("server {i} crashed and restarts"));
                        c.crash_server(i);
                        time::sleep(Duration::from_millis(rand::range(100..500)));
                        c.start_server(i);
                        c.connect(i);
                        time::sleep(Duration::from_millis(rand::range(500..1000)));
                    }
                }
            }
            c.connect_all();
        });
        let c = cluster.clone();
        clients = iteration(clients, move |id| c.client_node(id), Some(fault_loop));
        cluster.net().heal_all();
        audit(&mut ck, "checker");
    }
    check_swaps(clients.iter().map(|c| &c.1));
    if let Some(max) = maxraftstate {
        let size = cluster.log_size();
        assert!(size <= 8 * max, "logs were not trimmed ({size} > 8*{max})");
    }
    run.finish(&recorder, nservers, cluster.total_rpcs());
}

/// kvraft, 5 servers, an unreliable network and random partitions.
pub fn kvraft_partitions_api<L: Lab>() {
    kvraft_api::<L>("kvraft_partitions_api", true, KvraftFaults::Partitions, None);
}

/// kvraft, 5 servers, random crashes and restarts, snapshots (so kept swap and transaction
/// answers travel in snapshots).
pub fn kvraft_crashes_snapshots_api<L: Lab>() {
    kvraft_api::<L>("kvraft_crashes_snapshots_api", false, KvraftFaults::Crashes, Some(MAXRAFTSTATE));
}
