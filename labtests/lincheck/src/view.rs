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
//!
//! At scale: the failing key is listed first and selected (only the selected key's
//! linearization line is drawn; click another key to switch), the page opens scrolled to the
//! operation that cannot be placed, the axis is labelled in ms when the time unit is known
//! ([`ViewOptions::time_unit`]), and a large history is drawn as a window of operations around
//! the failure with the rest counted (see [`ViewOptions::max_ops`]): the page stays bounded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::check::{CheckResult, Verdict};
use super::history::History;
use super::model::Model;
use super::search::PartitionStatus;
use super::view_window::{self, Window};
use super::vis_policy::{BadVisPolicy, VisPolicy};

pub use super::view_window::DEFAULT_MAX_VIEW_OPS;

/// The unit of a history's times, for the axis labels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeUnit {
    /// Unknown (a file from elsewhere): labels are the raw times.
    #[default]
    Unspecified,
    Nanoseconds,
    /// The kv harness records virtual microseconds.
    Microseconds,
    Milliseconds,
}

impl TimeUnit {
    /// `time` as an axis label: in ms when the unit is known.
    fn label(self, time: u64) -> String {
        let ms = |scale: u64, decimals: usize| {
            let text = format!("{}.{:0decimals$}", time / scale, time % scale);
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        };
        match self {
            TimeUnit::Unspecified | TimeUnit::Milliseconds => time.to_string(),
            TimeUnit::Microseconds => ms(1_000, 3),
            TimeUnit::Nanoseconds => ms(1_000_000, 6),
        }
    }

    fn axis_title(self) -> &'static str {
        match self {
            TimeUnit::Unspecified => "time (the history's unit)",
            _ => "time (ms)",
        }
    }
}

/// How a page is drawn.
#[derive(Clone, Copy, Debug)]
pub struct ViewOptions {
    pub time_unit: TimeUnit,
    /// Operations drawn at most (about; see the `view_window` module): a larger history is
    /// drawn as a window around the failure, the rest counted in the summary.
    pub max_ops: usize,
}

impl Default for ViewOptions {
    fn default() -> Self {
        Self { time_unit: TimeUnit::Unspecified, max_ops: DEFAULT_MAX_VIEW_OPS }
    }
}

/// Model states in hover texts are cut to this many characters (a store of many keys would
/// otherwise repeat itself in every operation's text).
const MAX_STATE_CHARS: usize = 400;
/// Partitions listed by name in the summary; the others are counted.
const MAX_LISTED_PARTITIONS: usize = 40;

thread_local! {
    /// Where [`write_if_wanted`] writes on this thread, if not the temp dir (see [`with_view_dir`]).
    static VIEW_DIR: std::cell::RefCell<Option<PathBuf>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with [`write_if_wanted`] writing its pages on this thread to `dir` instead of
/// `<temp dir>/lincheck` (dstest puts the views of a sweep's failures next to their logs). A
/// simulation runs on one OS thread, so this covers the checks of the runs `f` makes.
pub fn with_view_dir<T>(dir: &Path, f: impl FnOnce() -> T) -> T {
    let previous = VIEW_DIR.with(|cell| cell.replace(Some(dir.to_path_buf())));
    struct Restore(Option<PathBuf>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            VIEW_DIR.with(|cell| *cell.borrow_mut() = previous);
        }
    }
    let _restore = Restore(previous);
    f()
}

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
    write_html_with(path, model, history, result, annotations, title, &ViewOptions::default())
}

/// [`write_html`] with options.
pub fn write_html_with<M: Model>(
    path: &Path,
    model: &M,
    history: &History<M::Input, M::Output>,
    result: &CheckResult,
    annotations: &[Annotation],
    title: &str,
    options: &ViewOptions,
) -> std::io::Result<()> {
    std::fs::write(path, render_html_with(model, history, result, annotations, title, options))
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

/// For tests: writes the view to `<temp dir>/lincheck/<name>.html` (or the directory of
/// [`with_view_dir`]) if `LAB_VIS` asks for it (by default only when the check did not pass)
/// and returns the path, for the test to print.
pub fn write_if_wanted<M: Model>(
    name: &str,
    model: &M,
    history: &History<M::Input, M::Output>,
    result: &CheckResult,
    annotations: &[Annotation],
) -> Result<Option<PathBuf>, ViewError> {
    write_if_wanted_with(name, model, history, result, annotations, &ViewOptions::default())
}

/// [`write_if_wanted`] with options.
pub fn write_if_wanted_with<M: Model>(
    name: &str,
    model: &M,
    history: &History<M::Input, M::Output>,
    result: &CheckResult,
    annotations: &[Annotation],
    options: &ViewOptions,
) -> Result<Option<PathBuf>, ViewError> {
    let policy = VisPolicy::from_env().map_err(ViewError::BadPolicy)?;
    if !policy.should_write(result.is_ok()) {
        return Ok(None);
    }
    let dir = VIEW_DIR.with(|cell| cell.borrow().clone()).unwrap_or_else(|| std::env::temp_dir().join("lincheck"));
    let file: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    let path = dir.join(format!("{file}.html"));
    let io = |error| ViewError::Io { path: path.clone(), error };
    std::fs::create_dir_all(&dir).map_err(io)?;
    write_html_with(&path, model, history, result, annotations, name, options).map_err(io)?;
    Ok(Some(path))
}

/// What the page says about one drawn operation.
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
    render_html_with(model, history, result, annotations, title, &ViewOptions::default())
}

/// The partition to select when the page opens (the illegal one, else one stopped at a limit)
/// and the operation to scroll to (the one that cannot be placed there).
fn focus(result: &CheckResult) -> (Option<usize>, Option<usize>) {
    let failing = result.partitions.iter().position(|p| p.status == PartitionStatus::Illegal).or_else(|| {
        result
            .partitions
            .iter()
            .position(|p| !matches!(p.status, PartitionStatus::Linearizable | PartitionStatus::Cancelled))
    });
    (failing, failing.and_then(|p| result.partitions[p].blocked_op))
}

/// [`render_html`] with options: the page draws at most about `options.max_ops` operations.
pub fn render_html_with<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    result: &CheckResult,
    annotations: &[Annotation],
    title: &str,
    options: &ViewOptions,
) -> String {
    let ops = history.ops();
    let (selected, blocked_focus) = focus(result);
    let window = view_window::choose(history, blocked_focus, options.max_ops);
    let shown_ops: Vec<usize> = (0..ops.len()).filter(|&index| window.shown[index]).collect();
    // Annotations overlapping the window (all of them when the history is drawn whole).
    let annotations: Vec<&Annotation> = match window.range {
        None => annotations.iter().collect(),
        Some((from, to)) => annotations
            .iter()
            .filter(|a| a.end_time.unwrap_or(a.time) >= from && a.time <= to)
            .take(options.max_ops)
            .collect(),
    };
    let axis = TimeAxis::new(shown_ops.iter().map(|&index| &ops[index]), &annotations, options.time_unit);
    let op_views = describe_ops(model, history, result, &window);

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
    for &index in &shown_ops {
        by_client.entry(ops[index].client_id).or_default().push(index);
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
    let blocked_label_end = shown_ops
        .iter()
        .filter(|&&index| op_views[index].as_ref().is_some_and(|view| view.blocked))
        .map(|&index| {
            let op = &ops[index];
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
    for annotation in &annotations {
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
    for &index in &shown_ops {
        let op = &ops[index];
        let view = op_views[index].as_ref().expect("every drawn operation is described");
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
        let id = if Some(index) == blocked_focus { r#" id="blocked""# } else { "" };
        let _ = write!(
            svg,
            r#"<g class="op p{}"{id} data-tip="{}"><rect x="{x}" y="{y}" width="{bar_width}" height="{BAR_PX}" rx="3" fill="{fill}" stroke="{stroke}"{extra}{dash}/><svg x="{x}" y="{y}" width="{bar_width}" height="{BAR_PX}"><text x="10" y="15" fill="{}">{}</text></svg></g>"#,
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
    draw_linearization_points(&mut svg, &axis, history, result, &window, &op_row, &row_y);
    svg.push_str("</svg>");

    let summary = summary(model, history, result, &window, by_client.len(), options.time_unit);
    page(title, &summary, &svg, selected, blocked_focus.is_some())
}

/// Tooltip text and role of every drawn operation (`None` for the others). States are replayed
/// along each partition's whole prefix but described only for drawn operations, cut to
/// [`MAX_STATE_CHARS`].
fn describe_ops<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    result: &CheckResult,
    window: &Window,
) -> Vec<Option<OpView>> {
    let ops = history.ops();
    let mut views: Vec<Option<OpView>> = ops
        .iter()
        .zip(&window.shown)
        .map(|(op, &shown)| {
            shown.then(|| {
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
        })
        .collect();
    let state_text = |state: &M::State| cut(model.describe_state(state), MAX_STATE_CHARS);
    for (p, partition) in result.partitions.iter().enumerate() {
        for &index in &partition.op_indices {
            if let Some(view) = &mut views[index] {
                view.partition = p;
                let _ = write!(view.tip, "\npartition: {}", partition.label);
            }
        }
        // Replay the prefix for the states; the search accepted every step, so a refusal here
        // would be a checker bug.
        let mut state = model.init();
        for (step, &index) in partition.linearized.iter().enumerate() {
            let op = &ops[index];
            let next = model.step(&state, &op.input, op.output()).expect("linearized prefix replays");
            if let Some(view) = &mut views[index] {
                let _ = write!(
                    view.tip,
                    "\nlinearized #{} of {}\nstate before: {}\nstate after: {}",
                    step + 1,
                    partition.linearized.len(),
                    state_text(&state),
                    state_text(&next)
                );
                view.step = Some(step);
            }
            state = next;
        }
        if let Some(view) = partition.blocked_op.and_then(|blocked| views[blocked].as_mut()) {
            view.blocked = true;
            let _ = write!(
                view.tip,
                "\nCANNOT BE PLACED after the longest linearizable prefix ({} ops)\nstate there: {}",
                partition.linearized.len(),
                state_text(&state)
            );
        }
        for &index in &partition.op_indices {
            let Some(view) = &mut views[index] else { continue };
            if view.step.is_none() && !view.blocked {
                let why = if ops[index].ret.is_none() && partition.status == PartitionStatus::Linearizable {
                    "not linearized: it never took effect"
                } else {
                    "not linearized (after the longest prefix)"
                };
                let _ = write!(view.tip, "\n{why}");
            }
        }
    }
    views
}

/// `text` cut to `max_chars` characters, saying how much was left out.
fn cut(text: String, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text,
        Some((at, _)) => format!("{}... ({} more characters)", &text[..at], text[at..].chars().count()),
    }
}

/// Joins each partition's linearization points among the drawn operations, in order, with a
/// line and dots; hidden (class `lin`) until the partition is selected.
fn draw_linearization_points<I, O>(
    svg: &mut String,
    axis: &TimeAxis,
    history: &History<I, O>,
    result: &CheckResult,
    window: &Window,
    op_row: &[u64],
    row_y: &dyn Fn(u64) -> u64,
) {
    let ops = history.ops();
    for (p, partition) in result.partitions.iter().enumerate() {
        // Earliest consistent points: each after its call and after the previous point, which
        // is never after its return (a valid order guarantees it); 3 px apart to show order.
        let mut points = Vec::new();
        let mut last = 0u64;
        for &index in partition.linearized.iter().filter(|&&index| window.shown[index]) {
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
            r#"<g class="lin p{p}"><polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.5" opacity="0.8"/>"#,
            path.join(" ")
        );
        for (x, y) in points {
            let _ = write!(svg, r##"<circle cx="{x}" cy="{y}" r="3.5" fill="{colour}" stroke="#fff"/>"##);
        }
        svg.push_str("</g>");
    }
}

fn draw_annotation(svg: &mut String, axis: &TimeAxis, annotation: &Annotation, top: u64) {
    let x = axis.x(annotation.time);
    let unit = axis.unit;
    let times = match annotation.end_time {
        Some(end) => format!("{}..{}", unit.label(annotation.time), unit.label(end)),
        None => unit.label(annotation.time),
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

/// The verdict, what is drawn, and one line per partition (the failing one first), above the
/// picture.
fn summary<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    result: &CheckResult,
    window: &Window,
    drawn_clients: usize,
    unit: TimeUnit,
) -> String {
    let ops = history.ops();
    let verdict = match result.verdict {
        Verdict::Ok => r#"<span class="ok">linearizable</span>"#,
        Verdict::Illegal => r#"<span class="bad">NOT linearizable</span>"#,
        Verdict::Unknown => r#"<span class="unknown">unknown (search stopped at a limit)</span>"#,
    };
    let mut html = format!(
        "<p>{verdict}: {} operations, {} partitions, checked in {:.1} ms. Hover a bar for its states; click a partition to draw its linearization.",
        ops.len(),
        result.partitions.len(),
        result.elapsed.as_secs_f64() * 1000.0
    );
    if let Some((from, to)) = window.range {
        let shown = window.shown.iter().filter(|&&shown| shown).count();
        let _ = write!(
            html,
            r#"<br><span class="window">Drawn: {shown} of {} operations, the calls from {} to {}{} around {}, and the operations still running then ({drawn_clients} clients); not drawn: {} called before, {} after.</span>"#,
            ops.len(),
            unit.label(from),
            unit.label(to),
            if unit == TimeUnit::Unspecified { "" } else { " ms" },
            if focus(result).1.is_some() { "the operation that cannot be placed" } else { "the start" },
            window.before,
            window.after,
        );
    }
    html.push_str("</p><ul>");
    let (selected, _) = focus(result);
    let order = selected.into_iter().chain((0..result.partitions.len()).filter(|&p| Some(p) != selected));
    for p in order.take(MAX_LISTED_PARTITIONS) {
        let partition = &result.partitions[p];
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
                r#"; cannot place <b>{}</b> (client {}) <span class="jump">[show it]</span>"#,
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
    if result.partitions.len() > MAX_LISTED_PARTITIONS {
        let rest = &result.partitions;
        let unlisted = rest.len() - MAX_LISTED_PARTITIONS;
        let linearizable = rest.iter().filter(|p| p.status == PartitionStatus::Linearizable).count();
        let _ = write!(
            html,
            "<li>... and {unlisted} more partitions ({linearizable} of all {} linearizable)</li>",
            rest.len()
        );
    }
    html.push_str("</ul>");
    html
}

fn page(title: &str, summary: &str, svg: &str, selected: Option<usize>, has_blocked: bool) -> String {
    let selected = selected.map_or("null".to_string(), |p| format!("'{p}'"));
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 12px; color: #222; }}
h1 {{ font-size: 18px; margin: 0 0 6px 0; }}
ul {{ margin: 4px 0 10px 0; padding-left: 18px; font-size: 13px; }}
li.part, .jump {{ cursor: pointer; }}
.jump {{ color: #0550ae; }}
li.part.selected {{ font-weight: bold; }}
.swatch {{ display: inline-block; width: 10px; height: 10px; margin-right: 6px; border: 1px solid #445; }}
.ok {{ color: #1a7f37; font-weight: bold; }}
.bad {{ color: #c00; font-weight: bold; }}
.unknown {{ color: #9a6700; font-weight: bold; }}
.window {{ color: #555; font-size: 13px; }}
#chart {{ overflow: auto; max-height: 80vh; border: 1px solid #ccc; }}
g.op, g.ann {{ cursor: default; }}
g.op:hover rect {{ stroke: #000; stroke-width: 2; }}
.lin {{ display: none; }}
.lin.on {{ display: inline; }}
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
  function select(p) {{
    selected = p;
    document.querySelectorAll('li.part').forEach(function (other) {{
      other.classList.toggle('selected', other.getAttribute('data-p') === selected);
    }});
    document.querySelectorAll('.op').forEach(function (el) {{
      el.classList.toggle('dim', selected !== null && !el.classList.contains('p' + selected));
    }});
    document.querySelectorAll('.lin').forEach(function (el) {{
      el.classList.toggle('on', el.classList.contains('p' + selected));
    }});
  }}
  document.querySelectorAll('li.part').forEach(function (li) {{
    li.addEventListener('click', function () {{
      var p = li.getAttribute('data-p');
      select(selected === p ? null : p);
    }});
  }});
  // Scrolls the chart so that the operation that cannot be placed is in the middle.
  function show() {{
    var chart = document.getElementById('chart'), op = document.getElementById('blocked');
    if (!op) return;
    var c = chart.getBoundingClientRect(), r = op.getBoundingClientRect();
    chart.scrollLeft += r.left - c.left - c.width / 2 + r.width / 2;
    chart.scrollTop += r.top - c.top - c.height / 2;
  }}
  document.querySelectorAll('.jump').forEach(function (a) {{
    a.addEventListener('click', function (e) {{ e.preventDefault(); e.stopPropagation(); show(); }});
  }});
  select({selected});
  var scrollToFailure = {has_blocked};
  if (scrollToFailure) show();
}})();
</script>
</body></html>
"#,
        title = escape(title)
    )
}

/// Compressed time: every distinct time among the drawn operations and annotations is one step.
struct TimeAxis {
    times: Vec<u64>,
    unit: TimeUnit,
}

impl TimeAxis {
    fn new<'a, I: 'a, O: 'a>(
        ops: impl Iterator<Item = &'a crate::history::Operation<I, O>>,
        annotations: &[&Annotation],
        unit: TimeUnit,
    ) -> Self {
        let mut times: Vec<u64> = ops
            .flat_map(|op| std::iter::once(op.call_time).chain(op.return_time()))
            .chain(annotations.iter().flat_map(|a| std::iter::once(a.time).chain(a.end_time)))
            .collect();
        times.sort_unstable();
        times.dedup();
        Self { times, unit }
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

    /// The axis title, then time labels along the top, as many as fit without overlapping.
    fn draw_ticks(&self, svg: &mut String, height: u64) {
        let _ = write!(
            svg,
            r##"<text x="6" y="{}" fill="#555" font-size="10">{}</text><text x="6" y="{}" fill="#999" font-size="9">one step per event</text>"##,
            AXIS_PX - 20,
            self.unit.axis_title(),
            AXIS_PX - 9
        );
        let mut free_from = 0;
        for &time in &self.times {
            let x = self.x(time);
            let label = self.unit.label(time);
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
