//! `lincheck`: checks JSON Lines histories for linearizability.
//!
//! Exit status: 0 all files linearizable, 1 some file not, 3 some file unknown (a limit stopped
//! the search) and none not, 2 some file unreadable or a usage error (this wins over 1 and 3).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use labtests::lincheck::jsonl::{self, ParseError, Parsed};
use labtests::lincheck::{
    check, write_html, CheckOptions, CheckResult, KvModel, Model, PartitionStatus, RegisterModel, Verdict, VisPolicy,
};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ModelKind {
    /// Key/value store: get, put, append, delete, cput (partitioned by key).
    Kv,
    /// One register: read, write, cas.
    Register,
}

/// Checks histories (JSON Lines, one operation a line) for linearizability.
#[derive(Debug, Parser)]
#[command(
    name = "lincheck",
    after_help = "Exit status: 0 all linearizable, 1 any not, 3 any unknown (and none not), 2 unreadable input.\n\
                  Views: with one FILE, --html OUT is the page's path; with several, the page of the Nth FILE is\n\
                  OUT with -N-STEM inserted before its extension (v.html, 2nd file b.jsonl: v-2-b.html).\n\
                  Pages are written for files that are not linearizable or unknown, and for all files\n\
                  if LAB_VIS=always (LAB_VIS=never: none)."
)]
struct Args {
    /// Sequential specification to check against.
    #[arg(long, value_enum)]
    model: ModelKind,
    /// Give up on a file after this many seconds (its result is then unknown).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_timeout)]
    timeout: Duration,
    /// Write an HTML view for each failing file (see below for names).
    #[arg(long, value_name = "OUT")]
    html: Option<PathBuf>,
    /// History files.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text.parse().map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds.is_finite()) {
        return Err(format!("{text:?}: the timeout must be a positive number of seconds"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// What happened to one file, in increasing order of precedence for the exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Linearizable,
    Unknown,
    NotLinearizable,
    Unreadable,
}

impl Outcome {
    fn exit_code(self) -> u8 {
        match self {
            Outcome::Linearizable => 0,
            Outcome::NotLinearizable => 1,
            Outcome::Unreadable => 2,
            Outcome::Unknown => 3,
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let policy = match VisPolicy::from_env() {
        Ok(policy) => policy,
        Err(error) => {
            eprintln!("lincheck: {error}");
            return ExitCode::from(2);
        }
    };
    let mut worst = Outcome::Linearizable;
    for (position, file) in args.files.iter().enumerate() {
        let html = args.html.as_deref().map(|out| view_path(out, position + 1, file, args.files.len()));
        let outcome = match args.model {
            ModelKind::Kv => run(&KvModel, jsonl::parse_kv, file, &args, html, policy),
            ModelKind::Register => run(&RegisterModel, jsonl::parse_register, file, &args, html, policy),
        };
        worst = worst.max(outcome);
    }
    ExitCode::from(worst.exit_code())
}

/// The page for the `position`th (1-based) of `count` files.
fn view_path(out: &Path, position: usize, file: &Path, count: usize) -> PathBuf {
    if count == 1 {
        return out.to_path_buf();
    }
    let stem = file.file_stem().map_or_else(|| "history".into(), |stem| stem.to_string_lossy());
    let out_stem = out.file_stem().map_or_else(|| "".into(), |s| s.to_string_lossy());
    let name = match out.extension() {
        Some(extension) => format!("{out_stem}-{position}-{stem}.{}", extension.to_string_lossy()),
        None => format!("{out_stem}-{position}-{stem}"),
    };
    out.with_file_name(name)
}

type ParseFn<M> = fn(&str) -> Result<Parsed<<M as Model>::Input, <M as Model>::Output>, ParseError>;

fn run<M: Model>(
    model: &M,
    parse: ParseFn<M>,
    file: &Path,
    args: &Args,
    html: Option<PathBuf>,
    policy: VisPolicy,
) -> Outcome {
    let name = file.display();
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) => {
            println!("{name}: cannot read: {error}");
            return Outcome::Unreadable;
        }
    };
    let parsed = match parse(&text) {
        Ok(parsed) => parsed,
        Err(error) => {
            println!("{name}:{}: {}", error.line, error.message);
            return Outcome::Unreadable;
        }
    };
    let history = &parsed.history;
    let result = check(model, history, &CheckOptions::with_timeout(args.timeout));
    let sizes = format!("{} ops, {} ms", history.len(), result.elapsed.as_millis());
    let outcome = match result.verdict {
        Verdict::Ok => {
            println!("{name}: linearizable ({sizes})");
            Outcome::Linearizable
        }
        Verdict::Illegal => {
            println!("{name}: NOT linearizable ({sizes}): {}", explain_violation(model, &parsed, &result));
            Outcome::NotLinearizable
        }
        Verdict::Unknown => {
            println!("{name}: unknown ({})", explain_unknown(&result, args.timeout));
            Outcome::Unknown
        }
    };
    if let Some(path) = html {
        if policy.should_write(result.is_ok()) {
            let title = format!("lincheck: {name}");
            match write_html(&path, model, history, &result, &[], &title) {
                Ok(()) => eprintln!("lincheck: view of {name} written to {}", path.display()),
                Err(error) => eprintln!("lincheck: cannot write view {}: {error}", path.display()),
            }
        }
    }
    outcome
}

fn explain_violation<M: Model>(model: &M, parsed: &Parsed<M::Input, M::Output>, result: &CheckResult) -> String {
    let violation = result.violation().expect("an illegal result has an illegal partition");
    let ops = parsed.history.ops();
    let mut state = model.init();
    for &index in &violation.linearized {
        let op = &ops[index];
        state = model.step(&state, &op.input, op.output()).expect("linearized prefix replays");
    }
    let prefix = format!(
        "{}: the longest linearizable prefix has {} of its {} operations, state there: {}",
        violation.label,
        violation.linearized.len(),
        violation.op_indices.len(),
        model.describe_state(&state)
    );
    match violation.blocked_op {
        Some(index) => {
            let op = &ops[index];
            let times = match op.return_time() {
                Some(ret) => format!("call {}, return {ret}", op.call_time),
                None => format!("call {}, never returned", op.call_time),
            };
            format!(
                "line {} cannot be placed: client {}, {}, {times} ({prefix})",
                parsed.lines[index],
                op.client_id,
                model.describe_op(&op.input, op.output())
            )
        }
        None => prefix,
    }
}

fn explain_unknown(result: &CheckResult, timeout: Duration) -> String {
    match result.incomplete().map(|partition| &partition.status) {
        Some(PartitionStatus::CacheFull { entries, approx_bytes }) => {
            format!("search cache full: {entries} configurations, about {} MiB", approx_bytes >> 20)
        }
        _ => format!("timed out after {} s", timeout.as_secs_f64()),
    }
}
