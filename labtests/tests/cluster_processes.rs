//! The lab's kvraft as a real cluster (issue 12), Jepsen-style, on 127.0.0.1 only: three server
//! processes (this test binary re-run as `raftkv server`, the same code as the binary), recording
//! clients over TCP, and a nemesis that kills servers with SIGKILL and restarts them on their data
//! directories, and stops them with SIGSTOP past the election timeout. At the end every server is
//! killed and restarted at once; then every acknowledged append must be in its key exactly once,
//! and the whole history (final reads included) must be linearizable by `lincheck`.
//!
//! Bounded: a fixed nemesis schedule (about 20 s), client operations capped in number, every wait
//! with a deadline; a guard kills every child process however the test ends.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::sync::Mutex;
use labrpc::{thread, time};
use labtests::kv::{check, Client, Recorder};
use lincheck::{CheckOptions, KvModel, Verdict};
use raftkv::cli::client::{LineResult, Session};
use raftkv::cli::{client_ends, cluster::loopback_addrs, Addrs};
use raftkv::kvraft::{Clerk, KvClient};

const CHILD_ARGS: &str = "RAFTKV_TEST_SERVER_ARGS";
const SERVERS: usize = 3;
const CLIENTS: u64 = 4;
const MAX_OPS_PER_CLIENT: u64 = 1000;
const APPEND_KEYS: [&str; 2] = ["a0", "a1"];
const REGISTER_KEYS: [&str; 2] = ["r0", "r1"];

/// Not a test: the server process the cluster test starts (this binary, re-run with
/// `--exact raftkv_server_child --ignored` and the server's arguments in the environment).
#[test]
#[ignore = "a server process of cluster_survives_kills_and_stops; runs only when that test starts it"]
fn raftkv_server_child() {
    let Ok(args) = std::env::var(CHILD_ARGS) else { return };
    // Our stdin is a pipe from the test: when it closes, the test process is gone (even killed
    // with SIGKILL, when no guard runs), and so must we be.
    thread::Builder::new().name("parent-watch").spawn(|| {
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
        std::process::exit(3);
    });
    let argv = std::iter::once("raftkv".to_string()).chain(args.split('\x1f').map(str::to_string));
    let _ = raftkv::cli::main_with(argv.map(Into::into));
    std::process::exit(1); // a server only returns when it failed to start
}

/// The server processes; every one still running is killed (SIGKILL works on stopped ones too)
/// and reaped when this is dropped, whatever way the test ends.
struct Servers {
    addrs: Vec<String>,
    root: PathBuf,
    children: Vec<Option<Child>>,
    /// (term, server) of the newest "leader in term" line any server printed.
    leader: Arc<Mutex<(u64, usize)>>,
}

impl Servers {
    fn new() -> Servers {
        // Tests of this file run side by side: one directory each.
        let root = std::env::temp_dir().join(format!(
            "raftkv-cluster-test-{}-{}",
            std::process::id(),
            labrpc::rand::next_u64()
        ));
        let _ = std::fs::remove_dir_all(&root);
        let addrs = loopback_addrs(SERVERS, None).expect("free loopback ports");
        let mut servers = Servers {
            addrs,
            root,
            children: (0..SERVERS).map(|_| None).collect(),
            leader: Arc::new(Mutex::new((0, 0))),
        };
        for i in 0..SERVERS {
            servers.start(i);
        }
        servers
    }

    fn start(&mut self, i: usize) {
        assert!(self.children[i].is_none(), "server {i} is already running");
        let args = [
            "server".to_string(),
            "--id".into(),
            i.to_string(),
            "--peers".into(),
            self.addrs.join(","),
            "--data-dir".into(),
            self.root.join(format!("node-{i}")).display().to_string(),
        ];
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["raftkv_server_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_ARGS, args.join("\x1f"))
            .stdin(Stdio::piped()) // kept open by `Child` until the server is killed
            // A group of its own: if this process dies while the server is stopped (SIGSTOP), the
            // orphaned group gets SIGHUP and SIGCONT from the kernel, so it does not linger.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start a server process");
        let stderr = child.stderr.take().expect("piped");
        let leader = self.leader.clone();
        thread::Builder::new().name(format!("server-{i}-stderr")).spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[server {i}] {line}");
                let term = line.split("leader in term ").nth(1).and_then(|t| t.split(' ').next()?.parse::<u64>().ok());
                if let Some(term) = term {
                    let mut l = leader.lock();
                    if term > l.0 {
                        *l = (term, i);
                    }
                }
            }
        });
        self.children[i] = Some(child);
    }

    fn kill(&mut self, i: usize) {
        let mut child = self.children[i].take().unwrap_or_else(|| panic!("server {i} is not running"));
        child.kill().expect("SIGKILL a server");
        child.wait().expect("reap a server");
    }

    fn signal(&self, i: usize, signal: &str) {
        let pid = self.children[i].as_ref().unwrap_or_else(|| panic!("server {i} is not running")).id();
        let status = Command::new("kill").args([signal, &pid.to_string()]).status().expect("run kill");
        assert!(status.success(), "kill {signal} {pid} failed");
    }

    /// The server that last said it became leader (it may have lost leadership since).
    fn leader(&self) -> usize {
        self.leader.lock().1
    }

    /// A server other than `not`, chosen at random.
    fn other_than(&self, not: usize) -> usize {
        (not + 1 + labrpc::rand::range(0..(SERVERS as u64 - 1)) as usize) % SERVERS
    }

    fn assert_all_running(&mut self) {
        for (i, c) in self.children.iter_mut().enumerate() {
            if let Some(status) = c.as_mut().and_then(|c| c.try_wait().expect("poll a server")) {
                panic!("server {i} exited on its own ({status}); see its [server {i}] lines above");
            }
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for c in self.children.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// What a client saw acknowledged: (key, token) of each append that returned.
type Acked = Vec<(String, String)>;

fn client_loop(mut client: Client<Clerk>, id: u64, stop: &AtomicBool) -> Acked {
    let mut acked = Acked::new();
    for n in 1..=MAX_OPS_PER_CLIENT {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let pick = |keys: &[&str]| keys[labrpc::rand::range(0..keys.len() as u64) as usize].to_string();
        match labrpc::rand::range(0..10) {
            0..=3 => {
                let (key, token) = (pick(&APPEND_KEYS), format!("c{id}.{n};"));
                client.append(&key, &token);
                acked.push((key, token));
            }
            4 | 5 => {
                client.get(&pick(&[APPEND_KEYS, REGISTER_KEYS].concat()));
            }
            6 | 7 => client.put(&pick(&REGISTER_KEYS), &format!("c{id}.{n}")),
            8 => {
                let key = pick(&REGISTER_KEYS);
                let (_, version) = client.get(&key);
                let _ = client.cput(&key, &format!("c{id}.{n}"), version);
            }
            _ => client.delete(&pick(&REGISTER_KEYS)),
        }
    }
    acked
}

/// Waits for `cond` for at most `limit`, polling.
fn wait_for(what: &str, limit: Duration, cond: impl Fn() -> bool) {
    let deadline = time::now() + limit;
    while !cond() {
        assert!(time::now() < deadline, "timed out after {limit:?} waiting for {what}");
        time::sleep(Duration::from_millis(50));
    }
}

#[test]
fn cluster_survives_kills_and_stops() {
    let mut servers = Servers::new();
    let addrs = Addrs(servers.addrs.clone());
    let recorder = Recorder::new();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let client = Client::new(Clerk::new(client_ends(&addrs)), id, recorder.clone());
            let stop = stop.clone();
            thread::Builder::new().name(format!("client-{id}")).spawn(move || client_loop(client, id, &stop))
        })
        .collect();
    wait_for("the first operations (a leader elected)", Duration::from_secs(20), || recorder.len() >= 10);

    // The nemesis: a fixed schedule, victims chosen at random or as the latest leader.
    let pause = |ms: u64| time::sleep(Duration::from_millis(ms));
    for round in 0..2 {
        let victim = if round == 0 { servers.leader() } else { servers.other_than(servers.leader()) };
        recorder.begin("kill", "kill -9", format!("server {victim} killed with SIGKILL"));
        servers.kill(victim);
        pause(1500);
        servers.start(victim);
        recorder.end("kill");
        pause(1000);

        let stopped = servers.leader();
        recorder.begin("stop", "SIGSTOP", format!("server {stopped} stopped past the election timeout"));
        servers.signal(stopped, "-STOP");
        pause(1500);
        servers.signal(stopped, "-CONT");
        recorder.end("stop");
        pause(1000);

        // No majority for a while: two servers down at once.
        let a = servers.leader();
        let b = servers.other_than(a);
        recorder.begin("kill", "kill -9 x2", format!("servers {a} and {b} killed (no majority)"));
        servers.kill(a);
        servers.kill(b);
        pause(1000);
        servers.start(a);
        servers.start(b);
        recorder.end("kill");
        pause(1500);

        // A stop and a kill overlapping.
        let s = servers.leader();
        let k = servers.other_than(s);
        recorder.begin("stop", "SIGSTOP+kill", format!("server {s} stopped, server {k} killed"));
        servers.signal(s, "-STOP");
        servers.kill(k);
        pause(1500);
        servers.start(k);
        servers.signal(s, "-CONT");
        recorder.end("stop");
        pause(1000);
        servers.assert_all_running();
    }
    stop.store(true, Ordering::SeqCst);
    wait_for("the clients to finish their operations", Duration::from_secs(30), || {
        clients.iter().all(|c| c.is_finished())
    });
    let acked: Acked = clients.into_iter().flat_map(|c| c.join().expect("a client panicked")).collect();
    assert!(acked.len() >= 20, "too few appends acknowledged to check anything: {}", acked.len());

    // Everyone down at once, then back on the same data: nothing acknowledged may be missing.
    recorder.event("kill all", "every server killed with SIGKILL and restarted");
    for i in 0..SERVERS {
        servers.kill(i);
    }
    for i in 0..SERVERS {
        servers.start(i);
    }
    let mut reader = Client::new(Clerk::new(client_ends(&addrs)), CLIENTS, recorder.clone());
    let reads = thread::Builder::new().name("final-reader").spawn(move || {
        APPEND_KEYS.iter().chain(&REGISTER_KEYS).map(|k| (k.to_string(), reader.get_value(k))).collect::<Vec<_>>()
    });
    wait_for("the final reads after the full restart", Duration::from_secs(30), || reads.is_finished());
    let finals = reads.join().expect("the final reader panicked");
    servers.assert_all_running();
    for (key, token) in &acked {
        let value = &finals.iter().find(|(k, _)| k == key).expect("an append key").1;
        let times = value.matches(token.as_str()).count();
        assert_eq!(times, 1, "acknowledged append {token:?} to {key} is in its final value {times} times: {value:?}");
    }

    let (history, annotations) = recorder.snapshot();
    let result = lincheck::check(&KvModel, &history, &CheckOptions::with_timeout(Duration::from_secs(60)));
    let view = check::write_view("cluster_processes", &history, &result, &annotations);
    match result.verdict {
        Verdict::Ok => {}
        Verdict::Illegal => {
            let partition = result.violation().expect("an illegal verdict names its partition");
            panic!(
                "history of {} operations is not linearizable: {}, first operation that cannot be placed: {}; {view}",
                history.len(),
                partition.label,
                check::blocked_op(&history, partition)
            );
        }
        Verdict::Unknown => panic!("the check of {} operations did not finish within 60 s; {view}", history.len()),
    }
    eprintln!(
        "cluster_processes: {} operations ({} appends acknowledged) linearizable, none lost after a full restart",
        history.len(),
        acked.len()
    );
}

#[test]
fn client_commands_get_the_replies_users_expect() {
    let servers = Servers::new();
    let addrs = Addrs(servers.addrs.clone());
    let mut session = Session::new(client_ends(&addrs), Duration::from_secs(20));
    let mut run = |line: &str| match session.handle_line(line) {
        LineResult::Output(out) => out,
        other => panic!("{line:?} gave {other:?}"),
    };
    assert_eq!(run("PUT \"my key\" hello world"), "OK (new key)");
    assert_eq!(run("PUT \"my key\" hello world"), "OK (replaced a value)");
    assert_eq!(run("GET \"my key\""), "\"hello world\" (version 2)");
    assert_eq!(run("append \"my key\" ' !'"), "OK");
    assert_eq!(run("CPUT \"my key\" x 2"), "ERR_VERSION: \"my key\" is not at version 2; nothing changed");
    assert_eq!(run("CPUT \"my key\" x 3"), "OK");
    assert_eq!(run("GET \"my key\""), "x (version 4)");
    assert_eq!(run("DELETE \"my key\""), "OK (deleted)");
    assert_eq!(run("DELETE \"my key\""), "not found (nothing deleted)");
    assert_eq!(run("GET \"my key\""), "null");
    assert_eq!(run("time"), "timing on");
    let timed = run("GET nothing");
    assert!(timed.starts_with("null  (") && timed.ends_with(" ms)"), "{timed}");
    assert_eq!(session.handle_line("GET"), LineResult::Error("GET takes a key (GET key); got 0 argument(s)".into()));
    assert_eq!(session.handle_line("quit"), LineResult::Quit);
    drop(servers);
}

#[test]
fn a_server_with_a_corrupted_state_file_refuses_to_start_and_names_it() {
    let dir = std::env::temp_dir().join(format!("raftkv-corrupt-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let p = labrpc::persister::Persister::open_dir(&dir, Default::default()).expect("a new data directory");
        p.save(vec![1; 64], vec![2; 64]);
    }
    let state = dir.join(labrpc::persister::disk::STATE_FILE);
    let mut bytes = std::fs::read(&state).unwrap();
    bytes[40] ^= 0xff;
    std::fs::write(&state, bytes).unwrap();
    let addr = loopback_addrs(1, None).expect("a free port").remove(0);
    let args = ["server", "--id", "0", "--peers", &addr, "--data-dir", &dir.display().to_string()].join("\x1f");
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["raftkv_server_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ARGS, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a server process");
    let mut pipe = child.stderr.take().expect("piped");
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
        text
    });
    // If it does not exit, the panic drops `child`, closing its stdin: the child then exits too.
    wait_for("the server to give up on its state file", Duration::from_secs(10), || reader.is_finished());
    let stderr = reader.join().expect("the stderr reader");
    let status = child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!status.success(), "a server started on a corrupted state file");
    let expected = format!("cannot recover its state: {}: corrupted: checksum", state.display());
    assert!(stderr.contains(&expected), "stderr does not say {expected:?}:\n{stderr}");
}
