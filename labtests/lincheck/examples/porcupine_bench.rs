//! Times the checker on porcupine's own test data, history by history, the way porcupine's
//! benchmarks time it (`BenchmarkEtcdJepsenNNN`, `BenchmarkKv*`): the history is parsed once,
//! then checked once untimed (Go's harness runs every benchmark once with N = 1 before the
//! timed run of N), then `check` runs RUNS times and the mean per check is printed in ns, one
//! line per history.
//! The verdict of every run must be the one porcupine's tests expect (`-bad` kv files and the
//! etcd logs porcupine calls incorrect are not linearizable), or the bench fails.
//!
//! `cargo run --release -p lincheck --example porcupine_bench -- PORCUPINE/test_data etcd|kv [RUNS]`
//!
//! Output: `NAME NS_PER_CHECK VERDICT` per history, then `total NS` (the sum over the data set);
//! scripts/lincheck-vs-porcupine puts it next to porcupine's figures.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // a benchmark reads the real clock

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use lincheck::jsonl::{ParseError, Parsed};
use lincheck::porcupine_data::{parse_jepsen_etcd, parse_porcupine_kv};
use lincheck::{check, CheckOptions, KvModel, Model, RegisterModel, Verdict};

/// Porcupine's etcd tests expect these logs to be linearizable and every other one not
/// (TestEtcdJepsenNNN in porcupine_test.go; etcd_095.log is empty and has no test).
const ETCD_LINEARIZABLE: [u32; 23] =
    [2, 5, 7, 18, 25, 31, 38, 45, 48, 49, 51, 53, 56, 67, 75, 76, 80, 87, 92, 98, 100, 101, 102];
const ETCD_UNTESTED: u32 = 95;

/// The allocator the CLI uses (see its Cargo.toml entry), so the figures are the CLI's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: porcupine_bench PORCUPINE/test_data etcd|kv [RUNS]";
    let (Some(dir), Some(set)) = (args.first(), args.get(1)) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let runs = match args.get(2).map(|runs| runs.parse::<u32>()) {
        None => 10,
        Some(Ok(runs)) if runs > 0 => runs,
        Some(_) => {
            eprintln!("{usage}: RUNS must be a positive integer");
            return ExitCode::from(2);
        }
    };
    let dir = Path::new(dir);
    let result = match set.as_str() {
        "etcd" => etcd(dir, runs),
        "kv" => kv(dir, runs),
        other => Err(format!("unknown data set {other:?}: {usage}")),
    };
    match result {
        Ok(total) => {
            println!("total {}", total.as_nanos());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("porcupine_bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn etcd(dir: &Path, runs: u32) -> Result<Duration, String> {
    let mut total = Duration::ZERO;
    for number in (0..=102).filter(|&n| n != ETCD_UNTESTED) {
        let path = dir.join(format!("jepsen/etcd_{number:03}.log"));
        let expected = if ETCD_LINEARIZABLE.contains(&number) { Verdict::Ok } else { Verdict::Illegal };
        total += time(&RegisterModel, parse_jepsen_etcd, &path, expected, runs)?;
    }
    Ok(total)
}

fn kv(dir: &Path, runs: u32) -> Result<Duration, String> {
    let mut total = Duration::ZERO;
    for name in ["c01-ok", "c01-bad", "c10-ok", "c10-bad", "c50-ok", "c50-bad"] {
        let path = dir.join(format!("kv/{name}.txt"));
        let expected = if name.ends_with("-ok") { Verdict::Ok } else { Verdict::Illegal };
        total += time(&KvModel, parse_porcupine_kv, &path, expected, runs)?;
    }
    Ok(total)
}

type Parser<M> = fn(&str) -> Result<Parsed<<M as Model>::Input, <M as Model>::Output>, ParseError>;

/// Mean wall time of one check of the history in `path`, over `runs` checks after one untimed.
fn time<M: Model>(
    model: &M,
    parse: Parser<M>,
    path: &PathBuf,
    expected: Verdict,
    runs: u32,
) -> Result<Duration, String> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|error| format!("{name}: {error}"))?;
    let parsed = parse(&text).map_err(|error| format!("{name}:{error}"))?;
    let options = CheckOptions::default();
    let checked = || match check(model, &parsed.history, &options).verdict {
        verdict if verdict == expected => Ok(()),
        verdict => Err(format!("{name}: {verdict:?}, porcupine's tests expect {expected:?}")),
    };
    checked()?;
    let started = Instant::now();
    for _ in 0..runs {
        checked()?;
    }
    let mean = started.elapsed() / runs;
    let stem = path.file_stem().map_or_else(|| name.to_string(), |stem| stem.to_string_lossy().into_owned());
    println!("{stem} {} {expected:?}", mean.as_nanos());
    Ok(mean)
}
