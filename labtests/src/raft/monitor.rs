//! The leader monitor: a thread on the test's node that reads every running, unpaused peer's
//! `state()` every `MONITOR_INTERVAL` of virtual time for the whole run (across crashes and
//! restarts), instead of only when a scenario checks. It fails the run at
//! - the first second leader of a term: at most one peer may ever lead a given term;
//! - a stale leader: a peer that claims to lead term T for `STEP_DOWN_BOUND` while a peer in a
//!   higher term reaches it and is reached by it, so that every heartbeat it sends is answered
//!   with the higher term.
//!
//! Why 10 ms: a leader of the reference lasts at least one heartbeat (100 ms) unless it crashes,
//! and two leaders of one term coexist until a message of a higher term reaches one of them, so
//! a poll every 10 ms sees them; each poll is one lock and one `state()` call per peer, and
//! polls cost little next to the Raft's own heartbeats (see the raft_bench ratio in the report).

use std::collections::BTreeMap;
use std::time::Duration;

use labrpc::{thread, time, NodeId};

use super::config::{Cluster, State};
use super::durable_terms::TermSample;
use labapi::RaftPeer;

/// How often the monitor reads every peer's state (virtual time).
pub const MONITOR_INTERVAL: Duration = Duration::from_millis(10);

/// How long a leader may go on claiming its term while a peer of a higher term is reachable
/// both ways. A correct leader steps down at the first reply to a heartbeat (sent every 100 ms by
/// the reference), but on the unreliable network with long reordering a reply may be held up to
/// 2.2 s; two election timeouts make a false alarm there about one in ten million (about 20
/// heartbeats whose replies must all be dropped or held past the bound).
pub const STEP_DOWN_BOUND: Duration = Duration::from_secs(2);

/// One peer's answer to `state()` in one poll.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen {
    pub(crate) peer: usize,
    pub(crate) term: u64,
    pub(crate) leader: bool,
}

/// What the monitor remembers between polls; times are virtual, since the run's start.
#[derive(Default)]
pub(crate) struct LeaderHistory {
    /// Every term a leader was seen in: the first peer seen leading it, and when.
    leaders: BTreeMap<u64, (usize, Duration)>,
    /// `confirmed[p]`: a term peer p was found to be the first leader of. An entry of `leaders`
    /// never changes, so while p goes on leading that term (most polls of a run) the map need
    /// not be searched again.
    confirmed: Vec<Option<u64>>,
    /// (leader, higher-term peer, the leader's term, since when the pair has held continuously:
    /// leader claiming that term, the other in a higher term, linked both ways). A handful of
    /// pairs at most, usually none; kept with the list of the poll being built in two buffers
    /// that live as long as the monitor, so a poll allocates nothing.
    stale: Vec<StalePair>,
    stale_next: Vec<StalePair>,
}

/// See [`LeaderHistory::stale`].
type StalePair = ((usize, usize), (u64, Duration));

impl LeaderHistory {
    /// Takes one poll at `at`: `seen` holds the running, unpaused peers, and `linked(p, q)` says
    /// whether p and q reach each other both ways. Returns the first violation found.
    pub(crate) fn observe(
        &mut self,
        at: Duration,
        seen: &[Seen],
        linked: impl Fn(usize, usize) -> bool,
    ) -> Result<(), String> {
        // The highest term any peer is in, and the lowest a peer leads: a leader of the highest
        // term has no higher-term peer to be stale next to (the usual poll: one leader, every
        // peer in its term).
        let (mut max_term, mut min_leader_term) = (0, u64::MAX);
        for s in seen {
            max_term = max_term.max(s.term);
            if !s.leader {
                continue;
            }
            min_leader_term = min_leader_term.min(s.term);
            if self.confirmed.get(s.peer) != Some(&Some(s.term)) {
                self.confirm(at, s)?;
            }
        }
        if min_leader_term >= max_term {
            // No leader below the highest term: no pair holds, as the full pass below would find.
            self.stale.clear();
            return Ok(());
        }
        self.observe_stale(at, seen, max_term, linked)
    }

    /// `s` leads its term: the first leader seen in that term, or a violation. Out of line: a
    /// leader is confirmed once per term.
    #[cold]
    #[inline(never)]
    fn confirm(&mut self, at: Duration, s: &Seen) -> Result<(), String> {
        let (first, first_at) = *self.leaders.entry(s.term).or_insert((s.peer, at));
        if first != s.peer {
            return Err(format!(
                "two leaders in term {}: peer {first} was seen leading it at {:.3}s and peer {} at {:.3}s",
                s.term,
                first_at.as_secs_f64(),
                s.peer,
                at.as_secs_f64()
            ));
        }
        if self.confirmed.len() <= s.peer {
            self.confirmed.resize(s.peer + 1, None);
        }
        self.confirmed[s.peer] = Some(s.term);
        Ok(())
    }

    /// The stale-leader pairs of a poll where some leader is below `max_term`.
    #[inline(never)]
    fn observe_stale(
        &mut self,
        at: Duration,
        seen: &[Seen],
        max_term: u64,
        linked: impl Fn(usize, usize) -> bool,
    ) -> Result<(), String> {
        self.stale_next.clear();
        for p in seen.iter().filter(|s| s.leader && s.term < max_term) {
            for q in seen.iter().filter(|q| q.term > p.term && linked(p.peer, q.peer)) {
                let before = self.stale.iter().find(|(pair, _)| *pair == (p.peer, q.peer));
                let since = match before {
                    Some(&(_, (term, since))) if term == p.term => since,
                    _ => at,
                };
                if at - since > STEP_DOWN_BOUND {
                    return Err(format!(
                        "stale leader: peer {} still claims to lead term {} at {:.3}s, but peer {} (now in term {}) \
                         has been in a higher term and reachable both ways since {:.3}s (more than {} ms): a leader \
                         that hears a higher term must step down",
                        p.peer,
                        p.term,
                        at.as_secs_f64(),
                        q.peer,
                        q.term,
                        since.as_secs_f64(),
                        STEP_DOWN_BOUND.as_millis()
                    ));
                }
                self.stale_next.push(((p.peer, q.peer), (p.term, since)));
            }
        }
        std::mem::swap(&mut self.stale, &mut self.stale_next);
        Ok(())
    }
}

impl<R: RaftPeer> Cluster<R> {
    /// Starts the monitor thread; it polls until `stop_monitor`.
    pub(crate) fn spawn_monitor(&self) {
        let cluster = self.clone();
        // Inlined into the frame where the simulator catches a killed thread's unwind, so what
        // the closure owns drops on the way to that catch instead of the unwinder stopping in a
        // frame of the closure's own and restarting from it (the run ends with this thread
        // killed in its sleep).
        thread::Builder::new().name("monitor".to_string()).node(NodeId::MAIN).spawn(
            #[inline(always)]
            move || {
                let mut history = LeaderHistory::default();
                // One poll's readings, kept between polls so that a poll allocates nothing: the
                // monitor polls every 10 ms of virtual time for the whole run.
                let n = cluster.n();
                let mut incarnations: Vec<u64> = Vec::with_capacity(n);
                let mut awake: Vec<(usize, R)> = Vec::with_capacity(n);
                // What each peer said, and its server's (dispatched, answered) counters.
                let (mut seen, mut counts) = (Vec::with_capacity(n), Vec::with_capacity(n));
                loop {
                    time::sleep(MONITOR_INTERVAL);
                    // Read under the same lock: a poll takes no more locks than before the
                    // durable-term check (the harness lock is a scheduling point).
                    {
                        let st = cluster.shared.state.lock();
                        if !st.monitor_on {
                            return;
                        }
                        incarnations.clear();
                        incarnations.extend(st.peers.iter().map(|p| p.incarnation));
                    }
                    // Read outside the harness lock: `state()` takes the peer's lock. The network's
                    // counters are read after `state()` (see `durable_terms.rs`).
                    cluster.awake_into(&mut awake);
                    seen.clear();
                    counts.clear();
                    // Each handle is dropped right after its reading, as a consumed list would.
                    for (peer, raft) in awake.drain(..) {
                        let (term, leader) = raft.state();
                        crate::timeline::event::peer_state(cluster.node(peer), term, leader);
                        seen.push(Seen { peer, term, leader });
                        counts.push(cluster.server_counts(peer));
                    }
                    let mut st = cluster.shared.state.lock();
                    let at = time::now().since_start();
                    for (&s, &(dispatched, answered)) in seen.iter().zip(&counts) {
                        st.last_seen[s.peer] = Some((s, at));
                        // A peer restarted meanwhile: its handle and its counters may not match.
                        let incarnation = st.peers[s.peer].incarnation;
                        if incarnation == incarnations[s.peer] {
                            let sample =
                                TermSample { peer: s.peer, incarnation, term: s.term, dispatched, answered, at };
                            if let Err(e) = st.durable_terms.observe(sample) {
                                panic!("{e}");
                            }
                        }
                    }
                    if let Err(e) = history.observe(at, &seen, |p, q| cluster.linked_both_ways(&st, p, q)) {
                        panic!("{e}");
                    }
                }
            },
        );
    }

    /// The highest term peer `i` answered a request in, as far as the monitor saw.
    pub fn promised_term(&self, i: usize) -> Option<u64> {
        self.shared.state.lock().durable_terms.promised(i)
    }

    /// Ends the monitor at its next poll.
    pub(crate) fn stop_monitor(&self) {
        self.shared.state.lock().monitor_on = false;
    }

    /// Peers `p` and `q` are both connected, in one partition group, and no one-way cut lies
    /// between them in either direction.
    fn linked_both_ways(&self, st: &State<R>, p: usize, q: usize) -> bool {
        self.servers().linked_both_ways(st, p, q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(peer: usize, term: u64, leader: bool) -> Seen {
        Seen { peer, term, leader }
    }

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn a_second_leader_of_a_term_fails_even_long_after_the_first() {
        let mut h = LeaderHistory::default();
        h.observe(ms(10), &[seen(0, 3, true), seen(1, 3, false)], |_, _| true).unwrap();
        h.observe(ms(20), &[seen(0, 3, true)], |_, _| true).unwrap();
        h.observe(ms(30), &[seen(0, 4, false), seen(1, 4, true)], |_, _| true).unwrap();
        let e = h.observe(ms(5000), &[seen(2, 3, true)], |_, _| true).unwrap_err();
        assert!(e.contains("two leaders in term 3: peer 0 was seen leading it at 0.010s and peer 2 at 5.000s"), "{e}");
    }

    #[test]
    fn a_leader_that_keeps_its_term_next_to_a_higher_term_fails_after_the_bound() {
        let mut h = LeaderHistory::default();
        let polls = [seen(0, 3, true), seen(1, 4, false)];
        let mut at = ms(100);
        while at - ms(100) <= STEP_DOWN_BOUND {
            h.observe(at, &polls, |_, _| true).unwrap();
            at += MONITOR_INTERVAL;
        }
        let e = h.observe(at, &polls, |_, _| true).unwrap_err();
        assert!(e.contains("peer 0 still claims to lead term 3") && e.contains("peer 1 (now in term 4)"), "{e}");
        assert!(e.contains("since 0.100s"), "{e}");
    }

    #[test]
    fn the_stale_leader_clock_restarts_when_the_link_breaks() {
        let mut h = LeaderHistory::default();
        let polls = [seen(0, 3, true), seen(1, 4, false)];
        h.observe(ms(0), &polls, |_, _| true).unwrap();
        h.observe(STEP_DOWN_BOUND, &polls, |_, _| false).unwrap();
        h.observe(STEP_DOWN_BOUND + ms(10), &polls, |_, _| true).unwrap();
        h.observe(2 * STEP_DOWN_BOUND, &polls, |_, _| true).unwrap();
        // Stepping down (or the other peer leaving) also ends it.
        h.observe(2 * STEP_DOWN_BOUND + ms(20), &[seen(0, 4, false), seen(1, 4, false)], |_, _| true).unwrap();
        h.observe(4 * STEP_DOWN_BOUND, &polls, |_, _| true).unwrap();
    }
}
