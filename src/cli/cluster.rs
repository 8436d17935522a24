//! `raftkv cluster`: N `raftkv server` processes on 127.0.0.1, their output prefixed by node, until
//! Ctrl-C (or until one of them dies); then every process is stopped and waited for.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{ranged, usage_error, EXIT_FAILED};

#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// Number of servers.
    #[arg(long, value_name = "N", default_value = "3", value_parser = ranged(1, 9))]
    pub nodes: u64,
    /// Node i listens on PORT+i (default: free ports chosen by the system).
    #[arg(long, value_name = "PORT", value_parser = ranged(1, 65535))]
    pub base_port: Option<u64>,
    /// Keep node i's data in DIR/node-i, kept after exit (default: a temporary directory,
    /// removed on exit).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Passed to every server (see `raftkv server --help`).
    #[arg(long, value_name = "N", default_value = "1", value_parser = ranged(1, 100_000))]
    pub batch_size: u64,
    /// Passed to every server.
    #[arg(long, value_name = "MS", default_value = "0", value_parser = ranged(0, 10_000))]
    pub batch_timeout_ms: u64,
}

/// The cluster's processes: killed and waited for when dropped, whatever the way out.
pub struct Processes {
    children: Vec<Child>,
}

impl Processes {
    pub fn new() -> Processes {
        Processes { children: Vec::new() }
    }

    pub fn push(&mut self, child: Child) {
        self.children.push(child);
    }

    /// The first process that has exited: its index and how it ended.
    pub fn exited(&mut self) -> Option<(usize, std::process::ExitStatus)> {
        self.children.iter_mut().enumerate().find_map(|(i, c)| c.try_wait().ok().flatten().map(|s| (i, s)))
    }
}

impl Default for Processes {
    fn default() -> Processes {
        Processes::new()
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
        }
        for c in &mut self.children {
            let _ = c.wait();
        }
    }
}

/// `n` loopback addresses: from `base_port`, or ports the system says are free now.
pub fn loopback_addrs(n: usize, base_port: Option<u64>) -> Result<Vec<String>, String> {
    match base_port {
        Some(base) => {
            if base + n as u64 - 1 > 65535 {
                usage_error(format!("--base-port {base} leaves no room for {n} ports below 65536"));
            }
            Ok((0..n as u64).map(|i| format!("127.0.0.1:{}", base + i)).collect())
        }
        None => {
            // Held together so they differ; released just before the servers bind them.
            let listeners = (0..n)
                .map(|_| TcpListener::bind("127.0.0.1:0"))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("cannot find free loopback ports: {e}"))?;
            listeners.iter().map(|l| l.local_addr().map(|a| a.to_string()).map_err(|e| e.to_string())).collect()
        }
    }
}

/// The `raftkv server` command of node `id`.
pub fn server_command(exe: &Path, id: usize, addrs: &[String], data_dir: &Path, args: &ClusterArgs) -> Command {
    let mut cmd = Command::new(exe);
    cmd.arg("server")
        .args(["--id", &id.to_string(), "--peers", &addrs.join(",")])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--batch-size", &args.batch_size.to_string()])
        .args(["--batch-timeout-ms", &args.batch_timeout_ms.to_string()]);
    cmd
}

/// Copies `from` to our stderr, each line prefixed.
fn relay(prefix: String, from: impl Read + Send + 'static) {
    labrpc::thread::Builder::new().name(prefix.clone()).spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            eprintln!("{prefix} {line}");
        }
    });
}

pub fn run(args: ClusterArgs) -> Result<ExitCode, String> {
    let n = args.nodes as usize;
    let addrs = loopback_addrs(n, args.base_port)?;
    let (root, temporary) = match &args.data_dir {
        Some(dir) => (dir.clone(), false),
        None => (std::env::temp_dir().join(format!("raftkv-cluster-{}", std::process::id())), true),
    };
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the raftkv executable: {e}"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let on_signal = stop.clone();
    ctrlc::set_handler(move || on_signal.store(true, Ordering::SeqCst))
        .map_err(|e| format!("cannot catch Ctrl-C: {e}"))?;
    let mut processes = Processes::new();
    println!("raftkv cluster: {n} servers on loopback");
    for (i, addr) in addrs.iter().enumerate() {
        let dir = root.join(format!("node-{i}"));
        let mut child = server_command(&exe, i, &addrs, &dir, &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start server {i}: {e}"))?;
        relay(format!("[node {i}]"), child.stdout.take().expect("piped"));
        relay(format!("[node {i}]"), child.stderr.take().expect("piped"));
        processes.push(child);
        println!("  node {i}: {addr}   data {}", dir.display());
    }
    let list = addrs.join(",");
    println!("connect: {} client --servers {list}", exe.display());
    println!("bench:   {} bench --servers {list} --clients 8 --duration 10", exe.display());
    println!("Ctrl-C stops the cluster{}.", if temporary { " and removes its data" } else { "" });
    let mut code = ExitCode::SUCCESS;
    while !stop.load(Ordering::SeqCst) {
        if let Some((i, status)) = processes.exited() {
            eprintln!("raftkv cluster: node {i} exited ({status}); stopping the others");
            code = ExitCode::from(EXIT_FAILED);
            break;
        }
        labrpc::time::sleep(Duration::from_millis(100));
    }
    drop(processes);
    if temporary {
        let _ = std::fs::remove_dir_all(&root);
    }
    println!("raftkv cluster: stopped");
    Ok(code)
}
