//! The scratch tree a mutant is built in: a copy of the repository's tracked files, synced before
//! each mutant, with the patch applied and the servers' asserts compiled out. One scratch tree
//! and one cargo target directory serve every mutant, so after the first build only `raftkv` and
//! `labtests` recompile.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::asserts;

pub struct Scratch {
    /// The repository the tracked files come from.
    pub repo: PathBuf,
    /// The copy.
    pub tree: PathBuf,
    /// CARGO_TARGET_DIR for every build in the copy.
    pub target: PathBuf,
}

impl Scratch {
    /// `work` is made absolute: git and cargo run in the copy, and GIT_CEILING_DIRECTORIES
    /// ignores relative paths.
    pub fn new(repo: &Path, work: &Path) -> Result<Scratch, String> {
        std::fs::create_dir_all(work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
        let work = std::fs::canonicalize(work).map_err(|e| format!("{}: {e}", work.display()))?;
        Ok(Scratch { repo: repo.to_path_buf(), tree: work.join("tree"), target: work.join("target") })
    }

    /// Makes the copy's tracked files equal to the repository's working tree. A file whose bytes
    /// are already equal is left alone, so its mtime stays and cargo does not rebuild its crate.
    pub fn sync(&self) -> Result<(), String> {
        let listing = run(Command::new("git").args(["ls-files", "-z"]).current_dir(&self.repo), "git ls-files")?;
        for file in listing.split('\0').filter(|f| !f.is_empty()) {
            let (from, to) = (self.repo.join(file), self.tree.join(file));
            let Ok(bytes) = std::fs::read(&from) else { continue }; // tracked but deleted in the work tree
            if std::fs::read(&to).is_ok_and(|old| old == bytes) {
                continue;
            }
            if let Some(dir) = to.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            std::fs::write(&to, &bytes).map_err(|e| format!("cannot write {}: {e}", to.display()))?;
            let mode = std::fs::metadata(&from).map_err(|e| format!("cannot stat {}: {e}", from.display()))?;
            std::fs::set_permissions(&to, mode.permissions()).map_err(|e| format!("chmod {}: {e}", to.display()))?;
        }
        Ok(())
    }

    /// A first build copies the repository's release build products (if any), so the
    /// dependencies from crates.io are reused rather than rebuilt.
    pub fn seed_target(&self) -> Result<(), String> {
        let ours = self.repo.join("target/release");
        if self.target.join("release").exists() || !ours.exists() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.target).map_err(|e| format!("cannot create {}: {e}", self.target.display()))?;
        run(Command::new("cp").arg("-a").arg(&ours).arg(&self.target), "cp -a target/release")?;
        Ok(())
    }

    /// Applies `patch` to the copy (`git apply` outside any repository: the copy sits inside the
    /// repository's `target/`, and git must not take it for a subdirectory of that repository,
    /// where it would skip every path outside the subdirectory and still succeed). Checks that
    /// every file the patch names changed.
    pub fn apply(&self, patch: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(patch).map_err(|e| format!("cannot read {}: {e}", patch.display()))?;
        let files: Vec<PathBuf> =
            text.lines().filter_map(|l| l.strip_prefix("+++ b/")).map(|f| self.tree.join(f)).collect();
        let before: Vec<Option<Vec<u8>>> = files.iter().map(|f| std::fs::read(f).ok()).collect();
        let ceiling = self.tree.parent().unwrap_or(&self.tree);
        run(
            Command::new("git").arg("apply").arg(patch).current_dir(&self.tree).env("GIT_CEILING_DIRECTORIES", ceiling),
            &format!("git apply {}", patch.display()),
        )?;
        for (file, old) in files.iter().zip(before) {
            if std::fs::read(file).ok() == old {
                return Err(format!("git apply {} left {} unchanged", patch.display(), file.display()));
            }
        }
        Ok(())
    }

    /// Turns the asserts of every `.rs` file under the copy's `src/` into debug asserts.
    pub fn debug_only_asserts(&self) -> Result<(), String> {
        let mut dirs = vec![self.tree.join("src")];
        while let Some(dir) = dirs.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
            for entry in entries {
                let path = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                    let changed = asserts::debug_only(&text);
                    if changed != text {
                        std::fs::write(&path, changed).map_err(|e| format!("{}: {e}", path.display()))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Builds the copy's release dstest; the error carries the end of the compiler's output.
    /// Incremental: from one mutant to the next only `src/` changes, and most of `labtests`
    /// (the checker, the CLIs) does not depend on what changed, so rustc reuses its work.
    /// Without the release profile's fat LTO and single codegen unit: a mutant's short sweep
    /// gains less from them than its rebuild and whole-program link would cost (256 units is
    /// what Cargo gives an incremental build).
    pub fn build(&self) -> Result<PathBuf, String> {
        let output = Command::new("cargo")
            .args(["build", "--release", "--quiet", "-p", "labtests", "--bin", "dstest"])
            .current_dir(&self.tree)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "true")
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256")
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!("cargo build failed:\n{}", tail.join("\n")));
        }
        Ok(self.target.join("release/dstest"))
    }
}

/// Runs `command`, returning its stdout, or an error naming `what` with its stderr.
fn run(command: &mut Command, what: &str) -> Result<String, String> {
    let output = command.output().map_err(|e| format!("cannot run {what}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{what} failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("{what}: output is not UTF-8: {e}"))
}
