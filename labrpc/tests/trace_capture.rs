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
