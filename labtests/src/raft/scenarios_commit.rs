//! The follower's side of the commit rule, built deterministically: a follower may commit only
//! entries a message of the current leader has shown to match the leader's log.

use labrpc::time;

use super::scenarios_constructed::{leader_among, SETTLE};
use super::{ApplierKind, Cluster, Command, Reliability};
use labapi::RaftPeer;

/// Stale entries after a matching heartbeat must not be committed. Leader O is cut off and puts
/// S2..S5 (indices 2-5) in its log alone; L wins a later term among the others and commits its
/// own entry at index 2 with them. While O is away L's messages to it fail, so when O returns,
/// what reaches it first may be a heartbeat without entries (Figure 2 allows them, and many
/// Rafts send them): prev = 1 matches O's log, and leaderCommit is 2. O's links to the others
/// are cut one way, so its answers are lost and L keeps sending that heartbeat. A follower that takes
/// min(leaderCommit, its last index) instead of min(leaderCommit, the last entry this message
/// matched) commits and applies its stale S2, and the appliers see two commands at index 2.
/// (The reference's heartbeats carry L's entry 2, so every message O gets replaces S2.)
pub fn stale_suffix_heartbeat_3b<R: RaftPeer>() {
    let n = 3;
    let cfg = Cluster::<R>::new(n, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3B): a stale suffix after a matching heartbeat is not committed");

    assert_eq!(cfg.one(&Command::Value(1), n, true), 1, "the first command is not at index 1");
    let o = cfg.check_one_leader();
    let (o_term, _) = cfg.state(o);
    let others: Vec<usize> = (1..n).map(|k| (o + k) % n).collect();

    cfg.disconnect(o);
    for k in 2..=5 {
        let (index, _) = cfg.propose(o, &Command::Value(100 + k)).expect("O no longer leads");
        assert_eq!(index, k, "O put S{k} at index {index}");
    }
    let (l, l_term) = leader_among(&cfg, &others, o_term);
    let (index, term) = cfg.propose(l, &Command::Value(2)).expect("L no longer leads");
    assert!(index == 2 && term == l_term, "L put its entry at index {index} in term {term}; wanted 2 in {l_term}");
    assert_eq!(cfg.wait(2, others.len(), Some(l_term)), Some(Command::Value(2)), "L's entry is not committed");
    // L's messages to O so far carried entry 2 and failed; what it sends from now on while
    // nothing new is to be sent is a heartbeat.
    time::sleep(SETTLE);

    // O hears L before anyone answers O: its own heartbeats, whose replies would tell it the
    // new term (then it would campaign at once, its election deadline long past), go nowhere.
    for &p in &others {
        cfg.cut(o, p);
    }
    cfg.connect(o);
    time::sleep(SETTLE);
    cfg.end();
}
