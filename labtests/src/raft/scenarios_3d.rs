//! Lab 3D: log compaction with snapshots.

use labrpc::rand;

use super::{ApplierKind, Cluster, Command, Reliability, SNAPSHOT_INTERVAL};
use labapi::RaftPeer;

/// Persisted Raft state (term, vote, log) must stay under this many bytes once snapshots trim
/// the log (Go's `MAXLOGSIZE`).
pub const MAX_LOG_SIZE_BYTES: usize = 2000;

fn snapshots<R: RaftPeer>(servers: usize, reliability: Reliability) -> Cluster<R> {
    Cluster::<R>::new(servers, reliability, ApplierKind::Snapshots)
}

/// Commands enough to perhaps trigger a snapshot: half an interval to one and a half.
fn some_commands() -> u64 {
    SNAPSHOT_INTERVAL / 2 + rand::range(0..SNAPSHOT_INTERVAL)
}

fn assert_log_size<R: RaftPeer>(cfg: &Cluster<R>) {
    let size = cfg.log_size();
    assert!(size < MAX_LOG_SIZE_BYTES, "Log size too large: {size} bytes of persisted Raft state");
}

fn snap_common<R: RaftPeer>(description: &str, disconnect: bool, reliable: bool, crash: bool) {
    let iters = 30;
    let servers = 3;
    let reliability = if reliable { Reliability::Reliable } else { Reliability::Unreliable };
    let cfg = snapshots::<R>(servers, reliability);
    cfg.begin(description);

    cfg.one(&Command::random(), servers, true);
    let mut leader1 = cfg.check_one_leader();

    for i in 0..iters {
        let (mut victim, mut sender) = ((leader1 + 1) % servers, leader1);
        if i % 3 == 1 {
            sender = (leader1 + 1) % servers;
            victim = leader1;
        }

        if disconnect {
            cfg.disconnect(victim);
            cfg.one(&Command::random(), servers - 1, true);
        }
        if crash {
            cfg.crash(victim);
            cfg.one(&Command::random(), servers - 1, true);
        }

        // Perhaps send enough to get a snapshot.
        for _ in 0..some_commands() {
            cfg.propose(sender, &Command::random());
        }

        // Let applier threads catch up with the Start()s.
        if !disconnect && !crash {
            // Make sure all followers have caught up, so that an InstallSnapshot RPC isn't
            // required for snapshot_basic.
            cfg.one(&Command::random(), servers, true);
        } else {
            cfg.one(&Command::random(), servers - 1, true);
        }

        assert_log_size(&cfg);
        if disconnect {
            // Reconnect a follower, who may be behind and need a snapshot to catch up.
            cfg.connect(victim);
            cfg.one(&Command::random(), servers, true);
            leader1 = cfg.check_one_leader();
        }
        if crash {
            cfg.start(victim);
            cfg.connect(victim);
            cfg.one(&Command::random(), servers, true);
            leader1 = cfg.check_one_leader();
        }
    }
    cfg.end();
}

pub fn snapshot_basic_3d<R: RaftPeer>() {
    snap_common::<R>("Test (3D): snapshots basic", false, true, false);
}

pub fn snapshot_install_3d<R: RaftPeer>() {
    snap_common::<R>("Test (3D): install snapshots (disconnect)", true, true, false);
}

pub fn snapshot_install_unreliable_3d<R: RaftPeer>() {
    snap_common::<R>("Test (3D): install snapshots (disconnect+unreliable)", true, false, false);
}

pub fn snapshot_install_crash_3d<R: RaftPeer>() {
    snap_common::<R>("Test (3D): install snapshots (crash)", false, true, true);
}

pub fn snapshot_install_uncrash_3d<R: RaftPeer>() {
    snap_common::<R>("Test (3D): install snapshots (unreliable+crash)", false, false, true);
}

/// Do the servers persist their snapshots, and restart from snapshot plus the tail of the log?
pub fn snapshot_all_crash_3d<R: RaftPeer>() {
    let servers = 3;
    let iters = 5;
    let cfg = snapshots::<R>(servers, Reliability::Reliable);
    cfg.begin("Test (3D): crash and restart all servers");

    cfg.one(&Command::random(), servers, true);

    for _ in 0..iters {
        // Perhaps enough to get a snapshot.
        for _ in 0..some_commands() {
            cfg.one(&Command::random(), servers, true);
        }

        let index1 = cfg.one(&Command::random(), servers, true);

        // Crash all, then revive all.
        for i in 0..servers {
            cfg.crash(i);
        }
        for i in 0..servers {
            cfg.start(i);
            cfg.connect(i);
        }

        let index2 = cfg.one(&Command::random(), servers, true);
        assert!(index2 > index1, "index decreased from {index1} to {index2}");
    }
    cfg.end();
}

/// Do servers correctly initialize their in-memory copy of the snapshot, so that later writes to
/// persistent state don't lose it?
pub fn snapshot_init_3d<R: RaftPeer>() {
    let servers = 3;
    let cfg = snapshots::<R>(servers, Reliability::Reliable);
    cfg.begin("Test (3D): snapshot initialization after crash");
    cfg.one(&Command::random(), servers, true);

    // Enough ops to make a snapshot.
    for _ in 0..SNAPSHOT_INTERVAL + 1 {
        cfg.one(&Command::random(), servers, true);
    }

    let restart_all = || {
        for i in 0..servers {
            cfg.crash(i);
        }
        for i in 0..servers {
            cfg.start(i);
            cfg.connect(i);
        }
    };

    restart_all();

    // A single op, to get something written back to persistent storage.
    cfg.one(&Command::random(), servers, true);
    assert_log_size(&cfg);

    restart_all();

    // Another op, to trigger a potential bug.
    cfg.one(&Command::random(), servers, true);
    assert_log_size(&cfg);
    cfg.end();
}
