//! What a parked thread waits for, kept so a deadlock report can say it, and how it was woken.

use super::task::TaskId;
use crate::sync::mutex::SimLock;

/// `repr(u8)`: a one-byte tag leaves `Option<TaskSlot>` a `bool`'s spare values in the slot's
/// first cache line as its niche (left to itself, the tag took four bytes, a larger niche, in
/// the second line). Sixteen bytes, a tag and a word, so a park takes it in two registers: at 24
/// (a `dyn` pointer for the mutex) it went through memory, and reading back as one 16-byte
/// copy what was just written as a byte and words stalled every park on store forwarding.
#[derive(Clone, Copy)]
#[repr(u8)]
pub(crate) enum Wait {
    Sleep,
    /// Points at the lock's bookkeeping; valid while the waiter is parked inside `lock()`, which
    /// borrows the mutex for that whole time.
    Mutex(*const SimLock),
    Condvar {
        id: u64,
    },
    Recv {
        channel: u64,
    },
    Send {
        channel: u64,
    },
    Join {
        serial: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Still parked (never observed by a woken thread).
    Pending,
    /// Another thread called `unpark`.
    Notified,
    /// Its deadline passed first.
    TimedOut,
}

/// A place in a wait queue: the thread and the park it will be woken from. A ticket taken before
/// a park and left behind (timeout, kill) can never wake a later park of the same thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket {
    pub(crate) task: TaskId,
    pub(crate) token: u64,
}
