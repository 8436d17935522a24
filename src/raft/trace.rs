//! How the Raft's trace lines read (`RUST_LOG=raftkv::raft=debug`, or
//! `dstest --replay SCENARIO --seed S`, which shows the debug trace per node).
//!
//! One line per decision, at the point where the code decides it, with the values that decided
//! it as `key=value` fields:
//! - INFO: elections started and won (the pinned fixed-seed traces keep these);
//! - DEBUG: votes granted and refused (with both last log positions), a higher term seen (where,
//!   from whom, the role left), AppendEntries sent, accepted and rejected (prev position, entries,
//!   the conflict hint), commits (the new commit index and why), snapshots taken, sent, installed
//!   and refused, entries handed to the service;
//! - TRACE: heartbeats (empty AppendEntries), ten a second per follower.
//!
//! A batch of entries prints as one range (`entries=5..=9`), a log position as `index@tterm`
//! (`last=7@t3`: entry 7, of term 3). Peers are numbered as in `peers[]` (`to=1`, `from=2`); the
//! line's node column names the peer that decided. The RequestVote receiver's line, for example:
//!
//! ```text
//! let (theirs, ours) = (Pos(args.last_log_index, args.last_log_term), Pos(my_last_index, my_last_term));
//! tracing::debug!(candidate = args.candidate, term = args.term, own_term, free, up_to_date, %theirs, %ours, "vote {verdict}");
//! ```
//!
//! reads `vote refused candidate=1 term=4 own_term=4 free=true up_to_date=false theirs=48@t2 ours=61@t3`: the
//! values of the predicates that decided, as the code names them.
//! (The skeleton keeps this file: trace your own decisions the same way.)

use std::fmt;

/// A log position: (index, term), printed `7@t3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos(pub u64, pub u64);

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@t{}", self.0, self.1)
    }
}

/// `count` entries from index `first`, printed `5..=9` (or `none`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entries(pub u64, pub usize);

impl fmt::Display for Entries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            0 => write!(f, "none"),
            count => write!(f, "{}..={}", self.0, self.0 + count as u64 - 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_ranges_print_compactly() {
        assert_eq!(Pos(7, 3).to_string(), "7@t3");
        assert_eq!(Entries(5, 5).to_string(), "5..=9");
        assert_eq!(Entries(5, 1).to_string(), "5..=5");
        assert_eq!(Entries(5, 0).to_string(), "none");
    }
}
