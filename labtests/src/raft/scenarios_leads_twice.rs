//! The same peer leading twice without crashing, built deterministically: the leader's volatile
//! bookkeeping (nextIndex, matchIndex) survives from its first term into its second unless the
//! Raft reinitializes it on winning, as Figure 2 requires; a crash would have wiped it.

use std::time::Duration;

use labrpc::time;

use super::scenarios_constructed::{leader_among, ELECTION_BOUND, SETTLE};

/// Long enough for the calls a peer sent before its links were cut to be handled and answered
/// (latency is off: they are on the wire for no virtual time).
const DRAIN: Duration = Duration::from_millis(10);
use super::{ApplierKind, Cluster, Command, Reliability};
use labapi::RaftPeer;

/// A leader must forget what it knew of its followers' logs when it wins again. Five peers.
/// L leads term T1 and gives X2..X4 (indices 2-4) to F only, so it knows F matches through 4.
/// M wins T2 among M, A, B; A and B are then split off, and M's Y at index 2 replaces X2..X4 on
/// L and F (M, L and F commit Y): F's log, like L's, is truncated to 2 entries. L, having never
/// crashed, wins T3 among L, A, B (only it holds Y) and puts Z3, Z4 (indices 3, 4) on A only (F
/// and M are away, B is disconnected). A leader that kept its old matchIndex for F (4) counts F
/// as holding Z4 and commits Z3, Z4 with L and A: it and A apply them. Then F, M and B elect a
/// leader, which commits its own entry at index 3, and the appliers see two commands there. A
/// correct L counts two replicas of five, commits nothing, and takes the new leader's log at the
/// end. Targets: leader state (matchIndex, nextIndex) not reinitialized after an election
/// (mutant `match_index_kept_across_terms`).
pub fn same_leader_twice_3b<R: RaftPeer>() {
    let n = 5;
    let cfg = Cluster::<R>::new(n, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3B): the same peer leads twice, a follower's log truncated in between");

    cfg.one(&Command::Value(1), n, true);
    let l = cfg.check_one_leader();
    let (t1, _) = cfg.state(l);
    let f = (l + 1) % n;
    let mab: Vec<usize> = (2..n).map(|k| (l + k) % n).collect();

    // T1: L gives X2..X4 to F alone; F acknowledges them, nothing commits.
    cfg.partition(&[vec![l, f], mab.clone()]);
    for k in 2..=4 {
        let (index, _) = cfg.propose(l, &Command::Value(k)).expect("L no longer leads");
        assert_eq!(index, k, "L put X{k} at index {index}");
    }
    time::sleep(SETTLE);

    // T2: M wins among M, A, B; A and B go away before M's entry Y, which truncates L and F. L
    // must learn of T2 from M's appends (which reset its election timer), not from answers to
    // its own heartbeats: a leader that steps down that way may campaign at once (its timer
    // expired while it led), and its higher term would depose M before Y commits. So L's
    // messages are cut until it follows M, and what L sent F before the cut is answered while
    // F is still in T1 (a heartbeat F handled after M's append drew F's T2 reply: seed 2857).
    let (m, t2) = leader_among(&cfg, &mab, t1);
    let ab: Vec<usize> = mab.iter().copied().filter(|&p| p != m).collect();
    cfg.cut(l, m);
    cfg.cut(l, f);
    time::sleep(DRAIN);
    assert_eq!(cfg.state(l), (t1, true), "peer {l} stopped leading T1 while only F heard it");
    cfg.partition(&[vec![m, l, f], ab.clone()]);
    let (y_index, _) = cfg.propose(m, &Command::Value(5)).expect("M no longer leads");
    assert_eq!(y_index, 2, "M put Y at index {y_index}");
    let t0 = time::now();
    while cfg.state(l) != (t2, false) {
        assert!(t0.elapsed() < ELECTION_BOUND, "peer {l} does not follow M in term {t2}: {:?}", cfg.state(l));
        time::sleep(Duration::from_millis(1));
    }
    cfg.heal_cut(l, m);
    cfg.heal_cut(l, f);
    assert_eq!(cfg.wait(2, 3, None), Some(Command::Value(5)), "Y is not committed at index 2 by M, L and F");

    // T3: only L holds Y among L, A, B, so L leads again; it gives Z3, Z4 to A alone.
    cfg.partition(&[vec![l, ab[0], ab[1]], vec![m], vec![f]]);
    let (winner, t3) = leader_among(&cfg, &[l, ab[0], ab[1]], t2);
    assert_eq!(winner, l, "peer {winner} won term {t3} without Y, which only peer {l} of its group holds");
    cfg.disconnect(ab[1]);
    for k in 3..=4 {
        let (index, term) = cfg.propose(l, &Command::Value(3 + k)).expect("L no longer leads");
        assert!(index == k && term == t3, "L put Z{k} at index {index} in term {term}; wanted {k} in {t3}");
    }
    time::sleep(SETTLE);

    // F, M and B, none of which holds Z, elect a leader; it commits its own entry at index 3.
    cfg.connect(ab[1]);
    cfg.partition(&[vec![l, ab[0]], vec![f, m, ab[1]]]);
    let (leader, _) = leader_among(&cfg, &[f, m, ab[1]], t3);
    let (w_index, _) = cfg.propose(leader, &Command::Value(8)).expect("the new leader no longer leads");
    assert_eq!(w_index, 3, "the new leader put its entry at index {w_index}");
    cfg.wait(3, 3, None);
    cfg.end();
}
