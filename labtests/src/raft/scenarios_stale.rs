//! Schedules where a peer's crash or a late message meets a term that has moved on, built
//! deterministically: each step waits for the state it needs, so every seed reaches it.

use labrpc::time;

use super::scenarios_constructed::{leader_among, ELECTION_BOUND, SETTLE};
use super::{ApplierKind, Cluster, Command, Reliability};

/// A vote must be on disk before the reply that grants it. Leader P crashes; X wins the next term
/// T with voter V's vote; V crashes and restarts at once, before anything else could make it save.
/// X and P are cut from each other both ways, and P restarts and is connected to V only when its
/// term is T - 1, so its next election asks V for a vote in T. A V that forgot its vote grants it,
/// and P leads T beside X: the monitor fails the second leader of T. A correct V refuses, and P
/// wins T + 1 instead.
pub fn vote_crash_3c() {
    let n = 3;
    let cfg = Cluster::new(n, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3C): a voter crashes right after voting, and a second candidate asks it in the same term");

    cfg.one(&Command::Value(1), n, true);
    let p = cfg.check_one_leader();
    let (p_term, _) = cfg.state(p);
    let others = [(p + 1) % n, (p + 2) % n];

    cfg.crash(p);
    let (x, term) = leader_among(&cfg, &others, p_term);
    let v = if x == others[0] { others[1] } else { others[0] };
    cfg.crash(v);
    cfg.start(v);
    cfg.connect(v);

    cfg.cut(p, x);
    cfg.cut(x, p);
    cfg.start(p);
    // P's persisted term is at most T - 1; alone, it climbs one term per election timeout.
    let t0 = time::now();
    while cfg.state(p).0 < term - 1 {
        assert!(t0.elapsed() < ELECTION_BOUND, "peer {p} did not reach term {} alone", term - 1);
        time::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(cfg.state(p).0, term - 1, "peer {p} passed term {} before it could be connected", term - 1);
    cfg.connect(p);

    // P leads T (a second leader of T: the monitor fails the run) or, correctly, a later term.
    let (winner, won) = leader_among(&cfg, &[p], term - 1);
    assert!(winner == p && won >= term);
    time::sleep(SETTLE);
    cfg.one(&Command::Value(2), 2, true);
    cfg.end();
}
