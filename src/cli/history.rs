//! The REPL's command history across sessions: one command a line in a file under the user's
//! data directory (`$XDG_DATA_HOME/raftkv/history`, else `~/.local/share/raftkv/history`), the
//! last [`MAX_ENTRIES`] kept. Loaded at start; each command is appended as it is entered, so a
//! session that is killed keeps what it ran.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Commands kept in the file; older ones are dropped when a session starts.
pub const MAX_ENTRIES: usize = 1000;

/// The default history file, if the environment names a home or data directory.
pub fn default_path() -> Option<PathBuf> {
    path_from(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
}

/// The history file for these values of `XDG_DATA_HOME` and `HOME` (empty counts as unset).
fn path_from(xdg_data_home: Option<std::ffi::OsString>, home: Option<std::ffi::OsString>) -> Option<PathBuf> {
    let set = |v: Option<std::ffi::OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    let data = set(xdg_data_home).or_else(|| set(home).map(|home| home.join(".local/share")))?;
    Some(data.join("raftkv").join("history"))
}

/// A history file.
pub struct HistoryFile {
    path: PathBuf,
}

impl HistoryFile {
    pub fn new(path: PathBuf) -> HistoryFile {
        HistoryFile { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last [`MAX_ENTRIES`] commands, oldest first (none if the file does not exist yet).
    /// A longer file is rewritten to those.
    pub fn load(&self) -> Result<Vec<String>, String> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("cannot read history file {}: {e}", self.path.display())),
        };
        let lines: Vec<String> = text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
        let kept = lines[lines.len().saturating_sub(MAX_ENTRIES)..].to_vec();
        if kept.len() < lines.len() {
            let mut text = kept.join("\n");
            text.push('\n');
            fs::write(&self.path, text)
                .map_err(|e| format!("cannot trim history file {}: {e}", self.path.display()))?;
        }
        Ok(kept)
    }

    /// Appends one command (creating the file and its directory).
    pub fn append(&self, line: &str) -> Result<(), String> {
        let fail = |e: std::io::Error| format!("cannot write history file {}: {e}", self.path.display());
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(fail)?;
        }
        let mut file = OpenOptions::new().create(true).append(true).open(&self.path).map_err(fail)?;
        // One line per command: a pasted multi-line command is kept as one line.
        writeln!(file, "{}", line.replace(['\n', '\r'], " ")).map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_survive_a_new_session_and_the_file_stays_bounded() {
        let dir = std::env::temp_dir().join(format!("raftkv-history-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let file = HistoryFile::new(dir.join("sub").join("history"));
        assert_eq!(file.load(), Ok(Vec::new()));
        file.append("PUT k v").unwrap();
        file.append("GET\nk").unwrap();
        assert_eq!(HistoryFile::new(file.path().to_path_buf()).load().unwrap(), vec!["PUT k v", "GET k"]);
        for i in 0..MAX_ENTRIES + 5 {
            file.append(&format!("GET k{i}")).unwrap();
        }
        let loaded = file.load().unwrap();
        assert_eq!(loaded.len(), MAX_ENTRIES);
        assert_eq!(loaded.last().map(String::as_str), Some(format!("GET k{}", MAX_ENTRIES + 4).as_str()));
        assert_eq!(fs::read_to_string(file.path()).unwrap().lines().count(), MAX_ENTRIES);
        // A path that cannot be a file gets an error naming it.
        let blocked = HistoryFile::new(file.path().join("below-a-file"));
        assert!(blocked.append("x").unwrap_err().contains("below-a-file"));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_default_is_under_the_data_directory() {
        let os = |s: &str| Some(std::ffi::OsString::from(s));
        assert_eq!(path_from(os("/d"), os("/h")), Some(PathBuf::from("/d/raftkv/history")));
        assert_eq!(path_from(os(""), os("/h")), Some(PathBuf::from("/h/.local/share/raftkv/history")));
        assert_eq!(path_from(None, None), None);
    }
}
