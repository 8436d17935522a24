//! Channels, multi-producer multi-consumer: crossbeam-channel outside a simulation, a simulated
//! queue inside one, with the same API and crossbeam's error types.
//!
//! `bounded(0)` is a rendezvous channel: `send` returns once a receiver has taken the value.

mod fifo;
mod real;

use std::sync::Arc;
use std::time::Duration;

pub use crossbeam_channel::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

use crate::sched::{current, or_unwind, try_current, Killed, Ticket, Wait, Wake};
use crate::sim_cell::SimCell;
use crate::time::deadline_after;
use fifo::Fifo;

/// The queues are `Fifo`s, which allocate only from their second entry: a channel that never
/// holds two values or two waiters (an RPC's reply channel) allocates nothing but itself.
struct ChanState<T> {
    queue: Fifo<T>,
    senders: usize,
    receivers: usize,
    recv_waiters: Fifo<Ticket>,
    send_waiters: Fifo<Ticket>,
    /// Values ever taken by receivers; a rendezvous sender waits for this to pass its value.
    taken: u64,
    pushed: u64,
}

struct SimChan<T> {
    id: u64,
    /// `None`: unbounded. `Some(0)`: rendezvous.
    capacity: Option<usize>,
    state: SimCell<ChanState<T>>,
}

impl<T> SimChan<T> {
    fn has_room(&self, st: &ChanState<T>) -> bool {
        match self.capacity {
            None => true,
            Some(0) => st.queue.is_empty(),
            Some(cap) => st.queue.len() < cap,
        }
    }
}

/// Wakes the first waiter whose park is still current. The empty test is inlined: most sends
/// and receives find nobody waiting, and a call would save the registers the wake-up needs.
#[inline(always)]
fn wake_one(waiters: &mut Fifo<Ticket>) {
    if !waiters.is_empty() {
        wake_first(waiters);
    }
}

#[inline(never)]
fn wake_first(waiters: &mut Fifo<Ticket>) {
    let Some(rt) = try_current() else { return forget_after_the_run(waiters) };
    while let Some(ticket) = waiters.pop_front() {
        if rt.unpark(ticket) {
            return;
        }
    }
}

/// Wakes every waiter (empty test inlined, as `wake_one`'s).
#[inline(always)]
fn wake_all(waiters: &mut Fifo<Ticket>) {
    if !waiters.is_empty() {
        wake_each(waiters);
    }
}

#[inline(never)]
fn wake_each(waiters: &mut Fifo<Ticket>) {
    let Some(rt) = try_current() else { return forget_after_the_run(waiters) };
    for ticket in waiters.drain() {
        rt.unpark(ticket);
    }
}

/// A channel of a run that ended, used outside any simulation (the test after the run): its
/// queued places are those of threads killed at the run's end, so there is nobody to wake.
#[cold]
fn forget_after_the_run(waiters: &mut Fifo<Ticket>) {
    while waiters.pop_front().is_some() {}
}

enum SenderImpl<T> {
    Real(crossbeam_channel::Sender<T>),
    Sim(Arc<SimChan<T>>),
}

enum ReceiverImpl<T> {
    Real(crossbeam_channel::Receiver<T>),
    Sim(Arc<SimChan<T>>),
}

pub struct Sender<T> {
    imp: SenderImpl<T>,
}

pub struct Receiver<T> {
    imp: ReceiverImpl<T>,
}

/// A channel without a bound.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    make(None)
}

/// A channel holding at most `capacity` values; `send` blocks when it is full.
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    make(Some(capacity))
}

fn make<T>(capacity: Option<usize>) -> (Sender<T>, Receiver<T>) {
    match try_current() {
        Some(rt) => {
            let chan = Arc::new(SimChan {
                id: rt.next_object_id(),
                capacity,
                state: SimCell::new(ChanState {
                    queue: Fifo::new(),
                    senders: 1,
                    receivers: 1,
                    recv_waiters: Fifo::new(),
                    send_waiters: Fifo::new(),
                    taken: 0,
                    pushed: 0,
                }),
            });
            (Sender { imp: SenderImpl::Sim(chan.clone()) }, Receiver { imp: ReceiverImpl::Sim(chan) })
        }
        None => {
            let (tx, rx) = real::make(capacity);
            (Sender { imp: SenderImpl::Real(tx) }, Receiver { imp: ReceiverImpl::Real(rx) })
        }
    }
}

impl<T> Sender<T> {
    /// Sends `value`, blocking while a bounded channel is full. Fails when every receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let chan = match &self.imp {
            SenderImpl::Real(tx) => return real::send(tx, value),
            SenderImpl::Sim(chan) => chan,
        };
        let rt = current("Sender::send");
        rt.maybe_preempt();
        loop {
            let mut st = chan.state.borrow();
            if st.receivers == 0 {
                return Err(SendError(value));
            }
            if chan.has_room(&st) {
                st.queue.push_back(value);
                st.pushed += 1;
                let mine = st.pushed;
                wake_one(&mut st.recv_waiters);
                if chan.capacity != Some(0) {
                    return Ok(());
                }
                // Rendezvous: wait until a receiver took this value.
                loop {
                    if st.taken >= mine {
                        return Ok(());
                    }
                    if st.receivers == 0 {
                        let value = st.queue.pop_back().expect("rendezvous value vanished");
                        st.pushed -= 1;
                        return Err(SendError(value));
                    }
                    st.send_waiters.push_back(rt.park_ticket());
                    drop(st);
                    rt.park(Wait::Send { channel: chan.id }, None);
                    st = chan.state.borrow();
                }
            }
            st.send_waiters.push_back(rt.park_ticket());
            drop(st);
            // Room woken for this sender must not die with it (its node crashing meanwhile).
            rt.park_passing_on(Wait::Send { channel: chan.id }, None, &|| {
                wake_one(&mut chan.state.borrow().send_waiters);
            });
        }
    }

    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let chan = match &self.imp {
            SenderImpl::Real(tx) => return tx.try_send(value),
            SenderImpl::Sim(chan) => chan,
        };
        let mut st = chan.state.borrow();
        if st.receivers == 0 {
            return Err(TrySendError::Disconnected(value));
        }
        // A rendezvous try_send succeeds only if a receiver is already waiting: a ticket left
        // by a receiver that was killed or timed out meanwhile is no receiver.
        let room = match chan.capacity {
            Some(0) => {
                st.queue.is_empty() && {
                    match try_current() {
                        Some(rt) => st.recv_waiters.retain(|&t| rt.is_parked(t)),
                        // After the run: its waiting receivers were killed at its end.
                        None => forget_after_the_run(&mut st.recv_waiters),
                    }
                    !st.recv_waiters.is_empty()
                }
            }
            _ => chan.has_room(&st),
        };
        if !room {
            return Err(TrySendError::Full(value));
        }
        st.queue.push_back(value);
        st.pushed += 1;
        wake_one(&mut st.recv_waiters);
        Ok(())
    }

    pub fn len(&self) -> usize {
        match &self.imp {
            SenderImpl::Real(tx) => tx.len(),
            SenderImpl::Sim(chan) => chan.state.borrow().queue.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        match &self.imp {
            SenderImpl::Real(tx) => Sender { imp: SenderImpl::Real(tx.clone()) },
            SenderImpl::Sim(chan) => {
                chan.state.borrow().senders += 1;
                Sender { imp: SenderImpl::Sim(chan.clone()) }
            }
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let SenderImpl::Sim(chan) = &self.imp {
            let mut st = chan.state.borrow();
            st.senders -= 1;
            if st.senders == 0 {
                wake_all(&mut st.recv_waiters);
            }
        }
    }
}

impl<T> Receiver<T> {
    /// Blocks until a value arrives; fails when the channel is empty and every sender is gone.
    pub fn recv(&self) -> Result<T, RecvError> {
        match &self.imp {
            ReceiverImpl::Real(rx) => real::recv(rx),
            ReceiverImpl::Sim(chan) => {
                let mut value = None;
                // Without a deadline the only error is a disconnect, which leaves `value` empty.
                let _disconnected = or_unwind(Self::sim_recv(chan, None, &mut value));
                value.ok_or(RecvError)
            }
        }
    }

    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        or_unwind(self.recv_timeout_or_killed(timeout))
    }

    /// `recv_timeout`, except that a kill while waiting is returned, not unwound (see
    /// `Runtime::park_or_killed`): `ClientEnd::call_bytes` returns out of its frame first.
    pub(crate) fn recv_timeout_or_killed(&self, timeout: Duration) -> Result<Result<T, RecvTimeoutError>, Killed> {
        match &self.imp {
            ReceiverImpl::Real(rx) => Ok(real::recv_timeout(rx, timeout)),
            ReceiverImpl::Sim(chan) => {
                let mut value = None;
                Ok(Self::sim_recv(chan, Some(deadline_after(timeout)), &mut value)?
                    .map(|()| value.expect("labrpc: a receive succeeded without its value")))
            }
        }
    }

    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match &self.imp {
            ReceiverImpl::Real(rx) => rx.try_recv(),
            ReceiverImpl::Sim(chan) => {
                let mut st = chan.state.borrow();
                match Self::take(chan, &mut st) {
                    Some(v) => Ok(v),
                    None if st.senders == 0 => Err(TryRecvError::Disconnected),
                    None => Err(TryRecvError::Empty),
                }
            }
        }
    }

    /// Inlined into its callers, so the value moves straight into `sim_recv`'s `into`.
    #[inline(always)]
    fn take(chan: &SimChan<T>, st: &mut ChanState<T>) -> Option<T> {
        let value = st.queue.pop_front()?;
        st.taken += 1;
        if chan.capacity == Some(0) {
            // The rendezvous sender waits for exactly this.
            wake_all(&mut st.send_waiters);
        } else {
            wake_one(&mut st.send_waiters);
        }
        if !st.queue.is_empty() {
            // Pass the baton: another waiting receiver can take the next value.
            wake_one(&mut st.recv_waiters);
        }
        Some(value)
    }

    /// A kill while waiting is returned, not unwound: the public receives unwind from their
    /// caller's frame, so a killed receiver's unwind passes neither this frame nor the park's.
    /// The value is put in `into` (left `None` on an error): returned inside the nested results
    /// it came back through memory in pieces, and the caller's reads of them stalled on store
    /// forwarding (a fifth of `recv`'s time in kvraft).
    fn sim_recv(
        chan: &SimChan<T>,
        deadline_ns: Option<u64>,
        into: &mut Option<T>,
    ) -> Result<Result<(), RecvTimeoutError>, Killed> {
        let rt = current("Receiver::recv");
        loop {
            let mut st = chan.state.borrow();
            if let Some(v) = Self::take(chan, &mut st) {
                *into = Some(v);
                return Ok(Ok(()));
            }
            if st.senders == 0 {
                return Ok(Err(RecvTimeoutError::Disconnected));
            }
            if deadline_ns.is_some_and(|d| rt.now_ns() >= d) {
                return Ok(Err(RecvTimeoutError::Timeout));
            }
            st.recv_waiters.push_back(rt.park_ticket());
            drop(st);
            // A value woken for this receiver must not wait for nobody (its node crashing meanwhile).
            let wake = rt.park_passing_on_or_killed(Wait::Recv { channel: chan.id }, deadline_ns, &|| {
                wake_one(&mut chan.state.borrow().recv_waiters);
            })?;
            if wake == Wake::TimedOut {
                let mut st = chan.state.borrow();
                let me = rt.current_task();
                st.recv_waiters.retain(|t| Some(t.task) != me);
                // A value may have arrived at the very instant the timer fired.
                if let Some(v) = Self::take(chan, &mut st) {
                    *into = Some(v);
                    return Ok(Ok(()));
                }
                let why = if st.senders == 0 { RecvTimeoutError::Disconnected } else { RecvTimeoutError::Timeout };
                return Ok(Err(why));
            }
        }
    }

    /// Blocking iterator until every sender is gone.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || self.recv().ok())
    }

    /// The values available now, without blocking.
    pub fn try_iter(&self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || self.try_recv().ok())
    }

    pub fn len(&self) -> usize {
        match &self.imp {
            ReceiverImpl::Real(rx) => rx.len(),
            ReceiverImpl::Sim(chan) => chan.state.borrow().queue.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        match &self.imp {
            ReceiverImpl::Real(rx) => Receiver { imp: ReceiverImpl::Real(rx.clone()) },
            ReceiverImpl::Sim(chan) => {
                chan.state.borrow().receivers += 1;
                Receiver { imp: ReceiverImpl::Sim(chan.clone()) }
            }
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let ReceiverImpl::Sim(chan) = &self.imp {
            let mut st = chan.state.borrow();
            st.receivers -= 1;
            if st.receivers == 0 {
                wake_all(&mut st.send_waiters);
            }
        }
    }
}
