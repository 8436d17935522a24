//! The calling side: one reused connection per end, calls multiplexed by id, a reader thread that
//! hands each reply to its waiting caller.

use std::collections::BTreeMap;
use std::io;
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{RecvTimeoutError, Sender};
use parking_lot::Mutex;

use super::frame::{self, FrameError, Header};
use super::TcpConfig;
use crate::net::RpcError;

/// What a caller waits for: the reply body, or the server's reason for not dispatching the call.
type Answer = Result<Vec<u8>, String>;

pub(crate) struct TcpEnd {
    addr: String,
    config: TcpConfig,
    state: Mutex<EndState>,
}

#[derive(Default)]
struct EndState {
    conn: Option<Arc<Conn>>,
    /// After a failed connect, no new attempt before this.
    down_until: Option<Instant>,
}

struct Conn {
    writer: Mutex<TcpStream>,
    /// Callers waiting, by call id; None once the connection is closed.
    pending: Mutex<Option<BTreeMap<u64, Sender<Answer>>>>,
    next_id: AtomicU64,
}

impl Conn {
    fn is_open(&self) -> bool {
        self.pending.lock().is_some()
    }

    /// Closes the connection: every waiting caller gets `Lost`, the reader thread ends.
    fn close(&self, addr: &str, reason: &str) {
        if self.pending.lock().take().is_some() {
            tracing::debug!(addr, reason, "labrpc tcp: closing connection");
            let _ = self.writer.lock().shutdown(Shutdown::Both);
        }
    }

    fn register(&self, tx: Sender<Answer>) -> Option<u64> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.pending.lock().as_mut()?.insert(id, tx);
        Some(id)
    }

    fn forget(&self, id: u64) {
        if let Some(p) = self.pending.lock().as_mut() {
            p.remove(&id);
        }
    }

    fn reader(&self, addr: &str, mut stream: TcpStream, max_frame_bytes: usize) {
        let reason = loop {
            let answer = frame::read_length(&mut stream, max_frame_bytes)
                .and_then(|n| frame::read_rest(&mut stream, n))
                .and_then(|(header, body)| match header {
                    Header::Reply { id } => Ok((id, Ok(body))),
                    Header::Failed { id, reason } => Ok((id, Err(reason))),
                    Header::Request { .. } => Err(FrameError::Garbage("a request where a reply was expected".into())),
                });
            match answer {
                Ok((id, answer)) => {
                    let waiter = self.pending.lock().as_mut().and_then(|p| p.remove(&id));
                    // None: the caller gave up (timed out) already.
                    if let Some(tx) = waiter {
                        let _ = tx.send(answer);
                    }
                }
                Err(e) => break e,
            }
        };
        if self.is_open() && !matches!(reason, FrameError::Closed) {
            tracing::warn!(
                addr,
                "labrpc tcp: reply stream from {addr} broken: {reason}; reconnecting on the next call"
            );
        }
        self.close(addr, &reason.to_string());
    }
}

impl TcpEnd {
    pub(crate) fn new(addr: String, config: TcpConfig) -> TcpEnd {
        TcpEnd { addr, config, state: Mutex::new(EndState::default()) }
    }

    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// The open connection, or a new one.
    fn conn(&self) -> Result<Arc<Conn>, RpcError> {
        let mut st = self.state.lock();
        if let Some(conn) = st.conn.as_ref().filter(|c| c.is_open()) {
            return Ok(conn.clone());
        }
        st.conn = None;
        if st.down_until.is_some_and(|t| Instant::now() < t) {
            return Err(RpcError::Unreachable);
        }
        match self.open() {
            Ok(conn) => {
                st.down_until = None;
                st.conn = Some(conn.clone());
                Ok(conn)
            }
            Err(e) => {
                tracing::debug!(addr = %self.addr, "labrpc tcp: cannot connect: {e}");
                st.down_until = Some(Instant::now() + self.config.reconnect_backoff);
                Err(RpcError::Unreachable)
            }
        }
    }

    fn open(&self) -> io::Result<Arc<Conn>> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{} resolves to no address", self.addr));
        for sock in self.addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&sock, self.config.connect_timeout) {
                Ok(mut stream) => {
                    stream.set_nodelay(true)?;
                    stream.set_write_timeout(Some(self.config.frame_timeout))?;
                    frame::write_frame(&mut stream, frame::PREAMBLE)?;
                    let conn = Arc::new(Conn {
                        writer: Mutex::new(stream.try_clone()?),
                        pending: Mutex::new(Some(BTreeMap::new())),
                        next_id: AtomicU64::new(1),
                    });
                    let (reader, addr, max) = (conn.clone(), self.addr.clone(), self.config.max_frame_bytes);
                    std::thread::Builder::new()
                        .name(format!("tcp-reader {addr}"))
                        .spawn(move || reader.reader(&addr, stream, max))?;
                    return Ok(conn);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    pub(crate) fn call_bytes(&self, method: &str, request: &[u8]) -> Result<Vec<u8>, RpcError> {
        let conn = self.conn()?;
        let (tx, rx) = crossbeam_channel::bounded(1);
        let id = conn.register(tx).ok_or(RpcError::Lost)?;
        let frame = frame::encode(&Header::Request { id, method: method.to_string() }, request);
        if frame.len() - frame::LENGTH_BYTES > self.config.max_frame_bytes {
            conn.forget(id);
            panic!(
                "rpc {method} to {}: request of {} bytes is above the frame limit of {} bytes",
                self.addr,
                frame.len(),
                self.config.max_frame_bytes
            );
        }
        if let Err(e) = frame::write_frame(&mut *conn.writer.lock(), &frame) {
            conn.close(&self.addr, &format!("write failed: {e}"));
            return Err(RpcError::Lost);
        }
        match rx.recv_timeout(self.config.call_timeout) {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(reason)) => panic!("rpc {method} to server at {}: {reason}", self.addr),
            Err(RecvTimeoutError::Timeout) => {
                // The peer may be stopped or half-open: start afresh on the next call.
                conn.close(&self.addr, &format!("call {method} timed out"));
                Err(RpcError::Lost)
            }
            Err(RecvTimeoutError::Disconnected) => Err(RpcError::Lost),
        }
    }
}

impl Drop for TcpEnd {
    fn drop(&mut self) {
        if let Some(conn) = self.state.get_mut().conn.take() {
            conn.close(&self.addr, "client end dropped");
        }
    }
}
