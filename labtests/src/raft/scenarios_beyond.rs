//! Scenarios beyond the Go labs, using what the simulator adds: one-way link cuts, duplicated
//! requests, paused nodes, and a long run of random faults of every kind.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use labrpc::{rand, thread, time};

use super::churn::{check_client_values, revive_all, spawn_churn_clients};
use super::{ApplierKind, Cluster, Command, Reliability, ELECTION_TIMEOUT};
use labapi::RaftPeer;

/// The leader hears its followers but they do not hear it (every link from it is cut one way).
/// The followers must elect a new leader and commit; the old leader, still receiving the new
/// leader's messages, must step down; once the links heal, everyone agrees.
pub fn one_way_leader_cut_beyond<R: RaftPeer>() {
    let servers = 5;
    let cfg = Cluster::<R>::new(servers, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Beyond: leader cut off one way (it hears the followers, they don't hear it)");

    cfg.one(&Command::random(), servers, true);
    for _round in 0..3 {
        let leader1 = cfg.check_one_leader();
        let (term1, _) = cfg.state(leader1);
        for j in (0..servers).filter(|&j| j != leader1) {
            cfg.cut(leader1, j);
        }

        // The others commit without the old leader.
        for _ in 0..3 {
            cfg.one(&Command::random(), servers - 1, true);
        }
        let leader2 = cfg.check_one_leader();
        let (term2, _) = cfg.state(leader2);
        assert_ne!(leader2, leader1, "the one-way cut leader is still the newest leader");
        assert!(term2 > term1, "new leader {leader2} in term {term2}, not above the old term {term1}");

        // Requests still reach the old leader, so it must have learned the new term and stepped
        // down (its replies are lost, so it cannot disturb anyone).
        time::sleep(ELECTION_TIMEOUT);
        let (term_old, leads) = cfg.state(leader1);
        assert!(term_old >= term2, "the cut leader is still in term {term_old}, below the new term {term2}");
        assert!(!leads, "the cut leader {leader1} still believes it leads (term {term_old})");

        cfg.heal_all_cuts();
        cfg.one(&Command::random(), servers, true);
    }
    cfg.end();
}

/// Every request may be delivered twice: handlers must be idempotent, and a duplicated stale
/// AppendEntries must never truncate committed entries.
pub fn duplicates_beyond<R: RaftPeer>() {
    let servers = 5;
    let cfg = Cluster::<R>::new(servers, Reliability::Reliable, ApplierKind::Plain);
    cfg.net().set_duplicate_per_mille(500);
    cfg.begin("Beyond: half of all requests delivered twice");

    for x in 0..20 {
        cfg.one(&Command::Value(x), servers, true);
    }

    // A follower falls behind, then catches up through duplicated appends.
    let leader = cfg.check_one_leader();
    let behind = (leader + 1) % servers;
    cfg.disconnect(behind);
    for x in 20..40 {
        cfg.one(&Command::Value(x), servers - 1, true);
    }
    cfg.connect(behind);
    cfg.one(&Command::Value(40), servers, true);

    // Concurrent agreements on an unreliable, reordering network, still duplicating.
    cfg.net().set_reliable(false);
    cfg.net().set_long_reordering(true);
    let mut clients = Vec::new();
    for iters in 1..20u64 {
        for j in 0..3u64 {
            let cfg = cfg.clone();
            clients.push(
                thread::Builder::new()
                    .name(format!("client-{iters}-{j}"))
                    .spawn(move || cfg.one(&Command::Value(1000 * iters + j), 1, true)),
            );
        }
        cfg.one(&Command::Value(1000 * iters + 999), 1, true);
    }
    cfg.net().set_reliable(true);
    cfg.net().set_long_reordering(false);
    for client in clients {
        client.join().expect("a client's agreement failed");
    }

    let last_index = cfg.one(&Command::Value(1), servers, true);
    let values = cfg.committed_prefix(last_index);
    for x in 0..=40 {
        assert!(values.contains(&x), "committed value {x} is missing from the final log");
    }
    cfg.end();
}

/// The leader stops for three election timeouts (like a long GC pause) with entries only it
/// holds. The others elect a new leader and commit over those entries; when the old leader
/// resumes, believing it still leads, it must step down and take the new log (the appliers fail
/// the run if it applies anything else).
pub fn paused_leader_beyond<R: RaftPeer>() {
    let servers = 5;
    let pause = 3 * ELECTION_TIMEOUT;
    let cfg = Cluster::<R>::new(servers, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Beyond: leader paused for 3 election timeouts, then resumed");

    cfg.one(&Command::random(), servers, true);
    for _round in 0..3 {
        let leader1 = cfg.check_one_leader();
        let (term1, _) = cfg.state(leader1);
        // Entries only the leader will hold: it stops before its replicators run.
        for _ in 0..5 {
            cfg.propose(leader1, &Command::random());
        }
        let resume_at = time::now() + pause;
        cfg.pause(leader1, pause);

        for _ in 0..3 {
            cfg.one(&Command::random(), servers - 1, true);
        }
        let leader2 = cfg.check_one_leader();
        let (term2, _) = cfg.state(leader2);
        assert!(term2 > term1, "no new leader while leader {leader1} (term {term1}) was paused");

        // Resumed, the old leader hears the new term and must step down.
        time::sleep_until(resume_at);
        time::sleep(ELECTION_TIMEOUT);
        let (term_old, leads) = cfg.state(leader1);
        assert!(term_old >= term2, "resumed leader {leader1} is still in term {term_old}, below {term2}");
        assert!(!leads || term_old > term2, "resumed leader {leader1} still leads in stale term {term_old}");
        cfg.check_one_leader();

        // Everyone, the resumed peer included, agrees on the log.
        cfg.one(&Command::random(), servers, true);
    }
    cfg.end();
}

/// How long the random faults go on (virtual time).
const CHAOS_DURATION: Duration = Duration::from_secs(60);
/// Longest pause the chaos inflicts.
const CHAOS_MAX_PAUSE_MS: u64 = 2000;
/// Clients pause between proposals: the point is faults, not throughput, and an unpaced client
/// grows the log by ten thousand entries a minute, which makes every seed slow.
const CHAOS_CLIENT_THINK: Duration = Duration::from_millis(50);

/// One random fault (or repair) on the cluster.
fn chaos_step<R: RaftPeer>(cfg: &Cluster<R>) {
    let n = cfg.n();
    let pick = || rand::range(0..n as u64) as usize;
    match rand::range(0..9) {
        0 => {
            let mut peers: Vec<usize> = (0..n).collect();
            rand::shuffle(&mut peers);
            let split = rand::range(1..n as u64) as usize;
            cfg.partition(&[peers[..split].to_vec(), peers[split..].to_vec()]);
        }
        1 => cfg.heal_partition(),
        2 => {
            let i = pick();
            if cfg.is_running(i) {
                cfg.crash(i);
            }
        }
        3 | 4 => {
            let i = pick();
            if !cfg.is_running(i) {
                cfg.start(i);
                cfg.connect(i);
            }
        }
        5 => {
            let i = pick();
            if cfg.is_running(i) && !cfg.is_paused(i) {
                cfg.pause(i, Duration::from_millis(rand::range(100..CHAOS_MAX_PAUSE_MS)));
            }
        }
        6 => {
            let (from, to) = (pick(), pick());
            if from != to {
                cfg.cut(from, to);
            }
        }
        7 => cfg.heal_all_cuts(),
        _ => {
            let i = pick();
            if cfg.is_running(i) {
                if cfg.is_connected(i) {
                    cfg.disconnect(i);
                } else {
                    cfg.connect(i);
                }
            }
        }
    }
}

/// Five peers under random partitions, crashes, restarts, pauses, one-way cuts and disconnects
/// for 60 virtual seconds while clients propose; then everything heals and every peer must hold
/// the same committed prefix, including every value a client saw committed. The service
/// snapshots, so restarts and lagging peers also exercise InstallSnapshot.
pub fn random_faults_beyond<R: RaftPeer>() {
    let servers = 5;
    let cfg = Cluster::<R>::new(servers, Reliability::Reliable, ApplierKind::Snapshots);
    cfg.begin("Beyond: 60 s of random partitions, crashes, pauses and one-way cuts");

    let stop = Arc::new(AtomicBool::new(false));
    let clients = spawn_churn_clients(&cfg, "chaos-client", 3, &stop, CHAOS_CLIENT_THINK);

    let deadline = time::now() + CHAOS_DURATION;
    // Each step sleeps at least 100 ms, so the loop runs at most 600 times.
    for _ in 0..CHAOS_DURATION.as_millis() / 100 {
        if time::now() >= deadline {
            break;
        }
        chaos_step(&cfg);
        time::sleep(Duration::from_millis(rand::range(100..1000)));
    }

    // Heal everything; pauses end by themselves.
    cfg.heal_partition();
    cfg.heal_all_cuts();
    revive_all(&cfg, servers);
    time::sleep(Duration::from_millis(CHAOS_MAX_PAUSE_MS));
    check_client_values(&cfg, &stop, clients, servers);
    cfg.end();
}
