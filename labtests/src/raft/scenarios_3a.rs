//! Lab 3A: leader election.

use labrpc::{rand, time};

use super::{ApplierKind, Cluster, Reliability, ELECTION_TIMEOUT};
use labapi::RaftPeer;

pub fn initial_election_3a<R: RaftPeer>() {
    let servers = 3;
    let cfg = Cluster::<R>::new(servers, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3A): initial election");

    // Is a leader elected?
    cfg.check_one_leader();

    // Sleep a bit to avoid racing with followers learning of the election, then check that all
    // peers agree on the term.
    time::sleep(std::time::Duration::from_millis(50));
    let term1 = cfg.check_terms();
    assert!(term1 >= 1, "term is {term1}, but should be at least 1");

    // Does the leader+term stay the same if there is no network failure?
    time::sleep(2 * ELECTION_TIMEOUT);
    let term2 = cfg.check_terms();
    if term1 != term2 {
        crate::say!("warning: term changed even though there were no failures");
    }

    // There should still be a leader.
    cfg.check_one_leader();
    cfg.end();
}

pub fn re_election_3a<R: RaftPeer>() {
    let servers = 3;
    let cfg = Cluster::<R>::new(servers, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3A): election after network failure");

    let leader1 = cfg.check_one_leader();

    // If the leader disconnects, a new one should be elected.
    cfg.disconnect(leader1);
    cfg.check_one_leader();

    // If the old leader rejoins, that shouldn't disturb the new leader, and the old leader should
    // switch to follower.
    cfg.connect(leader1);
    let leader2 = cfg.check_one_leader();

    // If there's no quorum, no new leader should be elected.
    cfg.disconnect(leader2);
    cfg.disconnect((leader2 + 1) % servers);
    time::sleep(2 * ELECTION_TIMEOUT);

    // The one connected server must not think it is the leader.
    cfg.check_no_leader();

    // If a quorum arises, it should elect a leader.
    cfg.connect((leader2 + 1) % servers);
    cfg.check_one_leader();

    // Re-join of the last node shouldn't prevent a leader from existing.
    cfg.connect(leader2);
    cfg.check_one_leader();
    cfg.end();
}

pub fn many_elections_3a<R: RaftPeer>() {
    let servers = 7;
    let cfg = Cluster::<R>::new(servers, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3A): multiple elections");

    cfg.check_one_leader();

    let iters = 10;
    for _ in 1..iters {
        // Disconnect three nodes (perhaps fewer: the draws may repeat).
        let picks: Vec<usize> = (0..3).map(|_| rand::range(0..servers as u64) as usize).collect();
        for &i in &picks {
            cfg.disconnect(i);
        }

        // Either the current leader should still be alive, or the remaining four should elect a
        // new one.
        cfg.check_one_leader();

        for &i in &picks {
            cfg.connect(i);
        }
    }

    cfg.check_one_leader();
    cfg.end();
}
