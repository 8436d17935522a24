//! Trace lines carry virtual time, node and thread, and can be captured per run.

use std::time::Duration;

use labrpc::sim::{self, Config};
use labrpc::{node, thread, time, trace};

#[test]
fn capture_collects_one_runs_lines_with_time_node_and_thread() {
    let (report, text) = trace::capture(tracing::Level::DEBUG, || {
        sim::run(5, &Config::default(), || {
            let n = node::create("server-3");
            thread::Builder::new()
                .name("ticker")
                .node(n)
                .spawn(|| {
                    time::sleep(Duration::from_millis(1250));
                    tracing::info!(term = 7, "became leader");
                    tracing::trace!("not captured at debug level");
                })
                .join()
                .unwrap();
        })
    });
    report.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let fields: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(&fields[..4], &["1250.000", "server-3", "ticker#1", "INFO"], "{text}");
    assert!(lines[0].ends_with("became leader term=7"), "{text}");
    // Outside capture nothing is collected.
    let (_, empty) = trace::capture(tracing::Level::DEBUG, || ());
    assert!(empty.is_empty());
}

#[test]
fn as_node_names_another_node_while_the_call_runs_even_across_blocking() {
    let (report, text) = trace::capture(tracing::Level::INFO, || {
        sim::run(6, &Config::default(), || {
            let peer = node::create("peer-1");
            let other = thread::Builder::new().name("other").spawn(|| {
                time::sleep(Duration::from_millis(5));
                tracing::info!("mine");
            });
            trace::as_node(peer, || {
                time::sleep(Duration::from_millis(10)); // the other thread logs meanwhile
                tracing::info!("start");
            });
            tracing::info!("back");
            other.join().unwrap();
        })
    });
    report.unwrap();
    let heads: Vec<(String, String)> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[1].to_string(), f.last().unwrap().to_string())
        })
        .collect();
    let want = [("main", "mine"), ("peer-1", "start"), ("main", "back")];
    let want: Vec<(String, String)> = want.iter().map(|(n, m)| (n.to_string(), m.to_string())).collect();
    assert_eq!(heads, want, "{text}");
    // The thread column still names the caller.
    assert!(text.lines().nth(1).unwrap().contains(" main#0 "), "{text}");
}
