//! Swarm testing for the chaos scenarios (as FoundationDB's and TigerBeetle's simulators do): each
//! seed draws which fault kinds are on and at what rate, so one sweep covers many combinations,
//! including the sparse ones where a single kind of fault meets a bug undisturbed by the others.
//! The drawn set is printed on the scenario's first line and traced, so a failure says what was on.
//!
//! Every kind is on with probability 1/2; a rate comes from a short menu. Preemption at lock and
//! send points is on in every chaos run at `PREEMPT_PER_MILLE` (the simulation's config is fixed
//! before the seed is known, so it cannot be drawn per seed).
//!
//! Each topology fault the loop decides on (partition, heal, disconnect, reconnect, cut, heal the
//! cuts, pause, crash) is a fault decision of `labrpc::sim::fault_plan`, asked after its draws:
//! a shrinking run (`dstest --shrink`) records them and may refuse any, and a refused one draws
//! what it would have drawn. Restarts are recovery, not faults, and are never refused.

use std::fmt;
use std::time::Duration;

use labrpc::net::Network;
use labrpc::persister::CrashPoints;
use labrpc::rand;
use labrpc::sim::fault_plan::{allow, FaultKind};
use labrpc::time::{self, Instant};

use super::{Members, Servers};

/// Preemption at lock and send points in every chaos scenario (see `scenario.rs`).
pub const PREEMPT_PER_MILLE: u32 = 20;

/// Bounds of a held reply (rule 10), above the reference's 300-600 ms election timeouts.
pub const HELD_REPLY_MIN: Duration = Duration::from_millis(1000);
pub const HELD_REPLY_MAX: Duration = Duration::from_millis(4000);

/// The fault kinds one seed runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultSet {
    /// 10% of requests and replies dropped, 0-26 ms request delays.
    pub unreliable: bool,
    /// About 2/3 of replies held 200-2200 ms.
    pub long_reordering: bool,
    /// Per mille of requests delivered again 0.5-5 s later (rule 8).
    pub late_duplicate_per_mille: u32,
    /// Per mille of replies held `HELD_REPLY_MIN..=HELD_REPLY_MAX` (rule 10).
    pub held_reply_per_mille: u32,
    /// Per mille of handled requests after whose reply the server crashes (rule 9).
    pub crash_after_reply_per_mille: u32,
    /// Crash points of every server's persister (rules 11 and 12).
    pub crash_points: CrashPoints,
    /// Two-way partitions and disconnected servers, made and healed by the scenario.
    pub partitions: bool,
    /// One-way link cuts.
    pub one_way_cuts: bool,
    /// Servers paused for up to 2 s.
    pub pauses: bool,
    /// Servers crashed by the harness and restarted later.
    pub crashes: bool,
}

/// On with probability 1/2, then a rate from `menu`; 0 when off.
fn maybe_rate(menu: &[u32]) -> u32 {
    if !rand::per_mille(500) {
        return 0;
    }
    menu[rand::range(0..menu.len() as u64) as usize]
}

impl FaultSet {
    /// Draws a fault set from the seed's stream.
    pub fn draw() -> FaultSet {
        let coin = || rand::per_mille(500);
        FaultSet {
            unreliable: coin(),
            long_reordering: coin(),
            late_duplicate_per_mille: maybe_rate(&[20, 100, 300]),
            held_reply_per_mille: maybe_rate(&[10, 50, 150]),
            crash_after_reply_per_mille: maybe_rate(&[1, 3]),
            crash_points: CrashPoints {
                mid_save_per_mille: maybe_rate(&[1, 3, 10]),
                after_save_per_mille: maybe_rate(&[1, 3, 10]),
            },
            partitions: coin(),
            one_way_cuts: coin(),
            pauses: coin(),
            crashes: coin(),
        }
    }

    /// Whether some fault stops or cuts off servers (the scenario's fault loop has work to do).
    pub fn has_topology_faults(&self) -> bool {
        self.partitions || self.one_way_cuts || self.pauses || self.crashes
    }

    /// Turns the drawn network rules on (reliability is the cluster's constructor argument).
    pub fn apply(&self, net: &Network) {
        net.set_reliable(!self.unreliable);
        net.set_long_reordering(self.long_reordering);
        net.set_late_duplicate_per_mille(self.late_duplicate_per_mille);
        net.set_held_replies(self.held_reply_per_mille, HELD_REPLY_MIN, HELD_REPLY_MAX);
        net.set_crash_after_reply_per_mille(self.crash_after_reply_per_mille);
    }

    /// Turns every network rule off for the final checks (messages already in flight still
    /// arrive late).
    pub fn quiet(net: &Network) {
        FaultSet::none().apply(net);
    }

    /// No faults at all.
    pub fn none() -> FaultSet {
        FaultSet {
            unreliable: false,
            long_reordering: false,
            late_duplicate_per_mille: 0,
            held_reply_per_mille: 0,
            crash_after_reply_per_mille: 0,
            crash_points: CrashPoints::default(),
            partitions: false,
            one_way_cuts: false,
            pauses: false,
            crashes: false,
        }
    }
}

/// One line: the kinds that are on, with their rates, then the ones that are off.
impl fmt::Display for FaultSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = |name: &str, per_mille: u32| (per_mille > 0).then(|| format!("{name} {per_mille}‰"));
        let flag = |name: &str, on: bool| on.then(|| name.to_string());
        let kinds: [(&str, Option<String>); 11] = [
            ("unreliable", flag("unreliable", self.unreliable)),
            ("long-reordering", flag("long-reordering", self.long_reordering)),
            ("late-duplicates", rate("late-duplicates", self.late_duplicate_per_mille)),
            ("held-replies", rate("held-replies", self.held_reply_per_mille)),
            ("crash-after-reply", rate("crash-after-reply", self.crash_after_reply_per_mille)),
            ("crash-mid-save", rate("crash-mid-save", self.crash_points.mid_save_per_mille)),
            ("crash-after-save", rate("crash-after-save", self.crash_points.after_save_per_mille)),
            ("partitions", flag("partitions", self.partitions)),
            ("one-way-cuts", flag("one-way-cuts", self.one_way_cuts)),
            ("pauses", flag("pauses", self.pauses)),
            ("crashes", flag("crashes", self.crashes)),
        ];
        let on: Vec<&str> = kinds.iter().filter_map(|(_, on)| on.as_deref()).collect();
        let off: Vec<&str> = kinds.iter().filter(|(_, on)| on.is_none()).map(|(name, _)| *name).collect();
        let on = if on.is_empty() { "nothing".to_string() } else { on.join(", ") };
        write!(
            f,
            "on: {on}, preemption {PREEMPT_PER_MILLE}‰; off: {}",
            if off.is_empty() { "-".into() } else { off.join(", ") }
        )
    }
}

/// What the fault loop needs of a cluster beyond the shared view: how a server restarts.
pub trait Target {
    type Members: Members;
    fn servers(&self) -> Servers<'_, Self::Members>;
    /// Starts server `i` from a copy of its persister and connects it.
    fn restart(&self, i: usize);
}

/// How often the fault loop looks for servers that went down at a crash point.
const TICK: Duration = Duration::from_millis(10);
/// How long a crashed server stays down, in milliseconds.
const DOWN_MS: std::ops::Range<u64> = 200..2000;
/// Longest pause, in milliseconds.
pub const MAX_PAUSE_MS: u64 = 2000;

/// The fault loop's view of the cluster.
struct Loop<'a, T: Target> {
    target: &'a T,
    faults: FaultSet,
    restart_at: Vec<Option<Instant>>,
    paused_until: Vec<Instant>,
    connected: Vec<bool>,
    cuts: Vec<(usize, usize)>,
}

/// Runs the drawn faults on `target` for `duration`: every 10 ms reaps servers downed by crash
/// points and restarts crashed servers whose down time (200-2000 ms) is over; every 100-1000 ms
/// (after a first quiet second) takes one step of a topology kind the seed turned on. Heals the
/// one-way cuts it made before returning.
pub fn run_faults<T: Target>(target: &T, faults: &FaultSet, duration: Duration) {
    let servers = target.servers();
    let n = servers.n();
    let start = time::now();
    let mut lp = Loop {
        target,
        faults: *faults,
        restart_at: vec![None; n],
        paused_until: vec![start; n],
        connected: vec![true; n],
        cuts: Vec::new(),
    };
    let deadline = start + duration;
    let mut next_step = start + Duration::from_secs(1);
    for _ in 0..duration.as_millis() / TICK.as_millis() {
        let now = time::now();
        if now >= deadline {
            break;
        }
        for i in servers.reap_self_crashed() {
            lp.restart_at[i] = Some(now + Duration::from_millis(rand::range(DOWN_MS)));
        }
        for i in 0..n {
            if lp.restart_at[i].is_some_and(|t| t <= now) {
                lp.restart_at[i] = None;
                if !servers.is_running(i) {
                    restart(target, i);
                    lp.connected[i] = true;
                }
            }
        }
        if now >= next_step {
            lp.step();
            next_step = now + Duration::from_millis(rand::range(100..1000));
        }
        time::sleep(TICK);
    }
    for (from, to) in lp.cuts.drain(..) {
        servers.heal_cut(from, to);
    }
}

fn restart<T: Target>(target: &T, i: usize) {
    target.servers().fabric.journal.fault_restart(i);
    target.restart(i);
}

/// Ends any partition and connects every running server.
fn heal_partition<M: Members>(servers: &Servers<'_, M>) {
    servers.heal_partition();
    for i in (0..servers.n()).filter(|&i| servers.is_running(i)) {
        servers.connect(i);
    }
}

/// Stops the faults (`run_faults` healed its cuts): network rules and crash points off, then
/// (once handlers still running under the old rules, a paused one's included, are done and may
/// have crashed their node after replying) no partition and every server running and connected.
pub fn heal_all<T: Target>(target: &T) {
    let servers = target.servers();
    FaultSet::quiet(&servers.fabric.net);
    servers.set_crash_points(CrashPoints::default());
    time::sleep(Duration::from_millis(MAX_PAUSE_MS + 500));
    servers.reap_self_crashed();
    heal_partition(&servers);
    for i in 0..servers.n() {
        if !servers.is_running(i) {
            restart(target, i);
        }
        servers.connect(i);
    }
}

impl<T: Target> Loop<'_, T> {
    fn pick(&self) -> usize {
        rand::range(0..self.target.servers().n() as u64) as usize
    }

    fn step(&mut self) {
        let f = self.faults;
        let kinds: Vec<u8> = [f.partitions, f.one_way_cuts, f.pauses, f.crashes]
            .iter()
            .zip(0u8..)
            .filter_map(|(&on, kind)| on.then_some(kind))
            .collect();
        if kinds.is_empty() {
            return;
        }
        let t = self.target.servers();
        let n = t.n();
        match kinds[rand::range(0..kinds.len() as u64) as usize] {
            0 => match rand::range(0..3) {
                0 => {
                    let mut servers: Vec<usize> = (0..n).collect();
                    rand::shuffle(&mut servers);
                    let split = rand::range(1..n as u64) as usize;
                    let (a, b) = (servers[..split].to_vec(), servers[split..].to_vec());
                    if allow(FaultKind::Partition, || format!("servers {a:?} | {b:?}")) {
                        t.partition(&[a, b]);
                    }
                }
                1 => {
                    if allow(FaultKind::HealPartition, String::new) {
                        heal_partition(&t);
                        self.connected.iter_mut().for_each(|c| *c = true);
                    }
                }
                _ => {
                    let i = self.pick();
                    let kind = if self.connected[i] { FaultKind::Disconnect } else { FaultKind::Reconnect };
                    if t.is_running(i) && allow(kind, || format!("server {i}")) {
                        if self.connected[i] {
                            t.disconnect(i);
                        } else {
                            t.connect(i);
                        }
                        self.connected[i] = !self.connected[i];
                    }
                }
            },
            1 => {
                let (from, to) = (self.pick(), self.pick());
                if rand::per_mille(300) {
                    if !self.cuts.is_empty() && allow(FaultKind::HealCuts, || format!("cuts {:?}", self.cuts)) {
                        for (from, to) in self.cuts.drain(..) {
                            t.heal_cut(from, to);
                        }
                    }
                } else if from != to
                    && !self.cuts.contains(&(from, to))
                    && allow(FaultKind::Cut, || format!("server {from} -> server {to}"))
                {
                    t.cut(from, to);
                    self.cuts.push((from, to));
                }
            }
            2 => {
                let i = self.pick();
                let now = time::now();
                if t.is_running(i) && self.paused_until[i] <= now {
                    let pause = Duration::from_millis(rand::range(100..MAX_PAUSE_MS));
                    if allow(FaultKind::Pause, || format!("server {i} for {} ms", pause.as_millis())) {
                        t.pause(i, pause);
                        self.paused_until[i] = now + pause;
                    }
                }
            }
            _ => {
                let i = self.pick();
                if t.is_running(i) {
                    if allow(FaultKind::Crash, || format!("server {i}")) {
                        t.fabric.journal.fault_crash(i);
                        t.crash(i);
                        self.restart_at[i] = Some(time::now() + Duration::from_millis(rand::range(DOWN_MS)));
                    } else {
                        // Refused: draw the down time all the same (see the module doc).
                        rand::range(DOWN_MS);
                    }
                }
            }
        }
    }
}
