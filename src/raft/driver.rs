//! The driver: runs the protocol core (`core.rs`) with threads, timers, RPC and the persister.
//! Figure 2's rules say what to do; this file says when: an election ticker, one replicator
//! thread per follower, and an applier that delivers committed entries in order, outside the
//! lock. Crashes are the simulator's crash-stop: no `killed()` flag anywhere.
//!
//! A replicator sends a heartbeat every 100 ms, and sends at once when there is something new,
//! unless `MAX_IN_FLIGHT` of its messages are unanswered: then the new entries wait for a reply
//! (or a failed call, or the next heartbeat), so a burst of `start`s becomes a few messages, not
//! one each, and a lagging follower's backlog is not copied into every message. Each RPC runs in
//! a thread of its own, so a slow reply never stalls the next heartbeat.
//!
//! Term, vote and log are persisted before any reply or vote that depends on them; a leader's
//! new entries are persisted before the first message that carries them.

use std::sync::Arc;
use std::time::Duration;

use labrpc::channel::Sender;
use labrpc::net::{ClientEnd, Service};
use labrpc::persister::Persister;
use labrpc::sync::{Condvar, Mutex, MutexGuard};
use labrpc::time::{self, Instant};
use labrpc::{rand, thread};

use super::core::{Core, Effects, Outgoing, ToApply};
use super::messages::*;
use super::trace::Pos;

/// Trace events name the Raft module, whichever of its files sends them (`RUST_LOG=raftkv::raft=debug`).
const TRACE: &str = "raftkv::raft";

/// Leaders send at most 10 heartbeats a second to each follower.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(100);
/// Election timeouts are drawn uniformly from this range, in ms.
pub const ELECTION_TIMEOUT_MS: std::ops::Range<u64> = 300..600;

use super::ApplyMsg;

/// An RPC ready to send to one follower.
enum Message {
    Append(AppendEntriesArgs),
    Snapshot(InstallSnapshotArgs),
}

struct State {
    core: Core,
    election_deadline: Instant,
    /// When each follower last got a message from us (heartbeat pacing).
    last_sent: Vec<Option<Instant>>,
    /// Followers with something to send now.
    dirty: Vec<bool>,
    /// The leader's log has entries the persister does not have yet.
    log_unsaved: bool,
}

struct Inner {
    me: usize,
    peers: Vec<ClientEnd>,
    persister: Persister,
    state: Mutex<State>,
    /// Wakes replicators (something to send) and the ticker.
    replicate_cv: Condvar,
    apply_cv: Condvar,
    /// "send->{peer}" per peer, made once and shared by every such thread: a leader names a
    /// thread per message it sends.
    send_names: Vec<Arc<str>>,
}

/// One Raft peer. Cheap to clone; clones share the peer.
#[derive(Clone)]
pub struct Raft {
    inner: Arc<Inner>,
}

fn election_deadline() -> Instant {
    time::now() + Duration::from_millis(rand::range(ELECTION_TIMEOUT_MS))
}

impl Raft {
    /// Starts a peer on the calling thread's node: `peers[i]` reaches peer i (`peers[me]` is
    /// unused), `persister` holds what an earlier incarnation saved, committed entries go to
    /// `apply_tx`. Spawns the peer's background threads and returns at once.
    pub fn make(peers: Vec<ClientEnd>, me: usize, persister: Persister, apply_tx: Sender<ApplyMsg>) -> Raft {
        let n = peers.len();
        let mut core = Core::new(me, n);
        core.restore(&persister.read_raft_state());
        let state = State {
            core,
            election_deadline: election_deadline(),
            last_sent: vec![None; n],
            dirty: vec![false; n],
            log_unsaved: false,
        };
        let inner = Arc::new(Inner {
            me,
            peers,
            persister,
            state: Mutex::new(state),
            replicate_cv: Condvar::new(),
            apply_cv: Condvar::new(),
            send_names: (0..n).map(|peer| Arc::from(format!("send->{peer}"))).collect(),
        });
        // The peer's threads (these loops, and the vote and send threads below) are never
        // joined: they end when the node is killed. `spawn_detached` is an optimisation over
        // `spawn`, which would also build a join cell for nobody.
        let ticker = inner.clone();
        thread::Builder::new().name("ticker").spawn_detached(
            #[inline(always)]
            move || ticker.ticker(),
        );
        for peer in (0..n).filter(|&p| p != me) {
            let replicator = inner.clone();
            thread::Builder::new().name(format!("replicate->{peer}")).spawn_detached(
                #[inline(always)]
                move || replicator.replicator(peer),
            );
        }
        let applier = inner.clone();
        thread::Builder::new().name("applier").spawn_detached(
            #[inline(always)]
            move || applier.applier(&apply_tx),
        );
        Raft { inner }
    }

    /// Proposes `command`. Returns (index, term) it will have if committed, or None when this peer
    /// does not believe it is the leader. Returns at once.
    pub fn start(&self, command: Vec<u8>) -> Option<(u64, u64)> {
        let mut st = self.inner.state.lock();
        let (at, effects) = st.core.start(command)?;
        tracing::debug!(target: TRACE, index = at.0, term = at.1, "start");
        self.inner.apply_effects(&mut st, effects);
        Some(at)
    }

    /// (current term, whether this peer believes it is the leader).
    pub fn state(&self) -> (u64, bool) {
        let st = self.inner.state.lock();
        (st.core.term(), st.core.is_leader())
    }

    /// The service has a snapshot of its state through log `index`: the log up to it is
    /// discarded, and snapshot and state are persisted together.
    pub fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        let mut st = self.inner.state.lock();
        if st.core.compact(index) {
            self.inner.save_state(&mut st, Some(snapshot));
        }
    }

    /// The RPC service ("Raft.RequestVote", "Raft.AppendEntries", "Raft.InstallSnapshot") to add
    /// to this peer's server.
    pub fn service(&self) -> Service {
        let (a, b, c) = (self.inner.clone(), self.inner.clone(), self.inner.clone());
        Service::new("Raft")
            .method("RequestVote", move |args: RequestVoteArgs| a.request_vote(args))
            .method("AppendEntries", move |args: AppendEntriesArgs| b.append_entries(args))
            .method("InstallSnapshot", move |args: InstallSnapshotArgs| c.install_snapshot(args))
    }

    /// Bytes of persisted Raft state (term, vote, log).
    pub fn persisted_size(&self) -> usize {
        self.inner.persister.raft_state_size()
    }
}

impl Inner {
    /// Carries out a step's effects while still holding the lock: persisting happens before the
    /// caller replies or sends anything.
    fn apply_effects(&self, st: &mut MutexGuard<'_, State>, effects: Effects) {
        if effects.persist {
            self.save_state(st, None);
        } else if effects.persist_before_send {
            st.log_unsaved = true;
        }
        if effects.reset_election {
            st.election_deadline = election_deadline();
        }
        if effects.replicate {
            st.dirty.iter_mut().for_each(|d| *d = true);
            self.replicate_cv.notify_all();
        }
        if effects.apply {
            self.apply_cv.notify_all();
        }
        st.core.check_invariants();
    }

    /// Saves term, vote and log (so also any entries the leader had not saved yet), and with
    /// them `snapshot` when there is a new one. Without one, the saved state is edited in place
    /// (`persist`: the cost of what changed); with one, both are replaced together.
    fn save_state(&self, st: &mut State, snapshot: Option<Vec<u8>>) {
        match snapshot {
            Some(snapshot) => {
                let mut state = Vec::new();
                st.core.persist_into(&mut state);
                self.persister.save(state, snapshot);
            }
            None => self.persister.update_raft_state(|state| st.core.persist_into(state)),
        }
        st.log_unsaved = false;
    }

    // ----- RPC handlers -------------------------------------------------------------------

    fn request_vote(&self, args: RequestVoteArgs) -> RequestVoteReply {
        let mut st = self.state.lock();
        let (reply, effects) = st.core.handle_request_vote(&args);
        self.apply_effects(&mut st, effects);
        reply
    }

    fn append_entries(&self, args: AppendEntriesArgs) -> AppendEntriesReply {
        let mut st = self.state.lock();
        let (reply, effects) = st.core.handle_append_entries(&args);
        self.apply_effects(&mut st, effects);
        reply
    }

    fn install_snapshot(&self, args: InstallSnapshotArgs) -> InstallSnapshotReply {
        let mut st = self.state.lock();
        let (reply, effects, installed) = st.core.handle_install_snapshot(&args);
        if installed {
            self.save_state(&mut st, Some(args.data));
        }
        self.apply_effects(&mut st, effects);
        reply
    }

    // ----- threads ------------------------------------------------------------------------
    //
    // Each thread's closure and body are inlined into the frame where the simulator catches the
    // unwind of a killed thread (`#[inline(always)]` on both): what the thread owns (the `Arc`,
    // its message, a mutex guard held across a condvar wait) then drops on the way to that
    // catch, and a kill unwinds through no frame of its own. A frame of the body's own cost each
    // kill two more frame evaluations, and one holding something to drop a stop and a restart.

    /// Starts elections when the deadline passes without hearing from a leader or granting a vote.
    #[inline(always)]
    fn ticker(self: &Arc<Self>) {
        loop {
            let wake_at = {
                let mut st = self.state.lock();
                if !st.core.is_leader() && time::now() >= st.election_deadline {
                    let (args, effects) = st.core.start_election();
                    let last = Pos(args.last_log_index, args.last_log_term);
                    tracing::info!(target: TRACE, term = args.term, %last, "election timeout: starting election");
                    self.apply_effects(&mut st, effects);
                    for peer in (0..self.peers.len()).filter(|&p| p != self.me) {
                        let (inner, args) = (self.clone(), args.clone());
                        thread::Builder::new().name(format!("vote->{peer}")).spawn_detached(
                            #[inline(always)]
                            move || inner.ask_vote(peer, args),
                        );
                    }
                }
                if st.core.is_leader() {
                    time::now() + HEARTBEAT_INTERVAL
                } else {
                    st.election_deadline
                }
            };
            time::sleep_until(wake_at);
        }
    }

    #[inline(always)]
    fn ask_vote(&self, peer: usize, args: RequestVoteArgs) {
        let Ok(reply) = self.peers[peer].call::<_, RequestVoteReply>("Raft.RequestVote", &args) else { return };
        let mut st = self.state.lock();
        let effects = st.core.handle_vote_reply(peer, args.term, &reply);
        if st.core.is_leader() && effects.replicate {
            tracing::info!(target: TRACE, term = st.core.term(), "won the election");
        }
        self.apply_effects(&mut st, effects);
    }

    /// Sends to `peer` when it is dirty and its last message was answered, and at least every
    /// heartbeat interval while leader.
    #[inline(always)]
    fn replicator(self: &Arc<Self>, peer: usize) {
        loop {
            let (seq, outgoing) = {
                let mut st = self.state.lock();
                let sent_at = loop {
                    if st.core.is_leader() {
                        // Read once per wake-up: virtual time stands still until this thread blocks.
                        let now = time::now();
                        let since_sent = st.last_sent[peer].map(|t| now.saturating_duration_since(t));
                        let due = since_sent.is_none_or(|d| d >= HEARTBEAT_INTERVAL);
                        if due || (st.dirty[peer] && !st.core.in_flight(peer).is_full()) {
                            break now;
                        }
                        let wait = HEARTBEAT_INTERVAL - since_sent.unwrap_or(Duration::ZERO);
                        self.replicate_cv.wait_timeout(&mut st, wait);
                    } else {
                        st.dirty[peer] = false;
                        st.last_sent[peer] = None;
                        st.core.in_flight(peer).clear();
                        self.replicate_cv.wait(&mut st);
                    }
                };
                st.dirty[peer] = false;
                st.last_sent[peer] = Some(sent_at);
                let seq = st.core.in_flight(peer).send();
                if st.log_unsaved {
                    self.save_state(&mut st, None);
                }
                let outgoing = match st.core.outgoing(peer).expect("a leader has something to send") {
                    Outgoing::Append(args) => Message::Append(args),
                    // Read under the lock: a later snapshot by the service must not slip in
                    // under this index (the follower would apply entries twice).
                    Outgoing::Snapshot { term, last_included_index, last_included_term } => {
                        Message::Snapshot(InstallSnapshotArgs {
                            term,
                            leader: self.me,
                            last_included_index,
                            last_included_term,
                            data: self.persister.read_snapshot(),
                        })
                    }
                };
                (seq, outgoing)
            };
            let inner = self.clone();
            thread::Builder::new().name(self.send_names[peer].clone()).spawn_detached(
                #[inline(always)]
                move || inner.send(peer, seq, &outgoing),
            );
        }
    }

    /// Sends message number `seq` to `peer` and handles the reply. A call that fails (the message
    /// or its reply is known lost) also ends the wait, so pending entries go out at once.
    #[inline(always)]
    fn send(&self, peer: usize, seq: u64, message: &Message) {
        match message {
            Message::Append(args) => {
                let result = self.peers[peer].call::<_, AppendEntriesReply>("Raft.AppendEntries", args);
                let mut st = self.state.lock();
                self.answered(&mut st, peer, seq);
                let Ok(reply) = result else { return };
                let effects = st.core.handle_append_reply(peer, args, &reply);
                self.apply_effects_for(&mut st, peer, effects);
            }
            Message::Snapshot(args) => {
                let (term, last_included_index) = (args.term, args.last_included_index);
                let result = self.peers[peer].call::<_, InstallSnapshotReply>("Raft.InstallSnapshot", args);
                let mut st = self.state.lock();
                self.answered(&mut st, peer, seq);
                let Ok(reply) = result else { return };
                let effects = st.core.handle_install_reply(peer, term, last_included_index, &reply);
                self.apply_effects_for(&mut st, peer, effects);
            }
        }
    }

    /// Message `seq` was answered or lost: it no longer takes a place in the window.
    fn answered(&self, st: &mut MutexGuard<'_, State>, peer: usize, seq: u64) {
        if st.core.in_flight(peer).answered(seq) && st.dirty[peer] {
            self.replicate_cv.notify_all();
        }
    }

    /// Like `apply_effects` for the effects of `peer`'s reply, whose `replicate` is that
    /// follower's own catch-up (a commit sends nothing; see `Effects::replicate`): only its
    /// replicator is made dirty.
    fn apply_effects_for(&self, st: &mut MutexGuard<'_, State>, peer: usize, effects: Effects) {
        if effects.replicate {
            st.dirty[peer] = true;
            self.replicate_cv.notify_all();
        }
        self.apply_effects(st, Effects { replicate: false, ..effects });
    }

    /// Delivers committed entries (and installed snapshots) in order, never holding the lock
    /// while sending, so a service may call back into Raft from its apply loop.
    #[inline(always)]
    fn applier(&self, apply_tx: &Sender<ApplyMsg>) {
        // One vector for every batch, emptied as it is sent (a batch is usually an entry or two).
        let mut batch = Vec::new();
        loop {
            batch = {
                let mut st = self.state.lock();
                self.apply_cv.wait_while(&mut st, |s| !s.core.has_to_apply());
                match st.core.take_to_apply(batch).expect("the applier woke with nothing to apply") {
                    ToApply::Snapshot { index, term } => {
                        vec![ApplyMsg::Snapshot { index, term, snapshot: self.persister.read_snapshot() }]
                    }
                    ToApply::Commands(commands) => commands,
                }
            };
            for msg in batch.drain(..) {
                if apply_tx.send(msg).is_err() {
                    return; // the service is gone
                }
            }
        }
    }
}
