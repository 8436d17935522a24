//! The disk persister: round trips, torn and corrupted files reported by name, group commit, and
//! a child process killed at random times and at each step of a save, after which everything the
//! child saw acknowledged is on disk.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use labrpc::persister::disk::{read_state_file, CrashPoint, DiskOptions, STATE_FILE};
use labrpc::persister::Persister;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("labrpc-disk-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open(dir: &Path) -> Persister {
    Persister::open_dir(dir, DiskOptions::default()).expect("open the data directory")
}

#[test]
fn saves_survive_reopening_and_a_raft_state_save_keeps_the_snapshot() {
    let dir = TempDir::new("roundtrip");
    let p = open(&dir.0);
    assert!(p.read_raft_state().is_empty() && p.read_snapshot().is_empty(), "a new directory starts empty");
    p.save(b"state-1".to_vec(), b"snap-1".to_vec());
    p.save_raft_state(b"state-2".to_vec());
    drop(p);
    let p = open(&dir.0);
    assert_eq!(p.read_raft_state(), b"state-2");
    assert_eq!(p.read_snapshot(), b"snap-1");
    assert_eq!(p.disk_stats().map(|s| s.saves), Some(0));
}

fn corrupt_and_reopen(name: &str, damage: impl FnOnce(&mut Vec<u8>)) -> String {
    let dir = TempDir::new(name);
    let p = open(&dir.0);
    p.save(vec![1u8; 100], vec![2u8; 50]);
    drop(p);
    let path = dir.0.join(STATE_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    damage(&mut bytes);
    std::fs::write(&path, &bytes).unwrap();
    let err = Persister::open_dir(&dir.0, DiskOptions::default()).err().expect("a damaged file must not open");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "the file is named: {msg}");
    msg
}

#[test]
fn a_flipped_bit_is_a_checksum_error_naming_the_file() {
    let msg = corrupt_and_reopen("flip", |b| b[60] ^= 0x10);
    assert!(msg.contains("corrupted: checksum"), "{msg}");
}

#[test]
fn a_truncated_file_is_reported_as_torn() {
    let msg = corrupt_and_reopen("truncated", |b| b.truncate(b.len() - 7));
    assert!(msg.contains("torn or truncated"), "{msg}");
    let msg = corrupt_and_reopen("tiny", |b| b.truncate(5));
    assert!(msg.contains("truncated: 5 bytes"), "{msg}");
}

#[test]
fn a_file_of_another_format_is_named_as_such() {
    let msg = corrupt_and_reopen("magic", |b| b[..8].copy_from_slice(b"{\"json\":"));
    assert!(msg.contains("not a raftkv state file"), "{msg}");
}

#[test]
fn a_data_directory_that_is_a_file_is_named() {
    let dir = TempDir::new("a-file");
    std::fs::write(&dir.0, b"not a directory").unwrap();
    let err = Persister::open_dir(&dir.0, DiskOptions::default()).err().expect("a file is no data directory");
    assert_eq!(err.to_string(), format!("{}: exists and is not a directory", dir.0.display()));
    std::fs::remove_file(&dir.0).unwrap();
}

#[test]
fn a_leftover_temporary_file_is_ignored_and_removed() {
    let dir = TempDir::new("leftover");
    drop(open(&dir.0));
    std::fs::write(dir.0.join("state.bin.tmp"), b"half a save").unwrap();
    let p = open(&dir.0);
    assert!(p.read_raft_state().is_empty());
    assert!(!dir.0.join("state.bin.tmp").exists());
}

#[test]
fn each_save_is_on_disk_when_it_returns() {
    let dir = TempDir::new("acked");
    let p = open(&dir.0);
    for i in 0u32..50 {
        p.save_raft_state(i.to_le_bytes().to_vec());
        let (raft, _) = read_state_file(&dir.0.join(STATE_FILE)).unwrap().expect("a state file exists");
        assert_eq!(raft, i.to_le_bytes(), "save {i} returned before it was written");
    }
    assert_eq!(p.disk_stats().map(|s| (s.saves, s.writes)), Some((50, 50)), "one at a time: one write each");
}

#[test]
fn concurrent_saves_share_fsyncs_and_the_newest_state_wins() {
    let dir = TempDir::new("group");
    let options = DiskOptions { batch_size: 8, batch_timeout: Duration::from_millis(20), crash_at: None };
    let p = Persister::open_dir(&dir.0, options).unwrap();
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let p = p.clone();
            std::thread::spawn(move || {
                for i in 0..20u8 {
                    p.save(vec![t, i], vec![t]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = p.disk_stats().unwrap();
    assert_eq!(stats.saves, 160);
    assert!(stats.writes < stats.saves / 2, "saves were not grouped: {stats:?}");
    let in_memory = (p.read_raft_state(), p.read_snapshot());
    drop(p);
    let p = open(&dir.0);
    assert_eq!((p.read_raft_state(), p.read_snapshot()), in_memory, "the disk holds the newest state");
}

#[test]
fn a_batch_timeout_bounds_the_wait_of_a_lone_save() {
    let dir = TempDir::new("timeout");
    let options = DiskOptions { batch_size: 100, batch_timeout: Duration::from_millis(30), crash_at: None };
    let p = Persister::open_dir(&dir.0, options).unwrap();
    let start = Instant::now();
    p.save_raft_state(vec![1]);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(30) && waited < Duration::from_secs(2), "waited {waited:?}");
}

// ----- crashes: a child process saves and prints what was acknowledged ---------------------

const CHILD_DIR: &str = "LABRPC_DISK_CHILD_DIR";
const CHILD_CRASH: &str = "LABRPC_DISK_CHILD_CRASH";

/// State number `i`: its raft state (size varies, so files of different lengths replace each
/// other) and snapshot both carry `i`.
fn state(i: u64) -> (Vec<u8>, Vec<u8>) {
    let mut raft = i.to_le_bytes().to_vec();
    raft.resize(8 + (i as usize * 7919) % 40_000, (i % 251) as u8);
    let snap = [i.to_le_bytes().as_slice(), &vec![0xAB; 20_000]].concat();
    (raft, snap)
}

/// The state number in a recovered persister (0: empty), after checking both parts agree.
fn recovered(p: &Persister) -> u64 {
    let (raft, snap) = (p.read_raft_state(), p.read_snapshot());
    if raft.is_empty() {
        assert!(snap.is_empty());
        return 0;
    }
    let i = u64::from_le_bytes(raft[..8].try_into().unwrap());
    assert_eq!((raft, snap), state(i), "state {i} recovered damaged");
    i
}

/// Run by the child process only: saves states recovered+1, recovered+2, ... and prints
/// "ack N" after save N returns, until killed (or the crash hook aborts it).
#[test]
#[ignore = "the child of the crash tests; runs only when they start it"]
fn disk_child_saver() {
    let Ok(dir) = std::env::var(CHILD_DIR) else { return };
    let crash_at = std::env::var(CHILD_CRASH).ok().map(|s| {
        let (point, n) = s.split_once(':').unwrap();
        let point = match point {
            "mid" => CrashPoint::MidTempWrite,
            "sync" => CrashPoint::BeforeTempSync,
            "rename" => CrashPoint::BeforeRename,
            "dirsync" => CrashPoint::BeforeDirSync,
            other => panic!("unknown crash point {other}"),
        };
        (point, n.parse().unwrap())
    });
    let p = Persister::open_dir(Path::new(&dir), DiskOptions { crash_at, ..DiskOptions::default() }).unwrap();
    let first = recovered(&p) + 1;
    for i in first..first + 100_000 {
        let (raft, snap) = state(i);
        p.save(raft, snap);
        println!("ack {i}");
    }
}

/// Starts the child on `dir`; returns it and a receiver of its acknowledged numbers.
fn start_child(dir: &Path, crash: Option<&str>) -> (std::process::Child, std::sync::mpsc::Receiver<u64>) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["disk_child_saver", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(c) = crash {
        cmd.env(CHILD_CRASH, c);
    }
    let mut child = cmd.spawn().expect("start the child");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            // The test harness may print its "test ... " on the same line, before the first one.
            if let Some((_, n)) = line.rsplit_once("ack ") {
                let _ = tx.send(n.parse().unwrap());
            }
        }
    });
    (child, rx)
}

/// Kills the child when a test panics, so no process outlives it.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_child_killed_at_random_times_keeps_every_acknowledged_save() {
    let dir = TempDir::new("kill9");
    let mut rng = 0x2545_F491_4F6C_DD1Du64; // xorshift: fixed delays, so a failure reruns alike
    let mut last_acked = 0;
    for round in 0..15 {
        let (child, acks) = start_child(&dir.0, None);
        let mut child = KillOnDrop(child);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // The child first needs ~100 ms to start; kill it 100-250 ms in, in mid-stream.
        std::thread::sleep(Duration::from_millis(100 + rng % 150));
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        let acked: Vec<u64> = acks.iter().collect();
        if let Some(&a) = acked.last() {
            last_acked = a;
        }
        let p = Persister::open_dir(&dir.0, DiskOptions::default())
            .unwrap_or_else(|e| panic!("round {round}: recovery failed after kill -9: {e}"));
        let got = recovered(&p);
        assert!(got >= last_acked, "round {round}: acknowledged save {last_acked} lost, disk has {got}");
        assert!(got <= last_acked + 1, "round {round}: disk has {got}, beyond the one save in flight");
        last_acked = got;
    }
    assert!(last_acked > 15, "the child made too little progress to test anything: {last_acked}");
}

#[test]
fn a_child_aborted_at_each_step_of_a_save_recovers_the_old_or_the_new_state() {
    // (hook, whether the new state is in place when the process dies)
    let points = [("mid", false), ("sync", false), ("rename", false), ("dirsync", true)];
    for (point, new_is_in) in points {
        let dir = TempDir::new(&format!("point-{point}"));
        let (child, acks) = start_child(&dir.0, Some(&format!("{point}:5")));
        let mut child = KillOnDrop(child);
        let status = child.0.wait().unwrap();
        assert!(!status.success(), "{point}: the crash hook did not fire");
        let acked: Vec<u64> = acks.iter().collect();
        assert_eq!(acked, vec![1, 2, 3, 4], "{point}: saves acknowledged before the crash");
        let got = recovered(&Persister::open_dir(&dir.0, DiskOptions::default()).unwrap());
        assert_eq!(got, if new_is_in { 5 } else { 4 }, "{point}: recovered state");
    }
}
