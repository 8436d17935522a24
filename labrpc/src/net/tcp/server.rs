//! The serving side: an accept thread, a reader thread per connection, a thread per request.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use super::frame::{self, FrameError, Header};
use super::TcpConfig;
use crate::net::Server;

/// How many recent rejections [`TcpServer::rejections`] keeps.
const REJECTIONS_KEPT: usize = 64;

struct Shared {
    server: Server,
    config: TcpConfig,
    local_addr: SocketAddr,
    stopping: AtomicBool,
    /// Open connections (a clone of each stream, to shut them down), by connection number.
    connections: Mutex<BTreeMap<u64, TcpStream>>,
    rejections: Mutex<VecDeque<String>>,
}

/// A [`Server`] listening on a TCP address. Dropping it stops accepting and closes every
/// connection (handlers already running finish; their replies go nowhere).
pub struct TcpServer {
    shared: Arc<Shared>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl TcpServer {
    /// Listens on `addr` ("127.0.0.1:0" picks a free port; see [`TcpServer::local_addr`]).
    pub fn bind(addr: impl ToSocketAddrs, server: Server, config: TcpConfig) -> io::Result<TcpServer> {
        TcpServer::serve(TcpListener::bind(addr)?, server, config)
    }

    /// Serves on a listener the caller bound.
    pub fn serve(listener: TcpListener, server: Server, config: TcpConfig) -> io::Result<TcpServer> {
        assert!(config.max_in_flight > 0 && config.max_connections > 0, "labrpc tcp: limits must be positive");
        let shared = Arc::new(Shared {
            server,
            config,
            local_addr: listener.local_addr()?,
            stopping: AtomicBool::new(false),
            connections: Mutex::new(BTreeMap::new()),
            rejections: Mutex::new(VecDeque::new()),
        });
        let acceptor = shared.clone();
        let accept = std::thread::Builder::new()
            .name(format!("tcp-accept {}", shared.local_addr))
            .spawn(move || acceptor.accept_loop(listener))?;
        Ok(TcpServer { shared, accept: Some(accept) })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// The most recent connections closed for misbehaving, newest last: who and what it did.
    pub fn rejections(&self) -> Vec<String> {
        self.shared.rejections.lock().iter().cloned().collect()
    }

    /// Connections open now.
    pub fn connection_count(&self) -> usize {
        self.shared.connections.lock().len()
    }
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop; it sees `stopping` and ends.
        let _ = TcpStream::connect_timeout(&self.shared.local_addr, self.shared.config.connect_timeout);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for (_, stream) in std::mem::take(&mut *self.shared.connections.lock()) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// Requests of one connection being handled; the reader waits for a free slot.
struct Slots {
    in_flight: Mutex<usize>,
    freed: Condvar,
}

/// Frees a slot when a handler thread ends, even by panicking.
struct SlotGuard(Arc<Slots>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        *self.0.in_flight.lock() -= 1;
        self.0.freed.notify_one();
    }
}

impl Shared {
    fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        let mut next_conn = 0u64;
        for stream in listener.incoming() {
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            let stream = match stream {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(server = %self.local_addr, "labrpc tcp: accept failed: {e}");
                    continue;
                }
            };
            let peer = stream.peer_addr().map_or_else(|_| "unknown peer".to_string(), |a| a.to_string());
            let open = self.connections.lock().len();
            if open >= self.config.max_connections {
                self.reject(&peer, &format!("over the limit of {} connections", self.config.max_connections));
                continue;
            }
            next_conn += 1;
            let conn = next_conn;
            match stream.try_clone() {
                Ok(clone) => self.connections.lock().insert(conn, clone),
                Err(e) => {
                    tracing::warn!(server = %self.local_addr, "labrpc tcp: cannot keep connection from {peer}: {e}");
                    continue;
                }
            };
            let shared = self.clone();
            let spawned = std::thread::Builder::new().name(format!("tcp-conn {peer}")).spawn(move || {
                if let Err(e) = shared.serve_connection(&peer, stream) {
                    shared.reject(&peer, &e);
                }
                shared.connections.lock().remove(&conn);
            });
            if let Err(e) = spawned {
                tracing::warn!(server = %self.local_addr, "labrpc tcp: no thread for a new connection: {e}");
                if let Some(s) = self.connections.lock().remove(&conn) {
                    let _ = s.shutdown(Shutdown::Both);
                }
            }
        }
    }

    /// Logs and records that the connection from `peer` is closed because of `what`.
    fn reject(&self, peer: &str, what: &str) {
        let line = format!("labrpc tcp server {}: connection from {peer}: {what}; closing it", self.local_addr);
        tracing::warn!("{line}");
        let mut r = self.rejections.lock();
        if r.len() == REJECTIONS_KEPT {
            r.pop_front();
        }
        r.push_back(line);
    }

    /// Reads requests until the peer closes (Ok) or misbehaves (Err: what it did).
    fn serve_connection(self: &Arc<Self>, peer: &str, mut stream: TcpStream) -> Result<(), String> {
        let io_err = |e: io::Error| format!("socket setup failed: {e}");
        stream.set_nodelay(true).map_err(io_err)?;
        stream.set_write_timeout(Some(self.config.frame_timeout)).map_err(io_err)?;
        stream.set_read_timeout(Some(self.config.frame_timeout)).map_err(io_err)?;
        let mut preamble = [0u8; frame::PREAMBLE.len()];
        if let Err(e) = stream.read_exact(&mut preamble) {
            return Err(format!("no labrpc preamble within {:?}: {}", self.config.frame_timeout, FrameError::Io(e)));
        }
        if &preamble != frame::PREAMBLE {
            return Err(format!("does not speak labrpc (first bytes {:?})", String::from_utf8_lossy(&preamble)));
        }
        // The connection's writing side, and whether a reply to it has failed.
        let writer = Arc::new((Mutex::new(stream.try_clone().map_err(io_err)?), AtomicBool::new(false)));
        let slots = Arc::new(Slots { in_flight: Mutex::new(0), freed: Condvar::new() });
        loop {
            stream.set_read_timeout(self.config.idle_timeout).map_err(io_err)?;
            let size_bytes = match frame::read_length(&mut stream, self.config.max_frame_bytes) {
                Ok(n) => n,
                Err(FrameError::Closed) => return Ok(()),
                Err(_) if self.stopping.load(Ordering::SeqCst) => return Ok(()),
                Err(FrameError::Io(e)) if frame::is_timeout(&e) => {
                    return Err(format!("idle for more than {:?}", self.config.idle_timeout.unwrap_or_default()));
                }
                Err(e) => return Err(e.to_string()),
            };
            stream.set_read_timeout(Some(self.config.frame_timeout)).map_err(io_err)?;
            let (header, body) = match frame::read_rest(&mut stream, size_bytes) {
                Ok(frame) => frame,
                Err(_) if self.stopping.load(Ordering::SeqCst) => return Ok(()),
                Err(FrameError::Io(e)) if frame::is_timeout(&e) => {
                    return Err(format!(
                        "stalled mid-frame: {size_bytes} bytes announced, not all sent within {:?}",
                        self.config.frame_timeout
                    ));
                }
                Err(e) => return Err(e.to_string()),
            };
            let Header::Request { id, method } = header else {
                return Err(format!("sent {header:?} where a request was expected"));
            };
            {
                let mut in_flight = slots.in_flight.lock();
                while *in_flight >= self.config.max_in_flight {
                    slots.freed.wait(&mut in_flight);
                }
                *in_flight += 1;
            }
            let guard = SlotGuard(slots.clone());
            let handler = self.server.handler(&method).map(|(handler, _)| handler);
            let (writer, peer_name, shared) = (writer.clone(), peer.to_string(), self.clone());
            let spawned = std::thread::Builder::new().name(format!("rpc {method}")).spawn(move || {
                let _guard = guard;
                let reply = match handler.and_then(|h| h(body)) {
                    Ok(reply) => frame::encode(&Header::Reply { id }, &reply),
                    Err(reason) => {
                        tracing::warn!("labrpc tcp: call {method} from {peer_name} not dispatched: {reason}");
                        frame::encode(&Header::Failed { id, reason }, &[])
                    }
                };
                let (stream, broken) = &*writer;
                let mut w = stream.lock();
                if broken.load(Ordering::SeqCst) {
                    return; // an earlier reply failed: the connection is closing
                }
                if let Err(e) = frame::write_frame(&mut *w, &reply) {
                    // A peer that does not read its replies, or is gone: the reader sees the
                    // shutdown and ends. Only the first failure is news.
                    broken.store(true, Ordering::SeqCst);
                    let _ = w.shutdown(Shutdown::Both);
                    if !shared.stopping.load(Ordering::SeqCst) {
                        let what = if frame::is_timeout(&e) {
                            format!(
                                "does not read its replies (a reply not written within {:?})",
                                shared.config.frame_timeout
                            )
                        } else {
                            format!("reply not written: {e}")
                        };
                        shared.reject(&peer_name, &what);
                    }
                }
            });
            if let Err(e) = spawned {
                return Err(format!("no thread for a request: {e}"));
            }
        }
    }
}
