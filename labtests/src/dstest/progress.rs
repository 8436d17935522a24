//! Live progress: indicatif bars on a terminal (an overall bar with rate and time left, one row
//! per scenario with done/total and failures, red from its first failure), plain lines otherwise.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use labrpc::sync::Mutex;

use super::case::Case;
use super::sweep::{Observer, RunResult};

pub struct Bars {
    overall: ProgressBar,
    rows: Vec<ProgressBar>,
    failed: Vec<AtomicU64>,
    width: usize,
}

impl Bars {
    pub fn new(cases: &[Case], runs: u64) -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let total = runs * cases.len() as u64;
        let overall = multi.add(ProgressBar::new(total));
        overall.set_style(
            ProgressStyle::with_template(
                "{bar:40.cyan/blue} {pos}/{len} runs  {per_sec}  {elapsed} elapsed, {eta} left",
            )
            .expect("valid template"),
        );
        let width = cases.iter().map(|c| c.label().len()).max().unwrap_or(8);
        let rows = cases
            .iter()
            .map(|c| {
                let bar = multi.add(ProgressBar::new(runs));
                bar.set_style(row_style(width, false));
                bar.set_prefix(c.label());
                bar.set_message("0 failed");
                bar
            })
            .collect();
        overall.enable_steady_tick(Duration::from_millis(200));
        Bars { overall, rows, failed: cases.iter().map(|_| AtomicU64::new(0)).collect(), width }
    }

    pub fn finish(&self) {
        self.overall.finish();
        for row in &self.rows {
            row.finish();
        }
    }
}

fn row_style(width: usize, failed: bool) -> ProgressStyle {
    let color = if failed { "red" } else { "green" };
    let template = format!("  {{prefix:{width}.{color}}} {{bar:30.{color}}} {{pos:>6}}/{{len}}  {{msg:.{color}}}");
    ProgressStyle::with_template(&template).expect("valid template")
}

impl Observer for Bars {
    fn on_result(&self, r: &RunResult) {
        self.overall.inc(1);
        let row = &self.rows[r.case];
        row.inc(1);
        if r.failure.is_some() {
            let failed = self.failed[r.case].fetch_add(1, Ordering::Relaxed) + 1;
            if failed == 1 {
                row.set_style(row_style(self.width, true));
            }
            row.set_message(format!("{failed} failed"));
        }
    }
}

/// For logs and pipes: a line per failure and a progress line every tenth of the sweep.
pub struct Lines {
    names: Vec<String>,
    total: u64,
    state: Mutex<(u64, u64)>,
}

impl Lines {
    pub fn new(cases: &[Case], runs: u64) -> Lines {
        Lines {
            names: cases.iter().map(Case::label).collect(),
            total: runs * cases.len() as u64,
            state: Mutex::new((0, 0)),
        }
    }
}

impl Observer for Lines {
    fn on_result(&self, r: &RunResult) {
        let mut st = self.state.lock();
        st.0 += 1;
        if r.failure.is_some() {
            st.1 += 1;
            println!("FAILED {} seed {}", self.names[r.case], r.seed);
        }
        let step = (self.total / 10).max(1);
        if st.0.is_multiple_of(step) || st.0 == self.total {
            println!("progress: {}/{} runs, {} failed", st.0, self.total, st.1);
        }
    }
}
