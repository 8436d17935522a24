//! Keeps the handouts (`labtests/handouts/*.md`) honest against the tree they describe: every
//! scenario of the table has a line in its lab's handout, every scenario a handout names exists,
//! the mutants named as hints exist, every lint of `clippy.toml` is in the determinism table, and
//! the paths, test files, dstest flags, knobs and links the handouts tell students to use are
//! real. A new scenario without its line fails here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use labtests::scenario::Scenario;

const HANDOUTS_DIR: &str = "labtests/handouts";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("labtests sits in the workspace").to_path_buf()
}

/// The handout that must describe `s`, by the lab its phase or test file belongs to. A scenario
/// of a new phase or file lands here first: give it a handout line and a rule below.
fn handout_of(s: &Scenario) -> &'static str {
    match (s.phase, s.file) {
        ("2", _) => "lab2-kvsrv.md",
        (_, "kv_beyond" | "kv_api") if s.name.starts_with("kvsrv_") => "lab2-kvsrv.md",
        ("3a" | "3b" | "3c" | "3d", _) | (_, "raft_beyond" | "raft_chaos") => "lab3-raft.md",
        ("rsm" | "4a" | "4b", _) | (_, "kv_beyond" | "kv_chaos" | "kv_api") => "lab4-kvraft.md",
        ("5a" | "5b", _) => "lab5-shardkv.md",
        _ => panic!(
            "scenario {} (phase {:?}, file {:?}) belongs to no handout: give it a line in its lab's handout \
             under {HANDOUTS_DIR}/ and a rule in handout_of (labtests/tests/handouts.rs)",
            s.name, s.phase, s.file
        ),
    }
}

/// Every handout, by file name, with its text.
fn handouts() -> Vec<(String, String)> {
    let dir = repo_root().join(HANDOUTS_DIR);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            (p.file_name().expect("a file name").to_string_lossy().into_owned(), text)
        })
        .collect();
    out.sort();
    assert!(out.len() >= 5, "expected the index, the simulator handout and three lab handouts in {}", dir.display());
    out
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
}

/// The snake_case words of `text` with the character that follows each (a word followed by `.`
/// is a file name such as `scenarios_3a.rs`, not a scenario).
fn words(text: &str) -> Vec<(&str, Option<char>)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (start, is_word_char(c) && i < text.len()) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                out.push((&text[s..i], text[i..].chars().next()));
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// Whether `text` names `name` as a whole word in a code span (`name`).
fn names(text: &str, name: &str) -> bool {
    text.contains(&format!("`{name}`"))
}

/// Fails with `what` and one problem a line, if there are any.
#[track_caller]
fn assert_none<T: std::fmt::Display>(problems: impl IntoIterator<Item = T>, what: &str) {
    let lines: Vec<String> = problems.into_iter().map(|p| p.to_string()).collect();
    assert!(lines.is_empty(), "{what}:\n  {}", lines.join("\n  "));
}

#[test]
fn every_scenario_has_a_line_in_its_labs_handout() {
    let docs = handouts();
    let mut missing = Vec::new();
    for s in labtests::scenario::all() {
        let handout = handout_of(&s);
        let (_, text) = docs
            .iter()
            .find(|(name, _)| name == handout)
            .unwrap_or_else(|| panic!("handout {handout} (for scenario {}) is not in {HANDOUTS_DIR}", s.name));
        if !names(text, s.name) {
            missing.push(format!("{} (phase {}, file {}) in {handout}", s.name, s.phase, s.file));
        }
    }
    assert_none(
        missing,
        "scenarios without a line in their handout (write what each does and what fails it, as `name`)",
    );
}

#[test]
fn every_scenario_a_handout_names_exists() {
    let table = labtests::scenario::all();
    let scenarios: BTreeSet<&str> = table.iter().map(|s| s.name).collect();
    let files: BTreeSet<&str> = table.iter().map(|s| s.file).collect();
    let suffixes: BTreeSet<String> = table.iter().map(|s| format!("_{}", s.phase)).collect();
    let mut unknown = Vec::new();
    for (handout, text) in handouts() {
        for (word, next) in words(&text) {
            let looks_like_scenario = suffixes.iter().any(|suffix| word.ends_with(suffix.as_str()));
            if looks_like_scenario && next != Some('.') && !files.contains(word) && !scenarios.contains(word) {
                unknown.push(format!("{handout}: {word}"));
            }
        }
    }
    assert_none(unknown, "handouts name scenarios that are not in the table");
}

// skeleton: omit begin (the mutant zoo is staff only)
/// In the hints sections, every code span that is a snake_case identifier names a mutant of the
/// zoo or a scenario: a renamed or removed mutant must not leave a stale hint behind.
#[test]
fn every_mutant_a_hint_names_exists() {
    let root = repo_root();
    let mutants: BTreeSet<String> = labtests::mutants::patch::load_all(&root.join(labtests::mutants::patch::DIR))
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|m| m.name)
        .collect();
    let scenarios: BTreeSet<&str> = labtests::scenario::all().iter().map(|s| s.name).collect();
    let mut unknown = Vec::new();
    for (handout, text) in handouts() {
        let mut in_hints = false;
        for line in text.lines() {
            if let Some(heading) = line.strip_prefix("## ") {
                in_hints = heading.starts_with("Hints");
            }
            if !in_hints {
                continue;
            }
            for (i, span) in line.split('`').enumerate() {
                let identifier = i % 2 == 1 && span.contains('_') && span.chars().all(is_word_char);
                if identifier && !mutants.contains(span) && !scenarios.contains(span) {
                    unknown.push(format!("{handout}: {span}"));
                }
            }
        }
    }
    assert_none(unknown, "hints name mutants that are not in labtests/mutants/ (nor scenarios)");
}
// skeleton: omit end

/// Repository paths (`labtests/...`, `src/...`, `labrpc/...`, `scripts/...`, `clippy.toml`), the
/// test files of `--test NAME`, and relative links must exist (in the student skeleton, a
/// staff-only path it leaves out may be named).
#[test]
fn every_path_test_file_and_link_a_handout_names_exists() {
    let root = repo_root();
    let mut missing = Vec::new();
    for (handout, text) in handouts() {
        for token in text.split(|c: char| c.is_whitespace() || "`()[]<>,;:'\"*".contains(c)) {
            let token = token.trim_end_matches(['.', '!', '?']);
            let is_path = ["labtests/", "labrpc/", "src/", "scripts/"].iter().any(|p| token.starts_with(p))
                || token == "clippy.toml";
            if is_path && !root.join(token).exists() && !labtests::skeleton::left_out(&root, token) {
                missing.push(format!("{handout}: path {token}"));
            }
        }
        let tokens: Vec<&str> = text.split_whitespace().collect();
        for pair in tokens.windows(2) {
            if pair[0] == "--test" {
                let file = pair[1].trim_matches(|c: char| !is_word_char(c));
                if !root.join("labtests/tests").join(format!("{file}.rs")).exists() {
                    missing.push(format!("{handout}: --test {file} (no labtests/tests/{file}.rs)"));
                }
            }
        }
        for link in text.split("](").skip(1) {
            let target = link.split(')').next().unwrap_or_default();
            if !target.contains("://") && !root.join(HANDOUTS_DIR).join(target).exists() {
                missing.push(format!("{handout}: link {target}"));
            }
        }
    }
    assert_none(missing, "handouts name what does not exist");
}

/// Every flag on a `scripts/dstest` line is one dstest accepts.
#[test]
fn every_dstest_flag_a_handout_uses_exists() {
    let command = labtests::dstest::Args::command();
    let longs: BTreeSet<String> = command.get_arguments().filter_map(|a| a.get_long()).map(str::to_string).collect();
    let shorts: BTreeSet<char> = command.get_arguments().filter_map(|a| a.get_short()).collect();
    let mut unknown = Vec::new();
    for (handout, text) in handouts() {
        for line in text.lines().filter(|l| l.contains("scripts/dstest")) {
            // Flags of the dstest command only, not of a cargo command later on the line.
            let from = line.find("scripts/dstest").expect("filtered on it");
            for token in line[from..].split(|c: char| c.is_whitespace() || c == '`').take_while(|t| *t != "#") {
                let known = match token.strip_prefix("--") {
                    Some(long) => longs.contains(long),
                    None => match token.strip_prefix('-') {
                        Some(short) if short.chars().count() == 1 => {
                            shorts.contains(&short.chars().next().expect("one char"))
                        }
                        _ => true,
                    },
                };
                if !known {
                    unknown.push(format!("{handout}: {token} in {line:?}"));
                }
            }
        }
    }
    assert_none(unknown, "handouts use dstest flags it does not have");
}

/// Every method, type and macro `clippy.toml` refuses is named in the simulator handout's table
/// of determinism rules, so a new lint cannot surprise a student who read it.
#[test]
fn every_determinism_lint_is_in_the_simulator_handout() {
    let root = repo_root();
    let clippy = std::fs::read_to_string(root.join("clippy.toml")).expect("clippy.toml at the workspace root");
    let (_, handout) = handouts().into_iter().find(|(name, _)| name == "simulator.md").expect("simulator.md");
    let refused: Vec<&str> = clippy
        .lines()
        .filter_map(|line| line.split_once("path = \"").and_then(|(_, rest)| rest.split_once('"')).map(|(p, _)| p))
        .collect();
    assert!(refused.len() >= 10, "clippy.toml refuses only {} paths; did its format change?", refused.len());
    let missing: Vec<&str> = refused.into_iter().filter(|path| !names(&handout, path)).collect();
    assert_none(missing, "clippy.toml refuses what simulator.md's determinism table does not name (as `path`)");
}

/// Every `LAB_*` knob a handout names appears in the workspace's Rust sources.
#[test]
fn every_knob_a_handout_names_exists() {
    let root = repo_root();
    let mut sources = String::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if path.is_dir() && !name.starts_with('.') && name != "target" {
                dirs.push(path);
            } else if name.ends_with(".rs") {
                sources.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    let mut unknown = BTreeSet::new();
    for (handout, text) in handouts() {
        for knob in text.split(|c: char| !(c.is_ascii_uppercase() || c == '_')).filter(|w| w.starts_with("LAB_")) {
            if !sources.contains(&format!("\"{knob}\"")) {
                unknown.insert(format!("{handout}: {knob}"));
            }
        }
    }
    assert_none(unknown, "handouts name knobs no source reads");
}
