//! The `lincheck` binary on files in a temp dir: every exit status, every error line, the
//! names of HTML views. Texts users read are insta snapshots.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    dir: PathBuf,
}

/// Runs lincheck in a fresh directory holding `files`, with `env` set.
fn lincheck(test: &str, files: &[(&str, String)], args: &[&str], env: &[(&str, &str)]) -> Run {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lincheck_cli").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_lincheck"));
    command.current_dir(&dir).args(args).env_remove("LAB_VIS");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    Run {
        code: output.status.code().expect("exited"),
        stdout: mask_millis(&String::from_utf8(output.stdout).unwrap()),
        stderr: String::from_utf8(output.stderr).unwrap(),
        dir,
    }
}

/// Replaces the timing in `(N ops, T ms)`, the only part of the output that varies.
fn mask_millis(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(" ms)") {
        let digits_start = rest[..at].rfind(|c: char| !c.is_ascii_digit()).map_or(0, |i| i + 1);
        out.push_str(&rest[..digits_start]);
        out.push_str("T ms)");
        rest = &rest[at + " ms)".len()..];
    }
    out.push_str(rest);
    out
}

fn line(client: u64, call: u64, ret: Option<u64>, rest: &str) -> String {
    let ret = ret.map_or("null".to_string(), |r| r.to_string());
    format!("{{\"client\": {client}, \"call\": {call}, \"return\": {ret}, {rest}}}\n")
}

fn good_kv() -> String {
    line(1, 0, Some(10), r#""op": "put", "key": "k", "value": "a""#)
        + &line(2, 5, Some(20), r#""op": "get", "key": "k", "output": "a", "version": 1"#)
        + &line(3, 6, None, r#""op": "append", "key": "k", "value": "b""#)
        + &line(4, 30, Some(40), r#""op": "cput", "key": "j", "value": "x", "version": 0, "output": true"#)
}

fn stale_kv() -> String {
    line(1, 0, Some(10), r#""op": "put", "key": "k", "value": "a""#)
        + &line(1, 20, Some(30), r#""op": "put", "key": "k", "value": "b""#)
        + &line(2, 40, Some(50), r#""op": "get", "key": "k", "output": "a""#)
}

/// Illegal, but proving it takes longer than any timeout here.
fn hopeless_kv() -> String {
    let mut text: String =
        (0..40).map(|n| line(n, 0, None, &format!(r#""op": "put", "key": "k", "value": "v{n}""#))).collect();
    text += &line(99, 1, Some(1000), r#""op": "get", "key": "k", "output": "never written""#);
    text
}

#[test]
fn linearizable_file_exits_0() {
    let run = lincheck("ok", &[("good.jsonl", good_kv())], &["--model", "kv", "good.jsonl"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout, @"good.jsonl: linearizable (4 ops, T ms)");
}

#[test]
fn violation_exits_1_and_names_the_operation() {
    let run = lincheck("bad", &[("stale.jsonl", stale_kv())], &["--model", "kv", "stale.jsonl"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!("violation", run.stdout);
}

#[test]
fn timeout_exits_3() {
    let run = lincheck(
        "unknown",
        &[("slow.jsonl", hopeless_kv())],
        &["--model", "kv", "--timeout", "0.05", "slow.jsonl"],
        &[],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout, @"slow.jsonl: unknown (timed out after 0.05 s)");
}

#[test]
fn unreadable_input_exits_2_with_file_and_line() {
    let ok = line(1, 0, Some(10), r#""op": "put", "key": "k", "value": "a""#);
    let cases = [
        ("json.jsonl", ok.clone() + "{\"client\": 1,\n"),
        ("op.jsonl", ok.clone() + &line(1, 20, Some(30), r#""op": "incr", "key": "k""#)),
        ("field.jsonl", ok.clone() + &line(1, 20, Some(30), r#""op": "put", "key": "k""#)),
        ("time.jsonl", line(1, 20, Some(10), r#""op": "delete", "key": "k""#)),
        // The violation on line 1 is not reported: nothing else is checked in a bad file.
        ("late.jsonl", stale_kv() + &line(1, 60, Some(70), r#""op": "get", "key": "k", "output": 5"#)),
    ];
    let files: Vec<(&str, String)> = cases.iter().map(|(n, t)| (*n, t.clone())).collect();
    let names: Vec<&str> = cases.iter().map(|(n, _)| *n).collect();
    let mut args = vec!["--model", "kv"];
    args.extend(&names);
    args.push("missing.jsonl");
    let run = lincheck("errors", &files, &args, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    insta::assert_snapshot!("unreadable", run.stdout);
}

#[test]
fn register_model_and_its_errors() {
    let good = line(1, 0, Some(10), r#""op": "write", "value": 3"#)
        + &line(2, 5, Some(15), r#""op": "cas", "from": 3, "to": 4, "output": true"#)
        + &line(3, 20, Some(30), r#""op": "read", "output": 4"#);
    let bad = line(1, 0, Some(10), r#""op": "read", "output": 1"#);
    let typo = line(1, 0, Some(10), r#""op": "write", "valu": 3"#);
    let run = lincheck(
        "register",
        &[("good.jsonl", good), ("bad.jsonl", bad), ("typo.jsonl", typo)],
        &["--model", "register", "good.jsonl", "bad.jsonl", "typo.jsonl"],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    insta::assert_snapshot!("register", run.stdout);
}

#[test]
fn exit_status_precedence_over_several_files() {
    let files = [("good.jsonl", good_kv()), ("stale.jsonl", stale_kv()), ("slow.jsonl", hopeless_kv())];
    let code = |names: &[&str]| {
        let mut args = vec!["--model", "kv", "--timeout", "0.05"];
        args.extend(names);
        lincheck("precedence", &files, &args, &[]).code
    };
    assert_eq!(code(&["good.jsonl", "good.jsonl"]), 0);
    assert_eq!(code(&["good.jsonl", "slow.jsonl"]), 3);
    assert_eq!(code(&["slow.jsonl", "stale.jsonl", "good.jsonl"]), 1);
    assert_eq!(code(&["stale.jsonl", "missing.jsonl"]), 2);
}

#[test]
fn html_views_for_failing_files_with_derived_names() {
    let files = [("a.jsonl", good_kv()), ("b.jsonl", stale_kv())];
    let args = ["--model", "kv", "--html", "v.html", "a.jsonl", "b.jsonl"];
    let run = lincheck("html", &files, &args, &[]);
    assert_eq!(run.code, 1);
    assert!(!run.dir.join("v-1-a.html").exists(), "a passed: no view by default");
    let page = std::fs::read_to_string(run.dir.join("v-2-b.html")).unwrap();
    assert!(page.contains("cannot be placed"));
    assert_eq!(run.stderr, "lincheck: view of b.jsonl written to v-2-b.html\n");

    let run = lincheck("html_always", &files, &args, &[("LAB_VIS", "always")]);
    assert!(run.dir.join("v-1-a.html").exists(), "LAB_VIS=always: passing files too");
    assert!(run.dir.join("v-2-b.html").exists());

    let single = ["--model", "kv", "--html", "one.html", "b.jsonl"];
    let run = lincheck("html_single", &files, &single, &[]);
    assert!(run.dir.join("one.html").exists());
    let run = lincheck("html_never", &files, &single, &[("LAB_VIS", "never")]);
    assert!(!run.dir.join("one.html").exists());
}

#[test]
fn bad_lab_vis_is_rejected_by_name() {
    let files = [("a.jsonl", good_kv())];
    let run = lincheck("lab_vis", &files, &["--model", "kv", "a.jsonl"], &[("LAB_VIS", "sometimes")]);
    assert_eq!(run.code, 2);
    insta::assert_snapshot!(run.stderr, @r#"lincheck: LAB_VIS="sometimes" is not understood: accepted values are always|never|on-failure (unset means on-failure)"#);
}

#[test]
fn usage_errors() {
    let run = lincheck("usage", &[], &["--model", "queue", "x.jsonl"], &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("invalid value 'queue' for '--model <MODEL>'"), "{}", run.stderr);
    let run = lincheck("usage_timeout", &[], &["--model", "kv", "--timeout=-1", "x"], &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("positive number of seconds"), "{}", run.stderr);
}

#[test]
fn empty_history_is_said_explicitly() {
    let run = lincheck("empty", &[("empty.jsonl", "\n\n".to_string())], &["--model", "kv", "empty.jsonl"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout, @"empty.jsonl: empty history (no operations): nothing to check, trivially linearizable");
}

#[test]
fn dash_reads_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lincheck"))
        .args(["--model", "kv", "-"])
        .env_remove("LAB_VIS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stale_kv().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = mask_millis(&String::from_utf8(output.stdout).unwrap());
    assert!(stdout.starts_with("-: NOT linearizable (3 ops, T ms): line 3 cannot be placed"), "{stdout}");
}

#[test]
fn overlapping_operations_of_one_client_are_rejected_naming_the_line() {
    let overlap = line(1, 0, Some(10), r#""op": "put", "key": "k", "value": "a""#)
        + &line(2, 0, Some(10), r#""op": "put", "key": "j", "value": "a""#)
        + &line(1, 5, Some(20), r#""op": "get", "key": "k", "output": "a""#);
    let after_never = line(1, 0, None, r#""op": "put", "key": "k", "value": "a""#)
        + &line(1, 5, Some(20), r#""op": "get", "key": "k", "output": "a""#);
    let files = [("overlap.jsonl", overlap), ("after_never.jsonl", after_never)];
    let run = lincheck("overlap", &files, &["--model", "kv", "overlap.jsonl", "after_never.jsonl"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    insta::assert_snapshot!("overlap", run.stdout);
}

#[test]
fn sequence_numbers_order_ties_and_maybe_outputs_are_named() {
    // One client, everything at time 5: put then a stale get, told apart by seq only.
    let seq = |call: u64, ret: u64| format!(r#""call_seq": {call}, "return_seq": {ret}, "#);
    let tie = line(1, 5, Some(5), &(seq(0, 1) + r#""op": "put", "key": "k", "value": "a""#))
        + &line(1, 5, Some(5), &(seq(2, 3) + r#""op": "get", "key": "k", "output": null"#));
    let maybe = line(1, 0, Some(10), r#""op": "cput", "key": "k", "value": "a", "version": 0, "unknown_output": true"#)
        + &line(1, 20, Some(30), r#""op": "get", "key": "k", "output": null"#);
    let files = [("tie.jsonl", tie), ("maybe.jsonl", maybe)];
    let run = lincheck("seq", &files, &["--model", "kv", "tie.jsonl", "maybe.jsonl"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!("seq_and_maybe", run.stdout);
}

#[test]
fn budget_exits_3_naming_the_key() {
    let run =
        lincheck("budget", &[("slow.jsonl", hopeless_kv())], &["--model", "kv", "--budget", "1000", "slow.jsonl"], &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout, @r#"slow.jsonl: unknown (the budget of 1000 steps ran out before key "k" was decided)"#);
}

#[test]
fn help_describes_the_input_format() {
    let run = lincheck("help", &[], &["--help"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("help", run.stdout);
}

#[test]
fn porcupine_formats_are_read_with_time_the_line_number() {
    // A stale read in Jepsen's etcd log format: 3 is read after the write of 4 returned.
    let etcd = "INFO  jepsen.util - 0\t:invoke\t:write\t3\n\
                INFO  jepsen.util - 0\t:ok\t:write\t3\n\
                INFO  jepsen.util - 1\t:invoke\t:write\t4\n\
                INFO  jepsen.util - 1\t:ok\t:write\t4\n\
                INFO  jepsen.util - 2\t:invoke\t:read\tnil\n\
                INFO  jepsen.util - 2\t:ok\t:read\t3\n";
    let kv = "{:process 0, :type :invoke, :f :append, :key \"k\", :value \"x\"}\n\
              {:process 1, :type :invoke, :f :get, :key \"k\", :value nil}\n\
              {:process 0, :type :ok, :f :append, :key \"k\", :value \"x\"}\n\
              {:process 1, :type :ok, :f :get, :key \"k\", :value \"\"}\n";
    let files = [
        ("etcd.log", etcd.to_string()),
        ("c.txt", kv.to_string()),
        ("bad.log", "INFO jepsen.util - 0 :ok :read 1\n".into()),
    ];
    let run = lincheck("etcd", &files, &["--model", "register", "--format", "jepsen-etcd", "etcd.log"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout, @"etcd.log: NOT linearizable (3 ops, T ms): line 5 cannot be placed: client 2, read() -> 3, call 5, return 6 (all operations: the longest linearizable prefix has 2 of its 3 operations, state there: 4)");
    let run = lincheck("porcupine_kv", &files, &["--model", "kv", "--format", "porcupine-kv", "c.txt"], &[]);
    assert_eq!((run.code, run.stdout.trim()), (0, "c.txt: linearizable (2 ops, T ms)"));
    let run = lincheck("etcd_bad", &files, &["--model", "register", "--format", "jepsen-etcd", "bad.log"], &[]);
    assert_eq!((run.code, run.stdout.trim()), (2, "bad.log:1: process 0 returns without a call"));
    let run = lincheck("mismatch", &files, &["--model", "kv", "--format", "jepsen-etcd", "etcd.log"], &[]);
    assert_eq!(
        (run.code, run.stderr.trim()),
        (2, "lincheck: --format jepsen-etcd holds register histories: use --model register")
    );
}
