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

/// Up to three scenario names nearest to `filter` by edit distance.
fn closest(cases: &[Case], filter: &str) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> =
        cases.iter().map(|c| (edit_distance(&c.name, filter), c.name.as_str())).collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n.to_string()).collect()
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

    fn case(name: &str, phase: &str, file: &str) -> Case {
        Case {
            name: name.into(),
            phase: phase.into(),
            file: file.into(),
            config: Default::default(),
            run: || {},
            replay_args: "",
            implementation: "reference".into(),
            show_implementation: false,
        }
    }

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
}
