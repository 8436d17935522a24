//! Resources per node measured by the harness: live and allocated bytes (the counting allocator,
//! declared below for this test binary) and live threads.

use std::sync::Arc;
use std::time::Duration;

use labrpc::sim::{self, Config};
use labrpc::sync::Mutex;
use labrpc::{node, thread, time, NodeId};

labrpc::count_allocations!();

const MIB: u64 = 1 << 20;

fn live(node: NodeId) -> u64 {
    node::memory(node).expect("this binary counts allocations").live_bytes
}

/// A block of `bytes` bytes allocated on the calling thread (touching it, so it is not elided).
fn block(bytes: u64) -> Vec<u8> {
    let v = vec![7u8; bytes as usize];
    std::hint::black_box(v)
}

#[test]
fn bytes_allocated_on_a_node_are_live_until_freed_wherever_freed() {
    sim::check(
        &labrpc::target!("bytes_allocated_on_a_node_are_live_until_freed_wherever_freed"),
        Config::default(),
        || {
            let n = node::create("n");
            let before_n = live(n);
            let before_main = live(NodeId::MAIN);
            let shelf: Arc<Mutex<Option<Vec<u8>>>> = Arc::new(Mutex::new(None));
            let s = shelf.clone();
            thread::Builder::new().node(n).spawn(move || *s.lock() = Some(block(MIB))).join().unwrap();
            let grown = live(n) - before_n;
            assert!((MIB..MIB + 1024).contains(&grown), "node n holds {grown} bytes, expected 1 MiB");
            let allocated = node::memory(n).unwrap().allocated_bytes;
            assert!(allocated >= MIB, "allocated {allocated}");
            // Freed by the main node's thread: still n's bytes that go away, not main's.
            drop(shelf.lock().take());
            assert!(live(n) - before_n < 1024, "n still holds {} bytes", live(n) - before_n);
            assert!(live(NodeId::MAIN).abs_diff(before_main) < 1024, "main's figure moved");
            assert_eq!(node::memory(n).unwrap().allocated_bytes, allocated, "a free is not an allocation");
        },
    );
}

#[test]
fn growing_a_buffer_charges_the_node_that_grew_it() {
    sim::check(&labrpc::target!("growing_a_buffer_charges_the_node_that_grew_it"), Config::default(), || {
        let n = node::create("n");
        let buffer = Arc::new(Mutex::new(Vec::<u8>::with_capacity(16)));
        let before_n = live(n);
        let b = buffer.clone();
        thread::Builder::new()
            .node(n)
            .spawn(move || b.lock().extend(std::iter::repeat_n(1u8, MIB as usize)))
            .join()
            .unwrap();
        let grown = live(n) - before_n;
        assert!(grown >= MIB, "the grown buffer ({grown} bytes) is n's");
        drop(buffer);
        assert!(live(n) - before_n < 1024);
    });
}

#[test]
fn a_crashed_nodes_memory_is_released_as_its_threads_unwind() {
    sim::check(&labrpc::target!("a_crashed_nodes_memory_is_released_as_its_threads_unwind"), Config::default(), || {
        let n = node::create("n");
        let before = live(n);
        for _ in 0..3 {
            thread::Builder::new().node(n).spawn(|| {
                let held = block(MIB);
                time::sleep(Duration::from_secs(100));
                drop(held);
            });
        }
        time::sleep(Duration::from_millis(1));
        assert!(live(n) - before >= 3 * MIB, "three threads hold 1 MiB each");
        node::crash(n);
        assert!(live(n) - before < 1024, "after the crash n still holds {} bytes", live(n) - before);
    });
}

#[test]
fn live_threads_follow_spawn_exit_and_crash() {
    sim::check(&labrpc::target!("live_threads_follow_spawn_exit_and_crash"), Config::default(), || {
        let n = node::create("n");
        assert_eq!(node::live_threads(n), 0);
        assert_eq!(node::live_threads(NodeId::MAIN), 1, "the test's own thread");
        let short = thread::Builder::new().node(n).spawn(|| time::sleep(Duration::from_millis(5)));
        for _ in 0..2 {
            thread::Builder::new().node(n).spawn(|| time::sleep(Duration::from_secs(100)));
        }
        assert_eq!(node::live_threads(n), 3, "spawned, not yet run");
        short.join().unwrap();
        assert_eq!(node::live_threads(n), 2);
        // A thread whose destructor blocks at the crash counts until it has unwound.
        let lock = Arc::new(Mutex::new(()));
        let l = lock.clone();
        struct LockOnDrop(Arc<Mutex<()>>);
        impl Drop for LockOnDrop {
            fn drop(&mut self) {
                drop(self.0.lock());
            }
        }
        thread::Builder::new().node(n).spawn(move || {
            let _d = LockOnDrop(l);
            time::sleep(Duration::from_secs(100));
        });
        time::sleep(Duration::from_millis(1));
        let g = lock.lock();
        node::crash(n);
        assert_eq!(node::live_threads(n), 1, "the blocked destructor's thread is still unwinding");
        drop(g);
        time::sleep(Duration::from_millis(1));
        assert_eq!(node::live_threads(n), 0);
        // Spawned on a crashed node: counted until it is killed (at once).
        let h = thread::Builder::new().node(n).spawn(|| ());
        assert!(h.join().is_err());
        assert_eq!(node::live_threads(n), 0);
    });
}

#[test]
fn figures_are_the_same_for_the_same_seed() {
    let body = || {
        let n = node::create("n");
        let shelf = Arc::new(Mutex::new(Vec::new()));
        let workers: Vec<_> = (0..4)
            .map(|i| {
                let s = shelf.clone();
                thread::Builder::new().node(n).spawn(move || {
                    for j in 0..50 {
                        time::sleep(Duration::from_millis(labrpc::rand::range(1..5)));
                        s.lock().push(format!("{i}-{j}"));
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        node::memory(n).unwrap()
    };
    let first = sim::run(11, &Config::default(), body).unwrap().value;
    let second = sim::run(11, &Config::default(), body).unwrap().value;
    assert_eq!(first, second);
    assert!(first.live_bytes > 0 && first.allocated_bytes >= first.live_bytes);
}

#[test]
fn a_value_that_outlives_its_simulation_is_freed_safely_on_another_os_thread() {
    let report = sim::run(3, &Config::default(), || {
        let n = node::create("n");
        thread::Builder::new().node(n).spawn(|| block(MIB)).join().unwrap()
    })
    .unwrap();
    // The simulation (and its ledgers' owner) is gone; the block still points at n's ledger.
    #[allow(clippy::disallowed_methods)] // a real OS thread on purpose
    std::thread::spawn(move || drop(report.value)).join().unwrap();
}

#[test]
fn outside_a_simulation_there_are_no_figures_and_nothing_breaks() {
    assert!(labrpc::alloc::is_counting());
    assert_eq!(node::memory(NodeId::MAIN), None);
    assert_eq!(node::live_threads(NodeId::MAIN), 0);
    let v = block(MIB);
    assert_eq!(v.len() as u64, MIB);
}
