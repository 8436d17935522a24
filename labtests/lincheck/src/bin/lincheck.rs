//! `lincheck`: checks JSON Lines histories for linearizability.
//!
//! Exit status: 0 all files linearizable, 1 some file not, 3 some file unknown (a limit stopped
//! the search) and none not, 2 some file unreadable or a usage error (this wins over 1 and 3).
//! The input format is in `--help` (and the `jsonl` module doc).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use lincheck::jsonl::{self, ParseError, Parsed};
use lincheck::porcupine_data;
use lincheck::{
    check, write_html_with, CheckOptions, CheckResult, KvModel, Model, PartitionStatus, RegisterModel, TimeUnit,
    Verdict, ViewOptions, VisPolicy,
};

/// The search allocates a state per step and frees a cache of them per check: mimalloc makes
/// both cheaper than the system allocator (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ModelKind {
    /// Key/value store: get, put, append, delete, cput (partitioned by key).
    Kv,
    /// One register: read, write, cas.
    Register,
}

/// The unit of a file's times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Unit {
    Unspecified,
    Ns,
    Us,
    Ms,
}

/// How the files are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One JSON object per operation (below).
    Jsonl,
    /// Porcupine's test data: Jepsen etcd logs (test_data/jepsen), --model register.
    JepsenEtcd,
    /// Porcupine's test data: kv logs (test_data/kv), --model kv.
    PorcupineKv,
}

/// What `--help` says after the options: the input format, exit status and views.
const AFTER_HELP: &str = r#"Input: JSON Lines, one operation a line (blank lines skipped, any other field is an error):
  {"client": 1, "call": 100, "return": 250, "op": "get", "key": "k", "output": "v1", "version": 1}
  {"client": 2, "call": 120, "return": null, "op": "put", "key": "k", "value": "v2"}
  client           non-negative integer; a client runs one operation at a time (an operation
                   must return by the client's next call; one that never returned is its last)
  call, return     non-negative integers in one monotone unit, return >= call; "return": null:
                   the operation never returned (it may take effect after its call, or never)
  call_seq,        optional, on every line or none: the event's place in one total order of all
  return_seq       calls and returns (each number used once). They order events with equal
                   times; without them, events at equal times are concurrent
  unknown_output   optional: true for an operation that returned without a known output (a cput
                   answered "maybe"); it precedes what is called after its return, output absent
  kv ops           get (key; output: string, or null when absent; optional version), put and
                   append (key, value), delete (key), cput (key, value, version; output: bool)
  register ops     read (output: integer or null), write (value), cas (from, to; output: bool)
FILE "-" reads standard input.

Exit status: 0 all linearizable, 1 any not, 3 any unknown (and none not), 2 unreadable input.
Views: with one FILE, --html OUT is the page's path; with several, the page of the Nth FILE is
OUT with -N-STEM inserted before its extension (v.html, 2nd file b.jsonl: v-2-b.html).
Pages are written for files that are not linearizable or unknown, and for all files
if LAB_VIS=always (LAB_VIS=never: none)."#;

/// Checks histories (JSON Lines, one operation a line) for linearizability.
#[derive(Debug, Parser)]
#[command(name = "lincheck", after_help = AFTER_HELP)]
struct Args {
    /// Sequential specification to check against.
    #[arg(long, value_enum)]
    model: ModelKind,
    /// Input format; porcupine's logs are read as its tests read them (time = line number).
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
    /// Give up on a file after this many seconds of wall time (its result is then unknown).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_timeout)]
    timeout: Duration,
    /// Also give up on a file after this many search steps (all keys together, searched one at
    /// a time): a limit that, unlike the timeout, gives the same answer on every machine (the
    /// tests' LAB_LINCHECK_BUDGET).
    #[arg(long, value_name = "STEPS", value_parser = clap::value_parser!(u64).range(1..))]
    budget: Option<u64>,
    /// Write an HTML view for each failing file (see below for names).
    #[arg(long, value_name = "OUT")]
    html: Option<PathBuf>,
    /// Unit of the files' times, for the view's axis (labelled in ms when known).
    #[arg(long, value_enum, default_value = "unspecified")]
    time_unit: Unit,
    /// History files ("-": standard input).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

impl Format {
    fn name(self) -> String {
        self.to_possible_value().expect("no variant is skipped").get_name().to_string()
    }
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
    let needed_model = match args.format {
        Format::Jsonl => None,
        Format::JepsenEtcd => Some((ModelKind::Register, "register")),
        Format::PorcupineKv => Some((ModelKind::Kv, "kv")),
    };
    if let Some((_, name)) = needed_model.filter(|(model, _)| *model != args.model) {
        eprintln!("lincheck: --format {} holds {name} histories: use --model {name}", args.format.name());
        return ExitCode::from(2);
    }
    let mut worst = Outcome::Linearizable;
    for (position, file) in args.files.iter().enumerate() {
        let html = args.html.as_deref().map(|out| view_path(out, position + 1, file, args.files.len()));
        // The format matches the model (checked above): Jsonl is the only format left in `_`.
        let outcome = match (args.model, args.format) {
            (ModelKind::Kv, Format::PorcupineKv) => {
                run(&KvModel, porcupine_data::parse_porcupine_kv, file, &args, html, policy)
            }
            (ModelKind::Kv, _) => run(&KvModel, jsonl::parse_kv, file, &args, html, policy),
            (ModelKind::Register, Format::JepsenEtcd) => {
                run(&RegisterModel, porcupine_data::parse_jepsen_etcd, file, &args, html, policy)
            }
            (ModelKind::Register, _) => run(&RegisterModel, jsonl::parse_register, file, &args, html, policy),
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
    let text = if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map(|_| text)
    } else {
        std::fs::read_to_string(file)
    };
    let text = match text {
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
    if history.is_empty() {
        println!("{name}: empty history (no operations): nothing to check, trivially linearizable");
        return Outcome::Linearizable;
    }
    let options = CheckOptions { max_steps: args.budget, ..CheckOptions::with_timeout(args.timeout) };
    let result = check(model, history, &options);
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
            println!("{name}: unknown ({})", explain_unknown(&result, args.timeout, args.budget));
            Outcome::Unknown
        }
    };
    if let Some(path) = html {
        if policy.should_write(result.is_ok()) {
            let title = format!("lincheck: {name}");
            let time_unit = match args.time_unit {
                Unit::Unspecified => TimeUnit::Unspecified,
                Unit::Ns => TimeUnit::Nanoseconds,
                Unit::Us => TimeUnit::Microseconds,
                Unit::Ms => TimeUnit::Milliseconds,
            };
            let options = ViewOptions { time_unit, ..ViewOptions::default() };
            match write_html_with(&path, model, history, &result, &[], &title, &options) {
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
            let times = match op.return_stamp() {
                Some(ret) if op.output_unknown() => format!("call {}, return {ret}, output unknown", op.call_stamp()),
                Some(ret) => format!("call {}, return {ret}", op.call_stamp()),
                None => format!("call {}, never returned", op.call_stamp()),
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

fn explain_unknown(result: &CheckResult, timeout: Duration, budget: Option<u64>) -> String {
    let Some(partition) = result.incomplete() else {
        return format!("timed out after {} s", timeout.as_secs_f64());
    };
    match &partition.status {
        PartitionStatus::CacheFull { entries, approx_bytes } => {
            format!("search cache full: {entries} configurations, about {} MiB", approx_bytes >> 20)
        }
        PartitionStatus::BudgetSpent { .. } => {
            let budget = budget.expect("only a budget is spent");
            format!("the budget of {budget} steps ran out before {} was decided", partition.label)
        }
        _ => format!("timed out after {} s", timeout.as_secs_f64()),
    }
}
