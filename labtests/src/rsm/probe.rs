//! The harness's own tiny state machine and the checks it makes: the layer under test replicates
//! a [`Probe`], whose state is the sequence of operation tags applied so far and whose output is
//! the position an operation took in it. Every replica reports each apply and each restored
//! snapshot to one [`Order`], the run's total order of applied operations, which fails the run
//! as soon as two replicas disagree on a position or an operation is applied twice; the
//! scenarios check each submit's answer against it ([`Order::check_answers`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use labapi::StateMachine;
use labrpc::sync::Mutex;
use labrpc::time::Instant;

/// What one submit answered, with its virtual call and return times.
#[derive(Clone, Debug)]
pub struct Answer {
    pub tag: u64,
    pub server: usize,
    pub called: Instant,
    pub returned: Instant,
    /// Some(position) when the layer said the op was applied there; None for an error (or no
    /// answer before the replica crashed): the op may or may not be applied.
    pub position: Option<u64>,
}

#[derive(Default)]
struct Agreed {
    /// The total order: tag at each position, as the first replica to apply it reported.
    tags: Vec<u64>,
    position_of: BTreeMap<u64, u64>,
}

/// The run's total order of applied operations. Cheap to clone; clones share it.
#[derive(Clone, Default)]
pub struct Order {
    agreed: Arc<Mutex<Agreed>>,
}

impl Order {
    /// Replica `server` applied `tag` at `position` (or restored it there from a snapshot).
    fn applied(&self, server: usize, position: u64, tag: u64) {
        let mut a = self.agreed.lock();
        let p = position as usize;
        assert!(p <= a.tags.len(), "rsm: replica {server} applied tag {tag} at position {position}, past the {} ops any replica applied before it: it skipped some", a.tags.len());
        if p < a.tags.len() {
            assert_eq!(
                a.tags[p], tag,
                "rsm: replicas disagree: position {position} holds op {} on an earlier replica but op {tag} on replica {server}",
                a.tags[p]
            );
            return;
        }
        if let Some(earlier) = a.position_of.get(&tag) {
            panic!("rsm: op {tag} was applied twice, at positions {earlier} and {position} (replica {server}); it was submitted once");
        }
        a.tags.push(tag);
        a.position_of.insert(tag, position);
    }

    /// How many operations the order holds.
    pub fn len(&self) -> usize {
        self.agreed.lock().tags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks every answer against the total order: an op answered at position p is the one the
    /// replicas applied at p; and the order respects real time: an op that was answered before
    /// another was submitted comes before it.
    pub fn check_answers(&self, answers: &[Answer]) {
        let a = self.agreed.lock();
        for ans in answers {
            if let Some(p) = ans.position {
                let held = a.tags.get(p as usize);
                assert_eq!(
                    held,
                    Some(&ans.tag),
                    "rsm: submit of op {} on server {} answered position {p}, but the replicas applied {} there",
                    ans.tag,
                    ans.server,
                    held.map_or("nothing".to_string(), |t| format!("op {t}"))
                );
            }
        }
        // Real time: for each applied op, every op answered before it was called sits earlier.
        let mut done: Vec<(Instant, u64, u64)> =
            answers.iter().filter_map(|x| x.position.map(|p| (x.returned, p, x.tag))).collect();
        done.sort();
        for ans in answers {
            let Some(&mine) = a.position_of.get(&ans.tag) else { continue };
            let before = done.partition_point(|(returned, _, _)| *returned < ans.called);
            if let Some((returned, p, tag)) = done[..before].iter().max_by_key(|(_, p, _)| *p) {
                assert!(
                    *p < mine,
                    "rsm: op {tag} was answered (position {p}) at {returned:?}, before op {} was submitted at {:?}, yet op {} was applied earlier, at position {mine}",
                    ans.tag,
                    ans.called,
                    ans.tag
                );
            }
        }
    }
}

/// The tiny machine: the tags applied so far.
pub struct Probe {
    server: usize,
    applied: Vec<u64>,
    order: Order,
}

impl Probe {
    pub fn new(server: usize, order: Order) -> Probe {
        Probe { server, applied: Vec::new(), order }
    }
}

impl StateMachine for Probe {
    type Op = u64;
    /// The position the op took.
    type Output = u64;

    fn apply(&mut self, tag: u64) -> u64 {
        let position = self.applied.len() as u64;
        self.order.applied(self.server, position, tag);
        self.applied.push(tag);
        position
    }

    fn snapshot(&self) -> Vec<u8> {
        self.applied.iter().flat_map(|t| t.to_le_bytes()).collect()
    }

    fn restore(&mut self, snapshot: &[u8]) {
        assert!(
            snapshot.len().is_multiple_of(8),
            "rsm: a probe snapshot of {} bytes is not whole tags",
            snapshot.len()
        );
        self.applied = snapshot.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
        for (position, &tag) in self.applied.iter().enumerate() {
            self.order.applied(self.server, position as u64, tag);
        }
    }
}
