//! The appliers: one thread per peer incarnation (on the test's node) reads the peer's apply
//! channel and fails the run at the first sign of divergence: two peers applying different
//! commands at one index, a peer applying out of order, an entry that does not decode, or a
//! snapshot that disagrees with what was applied. The snapshot variant also plays the service:
//! it snapshots its state every `SNAPSHOT_INTERVAL` entries and restores from installed snapshots.
//! Each peer's service snapshots at its own points (`snapshot_due`), so a leader's snapshot can
//! lie between a follower's last snapshot and what that follower's service already applied: the
//! case where a Raft that installs a snapshot it already has committed rewinds its service.

use labrpc::channel::Receiver;
use labrpc::{thread, NodeId};
use raftkv::raft::ApplyMsg;
use serde::{Deserialize, Serialize};

use super::command::Command;
use super::config::{ApplierKind, Cluster};
use labapi::RaftPeer;

/// The snapshot applier snapshots every this many entries (the Go config's `SnapShotInterval`).
pub const SNAPSHOT_INTERVAL: u64 = 10;

/// Whether peer `i`'s service snapshots right after applying `index`: every `SNAPSHOT_INTERVAL`
/// entries, peer 0 at the Go config's points ((index + 1) a multiple of the interval) and each
/// further peer 3 indices earlier. In the Go lab every service snapshots at the same indices, so
/// a snapshot a leader sends never lies between a follower's own last snapshot and what its
/// service applied, and a follower that installs a snapshot of entries it already committed
/// (rewinding its service) goes unseen there.
pub(crate) fn snapshot_due(i: usize, index: u64) -> bool {
    let shift = (i as u64 * 3) % SNAPSHOT_INTERVAL;
    (index + 1 + shift).is_multiple_of(SNAPSHOT_INTERVAL)
}

/// What every peer has applied, over all its incarnations (Go's `cfg.logs`).
///
/// Every peer applies in order from index 1 (or from a snapshot, which stands for all of
/// 1..=its index), so what a peer has applied is always a prefix, and since applied commands
/// must agree across peers, one list of commands serves them all.
#[derive(Clone)]
pub(crate) struct Applied {
    /// `values[k - 1]`: the command applied at index k, and the first peer that applied it.
    values: Vec<(Command, usize)>,
    /// Peer i has applied indices 1..=applied_through[i].
    applied_through: Vec<u64>,
    /// The postcard encodings of the commands of `values`, back to back; `encoded_ends[k]` is
    /// where command k + 1's ends. A command is encoded once, when `values` gains it: snapshots
    /// (`encode_snapshot`; the services of 3D snapshot every 10 entries) are built from these,
    /// and the other peers' applies of an index are compared with them as bytes (`is_kept`).
    encoded: Vec<u8>,
    encoded_ends: Vec<usize>,
}

/// The snapshot applier's state as it hands it to Raft: every command through `last_index`.
#[derive(Serialize, Deserialize)]
struct ServiceState {
    last_index: u64,
    /// `commands[k]` was applied at index k + 1.
    commands: Vec<Command>,
}

impl Applied {
    pub(crate) fn new(n: usize) -> Applied {
        Applied { values: Vec::new(), applied_through: vec![0; n], encoded: Vec::new(), encoded_ends: Vec::new() }
    }

    /// The highest index any peer applied (for the `cmds` figure).
    pub(crate) fn max_index(&self) -> u64 {
        self.values.len() as u64
    }

    /// Peer `i` has applied (or restored from a snapshot) every index through this.
    pub(crate) fn applied_through(&self, i: usize) -> u64 {
        self.applied_through[i]
    }

    pub(crate) fn get(&self, i: usize, index: u64) -> Option<&Command> {
        if index == 0 || index > self.applied_through[i] {
            return None;
        }
        Some(&self.values[(index - 1) as usize].0)
    }

    /// Error text if any peer already applied a different command at `index` (Go's checkLogs).
    fn conflict(&self, i: usize, index: u64, command: &Command) -> Option<String> {
        match self.values.get((index - 1) as usize) {
            Some((old, j)) if old != command => {
                Some(format!("commit index={index} server={i} {command} != server={j} {old}"))
            }
            _ => None,
        }
    }

    /// Notes `command` at `index`, which `peer` applied; the caller checked it for conflicts.
    fn remember(&mut self, peer: usize, index: u64, command: Command) {
        assert!(index as usize <= self.values.len() + 1, "applied index {index} leaves a gap");
        if index as usize == self.values.len() + 1 {
            labrpc::net::encode_into(&command, &mut self.encoded).expect("a command encodes");
            self.encoded_ends.push(self.encoded.len());
            self.values.push((command, peer));
        }
    }

    /// Records that peer `i` applied `command` at `index`.
    pub(crate) fn record(&mut self, i: usize, index: u64, command: Command) -> Result<(), String> {
        assert!(index >= 1, "Raft indices start at 1");
        if let Some(e) = self.conflict(i, index, &command) {
            return Err(e);
        }
        self.check_prev(i, index)?;
        self.remember(i, index, command);
        self.applied_through[i] = self.applied_through[i].max(index);
        Ok(())
    }

    /// Go's `prevok`: the entry before `index` must have been applied (or restored from a
    /// snapshot) by peer `i`.
    fn check_prev(&self, i: usize, index: u64) -> Result<(), String> {
        if index > 1 && self.applied_through[i] < index - 1 {
            return Err(format!("server {i} apply out of order {index}: index {} was never applied", index - 1));
        }
        Ok(())
    }

    /// Whether `entry` is byte for byte the kept encoding of the command applied at `index`.
    /// Decoding depends on the bytes alone, so such an entry decodes to that very command:
    /// another peer's apply of it needs neither a decode nor a comparison (`record_kept`).
    pub(crate) fn is_kept(&self, index: u64, entry: &[u8]) -> bool {
        let Some(k) = (index as usize).checked_sub(1) else { return false };
        let Some(&end) = self.encoded_ends.get(k) else { return false };
        let start = k.checked_sub(1).map_or(0, |before| self.encoded_ends[before]);
        self.encoded[start..end] == *entry
    }

    /// [`Applied::record`] for an entry `is_kept` found at `index`: it agrees with what every
    /// peer applied there, so only the order is left to check.
    pub(crate) fn record_kept(&mut self, i: usize, index: u64) -> Result<(), String> {
        assert!(index >= 1 && index as usize <= self.values.len(), "index {index} is not kept");
        self.check_prev(i, index)?;
        self.applied_through[i] = self.applied_through[i].max(index);
        Ok(())
    }

    /// Peer `i`'s state through `index`, encoded as the snapshot the service hands to Raft: the
    /// bytes of `ServiceState { last_index: index, commands }` (postcard writes the index, the
    /// number of commands, then each command), with the commands' kept encodings.
    fn encode_snapshot(&self, i: usize, index: u64) -> Vec<u8> {
        if index > self.applied_through[i] {
            let missing = self.applied_through[i] + 1;
            panic!("apply error: server {i} snapshots through {index} but never applied index {missing}");
        }
        let count = index as usize;
        let body = &self.encoded[..count.checked_sub(1).map_or(0, |last| self.encoded_ends[last])];
        // Two varints of at most 10 bytes each, then the commands.
        let mut bytes = Vec::with_capacity(20 + body.len());
        labrpc::net::encode_into(&(index, count), &mut bytes).expect("u64s encode");
        bytes.extend_from_slice(body);
        bytes
    }

    /// Replaces peer `i`'s state with a snapshot (Go's ingestSnap) after checking it against what
    /// every peer applied; `expected_index` is the index Raft says it covers (None at a restart,
    /// where the persisted snapshot is read directly). Returns the snapshot's last index.
    pub(crate) fn ingest(&mut self, i: usize, bytes: &[u8], expected_index: Option<u64>) -> Result<u64, String> {
        if let Some((last_index, count)) = self.kept_snapshot(bytes) {
            // The snapshot is one this harness encoded: it decodes whole to commands every peer
            // agreed on and `values` holds already, so only its index is left to check.
            self.check_snapshot_index(i, last_index, count, expected_index)?;
            self.applied_through[i] = last_index;
            return Ok(last_index);
        }
        self.ingest_decoded(i, bytes, expected_index)
    }

    /// [`Applied::ingest`] for a snapshot that is not made of kept encodings: decoded and
    /// compared command by command.
    fn ingest_decoded(&mut self, i: usize, bytes: &[u8], expected_index: Option<u64>) -> Result<u64, String> {
        let state = match postcard::take_from_bytes::<ServiceState>(bytes) {
            Ok((state, [])) => state,
            Ok((_, rest)) => return Err(format!("server {i} snapshot has {} trailing bytes", rest.len())),
            Err(e) => return Err(format!("server {i} snapshot does not decode: {e} ({} bytes)", bytes.len())),
        };
        self.check_snapshot_index(i, state.last_index, state.commands.len(), expected_index)?;
        for (k, command) in (1u64..).zip(&state.commands) {
            if let Some(e) = self.conflict(i, k, command) {
                return Err(format!("snapshot disagrees with applied entries: {e}"));
            }
        }
        for (k, command) in (1u64..).zip(state.commands) {
            self.remember(i, k, command);
        }
        // The snapshot replaces the peer's state: it has applied exactly what the snapshot holds.
        self.applied_through[i] = state.last_index;
        Ok(state.last_index)
    }

    /// The snapshot's (index, number of commands) if its commands are, byte for byte, the kept
    /// encodings of the first commands applied (`encode_snapshot`'s): decoding it would give
    /// exactly those commands, with no bytes left over and no conflict with any peer. Every
    /// snapshot a correct Raft hands back is one its service took, so the appliers decode and
    /// compare only the others (181 snapshots of up to 340 commands in the Raft family).
    fn kept_snapshot(&self, bytes: &[u8]) -> Option<(u64, usize)> {
        let ((last_index, count), body) = labrpc::net::take::<(u64, u64)>(bytes).ok()?;
        let count = usize::try_from(count).ok()?;
        let end = match count.checked_sub(1) {
            None => 0,
            Some(last) => *self.encoded_ends.get(last)?,
        };
        (body == &self.encoded[..end]).then_some((last_index, count))
    }

    /// The checks of a snapshot's index: it holds as many commands as it claims and is the one
    /// Raft said it delivered (`expected_index`, None at a restart).
    fn check_snapshot_index(
        &self,
        i: usize,
        last_index: u64,
        commands: usize,
        expected_index: Option<u64>,
    ) -> Result<(), String> {
        if commands as u64 != last_index {
            return Err(format!("server {i} snapshot claims index {last_index} but holds {commands} commands"));
        }
        if let Some(expected) = expected_index {
            if expected != last_index {
                return Err(format!(
                    "server {i} snapshot doesn't match m.SnapshotIndex: message says {expected}, snapshot holds {last_index}"
                ));
            }
        }
        Ok(())
    }
}

/// Starts the applier of incarnation `incarnation` of peer `i`; `last_applied` is what the
/// service restored before Raft started (0 without a snapshot).
pub(crate) fn spawn<R: RaftPeer>(
    cluster: Cluster<R>,
    i: usize,
    incarnation: u64,
    apply_rx: Receiver<ApplyMsg>,
    last_applied: u64,
) {
    // Inlined where the simulator catches a killed thread's unwind (see `spawn_monitor`).
    thread::Builder::new().name(format!("applier-{i}")).node(NodeId::MAIN).spawn(
        #[inline(always)]
        move || {
            let mut last_applied = last_applied;
            // Ends when the channel disconnects (the crashed node's threads dropped the sender) or
            // when this incarnation is over.
            while let Ok(msg) = apply_rx.recv() {
                match cluster.apply_one(i, incarnation, last_applied, msg) {
                    Some(index) => last_applied = index,
                    None => return,
                }
            }
        },
    );
}

impl<R: RaftPeer> Cluster<R> {
    /// Handles one message of peer `i`'s incarnation `incarnation`; returns the new last applied
    /// index, or None when the incarnation has crashed. A crashed peer's service dies with it, so
    /// messages still queued are not applied (they would race with the next incarnation's restore).
    fn apply_one(&self, i: usize, incarnation: u64, last_applied: u64, msg: ApplyMsg) -> Option<u64> {
        let snapshots = self.shared.applier == ApplierKind::Snapshots;
        let mut st = self.shared.state.lock();
        while st.applies_held[i] {
            self.shared.applies_released.wait(&mut st);
        }
        let peer = &st.peers[i];
        if peer.incarnation != incarnation || peer.server.is_none() {
            return None;
        }
        match msg {
            ApplyMsg::Command { index, term, command } => {
                // An entry whose bytes are those kept for its index decodes to the command there
                // (see `is_kept`): most applies, every peer's but the first at each index.
                let decoded = (!st.applied.is_kept(index, &command)).then(|| {
                    Command::decode(&command).unwrap_or_else(|e| {
                        panic!("apply error: server {i} applied index {index} (term {term}) whose command does not decode: {e}")
                    })
                });
                if index != last_applied + 1 {
                    panic!(
                        "apply error: server {i} apply out of order, expected index {}, got {index}",
                        last_applied + 1
                    );
                }
                let recorded = match decoded {
                    Some(command) => st.applied.record(i, index, command),
                    None => st.applied.record_kept(i, index),
                };
                if let Err(e) = recorded {
                    panic!("apply error: {e}");
                }
                crate::timeline::event::applied(self.node(i), index, false);
                if snapshots && snapshot_due(i, index) {
                    let bytes = st.applied.encode_snapshot(i, index);
                    let raft = st.peers[i].server.clone().expect("checked above");
                    // Raft is called without the harness lock: Raft never waits for the harness,
                    // and the harness should not wait for Raft while holding it.
                    drop(st);
                    // The service is the peer's: its snapshot's trace lines name the peer's node.
                    labrpc::trace::as_node(self.node(i), || raft.snapshot(index, bytes));
                }
                Some(index)
            }
            ApplyMsg::Snapshot { index, term, snapshot } => {
                if !snapshots {
                    panic!(
                        "apply error: server {i} delivered a snapshot (index {index}, term {term}) but this service never takes snapshots"
                    );
                }
                // The service of this incarnation applied through `last_applied`: a snapshot
                // below that would rewind it (commands it already acted on would run again).
                if index < last_applied {
                    panic!(
                        "apply error: server {i} delivered a snapshot through index {index} (term {term}) but its service already applied through index {last_applied}: the snapshot would rewind it"
                    );
                }
                match st.applied.ingest(i, &snapshot, Some(index)) {
                    Ok(restored) => {
                        crate::timeline::event::applied(self.node(i), restored, true);
                        Some(restored)
                    }
                    Err(e) => panic!("apply error: {e}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use labrpc::sim::{self, Config};
    use raftkv::raft::ApplyMsg;

    use super::super::{ApplierKind, Cluster, Command, Reliability};
    use super::{Applied, ServiceState};

    /// Snapshots taken in any order, over commands of every encoded size (varints of one to ten
    /// bytes, payloads up to 300 bytes), are postcard's encoding of the whole state each time.
    #[test]
    fn snapshots_from_kept_encodings_are_postcards_bytes() {
        let mut applied = Applied::new(2);
        let mut commands = Vec::new();
        for k in 0..300u64 {
            let command = match k % 3 {
                0 => Command::Value(if k % 2 == 0 { k } else { u64::MAX >> (k % 64) }),
                1 => Command::Payload(vec![b'x'; k as usize]),
                _ => Command::Value(1 << (k % 64)),
            };
            applied.record(0, k + 1, command.clone()).unwrap();
            commands.push(command);
        }
        applied.record(1, 1, commands[0].clone()).unwrap();
        for index in [1u64, 0, 2, 130, 127, 128, 129, 300, 17, 299] {
            let state = ServiceState { last_index: index, commands: commands[..index as usize].to_vec() };
            let want = postcard::to_stdvec(&state).unwrap();
            assert_eq!(applied.encode_snapshot(0, index), want, "snapshot through {index}");
        }
        assert_eq!(
            applied.encode_snapshot(1, 1),
            postcard::to_stdvec(&ServiceState { last_index: 1, commands: commands[..1].to_vec() }).unwrap()
        );
    }

    /// A one-peer cluster that applied 1..=25, then a planted snapshot message through
    /// `snapshot_index` as if its Raft had installed it: returns the index the applier now
    /// stands at, or the run's failure.
    fn plant_snapshot(snapshot_index: u64) -> Result<u64, String> {
        let report = sim::run(7, &Config::default(), move || {
            let cfg = Cluster::<raftkv::raft::Raft>::new(1, Reliability::Reliable, ApplierKind::Snapshots);
            for x in 1..=25 {
                cfg.one(&Command::Value(x), 1, true);
            }
            let (incarnation, snapshot) = {
                let st = cfg.shared.state.lock();
                let incarnation = st.peers[0].incarnation;
                (incarnation, st.applied.encode_snapshot(0, snapshot_index))
            };
            let msg = ApplyMsg::Snapshot { index: snapshot_index, term: 1, snapshot };
            cfg.apply_one(0, incarnation, 25, msg)
        });
        match report {
            Ok(report) => Ok(report.value.expect("the incarnation is running")),
            Err(failure) => Err(failure.to_string()),
        }
    }

    #[test]
    fn a_snapshot_below_the_applied_index_fails_the_run() {
        let e = plant_snapshot(19).expect_err("a rewinding snapshot was accepted");
        assert!(
            e.contains("snapshot through index 19") && e.contains("already applied through index 25"),
            "unexpected failure: {e}"
        );
    }

    #[test]
    fn a_snapshot_at_the_applied_index_is_accepted() {
        assert_eq!(plant_snapshot(25), Ok(25));
    }

    /// Ingesting a snapshot answers the same whether its bytes are the kept encodings (checked
    /// by comparing bytes) or not (decoded and compared command by command): for good
    /// snapshots, wrong indices, other commands, trailing and missing bytes.
    #[test]
    fn kept_and_decoded_snapshots_are_judged_alike() {
        let commands: Vec<Command> = (0..40u64)
            .map(|k| {
                if k % 4 == 0 {
                    Command::Payload(vec![b'a' + (k % 26) as u8; k as usize])
                } else {
                    Command::Value(k << 20)
                }
            })
            .collect();
        // Every command is kept encoded once recorded; `ingest_decoded` is the path a snapshot
        // not made of kept encodings takes.
        let mut applied = Applied::new(2);
        for (k, command) in (1u64..).zip(&commands) {
            applied.record(0, k, command.clone()).unwrap();
            if k <= 5 {
                applied.record(1, k, command.clone()).unwrap();
            }
        }
        let encoded = |state: &ServiceState| postcard::to_stdvec(state).unwrap();
        let through = |index: u64| ServiceState { last_index: index, commands: commands[..index as usize].to_vec() };
        assert_eq!(applied.kept_snapshot(&encoded(&through(30))), Some((30, 30)), "compared as bytes");
        let mut other = through(12);
        other.commands[7] = Command::Value(7);
        let mut cases: Vec<(Vec<u8>, Option<u64>)> = Vec::new();
        for index in [0, 1, 12, 29, 30, 31, 40] {
            cases.push((encoded(&through(index)), Some(index)));
            cases.push((encoded(&through(index)), None));
            cases.push((encoded(&through(index)), Some(index + 1)));
            let mut wrong_count = through(index);
            wrong_count.last_index += 1;
            cases.push((encoded(&wrong_count), None));
            let mut trailing = encoded(&through(index));
            trailing.push(0);
            cases.push((trailing.clone(), Some(index)));
            trailing.truncate(trailing.len() - 2);
            cases.push((trailing, Some(index)));
        }
        cases.push((encoded(&other), Some(12)));
        cases.push((Vec::new(), None));
        for (bytes, expected) in cases {
            let (mut a, mut b) = (applied.clone(), applied.clone());
            let (got, want) = (a.ingest(1, &bytes, expected), b.ingest_decoded(1, &bytes, expected));
            assert_eq!(got, want, "{bytes:?} {expected:?}");
            assert_eq!((a.applied_through(1), a.max_index()), (b.applied_through(1), b.max_index()));
        }
    }

    /// Recording an entry found kept (`is_kept`, `record_kept`) answers what decoding and
    /// recording it answers, for every peer and index of a random mix of applies: commands equal
    /// or not to the one applied first, in and out of order, and entries whose bytes are not
    /// postcard's own (an overlong varint, trailing bytes) for the same command.
    #[test]
    fn kept_entries_are_recorded_as_decoded_ones_are() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |bound: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % bound
        };
        let (mut fast, mut slow) = (Applied::new(3), Applied::new(3));
        let mut kept_seen = 0;
        for _ in 0..4000 {
            let (i, index) = (next(3) as usize, 1 + next(60));
            let command = match next(3) {
                0 => Command::Value(next(4)),
                1 => Command::Value(1 << 40),
                _ => Command::Payload(vec![b'p'; next(3) as usize]),
            };
            let mut entry = command.encode();
            match next(8) {
                0 => entry.push(0),
                1 if entry == [0, 0] => entry = vec![0, 0x80, 0],
                _ => {}
            }
            let want = match Command::decode(&entry) {
                Ok(decoded) => slow.record(i, index, decoded),
                Err(e) => Err(e),
            };
            let got = if fast.is_kept(index, &entry) {
                kept_seen += 1;
                fast.record_kept(i, index)
            } else {
                match Command::decode(&entry) {
                    Ok(decoded) => fast.record(i, index, decoded),
                    Err(e) => Err(e),
                }
            };
            assert_eq!(got, want, "peer {i} index {index} entry {entry:?}");
            assert_eq!(
                (0..3).map(|p| fast.applied_through(p)).collect::<Vec<_>>(),
                (0..3).map(|p| slow.applied_through(p)).collect::<Vec<_>>()
            );
            assert_eq!(
                (fast.encoded.clone(), fast.encoded_ends.clone()),
                (slow.encoded.clone(), slow.encoded_ends.clone())
            );
        }
        assert!(kept_seen > 100, "the kept path was taken {kept_seen} times");
    }
}
