//! The HTML view: self-contained, the unplaceable operation highlighted exactly once,
//! linearization points for the prefix, annotations, states on hover, and the LAB_VIS helper;
//! at scale: the failing key first and selected, the axis in ms, a bounded page for a large
//! history, views written where dstest asks.
//! (`scripts/lincheck-browser-check` renders a page in a real headless browser.)

use lincheck::{
    check, render_html, render_html_with, with_view_dir, write_if_wanted, Annotation, CheckOptions, History, KvInput,
    KvModel, KvOutput, TimeUnit, ViewOptions, VisPolicy, BLOCKED_FILL, DEFAULT_MAX_VIEW_OPS,
};

fn history(stale: bool) -> History<KvInput, KvOutput> {
    let mut h = History::new();
    let put = |value: &str| KvInput::Put { key: "k".into(), value: value.into() };
    let get = |key: &str| KvInput::Get { key: key.into() };
    let seen = |value: &str| KvOutput::Get { value: Some(value.into()), version: None };
    h.push(1, 0, 10, put("a"), KvOutput::Done).unwrap();
    h.push(1, 20, 30, put("b"), KvOutput::Done).unwrap();
    h.push(2, 40, 50, get("k"), seen(if stale { "a" } else { "b" })).unwrap();
    h.push(3, 5, 15, put("<i>"), KvOutput::Done).unwrap();
    h.push_unknown(3, 16, put("lost"));
    h.push(4, 0, 60, get("other"), KvOutput::Get { value: None, version: Some(0) }).unwrap();
    h
}

fn annotations() -> Vec<Annotation> {
    vec![
        Annotation::span(12, 35, "partition {1} | {2,3}", "servers 2 and 3 cut off"),
        Annotation::instant(25, "crash 2", "server 2 crashed & restarted"),
    ]
}

#[test]
fn violation_page_is_self_contained_and_marks_the_blocked_op_once() {
    let h = history(true);
    let result = check(&KvModel, &h, &CheckOptions::default());
    assert!(!result.is_ok());
    let page = render_html(&KvModel, &h, &result, &annotations(), "stale read");

    let highlight = format!("fill=\"{BLOCKED_FILL}\"");
    assert_eq!(page.matches(&highlight).count(), 1, "exactly one highlighted bar");
    assert_eq!(page.matches("&#x2716; cannot be placed: get(&quot;k&quot;) -&gt; &quot;a&quot;</text>").count(), 1);
    // Nothing is fetched: no URLs, no external scripts, styles or images.
    for forbidden in ["http:", "https:", "src=", "href=", "@import", "url("] {
        assert!(!page.contains(forbidden), "page contains {forbidden}");
    }
    // Annotations with their descriptions, escaped.
    assert!(page.contains("partition {1} | {2,3}"));
    assert!(page.contains("server 2 crashed &amp; restarted"));
    // Markup in values is escaped, never interpreted.
    assert!(page.contains("put(&quot;k&quot;, &quot;&lt;i&gt;&quot;)"));
    assert!(!page.contains("<i>"));
    // Hover text carries states before and after, and what blocks.
    assert!(page.contains("state before: all keys absent"));
    assert!(page.contains("CANNOT BE PLACED after the longest linearizable prefix"));
    // One point per linearized operation, one line per partition with any.
    let linearized: usize = result.partitions.iter().map(|p| p.linearized.len()).sum();
    assert_eq!(page.matches("<circle").count(), linearized);
    assert_eq!(page.matches("<polyline").count(), result.partitions.len());
}

#[test]
fn passing_page_has_no_highlight_and_places_every_returned_op() {
    let h = history(false);
    let result = check(&KvModel, &h, &CheckOptions::default());
    assert!(result.is_ok());
    let page = render_html(&KvModel, &h, &result, &[], "ok");
    assert!(!page.contains(&format!("fill=\"{BLOCKED_FILL}\"")));
    let returned = h.ops().iter().filter(|op| op.ret.is_some()).count();
    assert!(page.matches("<circle").count() >= returned);
    assert!(page.contains("not linearized: it never took effect"));
}

#[test]
fn write_if_wanted_follows_lab_vis() {
    // Whatever LAB_VIS the test runs under (unset: on-failure), the helper must follow it.
    let policy = VisPolicy::from_env().expect("LAB_VIS readable in tests");
    for stale in [true, false] {
        let h = history(stale);
        let result = check(&KvModel, &h, &CheckOptions::default());
        let name = format!("lincheck_view_test/{stale}");
        let written = write_if_wanted(&name, &KvModel, &h, &result, &annotations()).unwrap();
        assert_eq!(written.is_some(), policy.should_write(result.is_ok()));
        if let Some(path) = written {
            assert!(path.ends_with("lincheck_view_test_".to_string() + &stale.to_string() + ".html"));
            let page = std::fs::read_to_string(&path).unwrap();
            assert_eq!(page.contains(BLOCKED_FILL), stale);
            println!("view: {}", path.display());
        }
    }
}

/// `ops` operations of 20 clients on 100 keys, each overlapping the next, linearizable except
/// one stale read at 70%: a get that returns a key's value before its last write.
fn large_history(ops: u64) -> History<KvInput, KvOutput> {
    let mut h = History::new();
    let mut values: Vec<Vec<String>> = vec![Vec::new(); 100];
    for i in 0..ops {
        let key = ((i * 7919) % 100) as usize;
        let (call, ret) = (3 * i, 3 * i + 5);
        let get = KvInput::Get { key: format!("k{key}") };
        if i == ops * 7 / 10 {
            let (key, written) = values.iter().enumerate().find(|(_, v)| v.len() >= 2).expect("a key written twice");
            let stale = KvOutput::Get { value: Some(written[written.len() - 2].clone()), version: None };
            h.push(i % 20, call, ret, KvInput::Get { key: format!("k{key}") }, stale).unwrap();
        } else if i % 2 == 0 {
            values[key].push(format!("v{i}"));
            h.push(i % 20, call, ret, KvInput::Put { key: format!("k{key}"), value: format!("v{i}") }, KvOutput::Done)
                .unwrap();
        } else {
            let seen = KvOutput::Get { value: values[key].last().cloned(), version: None };
            h.push(i % 20, call, ret, get, seen).unwrap();
        }
    }
    h
}

#[test]
fn a_large_history_is_drawn_as_a_bounded_window_around_the_failure() {
    // 50 MB of history once wrote a 350 MB page: the page must not grow with the history.
    const BOUND_BYTES: usize = 1 << 20;
    for ops in [20_000, 80_000] {
        let h = large_history(ops);
        let result = check(&KvModel, &h, &CheckOptions::default());
        assert!(!result.is_ok());
        let page = render_html(&KvModel, &h, &result, &[], "large");
        assert!(page.len() < BOUND_BYTES, "{ops} ops: a page of {} bytes", page.len());
        let drawn = page.matches(r#"<g class="op "#).count();
        assert!(drawn <= DEFAULT_MAX_VIEW_OPS + 20, "{drawn} operations drawn");
        assert_eq!(page.matches(&format!("fill=\"{BLOCKED_FILL}\"")).count(), 1, "the failure is in the window");
        assert_eq!(page.matches(r#"id="blocked""#).count(), 1);
        let not_drawn = format!("{drawn} of {ops} operations");
        assert!(page.contains(&not_drawn), "the summary counts what is not drawn ({not_drawn})");
    }
}

#[test]
fn the_failing_key_is_listed_first_and_selected() {
    let mut h = history(true);
    // Key "a" sorts before the failing key "k".
    h.push(5, 0, 5, KvInput::Put { key: "a".into(), value: "x".into() }, KvOutput::Done).unwrap();
    let result = check(&KvModel, &h, &CheckOptions::default());
    let failing = result.partitions.iter().position(|p| p.blocked_op.is_some()).unwrap();
    assert_ne!(failing, 0, "the test needs the failing key not to be first already");
    let page = render_html(&KvModel, &h, &result, &[], "stale read");
    let first_key = page.find(r#"<li class="part""#).unwrap();
    assert!(page[first_key..].starts_with(&format!(r#"<li class="part" data-p="{failing}""#)));
    assert!(page.contains(&format!("select('{failing}');")), "selected when the page opens");
    assert!(page.contains("var scrollToFailure = true;"), "scrolled to the failing operation when the page opens");
    // Linearization lines are drawn hidden, shown for the selected key only.
    assert!(page.contains(".lin {{ display: none; }}".replace("{{", "{").replace("}}", "}").as_str()));
    // A passing history selects nothing and scrolls nowhere.
    let ok = check(&KvModel, &history(false), &CheckOptions::default());
    let page = render_html(&KvModel, &history(false), &ok, &[], "ok");
    assert!(page.contains("select(null);") && page.contains("var scrollToFailure = false;"));
}

#[test]
fn the_axis_is_labelled_in_ms_when_the_unit_is_known() {
    let h = history(true);
    let result = check(&KvModel, &h, &CheckOptions::default());
    let micros = ViewOptions { time_unit: TimeUnit::Microseconds, ..ViewOptions::default() };
    let page = render_html_with(&KvModel, &h, &result, &[], "us", &micros);
    assert!(page.contains(">time (ms)</text>"));
    // 40 us is 0.04 ms; 0 stays 0.
    assert!(page.contains(">0.04</text>") && page.contains(">0</text>"));
    let page = render_html(&KvModel, &h, &result, &[], "unitless");
    assert!(page.contains(">time (the history's unit)</text>") && page.contains(">40</text>"));
}

#[test]
fn with_view_dir_puts_pages_in_that_folder() {
    let policy = VisPolicy::from_env().expect("LAB_VIS readable in tests");
    let h = history(true);
    let result = check(&KvModel, &h, &CheckOptions::default());
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lincheck_view_dir");
    let written = with_view_dir(&dir, || write_if_wanted("in-dir", &KvModel, &h, &result, &[]).unwrap());
    assert_eq!(written, policy.should_write(false).then(|| dir.join("in-dir.html")));
    // Outside the closure, the temp dir again.
    let written = write_if_wanted("outside", &KvModel, &h, &result, &[]).unwrap();
    assert!(written.is_none_or(|path| !path.starts_with(&dir)));
}
