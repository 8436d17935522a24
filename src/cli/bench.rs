//! `raftkv bench`: closed-loop clients (each waits for its answer before the next operation)
//! against a cluster for a fixed time; throughput and latency percentiles, as text or JSON.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use labrpc::time;

use super::{addrs, client_ends, ranged, Addrs, EXIT_FAILED};
use crate::kvraft::{Clerk, KvClient, Op};
use crate::kvsrv::{Cmp, Compare, Target, Txn};

/// Operation kinds a mix may name, in the order reports list them. A scan reads
/// [`SCAN_KEYS`] consecutive keys; a txn writes two keys if the first exists, else one.
pub const KINDS: [&str; 7] = ["get", "put", "append", "delete", "swap", "scan", "txn"];

/// Keys one bench scan covers.
pub const SCAN_KEYS: u64 = 10;

/// How often each kind is drawn: weights by `KINDS` index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mix(pub [u64; KINDS.len()]);

impl Mix {
    /// The kind whose share of the total weight holds `draw` (below the total).
    pub fn pick(&self, mut draw: u64) -> usize {
        for (kind, &w) in self.0.iter().enumerate() {
            if draw < w {
                return kind;
            }
            draw -= w;
        }
        panic!("draw above the mix's total weight");
    }
}

impl std::fmt::Display for Mix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> =
            KINDS.iter().zip(self.0).filter(|(_, w)| *w > 0).map(|(k, w)| format!("{k}:{w}")).collect();
        f.write_str(&parts.join(","))
    }
}

/// Parses "get:50,put:50": known kinds, whole weights, each kind once, some weight above 0.
pub fn parse_mix(text: &str) -> Result<Mix, String> {
    let mut weights = [0u64; KINDS.len()];
    let mut seen = [false; KINDS.len()];
    for part in text.split(',') {
        let (kind, weight) =
            part.split_once(':').ok_or_else(|| format!("{part:?} is not KIND:WEIGHT (e.g. get:50)"))?;
        let at = KINDS
            .iter()
            .position(|k| k.eq_ignore_ascii_case(kind.trim()))
            .ok_or_else(|| format!("unknown operation {kind:?} (kinds: {})", KINDS.join(", ")))?;
        if seen[at] {
            return Err(format!("{} is given twice", KINDS[at]));
        }
        seen[at] = true;
        weights[at] =
            weight.trim().parse().map_err(|_| format!("weight {weight:?} of {kind} is not a whole number"))?;
    }
    if weights.iter().sum::<u64>() == 0 {
        return Err("every weight is 0: nothing to run".into());
    }
    Ok(Mix(weights))
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let s: f64 = text.parse().map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(s > 0.0 && s <= 3600.0) {
        return Err(format!("{s} is outside (0, 3600] seconds"));
    }
    Ok(Duration::from_secs_f64(s))
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The servers' addresses.
    #[arg(long, value_name = "ADDR,ADDR,...", value_parser = addrs)]
    pub servers: Addrs,
    /// Concurrent closed-loop clients.
    #[arg(long, value_name = "N", default_value = "4", value_parser = ranged(1, 1000))]
    pub clients: u64,
    /// How long to run, in seconds.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub duration: Duration,
    /// Operation weights, KIND:WEIGHT,... with kinds get, put, append, delete, swap, scan (10
    /// consecutive keys), txn (IF VERSION a > 0 THEN PUT a; PUT b ELSE PUT a).
    #[arg(long, value_name = "MIX", default_value = "get:50,put:50", value_parser = parse_mix)]
    pub mix: Mix,
    /// Keys drawn uniformly from k0..k(K-1) (numbers zero-padded to one width, so a scan's
    /// range of names is a range of numbers).
    #[arg(long, value_name = "K", default_value = "100", value_parser = ranged(1, 100_000_000))]
    pub keys: u64,
    /// Bytes of each written value.
    #[arg(long, value_name = "BYTES", default_value = "32", value_parser = ranged(0, 1 << 20))]
    pub value_bytes: u64,
    /// Print the results as one JSON object (and no progress bar).
    #[arg(long)]
    pub json: bool,
    /// The servers are etcd members (HOST:PORT of their client URLs): the same load through
    /// etcd's v3 HTTP/JSON gateway, for comparison (gets and puts only).
    #[arg(long)]
    pub etcd: bool,
}

/// Where a bench client sends its operations.
enum System {
    Raftkv(Clerk),
    /// An etcd endpoint, and how many requests failed (each is retried).
    Etcd(super::etcd::EtcdClient, Arc<AtomicU64>),
}

impl System {
    /// Runs `op` to completion.
    fn execute(&mut self, op: Op) {
        match self {
            System::Raftkv(clerk) => {
                clerk.execute(op);
            }
            System::Etcd(client, errors) => {
                while let Err(e) = client.execute(&op) {
                    if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                        eprintln!("raftkv bench: {e} (retrying; later errors are only counted)");
                    }
                    time::sleep(Duration::from_millis(10));
                }
            }
        }
    }
}

/// One client's record: (kind index, latency in µs) per operation.
type Samples = Vec<(u8, u64)>;

fn client_loop(mut target: System, args: &BenchArgs, deadline: time::Instant, done: &AtomicU64) -> Samples {
    let total: u64 = args.mix.0.iter().sum();
    let value = "v".repeat(args.value_bytes as usize);
    let mut samples = Samples::new();
    while time::now() < deadline {
        let kind = args.mix.pick(labrpc::rand::range(0..total));
        let op = bench_op(kind, labrpc::rand::range(0..args.keys), args.keys, &value);
        let start = time::now();
        target.execute(op);
        samples.push((kind as u8, start.elapsed().as_micros() as u64));
        done.fetch_add(1, Ordering::Relaxed);
    }
    samples
}

/// The name of key number `n` of `keys`: zero-padded, so names sort as numbers.
pub fn key_name(n: u64, keys: u64) -> String {
    let width = (keys.max(2) - 1).to_string().len();
    format!("k{n:0width$}")
}

/// The operation of kind `kind` (a `KINDS` index) on key number `n` of `keys`.
pub fn bench_op(kind: usize, n: u64, keys: u64, value: &str) -> Op {
    let key = key_name(n, keys);
    let value = value.to_string();
    match KINDS[kind] {
        "get" => Op::Get { key },
        "put" => Op::Put { key, value },
        "append" => Op::Append { key, value },
        "delete" => Op::Delete { key },
        "swap" => Op::Swap { key, value },
        "scan" => Op::Scan { from: key, to: key_name((n + SCAN_KEYS - 1).min(keys - 1), keys), limit: SCAN_KEYS },
        "txn" => {
            let other = key_name((n + 1) % keys, keys);
            let put = |key: &str| Op::Put { key: key.to_string(), value: value.clone() };
            Op::Txn(Txn {
                compares: vec![Compare { key: key.clone(), cmp: Cmp::Gt, target: Target::Version(0) }],
                success: vec![put(&key), put(&other)],
                failure: vec![put(&key)],
            })
        }
        other => unreachable!("bench kind {other} has no operation"),
    }
}

/// The `q` quantile (0..=1) of sorted `v`, in ms.
fn quantile_ms(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at] as f64 / 1e3
}

pub fn run(args: BenchArgs) -> Result<ExitCode, String> {
    if args.etcd {
        if let Some(kind) = KINDS.iter().zip(&args.mix.0).find(|(k, &w)| w > 0 && !["get", "put"].contains(k)) {
            super::usage_error(format!("--etcd runs gets and puts only; --mix has {}", kind.0));
        }
    }
    let args = Arc::new(args);
    let done = Arc::new(AtomicU64::new(0));
    let etcd_errors = Arc::new(AtomicU64::new(0));
    let start = time::now();
    let deadline = start + args.duration;
    let clients: Vec<_> = (0..args.clients)
        .map(|i| {
            let target = if args.etcd {
                // Clients spread over the members; a member forwards writes to its leader.
                let addr = &args.servers.0[i as usize % args.servers.0.len()];
                System::Etcd(super::etcd::EtcdClient::new(addr), etcd_errors.clone())
            } else {
                System::Raftkv(Clerk::new(client_ends(&args.servers)))
            };
            let (args, done) = (args.clone(), done.clone());
            labrpc::thread::Builder::new()
                .name(format!("bench-client-{i}"))
                .spawn(move || client_loop(target, &args, deadline, &done))
        })
        .collect();
    let bar = (!args.json && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let bar = indicatif::ProgressBar::new(args.duration.as_millis() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {elapsed}/{duration} {msg}").expect("a valid template"),
        );
        bar
    });
    while time::now() < deadline {
        time::sleep(Duration::from_millis(200));
        if let Some(bar) = &bar {
            let secs = start.elapsed().as_secs_f64();
            bar.set_position(start.elapsed().as_millis() as u64);
            bar.set_message(format!(
                "{} ops, {:.0} ops/s",
                done.load(Ordering::Relaxed),
                done.load(Ordering::Relaxed) as f64 / secs
            ));
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    // A client still waiting long after the end is stuck on a cluster that stopped answering.
    let grace = time::now() + Duration::from_secs(15);
    while clients.iter().any(|c| !c.is_finished()) && time::now() < grace {
        time::sleep(Duration::from_millis(50));
    }
    let stuck = clients.iter().filter(|c| !c.is_finished()).count();
    if stuck > 0 {
        return Err(format!(
            "{stuck} of {} clients got no answer within 15 s after the run ended: is the cluster up?",
            args.clients
        ));
    }
    let elapsed = start.elapsed().as_secs_f64();
    let samples: Samples = clients.into_iter().flat_map(|c| c.join().expect("a bench client panicked")).collect();
    report(&args, &samples, elapsed, etcd_errors.load(Ordering::Relaxed));
    Ok(if samples.is_empty() { ExitCode::from(EXIT_FAILED) } else { ExitCode::SUCCESS })
}

fn report(args: &BenchArgs, samples: &Samples, elapsed_s: f64, errors: u64) {
    let system = if args.etcd { "etcd" } else { "raftkv" };
    let mut all: Vec<u64> = samples.iter().map(|s| s.1).collect();
    all.sort_unstable();
    let ops_per_sec = all.len() as f64 / elapsed_s;
    let per_kind: Vec<(usize, Vec<u64>)> = (0..KINDS.len())
        .map(|k| {
            let mut v: Vec<u64> = samples.iter().filter(|s| s.0 as usize == k).map(|s| s.1).collect();
            v.sort_unstable();
            (k, v)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if args.json {
        let kinds: serde_json::Map<String, serde_json::Value> = per_kind
            .iter()
            .map(|(k, v)| {
                let stats = serde_json::json!({
                    "ops": v.len(), "p50_ms": quantile_ms(v, 0.5), "p99_ms": quantile_ms(v, 0.99)
                });
                (KINDS[*k].to_string(), stats)
            })
            .collect();
        let out = serde_json::json!({
            "system": system, "servers": args.servers.0.len(), "clients": args.clients, "duration_s": elapsed_s,
            "retried_errors": errors,
            "mix": args.mix.to_string(), "keys": args.keys, "value_bytes": args.value_bytes,
            "ops": all.len(), "ops_per_sec": ops_per_sec,
            "latency_ms": {
                "p50": quantile_ms(&all, 0.5), "p90": quantile_ms(&all, 0.9), "p99": quantile_ms(&all, 0.99),
                "p999": quantile_ms(&all, 0.999), "max": quantile_ms(&all, 1.0)
            },
            "per_kind": kinds,
        });
        println!("{out}");
        return;
    }
    println!(
        "raftkv bench ({system}): {} servers, {} clients, {:.1} s, mix {}, {} keys, {}-byte values{}",
        args.servers.0.len(),
        args.clients,
        elapsed_s,
        args.mix,
        args.keys,
        args.value_bytes,
        if errors > 0 { format!(", {errors} failed requests retried") } else { String::new() }
    );
    println!("  {} ops, {ops_per_sec:.1} ops/s", all.len());
    println!(
        "  latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        quantile_ms(&all, 0.5),
        quantile_ms(&all, 0.9),
        quantile_ms(&all, 0.99),
        quantile_ms(&all, 0.999),
        quantile_ms(&all, 1.0)
    );
    for (k, v) in &per_kind {
        println!(
            "  {:<7} {:>8} ops  p50 {:.2}  p99 {:.2}",
            KINDS[*k],
            v.len(),
            quantile_ms(v, 0.5),
            quantile_ms(v, 0.99)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes_parse_and_bad_ones_say_why() {
        assert_eq!(parse_mix("get:50,put:50"), Ok(Mix([50, 50, 0, 0, 0, 0, 0])));
        assert_eq!(
            parse_mix("get:5,scan:1,txn:2,swap:3").map(|m| m.to_string()),
            Ok("get:5,swap:3,scan:1,txn:2".into())
        );
        let mix = parse_mix("put:1,get:3").unwrap();
        assert_eq!((0..4).map(|d| mix.pick(d)).collect::<Vec<_>>(), vec![0, 0, 0, 1]);
        assert_eq!(parse_mix("APPEND:1").map(|m| m.to_string()), Ok("append:1".into()));
        assert!(parse_mix("get").unwrap_err().contains("is not KIND:WEIGHT"));
        assert!(parse_mix("range:5").unwrap_err().contains("unknown operation \"range\""));
        assert!(parse_mix("get:1,get:2").unwrap_err().contains("given twice"));
        assert!(parse_mix("get:x").unwrap_err().contains("not a whole number"));
        assert!(parse_mix("get:0").unwrap_err().contains("nothing to run"));
        assert!(parse_seconds("0").is_err() && parse_seconds("-1").is_err() && parse_seconds("nan").is_err());
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn every_kind_has_an_operation_and_scans_cover_consecutive_keys() {
        for kind in 0..KINDS.len() {
            bench_op(kind, 3, 100, "v");
        }
        assert_eq!(key_name(7, 100), "k07");
        assert_eq!(key_name(0, 1), "k0");
        assert_eq!(bench_op(5, 95, 100, "v"), Op::Scan { from: "k95".into(), to: "k99".into(), limit: SCAN_KEYS });
    }

    #[test]
    fn quantiles_pick_the_nearest_rank() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(quantile_ms(&v, 0.5), 51.0);
        assert_eq!(quantile_ms(&v, 1.0), 100.0);
        assert_eq!(quantile_ms(&[], 0.5), 0.0);
    }
}
