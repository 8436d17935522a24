//! InstallSnapshot meeting a follower that is ahead of what the leader believes, built
//! deterministically: the follower must not install a snapshot of entries it already committed.

use labrpc::time;

use super::applier::snapshot_due;
use super::scenarios_constructed::SETTLE;
use super::{ApplierKind, Cluster, Command, Reliability};
use labapi::RaftPeer;

/// How many times the construction is repeated in one run.
const ROUNDS: usize = 3;

/// A follower F whose answers never reach leader L (cut one way) still takes L's entries and
/// commit index, so F is ahead of what L believes of it. L gets a burst of commands that ends
/// one index past its service's next snapshot point P, while L's service is slow (it takes
/// nothing L applies until released). G's answers commit the burst; L's next message to F
/// carries the new commit index (at once or with the heartbeat: a leader may do either) with
/// entries L has not compacted yet, and F applies through P + 1. Then L's service goes on and
/// snapshots at P, and from then on L, still believing F needs an index at most P, sends F
/// InstallSnapshot(P). F's own service snapshots at other indices (see `applier::snapshot_due`),
/// so F's last snapshot is below P: a follower that installs a snapshot it already committed
/// (checking it only against its own snapshot, not its commit index) hands its service a
/// snapshot through P after it applied P + 1, and the applier fails the run for the rewind. A
/// correct F answers and ignores it.
pub fn install_snapshot_behind_commit_3d<R: RaftPeer>() {
    let n = 3;
    let cfg = Cluster::<R>::new(n, Reliability::Reliable, ApplierKind::Snapshots);
    cfg.begin("Test (3D): InstallSnapshot of entries the follower already committed and applied");

    for round in 0..ROUNDS {
        // Everyone in step, F included, so L's view of F is exact before the cut.
        let committed = cfg.one(&Command::random(), n, true);
        let l = cfg.check_one_leader();
        let f = (l + 1) % n;
        let p = (committed + 1..).find(|&k| snapshot_due(l, k)).expect("a snapshot point ahead");
        assert!(
            !(p..=p + 1).any(|k| snapshot_due(f, k)),
            "round {round}: F (peer {f}) snapshots at {p} or {} too, like L (peer {l})",
            p + 1
        );

        cfg.cut(f, l);
        cfg.hold_applies(l);
        let mut last = committed;
        for _ in committed..=p {
            let (index, _) = cfg.propose(l, &Command::random()).expect("L no longer leads");
            last = index;
        }
        assert_eq!(last, p + 1, "round {round}: the burst ends at index {last}, not {}", p + 1);
        // F and G apply the burst; L's service has not reached P, so L's log still has it all.
        cfg.wait(last, 2, None);
        cfg.release_applies(l);
        // L's service snapshots at P; heartbeats carry InstallSnapshot(P) to F meanwhile.
        time::sleep(SETTLE);
        cfg.heal_cut(f, l);
    }
    cfg.end();
}
