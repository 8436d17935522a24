//! Lab 3B: log replication.

use labrpc::{channel, thread, time};

use super::{ApplierKind, Cluster, Command, Reliability, ELECTION_TIMEOUT};
use labapi::RaftPeer;

fn reliable<R: RaftPeer>(servers: usize) -> Cluster<R> {
    Cluster::<R>::new(servers, Reliability::Reliable, ApplierKind::Plain)
}

pub fn basic_agree_3b<R: RaftPeer>() {
    let servers = 3;
    let cfg = reliable::<R>(servers);
    cfg.begin("Test (3B): basic agreement");

    let iters = 3;
    for index in 1..=iters {
        let (nd, _) = cfg.n_committed(index);
        assert_eq!(nd, 0, "some have committed before Start()");

        let xindex = cfg.one(&Command::Value(index * 100), servers, false);
        assert_eq!(xindex, index, "got index {xindex} but expected {index}");
    }
    cfg.end();
}

/// Based on counting bytes of RPCs: each command is sent to each peer just once.
pub fn rpc_bytes_3b<R: RaftPeer>() {
    let servers = 3;
    let cfg = reliable::<R>(servers);
    cfg.begin("Test (3B): RPC byte count");

    cfg.one(&Command::Value(99), servers, false);
    let bytes0 = cfg.bytes_total();

    let iters = 10;
    let mut sent_bytes = 0u64;
    for index in 2..iters + 2 {
        let command = Command::random_payload(5000);
        let xindex = cfg.one(&command, servers, false);
        assert_eq!(xindex, index, "got index {xindex} but expected {index}");
        sent_bytes += command.payload_len() as u64;
    }

    let got = cfg.bytes_total() - bytes0;
    let expected = servers as u64 * sent_bytes;
    assert!(got <= expected + 50_000, "too many RPC bytes; got {got}, expected {expected}");
    cfg.end();
}

/// Just failures of followers.
pub fn follower_failure_3b<R: RaftPeer>() {
    let servers = 3;
    let cfg = reliable::<R>(servers);
    cfg.begin("Test (3B): test progressive failure of followers");

    cfg.one(&Command::Value(101), servers, false);

    // Disconnect one follower from the network.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect((leader1 + 1) % servers);

    // The leader and remaining follower should be able to agree despite the disconnected one.
    cfg.one(&Command::Value(102), servers - 1, false);
    time::sleep(ELECTION_TIMEOUT);
    cfg.one(&Command::Value(103), servers - 1, false);

    // Disconnect the remaining follower.
    let leader2 = cfg.check_one_leader();
    cfg.disconnect((leader2 + 1) % servers);
    cfg.disconnect((leader2 + 2) % servers);

    // Submit a command.
    let (index, _) = cfg.propose(leader2, &Command::Value(104)).expect("leader rejected Start()");
    assert_eq!(index, 4, "expected index 4, got {index}");

    time::sleep(2 * ELECTION_TIMEOUT);

    // Check that command 104 did not commit.
    let (n, _) = cfg.n_committed(index);
    assert_eq!(n, 0, "{n} committed but no majority");
    cfg.end();
}

/// Just failures of leaders.
pub fn leader_failure_3b<R: RaftPeer>() {
    let servers = 3;
    let cfg = reliable::<R>(servers);
    cfg.begin("Test (3B): test failure of leaders");

    cfg.one(&Command::Value(101), servers, false);

    // Disconnect the first leader.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect(leader1);

    // The remaining followers should elect a new leader.
    cfg.one(&Command::Value(102), servers - 1, false);
    time::sleep(ELECTION_TIMEOUT);
    cfg.one(&Command::Value(103), servers - 1, false);

    // Disconnect the new leader.
    let leader2 = cfg.check_one_leader();
    cfg.disconnect(leader2);

    // Submit a command to each server.
    for i in 0..servers {
        cfg.propose(i, &Command::Value(104));
    }

    time::sleep(2 * ELECTION_TIMEOUT);

    // Check that command 104 did not commit.
    let (n, _) = cfg.n_committed(4);
    assert_eq!(n, 0, "{n} committed but no majority");
    cfg.end();
}

/// A follower participates after disconnect and re-connect.
pub fn fail_agree_3b<R: RaftPeer>() {
    let servers = 3;
    let cfg = reliable::<R>(servers);
    cfg.begin("Test (3B): agreement after follower reconnects");

    cfg.one(&Command::Value(101), servers, false);

    // Disconnect one follower from the network.
    let leader = cfg.check_one_leader();
    cfg.disconnect((leader + 1) % servers);

    // The leader and remaining follower should be able to agree despite the disconnected one.
    cfg.one(&Command::Value(102), servers - 1, false);
    cfg.one(&Command::Value(103), servers - 1, false);
    time::sleep(ELECTION_TIMEOUT);
    cfg.one(&Command::Value(104), servers - 1, false);
    cfg.one(&Command::Value(105), servers - 1, false);

    // Re-connect.
    cfg.connect((leader + 1) % servers);

    // The full set of servers should preserve previous agreements, and agree on new commands.
    cfg.one(&Command::Value(106), servers, true);
    time::sleep(ELECTION_TIMEOUT);
    cfg.one(&Command::Value(107), servers, true);
    cfg.end();
}

pub fn fail_no_agree_3b<R: RaftPeer>() {
    let servers = 5;
    let cfg = reliable::<R>(servers);
    cfg.begin("Test (3B): no agreement if too many followers disconnect");

    cfg.one(&Command::Value(10), servers, false);

    // 3 of 5 followers disconnect.
    let leader = cfg.check_one_leader();
    for k in 1..=3 {
        cfg.disconnect((leader + k) % servers);
    }

    let (index, _) = cfg.propose(leader, &Command::Value(20)).expect("leader rejected Start()");
    assert_eq!(index, 2, "expected index 2, got {index}");

    time::sleep(2 * ELECTION_TIMEOUT);

    let (n, _) = cfg.n_committed(index);
    assert_eq!(n, 0, "{n} committed but no majority");

    // Repair.
    for k in 1..=3 {
        cfg.connect((leader + k) % servers);
    }

    // The disconnected majority may have chosen a leader from among their own ranks, forgetting
    // index 2.
    let leader2 = cfg.check_one_leader();
    let (index2, _) = cfg.propose(leader2, &Command::Value(30)).expect("leader2 rejected Start()");
    assert!((2..=3).contains(&index2), "unexpected index {index2}");

    cfg.one(&Command::Value(1000), servers, true);
    cfg.end();
}

pub fn concurrent_starts_3b<R: RaftPeer>() {
    let servers = 3;
    let cfg = reliable::<R>(servers);
    cfg.begin("Test (3B): concurrent Start()s");

    let mut success = false;
    'tries: for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            time::sleep(std::time::Duration::from_secs(3));
        }

        let leader = cfg.check_one_leader();
        let Some((_, term)) = cfg.propose(leader, &Command::Value(1)) else {
            // The leader moved on really quickly.
            continue;
        };

        let iters = 5u64;
        let (index_tx, index_rx) = channel::unbounded::<u64>();
        let starters: Vec<_> = (0..iters)
            .map(|ii| {
                let (raft, node, index_tx) = (cfg.raft(leader), cfg.node(leader), index_tx.clone());
                thread::Builder::new().name(format!("start-{ii}")).spawn(move || {
                    let command = Command::Value(100 + ii).encode();
                    if let Some((index, term1)) = labrpc::trace::as_node(node, || raft.start(command)) {
                        if term1 == term {
                            let _ = index_tx.send(index);
                        }
                    }
                })
            })
            .collect();
        drop(index_tx);
        for starter in starters {
            starter.join().expect("a starter thread failed");
        }

        for j in 0..servers {
            if cfg.state(j).0 != term {
                // Term changed: can't expect all the Start()s to commit.
                continue 'tries;
            }
        }

        let mut committed = Vec::new();
        for index in index_rx.try_iter() {
            match cfg.wait(index, servers, Some(term)) {
                Some(Command::Value(x)) => committed.push(x),
                Some(other) => panic!("value {other} is not a number"),
                // Peers have moved on to later terms, so not all Start()s need have succeeded.
                None => continue 'tries,
            }
        }

        for ii in 0..iters {
            let x = 100 + ii;
            assert!(committed.contains(&x), "cmd {x} missing in {committed:?}");
        }
        success = true;
        break;
    }
    assert!(success, "term changed too often");
    cfg.end();
}

pub fn rejoin_3b<R: RaftPeer>() {
    let servers = 3;
    let cfg = reliable::<R>(servers);
    cfg.begin("Test (3B): rejoin of partitioned leader");

    cfg.one(&Command::Value(101), servers, true);

    // Leader network failure.
    let leader1 = cfg.check_one_leader();
    cfg.disconnect(leader1);

    // Make the old leader try to agree on some entries.
    for x in [102, 103, 104] {
        cfg.propose(leader1, &Command::Value(x));
    }

    // The new leader commits, also for index=2.
    cfg.one(&Command::Value(103), 2, true);

    // New leader network failure.
    let leader2 = cfg.check_one_leader();
    cfg.disconnect(leader2);

    // Old leader connected again.
    cfg.connect(leader1);

    cfg.one(&Command::Value(104), 2, true);

    // All together now.
    cfg.connect(leader2);

    cfg.one(&Command::Value(105), servers, true);
    cfg.end();
}

pub fn backup_3b<R: RaftPeer>() {
    let servers = 5;
    let cfg = reliable::<R>(servers);
    cfg.begin("Test (3B): leader backs up quickly over incorrect follower logs");

    cfg.one(&Command::random(), servers, true);

    // Put the leader and one follower in a partition.
    let leader1 = cfg.check_one_leader();
    for k in 2..=4 {
        cfg.disconnect((leader1 + k) % servers);
    }

    // Submit lots of commands that won't commit.
    for _ in 0..50 {
        cfg.propose(leader1, &Command::random());
    }

    time::sleep(ELECTION_TIMEOUT / 2);

    cfg.disconnect(leader1);
    cfg.disconnect((leader1 + 1) % servers);

    // Allow the other partition to recover.
    for k in 2..=4 {
        cfg.connect((leader1 + k) % servers);
    }

    // Lots of successful commands to the new group.
    for _ in 0..50 {
        cfg.one(&Command::random(), 3, true);
    }

    // Now another partitioned leader and one follower.
    let leader2 = cfg.check_one_leader();
    let mut other = (leader1 + 2) % servers;
    if leader2 == other {
        other = (leader2 + 1) % servers;
    }
    cfg.disconnect(other);

    // Lots more commands that won't commit.
    for _ in 0..50 {
        cfg.propose(leader2, &Command::random());
    }

    time::sleep(ELECTION_TIMEOUT / 2);

    // Bring the original leader back to life.
    for i in 0..servers {
        cfg.disconnect(i);
    }
    cfg.connect(leader1);
    cfg.connect((leader1 + 1) % servers);
    cfg.connect(other);

    // Lots of successful commands to the new group.
    for _ in 0..50 {
        cfg.one(&Command::random(), 3, true);
    }

    // Now everyone.
    for i in 0..servers {
        cfg.connect(i);
    }
    cfg.one(&Command::random(), servers, true);
    cfg.end();
}

pub fn count_3b<R: RaftPeer>() {
    let servers = 3;
    let cfg = reliable::<R>(servers);
    cfg.begin("Test (3B): RPC counts aren't too high");

    let rpcs = || (0..servers).map(|j| cfg.rpc_count(j)).sum::<u64>();

    cfg.check_one_leader();
    let total1 = rpcs();
    assert!((1..=30).contains(&total1), "too many or few RPCs ({total1}) to elect initial leader");

    let mut total2 = 0;
    let mut success = false;
    'tries: for attempt in 0..5 {
        if attempt > 0 {
            // Give the solution some time to settle.
            time::sleep(std::time::Duration::from_secs(3));
        }

        let leader = cfg.check_one_leader();
        let total1 = rpcs();

        let iters = 10u64;
        let Some((starti, term)) = cfg.propose(leader, &Command::Value(1)) else {
            // The leader moved on really quickly.
            continue;
        };
        let mut cmds = Vec::new();
        for i in 1..iters + 2 {
            let x = labrpc::rand::range(0..1 << 31);
            cmds.push(x);
            let Some((index1, term1)) = cfg.propose(leader, &Command::Value(x)) else {
                // No longer the leader, so the term has changed.
                continue 'tries;
            };
            if term1 != term {
                // The term changed while starting.
                continue 'tries;
            }
            assert_eq!(starti + i, index1, "Start() failed");
        }

        for i in 1..iters + 1 {
            match cfg.wait(starti + i, servers, Some(term)) {
                // The term changed: try again.
                None => continue 'tries,
                Some(Command::Value(x)) if x == cmds[i as usize - 1] => {}
                Some(other) => {
                    panic!("wrong value {other} committed for index {}; expected {cmds:?}", starti + i)
                }
            }
        }

        let mut failed = false;
        total2 = 0;
        for j in 0..servers {
            if cfg.state(j).0 != term {
                // The term changed: can't expect low RPC counts; keep going to update total2.
                failed = true;
            }
            total2 += cfg.rpc_count(j);
        }
        if failed {
            continue 'tries;
        }

        let limit = (iters + 1 + 3) * 3;
        assert!(total2 - total1 <= limit, "too many RPCs ({}) for {iters} entries", total2 - total1);
        success = true;
        break;
    }
    assert!(success, "term changed too often");

    time::sleep(ELECTION_TIMEOUT);

    let total3 = rpcs();
    assert!(total3 - total2 <= 3 * 20, "too many RPCs ({}) for 1 second of idleness", total3 - total2);
    cfg.end();
}
