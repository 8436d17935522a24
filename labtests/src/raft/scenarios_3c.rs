//! Lab 3C: persistence, Figure 8, unreliable networks and churn.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use labrpc::{rand, thread, time};

use super::churn::{check_client_values, revive_all, spawn_churn_clients};
use super::{ApplierKind, Cluster, Command, Reliability, ELECTION_TIMEOUT};
use labapi::RaftPeer;

pub fn persist1_3c<R: RaftPeer>() {
    let servers = 3;
    let cfg = Cluster::<R>::new(servers, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3C): basic persistence");

    cfg.one(&Command::Value(11), servers, true);

    // Crash and re-start all.
    for i in 0..servers {
        cfg.start(i);
    }
    for i in 0..servers {
        cfg.disconnect(i);
        cfg.connect(i);
    }

    cfg.one(&Command::Value(12), servers, true);

    let leader1 = cfg.check_one_leader();
    cfg.disconnect(leader1);
    cfg.start(leader1);
    cfg.connect(leader1);

    cfg.one(&Command::Value(13), servers, true);

    let leader2 = cfg.check_one_leader();
    cfg.disconnect(leader2);
    cfg.one(&Command::Value(14), servers - 1, true);
    cfg.start(leader2);
    cfg.connect(leader2);

    // Wait for leader2 to join before killing i3.
    cfg.wait(4, servers, None);

    let i3 = (cfg.check_one_leader() + 1) % servers;
    cfg.disconnect(i3);
    cfg.one(&Command::Value(15), servers - 1, true);
    cfg.start(i3);
    cfg.connect(i3);

    cfg.one(&Command::Value(16), servers, true);
    cfg.end();
}

pub fn persist2_3c<R: RaftPeer>() {
    let servers = 5;
    let cfg = Cluster::<R>::new(servers, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3C): more persistence");

    let mut index = 1;
    for _ in 0..5 {
        cfg.one(&Command::Value(10 + index), servers, true);
        index += 1;

        let leader1 = cfg.check_one_leader();

        cfg.disconnect((leader1 + 1) % servers);
        cfg.disconnect((leader1 + 2) % servers);

        cfg.one(&Command::Value(10 + index), servers - 2, true);
        index += 1;

        cfg.disconnect(leader1);
        cfg.disconnect((leader1 + 3) % servers);
        cfg.disconnect((leader1 + 4) % servers);

        cfg.start((leader1 + 1) % servers);
        cfg.start((leader1 + 2) % servers);
        cfg.connect((leader1 + 1) % servers);
        cfg.connect((leader1 + 2) % servers);

        time::sleep(ELECTION_TIMEOUT);

        cfg.start((leader1 + 3) % servers);
        cfg.connect((leader1 + 3) % servers);

        cfg.one(&Command::Value(10 + index), servers - 2, true);
        index += 1;

        cfg.connect((leader1 + 4) % servers);
        cfg.connect(leader1);
    }

    cfg.one(&Command::Value(1000), servers, true);
    cfg.end();
}

pub fn persist3_3c<R: RaftPeer>() {
    let servers = 3;
    let cfg = Cluster::<R>::new(servers, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3C): partitioned leader and one follower crash, leader restarts");

    cfg.one(&Command::Value(101), 3, true);

    let leader = cfg.check_one_leader();
    cfg.disconnect((leader + 2) % servers);

    cfg.one(&Command::Value(102), 2, true);

    cfg.crash(leader);
    cfg.crash((leader + 1) % servers);
    cfg.connect((leader + 2) % servers);
    cfg.start(leader);
    cfg.connect(leader);

    cfg.one(&Command::Value(103), 2, true);

    cfg.start((leader + 1) % servers);
    cfg.connect((leader + 1) % servers);

    cfg.one(&Command::Value(104), servers, true);
    cfg.end();
}

/// The tester's random sleep between Figure 8 steps: usually under 13 ms, one time in ten up to
/// half an election timeout.
fn figure8_sleep() {
    let ms =
        if rand::per_mille(100) { rand::range(0..ELECTION_TIMEOUT.as_millis() as u64 / 2) } else { rand::range(0..13) };
    time::sleep(Duration::from_millis(ms));
}

/// The scenarios of Figure 8 of the extended Raft paper. Each iteration asks a leader, if there
/// is one, to insert a command; that leader then crashes soon (perhaps without committing the
/// command) or, rarely, after a while (most likely committing it). When too few peers are up, a
/// crashed one restarts. A leader of a new term may try to finish replicating entries that
/// haven't been committed yet.
pub fn figure8_3c<R: RaftPeer>() {
    let servers = 5;
    let cfg = Cluster::<R>::new(servers, Reliability::Reliable, ApplierKind::Plain);
    cfg.begin("Test (3C): Figure 8");

    cfg.one(&Command::random(), 1, true);

    let mut nup = servers;
    for _ in 0..1000 {
        let mut leader = None;
        for i in 0..servers {
            if let Some(raft) = cfg.try_raft(i) {
                if cfg.start_on(i, &raft, Command::random().encode()).is_some() {
                    leader = Some(i);
                }
            }
        }

        figure8_sleep();

        if let Some(leader) = leader {
            cfg.crash(leader);
            nup -= 1;
        }

        if nup < 3 {
            let s = rand::range(0..servers as u64) as usize;
            if !cfg.is_running(s) {
                cfg.start(s);
                cfg.connect(s);
                nup += 1;
            }
        }
    }

    for i in 0..servers {
        if !cfg.is_running(i) {
            cfg.start(i);
            cfg.connect(i);
        }
    }

    cfg.one(&Command::random(), servers, true);
    cfg.end();
}

pub fn unreliable_agree_3c<R: RaftPeer>() {
    let servers = 5;
    let cfg = Cluster::<R>::new(servers, Reliability::Unreliable, ApplierKind::Plain);
    cfg.begin("Test (3C): unreliable agreement");

    let mut clients = Vec::new();
    for iters in 1..50u64 {
        for j in 0..4u64 {
            let cfg = cfg.clone();
            clients.push(
                thread::Builder::new()
                    .name(format!("client-{iters}-{j}"))
                    .spawn(move || cfg.one(&Command::Value(100 * iters + j), 1, true)),
            );
        }
        cfg.one(&Command::Value(iters), 1, true);
    }

    cfg.net().set_reliable(true);

    for client in clients {
        client.join().expect("a client's agreement failed");
    }

    cfg.one(&Command::Value(100), servers, true);
    cfg.end();
}

pub fn figure8_unreliable_3c<R: RaftPeer>() {
    let servers = 5;
    let cfg = Cluster::<R>::new(servers, Reliability::Unreliable, ApplierKind::Plain);
    cfg.begin("Test (3C): Figure 8 (unreliable)");

    cfg.one(&Command::Value(rand::range(0..10_000)), 1, true);

    let mut nup = servers;
    for iters in 0..1000 {
        if iters == 200 {
            cfg.net().set_long_reordering(true);
        }
        let mut leader = None;
        for i in 0..servers {
            let accepted = cfg.propose(i, &Command::Value(rand::range(0..10_000))).is_some();
            if accepted && cfg.is_connected(i) {
                leader = Some(i);
            }
        }

        figure8_sleep();

        if let Some(leader) = leader {
            if rand::range(0..1000) < ELECTION_TIMEOUT.as_millis() as u64 / 2 {
                cfg.disconnect(leader);
                nup -= 1;
            }
        }

        if nup < 3 {
            let s = rand::range(0..servers as u64) as usize;
            if !cfg.is_connected(s) {
                cfg.connect(s);
                nup += 1;
            }
        }
    }

    for i in 0..servers {
        if !cfg.is_connected(i) {
            cfg.connect(i);
        }
    }

    cfg.one(&Command::Value(rand::range(0..10_000)), servers, true);
    cfg.end();
}

fn churn<R: RaftPeer>(reliability: Reliability) {
    let servers = 5;
    let cfg = Cluster::<R>::new(servers, reliability, ApplierKind::Plain);
    match reliability {
        Reliability::Unreliable => cfg.begin("Test (3C): unreliable churn"),
        Reliability::Reliable => cfg.begin("Test (3C): churn"),
    }

    let stop = Arc::new(AtomicBool::new(false));
    let ncli = 3;
    let clients = spawn_churn_clients(&cfg, "churn-client", ncli, &stop, Duration::ZERO);

    let pick = || rand::range(0..servers as u64) as usize;
    for _ in 0..20 {
        if rand::per_mille(200) {
            cfg.disconnect(pick());
        }

        if rand::per_mille(500) {
            let i = pick();
            if !cfg.is_running(i) {
                cfg.start(i);
            }
            cfg.connect(i);
        }

        if rand::per_mille(200) {
            let i = pick();
            if cfg.is_running(i) {
                cfg.crash(i);
            }
        }

        // Crash/restart infrequent enough that the peers can often keep up, but not so
        // infrequent that everything has settled down from one change to the next: a bit less
        // than the election timeout.
        time::sleep(ELECTION_TIMEOUT * 7 / 10);
    }

    time::sleep(ELECTION_TIMEOUT);
    cfg.net().set_reliable(true);
    revive_all(&cfg, servers);
    check_client_values(&cfg, &stop, clients, servers);
    cfg.end();
}

pub fn reliable_churn_3c<R: RaftPeer>() {
    churn::<R>(Reliability::Reliable);
}

pub fn unreliable_churn_3c<R: RaftPeer>() {
    churn::<R>(Reliability::Unreliable);
}
