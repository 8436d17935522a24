//! The HTML view: self-contained, the unplaceable operation highlighted exactly once,
//! linearization points for the prefix, annotations, states on hover, and the LAB_VIS helper.
//! (`scripts/lincheck-browser-check` renders a page in a real headless browser.)

use lincheck::{
    check, render_html, write_if_wanted, Annotation, CheckOptions, History, KvInput, KvModel, KvOutput, VisPolicy,
    BLOCKED_FILL,
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
