//! Small blocks freed a moment ago, kept per size class on their OS thread and handed out again
//! first.
//!
//! Why: mimalloc serves a size class from one page's free list and puts freed blocks on a second
//! list that it takes up only once the first runs dry, so a freed block comes back after all of
//! its page's other free blocks did. By then its cache line is cold, and `mi_malloc` stalls
//! reading the next-block pointer out of it (that one load was most of mimalloc's share of a
//! simulation's CPU). A simulation frees and allocates the same sizes over and over (a call's
//! request, reply, channel and thread), so a block taken from here is usually still in the cache,
//! and popping it reads nothing from the block itself.
//!
//! Blocks here are mimalloc blocks of at least their class's size: every block whose full size
//! (header included) is at most [`MAX_BYTES`] is asked of mimalloc at [`class_bytes`], so any
//! block of a class fits any request of it. A thread's blocks go back to mimalloc when it exits.

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::ptr;

use libmimalloc_sys::mi_free;

/// Size classes are this many bytes apart.
const CLASS_STEP_BYTES: usize = 16;
/// Blocks up to this full size are kept; larger ones go straight back to mimalloc.
pub(super) const MAX_BYTES: usize = 512;
const CLASSES: usize = MAX_BYTES / CLASS_STEP_BYTES;
/// Blocks kept per class: a class and its count fill two cache lines.
const DEPTH: usize = 15;

/// The size to ask mimalloc for a block of `full` bytes: rounded up to its class when it is one
/// this cache may keep.
#[inline(always)]
pub(super) fn class_bytes(full: usize) -> usize {
    if full <= MAX_BYTES {
        (full + CLASS_STEP_BYTES - 1) & !(CLASS_STEP_BYTES - 1)
    } else {
        full
    }
}

#[inline(always)]
fn class_of(full: usize) -> usize {
    debug_assert!((1..=MAX_BYTES).contains(&full));
    (full - 1) / CLASS_STEP_BYTES
}

#[repr(C, align(64))]
struct Class {
    len: usize,
    blocks: [*mut u8; DEPTH],
}

/// Whether a thread's cache takes blocks: not before its exit flush is registered, not after it ran.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Unregistered,
    Open,
    Closed,
}

struct Cache {
    classes: [Class; CLASSES],
    state: State,
}

thread_local! {
    // No destructor of its own, so reaching it costs no check; `FLUSH_AT_EXIT` empties it.
    static CACHE: UnsafeCell<Cache> = const {
        UnsafeCell::new(Cache {
            classes: [const { Class { len: 0, blocks: [ptr::null_mut(); DEPTH] } }; CLASSES],
            state: State::Unregistered,
        })
    };
    static FLUSH_AT_EXIT: FlushAtExit = const { FlushAtExit };
}

struct FlushAtExit;

impl Drop for FlushAtExit {
    /// The thread exits: its kept blocks go back to mimalloc, and later frees (other thread-local
    /// destructors) go straight there.
    fn drop(&mut self) {
        CACHE.with(|cache| {
            // SAFETY: only this thread touches its cache; nothing here re-enters it.
            let cache = unsafe { &mut *cache.get() };
            cache.state = State::Closed;
            for class in &mut cache.classes {
                for &block in &class.blocks[..class.len] {
                    // SAFETY: a kept block is a live mimalloc block nobody else holds.
                    unsafe { mi_free(block as *mut c_void) };
                }
                class.len = 0;
            }
        });
    }
}

/// A kept block for `full` bytes (at most [`MAX_BYTES`]), or null when its class has none.
#[inline(always)]
pub(super) fn take(full: usize) -> *mut u8 {
    let cache = CACHE.with(UnsafeCell::get);
    // SAFETY: only this thread touches its cache, and nothing here re-enters it.
    let class = unsafe { &mut (*cache).classes[class_of(full)] };
    if class.len == 0 {
        return ptr::null_mut();
    }
    class.len -= 1;
    class.blocks[class.len]
}

/// Keeps the freed block `base` of `full` bytes (at most [`MAX_BYTES`]); false when its class is
/// full (or the thread is exiting) and the caller must free it.
#[inline(always)]
pub(super) fn keep(base: *mut u8, full: usize) -> bool {
    let cache = CACHE.with(UnsafeCell::get);
    // SAFETY: as in `take`; `open` holds no reference while it registers the flush.
    unsafe {
        if (*cache).state != State::Open && !open(cache) {
            return false;
        }
        let class = &mut (*cache).classes[class_of(full)];
        if class.len == DEPTH {
            return false;
        }
        class.blocks[class.len] = base;
        class.len += 1;
    }
    true
}

/// Opens a new thread's cache, registering its flush at the thread's exit; false once closed.
#[cold]
#[inline(never)]
unsafe fn open(cache: *mut Cache) -> bool {
    if (*cache).state == State::Closed {
        return false;
    }
    // Open first: should registering allocate and free, those blocks may be kept already.
    (*cache).state = State::Open;
    FLUSH_AT_EXIT.with(|_| ());
    true
}

#[cfg(test)]
mod tests {
    use std::alloc::{GlobalAlloc, Layout};

    use super::{class_bytes, DEPTH, MAX_BYTES};
    use crate::alloc::CountingAlloc;

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 8).unwrap()
    }

    #[test]
    fn small_sizes_are_asked_at_their_class_and_large_ones_as_they_are() {
        assert_eq!(class_bytes(16), 16);
        assert_eq!(class_bytes(17), 32);
        assert_eq!(class_bytes(MAX_BYTES - 1), MAX_BYTES);
        assert_eq!(class_bytes(MAX_BYTES), MAX_BYTES);
        assert_eq!(class_bytes(MAX_BYTES + 1), MAX_BYTES + 1);
    }

    #[test]
    fn a_freed_block_serves_the_next_request_of_its_class_and_holds_it() {
        let heap = CountingAlloc;
        // SAFETY: every block is freed with the layout it was last given.
        unsafe {
            // 20 and 30 user bytes are 36 and 46 with the header: one class of 48.
            let first = heap.alloc(layout(20));
            heap.dealloc(first, layout(20));
            let second = heap.alloc(layout(30));
            assert_eq!(second, first, "the freed block of the same class comes back");
            second.write_bytes(0xab, 30);
            // Another class is not served from it.
            let other = heap.alloc(layout(100));
            assert_ne!(other, second);
            // A kept block grows and shrinks through mimalloc with its bytes.
            let grown = heap.realloc(second, layout(30), 4000);
            assert!((0..30).all(|i| *grown.add(i) == 0xab));
            let shrunk = heap.realloc(grown, layout(4000), 25);
            assert!((0..25).all(|i| *shrunk.add(i) == 0xab));
            heap.dealloc(shrunk, layout(25));
            heap.dealloc(other, layout(100));
        }
    }

    #[test]
    fn a_full_class_frees_to_mimalloc_and_serves_last_freed_first() {
        let heap = CountingAlloc;
        let size = 200;
        // SAFETY: every block is freed once, with its layout.
        unsafe {
            let blocks: Vec<*mut u8> = (0..DEPTH + 4).map(|_| heap.alloc(layout(size))).collect();
            for &block in &blocks {
                block.write_bytes(1, size);
                heap.dealloc(block, layout(size));
            }
            // The class kept the first DEPTH frees; the last ones went back to mimalloc.
            let again: Vec<*mut u8> = (0..DEPTH).map(|_| heap.alloc(layout(size))).collect();
            let expected: Vec<*mut u8> = blocks[..DEPTH].iter().rev().copied().collect();
            assert_eq!(again, expected);
            for block in again {
                heap.dealloc(block, layout(size));
            }
        }
    }

    #[test]
    fn a_block_kept_by_one_thread_is_not_handed_out_on_another() {
        let heap = CountingAlloc;
        let size = 64;
        let kept = std::sync::Barrier::new(2);
        let checked = std::sync::Barrier::new(2);
        std::thread::scope(|scope| {
            let other = scope.spawn(|| {
                // SAFETY: freed once, with its layout.
                let block = unsafe {
                    let block = heap.alloc(layout(size));
                    heap.dealloc(block, layout(size));
                    block
                };
                kept.wait();
                checked.wait();
                block as usize
            });
            kept.wait();
            // SAFETY: each block is freed once, with its layout.
            let here: Vec<usize> = unsafe {
                let blocks: Vec<*mut u8> = (0..2 * DEPTH).map(|_| heap.alloc(layout(size))).collect();
                let addresses = blocks.iter().map(|&b| b as usize).collect();
                for block in blocks {
                    heap.dealloc(block, layout(size));
                }
                addresses
            };
            checked.wait();
            let theirs = other.join().unwrap();
            assert!(!here.contains(&theirs), "a block kept by the other thread was handed out here");
        });
    }
}
