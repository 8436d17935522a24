//! The engine under the public API: one `Runtime` per simulation, reached through a thread-local
//! pointer while `sim::run` drives it. Nothing here is public; the public modules (`thread`,
//! `time`, `sync`, `channel`, `rand`, `node`, `net`) translate their calls into `park`/`unpark`,
//! timers and spawns on the runtime.

pub(crate) mod context;
pub(crate) mod entry;
pub(crate) mod record;
pub(crate) mod runtime;
pub(crate) mod stack_chunk;
pub(crate) mod stack_pool;
pub(crate) mod task;
pub(crate) mod timer;
pub(crate) mod wait;
pub(crate) mod watchdog;

pub(crate) use context::{current, try_current};
pub(crate) use runtime::{or_unwind, unwind_killed, Runtime};
pub(crate) use task::{Killed, NodeId, TaskId};
pub(crate) use wait::{Ticket, Wait, Wake};
