//! Coroutine stacks carved many at a time from one mapping. One mapping per stack (corosensei's
//! `DefaultStack`) cost an `mmap` and an `mprotect` each, the `mprotect` splitting the mapping
//! in two, and then a page fault for each of the stack's first pages: together about 5% of the
//! Raft family's process, which makes about 430 stacks. Here a chunk of stacks is one `mmap`;
//! on Linux its guard pages are installed in one call (`MADV_GUARD_INSTALL`, which leaves the
//! mapping whole) and the top pages that nearly every thread touches are filled in one more
//! (`MADV_POPULATE_WRITE`), both through `process_madvise` on this process.
//!
//! Every stack keeps a guard page below it, so a runaway recursion in a simulated thread still
//! stops with a segmentation fault at its own stack's end rather than writing into its
//! neighbour's (`a_runaway_recursion_hits_the_guard_page` below). Where a call above is missing
//! (an older kernel, another Unix), each guard page is set with `madvise` or `mprotect` instead
//! and the top pages fault in as they are touched: the same stacks, only slower to make.

use std::io;
use std::num::NonZeroUsize;
use std::ptr;

use corosensei::stack::valgrind::ValgrindStackRegistration;
use corosensei::stack::{Stack, StackPointer};

/// Stacks made per mapping: few enough that the pages filled ahead for stacks nobody takes stay
/// small (at most 31 x 2 pages), many enough that mappings are rare (14 for the Raft family).
pub(crate) const STACKS_PER_CHUNK: usize = 32;

/// Pages at the top of each new stack filled ahead: the two nearly every simulated thread
/// touches (the coroutine's start frame, then the thread's own frames).
const PREFILLED_PAGES: usize = 2;

/// One coroutine stack inside a chunk: a guard page at `limit`, then the usable bytes up to
/// `base`.
pub(crate) struct CarvedStack {
    base: StackPointer,
    limit: StackPointer,
    valgrind: std::mem::ManuallyDrop<ValgrindStackRegistration>,
}

// SAFETY: `base` is aligned to the page size (so to `STACK_ALIGNMENT`), the guard page lies below
// the usable bytes and inside `limit..base`, and the usable bytes are at least a page.
unsafe impl Stack for CarvedStack {
    #[inline]
    fn base(&self) -> StackPointer {
        self.base
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        self.limit
    }
}

impl Drop for CarvedStack {
    /// Unmaps this stack's part of its chunk (the pools keep nearly every stack; this runs only
    /// past their bound).
    fn drop(&mut self) {
        // SAFETY: dropped once, here.
        unsafe { std::mem::ManuallyDrop::drop(&mut self.valgrind) };
        let start = self.limit.get();
        // SAFETY: `start..base` is this stack's own range of a mapping, used by nobody else.
        let unmapped = unsafe { libc::munmap(start as *mut libc::c_void, self.base.get() - start) };
        debug_assert_eq!(unmapped, 0, "labrpc: munmap of a coroutine stack failed");
    }
}

fn page_bytes() -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    assert!(page > 0 && (page as usize).is_power_of_two(), "labrpc: odd page size {page}");
    page as usize
}

/// Maps `count` stacks of at least `size_bytes` usable bytes each, with a guard page below each.
pub(crate) fn carve(size_bytes: usize, count: usize) -> io::Result<Vec<CarvedStack>> {
    assert!(count > 0, "labrpc: carve asked for no stacks");
    let page = page_bytes();
    let usable = size_bytes.max(page).next_multiple_of(page);
    let slot = usable + page;
    let len = slot.checked_mul(count).expect("labrpc: coroutine stack chunk overflows usize");
    // SAFETY: a fresh anonymous mapping; no existing memory is touched.
    let start = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | map_stack(),
            -1,
            0,
        )
    };
    if start == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let start = start as usize;
    let guards: Vec<(usize, usize)> = (0..count).map(|i| (start + i * slot, page)).collect();
    if let Err(e) = install_guards(&guards) {
        // SAFETY: the mapping made above, not handed out yet.
        unsafe { libc::munmap(start as *mut libc::c_void, len) };
        return Err(e);
    }
    let prefill = (PREFILLED_PAGES * page).min(usable);
    let tops: Vec<(usize, usize)> = (0..count).map(|i| (start + (i + 1) * slot - prefill, prefill)).collect();
    prefill_pages(&tops);
    Ok((0..count)
        .map(|i| {
            let limit = start + i * slot;
            CarvedStack {
                base: NonZeroUsize::new(limit + slot).expect("mapping at address 0"),
                limit: NonZeroUsize::new(limit).expect("mapping at address 0"),
                valgrind: std::mem::ManuallyDrop::new(ValgrindStackRegistration::new(limit as *mut u8, slot)),
            }
        })
        .collect())
}

#[cfg(target_os = "linux")]
fn map_stack() -> libc::c_int {
    // Also keeps transparent huge pages off the chunk (Linux 6.7 on): a stack needs 2 pages, not 512.
    libc::MAP_STACK
}

#[cfg(not(target_os = "linux"))]
fn map_stack() -> libc::c_int {
    0
}

/// Makes each `(address, bytes)` range fault on any access.
fn install_guards(ranges: &[(usize, usize)]) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    if linux::advise_all(ranges, linux::MADV_GUARD_INSTALL) {
        return Ok(());
    }
    install_guards_one_by_one(ranges)
}

/// `install_guards` without `process_madvise` (before Linux 6.15), or on another Unix.
fn install_guards_one_by_one(ranges: &[(usize, usize)]) -> io::Result<()> {
    for &(at, bytes) in ranges {
        #[cfg(target_os = "linux")]
        // SAFETY: a range of our own fresh mapping.
        if unsafe { libc::madvise(at as *mut libc::c_void, bytes, linux::MADV_GUARD_INSTALL) } == 0 {
            continue;
        }
        // SAFETY: a range of our own fresh mapping.
        if unsafe { libc::mprotect(at as *mut libc::c_void, bytes, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Fills the ranges' pages now, in one call, rather than at one fault each later. Only a
/// speed-up: where the call is missing the pages fault in as before.
fn prefill_pages(ranges: &[(usize, usize)]) {
    #[cfg(target_os = "linux")]
    linux::advise_all(ranges, libc::MADV_POPULATE_WRITE);
    #[cfg(not(target_os = "linux"))]
    let _ = ranges;
}

#[cfg(target_os = "linux")]
mod linux {
    /// `MADV_GUARD_INSTALL` (Linux 6.13 on; not in the libc crate yet): guard pages as page-table
    /// markers, without splitting the mapping as `mprotect` does.
    pub(super) const MADV_GUARD_INSTALL: libc::c_int = 102;

    /// `PIDFD_SELF` (Linux 6.15 on): the calling thread, so this process's memory, without
    /// opening a pidfd (which a forked child would share with its parent).
    const PIDFD_SELF: libc::c_int = -10000;

    /// Applies `advice` to every `(address, bytes)` range in one `process_madvise` call; whether
    /// it was applied to all of them.
    pub(super) fn advise_all(ranges: &[(usize, usize)], advice: libc::c_int) -> bool {
        let iov: Vec<libc::iovec> = ranges
            .iter()
            .map(|&(at, bytes)| libc::iovec { iov_base: at as *mut libc::c_void, iov_len: bytes })
            .collect();
        let total: usize = ranges.iter().map(|&(_, bytes)| bytes).sum();
        // SAFETY: the ranges are our own mappings; the kernel only reads `iov`.
        let done = unsafe { libc::syscall(libc::SYS_process_madvise, PIDFD_SELF, iov.as_ptr(), iov.len(), advice, 0) };
        done >= 0 && done as usize == total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_are_disjoint_page_aligned_and_writable() {
        let page = page_bytes();
        let stacks = carve(64 * 1024 + 1, 3).unwrap();
        for (i, stack) in stacks.iter().enumerate() {
            let (base, limit) = (stack.base().get(), stack.limit().get());
            assert_eq!(base % page, 0);
            assert_eq!(base - limit, 64 * 1024 + page + page, "usable bytes rounded up to a page, plus the guard");
            // SAFETY: the usable bytes of a stack nobody runs on.
            unsafe { ptr::write_bytes((limit + page) as *mut u8, 0xa5, base - limit - page) };
            if let Some(next) = stacks.get(i + 1) {
                assert!(next.limit().get() >= base, "stacks overlap");
            }
        }
    }

    /// Whether the kernel can read the byte at `at` (a write to a pipe fails with EFAULT on a
    /// guard page, where a read of our own would crash the test).
    fn readable(at: usize) -> bool {
        let mut fds = [0; 2];
        // SAFETY: plain system calls on a pipe of our own; `at` is only read by the kernel.
        unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            let wrote = libc::write(fds[1], at as *const libc::c_void, 1);
            libc::close(fds[0]);
            libc::close(fds[1]);
            wrote == 1
        }
    }

    #[test]
    fn every_stack_has_a_guard_page_below_it() {
        let page = page_bytes();
        let stacks = carve(16 * 1024, STACKS_PER_CHUNK).unwrap();
        for stack in &stacks {
            let (base, limit) = (stack.base().get(), stack.limit().get());
            assert!(!readable(limit) && !readable(limit + page - 1), "no guard page at {limit:#x}");
            assert!(readable(limit + page) && readable(base - 1), "usable bytes of {limit:#x} not accessible");
        }
    }

    #[test]
    fn guards_set_one_by_one_guard_too() {
        let page = page_bytes();
        let mut stacks = carve(page, 2).unwrap();
        let stack = stacks.pop().unwrap();
        let limit = stack.limit().get();
        // A page of the other stack, made a guard the slow way.
        let other = stacks[0].limit().get() + page;
        assert!(readable(other));
        install_guards_one_by_one(&[(other, page)]).unwrap();
        assert!(!readable(other) && !readable(limit) && readable(limit + page));
    }

    /// The child's exit status when the recursion faulted within a stack's length of where it
    /// began (at its own guard page), and when it faulted further down (it ran past its stack).
    const AT_OWN_GUARD: i32 = 71;
    const PAST_OWN_STACK: i32 = 72;

    /// End to end: a simulated thread that recurses without end faults at its own stack's guard
    /// page (in this test binary, run again as a child), not further down in its neighbour's.
    #[test]
    fn a_runaway_recursion_hits_the_guard_page() {
        const CHILD: &str = "LABRPC_RUNAWAY_RECURSION_CHILD";
        if std::env::var_os(CHILD).is_some() {
            runaway_recursion_in_a_simulation();
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "sched::stack_chunk::tests::a_runaway_recursion_hits_the_guard_page", "--nocapture"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(AT_OWN_GUARD),
            "{:?} ({PAST_OWN_STACK}: ran past its stack)\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Where the recursion began.
    static TOP: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    extern "C" fn on_segv(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo for SIGSEGV.
        let fault = unsafe { (*info).si_addr() } as usize;
        let top = TOP.load(std::sync::atomic::Ordering::Relaxed);
        let own = crate::sim::Config::default().stack_size_bytes + 2 * page_bytes();
        let code = if top > fault && top - fault <= own { AT_OWN_GUARD } else { PAST_OWN_STACK };
        // SAFETY: async-signal-safe.
        unsafe { libc::_exit(code) };
    }

    fn runaway_recursion_in_a_simulation() {
        // SAFETY: a handler of our own for this child process, on an alternate stack of its own
        // (the faulting stack has no room left).
        unsafe {
            let alt = Box::leak(vec![0u8; 256 * 1024].into_boxed_slice());
            let stack = libc::stack_t { ss_sp: alt.as_mut_ptr().cast(), ss_flags: 0, ss_size: alt.len() };
            assert_eq!(libc::sigaltstack(&stack, ptr::null_mut()), 0);
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction =
                on_segv as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            assert_eq!(libc::sigaction(libc::SIGSEGV, &action, ptr::null_mut()), 0);
        }
        #[inline(never)]
        fn deeper(depth: u64, frame: &mut [u8; 512]) -> u64 {
            let mut mine = [0u8; 512];
            mine[0] = frame[0].wrapping_add(1);
            std::hint::black_box(&mut mine);
            if depth == u64::MAX {
                return 0;
            }
            deeper(depth + 1, &mut mine) + u64::from(mine[1])
        }
        let _ = crate::sim::run(1, &crate::sim::Config::default(), || {
            let handle = crate::thread::spawn(|| {
                let mut first = [0u8; 512];
                TOP.store(first.as_ptr() as usize, std::sync::atomic::Ordering::Relaxed);
                deeper(0, &mut first)
            });
            let _ = handle.join();
        });
        println!("the recursion ended");
    }
}
