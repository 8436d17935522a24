//! The student skeleton, `scripts/skeleton OUT`: the repository as a student receives it. The
//! simulator, harness, scenarios, tests, scripts and handouts are copied; the servers in `src/`
//! keep their types, signatures and doc comments with every body `todo!("Type::name")`; what is
//! pinned to the reference or staff only is left out. Which file gets what is one table
//! (`policy.rs`); inside a file, `// skeleton: omit begin` ... `// skeleton: omit end` leaves a
//! region out (`omit.rs`) and `// skeleton: keep` as a body's first line keeps that body
//! (`stub.rs`). `scripts/skeleton --check` builds the skeleton and runs its tests (`check.rs`).

pub mod check;
mod omit;
pub mod policy;
mod stub;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use policy::Policy;

/// The first line of the generated README: how a later run knows OUT holds a skeleton it may
/// overwrite.
const README_FIRST_LINE: &str = "<!-- skeleton of the raftkv lab, written by scripts/skeleton -->";

/// What one generation did.
#[derive(Debug, Default)]
pub struct Summary {
    pub kept: usize,
    pub stubbed: usize,
    pub dropped: usize,
    /// Function bodies replaced with `todo!`.
    pub bodies: usize,
    /// `#[cfg(test)]` items removed from stubbed files.
    pub tests_removed: usize,
    /// Files whose bytes changed on disk (the others keep their mtime, so cargo does not rebuild).
    pub written: usize,
    /// Files of an earlier skeleton in OUT that this one no longer has, removed.
    pub removed: usize,
}

/// Writes the skeleton of the repository at `repo` (its git-tracked files, as in the work tree)
/// into `out`, which must be absent, empty, or an earlier skeleton.
pub fn generate(repo: &Path, out: &Path) -> Result<Summary, String> {
    refuse_foreign_folder(out)?;
    let mut summary = Summary::default();
    let mut files: Vec<(String, Vec<u8>, Option<std::fs::Permissions>)> = Vec::new();
    for path in tracked_files(repo)? {
        let from = repo.join(&path);
        let Ok(bytes) = std::fs::read(&from) else { continue }; // tracked but deleted in the work tree
        let mode = std::fs::metadata(&from).ok().map(|m| m.permissions());
        let text = || String::from_utf8(bytes.clone()).map_err(|_| format!("{path}: not UTF-8"));
        let content = match (policy::policy(&path), path.ends_with(".rs")) {
            (Policy::Drop, _) => {
                summary.dropped += 1;
                continue;
            }
            (Policy::Keep, false) => bytes.clone(),
            (Policy::Keep, true) => omit::omit_regions(&path, &text()?)?.into_bytes(),
            (Policy::Stub, rust) => {
                if !rust {
                    return Err(format!("{path}: only Rust files can be stubbed; give it a Keep or Drop rule"));
                }
                let stubbed = stub::stub(&path, &module_path(&path), &omit::omit_regions(&path, &text()?)?)?;
                summary.bodies += stubbed.bodies;
                summary.tests_removed += stubbed.tests_removed;
                summary.stubbed += 1;
                files.push((path, stubbed.text.into_bytes(), mode));
                continue;
            }
        };
        summary.kept += 1;
        files.push((path, content, mode));
    }
    files.push(("README.md".to_string(), readme().into_bytes(), None));
    let wanted: BTreeSet<PathBuf> = files.iter().map(|(p, _, _)| out.join(p)).collect();
    for (path, content, mode) in files {
        let to = out.join(&path);
        if std::fs::read(&to).is_ok_and(|old| old == content) {
            continue;
        }
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(&to, &content).map_err(|e| format!("cannot write {}: {e}", to.display()))?;
        if let Some(mode) = mode {
            std::fs::set_permissions(&to, mode).map_err(|e| format!("chmod {}: {e}", to.display()))?;
        }
        summary.written += 1;
    }
    summary.removed = remove_stale(out, out, &wanted)?;
    Ok(summary)
}

/// Whether `path` is named in `root`'s tree but left out of it because `root` is a skeleton (a
/// staff-only file such as the mutant zoo): documents shared with the staff repository may name it.
pub fn left_out(root: &Path, path: &str) -> bool {
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap_or_default();
    readme.lines().next() == Some(README_FIRST_LINE) && policy::policy(path) == Policy::Drop
}

/// `src/raft/core.rs` is `raft::core`, `src/raft/mod.rs` is `raft`, `src/lib.rs` the root.
fn module_path(path: &str) -> String {
    let inner = path.strip_prefix("src/").unwrap_or(path).trim_end_matches(".rs");
    let inner = inner.strip_suffix("/mod").unwrap_or(inner);
    if inner == "lib" {
        String::new()
    } else {
        inner.replace('/', "::")
    }
}

fn refuse_foreign_folder(out: &Path) -> Result<(), String> {
    let Ok(mut entries) = std::fs::read_dir(out) else { return Ok(()) };
    if entries.next().is_none() {
        return Ok(());
    }
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap_or_default();
    if readme.lines().next() == Some(README_FIRST_LINE) {
        return Ok(());
    }
    Err(format!("{} is not empty and holds no earlier skeleton: give a new or empty folder", out.display()))
}

/// Removes files under `dir` (not `target/` or `.git/` at the top) that are not in `wanted`.
fn remove_stale(top: &Path, dir: &Path, wanted: &BTreeSet<PathBuf>) -> Result<usize, String> {
    let mut removed = 0;
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?.path();
        if dir == top && path.file_name().is_some_and(|n| n == "target" || n == ".git") {
            continue;
        }
        if path.is_dir() {
            removed += remove_stale(top, &path, wanted)?;
        } else if !wanted.contains(&path) {
            std::fs::remove_file(&path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The repository's tracked files, relative and `/`-separated.
fn tracked_files(repo: &Path) -> Result<Vec<String>, String> {
    let output = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repo)
        .output()
        .map_err(|e| format!("cannot run git ls-files in {}: {e}", repo.display()))?;
    if !output.status.success() {
        return Err(format!("git ls-files failed in {}: {}", repo.display(), String::from_utf8_lossy(&output.stderr)));
    }
    let listing = String::from_utf8(output.stdout).map_err(|_| "git ls-files: a path is not UTF-8".to_string())?;
    Ok(listing.split('\0').filter(|f| !f.is_empty()).map(str::to_string).collect())
}

/// The skeleton's own README: what the student builds and how to start.
fn readme() -> String {
    format!(
        "{README_FIRST_LINE}
# The raftkv lab

You write, in Rust, a key/value server with exactly-once semantics (lab 2), the Raft consensus
protocol (lab 3, parts 3A to 3D), and a fault-tolerant key/value service replicated with your
Raft (lab 4). Everything else is here and finished: the simulator that runs your servers on a
faulty network under one seed (`labrpc/`), the harness, its scenarios and the grader
(`labtests/`), the interfaces the harness calls (`labtests/api/`).

The servers in `src/` are yours. Their types, signatures and doc comments are given; every
function body is `todo!()`. Each of those files starts with an `#![allow(...)]` that keeps the
build quiet while bodies are missing: delete it once you have written the file. Keep the
signatures (the harness reaches them through `src/*/api.rs`); add fields, types and functions as
you like.

## Start

1. Read `labtests/handouts/simulator.md` (how your threads, locks, timers and RPCs run under the
   simulator, and the rules that keep a run reproducible), then the handout of your lab in
   `labtests/handouts/`.
2. Run your lab's tests, for lab 2 `cargo test --test lab2_kvsrv` (lab 3: `raft_3a` to
   `raft_3d`; lab 4: `kvraft_4a`, `kvraft_4b`). Until you write the code, each test stops at the
   first missing body and says which: `not yet implemented: KvServer::new`.
3. Once a test file passes, sweep many seeds, `scripts/dstest 3a -n 100`, replay any failing
   seed with the command the failure prints, and see your score with `scripts/grade`.
"
    )
}
