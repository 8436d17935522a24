//! RPC arguments and replies.

use serde::{Deserialize, Serialize};

use super::encoded::EntryBatch;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestVoteArgs {
    pub term: u64,
    pub candidate: usize,
    pub last_log_index: u64,
    pub last_log_term: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestVoteReply {
    pub term: u64,
    pub granted: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AppendEntriesArgs {
    pub term: u64,
    pub leader: usize,
    pub prev_log_index: u64,
    pub prev_log_term: u64,
    pub entries: EntryBatch,
    pub leader_commit: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AppendEntriesReply {
    pub term: u64,
    pub success: bool,
    /// On a mismatch, where the leader should try next (fast backup): the follower's term at
    /// `prev_log_index` and the first index of that term, or none when its log is too short.
    pub conflict_term: Option<u64>,
    pub conflict_index: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstallSnapshotArgs {
    pub term: u64,
    pub leader: usize,
    pub last_included_index: u64,
    pub last_included_term: u64,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstallSnapshotReply {
    pub term: u64,
}
