//! The persister: atomic saves, copy semantics, sizes.

use labrpc::persister::Persister;

#[test]
fn save_copy_and_sizes() {
    let p = Persister::new();
    assert_eq!((p.raft_state_size(), p.snapshot_size()), (0, 0));
    p.save(vec![1, 2, 3], vec![9; 10]);
    assert_eq!(p.read_raft_state(), vec![1, 2, 3]);
    assert_eq!((p.raft_state_size(), p.snapshot_size()), (3, 10));

    // A clone shares the store; a copy does not.
    let shared = p.clone();
    let successor = p.copy();
    shared.save_raft_state(vec![7]);
    assert_eq!(p.read_raft_state(), vec![7]);
    assert_eq!(p.read_snapshot(), vec![9; 10], "save_raft_state keeps the snapshot");
    // The crashed instance's late write never reaches the successor's copy.
    assert_eq!(successor.read_raft_state(), vec![1, 2, 3]);
    successor.save(vec![], vec![]);
    assert_eq!(p.raft_state_size(), 1);
}

#[test]
fn persister_inside_a_simulation_survives_crash_by_copy() {
    use labrpc::{node, sim, thread, time};
    use std::time::Duration;
    let report = sim::run(1, &sim::Config::default(), || {
        let n = node::create("server");
        let p = Persister::new();
        let writer = p.clone();
        thread::Builder::new().node(n).spawn(move || {
            for i in 0u8.. {
                writer.save(vec![i], vec![i; 2]);
                time::sleep(Duration::from_millis(10));
            }
        });
        time::sleep(Duration::from_millis(55));
        node::crash(n);
        let successor = p.copy();
        time::sleep(Duration::from_secs(1));
        (successor.read_raft_state(), successor.read_snapshot(), p.read_raft_state())
    })
    .unwrap();
    // Writes at 0,10,..,50 ms; nothing after the crash.
    assert_eq!(report.value, (vec![5], vec![5, 5], vec![5]));
}

#[test]
fn an_update_edits_the_saved_state_and_never_a_copy() {
    let p = Persister::new();
    p.save(vec![1, 2, 3], vec![9]);
    p.update_raft_state(|state| {
        assert_eq!(state, &[1, 2, 3], "the edit starts from the saved bytes");
        state.truncate(2);
        state.push(4);
    });
    assert_eq!(p.read_raft_state(), vec![1, 2, 4]);
    assert_eq!(p.read_snapshot(), vec![9], "an update keeps the snapshot");
    // A copy shares the bytes until one side writes; then each keeps its own.
    let successor = p.copy();
    p.update_raft_state(|state| state.push(5));
    successor.update_raft_state(|state| state[0] = 0);
    assert_eq!(p.read_raft_state(), vec![1, 2, 4, 5]);
    assert_eq!(successor.read_raft_state(), vec![0, 2, 4]);
}
