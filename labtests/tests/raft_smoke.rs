//! End-to-end smoke test of the Raft on the simulator: elect, agree, lose the leader, agree again,
//! restart from persisted state. The full lab suite lives in labtests.

use std::time::Duration;

use labrpc::channel::{self, Receiver};
use labrpc::net::{Network, Server};
use labrpc::persister::Persister;
use labrpc::sim::{self, Config};
use labrpc::{node, thread, time, NodeId};
use raftkv::raft::{ApplyMsg, Raft};

struct Peer {
    node: NodeId,
    raft: Raft,
    applied: Receiver<ApplyMsg>,
}

/// The commands delivered so far, failing on anything else.
fn applied_commands(applied: &Receiver<ApplyMsg>) -> Vec<Vec<u8>> {
    applied
        .try_iter()
        .map(|m| match m {
            ApplyMsg::Command { command, .. } => command,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn leader(peers: &[Option<Peer>]) -> Option<usize> {
    peers.iter().position(|p| p.as_ref().is_some_and(|p| p.raft.state().1))
}

#[test]
fn elect_agree_fail_over_and_restart() {
    sim::check(&labrpc::target!("elect_agree_fail_over_and_restart"), Config::default(), || {
        let n = 3;
        let net = Network::new();
        let nodes: Vec<NodeId> = (0..n).map(|i| node::create(&format!("peer-{i}"))).collect();
        let persisters: Vec<Persister> = (0..n).map(|_| Persister::new()).collect();
        let make_ends = |i: usize| -> Vec<labrpc::net::ClientEnd> {
            (0..n)
                .map(|j| {
                    let name = format!("{i}->{j}-{}", labrpc::rand::next_u64());
                    let end = net.make_end(&name, nodes[i]);
                    net.connect(&name, &format!("raft-{j}"));
                    end
                })
                .collect()
        };
        let start = |i: usize, persister: Persister| -> Peer {
            let ends = make_ends(i);
            let (tx, rx) = channel::unbounded();
            let node = nodes[i];
            let raft =
                thread::Builder::new().node(node).spawn(move || Raft::make(ends, i, persister, tx)).join().unwrap();
            net.add_server(&format!("raft-{i}"), node, Server::new().with_service(raft.service()));
            Peer { node, raft, applied: rx }
        };
        let mut peers: Vec<Option<Peer>> = (0..n).map(|i| Some(start(i, persisters[i].clone()))).collect();
        time::sleep(Duration::from_secs(2));
        let first = leader(&peers).expect("a leader within 2 s");
        for cmd in 0..5u8 {
            peers[first].as_ref().unwrap().raft.start(vec![cmd]).expect("leader accepts");
        }
        time::sleep(Duration::from_secs(1));
        for p in peers.iter().flatten() {
            assert_eq!(applied_commands(&p.applied), (0..5u8).map(|c| vec![c]).collect::<Vec<_>>());
        }
        // Crash the leader: the others elect a new one and keep agreeing.
        let old = peers[first].take().unwrap();
        node::crash(old.node);
        net.delete_server(&format!("raft-{first}"));
        time::sleep(Duration::from_secs(2));
        let second = leader(&peers).expect("a new leader");
        assert_ne!(second, first);
        peers[second].as_ref().unwrap().raft.start(vec![9]).unwrap();
        time::sleep(Duration::from_secs(1));
        // Restart the old leader from its persisted state: it catches up on everything.
        node::restart(old.node);
        let back = start(first, persisters[first].copy());
        time::sleep(Duration::from_secs(2));
        let replayed = applied_commands(&back.applied);
        let mut want: Vec<Vec<u8>> = (0..5u8).map(|c| vec![c]).collect();
        want.push(vec![9]);
        assert_eq!(replayed, want);
    });
}
