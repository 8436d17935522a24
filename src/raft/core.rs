//! The Raft protocol, Figure 2 of the paper (and Figure 13's InstallSnapshot), as plain methods
//! on one state struct: no threads, no clock, no I/O. Every handler returns what the caller must
//! do next (`Effects`), so the logic can be stepped and asserted directly; `driver.rs` runs it
//! with threads, timers, RPC and the persister.
//!
//! In the order of the paper: the state (`Core`), then elections (RequestVote, both sides),
//! replication on the leader (what to send, replies, the commit rule), the AppendEntries and
//! InstallSnapshot receivers, the service's side (snapshots, applying committed entries).

use labapi::ApplyMsg;

use super::log::{Entry, Log};
use super::messages::*;
use super::persist::{Header, Persistent, Saved};
use super::progress::{InFlight, Progress};
use super::trace::{Entries, Pos};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Follower,
    Candidate,
    Leader,
}

/// One peer's state: Figure 2's "State" box, plus the votes of a running election.
pub struct Core {
    me: usize,
    peers: usize,
    // Persistent on all servers (`persist.rs` saves them).
    term: u64,
    voted_for: Option<usize>,
    log: Log,
    // Volatile on all servers.
    role: Role,
    commit_index: u64,
    last_applied: u64,
    /// The snapshot in the persister has not been delivered to the service yet.
    snapshot_pending: bool,
    /// Candidates: who granted a vote this term.
    votes: Vec<bool>,
    /// Leaders: per follower (and for itself), nextIndex and matchIndex.
    progress: Vec<Progress>,
    /// What the last persist left in the persister (not Figure 2: see `persist.rs`).
    saved: Saved,
}

/// What the caller must do after a step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Effects {
    /// Save term, vote and log before answering anyone.
    pub persist: bool,
    /// The leader's log grew: save it before sending any of it to a follower. (Batches the
    /// saves of many `start`s into one.)
    pub persist_before_send: bool,
    /// Pick a new election deadline.
    pub reset_election: bool,
    /// New entries are committed (or a snapshot is to be delivered): wake the applier.
    pub apply: bool,
    /// Send to followers now (new entries, new leader, or a follower to catch up). A commit
    /// alone sends nothing: it rides on the next append or heartbeat.
    pub replicate: bool,
}

impl Effects {
    fn merge(self, other: Effects) -> Effects {
        Effects {
            persist: self.persist || other.persist,
            persist_before_send: self.persist_before_send || other.persist_before_send,
            reset_election: self.reset_election || other.reset_election,
            apply: self.apply || other.apply,
            replicate: self.replicate || other.replicate,
        }
    }
}

/// What a leader sends a follower next.
#[derive(Clone, Debug)]
pub enum Outgoing {
    Append(AppendEntriesArgs),
    /// The follower needs entries the log no longer has: send the snapshot (the caller adds the
    /// bytes from the persister).
    Snapshot {
        term: u64,
        last_included_index: u64,
        last_included_term: u64,
    },
}

/// What the applier hands the service next (`Core::take_to_apply`).
#[derive(Debug)]
pub enum ToApply {
    /// The snapshot in the persister, which covers the log through `index`.
    Snapshot { index: u64, term: u64 },
    /// Committed entries, in log order.
    Commands(Vec<ApplyMsg>),
}

impl Core {
    pub fn new(me: usize, peers: usize) -> Core {
        assert!(me < peers, "peer {me} of {peers}");
        Core {
            me,
            peers,
            term: 0,
            voted_for: None,
            log: Log::default(),
            role: Role::Follower,
            commit_index: 0,
            last_applied: 0,
            snapshot_pending: false,
            votes: vec![false; peers],
            progress: vec![Progress::default(); peers],
            saved: Saved::default(),
        }
    }

    pub fn term(&self) -> u64 {
        self.term
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    /// Restores what an earlier incarnation persisted. With a snapshot, its index counts as
    /// committed and the snapshot is delivered to the service first.
    pub fn restore(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let p: Persistent = postcard::from_bytes(bytes).expect("raft: persisted state does not decode");
        self.term = p.term;
        self.voted_for = p.voted_for;
        self.log = Log::from_data(p.log);
        let snapshot_index = self.log.snapshot_index();
        self.commit_index = snapshot_index;
        self.last_applied = snapshot_index;
        self.snapshot_pending = snapshot_index > 0;
        let (last, snapshot) = (Pos(self.log.last_index(), self.log.last_term()), snapshot_index);
        tracing::debug!(term = self.term, voted_for = ?self.voted_for, %last, snapshot, "restored persisted state");
        self.check_invariants();
    }

    fn majority(&self) -> usize {
        self.peers / 2 + 1
    }

    /// Moves to a newer term as a follower (a higher term seen in any message: `seen_in`, from
    /// peer `from`).
    fn observe_term(&mut self, term: u64, seen_in: &'static str, from: usize) -> Effects {
        if term <= self.term {
            return Effects::default();
        }
        tracing::debug!(term, old_term = self.term, was = ?self.role, %seen_in, from, "higher term seen: now follower");
        self.term = term;
        self.voted_for = None;
        self.role = Role::Follower;
        Effects { persist: true, ..Effects::default() }
    }

    // ----- elections ----------------------------------------------------------------------

    /// The election timer fired: start an election and return the vote request to send.
    pub fn start_election(&mut self) -> (RequestVoteArgs, Effects) {
        assert_ne!(self.role, Role::Leader, "a leader's election timer fired");
        self.term += 1;
        self.role = Role::Candidate;
        self.voted_for = Some(self.me);
        self.votes = vec![false; self.peers];
        self.votes[self.me] = true;
        let args = RequestVoteArgs {
            term: self.term,
            candidate: self.me,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        let mut effects = Effects { persist: true, reset_election: true, ..Effects::default() };
        if self.peers == 1 {
            effects = effects.merge(self.become_leader());
        }
        (args, effects)
    }

    pub fn handle_request_vote(&mut self, args: &RequestVoteArgs) -> (RequestVoteReply, Effects) {
        let mut effects = self.observe_term(args.term, "RequestVote", args.candidate);
        let up_to_date = (args.last_log_term, args.last_log_index) >= (self.log.last_term(), self.log.last_index());
        let free = self.voted_for.is_none() || self.voted_for == Some(args.candidate);
        let granted = args.term == self.term && free && up_to_date;
        if granted {
            assert_ne!(self.role, Role::Leader, "a leader voting in its own term");
            if self.voted_for.is_none() {
                effects.persist = true;
            }
            self.voted_for = Some(args.candidate);
            effects.reset_election = true;
        }
        let (theirs, ours) =
            (Pos(args.last_log_index, args.last_log_term), Pos(self.log.last_index(), self.log.last_term()));
        let verdict = if granted { "granted" } else { "refused" };
        tracing::debug!(candidate = args.candidate, term = args.term, own_term = self.term, free, up_to_date, %theirs, %ours, "vote {verdict}");
        (RequestVoteReply { term: self.term, granted }, effects)
    }

    pub fn handle_vote_reply(&mut self, from: usize, asked_in_term: u64, reply: &RequestVoteReply) -> Effects {
        let effects = self.observe_term(reply.term, "RequestVote reply", from);
        if self.role != Role::Candidate || self.term != asked_in_term || !reply.granted {
            return effects;
        }
        self.votes[from] = true;
        let votes = self.votes.iter().filter(|&&v| v).count();
        tracing::debug!(from, term = self.term, votes, majority = self.majority(), "vote received");
        if votes >= self.majority() {
            return effects.merge(self.become_leader());
        }
        effects
    }

    fn become_leader(&mut self) -> Effects {
        assert_eq!(self.role, Role::Candidate);
        self.role = Role::Leader;
        let last = self.log.last_index();
        self.progress.iter_mut().for_each(|p| p.reset(last));
        self.progress[self.me].acknowledge(last);
        Effects { replicate: true, ..Effects::default() }
    }

    // ----- replication: leader side -------------------------------------------------------

    /// Appends a command if leader: (index, term).
    pub fn start(&mut self, command: Vec<u8>) -> Option<((u64, u64), Effects)> {
        if self.role != Role::Leader {
            return None;
        }
        let index = self.log.append(Entry { term: self.term, command });
        self.progress[self.me].acknowledge(index);
        // Saved before it is sent, not now. Counting the leader's unsaved entries in its own
        // matchIndex is still safe: no follower acknowledges an entry the leader has not
        // saved, and a majority needs at least one follower...
        let mut effects = Effects { persist_before_send: true, replicate: true, ..Effects::default() };
        if self.peers == 1 {
            // ...except alone, where the leader's own copy is the majority.
            effects = Effects { persist: true, ..effects.merge(self.advance_commit()) };
        }
        Some(((index, self.term), effects))
    }

    /// What to send `peer` now, if leader.
    pub fn outgoing(&self, peer: usize) -> Option<Outgoing> {
        if self.role != Role::Leader || peer == self.me {
            return None;
        }
        let next = self.progress[peer].next();
        if next <= self.log.snapshot_index() {
            let last_included = Pos(self.log.snapshot_index(), self.log.snapshot_term());
            tracing::debug!(to = peer, next, %last_included, "InstallSnapshot sent: follower needs compacted entries");
            return Some(Outgoing::Snapshot {
                term: self.term,
                last_included_index: self.log.snapshot_index(),
                last_included_term: self.log.snapshot_term(),
            });
        }
        let prev = next - 1;
        let prev_term = self.log.term(prev).expect("next_index beyond the log");
        let args = AppendEntriesArgs {
            term: self.term,
            leader: self.me,
            prev_log_index: prev,
            prev_log_term: prev_term,
            entries: self.log.batch_from(next, MAX_APPEND_ENTRIES, MAX_APPEND_BYTES),
            leader_commit: self.commit_index,
        };
        let (prev, commit) = (Pos(prev, prev_term), self.commit_index);
        if args.entries.is_empty() {
            tracing::trace!(to = peer, %prev, commit, "heartbeat sent");
        } else {
            let entries = Entries(next, args.entries.len());
            tracing::debug!(to = peer, %prev, %entries, commit, "AppendEntries sent");
        }
        Some(Outgoing::Append(args))
    }

    pub fn handle_append_reply(
        &mut self,
        peer: usize,
        sent: &AppendEntriesArgs,
        reply: &AppendEntriesReply,
    ) -> Effects {
        let effects = self.observe_term(reply.term, "AppendEntries reply", peer);
        if self.role != Role::Leader || self.term != sent.term {
            return effects;
        }
        if reply.success {
            let matched = sent.prev_log_index + sent.entries.len() as u64;
            if !sent.entries.is_empty() {
                tracing::debug!(from = peer, matched, "AppendEntries reply: accepted");
            }
            self.progress[peer].acknowledge(matched);
            let more = self.progress[peer].next() <= self.log.last_index();
            let mut e = effects.merge(self.advance_commit());
            e.replicate |= more;
            return e;
        }
        if reply.term > sent.term {
            return effects;
        }
        // Fast backup: skip the follower's whole conflicting term, or to its log's end.
        let next = match reply.conflict_term {
            Some(term) => match self.log.last_index_of_term(term) {
                Some(last) => last + 1,
                None => reply.conflict_index,
            },
            None => reply.conflict_index,
        };
        let prev = Pos(sent.prev_log_index, sent.prev_log_term);
        let (conflict_term, conflict_index) = (reply.conflict_term, reply.conflict_index);
        tracing::debug!(from = peer, %prev, ?conflict_term, conflict_index, next, "AppendEntries reply: rejected, backing up");
        self.progress[peer].back_off(next, self.log.last_index());
        Effects { replicate: true, ..effects }
    }

    pub fn handle_install_reply(
        &mut self,
        peer: usize,
        term_sent: u64,
        last_included_index: u64,
        reply: &InstallSnapshotReply,
    ) -> Effects {
        let effects = self.observe_term(reply.term, "InstallSnapshot reply", peer);
        if self.role != Role::Leader || self.term != term_sent {
            return effects;
        }
        tracing::debug!(from = peer, matched = last_included_index, "InstallSnapshot reply: acknowledged");
        self.progress[peer].acknowledge(last_included_index);
        let more = self.progress[peer].next() <= self.log.last_index();
        Effects { replicate: more, ..effects.merge(self.advance_commit()) }
    }

    /// Commits the highest index of the current term stored on a majority (Figure 8: entries of
    /// earlier terms are committed only indirectly).
    fn advance_commit(&mut self) -> Effects {
        let mut index = self.log.last_index();
        while index > self.commit_index {
            if self.log.term(index) == Some(self.term) {
                let replicas = self.progress.iter().filter(|p| p.matched() >= index).count();
                if replicas >= self.majority() {
                    tracing::debug!(commit = index, replicas, term = self.term, "commit: stored on a majority");
                    self.set_commit(index);
                    // No round of its own: followers learn the new commit index from the next
                    // AppendEntries, with new entries or the heartbeat (Figure 2, section 5.3).
                    return Effects { apply: true, ..Effects::default() };
                }
            } else if self.log.term(index).is_some_and(|t| t < self.term) {
                break;
            }
            index -= 1;
        }
        Effects::default()
    }

    fn set_commit(&mut self, index: u64) {
        assert!(index >= self.commit_index, "commit index decreasing from {} to {index}", self.commit_index);
        assert!(index <= self.log.last_index(), "commit {index} beyond the log ({})", self.log.last_index());
        self.commit_index = index;
    }

    // ----- replication: follower side -----------------------------------------------------

    pub fn handle_append_entries(&mut self, args: &AppendEntriesArgs) -> (AppendEntriesReply, Effects) {
        let mut effects = self.observe_term(args.term, "AppendEntries", args.leader);
        let reject = |term, conflict_term, conflict_index| AppendEntriesReply {
            term,
            success: false,
            conflict_term,
            conflict_index,
        };
        let (leader, prev) = (args.leader, Pos(args.prev_log_index, args.prev_log_term));
        if args.term < self.term {
            tracing::debug!(leader, term = args.term, own_term = self.term, "AppendEntries refused: stale term");
            return (reject(self.term, None, 0), effects);
        }
        assert!(self.role != Role::Leader, "two leaders in term {}: {} and {}", self.term, self.me, args.leader);
        self.role = Role::Follower;
        effects.reset_election = true;

        // Entries the snapshot already covers are committed, hence identical: skip them.
        let snapshot_index = self.log.snapshot_index();
        if args.prev_log_index >= snapshot_index {
            if args.prev_log_index > self.log.last_index() {
                let last_index = self.log.last_index();
                tracing::debug!(leader, %prev, last_index, conflict_index = last_index + 1, "AppendEntries refused: log too short");
                return (reject(self.term, None, self.log.last_index() + 1), effects);
            }
            let have = self.log.term(args.prev_log_index).expect("prev within the log");
            if have != args.prev_log_term {
                let first = self.log.first_index_of_term(have, args.prev_log_index);
                tracing::debug!(leader, %prev, conflict_term = have, conflict_index = first, "AppendEntries refused: prev term differs");
                return (reject(self.term, Some(have), first), effects);
            }
        }

        // Skip the entries we already have; at the first that differs (or is missing), drop
        // ours from there and take the rest of the leader's.
        let mut appending = false;
        for (k, (entry, encoded)) in args.entries.iter().enumerate() {
            let index = args.prev_log_index + 1 + k as u64;
            if index <= snapshot_index {
                debug_assert!(index < snapshot_index || entry.term == self.log.snapshot_term());
                continue;
            }
            if !appending {
                match self.log.term(index) {
                    Some(term) if term == entry.term => continue,
                    Some(_) => {
                        assert!(
                            index > self.commit_index,
                            "overwriting committed entry {index} (commit {})",
                            self.commit_index
                        );
                        tracing::debug!(leader, from = index, "log truncated: conflicts with the leader's");
                        self.log.truncate_from(index);
                    }
                    None => {}
                }
                appending = true;
                effects.persist = true;
            }
            self.log.append_encoded(entry, encoded);
        }
        let last_new = args.prev_log_index + args.entries.len() as u64;
        if !args.entries.is_empty() {
            let entries = Entries(args.prev_log_index + 1, args.entries.len());
            tracing::debug!(leader, %prev, %entries, appended = appending, "AppendEntries accepted");
        }
        if args.leader_commit > self.commit_index {
            let commit = args.leader_commit.min(last_new);
            if commit > self.commit_index {
                tracing::debug!(commit, leader_commit = args.leader_commit, last_new, "commit: the leader's");
                self.set_commit(commit);
                effects.apply = true;
            }
        }
        self.check_invariants();
        (AppendEntriesReply { term: self.term, success: true, conflict_term: None, conflict_index: 0 }, effects)
    }

    /// Returns whether the snapshot was taken (the caller then persists state and snapshot).
    pub fn handle_install_snapshot(&mut self, args: &InstallSnapshotArgs) -> (InstallSnapshotReply, Effects, bool) {
        let mut effects = self.observe_term(args.term, "InstallSnapshot", args.leader);
        let (leader, last_included) = (args.leader, Pos(args.last_included_index, args.last_included_term));
        if args.term < self.term {
            tracing::debug!(leader, term = args.term, own_term = self.term, "InstallSnapshot refused: stale term");
            return (InstallSnapshotReply { term: self.term }, effects, false);
        }
        assert!(self.role != Role::Leader, "two leaders in term {}", self.term);
        self.role = Role::Follower;
        effects.reset_election = true;
        if args.last_included_index <= self.commit_index {
            // Already have (and will apply or did apply) all of it.
            tracing::debug!(leader, %last_included, commit = self.commit_index, "InstallSnapshot refused: stale");
            return (InstallSnapshotReply { term: self.term }, effects, false);
        }
        self.log.compact(args.last_included_index, args.last_included_term);
        self.commit_index = args.last_included_index;
        self.snapshot_pending = true;
        effects.apply = true;
        tracing::debug!(leader, %last_included, "InstallSnapshot installed");
        self.check_invariants();
        (InstallSnapshotReply { term: self.term }, effects, true)
    }

    // ----- the service side ---------------------------------------------------------------

    /// The service snapshotted through `index`: drop the log up to it. Returns whether it did.
    pub fn compact(&mut self, index: u64) -> bool {
        if index <= self.log.snapshot_index() {
            tracing::debug!(index, snapshot = self.log.snapshot_index(), "snapshot refused: not newer");
            return false;
        }
        assert!(index <= self.commit_index, "snapshot at {index} beyond commit {}", self.commit_index);
        let term = self.log.term(index).expect("snapshot index within the log");
        tracing::debug!(through = %Pos(index, term), "snapshot taken: log compacted");
        self.log.compact(index, term);
        self.check_invariants();
        true
    }

    /// Whether anything committed waits to be handed to the service (or a snapshot does).
    pub fn has_to_apply(&self) -> bool {
        self.snapshot_pending || self.last_applied < self.commit_index
    }

    /// What the service gets next, now counted as applied (Figure 2: "if commitIndex >
    /// lastApplied: increment lastApplied, apply log[lastApplied]"): a snapshot waiting in the
    /// persister first, else every committed entry not applied yet; None when nothing waits.
    /// The entries go into `batch`, an empty vector (not Figure 2: the applier hands back its
    /// last one, so a batch costs no allocation of its own).
    pub fn take_to_apply(&mut self, mut batch: Vec<ApplyMsg>) -> Option<ToApply> {
        debug_assert!(batch.is_empty(), "a batch to fill holds {} messages", batch.len());
        if self.snapshot_pending {
            self.snapshot_pending = false;
            self.last_applied = self.log.snapshot_index();
            tracing::debug!(through = %Pos(self.log.snapshot_index(), self.log.snapshot_term()), "apply: snapshot");
            return Some(ToApply::Snapshot { index: self.log.snapshot_index(), term: self.log.snapshot_term() });
        }
        if self.last_applied >= self.commit_index {
            return None;
        }
        let (from, to) = (self.last_applied + 1, self.commit_index);
        tracing::debug!(entries = %Entries(from, (to - from + 1) as usize), "apply");
        let commands = (from..=to).map(|index| {
            let entry = self.log.entry(index).expect("committed entry missing from the log");
            ApplyMsg::Command { index, term: entry.term, command: entry.command.to_vec() }
        });
        batch.extend(commands);
        self.last_applied = to;
        Some(ToApply::Commands(batch))
    }

    // ----- not Figure 2: what the driver keeps here for its own use -----------------------

    /// The messages in flight to `peer` (the driver's flow control, kept with its progress).
    pub fn in_flight(&mut self, peer: usize) -> &mut InFlight {
        &mut self.progress[peer].in_flight
    }

    /// Turns `state` into the persistent state (term, vote, log), editing only what changed
    /// when `state` holds what the last call left in it (see `persist.rs`).
    pub fn persist_into(&mut self, state: &mut Vec<u8>) {
        let header = Header::new(self.term, self.voted_for, &self.log);
        self.saved.rewrite(state, &header, &mut self.log);
    }

    pub fn check_invariants(&self) {
        assert!(self.last_applied <= self.commit_index || self.snapshot_pending);
        assert!(self.commit_index <= self.log.last_index());
        assert!(self.log.snapshot_index() <= self.commit_index);
        if self.role == Role::Leader {
            assert_eq!(self.voted_for, Some(self.me));
            assert_eq!(self.progress[self.me].matched(), self.log.last_index());
        }
    }
}

// ----- not Figure 2: batching --------------------------------------------------------------

/// An AppendEntries carries at most this many entries...
pub const MAX_APPEND_ENTRIES: usize = 512;
/// ...and at most this many encoded entry bytes (but always one entry), so catching up a far
/// follower takes a few bounded round trips instead of one huge message per heartbeat.
pub const MAX_APPEND_BYTES: usize = 256 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn leader_of(peers: usize) -> Core {
        let mut c = Core::new(0, peers);
        let (_, _) = c.start_election();
        for p in 1..peers {
            let _ = c.handle_vote_reply(p, 1, &RequestVoteReply { term: 1, granted: true });
        }
        assert_eq!(c.role, Role::Leader);
        c
    }

    #[test]
    fn commits_only_current_term_entries_by_counting_replicas() {
        let mut c = leader_of(3);
        let ((index, term), _) = c.start(vec![1]).unwrap();
        assert_eq!((index, term), (1, 1));
        let Some(Outgoing::Append(args)) = c.outgoing(1) else { panic!() };
        let ok = AppendEntriesReply { term: 1, success: true, conflict_term: None, conflict_index: 0 };
        let e = c.handle_append_reply(1, &args, &ok);
        assert!(e.apply);
        assert_eq!(c.commit_index, 1);
        // Figure 8: a new leader in term 3 with an uncommitted term-1 entry does not commit it by
        // counting replicas; only once a term-3 entry is replicated.
        let mut f = Core::new(0, 3);
        f.log.append(Entry { term: 1, command: vec![] });
        f.term = 2;
        let _ = f.start_election();
        let _ = f.handle_vote_reply(1, 3, &RequestVoteReply { term: 3, granted: true });
        let Some(Outgoing::Append(args)) = f.outgoing(1) else { panic!() };
        let _ = f.handle_append_reply(
            1,
            &args,
            &AppendEntriesReply { term: 3, success: true, conflict_term: None, conflict_index: 0 },
        );
        assert_eq!(f.commit_index, 0, "old-term entry committed by counting");
        let _ = f.start(vec![2]).unwrap();
        let Some(Outgoing::Append(args)) = f.outgoing(1) else { panic!() };
        let _ = f.handle_append_reply(
            1,
            &args,
            &AppendEntriesReply { term: 3, success: true, conflict_term: None, conflict_index: 0 },
        );
        assert_eq!(f.commit_index, 2);
    }

    #[test]
    fn fast_backup_skips_a_whole_conflicting_term() {
        // Follower has 100 entries of term 2 the leader never had; leader's log is term 1 then 3.
        let mut follower = Core::new(1, 3);
        follower.log.append(Entry { term: 1, command: vec![] });
        for _ in 0..100 {
            follower.log.append(Entry { term: 2, command: vec![] });
        }
        follower.term = 2;
        let mut leader = Core::new(0, 3);
        leader.log.append(Entry { term: 1, command: vec![] });
        leader.term = 2;
        let _ = leader.start_election();
        let _ = leader.handle_vote_reply(2, 3, &RequestVoteReply { term: 3, granted: true });
        for _ in 0..5 {
            let _ = leader.start(vec![9]);
        }
        let mut round_trips = 0;
        loop {
            round_trips += 1;
            assert!(round_trips <= 4, "backup needed more than a few round trips");
            let Some(Outgoing::Append(args)) = leader.outgoing(1) else { panic!() };
            let (reply, _) = follower.handle_append_entries(&args);
            let _ = leader.handle_append_reply(1, &args, &reply);
            if reply.success {
                break;
            }
        }
        assert_eq!(follower.log.last_index(), 6);
        assert_eq!(follower.log.term(2), Some(3));
    }

    #[test]
    fn persisted_state_restores_term_vote_and_log() {
        let mut c = leader_of(3);
        for k in 0..700u32 {
            let _ = c.start(k.to_le_bytes().to_vec());
        }
        let mut state = Vec::new();
        c.persist_into(&mut state);
        let mut back = Core::new(0, 3);
        back.restore(&state);
        assert_eq!((back.term, back.voted_for), (c.term, c.voted_for));
        assert_eq!(back.log, c.log);
        // A long log goes out in capped pieces.
        let Some(Outgoing::Append(args)) = c.outgoing(1) else { panic!() };
        assert_eq!(args.entries.len(), MAX_APPEND_ENTRIES);
    }

    #[test]
    fn votes_need_an_up_to_date_log_and_one_vote_per_term() {
        let mut c = Core::new(1, 3);
        c.log.append(Entry { term: 2, command: vec![] });
        c.term = 2;
        let stale = RequestVoteArgs { term: 3, candidate: 0, last_log_index: 5, last_log_term: 1 };
        assert!(!c.handle_request_vote(&stale).0.granted);
        let good = RequestVoteArgs { term: 3, candidate: 2, last_log_index: 1, last_log_term: 2 };
        let (reply, effects) = c.handle_request_vote(&good);
        assert!(reply.granted && effects.persist);
        let other = RequestVoteArgs { term: 3, candidate: 0, last_log_index: 9, last_log_term: 3 };
        assert!(!c.handle_request_vote(&other).0.granted, "two votes in one term");
    }

    #[test]
    fn committed_entries_are_handed_out_once_in_order_and_an_installed_snapshot_first() {
        let (mut leader, mut follower) = (leader_of(3), Core::new(1, 3));
        for k in 0..3u8 {
            let _ = leader.start(vec![k]);
        }
        assert!(!leader.has_to_apply(), "nothing is committed yet");
        let Some(Outgoing::Append(args)) = leader.outgoing(1) else { panic!() };
        let (reply, _) = follower.handle_append_entries(&args);
        assert!(leader.handle_append_reply(1, &args, &reply).apply);
        let Some(ToApply::Commands(commands)) = leader.take_to_apply(Vec::new()) else { panic!() };
        let got: Vec<(u64, u64, Vec<u8>)> = commands
            .into_iter()
            .map(|m| match m {
                ApplyMsg::Command { index, term, command } => (index, term, command),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got, vec![(1, 1, vec![0]), (2, 1, vec![1]), (3, 1, vec![2])]);
        assert!(!leader.has_to_apply() && leader.take_to_apply(Vec::new()).is_none(), "an entry handed out twice");
        // The follower learns the commit from the next append, then installs a snapshot beyond
        // it: the snapshot goes first, and the entries it covers are never handed out.
        let Some(Outgoing::Append(args)) = leader.outgoing(1) else { panic!() };
        let _ = follower.handle_append_entries(&args);
        assert!(follower.has_to_apply());
        let install =
            InstallSnapshotArgs { term: 1, leader: 0, last_included_index: 5, last_included_term: 1, data: vec![] };
        let (_, effects, installed) = follower.handle_install_snapshot(&install);
        assert!(installed && effects.apply);
        assert!(matches!(follower.take_to_apply(Vec::new()), Some(ToApply::Snapshot { index: 5, term: 1 })));
        assert!(follower.take_to_apply(Vec::new()).is_none());
    }

    #[test]
    fn stale_and_reordered_appends_never_truncate_matching_entries() {
        let mut leader = leader_of(3);
        let mut follower = Core::new(1, 3);
        let _ = leader.start(vec![1]);
        let Some(Outgoing::Append(old)) = leader.outgoing(1) else { panic!() };
        let _ = leader.start(vec![2]);
        let Some(Outgoing::Append(new)) = leader.outgoing(1) else { panic!() };
        let (r, _) = follower.handle_append_entries(&new);
        assert!(r.success);
        let (r, _) = follower.handle_append_entries(&old);
        assert!(r.success);
        assert_eq!(follower.log.last_index(), 2, "a late, shorter append truncated the log");
    }
}
