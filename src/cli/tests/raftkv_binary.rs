//! The `raftkv` binary as a user runs it (an integration test of the root package, declared in
//! Cargo.toml: it needs the built binary, `CARGO_BIN_EXE_raftkv`): `raftkv cluster --nodes 3`
//! starts, prints its addresses, serves a client's commands, and on SIGINT (or SIGTERM) stops with every
//! server process gone and its temporary data removed; bad flags and bad script lines are
//! answered with errors that name what was wrong.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const RAFTKV: &str = env!("CARGO_BIN_EXE_raftkv");

/// Kills the process when dropped, whatever way the test ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The processes whose parent is `pid` (from /proc).
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc is readable").flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after its ')'.
        let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    // A zombie (exited, not reaped) counts as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')))
}

/// Runs `raftkv args` with `stdin` as its input.
fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(RAFTKV)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start raftkv");
    child.stdin.take().expect("piped").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("raftkv ends")
}

/// A running `raftkv cluster --nodes 3`: the process, its remaining output, the servers'
/// addresses, data directories and process ids.
struct Cluster {
    process: Guard,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    addrs: Vec<String>,
    dirs: Vec<PathBuf>,
    servers: Vec<u32>,
}

fn start_cluster() -> Cluster {
    let mut process = Guard(
        Command::new(RAFTKV)
            .args(["cluster", "--nodes", "3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start raftkv cluster"),
    );
    let mut lines = BufReader::new(process.0.stdout.take().expect("piped")).lines();
    let (mut addrs, mut dirs) = (Vec::new(), Vec::new());
    for line in lines.by_ref() {
        let line = line.expect("cluster output");
        // "  node I: ADDR   data DIR"
        if let Some(rest) = line.trim_start().strip_prefix("node ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            assert!(words.len() == 4 && words[2] == "data", "unexpected node line {line:?}");
            addrs.push(words[1].to_string());
            dirs.push(PathBuf::from(words[3]));
        }
        if line.starts_with("connect:") {
            assert!(line.ends_with(&format!("client --servers {}", addrs.join(","))), "{line:?}");
            break;
        }
    }
    assert_eq!(addrs.len(), 3, "the cluster printed no 3 addresses");
    let servers = children_of(process.0.id());
    assert_eq!(servers.len(), 3, "expected 3 server processes under the cluster, found {servers:?}");
    Cluster { process, lines, addrs, dirs, servers }
}

/// Sends `signal` to the cluster and checks that it exits 0 with every server gone and its
/// temporary data removed.
fn stop_cluster(mut cluster: Cluster, signal: &str) {
    let pid = cluster.process.0.id();
    let status = Command::new("kill").args([signal, &pid.to_string()]).status().expect("run kill");
    assert!(status.success());
    let rest: Vec<String> = cluster.lines.map_while(Result::ok).collect();
    let deadline = labrpc::time::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = cluster.process.0.try_wait().expect("wait for the cluster") {
            break exit;
        }
        assert!(labrpc::time::now() < deadline, "the cluster did not exit within 20 s of {signal}");
        labrpc::time::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "the cluster exited with {exit} after {signal}");
    assert!(rest.iter().any(|l| l == "raftkv cluster: stopped"), "no stop line in {rest:?}");
    let left: Vec<u32> = cluster.servers.into_iter().filter(|&p| alive(p)).collect();
    assert!(left.is_empty(), "server processes still running after the cluster exited: {left:?}");
    for dir in cluster.dirs {
        assert!(!dir.exists(), "temporary data {} was not removed", dir.display());
    }
}

#[test]
fn cluster_starts_serves_a_client_and_stops_cleanly_on_sigint() {
    let cluster = start_cluster();
    // A client script through every command kind; the first answers wait for an election.
    let script =
        "PUT k v\nGET k\nSWAP k w\nSCAN a z\nTXN IF VERSION k = 2 THEN PUT k x ; GET k ELSE GET k\nDELETE k\nGET k\n";
    let out = run(&["client", "--servers", &cluster.addrs.join(","), "--timeout-s", "20"], script);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "client failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let expected = "OK (new key)\nv (version 1)\nv (version 1)\nk w (version 2)\n(1 key)\n\
                    SUCCEEDED: the conditions held; 2 THEN operation(s) ran\n  1. PUT k x: OK\n  2. GET k: x (version 3)\n\
                    OK (deleted)\nnull\n";
    assert_eq!(stdout, expected);
    stop_cluster(cluster, "-INT");
}

#[test]
fn cluster_stops_cleanly_on_sigterm() {
    stop_cluster(start_cluster(), "-TERM");
}

/// Runs `raftkv args` and returns (exit code, stderr).
fn fails(args: &[&str]) -> (i32, String) {
    let out = run(args, "");
    (out.status.code().expect("an exit code"), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn bad_flags_name_the_flag_and_what_is_wrong() {
    let cases: [(&[&str], &[&str]); 11] = [
        (&["frob"], &["unrecognized subcommand 'frob'"]),
        (&["client"], &["--servers"]),
        (&["client", "--servers", "nohost"], &["--servers", "entry 1 (\"nohost\") is not HOST:PORT"]),
        (&["client", "--servers", "a:1", "--timeout-s", "0"], &["--timeout-s", "0 is outside 1..=3600"]),
        (
            &["client", "--servers", "a:1", "--history-file", "h", "--no-history"],
            &["--no-history", "cannot be used with"],
        ),
        (&["bench", "--servers", "a:1", "--mix", "get:5,frob:1"], &["--mix", "unknown operation \"frob\""]),
        (&["bench", "--servers", "a:1", "--duration", "x"], &["--duration", "\"x\" is not a number of seconds"]),
        (&["cluster", "--nodes", "0"], &["--nodes", "0 is outside 1..=9"]),
        (
            &["bench", "--etcd", "--servers", "a:1", "--mix", "get:1,scan:1"],
            &["--etcd runs gets and puts only; --mix has scan"],
        ),
        (&["server", "--id", "x", "--peers", "a:1", "--data-dir", "d"], &["invalid value 'x' for '--id <ID>'"]),
        (
            &["server", "--id", "2", "--peers", "a:1,b:2", "--data-dir", "d"],
            &["--id 2 is not a position in --peers (0..=1)"],
        ),
    ];
    for (args, wanted) in cases {
        let (code, stderr) = fails(args);
        assert_eq!(code, 2, "raftkv {args:?} exited {code}: {stderr}");
        for w in wanted {
            assert!(stderr.contains(w), "raftkv {args:?}: {w:?} not in {stderr:?}");
        }
    }
}

#[test]
fn bad_script_lines_are_named_by_line_and_the_run_fails() {
    // No server answers at this address; none of these lines reaches one.
    let script =
        "FROB k\nGET\nCPUT k v x\nSCAN a\nTXN IF VERSION k = y THEN GET k\nPUT \"k v\n# a comment\nquit\nGET k\n";
    let out = run(&["client", "--servers", "127.0.0.1:9"], script);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let expected = [
        "line 1: unknown command \"FROB\"",
        "line 2: GET takes a key (GET key); got 0 argument(s)",
        "line 3: CPUT: VERSION must be a whole number, got \"x\"",
        "line 4: SCAN takes a first and a last key",
        "line 5: TXN: condition 1: version \"y\" is not a whole number",
        "line 6: unterminated quote starting at column 5",
    ];
    assert_eq!(lines.len(), expected.len(), "{stderr}");
    for (line, want) in lines.iter().zip(expected) {
        assert!(line.starts_with(want), "{line:?} does not start with {want:?}");
    }
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
}
