//! The fault schedule file: which fault decisions of one seed of one scenario may happen.
//! `dstest --shrink` writes it; `dstest --replay SCENARIO --seed S --faults FILE` replays it.
//!
//! A line-oriented text file. `#` starts a comment (to the end of the line); blank lines are
//! ignored. Header lines, each once: `scenario NAME` and `seed S` (required: the faults are
//! named per seed), `impl NAME` (default: the reference) and `check WHAT` (the check the run
//! fails, which a replay compares). Every other line is one fault, `KIND ORDINAL`: the
//! ORDINAL-th decision (from 0) of that kind in the run (see `labrpc::sim::fault_plan`), with its
//! virtual time, node, thread and detail in a comment after it. For example:
//!
//! ```text
//! scenario swarm_chaos
//! impl reference
//! seed 63
//! check panic at labtests/src/raft/durable_terms.rs:52:17
//! crash 3            # 4.210s main thread 'main (#0)': server 2
//! drop-request 118   # 4.380s peer-1 thread 'election (#212)'
//! ```

use std::collections::BTreeSet;
use std::fmt::Write as _;

use labrpc::sim::fault_plan::{FaultId, FaultKind, FaultRecord};
use labrpc::sim::format_time;

/// A parsed (or to be written) fault schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub scenario: String,
    pub implementation: String,
    pub seed: u64,
    /// The check the run fails (`Check`'s text), if the file says.
    pub check: Option<String>,
    /// The faults that may happen, in file order.
    pub faults: Vec<FaultId>,
}

impl Schedule {
    /// The file's text: a comment saying how to replay it, the header, then one line per record
    /// (in the order the run met them) with what the run said about it.
    pub fn render(&self, records: &[FaultRecord]) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# dstest fault schedule: only these faults happen; every other fault decision");
        let _ = writeln!(out, "# of the seed takes its no-fault outcome (see labrpc::sim::fault_plan).");
        let _ = writeln!(
            out,
            "# replay: scripts/dstest{} --replay {} --seed {} --faults THIS_FILE",
            if self.implementation == crate::impls::DEFAULT {
                String::new()
            } else {
                format!(" --impl {}", self.implementation)
            },
            self.scenario,
            self.seed
        );
        let _ = writeln!(out, "scenario {}", self.scenario);
        let _ = writeln!(out, "impl {}", self.implementation);
        let _ = writeln!(out, "seed {}", self.seed);
        if let Some(check) = &self.check {
            let _ = writeln!(out, "check {check}");
        }
        let _ = writeln!(out, "# kind ordinal        virtual time, node, thread, detail");
        for id in &self.faults {
            let line = format!("{} {}", id.kind, id.ordinal);
            match records.iter().find(|r| r.id == *id) {
                Some(r) => {
                    let detail = if r.detail.is_empty() { String::new() } else { format!(": {}", r.detail) };
                    let at = format_time(r.time_ns);
                    let _ = writeln!(out, "{line:<22}# {at} {} thread '{}'{detail}", r.node, r.thread);
                }
                None => {
                    let _ = writeln!(out, "{line}");
                }
            }
        }
        out
    }

    /// Parses a schedule; `origin` names the file in errors, which read `ORIGIN:LINE: what`.
    pub fn parse(text: &str, origin: &str) -> Result<Schedule, String> {
        let mut scenario = None;
        let mut implementation = None;
        let mut seed = None;
        let mut check = None;
        let mut faults = Vec::new();
        let mut seen = BTreeSet::new();
        for (index, raw) in text.lines().enumerate() {
            let at = |what: String| format!("{origin}:{}: {what}", index + 1);
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (word, rest) = match line.split_once(char::is_whitespace) {
                Some((word, rest)) => (word, rest.trim()),
                None => (line, ""),
            };
            let header = |slot: &mut Option<String>, name: &str| -> Result<(), String> {
                if rest.is_empty() {
                    return Err(at(format!("`{name}` needs a value")));
                }
                if slot.replace(rest.to_string()).is_some() {
                    return Err(at(format!("`{name}` given twice")));
                }
                Ok(())
            };
            match word {
                "scenario" => header(&mut scenario, "scenario")?,
                "impl" => header(&mut implementation, "impl")?,
                "check" => header(&mut check, "check")?,
                "seed" => {
                    let mut text = None;
                    header(&mut text, "seed")?;
                    let value = labrpc::sim::knobs::parse_seed(rest)
                        .ok_or_else(|| at(format!("seed {rest:?} is not a 64-bit number (decimal or 0x hex)")))?;
                    if seed.replace(value).is_some() {
                        return Err(at("`seed` given twice".into()));
                    }
                }
                kind_name => {
                    let Some(kind) = FaultKind::from_name(kind_name) else {
                        let known: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
                        return Err(at(format!(
                            "unknown fault kind {kind_name:?}; a line is `KIND ORDINAL` with KIND one of {}, \
                             or a header (scenario, impl, seed, check)",
                            known.join(", ")
                        )));
                    };
                    let mut words = rest.split_whitespace();
                    let ordinal = match (words.next(), words.next()) {
                        (Some(n), None) => n.parse::<u64>().map_err(|_| {
                            at(format!("the ordinal of a {kind} fault must be a number from 0, not {n:?}"))
                        })?,
                        (None, _) => return Err(at(format!("`{kind}` needs its ordinal: `{kind} N`"))),
                        (Some(_), Some(extra)) => {
                            return Err(at(format!(
                                "unexpected {extra:?} after `{kind} ORDINAL` (comments start with #)"
                            )))
                        }
                    };
                    let id = FaultId { kind, ordinal };
                    if !seen.insert(id) {
                        return Err(at(format!("fault `{id}` is listed twice")));
                    }
                    faults.push(id);
                }
            }
        }
        let missing = |what: &str| format!("{origin}: no `{what}` line; a schedule names its scenario and seed");
        Ok(Schedule {
            scenario: scenario.ok_or_else(|| missing("scenario"))?,
            implementation: implementation.unwrap_or_else(|| crate::impls::DEFAULT.to_string()),
            seed: seed.ok_or_else(|| missing("seed"))?,
            check,
            faults,
        })
    }

    /// Reads and parses the file at `path`.
    pub fn read(path: &std::path::Path) -> Result<Schedule, String> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("--faults {origin}: cannot read it: {e}"))?;
        Schedule::parse(&text, &origin)
    }

    /// Whether this schedule belongs to the run `--replay` asks for; the error names both.
    pub fn matches(&self, scenario: &str, implementation: &str, seed: u64, origin: &str) -> Result<(), String> {
        let theirs = format!("{}/{} seed {}", self.implementation, self.scenario, self.seed);
        let ours = format!("{implementation}/{scenario} seed {seed}");
        if theirs == ours {
            Ok(())
        } else {
            Err(format!(
                "--faults {origin}: the schedule is for {theirs}, but the replay asks for {ours}; a schedule's \
                 faults are named per run, so replay it with its own scenario, implementation and seed"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn schedule() -> Schedule {
        Schedule {
            scenario: "swarm_chaos".into(),
            implementation: "reference".into(),
            seed: 63,
            check: Some("panic at labtests/src/raft/monitor.rs:145:21".into()),
            faults: vec![
                FaultId { kind: FaultKind::Crash, ordinal: 3 },
                FaultId { kind: FaultKind::DropRequest, ordinal: 118 },
            ],
        }
    }

    #[test]
    fn a_rendered_schedule_parses_back_with_its_comments() {
        let record = FaultRecord {
            id: FaultId { kind: FaultKind::Crash, ordinal: 3 },
            injected: true,
            time_ns: 4_210_000_000,
            node: Arc::from("main"),
            thread: Arc::from("main (#0)"),
            detail: "server 2".into(),
        };
        let text = schedule().render(&[record]);
        assert!(text.contains(&format!("{:<22}# 4.210s main thread 'main (#0)': server 2\n", "crash 3")), "{text}");
        assert!(text.contains("# replay: scripts/dstest --replay swarm_chaos --seed 63 --faults THIS_FILE"), "{text}");
        assert_eq!(Schedule::parse(&text, "f").unwrap(), schedule());
    }

    #[test]
    fn hex_seeds_and_a_missing_impl_line_are_accepted() {
        let s = Schedule::parse("scenario x\nseed 0x10\n\n  preempt 0  # (#12) a comment with a hash\n", "f").unwrap();
        assert_eq!((s.seed, s.implementation.as_str(), s.check), (16, "reference", None));
        assert_eq!(s.faults, vec![FaultId { kind: FaultKind::Preempt, ordinal: 0 }]);
    }

    #[test]
    fn every_malformed_line_is_named_with_what_is_wrong() {
        let cases = [
            ("scenario x\nseed 1\ndorp-request 3\n", "f:3: unknown fault kind \"dorp-request\""),
            ("scenario x\nseed 1\ncrash\n", "f:3: `crash` needs its ordinal: `crash N`"),
            ("scenario x\nseed 1\ncrash -1\n", "f:3: the ordinal of a crash fault must be a number from 0, not \"-1\""),
            ("scenario x\nseed 1\ncrash 1 2\n", "f:3: unexpected \"2\" after `crash ORDINAL`"),
            ("scenario x\nseed 1\ncrash 1\ncrash 1\n", "f:4: fault `crash 1` is listed twice"),
            ("scenario x\nseed one\n", "f:2: seed \"one\" is not a 64-bit number"),
            ("scenario x\nscenario y\n", "f:2: `scenario` given twice"),
            ("scenario\n", "f:1: `scenario` needs a value"),
            ("seed 1\ncrash 1\n", "f: no `scenario` line"),
            ("scenario x\n", "f: no `seed` line"),
        ];
        for (text, expected) in cases {
            let err = Schedule::parse(text, "f").unwrap_err();
            assert!(err.starts_with(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_schedule_of_another_run_is_refused_naming_both() {
        let s = schedule();
        assert!(s.matches("swarm_chaos", "reference", 63, "f").is_ok());
        let err = s.matches("swarm_chaos", "reference", 64, "f").unwrap_err();
        assert!(
            err.contains("reference/swarm_chaos seed 63") && err.contains("reference/swarm_chaos seed 64"),
            "{err}"
        );
    }
}
