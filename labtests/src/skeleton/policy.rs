//! What the skeleton does with each tracked file of the repository: one table, first match wins.
//!
//! Rules name folders (ending in `/`) or files; a `*` stands for one path segment. A file no
//! rule names is kept as it is, except under `src/`, where the last rule stubs it: a new server
//! module (a new lab) is stubbed without anyone touching this table, and the skeleton check
//! (`scripts/skeleton --check`) tells whether its stubs still compile.

/// What happens to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Copied as it is (minus the regions marked `skeleton: omit`, in Rust files).
    Keep,
    /// Every function body becomes `todo!("Type::name")`; unit tests are removed.
    Stub,
    /// Left out of the skeleton.
    Drop,
}

/// One rule: a path pattern, its policy, and why (printed by `scripts/skeleton --policy`).
pub struct Rule {
    pub pattern: &'static str,
    pub policy: Policy,
    pub why: &'static str,
}

const fn rule(pattern: &'static str, policy: Policy, why: &'static str) -> Rule {
    Rule { pattern, policy, why }
}

/// The rules, in order.
pub const RULES: &[Rule] = &[
    rule("README.md", Policy::Drop, "the skeleton writes its own short README"),
    rule("labtests/mutants/", Policy::Drop, "the mutant zoo: every patch is a diff of the reference (staff only)"),
    rule("labtests/src/mutants/", Policy::Drop, "the zoo's runner (staff only)"),
    rule("labtests/src/bin/mutants.rs", Policy::Drop, "the zoo's CLI (staff only)"),
    rule("labtests/tests/mutants_apply.rs", Policy::Drop, "checks the zoo's patches against the reference"),
    rule("scripts/mutants", Policy::Drop, "the zoo's entry point (staff only)"),
    rule("labtests/src/impls/reference_b.rs", Policy::Drop, "a second registration of the reference's Raft"),
    rule("labtests/tests/impls.rs", Policy::Drop, "compares reference-b with the reference seed for seed"),
    rule("labtests/tests/fixed_seed_traces.rs", Policy::Drop, "pins the reference's schedule of fixed seeds"),
    rule("labtests/tests/shrink.rs", Policy::Drop, "shrinks a failure planted in the reference Raft"),
    rule("labtests/tests/timeline_browser.rs", Policy::Drop, "draws a failing run of the reference"),
    rule("labtests/src/timeline/tests.rs", Policy::Drop, "replays a failing run of the reference"),
    rule("labtests/tests/snapshots/", Policy::Drop, "the reference's pinned traces"),
    rule("scripts/etcd-compare", Policy::Drop, "measures the reference against etcd (staff only)"),
    rule("scripts/madraft-compare", Policy::Drop, "measures the reference against MadRaft (staff only)"),
    rule("src/lib.rs", Policy::Keep, "declares the modules a student fills in"),
    rule("src/bin/", Policy::Keep, "the raftkv binary: runs the student's servers as a real cluster"),
    rule("src/cli/", Policy::Keep, "the real-cluster CLI: uses only the servers' public API"),
    rule("src/*/api.rs", Policy::Keep, "glue from labapi's traits to the servers' own methods, not the solution"),
    rule(
        "src/raft/trace.rs",
        Policy::Keep,
        "how the Raft's trace lines read (positions, ranges): a helper, not the exercise",
    ),
    rule("src/test_rng.rs", Policy::Drop, "the reference's unit tests' random numbers (its `mod` is omitted)"),
    rule("src/*/tests.rs", Policy::Drop, "the reference's unit tests (their `mod tests;` goes with its #[cfg(test)])"),
    rule("src/", Policy::Stub, "the solution: signatures and docs stay, bodies go"),
];

/// The rule that decides `path` (relative, `/`-separated), if any.
pub fn rule_for(path: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| matches(r.pattern, path))
}

/// The policy of `path`: its rule's, or `Keep` when no rule names it.
pub fn policy(path: &str) -> Policy {
    rule_for(path).map_or(Policy::Keep, |r| r.policy)
}

/// Does `pattern` name `path`? A pattern ending in `/` names every file under that folder.
fn matches(pattern: &str, path: &str) -> bool {
    let folder = pattern.ends_with('/');
    let want: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let have: Vec<&str> = path.split('/').collect();
    if have.len() < want.len() || (!folder && have.len() != want.len()) || (folder && have.len() == want.len()) {
        return false;
    }
    want.iter().zip(&have).all(|(w, h)| *w == "*" || w == h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_files_and_wildcards() {
        assert_eq!(policy("src/raft/core.rs"), Policy::Stub);
        assert_eq!(policy("src/kvsrv/api.rs"), Policy::Keep);
        assert_eq!(policy("src/kvsrv/lock.rs"), Policy::Stub, "lab 2's lock is the student's to write");
        assert_eq!(policy("src/clerk/mod.rs"), Policy::Stub, "the clerks' retry core is lab 4's clerk exercise");
        assert_eq!(policy("src/raft/trace.rs"), Policy::Keep, "students trace with the same helpers");
        assert_eq!(policy("src/api.rs"), Policy::Stub, "`*` is exactly one segment");
        assert_eq!(policy("src/shardctrler/tests.rs"), Policy::Drop);
        assert_eq!(policy("src/cli/tests/raftkv_binary.rs"), Policy::Keep);
        assert_eq!(policy("src/lib.rs"), Policy::Keep);
        assert_eq!(policy("labtests/mutants/double_vote.patch"), Policy::Drop);
        assert_eq!(policy("labtests/mutants/"), Policy::Drop, "the folder itself, as a handout names it");
        assert_eq!(policy("labtests/src/mutants.rs"), Policy::Keep, "a folder rule does not name a file");
        assert_eq!(policy("labtests/src/raft/monitor.rs"), Policy::Keep);
        assert_eq!(policy("README.md"), Policy::Drop);
        assert_eq!(policy("labtests/handouts/README.md"), Policy::Keep);
    }
}
