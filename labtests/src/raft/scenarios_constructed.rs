//! Known hard schedules built deterministically with partitions, crashes and one-way cuts,
//! instead of hoping a random schedule stumbles on them: every seed of these reaches the
//! dangerous state, so a bug of the class fails on (nearly) every seed, not on 3 in 100.
//! Which peer wins an election stays random; each step waits for the winner and names the
//! peers by the role they play.

use std::time::Duration;

use labrpc::time;

use super::monitor::STEP_DOWN_BOUND;
use super::{ApplierKind, Cluster, Command, Reliability};
use labapi::RaftPeer;

/// How long `leader_among` waits for an election inside a group (many election timeouts).
pub(super) const ELECTION_BOUND: Duration = Duration::from_secs(10);
/// Time for a leader's messages to reach its reliable, connected followers (several heartbeats).
pub(super) const SETTLE: Duration = Duration::from_millis(500);

/// Waits until one of `group` claims to lead in a term above `above`, and returns it with its
/// term (the highest such term, if several claim).
pub(super) fn leader_among<R: RaftPeer>(cfg: &Cluster<R>, group: &[usize], above: u64) -> (usize, u64) {
    let (leader, term, _) = cfg.leader_within(group, above, ELECTION_BOUND, "an election among them");
    (leader, term)
}

/// Figure 8 (c)-(d) of the extended Raft paper. S1 leads and gives X (index 2) to S2 only;
/// S1 crashes; S5 is elected in a later term and takes Y at index 2 alone, then crashes; S1 (or
/// S2, whose log is the same) is elected again and replicates X to a majority, but must not
/// commit it, since no entry of its own term is committed; it crashes; S5 returns, is elected
/// with Y's later term and overwrites X everywhere. A leader that commits by counting replicas of
/// an old-term entry commits X in (c), and the appliers see X and Y at index 2.
pub fn figure8_constructed_3c<R: RaftPeer>() {
    let n = 5;
    let cfg = Cluster::<R>::new(n, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3C): Figure 8 (c)-(d), constructed");

    assert_eq!(cfg.one(&Command::Value(1), n, true), 1, "the first command is not at index 1");
    let s1 = cfg.check_one_leader();
    let s2 = (s1 + 1) % n;
    let rest: Vec<usize> = (2..n).map(|k| (s1 + k) % n).collect();

    // (a) S1 gives X at index 2 to S2 only.
    cfg.partition(&[vec![s1, s2], rest.clone()]);
    let (x_index, x_term) = cfg.propose(s1, &Command::Value(2)).expect("S1 no longer leads");
    assert_eq!(x_index, 2, "S1 put X at index {x_index}, not 2");
    time::sleep(SETTLE);

    // (b) S1 crashes; S5 (whichever of the rest wins) takes Y at index 2, alone, then crashes.
    cfg.crash(s1);
    let (s5, _) = leader_among(&cfg, &rest, x_term);
    cfg.disconnect(s5);
    let (y_index, y_term) = cfg.propose(s5, &Command::Value(3)).expect("S5 no longer leads");
    assert!(y_index == 2 && y_term > x_term, "S5 put Y at index {y_index} in term {y_term}; wanted 2 after {x_term}");
    // A Raft may persist a new entry as late as just before the first message that carries it
    // (the reference does): let S5 try to send Y (into the void) before it crashes.
    time::sleep(SETTLE);
    cfg.crash(s5);
    let s34: Vec<usize> = rest.iter().copied().filter(|&i| i != s5).collect();

    // (c) S1 restarts; only S1 and S2 hold X, so one of them leads and replicates X to S3 and S4.
    cfg.start(s1);
    cfg.partition(&[vec![s1, s2, s34[0], s34[1]], vec![s5]]);
    cfg.connect(s1);
    let (a, a_term) = leader_among(&cfg, &[s1, s2, s34[0], s34[1]], y_term);
    assert!(a == s1 || a == s2, "peer {a} won term {a_term} without X in its log");
    time::sleep(SETTLE);

    // (d) that leader crashes with nothing of its term committed; S5 returns and wins with Y.
    cfg.crash(a);
    cfg.start(s5);
    let b = if a == s1 { s2 } else { s1 };
    cfg.partition(&[vec![s5, s34[0], s34[1]], vec![a, b]]);
    cfg.connect(s5);
    let (winner, _) = leader_among(&cfg, &[s5, s34[0], s34[1]], a_term);
    assert_eq!(winner, s5, "peer {winner} won without Y, the most up-to-date entry of its group");
    time::sleep(SETTLE);
    // The common ending heals everything and commits a fresh command: Y is then applied at
    // index 2 by every peer, which conflicts with X wherever X was applied.
    cfg.end();
}

/// A leader P must step down when a reply tells it of a higher term. P is cut off both ways from
/// R only; R times out and wins a higher term with Q's vote, and Q, following R, never times out
/// nor asks P for anything: the only way P can learn of the new term is Q's replies to its
/// heartbeats. The monitor fails a P that still leads its term `STEP_DOWN_BOUND` later.
pub fn leader_hears_higher_term_in_replies_3a<R: RaftPeer>() {
    let n = 3;
    let cfg = Cluster::<R>::new(n, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3A): leader learns a higher term only from replies");

    cfg.one(&Command::Value(1), n, true);
    let p = cfg.check_one_leader();
    let (p_term, _) = cfg.state(p);
    let (q, r) = ((p + 1) % n, (p + 2) % n);
    cfg.cut(p, r);
    cfg.cut(r, p);
    let (leader, r_term) = leader_among(&cfg, &[r], p_term);
    assert_eq!(leader, r);
    let (q_term, _) = cfg.state(q);
    assert!(q_term >= r_term, "peer {q} is in term {q_term}, but it voted for peer {r} in term {r_term}");
    // Long enough for the monitor to judge P (it fails the run itself).
    time::sleep(STEP_DOWN_BOUND + SETTLE);
    cfg.one(&Command::Value(2), 2, true);
    cfg.end();
}

/// A follower far behind that holds a long stale suffix: F takes 700 entries from an old
/// leader that can reach only F, while the other three commit 1200 entries of a later term. F
/// must then drop its whole suffix and catch up across more than two full messages (the
/// reference sends at most 512 entries per AppendEntries), and the old leader, healed last,
/// likewise. The appliers fail any stale entry F applies, and the common ending requires every
/// peer to apply through the last index.
pub fn far_behind_stale_suffix_3b<R: RaftPeer>() {
    let n = 5;
    let stale_entries = 700;
    let new_entries = 1200;
    let cfg = Cluster::<R>::new(n, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3B): far-behind follower with a long stale suffix");

    cfg.one(&Command::Value(0), n, true);
    let l1 = cfg.check_one_leader();
    let (l1_term, _) = cfg.state(l1);
    let f = (l1 + 1) % n;
    let rest: Vec<usize> = (2..n).map(|k| (l1 + k) % n).collect();

    // The old leader gives its suffix to F only.
    cfg.partition(&[vec![l1, f], rest.clone()]);
    for x in 0..stale_entries {
        cfg.propose(l1, &Command::Value(1_000_000 + x)).expect("the old leader no longer leads");
    }
    time::sleep(SETTLE);

    // The other three commit more entries in a later term.
    let (l2, _) = leader_among(&cfg, &rest, l1_term);
    let mut last = 0;
    for x in 0..new_entries {
        let (index, _) = cfg.propose(l2, &Command::Value(2_000_000 + x)).expect("the new leader no longer leads");
        last = index;
    }
    assert_eq!(last, 1 + new_entries, "the new leader's entries end at index {last}, not {}", 1 + new_entries);
    cfg.wait(last, rest.len(), None);

    // F joins the majority: it must replace all of its suffix.
    cfg.partition(&[vec![l1], vec![f, rest[0], rest[1], rest[2]]]);
    cfg.wait(last, rest.len() + 1, None);
    cfg.end();
}
