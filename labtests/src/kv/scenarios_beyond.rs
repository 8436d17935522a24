//! Scenarios beyond the labs, each checked for linearizability like the rest: one-way link cuts
//! with clients on both sides, requests duplicated everywhere, and a leader that pauses for
//! several election timeouts while clients keep going (it must serve no stale read on waking).

use super::generic::{generic, Faults, Spec};
use super::scenarios_4b::MAXRAFTSTATE;
use labapi::Lab;

/// Random one-way cuts between any two nodes (server to server, server to client, client to
/// server), always including one from the leader to a follower.
pub fn kv_one_way_cuts_beyond<L: Lab>() {
    generic::<L>(Spec { faults: Faults::OneWayCuts, randomkeys: true, ..Spec::new("kv_one_way_cuts_beyond", 5, 5) });
}

/// 30% of requests (client and Raft alike) delivered twice, on an unreliable network with
/// partitions, crashes and snapshots.
pub fn kv_duplicates_beyond<L: Lab>() {
    generic::<L>(Spec {
        unreliable: true,
        crash: true,
        faults: Faults::Partitions,
        randomkeys: true,
        maxraftstate: Some(MAXRAFTSTATE),
        duplicate_per_mille: 300,
        ..Spec::new("kv_duplicates_beyond", 5, 5)
    });
}

/// The leader stops for 2-4 s again and again while clients keep going through a new one; a
/// reader that reaches only the old leader, which hears nothing for a while after waking, must
/// get no stale value.
pub fn kv_paused_leader_beyond<L: Lab>() {
    generic::<L>(Spec { faults: Faults::PauseLeader, randomkeys: true, ..Spec::new("kv_paused_leader_beyond", 5, 5) });
}

/// kvsrv with 30% of requests delivered twice over an unreliable network.
pub fn kvsrv_duplicates_beyond<L: Lab>() {
    super::scenarios_lab2::generic_duplicates::<L>("kvsrv_duplicates_beyond");
}
