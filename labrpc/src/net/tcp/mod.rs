//! labrpc over TCP: the same typed API (`ClientEnd::call`, `Server`, `Service`) between real
//! processes, for running the lab's servers as a real cluster. Nothing here is simulated: it is
//! for use outside a simulation only, where labrpc's threads and time are real.
//!
//! - [`connect`] gives a [`ClientEnd`] whose calls go to a remote [`TcpServer`]. One connection
//!   per end, reused by every call (calls are multiplexed by id), opened on first use and reopened
//!   after it breaks. A call that gets no reply within `call_timeout` fails with
//!   [`RpcError::Lost`](super::RpcError::Lost) and closes the connection (the peer may be stopped
//!   or half-open); a peer that refuses the connection gives `Unreachable`, and for
//!   `reconnect_backoff` after that calls fail at once instead of hammering it.
//! - [`TcpServer::bind`] serves a [`Server`](super::Server): each request runs its handler in a
//!   thread of its own, at most `max_in_flight` per connection (the connection is not read further
//!   until one finishes), at most `max_connections` connections.
//! - A peer that sends something other than labrpc frames (wrong preamble, an undecodable header,
//!   a frame above `max_frame_bytes`), stalls mid-frame longer than `frame_timeout`, or does not
//!   read its replies, gets a warning naming it and what it did, and its connection closed; the
//!   server keeps serving everyone else. [`TcpServer::rejections`] lists the recent ones.
//!
//! Wire format: see [`frame`].

mod client;
pub mod frame;
mod server;

use std::time::Duration;

pub(crate) use client::TcpEnd;
pub use server::TcpServer;

use super::ClientEnd;

/// Limits and timeouts of both sides.
#[derive(Clone, Debug)]
pub struct TcpConfig {
    /// A call without a reply after this long fails with `Lost`.
    pub call_timeout: Duration,
    /// Opening a connection gives up after this long (`Unreachable`).
    pub connect_timeout: Duration,
    /// After a failed connect, calls fail at once with `Unreachable` for this long.
    pub reconnect_backoff: Duration,
    /// Largest frame either side accepts; a larger announced frame closes the connection.
    pub max_frame_bytes: usize,
    /// Once a frame has started, the rest must arrive within this; also the limit for writing one.
    pub frame_timeout: Duration,
    /// A server closes a connection that sends nothing for this long (None: never).
    pub idle_timeout: Option<Duration>,
    /// Requests of one connection a server handles at once.
    pub max_in_flight: usize,
    /// Connections a server keeps open at once; more are closed when accepted.
    pub max_connections: usize,
}

impl Default for TcpConfig {
    fn default() -> TcpConfig {
        TcpConfig {
            call_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            reconnect_backoff: Duration::from_millis(50),
            max_frame_bytes: 64 << 20,
            frame_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(600)),
            max_in_flight: 256,
            max_connections: 256,
        }
    }
}

/// A client end whose calls go over TCP to the server at `addr` ("host:port"). Nothing is
/// opened until the first call.
pub fn connect(addr: &str, config: TcpConfig) -> ClientEnd {
    ClientEnd::over_tcp(TcpEnd::new(addr.to_string(), config))
}
