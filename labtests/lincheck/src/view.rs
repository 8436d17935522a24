//! The HTML view of a checked history: one self-contained page (inline SVG, CSS and a few lines
//! of script, nothing fetched).
//!
//! One row per client (more lanes if a client's operations overlap, as after a give-up), bars
//! from call to return on a compressed time axis (each distinct time one step, so short
//! operations stay visible); bars of operations that never returned run to the right edge,
//! dashed. For each partition the operations of its longest linearizable prefix are coloured
//! and joined by their linearization points; the operation that could not be placed is red and
//! labelled. Hover shows the operation, its times, and the model state before and after it.
//! Annotation rows on top show simulation events (partitions, crashes, leader changes); spans
//! are also shaded across the client rows, instants drawn as dashed lines.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::check::{CheckResult, Verdict};
use super::history::History;
use super::model::Model;
use super::search::PartitionStatus;
use super::vis_policy::{BadVisPolicy, VisPolicy};

/// A simulation event shown above the client rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    /// In the history's time unit.
    pub time: u64,
    /// `Some`: a span (e.g. a network partition) from `time` to `end_time`.
    pub end_time: Option<u64>,
    /// Short text on the page.
    pub label: String,
    /// Longer text on hover.
    pub description: String,
}

impl Annotation {
    pub fn instant(time: u64, label: impl Into<String>, description: impl Into<String>) -> Self {
        Self { time, end_time: None, label: label.into(), description: description.into() }
    }

    pub fn span(time: u64, end_time: u64, label: impl Into<String>, description: impl Into<String>) -> Self {
        assert!(end_time >= time, "annotation {time}..{end_time} ends before it starts");
        Self { time, end_time: Some(end_time), label: label.into(), description: description.into() }
    }
}

/// Fill of the operation that could not be placed. Used for nothing else on the page, so a
/// screenshot check can find it by colour.
pub const BLOCKED_FILL: &str = "#e8112d";
/// Partition colours for linearized operations (no reds: see [`BLOCKED_FILL`]).
const PALETTE: [&str; 8] = ["#7fb3e6", "#8fd18f", "#f2c46d", "#b9a3e3", "#6fd1c4", "#e6a0c4", "#c7c76a", "#a3b8c7"];
const UNPLACED_FILL: &str = "#dedede";

/// Pixel geometry.
const STEP_PX: u64 = 34;
const LEFT_PX: u64 = 130;
const LANE_PX: u64 = 30;
const BAR_PX: u64 = 22;
const AXIS_PX: u64 = 34;
const RIGHT_PX: u64 = 60;
const CHAR_PX: u64 = 7;

/// Writes the view to `path`.
pub fn write_html<M: Model>(
    path: &Path,
    model: &M,
    history: &History<M::Input, M::Output>,
    result: &CheckResult,
    annotations: &[Annotation],
    title: &str,
) -> std::io::Result<()> {
    std::fs::write(path, render_html(model, history, result, annotations, title))
}

/// Why [`write_if_wanted`] could not decide or write.
#[derive(Debug)]
pub enum ViewError {
    BadPolicy(BadVisPolicy),
    Io { path: PathBuf, error: std::io::Error },
}

impl std::fmt::Display for ViewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ViewError::BadPolicy(error) => error.fmt(f),
            ViewError::Io { path, error } => {
                write!(f, "cannot write view {}: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for ViewError {}

/// For tests: writes the view to `<temp dir>/lincheck/<name>.html` if `LAB_VIS` asks for it
/// (by default only when the check did not pass) and returns the path, for the test to print.
pub fn write_if_wanted<M: Model>(
    name: &str,
    model: &M,
    history: &History<M::Input, M::Output>,
    result: &CheckResult,
    annotations: &[Annotation],
) -> Result<Option<PathBuf>, ViewError> {
    let policy = VisPolicy::from_env().map_err(ViewError::BadPolicy)?;
    if !policy.should_write(result.is_ok()) {
        return Ok(None);
    }
    let dir = std::env::temp_dir().join("lincheck");
    let file: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    let path = dir.join(format!("{file}.html"));
    let io = |error| ViewError::Io { path: path.clone(), error };
    std::fs::create_dir_all(&dir).map_err(io)?;
    write_html(&path, model, history, result, annotations, name).map_err(io)?;
    Ok(Some(path))
}

/// What the page says about one operation.
struct OpView {
    partition: usize,
    /// Position in its partition's linearized prefix.
    step: Option<usize>,
    blocked: bool,
    tip: String,
}

/// The whole page as a string.
pub fn render_html<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    result: &CheckResult,
    annotations: &[Annotation],
    title: &str,
) -> String {
    let ops = history.ops();
    let axis = TimeAxis::new(history, annotations);
    let op_views = describe_ops(model, history, result);

    // Lanes: annotations first, then each client's operations.
    let annotation_lanes = assign_lanes(
        annotations
            .iter()
            .map(|a| {
                let start = axis.x(a.time);
                let end = a.end_time.map_or(start, |end| axis.x(end));
                (start, end.max(start + CHAR_PX * a.label.len() as u64 + 16))
            })
            .collect(),
    );
    let annotation_rows = annotation_lanes.iter().copied().max().map_or(0, |m| m + 1);
    let mut by_client: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (index, op) in ops.iter().enumerate() {
        by_client.entry(op.client_id).or_default().push(index);
    }
    let mut op_row = vec![0u64; ops.len()];
    let mut client_rows: Vec<(u64, u64, u64)> = Vec::new(); // (client, first row, rows)
    let mut next_row = annotation_rows as u64;
    for (&client, indices) in &by_client {
        let lanes = assign_lanes(
            indices.iter().map(|&i| (axis.x(ops[i].call_time), axis.op_end(ops[i].return_time()))).collect(),
        );
        let rows = lanes.iter().copied().max().map_or(1, |m| m + 1) as u64;
        for (&index, &lane) in indices.iter().zip(&lanes) {
            op_row[index] = next_row + lane as u64;
        }
        client_rows.push((client, next_row, rows));
        next_row += rows;
    }
    let total_rows = next_row.max(1);
    // Room for the "cannot be placed: ..." label right of the blocked bar.
    let blocked_label_end = ops
        .iter()
        .zip(&op_views)
        .filter(|(_, view)| view.blocked)
        .map(|(op, _)| {
            let label = model.describe_op(&op.input, op.output());
            axis.op_end(op.return_time()) + CHAR_PX * (label.chars().count() as u64 + 26)
        })
        .max()
        .unwrap_or(0);
    let width = (axis.right_edge() + RIGHT_PX).max(blocked_label_end);
    let height = AXIS_PX + total_rows * LANE_PX + 10;
    let row_y = |row: u64| AXIS_PX + row * LANE_PX;
    let clients_top = row_y(annotation_rows as u64);

    let mut svg = String::new();
    let _ = write!(svg, r#"<svg width="{width}" height="{height}" font-family="monospace" font-size="12">"#);
    // Row backgrounds and labels.
    for lane in 0..annotation_rows as u64 {
        let _ = write!(svg, r##"<rect x="0" y="{}" width="{width}" height="{LANE_PX}" fill="#f3f0e6"/>"##, row_y(lane));
    }
    if annotation_rows > 0 {
        let _ = write!(svg, r##"<text x="6" y="{}" fill="#555">events</text>"##, row_y(0) + 19);
    }
    for (n, &(client, first, rows)) in client_rows.iter().enumerate() {
        let fill = if n % 2 == 0 { "#ffffff" } else { "#f6f8fa" };
        let _ = write!(
            svg,
            r##"<rect x="0" y="{}" width="{width}" height="{}" fill="{fill}"/><text x="6" y="{}" fill="#333">client {client}</text>"##,
            row_y(first),
            rows * LANE_PX,
            row_y(first) + 19
        );
    }
    axis.draw_ticks(&mut svg, height);
    // Annotation shading behind the operations.
    for annotation in annotations {
        let x = axis.x(annotation.time);
        match annotation.end_time {
            Some(end) => {
                let _ = write!(
                    svg,
                    r##"<rect x="{x}" y="{clients_top}" width="{}" height="{}" fill="#f2b35b" opacity="0.15"/>"##,
                    axis.x(end).saturating_sub(x).max(2),
                    height - clients_top
                );
            }
            None => {
                let _ = write!(
                    svg,
                    r##"<line x1="{x}" y1="{clients_top}" x2="{x}" y2="{height}" stroke="#b07a1f" stroke-dasharray="4 3"/>"##
                );
            }
        }
    }
    for (annotation, &lane) in annotations.iter().zip(&annotation_lanes) {
        draw_annotation(&mut svg, &axis, annotation, row_y(lane as u64));
    }
    // Operations.
    for (index, op) in ops.iter().enumerate() {
        let view = &op_views[index];
        let x = axis.x(op.call_time);
        let end = axis.op_end(op.return_time());
        let y = row_y(op_row[index]) + (LANE_PX - BAR_PX) / 2;
        let (fill, stroke, extra) = if view.blocked {
            (BLOCKED_FILL, "#7a0010", r#" stroke-width="3""#)
        } else if view.step.is_some() {
            (PALETTE[view.partition % PALETTE.len()], "#445", "")
        } else {
            (UNPLACED_FILL, "#999", "")
        };
        let dash = if op.ret.is_none() { r#" stroke-dasharray="5 3""# } else { "" };
        let label = model.describe_op(&op.input, op.output());
        let bar_width = (end - x).max(4);
        let _ = write!(
            svg,
            r#"<g class="op p{}" data-tip="{}"><rect x="{x}" y="{y}" width="{bar_width}" height="{BAR_PX}" rx="3" fill="{fill}" stroke="{stroke}"{extra}{dash}/><svg x="{x}" y="{y}" width="{bar_width}" height="{BAR_PX}"><text x="10" y="15" fill="{}">{}</text></svg></g>"#,
            view.partition,
            escape(&view.tip),
            if view.blocked { "#fff" } else { "#111" },
            escape(&label),
        );
        if view.blocked {
            let _ = write!(
                svg,
                r##"<text x="{}" y="{}" fill="#7a0010" font-weight="bold">&#x2716; cannot be placed: {}</text>"##,
                end + 6,
                y + 15,
                escape(&label)
            );
        }
    }
    draw_linearization_points(&mut svg, &axis, history, result, &op_row, &row_y);
    svg.push_str("</svg>");

    page(title, &summary(model, history, result), &svg)
}

/// Tooltip text and role of every operation.
fn describe_ops<M: Model>(model: &M, history: &History<M::Input, M::Output>, result: &CheckResult) -> Vec<OpView> {
    let ops = history.ops();
    let mut views: Vec<OpView> = ops
        .iter()
        .map(|op| {
            let times = match op.return_time() {
                Some(ret) => format!("call {} return {}", op.call_time, ret),
                None => format!("call {}, never returned", op.call_time),
            };
            OpView {
                partition: 0,
                step: None,
                blocked: false,
                tip: format!("{}\nclient {}, {times}", model.describe_op(&op.input, op.output()), op.client_id),
            }
        })
        .collect();
    for (p, partition) in result.partitions.iter().enumerate() {
        for &index in &partition.op_indices {
            views[index].partition = p;
            let _ = write!(views[index].tip, "\npartition: {}", partition.label);
        }
        // Replay the prefix for the states; the search accepted every step, so a refusal here
        // would be a checker bug.
        let mut state = model.init();
        for (step, &index) in partition.linearized.iter().enumerate() {
            let op = &ops[index];
            let next = model.step(&state, &op.input, op.output()).expect("linearized prefix replays");
            let _ = write!(
                views[index].tip,
                "\nlinearized #{} of {}\nstate before: {}\nstate after: {}",
                step + 1,
                partition.linearized.len(),
                model.describe_state(&state),
                model.describe_state(&next)
            );
            views[index].step = Some(step);
            state = next;
        }
        if let Some(blocked) = partition.blocked_op {
            views[blocked].blocked = true;
            let _ = write!(
                views[blocked].tip,
                "\nCANNOT BE PLACED after the longest linearizable prefix ({} ops)\nstate there: {}",
                partition.linearized.len(),
                model.describe_state(&state)
            );
        }
        for &index in &partition.op_indices {
            if views[index].step.is_none() && !views[index].blocked {
                let why = if ops[index].ret.is_none() && partition.status == PartitionStatus::Linearizable {
                    "not linearized: it never took effect"
                } else {
                    "not linearized (after the longest prefix)"
                };
                let _ = write!(views[index].tip, "\n{why}");
            }
        }
    }
    views
}

/// Joins each partition's linearization points, in order, with a line and dots.
fn draw_linearization_points<I, O>(
    svg: &mut String,
    axis: &TimeAxis,
    history: &History<I, O>,
    result: &CheckResult,
    op_row: &[u64],
    row_y: &dyn Fn(u64) -> u64,
) {
    let ops = history.ops();
    for (p, partition) in result.partitions.iter().enumerate() {
        // Earliest consistent points: each after its call and after the previous point, which
        // is never after its return (a valid order guarantees it); 3 px apart to show order.
        let mut points = Vec::with_capacity(partition.linearized.len());
        let mut last = 0u64;
        for &index in &partition.linearized {
            let op = &ops[index];
            let start = axis.x(op.call_time) + 3;
            let end = axis.op_end(op.return_time()).saturating_sub(3).max(start);
            let x = (last + 3).max(start).min(end);
            last = x;
            // Low on the bar, below its text.
            points.push((x, row_y(op_row[index]) + LANE_PX / 2 + BAR_PX / 2 - 3));
        }
        if points.is_empty() {
            continue;
        }
        let colour = darker(PALETTE[p % PALETTE.len()]);
        let path: Vec<String> = points.iter().map(|(x, y)| format!("{x},{y}")).collect();
        let _ = write!(
            svg,
            r#"<polyline class="lin p{p}" points="{}" fill="none" stroke="{colour}" stroke-width="1.5" opacity="0.8"/>"#,
            path.join(" ")
        );
        for (x, y) in points {
            let _ =
                write!(svg, r##"<circle class="lin p{p}" cx="{x}" cy="{y}" r="3.5" fill="{colour}" stroke="#fff"/>"##);
        }
    }
}

fn draw_annotation(svg: &mut String, axis: &TimeAxis, annotation: &Annotation, top: u64) {
    let x = axis.x(annotation.time);
    let times = match annotation.end_time {
        Some(end) => format!("{}..{}", annotation.time, end),
        None => annotation.time.to_string(),
    };
    let tip = format!("{}\n{}\n{}", annotation.label, times, annotation.description);
    let _ = write!(svg, r#"<g class="ann" data-tip="{}">"#, escape(&tip));
    match annotation.end_time {
        Some(end) => {
            let _ = write!(
                svg,
                r##"<rect x="{x}" y="{}" width="{}" height="{}" rx="3" fill="#f2b35b" stroke="#b07a1f"/>"##,
                top + 5,
                axis.x(end).saturating_sub(x).max(2),
                LANE_PX - 10
            );
        }
        None => {
            let _ = write!(svg, r##"<path d="M{x} {} l5 7 l-5 7 l-5 -7 z" fill="#b07a1f"/>"##, top + 8);
        }
    }
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" fill="#4a3000">{}</text></g>"##,
        x + 8,
        top + 19,
        escape(&annotation.label)
    );
}

/// The verdict and one line per partition, above the picture.
fn summary<M: Model>(model: &M, history: &History<M::Input, M::Output>, result: &CheckResult) -> String {
    let ops = history.ops();
    let verdict = match result.verdict {
        Verdict::Ok => r#"<span class="ok">linearizable</span>"#,
        Verdict::Illegal => r#"<span class="bad">NOT linearizable</span>"#,
        Verdict::Unknown => r#"<span class="unknown">unknown (search stopped at a limit)</span>"#,
    };
    let mut html = format!(
        "<p>{verdict}: {} operations, {} partitions, checked in {:.1} ms. Hover a bar for its states; click a partition to show it alone.</p><ul>",
        ops.len(),
        result.partitions.len(),
        result.elapsed.as_secs_f64() * 1000.0
    );
    for (p, partition) in result.partitions.iter().enumerate() {
        let status = match &partition.status {
            PartitionStatus::Linearizable => "linearizable".to_string(),
            PartitionStatus::Illegal => "NOT linearizable".to_string(),
            PartitionStatus::TimedOut => "timed out".to_string(),
            PartitionStatus::BudgetSpent { steps } => format!("search budget spent ({steps} steps)"),
            PartitionStatus::Cancelled => "not searched to the end (another partition is not linearizable)".to_string(),
            PartitionStatus::CacheFull { entries, .. } => {
                format!("search cache full ({entries} configurations)")
            }
        };
        let blocked = partition.blocked_op.map_or(String::new(), |index| {
            let op = &ops[index];
            format!(
                "; cannot place <b>{}</b> (client {})",
                escape(&model.describe_op(&op.input, op.output())),
                op.client_id
            )
        });
        let _ = write!(
            html,
            r#"<li class="part" data-p="{p}"><span class="swatch" style="background:{}"></span>{}: {status}, {} of {} operations linearized{blocked}</li>"#,
            PALETTE[p % PALETTE.len()],
            escape(&partition.label),
            partition.linearized.len(),
            partition.op_indices.len(),
        );
    }
    html.push_str("</ul>");
    html
}

fn page(title: &str, summary: &str, svg: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 12px; color: #222; }}
h1 {{ font-size: 18px; margin: 0 0 6px 0; }}
ul {{ margin: 4px 0 10px 0; padding-left: 18px; font-size: 13px; }}
li.part {{ cursor: pointer; }}
li.part.selected {{ font-weight: bold; }}
.swatch {{ display: inline-block; width: 10px; height: 10px; margin-right: 6px; border: 1px solid #445; }}
.ok {{ color: #1a7f37; font-weight: bold; }}
.bad {{ color: #c00; font-weight: bold; }}
.unknown {{ color: #9a6700; font-weight: bold; }}
#chart {{ overflow-x: auto; border: 1px solid #ccc; }}
g.op, g.ann {{ cursor: default; }}
g.op:hover rect {{ stroke: #000; stroke-width: 2; }}
.dim {{ opacity: 0.15; }}
#tip {{ position: fixed; display: none; background: #fffbe6; border: 1px solid #b07a1f; padding: 6px 8px;
  font: 12px monospace; white-space: pre; pointer-events: none; z-index: 10; max-width: 900px; overflow: hidden; }}
</style></head><body>
<h1>{title}</h1>
{summary}
<div id="chart">{svg}</div>
<div id="tip"></div>
<script>
(function () {{
  var tip = document.getElementById('tip');
  document.querySelectorAll('[data-tip]').forEach(function (el) {{
    el.addEventListener('mousemove', function (e) {{
      tip.textContent = el.getAttribute('data-tip');
      tip.style.display = 'block';
      tip.style.left = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 4) + 'px';
      tip.style.top = Math.min(e.clientY + 14, window.innerHeight - tip.offsetHeight - 4) + 'px';
    }});
    el.addEventListener('mouseleave', function () {{ tip.style.display = 'none'; }});
  }});
  var selected = null;
  document.querySelectorAll('li.part').forEach(function (li) {{
    li.addEventListener('click', function () {{
      var p = li.getAttribute('data-p');
      selected = selected === p ? null : p;
      document.querySelectorAll('li.part').forEach(function (other) {{
        other.classList.toggle('selected', other.getAttribute('data-p') === selected);
      }});
      document.querySelectorAll('.op, .lin').forEach(function (el) {{
        el.classList.toggle('dim', selected !== null && !el.classList.contains('p' + selected));
      }});
    }});
  }});
}})();
</script>
</body></html>
"#,
        title = escape(title)
    )
}

/// Compressed time: every distinct time in the history and annotations is one step.
struct TimeAxis {
    times: Vec<u64>,
}

impl TimeAxis {
    fn new<I, O>(history: &History<I, O>, annotations: &[Annotation]) -> Self {
        let mut times: Vec<u64> = history
            .ops()
            .iter()
            .flat_map(|op| std::iter::once(op.call_time).chain(op.return_time()))
            .chain(annotations.iter().flat_map(|a| std::iter::once(a.time).chain(a.end_time)))
            .collect();
        times.sort_unstable();
        times.dedup();
        Self { times }
    }

    fn x(&self, time: u64) -> u64 {
        let rank = self.times.partition_point(|&t| t < time) as u64;
        LEFT_PX + rank * STEP_PX
    }

    /// Right edge of the time axis, where bars of never-returned operations end.
    fn right_edge(&self) -> u64 {
        LEFT_PX + self.times.len() as u64 * STEP_PX + STEP_PX
    }

    fn op_end(&self, return_time: Option<u64>) -> u64 {
        return_time.map_or(self.right_edge(), |ret| self.x(ret))
    }

    /// Time labels along the top, as many as fit without overlapping.
    fn draw_ticks(&self, svg: &mut String, height: u64) {
        let mut free_from = 0;
        for &time in &self.times {
            let x = self.x(time);
            let label = time.to_string();
            let _ = write!(svg, r##"<line x1="{x}" y1="{}" x2="{x}" y2="{height}" stroke="#eee"/>"##, AXIS_PX - 6);
            if x >= free_from {
                let _ = write!(
                    svg,
                    r##"<text x="{x}" y="{}" fill="#777" text-anchor="middle" font-size="10">{label}</text>"##,
                    AXIS_PX - 10
                );
                free_from = x + label.len() as u64 * 6 + 8;
            }
        }
    }
}

/// Greedy interval partitioning: the lane of each `(start, end)` so that none overlap in a lane.
fn assign_lanes(intervals: Vec<(u64, u64)>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by_key(|&i| intervals[i]);
    let mut lane_free_at: Vec<u64> = Vec::new();
    let mut lanes = vec![0; intervals.len()];
    for i in order {
        let (start, end) = intervals[i];
        let lane = match lane_free_at.iter().position(|&free| free <= start) {
            Some(lane) => lane,
            None => {
                lane_free_at.push(0);
                lane_free_at.len() - 1
            }
        };
        lane_free_at[lane] = end + 2;
        lanes[i] = lane;
    }
    lanes
}

/// A darker shade of a `#rrggbb` colour, for points and lines on top of bars.
fn darker(colour: &str) -> String {
    let channel = |at: usize| u8::from_str_radix(&colour[at..at + 2], 16).unwrap_or(0) / 2;
    format!("#{:02x}{:02x}{:02x}", channel(1), channel(3), channel(5))
}

/// Escapes text for HTML element content and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("&#10;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_never_overlap() {
        let lanes = assign_lanes(vec![(0, 10), (5, 20), (12, 30), (25, 26)]);
        assert_eq!(lanes, vec![0, 1, 0, 1]);
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn darker_halves_channels() {
        assert_eq!(darker("#80ff02"), "#407f01");
    }
}
