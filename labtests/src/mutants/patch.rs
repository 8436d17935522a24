//! A mutant: one patch in `labtests/mutants/NAME.patch`, a `git diff` of `src/` with a header of
//! `key: value` lines before the diff (git apply skips them):
//!
//! ```text
//! mutant: vote_not_persisted        (the file's stem)
//! class: persistence                (the bug class, for the table)
//! phases: raft_3c                   (the test files whose scenarios should catch it)
//! why: the RequestVote handler ...  (one or more lines: why it is a bug)
//! ```

use std::path::{Path, PathBuf};

/// Where the patches live, relative to the repository root.
pub const DIR: &str = "labtests/mutants";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mutant {
    pub name: String,
    pub class: String,
    /// dstest filters, each a test file (`raft_3c`, `kvraft_4a`, ...).
    pub phases: Vec<String>,
    pub why: String,
    pub path: PathBuf,
}

/// Parses a patch's header; the error names the file and what is missing or wrong.
pub fn parse(path: &Path, text: &str) -> Result<Mutant, String> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let (mut name, mut class, mut phases, mut why) = (None, None, None, Vec::new());
    let mut saw_diff = false;
    for (k, line) in text.lines().enumerate() {
        if line.starts_with("diff --git ") {
            saw_diff = true;
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!("{}:{}: expected `key: value` before the diff, found {line:?}", path.display(), k + 1));
        };
        let value = value.trim().to_string();
        match key {
            "mutant" => name = Some(value),
            "class" => class = Some(value),
            "phases" => phases = Some(value.split_whitespace().map(str::to_string).collect::<Vec<_>>()),
            "why" => why.push(value),
            _ => return Err(format!("{}:{}: unknown header key {key:?}", path.display(), k + 1)),
        }
    }
    let missing = |what: &str| format!("{}: header has no `{what}:` line", path.display());
    let name = name.ok_or_else(|| missing("mutant"))?;
    if name != stem {
        return Err(format!("{}: `mutant: {name}` does not match the file name", path.display()));
    }
    let phases = phases.filter(|p| !p.is_empty()).ok_or_else(|| missing("phases"))?;
    if why.is_empty() {
        return Err(missing("why"));
    }
    if !saw_diff {
        return Err(format!("{}: no `diff --git` after the header", path.display()));
    }
    Ok(Mutant {
        name,
        class: class.ok_or_else(|| missing("class"))?,
        phases,
        why: why.join(" "),
        path: path.to_path_buf(),
    })
}

/// Every `*.patch` in `dir`, parsed, sorted by name.
pub fn load_all(dir: &Path) -> Result<Vec<Mutant>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut mutants = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?.path();
        if path.extension().is_some_and(|x| x == "patch") {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            mutants.push(parse(&path, &text)?);
        }
    }
    mutants.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(mutants)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "diff --git a/src/x.rs b/src/x.rs\n";

    #[test]
    fn reads_the_header_and_names_what_is_wrong() {
        let path = Path::new("m/double_vote.patch");
        let text = format!("mutant: double_vote\nclass: votes\nphases: raft_3a raft_3b\nwhy: one\nwhy: two\n\n{DIFF}");
        let m = parse(path, &text).unwrap();
        assert_eq!((m.name.as_str(), m.class.as_str(), m.why.as_str()), ("double_vote", "votes", "one two"));
        assert_eq!(m.phases, ["raft_3a", "raft_3b"]);

        let wrong_name = text.replace("mutant: double_vote", "mutant: other");
        assert!(parse(path, &wrong_name).unwrap_err().contains("does not match the file name"));
        let no_phases = text.replace("phases: raft_3a raft_3b\n", "");
        assert!(parse(path, &no_phases).unwrap_err().contains("no `phases:`"));
        let no_diff = text.replace(DIFF, "");
        assert!(parse(path, &no_diff).unwrap_err().contains("no `diff --git`"));
        let bad_key = text.replace("why: one", "whence: one");
        assert!(parse(path, &bad_key).unwrap_err().contains(":4: unknown header key \"whence\""));
    }
}
