//! The checks the scenarios assert with, after the Go config: one leader, agreeing terms, no
//! leader, how many peers applied an index, a full agreement (`one`) and waiting for one (`wait`).
//! Every wait is bounded in virtual time, so a check fails at the same instant on every replay.

use std::collections::BTreeMap;
use std::time::Duration;

use labrpc::{rand, time};

use super::command::Command;
use super::config::Cluster;
use labapi::RaftPeer;

/// How long `one` keeps trying, over all its submissions (virtual time).
pub const ONE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `one` waits for one submission to commit before submitting again.
pub const ONE_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// `check_one_leader` looks this many times, 450-550 ms apart, before giving up.
pub const LEADER_CHECK_TRIES: usize = 10;

impl<R: RaftPeer> Cluster<R> {
    /// Waits for exactly one live peer to believe it leads in the highest term any live peer
    /// leads in, and returns it. Fails when a term has two leaders, or when no leader shows up
    /// within about 5 s.
    pub fn check_one_leader(&self) -> usize {
        for _ in 0..LEADER_CHECK_TRIES {
            time::sleep(Duration::from_millis(450 + rand::range(0..100)));
            let mut leaders: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
            for (i, raft) in self.live() {
                let (term, is_leader) = raft.state();
                if is_leader {
                    leaders.entry(term).or_default().push(i);
                }
            }
            for (term, in_term) in &leaders {
                assert!(in_term.len() <= 1, "term {term} has {} (>1) leaders: {in_term:?}", in_term.len());
            }
            if let Some((_, in_term)) = leaders.last_key_value() {
                return in_term[0];
            }
        }
        panic!("expected one leader, got none");
    }

    /// Every live peer is in the same term; returns it.
    pub fn check_terms(&self) -> u64 {
        let mut term = None;
        for (i, raft) in self.live() {
            let (t, _) = raft.state();
            match term {
                None => term = Some(t),
                Some(first) => {
                    assert_eq!(first, t, "servers disagree on term: peer {i} is in term {t}, another in {first}")
                }
            }
        }
        term.expect("check_terms: no live peer")
    }

    /// No live peer believes it leads.
    pub fn check_no_leader(&self) {
        for (i, raft) in self.live() {
            let (term, is_leader) = raft.state();
            assert!(
                !is_leader,
                "expected no leader among connected servers, but {i} claims to be leader (term {term})"
            );
        }
    }

    /// How many peers have applied `index`, and the command there; fails if they disagree.
    pub fn n_committed(&self, index: u64) -> (usize, Option<Command>) {
        let st = self.shared.state.lock();
        let mut count = 0;
        let mut command: Option<&Command> = None;
        for i in 0..self.shared.n {
            if let Some(c) = st.applied.get(i, index) {
                if let Some(first) = command {
                    assert_eq!(first, c, "committed values do not match: index {index}, {first}, {c}");
                }
                count += 1;
                command = Some(c);
            }
        }
        (count, command.cloned())
    }

    /// Asks peer `i` to start `command`; fails the run if it is crashed. Returns (index, term)
    /// when it believes it leads.
    pub fn propose(&self, i: usize, command: &Command) -> Option<(u64, u64)> {
        self.start_on(i, &self.raft(i), command.encode())
    }

    /// `raft.start(command)` on peer `i`, its trace lines attributed to the peer's node (not to
    /// the calling harness thread's).
    pub(crate) fn start_on(&self, i: usize, raft: &R, command: Vec<u8>) -> Option<(u64, u64)> {
        labrpc::trace::as_node(self.node(i), || raft.start(command))
    }

    /// (term, leader?) of peer `i`; fails the run if it is crashed.
    pub fn state(&self, i: usize) -> (u64, bool) {
        self.raft(i).state()
    }

    /// A complete agreement (Go's `one`): submits `command` to whichever live peer accepts it,
    /// waits up to 2 s for at least `expected_servers` peers to apply it at that index, and, with
    /// `retry`, submits again until 10 s have passed. Returns the index. Without `retry` a single
    /// accepted submission must commit.
    pub fn one(&self, command: &Command, expected_servers: usize, retry: bool) -> u64 {
        let t0 = time::now();
        let mut starts = 0;
        let encoded = command.encode();
        while t0.elapsed() < ONE_TIMEOUT {
            // Try all the live peers, maybe one is the leader.
            let mut index = None;
            let live = self.live();
            for _ in 0..self.shared.n {
                starts = (starts + 1) % self.shared.n;
                if let Some((_, raft)) = live.iter().find(|(i, _)| *i == starts) {
                    if let Some((at, _term)) = self.start_on(starts, raft, encoded.clone()) {
                        index = Some(at);
                        break;
                    }
                }
            }
            let Some(index) = index else {
                time::sleep(Duration::from_millis(50));
                continue;
            };
            // Somebody claimed to lead and took the command: wait a while for agreement.
            let t1 = time::now();
            while t1.elapsed() < ONE_ATTEMPT_TIMEOUT {
                let (nd, got) = self.n_committed(index);
                if nd > 0 && nd >= expected_servers && got.as_ref() == Some(command) {
                    return index;
                }
                time::sleep(Duration::from_millis(20));
            }
            assert!(retry, "one({command}) failed to reach agreement (index {index}, no retry)");
        }
        panic!("one({command}) failed to reach agreement within {} s", ONE_TIMEOUT.as_secs());
    }

    /// Waits for every peer to apply every index through `last_index` (the logs then agree on
    /// that prefix: the appliers fail on any difference) and returns the numbers there.
    pub fn committed_prefix(&self, last_index: u64) -> Vec<u64> {
        (1..=last_index)
            .map(|index| match self.wait(index, self.n(), None) {
                Some(Command::Value(v)) => v,
                other => panic!("not a number at index {index}: {other:?}"),
            })
            .collect()
    }

    /// Waits (about 30 backoff steps, 10 ms doubling to 1 s) for at least `n` peers to apply
    /// `index` and returns the command there. With `start_term`, returns None as soon as an
    /// awake peer has moved past that term (the command may then never commit). Fails when too
    /// few peers applied it in time.
    pub fn wait(&self, index: u64, n: usize, start_term: Option<u64>) -> Option<Command> {
        let mut backoff = Duration::from_millis(10);
        for _ in 0..30 {
            let (nd, _) = self.n_committed(index);
            if nd >= n {
                break;
            }
            time::sleep(backoff);
            if backoff < Duration::from_secs(1) {
                backoff *= 2;
            }
            if let Some(start_term) = start_term {
                for (_, raft) in self.awake() {
                    if raft.state().0 > start_term {
                        return None;
                    }
                }
            }
        }
        let (nd, command) = self.n_committed(index);
        assert!(nd >= n, "only {nd} decided for index {index}; wanted {n}");
        command
    }
}

/// How often the liveness checks below read the peers (virtual time).
const LIVENESS_POLL: Duration = Duration::from_millis(10);

impl<R: RaftPeer> Cluster<R> {
    /// Waits up to `bound` for one of `group` to claim leadership of a term above `above`;
    /// returns it, its term, and how long that took. Fails the run past `bound`, naming `why`
    /// (the situation that must not keep a cluster without a leader that long).
    pub fn leader_within(&self, group: &[usize], above: u64, bound: Duration, why: &str) -> (usize, u64, Duration) {
        let t0 = time::now();
        loop {
            let leader = group
                .iter()
                .map(|&i| (i, self.state(i)))
                .filter(|(_, (t, l))| *l && *t > above)
                .max_by_key(|(_, (t, _))| *t);
            if let Some((i, (term, _))) = leader {
                return (i, term, t0.elapsed());
            }
            assert!(
                t0.elapsed() <= bound,
                "no leader among peers {group:?} in a term above {above} within {} ms ({why}); terms now: {}",
                bound.as_millis(),
                group.iter().map(|&i| format!("peer {i} {}", self.state(i).0)).collect::<Vec<_>>().join(", ")
            );
            time::sleep(LIVENESS_POLL);
        }
    }

    /// On a quiet network (reliable, no fault since `leader` was elected), a correct Raft keeps
    /// its leader: every follower hears a heartbeat well within its election timeout. Fails if,
    /// within `hold`, `leader` stops leading `term` or a connected peer reaches a higher term (a
    /// needless election, e.g. a voter whose timer was not restarted when it granted its vote
    /// and ran out before the new leader's first heartbeat).
    pub fn check_leader_holds(&self, leader: usize, term: u64, hold: Duration) {
        let t0 = time::now();
        while t0.elapsed() <= hold {
            let (t, is_leader) = self.state(leader);
            let higher = self.live().into_iter().map(|(i, raft)| (i, raft.state().0)).find(|&(_, t)| t > term);
            if !is_leader || t != term || higher.is_some() {
                let (who, now) = higher.unwrap_or((leader, t));
                panic!(
                    "peer {leader}, elected leader of term {term} on a quiet network (reliable, no fault since), \
                     lost it {} ms later: peer {who} is now in term {now}; a leader must last while every \
                     follower hears its heartbeats",
                    t0.elapsed().as_millis()
                );
            }
            time::sleep(LIVENESS_POLL);
        }
    }
}
