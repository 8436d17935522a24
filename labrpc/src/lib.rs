//! Deterministic simulator (placeholder while it is being written).
