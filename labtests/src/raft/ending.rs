//! The common ending of every Raft scenario (`Cluster::end` runs it before the Passed line):
//! heal every fault, then require liveness and durability. Whatever a scenario did, a correct
//! Raft, once every peer runs and reaches every other, elects a leader, commits a fresh command,
//! and every peer applies every index any peer ever applied, agreeing (the appliers compare
//! each applied command with what the first peer applied there, so an entry lost or replaced
//! after some peer applied it fails the run).

use std::time::Duration;

use labrpc::persister::CrashPoints;
use labrpc::time::{self, Instant};

use super::command::Command;
use super::config::Cluster;
use super::monitor::MONITOR_INTERVAL;
use labapi::RaftPeer;

/// After healing, a leader must show up within this (virtual time): many election timeouts.
pub const HEALED_LEADER_BOUND: Duration = Duration::from_secs(10);
/// After healing, a fresh command must be applied by every peer within this.
pub const HEALED_COMMIT_BOUND: Duration = Duration::from_secs(10);
/// How often the ending looks for a leader and for applied entries.
const POLL: Duration = Duration::from_millis(10);

impl<R: RaftPeer> Cluster<R> {
    /// Heals everything: network faults off, crash points off, crashed peers restarted from
    /// their persisters, every peer connected, partitions and one-way cuts removed, held links
    /// released, pauses over.
    pub fn heal_everything(&self) {
        tracing::info!("harness: heal everything");
        let net = self.net();
        net.set_reliable(true);
        net.set_long_reordering(false);
        net.set_duplicate_per_mille(0);
        net.set_late_duplicate_per_mille(0);
        net.set_crash_after_reply_per_mille(0);
        net.set_held_replies(0, Duration::ZERO, Duration::ZERO);
        net.release_all_replies();
        self.servers().set_crash_points(CrashPoints::default());
        for i in 0..self.n() {
            // A node can also be down without the harness crashing it (a labrpc crash point).
            if !self.is_running(i) || !labrpc::node::is_alive(self.node(i)) {
                self.start(i);
            }
        }
        self.heal_partition();
        self.heal_all_cuts();
        for i in 0..self.n() {
            self.connect(i);
        }
        let resume = self.servers().last_resume();
        if let Some(resume) = resume {
            time::sleep_until(resume);
        }
    }

    /// The ending: heal everything, then a leader within `HEALED_LEADER_BOUND` and a fresh
    /// command applied by every peer within `HEALED_COMMIT_BOUND` of its submission, above every
    /// index any peer applied before. Peers are read through the monitor's polls only (a peer
    /// that never releases its lock then shows as not seen lately instead of hanging the test).
    pub(crate) fn heal_and_check(&self) {
        let (applied_before, by) = self.highest_applied();
        self.heal_everything();
        let healed_at = time::now();
        let command = Command::random();
        let encoded = command.encode();
        // (leader, index, term, when first submitted); the leader may change before the command
        // commits, and then it is submitted again to the new one.
        let mut submitted: Option<(usize, u64, u64, Instant)> = None;
        loop {
            time::sleep(POLL);
            let leader = self.fresh_leader();
            match submitted {
                None if healed_at.elapsed() > HEALED_LEADER_BOUND => panic!(
                    "no leader within {} s after every fault healed at {:.3}s (last seen: {})",
                    HEALED_LEADER_BOUND.as_secs(),
                    healed_at.since_start().as_secs_f64(),
                    self.describe_last_seen()
                ),
                Some((leader, index, term, at)) => {
                    if self.applied_by_all(index) {
                        let (_, got) = self.n_committed(index);
                        if got.as_ref() == Some(&command) {
                            assert!(
                                index > applied_before,
                                "peer {by} applied index {applied_before} before every fault healed, but then \
                                 leader {leader} (term {term}) committed a fresh command at index {index}: committed \
                                 entries were lost"
                            );
                            return;
                        }
                        // Another command committed there: that leader was deposed and the
                        // submission lost; give it to the next leader.
                        submitted = Some((leader, index, 0, at));
                    }
                    if at.elapsed() > HEALED_COMMIT_BOUND {
                        panic!(
                            "after every fault healed at {:.3}s, a fresh command first given to a leader at {:.3}s \
                             (last to leader {leader}, term {term}, index {index}) was not applied by every peer within \
                             {} s (applied through: {}; last seen: {}); a peer that stops applying may be blocked \
                             delivering on its apply channel",
                            healed_at.since_start().as_secs_f64(),
                            at.since_start().as_secs_f64(),
                            HEALED_COMMIT_BOUND.as_secs(),
                            self.describe_applied(),
                            self.describe_last_seen()
                        );
                    }
                }
                None => {}
            }
            // Submit (again) when a leader shows up in a term the command was not given in.
            if let Some((i, term)) = leader {
                if submitted.is_none_or(|(_, _, t, _)| t != term) {
                    let at = submitted.map_or(time::now(), |(_, _, _, at)| at);
                    if let Some((index, term)) = self.try_raft(i).and_then(|r| self.start_on(i, &r, encoded.clone())) {
                        submitted = Some((i, index, term, at));
                    }
                }
            }
        }
    }

    /// The peer the monitor saw leading the highest term within the last few polls, and that term.
    fn fresh_leader(&self) -> Option<(usize, u64)> {
        let now = time::now().since_start();
        let st = self.shared.state.lock();
        st.last_seen
            .iter()
            .enumerate()
            .filter_map(|(i, seen)| match seen {
                Some((s, at)) if s.leader && now - *at <= 3 * MONITOR_INTERVAL => Some((i, s.term)),
                _ => None,
            })
            .max_by_key(|&(_, term)| term)
    }

    /// The highest index any peer applied, and the first peer that applied it.
    fn highest_applied(&self) -> (u64, usize) {
        let st = self.shared.state.lock();
        (0..self.n())
            .map(|i| (st.applied.applied_through(i), i))
            .max_by_key(|&(index, i)| (index, usize::MAX - i))
            .unwrap_or((0, 0))
    }

    fn applied_by_all(&self, index: u64) -> bool {
        let st = self.shared.state.lock();
        (0..self.n()).all(|i| st.applied.applied_through(i) >= index)
    }

    fn describe_applied(&self) -> String {
        let st = self.shared.state.lock();
        (0..self.n()).map(|i| format!("peer {i} {}", st.applied.applied_through(i))).collect::<Vec<_>>().join(", ")
    }

    /// What the monitor last saw of each peer, and when.
    fn describe_last_seen(&self) -> String {
        let st = self.shared.state.lock();
        (0..self.n())
            .map(|i| match &st.last_seen[i] {
                Some((s, at)) => format!(
                    "peer {i} term {}{} at {:.3}s",
                    s.term,
                    if s.leader { " leader" } else { "" },
                    at.as_secs_f64()
                ),
                None => format!("peer {i} never"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
