//! Every mutant of the zoo (`labtests/mutants/*.patch`) must still apply to the current servers,
//! have a well-formed header, and name only phases (test files) that exist: a patch that rots
//! when `src/` changes would silently drop out of the harness's measurement.

use std::path::{Path, PathBuf};
use std::process::Command;

use labtests::mutants::patch;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("labtests sits in the workspace").to_path_buf()
}

#[test]
fn every_patch_parses_and_names_existing_phases() {
    let mutants = patch::load_all(&repo_root().join(patch::DIR)).unwrap_or_else(|e| panic!("{e}"));
    assert!(mutants.len() >= 15, "the zoo has {} mutants, wants at least 15", mutants.len());
    let files: Vec<&str> = labtests::scenario::all().iter().map(|s| s.file).collect();
    for m in &mutants {
        for phase in &m.phases {
            assert!(
                files.contains(&phase.as_str()),
                "{}: phase {phase:?} is not a test file of the scenario table",
                m.name
            );
        }
    }
}

#[test]
fn every_patch_applies_to_the_current_tree() {
    let root = repo_root();
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("SKIPPED: git is not installed, so the mutant patches cannot be checked against src/");
        return;
    }
    let mutants = patch::load_all(&root.join(patch::DIR)).unwrap_or_else(|e| panic!("{e}"));
    let mut broken = Vec::new();
    for m in &mutants {
        // --check touches nothing; run from the root so paths resolve against this tree's src/.
        let out = Command::new("git").args(["apply", "--check"]).arg(&m.path).current_dir(&root).output().unwrap();
        if !out.status.success() {
            broken.push(format!("{}: {}", m.name, String::from_utf8_lossy(&out.stderr).trim()));
        }
    }
    assert!(broken.is_empty(), "patches that no longer apply (regenerate them with git diff):\n{}", broken.join("\n"));
}
