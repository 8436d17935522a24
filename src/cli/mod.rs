//! The `raftkv` binary: the lab's kvraft servers and their Raft as a real cluster over TCP, with
//! state on disk, and the tools around it.
//!
//! ```text
//! raftkv server  --id I --peers ADDR,ADDR,... --data-dir DIR   one server (recovers from DIR)
//! raftkv client  --servers ADDR,...                            REPL, or a script on stdin
//! raftkv cluster --nodes 3                                     a local cluster on loopback
//! raftkv bench   --servers ADDR,... --clients N --duration S --mix get:50,put:50 --keys K
//! ```

pub mod bench;
pub mod client;
pub mod cluster;
pub mod command;
pub mod etcd;
pub mod history;
pub mod server;
pub mod txn_syntax;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status for a failure at run time (usage errors exit 2, through clap).
pub const EXIT_FAILED: u8 = 1;

#[derive(Debug, Parser)]
#[command(name = "raftkv", about = "The lab's Raft key/value service as a real cluster over TCP")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run one kvraft server and its Raft peer.
    Server(server::ServerArgs),
    /// Talk to a cluster: an interactive prompt at a terminal, else commands read from stdin.
    Client(client::ClientArgs),
    /// Start a local cluster on 127.0.0.1 and keep it running until Ctrl-C.
    Cluster(cluster::ClusterArgs),
    /// Measure a cluster's throughput and latency with closed-loop clients.
    Bench(bench::BenchArgs),
}

/// Runs the command line `args` (the program name first).
pub fn main_with(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = Cli::parse_from(args);
    let result = match cli.command {
        Cmd::Server(a) => server::run(a),
        Cmd::Client(a) => client::run(a),
        Cmd::Cluster(a) => cluster::run(a),
        Cmd::Bench(a) => bench::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("raftkv: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Stops with a usage error (exit 2) for a problem no single flag's parser can see.
pub fn usage_error(message: impl std::fmt::Display) -> ! {
    <Cli as clap::CommandFactory>::command().error(clap::error::ErrorKind::ValueValidation, message).exit()
}

/// A list of server addresses ("HOST:PORT,HOST:PORT,...").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addrs(pub Vec<String>);

/// The clap parser of an [`Addrs`] flag.
pub fn addrs(text: &str) -> Result<Addrs, String> {
    parse_addrs(text).map(Addrs)
}

/// TCP settings for calls between Raft peers: a stopped peer's calls give up after a second, so
/// the leader's window toward it frees soon.
pub fn peer_tcp_config() -> labrpc::net::tcp::TcpConfig {
    labrpc::net::tcp::TcpConfig { call_timeout: std::time::Duration::from_secs(1), ..Default::default() }
}

/// TCP ends to every server at `addrs`, for a clerk.
pub fn client_ends(addrs: &Addrs) -> Vec<labrpc::net::ClientEnd> {
    // Above the servers' wait for an entry to apply (kvraft::WAIT_TIMEOUT); the clerk itself
    // moves on to the next server after kvraft::CALL_TIMEOUT.
    let config = labrpc::net::tcp::TcpConfig { call_timeout: std::time::Duration::from_secs(3), ..Default::default() };
    addrs.0.iter().map(|a| labrpc::net::tcp::connect(a, config.clone())).collect()
}

/// Parses "HOST:PORT,HOST:PORT,...": at least one, each with a port, no repeats.
pub fn parse_addrs(text: &str) -> Result<Vec<String>, String> {
    let addrs: Vec<String> = text.split(',').map(|a| a.trim().to_string()).collect();
    for (i, a) in addrs.iter().enumerate() {
        let Some((host, port)) = a.rsplit_once(':') else {
            return Err(format!("entry {} ({a:?}) is not HOST:PORT", i + 1));
        };
        if host.is_empty() {
            return Err(format!("entry {} ({a:?}) has no host", i + 1));
        }
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("entry {} ({a:?}): port {port:?} is not a number in 1..=65535", i + 1));
        }
        if addrs[..i].contains(a) {
            return Err(format!("entry {} ({a:?}) is listed twice", i + 1));
        }
    }
    Ok(addrs)
}

/// A clap parser for a whole number in `min..=max`, with the range in its error.
pub fn ranged(min: u64, max: u64) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync + 'static {
    move |text: &str| {
        let n: u64 = text.parse().map_err(|_| format!("{text:?} is not a whole number"))?;
        if n < min || n > max {
            return Err(format!("{n} is outside {min}..={max}"));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_lists_are_checked_entry_by_entry() {
        assert_eq!(parse_addrs("127.0.0.1:1,localhost:2").unwrap(), vec!["127.0.0.1:1", "localhost:2"]);
        assert_eq!(parse_addrs("a:1,b").unwrap_err(), "entry 2 (\"b\") is not HOST:PORT");
        assert!(parse_addrs("a:1,b:x").unwrap_err().contains("port \"x\" is not a number"));
        assert!(parse_addrs("a:0").unwrap_err().contains("port \"0\""));
        assert!(parse_addrs(":5").unwrap_err().contains("has no host"));
        assert!(parse_addrs("a:1,a:1").unwrap_err().contains("listed twice"));
    }

    #[test]
    fn numbers_outside_their_range_are_refused() {
        let p = ranged(1, 10);
        assert_eq!(p("5"), Ok(5));
        assert_eq!(p("0").unwrap_err(), "0 is outside 1..=10");
        assert_eq!(p("x").unwrap_err(), "\"x\" is not a whole number");
    }
}
