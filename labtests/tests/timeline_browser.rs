//! The timeline page in a real headless browser: a failing run's page, opened at `#failure` (as
//! the "Jump to the failure" button does), shows the red failure mark, drawn by the page's
//! script, where the script says it drew it; a passing run's page shows none. Skipped, saying
//! why, when no Chromium (or python3, which counts the pixels) is installed; set
//! `TIMELINE_BROWSER_REQUIRED=1` (as `scripts/timeline-browser-check` does) to fail instead.
//! `TIMELINE_BROWSER_OUT=DIR` keeps the pages and screenshots.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use labrpc::time;
use labtests::dstest::Case;
use labtests::raft::{ApplierKind, Cluster, Command as RaftCommand, Reliability};
use labtests::timeline::{self, page};

const WINDOW: &str = "1400,900";

fn browser() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| which(name))
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| Path::new(dir).join(name)).find(|p| p.is_file())
}

/// Commits a command, disconnects and crashes peer 2, then a planted check fails at 2.5 s.
fn planted_failure() {
    let cfg = Cluster::<raftkv::raft::Raft>::new(3, Reliability::Reliable, ApplierKind::Plain);
    cfg.one(&RaftCommand::Value(5), 3, true);
    cfg.disconnect(2);
    time::sleep(Duration::from_millis(300));
    cfg.crash(2);
    time::sleep(Duration::from_millis(2500).saturating_sub(time::now().since_start()));
    panic!("planted check failed");
}

fn passing() {
    let cfg = Cluster::<raftkv::raft::Raft>::new(3, Reliability::Reliable, ApplierKind::Plain);
    cfg.one(&RaftCommand::Value(5), 3, true);
}

fn case(name: &str, run: fn()) -> Case {
    Case {
        name: name.into(),
        phase: "test".into(),
        file: "timeline_browser".into(),
        config: labrpc::sim::Config::default(),
        run,
        replay_args: "",
        implementation: labtests::impls::DEFAULT.into(),
        show_implementation: false,
    }
}

fn chromium(browser: &Path, profile: &Path, args: &[&str], url: &str) -> std::process::Output {
    let output = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={WINDOW}"))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// Pixels of `colour` in `png` and their bounding box, counted by the violation view's checker.
fn count_pixels(png: &Path, colour: &str) -> (u64, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("lincheck/scripts/png_check.py");
    let out = Command::new("python3").arg(script).arg(png).arg(colour.trim_start_matches('#')).arg("1").output();
    let text = String::from_utf8_lossy(&out.expect("python3 runs").stdout).into_owned();
    let count = text.split(", ").nth(1).and_then(|s| s.split(' ').next()).and_then(|n| n.parse().ok());
    (count.unwrap_or_else(|| panic!("unexpected png_check output: {text}")), text)
}

/// The attribute `name="..."` of the element whose opening tag starts with `tag` in `dom`.
fn attribute(dom: &str, tag: &str, name: &str) -> Option<String> {
    let element = &dom[dom.find(tag)?..];
    let element = &element[..element.find('>')?];
    let start = element.find(&format!("{name}=\""))? + name.len() + 2;
    Some(element[start..][..element[start..].find('"')?].to_string())
}

#[test]
fn the_failure_mark_is_on_the_page_in_a_real_browser() {
    let (Some(browser), Some(_)) = (browser(), which("python3")) else {
        let message =
            "timeline browser check skipped: no chromium or python3 on PATH (apt-get install -y chromium python3)";
        assert!(std::env::var_os("TIMELINE_BROWSER_REQUIRED").is_none(), "{message}");
        eprintln!("{message}");
        return;
    };
    let out = std::env::var_os("TIMELINE_BROWSER_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("timeline-browser-{}", std::process::id())));
    std::fs::create_dir_all(&out).expect("output dir");
    let profile = out.join("profile");

    let (outcome, failing) = timeline::record(&case("planted_failure", planted_failure), 3);
    assert!(outcome.is_err(), "the planted check fails");
    let failing_html = out.join("failing.html");
    timeline::write(&failing_html, &failing).expect("page written");
    let url = format!("file://{}#failure", failing_html.display());

    // The script ran, drew the failure mark, and says where.
    let dom = chromium(&browser, &profile, &["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let x: u64 = attribute(&dom, "<canvas id=\"tl\"", "data-failure-x")
        .unwrap_or_else(|| panic!("the page did not draw the failure mark:\n{}", &dom[..dom.len().min(2000)]))
        .parse()
        .expect("a pixel column");
    let drawn_ms = attribute(&dom, "<body", "data-drawn-ms").expect("the page finished drawing");
    eprintln!("failure mark drawn at x = {x} px; page drawn {drawn_ms} ms after navigation");

    // The screenshot shows it: a red vertical line (3 px wide, every lane high) and its label.
    let png = out.join("failing.png");
    chromium(&browser, &profile, &[&format!("--screenshot={}", png.display())], &url);
    let (count, text) = count_pixels(&png, page::FAILURE_COLOUR);
    eprintln!("{text}");
    assert!(count >= 300, "too few failure-coloured pixels: {text}");
    // The mark is a line across the lanes (3 lanes of 46 px), not only the label.
    let rows = text.split("y ").nth(1).and_then(|r| r.split(')').next()).expect("a bounding box");
    let (top, bottom) = rows.split_once("..").expect("y range");
    let height = bottom.parse::<u64>().unwrap() - top.parse::<u64>().unwrap();
    assert!(height >= 3 * 46, "the failure mark is only {height} px high: {text}");

    let (_, passing) = timeline::record(&case("passing", passing), 3);
    let passing_html = out.join("passing.html");
    timeline::write(&passing_html, &passing).expect("page written");
    let png = out.join("passing.png");
    chromium(
        &browser,
        &profile,
        &[&format!("--screenshot={}", png.display())],
        &format!("file://{}", passing_html.display()),
    );
    let (count, text) = count_pixels(&png, page::FAILURE_COLOUR);
    assert_eq!(count, 0, "a passing run's page shows the failure colour: {text}");
    eprintln!("pages and screenshots in {}", out.display());
}
