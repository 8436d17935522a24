//! The simulated channel's queues (values, waiting receivers, waiting senders), seen through the
//! public API: values come out and drop in send order whatever the queue's length, and waiters
//! are served in arrival order when one leaves from the front, the middle or the back of the
//! line. The queues keep their front entry inline (`channel/fifo.rs`), so each case below goes
//! through the inline front and the spill-over behind it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::channel::{self, RecvTimeoutError, SendError, TryRecvError};
use labrpc::sim::{self, Config};
use labrpc::sync::Mutex;
use labrpc::{thread, time};

const MS: Duration = Duration::from_millis(1);

#[test]
fn values_come_out_in_send_order_at_every_queue_length() {
    sim::check(&labrpc::target!("values_come_out_in_send_order_at_every_queue_length"), Config::default(), || {
        let (tx, rx) = channel::unbounded::<u32>();
        let mut model = VecDeque::new();
        let mut next = 0u32;
        // Sends and receives in bursts: the queue empties, holds one (inline), grows, drains.
        for (sends, receives) in [(1, 1), (1, 0), (1, 2), (3, 1), (0, 2), (5, 3), (1, 4), (2, 1), (0, 1), (4, 4)] {
            for _ in 0..sends {
                tx.send(next).unwrap();
                model.push_back(next);
                next += 1;
            }
            for _ in 0..receives {
                assert_eq!(rx.try_recv().ok(), model.pop_front());
            }
            assert_eq!(rx.len(), model.len());
            assert_eq!(tx.is_empty(), model.is_empty());
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        drop(tx);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

/// Records the order in which values are dropped.
struct Tracked(u32, Arc<Mutex<Vec<u32>>>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.1.lock().push(self.0);
    }
}

/// What a channel still holds when its last handle goes drops front first, as a `VecDeque`
/// would: destructors can have effects (a sender in a value wakes receivers), so their order
/// is part of a run.
#[test]
fn values_left_in_a_channel_drop_in_send_order() {
    sim::check(&labrpc::target!("values_left_in_a_channel_drop_in_send_order"), Config::default(), || {
        let dropped = Arc::new(Mutex::new(Vec::new()));
        for held in [0u32, 1, 2, 5] {
            let (tx, rx) = channel::unbounded::<Tracked>();
            for k in 0..held + 1 {
                tx.send(Tracked(k, dropped.clone())).unwrap();
            }
            drop(rx.recv().unwrap()); // the first one, dropped here
            drop(tx);
            drop(rx);
            let order = std::mem::take(&mut *dropped.lock());
            assert_eq!(order, (0..held + 1).collect::<Vec<_>>(), "{held} values left in the channel");
        }
    });
}

/// Spawns a receiver that waits `timeout` (or forever) and returns what it got and when; the
/// caller sleeps 1 ms after, so receivers queue in spawn order.
fn receiver(
    rx: &channel::Receiver<u32>,
    name: &str,
    timeout: Option<Duration>,
) -> thread::JoinHandle<(Result<u32, RecvTimeoutError>, Duration)> {
    let rx = rx.clone();
    let h = thread::Builder::new().name(name.to_string()).spawn(move || {
        let got = match timeout {
            Some(t) => rx.recv_timeout(t),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        (got, time::now().since_start())
    });
    time::sleep(MS);
    h
}

/// Sends each value 1 ms after the last, so the receiver it wakes takes it before the next: the
/// value a receiver gets then shows its place in the line (values sent back to back go to
/// whichever woken receiver runs first).
fn send_one_by_one(tx: &channel::Sender<u32>, values: &[u32]) {
    for &v in values {
        tx.send(v).unwrap();
        time::sleep(MS);
    }
}

/// The receiver at the front of the line times out: the one behind it is now first.
#[test]
fn a_receiver_leaving_the_front_of_the_line_hands_it_to_the_next() {
    sim::check(
        &labrpc::target!("a_receiver_leaving_the_front_of_the_line_hands_it_to_the_next"),
        Config::default(),
        || {
            let (tx, rx) = channel::unbounded::<u32>();
            let first = receiver(&rx, "first", Some(MS + MS / 2)); // gives up at 1.5 ms
            let second = receiver(&rx, "second", None);
            let third = receiver(&rx, "third", None); // queued at 2 ms, after the first left
            let fourth = receiver(&rx, "fourth", None);
            send_one_by_one(&tx, &[10, 11, 12]);
            assert_eq!(first.join().unwrap(), (Err(RecvTimeoutError::Timeout), MS + MS / 2));
            assert_eq!(second.join().unwrap(), (Ok(10), 4 * MS));
            assert_eq!(third.join().unwrap(), (Ok(11), 5 * MS));
            assert_eq!(fourth.join().unwrap(), (Ok(12), 6 * MS));
        },
    );
}

/// Receivers in the middle and at the back of the line time out; the rest keep their order.
#[test]
fn receivers_leaving_the_middle_and_back_of_the_line_keep_the_order() {
    sim::check(
        &labrpc::target!("receivers_leaving_the_middle_and_back_of_the_line_keep_the_order"),
        Config::default(),
        || {
            let (tx, rx) = channel::unbounded::<u32>();
            let first = receiver(&rx, "first", None);
            let middle = receiver(&rx, "middle", Some(3 * MS)); // queued at 1 ms, leaves at 4 ms
            let third = receiver(&rx, "third", None);
            let back = receiver(&rx, "back", Some(MS + MS / 2)); // queued at 3 ms, leaves at 4.5 ms
            time::sleep(2 * MS); // 6 ms: both left
            send_one_by_one(&tx, &[20, 21, 22]);
            assert_eq!(first.join().unwrap(), (Ok(20), 6 * MS));
            assert_eq!(middle.join().unwrap(), (Err(RecvTimeoutError::Timeout), 4 * MS));
            assert_eq!(third.join().unwrap(), (Ok(21), 7 * MS));
            assert_eq!(back.join().unwrap(), (Err(RecvTimeoutError::Timeout), 4 * MS + MS / 2));
            assert_eq!(rx.try_recv(), Ok(22), "the value nobody waited for stays in the channel");
        },
    );
}

/// Senders blocked on a full bounded channel get room in the order they came.
#[test]
fn senders_waiting_for_room_get_it_in_arrival_order() {
    sim::check(&labrpc::target!("senders_waiting_for_room_get_it_in_arrival_order"), Config::default(), || {
        let (tx, rx) = channel::bounded::<u32>(1);
        tx.send(0).unwrap();
        let entered = Arc::new(AtomicU32::new(0));
        let mut senders = Vec::new();
        for k in 1..=4u32 {
            let (tx, entered) = (tx.clone(), entered.clone());
            senders.push(thread::Builder::new().name(format!("sender {k}")).spawn(move || {
                tx.send(k).unwrap();
                entered.fetch_add(1, Ordering::SeqCst);
            }));
            time::sleep(MS);
        }
        assert_eq!(entered.load(Ordering::SeqCst), 0, "every sender waits for room");
        let received: Vec<u32> = (0..5).map(|_| rx.recv().unwrap()).collect();
        assert_eq!(received, [0, 1, 2, 3, 4]);
        for s in senders {
            s.join().unwrap();
        }
    });
}

/// A rendezvous sender whose receivers all leave gets its own value back, and the channel is
/// left empty (the value is taken back from the queue, not left behind).
#[test]
fn a_rendezvous_sender_left_alone_gets_its_value_back() {
    sim::check(&labrpc::target!("a_rendezvous_sender_left_alone_gets_its_value_back"), Config::default(), || {
        let (tx, rx) = channel::bounded::<u32>(0);
        let tx2 = tx.clone();
        let sender = thread::spawn(move || tx2.send(77));
        time::sleep(MS);
        assert_eq!(tx.len(), 1, "the offered value waits in the channel");
        drop(rx);
        assert_eq!(sender.join().unwrap(), Err(SendError(77)));
        assert_eq!(tx.len(), 0);
    });
}

/// Values sent back to back, before any woken receiver runs, each wake a different receiver.
#[test]
fn back_to_back_values_wake_one_receiver_each() {
    sim::check(&labrpc::target!("back_to_back_values_wake_one_receiver_each"), Config::default(), || {
        let (tx, rx) = channel::unbounded::<u32>();
        let receivers: Vec<_> = (0..3).map(|k| receiver(&rx, &format!("r{k}"), None)).collect();
        for v in [30, 31, 32] {
            tx.send(v).unwrap();
        }
        let mut got: Vec<u32> = receivers.into_iter().map(|h| h.join().unwrap().0.unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, [30, 31, 32]);
    });
}
