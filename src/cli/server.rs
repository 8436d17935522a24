//! `raftkv server`: one kvraft server and its Raft peer, serving both on TCP, state on disk.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use labrpc::net::tcp::{self, TcpConfig, TcpServer};
use labrpc::net::Server;
use labrpc::persister::disk::DiskOptions;
use labrpc::persister::Persister;

use super::{addrs, peer_tcp_config, ranged, usage_error, Addrs};
use crate::kvraft::KvServer;

#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// This server's position in --peers, from 0.
    #[arg(long)]
    pub id: usize,
    /// Every server's address, in the same order for every server; this one listens on entry --id.
    #[arg(long, value_name = "ADDR,ADDR,...", value_parser = addrs)]
    pub peers: Addrs,
    /// Directory for this server's Raft state and snapshot; restarted with the same one, it recovers.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Group commit: a disk write waits for this many saves...
    #[arg(long, value_name = "N", default_value = "1", value_parser = ranged(1, 100_000))]
    pub batch_size: u64,
    /// ...or until the oldest has waited this long (0: write as soon as one is pending; saves that
    /// arrive during a write still share the next one).
    #[arg(long, value_name = "MS", default_value = "0", value_parser = ranged(0, 10_000))]
    pub batch_timeout_ms: u64,
    /// Snapshot the service when the Raft state reaches this many bytes.
    #[arg(long, value_name = "BYTES", default_value = "1048576", value_parser = ranged(4096, 1 << 30))]
    pub max_raft_state: u64,
}

pub fn run(args: ServerArgs) -> Result<ExitCode, String> {
    let peers = &args.peers.0;
    if args.id >= peers.len() {
        usage_error(format!("--id {} is not a position in --peers (0..={})", args.id, peers.len() - 1));
    }
    let me = &peers[args.id];
    if std::env::var_os("RUST_LOG").is_none() {
        // Rejected connections and broken links are worth seeing by default.
        std::env::set_var("RUST_LOG", "warn");
    }
    labrpc::trace::init_from_env();
    let options = DiskOptions {
        batch_size: args.batch_size as usize,
        batch_timeout: Duration::from_millis(args.batch_timeout_ms),
        crash_at: None,
    };
    let persister = Persister::open_dir(&args.data_dir, options)
        .map_err(|e| format!("server {}: cannot recover its state: {e}", args.id))?;
    let recovered_bytes = persister.raft_state_size() + persister.snapshot_size();
    let listener = TcpListener::bind(me).map_err(|e| format!("server {}: cannot listen on {me}: {e}", args.id))?;
    let ends = peers.iter().map(|a| tcp::connect(a, peer_tcp_config())).collect();
    let kv = KvServer::start(ends, args.id, persister.clone(), Some(args.max_raft_state as usize));
    let server = Server::new().with_service(kv.raft().service()).with_service(kv.service());
    let _serving = TcpServer::serve(listener, server, TcpConfig::default())
        .map_err(|e| format!("server {}: cannot serve on {me}: {e}", args.id))?;
    eprintln!(
        "raftkv server {} listening on {me} ({} servers), data in {} (recovered {recovered_bytes} bytes)",
        args.id,
        peers.len(),
        args.data_dir.display()
    );
    // Runs until killed: every acknowledged write is already on disk.
    let mut was_leader = None;
    loop {
        labrpc::time::sleep(Duration::from_millis(200));
        let (term, leader) = kv.raft().state();
        if was_leader != Some((term, leader)) && leader {
            let stats = persister.disk_stats().unwrap_or_default();
            eprintln!(
                "raftkv server {}: leader in term {term} (applied through {}; {} saves in {} disk writes so far)",
                args.id,
                kv.last_applied(),
                stats.saves,
                stats.writes
            );
        }
        was_leader = Some((term, leader));
    }
}
