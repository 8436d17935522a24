//! Servers of the lab (raft, kvsrv, kvraft), written against the labrpc API.
