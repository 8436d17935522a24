//! Choosing scenarios from command-line filters: a phase (`3a`), a test file (`raft_3a`), a
//! family (`raft` matches every `raft_*` file), `FILE::NAME` (`kvraft_4b::speed`, with or
//! without the phase suffix), or any part of a scenario name.

use super::case::Case;

fn matches(case: &Case, filter: &str) -> bool {
    let f = filter.to_ascii_lowercase();
    if let Some((file, name)) = f.split_once("::") {
        return case.file == file && (case.name == name || case.name == format!("{name}_{}", case.phase));
    }
    case.phase == f
        || case.file == f
        || case.file.split('_').next() == Some(f.as_str())
        || case.name == f
        || case.name.contains(&f)
}

/// The cases matching any filter (all with no filter), in table order; or the filter that
/// matched nothing, with the closest scenario names.
pub fn select(cases: &[Case], filters: &[String]) -> Result<Vec<Case>, (String, Vec<String>)> {
    for f in filters {
        if !cases.iter().any(|c| matches(c, f)) {
            return Err((f.clone(), closest(cases, f)));
        }
    }
    Ok(cases.iter().filter(|c| filters.is_empty() || filters.iter().any(|f| matches(c, f))).cloned().collect())
}

/// Up to three names a filter could have meant (scenarios, phases, files, families), nearest
/// first; empty when none is close, so a message never lists far-off guesses.
pub fn closest(cases: &[Case], filter: &str) -> Vec<String> {
    let filter = filter.to_ascii_lowercase();
    let mut words: Vec<&str> = Vec::new();
    for c in cases {
        let family = c.file.split('_').next().unwrap_or(&c.file);
        for w in [c.name.as_str(), c.phase.as_str(), c.file.as_str(), family] {
            if !words.contains(&w) {
                words.push(w);
            }
        }
    }
    // A typo in the start of a long scenario name ("intial") is close to a prefix of that name
    // about as long as the typo.
    let n = filter.chars().count();
    let distance = |w: &str| {
        let prefix = |len: usize| w.chars().take(len).collect::<String>();
        (n.saturating_sub(1)..=n + 1)
            .map(|len| edit_distance(&prefix(len), &filter))
            .fold(edit_distance(w, &filter), usize::min)
    };
    let close_enough = (filter.chars().count() / 3).max(1);
    let mut scored: Vec<(usize, &str)> =
        words.into_iter().map(|w| (distance(w), w)).filter(|&(d, _)| d <= close_enough).collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, w)| w.to_string()).collect()
}

/// The end of an error about `word` matching nothing: the close names, or where to see them all.
pub fn suggestion(near: &[String]) -> String {
    if near.is_empty() {
        "no name is close; `scripts/dstest --list` lists every scenario with its phase and file".to_string()
    } else {
        format!("did you mean {}?", near.join(", "))
    }
}

/// The scenario `--replay NAME` means: the one with exactly that name; or the error, naming the
/// scenarios NAME is part of (ambiguous) or the close names (unknown).
pub fn replay_target<'a>(cases: &'a [Case], name: &str) -> Result<&'a Case, String> {
    if let Some(case) = cases.iter().find(|c| c.name == name) {
        return Ok(case);
    }
    let mut containing: Vec<&str> = Vec::new();
    for c in cases.iter().filter(|c| c.name.contains(name)) {
        if !containing.contains(&c.name.as_str()) {
            containing.push(&c.name);
        }
    }
    const LISTED: usize = 8;
    Err(match containing.len() {
        0 => format!("--replay {name:?}: no scenario has that name; {}", suggestion(&closest(cases, name))),
        1 => format!("--replay {name:?}: no scenario has exactly that name; did you mean {}?", containing[0]),
        n => format!(
            "--replay {name:?}: no scenario has exactly that name, and {n} contain it: {}{}; give one full name",
            containing[..n.min(LISTED)].join(", "),
            if n > LISTED { format!(" and {} more", n - LISTED) } else { String::new() }
        ),
    })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let keep = prev + usize::from(ca != cb);
            prev = row[j + 1];
            row[j + 1] = keep.min(row[j] + 1).min(prev + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::dstest::case::for_tests as case;

    #[test]
    fn filters_by_phase_file_family_name_and_path() {
        let cases = vec![
            case("initial_election_3a", "3a", "raft_3a"),
            case("figure8_3c", "3c", "raft_3c"),
            case("speed_4b", "4b", "kvraft_4b"),
        ];
        let names = |fs: &[&str]| -> Vec<String> {
            let fs: Vec<String> = fs.iter().map(|s| s.to_string()).collect();
            select(&cases, &fs).unwrap().into_iter().map(|c| c.name).collect()
        };
        assert_eq!(names(&["3a"]), vec!["initial_election_3a"]);
        assert_eq!(names(&["raft"]), vec!["initial_election_3a", "figure8_3c"]);
        assert_eq!(names(&["kvraft_4b::speed"]), vec!["speed_4b"]);
        assert_eq!(names(&["figure8"]), vec!["figure8_3c"]);
        assert_eq!(names(&[]).len(), 3);
        let (bad, near) = select(&cases, &["figur8_3c".to_string()]).unwrap_err();
        assert_eq!(bad, "figur8_3c");
        assert_eq!(near[0], "figure8_3c");
    }

    #[test]
    fn typos_suggest_phases_files_and_families_and_never_an_empty_list() {
        let cases = vec![
            case("initial_election_3a", "3a", "raft_3a"),
            case("figure8_3c", "3c", "raft_3c"),
            case("speed_4b", "4b", "kvraft_4b"),
        ];
        let near = |f: &str| select(&cases, &[f.to_string()]).unwrap_err().1;
        assert_eq!(near("raft_3x"), vec!["raft_3a", "raft_3c"]);
        assert_eq!(near("kvraf"), vec!["kvraft", "kvraft_4b"]);
        assert_eq!(near("4z")[0], "4b");
        assert_eq!(near("intial")[0], "initial_election_3a");
        assert!(near("zzzzzzzzzz").is_empty());
        assert!(suggestion(&near("zzzzzzzzzz")).contains("--list"));
        assert_eq!(suggestion(&near("kvraf")), "did you mean kvraft, kvraft_4b?");
    }

    #[test]
    fn replay_names_the_scenarios_an_ambiguous_name_is_part_of() {
        let cases = vec![
            case("initial_election_3a", "3a", "raft_3a"),
            case("initial_election_3b", "3b", "raft_3b"),
            case("figure8_3c", "3c", "raft_3c"),
        ];
        assert_eq!(replay_target(&cases, "figure8_3c").unwrap().name, "figure8_3c");
        let ambiguous = replay_target(&cases, "initial").unwrap_err();
        assert!(ambiguous.contains("2 contain it: initial_election_3a, initial_election_3b"), "{ambiguous}");
        let part = replay_target(&cases, "figure8").unwrap_err();
        assert!(part.ends_with("no scenario has exactly that name; did you mean figure8_3c?"), "{part}");
        let typo = replay_target(&cases, "figur8_3c").unwrap_err();
        assert!(typo.ends_with("did you mean figure8_3c?"), "{typo}");
        let far = replay_target(&cases, "zzzzzzzzzz").unwrap_err();
        assert!(far.contains("no name is close"), "{far}");
    }
}
