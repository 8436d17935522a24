//! The determinism record: a running 64-bit hash over every scheduling choice, random draw and
//! virtual timestamp, and, when checking determinism, the event list itself so the first divergent
//! event between two runs of one seed can be named.

use std::fmt;
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// A thread was resumed (value: its park token).
    Switch,
    /// Virtual time advanced (value: new time in ns).
    Advance,
    /// A thread was created (value: its node).
    Spawn,
    /// A random draw from the simulation's streams (value: the draw).
    Draw,
    /// A node crashed, restarted or paused (value: the node).
    NodeChange,
    /// A thread blocked (value: its deadline in ns, or u64::MAX for none).
    Park,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) time_ns: u64,
    pub(crate) task_serial: u64,
    pub(crate) node: u32,
    pub(crate) kind: EventKind,
    pub(crate) value: u64,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |ns: u64| format!("{}.{:03} ms", ns / 1_000_000, (ns / 1_000) % 1000);
        match self.kind {
            EventKind::Switch => write!(f, "resumed (park #{})", self.value),
            EventKind::Advance => write!(f, "virtual time advances to {}", ms(self.value)),
            EventKind::Spawn => write!(f, "spawns thread #{}", self.value),
            EventKind::Draw => write!(f, "draws random value {:#018x}", self.value),
            EventKind::NodeChange => write!(f, "crashes, restarts or pauses node #{}", self.value),
            EventKind::Park if self.value == u64::MAX => write!(f, "blocks with no deadline"),
            EventKind::Park => write!(f, "blocks until {}", ms(self.value)),
        }
    }
}

/// The first event at which a second run of a seed differed from the first.
#[derive(Clone, Debug)]
pub struct Divergence {
    pub index: u64,
    pub first_run: Option<String>,
    pub second_run: Option<String>,
}

pub(crate) enum Mode {
    Off,
    Record(Vec<Event>),
    Compare { expected: Rc<Vec<Event>>, position: usize, divergence: Option<Divergence> },
}

pub(crate) struct Recorder {
    pub(crate) hash: u64,
    pub(crate) events: u64,
    pub(crate) mode: Mode,
}

impl Recorder {
    pub(crate) fn new(mode: Mode) -> Recorder {
        Recorder { hash: 0xcbf2_9ce4_8422_2325, events: 0, mode }
    }

    /// Folds one event into the hash and, when checking determinism, records or compares it.
    /// `describe` names the event's node and thread; it is only called at the first divergence.
    /// Runs at every switch, park, spawn and draw (millions of times in a kv suite), so the hash
    /// is inlined into the caller and only the determinism check's bookkeeping is a call.
    #[inline(always)]
    pub(crate) fn event(&mut self, event: Event, describe: impl Fn(&Event) -> String) {
        // Two words per event: (kind, thread) and (time, value), each pair folded losslessly
        // enough that any change in one field changes the word.
        self.hash = mix(self.hash, event.task_serial ^ ((event.kind as u64) << 58));
        self.hash = mix(self.hash, event.time_ns ^ event.value.rotate_left(32));
        self.events += 1;
        if !matches!(self.mode, Mode::Off) {
            self.keep(event, describe);
        }
    }

    /// `event`'s part for determinism checks: records the event or compares it with the first run's.
    #[inline(never)]
    fn keep(&mut self, event: Event, describe: impl Fn(&Event) -> String) {
        match &mut self.mode {
            Mode::Off => {}
            Mode::Record(events) => {
                if events.len() == events.capacity() {
                    // The simulator's record, not the memory of the node that happened to run.
                    crate::alloc::untracked(|| events.reserve(events.len().max(1024)));
                }
                events.push(event)
            }
            Mode::Compare { expected, position, divergence } => {
                if divergence.is_none() {
                    let want = expected.get(*position);
                    if want != Some(&event) {
                        *divergence = Some(Divergence {
                            index: *position as u64,
                            first_run: want.map(&describe),
                            second_run: Some(describe(&event)),
                        });
                    }
                }
                *position += 1;
            }
        }
    }

    /// At the end of the second run: a divergence, or the first run having had more events.
    pub(crate) fn finish(&mut self, describe: impl Fn(&Event) -> String) -> Option<Divergence> {
        match &mut self.mode {
            Mode::Compare { expected, position, divergence } => {
                if divergence.is_none() && *position < expected.len() {
                    *divergence = Some(Divergence {
                        index: *position as u64,
                        first_run: Some(describe(&expected[*position])),
                        second_run: None,
                    });
                }
                divergence.clone()
            }
            _ => None,
        }
    }

    pub(crate) fn take_events(&mut self) -> Option<Vec<Event>> {
        match std::mem::replace(&mut self.mode, Mode::Off) {
            Mode::Record(events) => Some(events),
            other => {
                self.mode = other;
                None
            }
        }
    }
}

#[inline]
fn mix(hash: u64, word: u64) -> u64 {
    (hash.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95)
}
