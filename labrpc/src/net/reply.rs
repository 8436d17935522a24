//! A call's reply slot: where its handler copies (one, or two for a duplicated request) put their
//! replies and the caller waits for the first. Inside a simulation it does exactly what the
//! bounded channel it replaces did at every step that shows (the same object id, preemption
//! draw, park with its deadline, wake-ups and their order), with less work: one value for the
//! caller and one the caller never takes, one waiter, no queues, and a copy's send and its drop
//! under one lock. Outside a simulation it is that channel (crossbeam's).

use std::sync::Arc;
use std::time::Duration;

use crate::channel::{self, RecvTimeoutError};
use crate::sched::{current, try_current, Killed, Ticket, Wait, Wake};
use crate::sim_cell::SimCell;
use crate::time::deadline_after;

/// What the copies share. Values are dropped with the slot, as the channel's queue was.
struct Slot<T> {
    /// The id the channel had (shown in deadlock reports; later objects keep their ids).
    id: u64,
    state: SimCell<SlotState<T>>,
}

struct SlotState<T> {
    /// The first reply, until the caller takes it.
    first: Option<T>,
    /// A second copy's reply while the first is untaken: the caller never takes it.
    _second: Option<T>,
    /// Copies that have not sent or dropped their sender yet.
    senders: usize,
    /// Whether the caller still holds its end (a copy's reply has nowhere to go otherwise).
    receiver: bool,
    /// The caller's place while it waits.
    waiter: Option<Ticket>,
}

pub(crate) struct ReplySender<T> {
    imp: SenderImpl<T>,
}

enum SenderImpl<T> {
    Sim(Arc<Slot<T>>),
    Real(channel::Sender<T>),
    /// Sent: counted out of the slot already.
    Sent,
}

pub(crate) struct ReplyReceiver<T> {
    imp: ReceiverImpl<T>,
}

enum ReceiverImpl<T> {
    Sim(Arc<Slot<T>>),
    Real(channel::Receiver<T>),
}

/// A slot for the replies of `copies` handler copies (1 or 2); each copy holds a sender.
pub(crate) fn reply_slot<T>(copies: usize) -> (ReplySender<T>, ReplyReceiver<T>) {
    debug_assert!((1..=2).contains(&copies), "a call has one or two handler copies");
    match try_current() {
        Some(rt) => {
            let slot = Arc::new(Slot {
                id: rt.next_object_id(),
                state: SimCell::new(SlotState { first: None, _second: None, senders: 1, receiver: true, waiter: None }),
            });
            (ReplySender { imp: SenderImpl::Sim(slot.clone()) }, ReplyReceiver { imp: ReceiverImpl::Sim(slot) })
        }
        None => real_slot(copies),
    }
}

/// Outside a simulation: the channel. Out of line (see `channel/real.rs`: its frame is large).
#[cold]
#[inline(never)]
fn real_slot<T>(copies: usize) -> (ReplySender<T>, ReplyReceiver<T>) {
    let (tx, rx) = channel::bounded(copies);
    (ReplySender { imp: SenderImpl::Real(tx) }, ReplyReceiver { imp: ReceiverImpl::Real(rx) })
}

#[cold]
#[inline(never)]
fn real_send<T>(tx: &channel::Sender<T>, value: T) {
    // Err: the caller has given up; the reply has nowhere to go.
    let _ = tx.send(value);
}

#[cold]
#[inline(never)]
fn real_recv<T>(rx: &channel::Receiver<T>, timeout: Duration) -> Result<Result<T, RecvTimeoutError>, Killed> {
    rx.recv_timeout_or_killed(timeout)
}

/// Wakes the caller if it waits (a park already over is left alone, as a wait queue does).
#[inline(always)]
fn wake(waiter: &mut Option<Ticket>) {
    if let Some(ticket) = waiter.take() {
        // None: after the run (a sender dropped by the cleanup); the caller was killed at its end.
        if let Some(rt) = try_current() {
            rt.unpark(ticket);
        }
    }
}

impl<T> ReplySender<T> {
    /// Puts `value` in the slot for the caller and lets go of this copy's sender, under one
    /// lock; the value is dropped at once if the caller is gone (it gave up). A preemption
    /// point, as a channel send is.
    pub(crate) fn send(mut self, value: T) {
        let slot = match std::mem::replace(&mut self.imp, SenderImpl::Sent) {
            SenderImpl::Sim(slot) => slot,
            SenderImpl::Real(tx) => return real_send(&tx, value),
            SenderImpl::Sent => unreachable!("a reply sender sends once"),
        };
        current("Sender::send").maybe_preempt();
        let mut st = slot.state.borrow();
        st.senders -= 1;
        if !st.receiver {
            drop(st);
            drop(value);
            return;
        }
        if st.first.is_none() {
            st.first = Some(value);
        } else {
            st._second = Some(value);
        }
        // The caller is the only waiter: once the value woke it, the sender's end wakes nobody.
        wake(&mut st.waiter);
    }
}

impl<T> Clone for ReplySender<T> {
    fn clone(&self) -> ReplySender<T> {
        match &self.imp {
            SenderImpl::Sim(slot) => {
                slot.state.borrow().senders += 1;
                ReplySender { imp: SenderImpl::Sim(slot.clone()) }
            }
            SenderImpl::Real(tx) => ReplySender { imp: SenderImpl::Real(tx.clone()) },
            SenderImpl::Sent => unreachable!("a sent reply sender is gone"),
        }
    }
}

impl<T> Drop for ReplySender<T> {
    /// A copy that ends without sending (its node crashed): when it was the last, the caller
    /// learns that no reply will come.
    fn drop(&mut self) {
        if let SenderImpl::Sim(slot) = &self.imp {
            let mut st = slot.state.borrow();
            st.senders -= 1;
            if st.senders == 0 {
                wake(&mut st.waiter);
            }
        }
    }
}

impl<T> ReplyReceiver<T> {
    /// The first reply, waiting up to `timeout`: `Disconnected` when every copy ended without
    /// one. A kill while waiting is returned, not unwound (`Runtime::park_or_killed`).
    pub(crate) fn recv_timeout_or_killed(&self, timeout: Duration) -> Result<Result<T, RecvTimeoutError>, Killed> {
        let slot = match &self.imp {
            ReceiverImpl::Sim(slot) => slot,
            ReceiverImpl::Real(rx) => return real_recv(rx, timeout),
        };
        let deadline_ns = deadline_after(timeout);
        let rt = current("Receiver::recv");
        loop {
            let mut st = slot.state.borrow();
            if let Some(value) = st.first.take() {
                return Ok(Ok(value));
            }
            if st.senders == 0 {
                return Ok(Err(RecvTimeoutError::Disconnected));
            }
            if rt.now_ns() >= deadline_ns {
                return Ok(Err(RecvTimeoutError::Timeout));
            }
            st.waiter = Some(rt.park_ticket());
            drop(st);
            // Nothing to pass on if killed after a wake-up: nobody else waits here.
            let wake = rt.park_or_killed(Wait::Recv { channel: slot.id }, Some(deadline_ns))?;
            if wake == Wake::TimedOut {
                let mut st = slot.state.borrow();
                st.waiter = None;
                // A value may have arrived at the very instant the timer fired.
                if let Some(value) = st.first.take() {
                    return Ok(Ok(value));
                }
                let why = if st.senders == 0 { RecvTimeoutError::Disconnected } else { RecvTimeoutError::Timeout };
                return Ok(Err(why));
            }
        }
    }
}

impl<T> Drop for ReplyReceiver<T> {
    fn drop(&mut self) {
        if let ReceiverImpl::Sim(slot) = &self.imp {
            slot.state.borrow().receiver = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::sim::{self, Config};
    use crate::sync::Mutex as SimMutex;
    use crate::{node, rand, thread, time};

    /// The reply slot or the bounded channel it replaced, behind one face.
    enum Tx {
        Slot(ReplySender<u32>),
        Chan(channel::Sender<u32>),
    }

    enum Rx {
        Slot(ReplyReceiver<u32>),
        Chan(channel::Receiver<u32>),
    }

    impl Tx {
        fn send(self, value: u32) {
            match self {
                Tx::Slot(tx) => tx.send(value),
                Tx::Chan(tx) => drop(tx.send(value)),
            }
        }

        fn split(self, copies: usize) -> Vec<Tx> {
            // Clones first, the original last, as `call_bytes` hands them out.
            let mut copies: Vec<Tx> = (1..copies)
                .map(|_| match &self {
                    Tx::Slot(tx) => Tx::Slot(tx.clone()),
                    Tx::Chan(tx) => Tx::Chan(tx.clone()),
                })
                .collect();
            copies.push(self);
            copies
        }
    }

    impl Rx {
        fn recv(&self, timeout: Duration) -> Result<Result<u32, RecvTimeoutError>, Killed> {
            match self {
                Rx::Slot(rx) => rx.recv_timeout_or_killed(timeout),
                Rx::Chan(rx) => rx.recv_timeout_or_killed(timeout),
            }
        }
    }

    /// A random exchange like a call's: one or two copies on a server node, each sleeping, then
    /// sending or ending without a reply; the node may crash meanwhile; the caller waits in
    /// 100 ms rounds and may give up. Returns what the caller saw, with virtual times.
    fn exchange(slot: bool) -> Vec<(u64, String)> {
        let log = Arc::new(SimMutex::new(Vec::new()));
        let note = |log: &SimMutex<Vec<(u64, String)>>, what: String| {
            log.lock().push((time::now().since_start().as_nanos() as u64, what));
        };
        for round in 0..30u32 {
            let server = node::create(&format!("server{round}"));
            let copies = 1 + rand::range(0..2) as usize;
            let (tx, rx) = if slot {
                let (tx, rx) = reply_slot(copies);
                (Tx::Slot(tx), Rx::Slot(rx))
            } else {
                let (tx, rx) = channel::bounded(copies);
                (Tx::Chan(tx), Rx::Chan(rx))
            };
            for (copy, tx) in tx.split(copies).into_iter().enumerate() {
                let (sleep_ms, sends) = (rand::range(0..250), rand::range(0..4) != 0);
                thread::Builder::new().node(server).spawn_detached(move || {
                    time::sleep(Duration::from_millis(sleep_ms));
                    if sends {
                        tx.send(round * 10 + copy as u32);
                    }
                });
            }
            if rand::range(0..4) == 0 {
                let crash_ms = rand::range(0..300);
                thread::spawn(move || {
                    time::sleep(Duration::from_millis(crash_ms));
                    node::crash(server);
                });
            }
            let gave_up = Arc::new(AtomicBool::new(false));
            let (caller_log, caller_gave_up) = (log.clone(), gave_up.clone());
            let caller = thread::spawn(move || loop {
                match rx.recv(Duration::from_millis(100)) {
                    Err(Killed) => unreachable!("the caller is on the main node"),
                    Ok(Ok(value)) => return note(&caller_log, format!("value {value}")),
                    Ok(Err(e)) => {
                        note(&caller_log, format!("{e:?}"));
                        if e == RecvTimeoutError::Disconnected || rand::range(0..3) == 0 {
                            caller_gave_up.store(true, Ordering::Relaxed);
                            return;
                        }
                    }
                }
            });
            caller.join().unwrap();
            note(&log, format!("round {round} over, gave up {}", gave_up.load(Ordering::Relaxed)));
            time::sleep(Duration::from_millis(rand::range(0..300)));
        }
        let log = log.lock().clone();
        log
    }

    /// The slot and the channel, on the same seeds, make the same runs: the same outcomes at the
    /// same virtual times, the same determinism hash and the same number of scheduling steps.
    #[test]
    fn runs_as_the_bounded_channel_did() {
        for preempt_per_mille in [0, 300] {
            let config = Config { preempt_per_mille, ..Config::default() };
            for seed in 0..40 {
                let chan = sim::run(seed, &config, || exchange(false)).unwrap_or_else(|f| panic!("{f}"));
                let slot = sim::run(seed, &config, || exchange(true)).unwrap_or_else(|f| panic!("{f}"));
                assert!(chan.value.iter().any(|(_, e)| e.starts_with("value")), "seed {seed}: no reply at all");
                assert!(chan.value.iter().any(|(_, e)| e == "Disconnected"), "seed {seed}: never disconnected");
                assert_eq!(slot.value, chan.value, "seed {seed}, preempt {preempt_per_mille}");
                assert_eq!((slot.hash, slot.steps), (chan.hash, chan.steps), "seed {seed}");
            }
        }
    }
}
