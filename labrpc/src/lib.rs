//! labrpc: a deterministic simulator for ordinary synchronous server code.
//!
//! Server code uses this crate's API instead of `std` for everything that blocks or is
//! nondeterministic: [`thread`], [`time`], [`sync`], [`channel`], [`rand`], plus the lab's
//! [`net`] (RPC with faults), [`node`] (crash, restart, pause) and [`persister`]. Inside
//! [`sim::run`] every simulated thread is a stackful coroutine on one OS thread, one seed decides
//! every choice, and virtual time only moves when every thread waits. Outside a simulation the same
//! calls use real threads, real time, parking_lot and crossbeam-channel.
//!
//! ```
//! use std::time::Duration;
//! use labrpc::{sim, thread, time};
//!
//! let report = sim::run(7, &sim::Config::default(), || {
//!     let worker = thread::spawn(|| { time::sleep(Duration::from_secs(100)); 42 });
//!     worker.join().unwrap()
//! }).unwrap();
//! assert_eq!(report.value, 42);
//! assert_eq!(report.virtual_time, Duration::from_secs(100));
//! ```

pub mod alloc;
pub mod channel;
pub mod net;
pub mod node;
pub mod observe;
pub mod persister;
pub mod rand;
mod sched;
pub mod sim;
mod sim_cell;
pub mod sync;
pub mod thread;
pub mod time;
pub mod trace;

pub use node::NodeId;
