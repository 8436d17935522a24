//! `raftkv client`: commands to a cluster, at a prompt with line editing and history when a
//! terminal is attached, else one per line from stdin (a script; errors name the line).

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use labrpc::channel;
use labrpc::net::ClientEnd;

use super::command::{self, Command, HELP};
use super::history::{self, HistoryFile};
use super::{addrs, client_ends, ranged, Addrs, EXIT_FAILED};
use crate::kvraft::{Clerk, KvClient, Op, Outcome};

#[derive(Debug, clap::Args)]
pub struct ClientArgs {
    /// The servers' addresses (any order; the client finds the leader).
    #[arg(long, value_name = "ADDR,ADDR,...", value_parser = addrs)]
    pub servers: Addrs,
    /// Give up waiting for a command's answer after this many seconds (it may still take effect).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = ranged(1, 3600))]
    pub timeout_s: u64,
    /// Keep the prompt's command history in FILE (default: $XDG_DATA_HOME/raftkv/history, else
    /// ~/.local/share/raftkv/history).
    #[arg(long, value_name = "FILE", conflicts_with = "no_history")]
    pub history_file: Option<std::path::PathBuf>,
    /// Keep no history file.
    #[arg(long)]
    pub no_history: bool,
}

/// A clerk that answers within a timeout: the operation runs in a thread of its own, and a clerk
/// abandoned waiting is replaced by a new one (a new client id) for the next command.
pub struct Session {
    servers: Vec<ClientEnd>,
    clerk: Option<Clerk>,
    timeout: Duration,
    /// Print each command's latency.
    pub timing: bool,
}

/// What one line of input produced.
#[derive(Debug, PartialEq, Eq)]
pub enum LineResult {
    Nothing,
    Output(String),
    Error(String),
    Quit,
}

impl Session {
    pub fn new(servers: Vec<ClientEnd>, timeout: Duration) -> Session {
        Session { servers, clerk: None, timeout, timing: false }
    }

    /// Runs `op` until a leader answers it, or gives up after the timeout.
    pub fn execute(&mut self, op: Op) -> Result<Outcome, String> {
        let mut clerk = self.clerk.take().unwrap_or_else(|| Clerk::new(self.servers.clone()));
        let (tx, rx) = channel::bounded(1);
        labrpc::thread::Builder::new().name("client-op").spawn(move || {
            let outcome = clerk.execute(op);
            let _ = tx.send((clerk, outcome));
        });
        match rx.recv_timeout(self.timeout) {
            Ok((clerk, outcome)) => {
                self.clerk = Some(clerk);
                Ok(outcome)
            }
            Err(_) => Err(format!(
                "no answer from the cluster within {} s (no leader reachable?); the command may still take effect",
                self.timeout.as_secs()
            )),
        }
    }

    pub fn handle_line(&mut self, line: &str) -> LineResult {
        match command::parse(line) {
            Ok(None) => LineResult::Nothing,
            Err(e) => LineResult::Error(e),
            Ok(Some(Command::Quit)) => LineResult::Quit,
            Ok(Some(Command::Help)) => LineResult::Output(HELP.to_string()),
            Ok(Some(Command::Time)) => {
                self.timing = !self.timing;
                LineResult::Output(format!("timing {}", if self.timing { "on" } else { "off" }))
            }
            Ok(Some(Command::Op(op))) => {
                let start = labrpc::time::now();
                match self.execute(command::to_wire(&op)) {
                    Ok(outcome) => {
                        let mut out = command::reply(&op, &outcome);
                        if self.timing {
                            out.push_str(&format!("  ({:.2} ms)", start.elapsed().as_secs_f64() * 1e3));
                        }
                        LineResult::Output(out)
                    }
                    Err(e) => LineResult::Error(e),
                }
            }
        }
    }
}

pub fn run(args: ClientArgs) -> Result<ExitCode, String> {
    let mut session = Session::new(client_ends(&args.servers), Duration::from_secs(args.timeout_s));
    if std::io::stdin().is_terminal() {
        let history = match (&args.history_file, args.no_history) {
            (_, true) => None,
            (Some(path), false) => Some(HistoryFile::new(path.clone())),
            (None, false) => history::default_path().map(HistoryFile::new),
        };
        interactive(&mut session, &args.servers, history)
    } else {
        script(&mut session)
    }
}

fn interactive(session: &mut Session, servers: &Addrs, history: Option<HistoryFile>) -> Result<ExitCode, String> {
    use rustyline::error::ReadlineError;
    let mut editor = rustyline::DefaultEditor::new().map_err(|e| format!("cannot start line editing: {e}"))?;
    println!("raftkv client: {} servers ({}); `help` lists the commands", servers.0.len(), servers.0.join(", "));
    // A history file that cannot be read or written costs the history, not the session.
    let mut history = history.filter(|file| match file.load() {
        Ok(lines) => {
            for line in lines {
                let _ = editor.add_history_entry(line);
            }
            true
        }
        Err(e) => {
            eprintln!("warning: {e}; this session's history will not be kept");
            false
        }
    });
    loop {
        match editor.readline("raftkv> ") {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                    if let Some(Err(e)) = history.as_ref().map(|file| file.append(&line)) {
                        eprintln!("warning: {e}; history is no longer kept");
                        history = None;
                    }
                }
                match session.handle_line(&line) {
                    LineResult::Nothing => {}
                    LineResult::Output(out) => println!("{out}"),
                    LineResult::Error(e) => println!("error: {e}"),
                    LineResult::Quit => return Ok(ExitCode::SUCCESS),
                }
            }
            // Ctrl-C drops the line being typed, as in a shell.
            Err(ReadlineError::Interrupted) => {}
            Err(ReadlineError::Eof) => return Ok(ExitCode::SUCCESS),
            Err(e) => return Err(format!("reading the terminal: {e}")),
        }
    }
}

/// Replies on stdout, one line each; errors on stderr as "line N: ...". Exit 1 if any line failed.
fn script(session: &mut Session) -> Result<ExitCode, String> {
    let stdout = std::io::stdout();
    let mut failed = 0;
    for (i, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| format!("reading stdin at line {}: {e}", i + 1))?;
        match session.handle_line(&line) {
            LineResult::Nothing => {}
            LineResult::Output(out) => {
                let mut out_lock = stdout.lock();
                let _ = writeln!(out_lock, "{out}");
                let _ = out_lock.flush();
            }
            LineResult::Error(e) => {
                eprintln!("line {}: {e}", i + 1);
                failed += 1;
            }
            LineResult::Quit => break,
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAILED) })
}
