//! The channel outside a simulation (crossbeam's), called out of line and marked cold. Inlined,
//! crossbeam's cache-padded (128-byte aligned) state made every simulated send, receive and RPC
//! call that has one of these calls in its body set up a larger, realigned stack frame, whose
//! first stores missed the cache on a coroutine stack (perf: `settle_reply`'s first store was a
//! third of its time in the Raft family).

use std::time::Duration;

use crossbeam_channel::{Receiver, RecvError, RecvTimeoutError, SendError, Sender};

#[cold]
#[inline(never)]
pub(crate) fn make<T>(capacity: Option<usize>) -> (Sender<T>, Receiver<T>) {
    match capacity {
        None => crossbeam_channel::unbounded(),
        Some(cap) => crossbeam_channel::bounded(cap),
    }
}

#[cold]
#[inline(never)]
pub(crate) fn send<T>(tx: &Sender<T>, value: T) -> Result<(), SendError<T>> {
    tx.send(value)
}

#[cold]
#[inline(never)]
pub(crate) fn recv<T>(rx: &Receiver<T>) -> Result<T, RecvError> {
    rx.recv()
}

#[cold]
#[inline(never)]
pub(crate) fn recv_timeout<T>(rx: &Receiver<T>, timeout: Duration) -> Result<T, RecvTimeoutError> {
    rx.recv_timeout(timeout)
}
