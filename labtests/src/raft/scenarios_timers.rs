//! Election timers, bounded on the public API alone: on a quiet network a new leader keeps its
//! term, and after a leader is lost the others elect one within a bound even while peers that
//! hear nobody keep asking for votes. Both bounds come from sweeps of the reference (see each
//! constant).

use std::time::Duration;

use labrpc::time;

use super::scenarios_constructed::{leader_among, ELECTION_BOUND, SETTLE};
use super::{ApplierKind, Cluster, Command, Reliability};
use labapi::RaftPeer;

/// How many leaders each scenario removes, one after the other.
const ROUNDS: u64 = 6;

/// One-way latency of every message in `quiet_leader_keeps_term_3a`: a vote and the new
/// leader's first heartbeat then take a few tens of ms, the window a voter's timer must not run
/// out in. Even at its maximum a follower hears a heartbeat at least every 100 + 2 * 40 ms.
const QUIET_LATENCY: (Duration, Duration) = (Duration::from_millis(10), Duration::from_millis(40));
/// How long a leader elected on a quiet network must keep its term (Go's initial-election test
/// compares terms two election timeouts apart).
const QUIET_HOLD: Duration = Duration::from_secs(2);

/// A leader elected on a quiet network keeps its term. Five peers, every message delayed 10-40
/// ms, no other fault. The first leader, then after each of `ROUNDS` disconnections of the
/// leader the next one, must keep its term for `QUIET_HOLD`. A peer that grants its vote without
/// restarting its election timer may run out between granting and the new leader's first
/// heartbeat, and its needless election deposes the leader it just elected.
pub fn quiet_leader_keeps_term_3a<R: RaftPeer>() {
    let n = 5;
    let cfg = Cluster::<R>::new(n, Reliability::Reliable, ApplierKind::Plain);
    cfg.net().set_latency(QUIET_LATENCY.0, QUIET_LATENCY.1);
    cfg.begin("Test (3A): a leader elected on a quiet network keeps its term");

    let all: Vec<usize> = (0..n).collect();
    let (mut leader, mut term) = leader_among(&cfg, &all, 0);
    cfg.check_leader_holds(leader, term, QUIET_HOLD);
    for round in 0..ROUNDS {
        // Identical logs everywhere, so every peer may vote for every other.
        cfg.one(&Command::Value(round), n, true);
        cfg.disconnect(leader);
        let rest: Vec<usize> = all.iter().copied().filter(|&p| p != leader).collect();
        let (next, next_term) = leader_among(&cfg, &rest, term);
        cfg.check_leader_holds(next, next_term, QUIET_HOLD);
        rejoin_quietly(&cfg, leader, &rest, next_term);
        (leader, term) = (next, next_term);
    }
    cfg.end();
}

/// Peers that reach every other peer while nobody reaches them (`deaf_campaigners_3c`).
const DEAF: usize = 3;
/// The term the others are raised to first, far above what the deaf peers can reach during the
/// rounds (they start at term 0 and climb at most one term per 300 ms election timeout; the
/// rounds take about 10 s of virtual time, and a round that would take longer fails at
/// `DEAF_LEADER_BOUND`).
const PUMPED_TERM: u64 = 80;
/// After the leader is lost, the others must have a new one within this. Measured on the
/// reference: see the scenario's doc.
const DEAF_LEADER_BOUND: Duration = Duration::from_millis(2000);

/// Vote requests from a lower term must not hold back an election. Ten peers: three are down
/// from the start while the others' term is raised to `PUMPED_TERM` (one of them campaigns
/// alone); then the three come back deaf: their messages reach everyone, nobody's reach them. So
/// they campaign every election timeout forever, in terms far below everyone else's, and every
/// request they send is refused. Then, `ROUNDS` times, the leader is disconnected and the six
/// others must elect a new one within `DEAF_LEADER_BOUND`. A peer that restarts its election
/// timer on every vote request, granted or not, is held back by every deaf request (three
/// campaigners keep the gaps between requests short), and the cluster can stay leaderless for
/// seconds.
pub fn deaf_campaigners_3c<R: RaftPeer>() {
    let n = 7 + DEAF;
    let cfg = Cluster::<R>::new(n, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3C): deaf peers asking for votes in old terms do not hold back elections");

    let good: Vec<usize> = (0..n - DEAF).collect();
    let deaf: Vec<usize> = (n - DEAF..n).collect();
    for &s in &deaf {
        cfg.crash(s);
    }
    cfg.one(&Command::Value(0), good.len(), true);
    let (leader, _) = leader_among(&cfg, &good, 0);

    // One of the others campaigns alone up to the pumped term; back, it takes the rest there.
    let x = good[(leader + 1) % good.len()];
    cfg.disconnect(x);
    let t0 = time::now();
    while cfg.state(x).0 < PUMPED_TERM {
        assert!(t0.elapsed() < PUMP_BOUND + ELECTION_BOUND, "peer {x}, alone, did not reach term {PUMPED_TERM}");
        time::sleep(Duration::from_millis(50));
    }
    cfg.connect(x);
    let (mut leader, mut term) = leader_among(&cfg, &good, PUMPED_TERM - 1);

    for &s in &deaf {
        for p in (0..n).filter(|&p| p != s) {
            cfg.cut(p, s);
        }
        cfg.start(s);
        cfg.connect(s);
    }
    for round in 0..ROUNDS {
        cfg.one(&Command::Value(round + 1), good.len(), true);
        let deaf_terms: Vec<u64> = deaf.iter().map(|&s| cfg.state(s).0).collect();
        assert!(
            deaf_terms.iter().all(|&t| t < term),
            "round {round}: the deaf peers {deaf:?} reached terms {deaf_terms:?}, not below the others' {term}: \
             raise PUMPED_TERM"
        );
        cfg.disconnect(leader);
        let rest: Vec<usize> = good.iter().copied().filter(|&p| p != leader).collect();
        let why = "the leader was disconnected; deaf peers keep asking for votes";
        let (next, next_term, took) = cfg.leader_within(&rest, term, DEAF_LEADER_BOUND, why);
        tracing::info!(
            round,
            took_ms = took.as_millis() as u64,
            "harness: new leader after the leader was disconnected"
        );
        rejoin_quietly(&cfg, leader, &rest, next_term);
        (leader, term) = (next, next_term);
    }
    cfg.end();
}

/// How long a peer alone takes per term at most (the reference's longest election timeout is
/// 600 ms), times the pumped terms.
const PUMP_BOUND: Duration = Duration::from_millis(600 * PUMPED_TERM);

/// Reconnects `old`, a leader disconnected while `others` elected a leader of `term`, so that it
/// hears that leader before any answer to its own heartbeats tells it the new term (its election
/// deadline passed while it led, so learning the term from a reply could start an election at
/// once): its messages are cut until it has reached `term`.
fn rejoin_quietly<R: RaftPeer>(cfg: &Cluster<R>, old: usize, others: &[usize], term: u64) {
    for &p in others {
        cfg.cut(old, p);
    }
    cfg.connect(old);
    let t0 = time::now();
    while cfg.state(old).0 < term {
        assert!(t0.elapsed() < ELECTION_BOUND, "peer {old}, back, did not hear the leader of term {term}");
        time::sleep(Duration::from_millis(10));
    }
    for &p in others {
        cfg.heal_cut(old, p);
    }
    time::sleep(SETTLE);
}
