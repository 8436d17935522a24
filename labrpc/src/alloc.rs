//! Memory per node, measured by the harness: a counting global allocator that charges every
//! allocation to the node of the simulated thread that made it.
//!
//! A library cannot choose the allocator for the binaries that link it (and a `#[global_allocator]`
//! here would clash with any binary that declares its own), so each binary that wants the figures
//! opts in with one line:
//!
//! ```ignore
//! labrpc::count_allocations!();
//! ```
//!
//! Without it (or outside a simulation) nothing is counted and [`crate::node::memory`] answers
//! `None`.
//!
//! How: every block carries a 16-byte header just before the pointer handed out, holding the
//! ledger of the node that allocated it (or null). A free, on whatever node or OS thread, is
//! credited to that ledger, so "live bytes" of a node are the bytes its threads allocated
//! that nobody has freed yet. The running thread's ledger sits in a thread-local the scheduler
//! sets at every switch; the allocator itself never allocates.
//!
//! Cheap on the hot path: a simulation runs on one OS thread, so allocations and almost all frees
//! update the ledger with plain (unlocked) loads and stores; only a free on another OS thread,
//! or after the simulation ended, takes an atomic read-modify-write. A ledger outlives its
//! simulation while blocks it counts are alive (a value returned from the run): when the
//! simulation ends, its outstanding bytes move to the atomic `remote` balance, and whoever brings
//! that balance to zero frees the ledger.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::{c_int, c_long, c_void};
use std::ptr;
use std::sync::atomic::{fence, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

mod free_cache;

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc, mi_zalloc_aligned,
};

/// Bytes before every user pointer: the ledger pointer (8) and padding, so a user alignment up to
/// 16 needs no larger offset.
const HEADER_BYTES: usize = 16;

/// One node's counters. Live bytes are `charged - credited_local + remote`.
pub(crate) struct NodeLedger {
    /// The OS thread running the simulation (`thread_token`), 0 once it has ended. Only that
    /// thread writes `charged` and `credited_local`.
    owner_thread: AtomicUsize,
    /// Bytes ever allocated by the node.
    charged: AtomicU64,
    /// Bytes freed on the owner thread while the simulation runs.
    credited_local: AtomicU64,
    /// Minus the bytes freed elsewhere; once the simulation has ended, plus what it left live.
    remote: AtomicI64,
}

/// Tells OS threads apart without a syscall: the address of this thread's `CURRENT`.
#[inline]
fn thread_token() -> usize {
    CURRENT.with(|c| c as *const Cell<*const NodeLedger> as usize)
}

/// A plain add for a counter only one thread writes (no lock prefix on the hot path).
#[inline]
fn bump(counter: &AtomicU64, by: usize) {
    counter.store(counter.load(Ordering::Relaxed) + by as u64, Ordering::Relaxed);
}

thread_local! {
    /// The ledger allocations on this OS thread are charged to right now (null: none).
    static CURRENT: Cell<*const NodeLedger> = const { Cell::new(ptr::null()) };
}

/// A node's memory figures (`node::memory`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory {
    /// Bytes the node's threads allocated and nobody has freed yet.
    pub live_bytes: u64,
    /// Bytes the node's threads ever allocated.
    pub allocated_bytes: u64,
}

/// The runtime's handle on a node's ledger; dropping it (when the simulation ends) lets the last
/// block freed free the ledger.
pub(crate) struct LedgerOwner(*const NodeLedger);

// SAFETY: the ledger is only touched through atomics.
unsafe impl Send for LedgerOwner {}

impl LedgerOwner {
    pub(crate) fn new() -> LedgerOwner {
        keep_freed_memory();
        let layout = Layout::new::<NodeLedger>();
        // SAFETY: the layout is not zero-sized. System, not the global allocator: the ledger is
        // freed from inside `dealloc`.
        let raw = unsafe { System.alloc(layout) } as *mut NodeLedger;
        assert!(!raw.is_null(), "labrpc: out of memory for a node ledger");
        // SAFETY: freshly allocated, properly aligned for NodeLedger.
        unsafe {
            raw.write(NodeLedger {
                owner_thread: AtomicUsize::new(thread_token()),
                charged: AtomicU64::new(0),
                credited_local: AtomicU64::new(0),
                remote: AtomicI64::new(0),
            })
        };
        LedgerOwner(raw)
    }

    pub(crate) fn as_ptr(&self) -> *const NodeLedger {
        self.0
    }

    /// (live bytes, bytes ever allocated).
    pub(crate) fn figures(&self) -> (u64, u64) {
        // SAFETY: the owner keeps the ledger alive.
        let ledger = unsafe { &*self.0 };
        let charged = ledger.charged.load(Ordering::Relaxed);
        let local = ledger.credited_local.load(Ordering::Relaxed);
        let live = charged as i64 - local as i64 + ledger.remote.load(Ordering::Relaxed);
        (live.max(0) as u64, charged)
    }
}

impl Drop for LedgerOwner {
    /// The simulation ends (on its own OS thread): later frees anywhere go to `remote`, which
    /// takes over what is still live; the ledger goes when that reaches zero.
    fn drop(&mut self) {
        // SAFETY: alive until this reference is released.
        let ledger = unsafe { &*self.0 };
        debug_assert_eq!(ledger.owner_thread.load(Ordering::Relaxed), thread_token());
        ledger.owner_thread.store(0, Ordering::Relaxed);
        let outstanding =
            ledger.charged.load(Ordering::Relaxed) as i64 - ledger.credited_local.load(Ordering::Relaxed) as i64;
        let previous = ledger.remote.fetch_add(outstanding, Ordering::AcqRel);
        if previous + outstanding == 0 {
            free_ledger(self.0);
        }
    }
}

/// mimalloc's `purge_delay` option (its place in `mi_option_t`, mimalloc 2.x's `mimalloc.h`).
const MI_OPTION_PURGE_DELAY: c_int = 15;
/// mimalloc's default for it (milliseconds), which confirms the option's place.
const MI_DEFAULT_PURGE_DELAY_MS: c_long = 10;

extern "C" {
    fn mi_option_get(option: c_int) -> c_long;
    fn mi_option_set(option: c_int, value: c_long);
}

/// Tells mimalloc never to hand freed memory back to the OS (`purge_delay` -1, unless the
/// environment sets `MIMALLOC_PURGE_DELAY`), once, when the first node is made.
///
/// Why: simulations free and allocate the same few megabytes run after run. By default mimalloc
/// returns pages freed for 10 ms (`MADV_DONTNEED`), so the next run faulted them in again,
/// zeroed: with purging, `suite_bench kvraft` took 4,305 page faults and purged 140 MiB;
/// without, 2,817 faults (peak memory 15 MiB either way).
fn keep_freed_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: plain option calls; a wrong place would read another option's default.
        unsafe {
            if mi_option_get(MI_OPTION_PURGE_DELAY) == MI_DEFAULT_PURGE_DELAY_MS {
                mi_option_set(MI_OPTION_PURGE_DELAY, -1);
            } else {
                debug_assert!(false, "labrpc: mimalloc's purge_delay option is not where expected");
            }
        }
    });
}

fn free_ledger(ledger: *const NodeLedger) {
    fence(Ordering::Acquire);
    // SAFETY: nothing references the ledger any more (no owner, no live block).
    unsafe { System.dealloc(ledger as *mut u8, Layout::new::<NodeLedger>()) };
}

/// Charges this OS thread's allocations to `ledger` (null: to nobody) until the next call.
/// Returns the previous ledger.
#[inline]
pub(crate) fn set_current(ledger: *const NodeLedger) -> *const NodeLedger {
    CURRENT.with(|c| c.replace(ledger))
}

/// Runs `f` with nothing charged to any node: the simulator's own bookkeeping (event records,
/// captured traces, timers) is not the memory of the node whose call happened to grow it.
#[inline]
pub(crate) fn untracked<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(*const NodeLedger);
    impl Drop for Restore {
        fn drop(&mut self) {
            set_current(self.0);
        }
    }
    let _restore = Restore(set_current(ptr::null()));
    f()
}

/// True when this binary's global allocator is [`CountingAlloc`] (found once, by charging a
/// probe allocation to a scratch ledger).
pub fn is_counting() -> bool {
    static COUNTING: OnceLock<bool> = OnceLock::new();
    *COUNTING.get_or_init(|| {
        let probe = LedgerOwner::new();
        let previous = set_current(probe.as_ptr());
        drop(std::hint::black_box(Box::new(0u8)));
        set_current(previous);
        probe.figures().1 > 0
    })
}

/// The counting allocator: mimalloc plus a 16-byte header per block. Declare it with
/// [`count_allocations!`](crate::count_allocations).
pub struct CountingAlloc;

/// Declares [`CountingAlloc`] as this binary's global allocator, so `node::memory` has figures.
#[macro_export]
macro_rules! count_allocations {
    () => {
        #[global_allocator]
        static LABRPC_COUNTING_ALLOC: $crate::alloc::CountingAlloc = $crate::alloc::CountingAlloc;
    };
}

// Where the blocks (headers included) come from: mimalloc rather than `System` (glibc malloc): a
// simulation allocates and frees small blocks at a high rate on one OS thread (a thread, a
// channel and encoded messages per RPC), which mimalloc's per-thread free lists serve in fewer
// instructions. Measured with `suite_bench` (CPU seconds, five interleaved rounds, medians):
// kvraft family 1.34 -> 1.20 s, raft family unchanged within noise. Called directly rather than
// through the `mimalloc` crate's allocator, which asks for every block at its alignment: a
// block whose user alignment is at most 8 (nearly all) needs only what plain `mi_malloc` gives.
// Such blocks of up to `free_cache::MAX_BYTES` (header included) freed on a thread are kept
// there a while and handed out again first, while they are still in the CPU's cache.

/// The alignment every `mi_malloc` block has (mimalloc's size classes are multiples of a word).
const PLAIN_ALIGN: usize = std::mem::size_of::<usize>();

/// Bytes from a block's start to the user's pointer: the header, or the user's alignment if
/// larger (so the user's pointer stays aligned).
#[inline]
fn offset_of(layout: Layout) -> usize {
    larger(layout.align(), HEADER_BYTES)
}

/// The block's alignment: the user's (offset is a multiple of it) and the header's, no more
/// (asking 16 for every block sent mimalloc down its slow aligned path whenever the free block
/// of a size class, a multiple of 8, was not 16-aligned).
#[inline]
fn block_align(layout: Layout) -> usize {
    larger(layout.align(), std::mem::align_of::<*const NodeLedger>())
}

/// `a.max(b)` written out: in the dev profile (opt-level 1) `Ord::max` stayed an out-of-line
/// call, twice per allocation, 3.5% of the instructions of `dstest -n 1 -p 1 mem_`.
#[inline(always)]
fn larger(a: usize, b: usize) -> usize {
    if a >= b {
        a
    } else {
        b
    }
}

#[inline]
fn charge(ledger: *const NodeLedger, size: usize) {
    if ledger.is_null() {
        return;
    }
    // SAFETY: a ledger is current only on its simulation's OS thread while the simulation runs,
    // which owns it; so this thread is the only writer of `charged`.
    bump(unsafe { &(*ledger).charged }, size);
}

#[inline]
fn credit(ledger: *const NodeLedger, size: usize) {
    if ledger.is_null() {
        return;
    }
    // SAFETY: the block being freed holds the ledger alive until its bytes are credited.
    let l = unsafe { &*ledger };
    if l.owner_thread.load(Ordering::Relaxed) == thread_token() {
        bump(&l.credited_local, size);
        return;
    }
    let previous = l.remote.fetch_sub(size as i64, Ordering::Release);
    if previous == size as i64 {
        free_ledger(ledger);
    }
}

/// Where a block's ledger pointer is stored, given the pointer handed out.
#[inline]
fn header_of(user: *mut u8) -> *mut *const NodeLedger {
    user.wrapping_sub(HEADER_BYTES) as *mut *const NodeLedger
}

impl CountingAlloc {
    /// A block for `layout` from mimalloc's `plain` call (word alignment) or its `aligned` one,
    /// with the ledger pointer written into its header and the size charged to that ledger.
    /// `reuse`: a small block freed on this thread may serve (its bytes are not zeroed).
    #[inline(always)]
    unsafe fn allocate(
        layout: Layout,
        reuse: bool,
        plain: unsafe extern "C" fn(usize) -> *mut c_void,
        aligned: unsafe extern "C" fn(usize, usize) -> *mut c_void,
    ) -> *mut u8 {
        let offset = offset_of(layout);
        let Some(full) = layout.size().checked_add(offset) else { return ptr::null_mut() };
        let base = match block_align(layout) {
            PLAIN_ALIGN => {
                let kept =
                    if reuse && full <= free_cache::MAX_BYTES { free_cache::take(full) } else { ptr::null_mut() };
                if kept.is_null() {
                    plain(free_cache::class_bytes(full)) as *mut u8
                } else {
                    kept
                }
            }
            align => aligned(full, align) as *mut u8,
        };
        if base.is_null() {
            return base;
        }
        let user = base.add(offset);
        let ledger = CURRENT.with(Cell::get);
        header_of(user).write(ledger);
        charge(ledger, layout.size());
        user
    }
}

// SAFETY: every block is a mimalloc block with the user's pointer `offset_of(layout)` bytes in,
// aligned as the user asked (the block has the user's alignment and the offset is a multiple of
// it); the header lies inside the block. A size that overflows with its offset gets null. A
// word-aligned block of a full size up to `free_cache::MAX_BYTES` is asked of mimalloc (also when
// reallocated) at its class's size, so a kept block of the class fits any request of it.
unsafe impl GlobalAlloc for CountingAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::allocate(layout, true, mi_malloc, mi_malloc_aligned)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::allocate(layout, false, mi_zalloc, mi_zalloc_aligned)
    }

    #[inline]
    unsafe fn dealloc(&self, user: *mut u8, layout: Layout) {
        credit(header_of(user).read(), layout.size());
        let offset = offset_of(layout);
        let base = user.sub(offset);
        let full = layout.size() + offset;
        if block_align(layout) == PLAIN_ALIGN && full <= free_cache::MAX_BYTES && free_cache::keep(base, full) {
            return;
        }
        mi_free(base as *mut c_void);
    }

    #[inline]
    unsafe fn realloc(&self, user: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let offset = offset_of(layout);
        let Some(new_full) = new_size.checked_add(offset) else { return ptr::null_mut() };
        let old = user.sub(offset) as *mut c_void;
        let base = match block_align(layout) {
            PLAIN_ALIGN => mi_realloc(old, free_cache::class_bytes(new_full)),
            align => mi_realloc_aligned(old, new_full, align),
        } as *mut u8;
        if base.is_null() {
            return base; // the old block is untouched and still charged
        }
        let user = base.add(offset);
        // The old bytes go back to whoever allocated them; the new block is the reallocating
        // node's (growing a map on the server charges the server, wherever it was created).
        credit(header_of(user).read(), layout.size());
        let ledger = CURRENT.with(Cell::get);
        header_of(user).write(ledger);
        charge(ledger, new_size);
        user
    }
}
