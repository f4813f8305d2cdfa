//! The page in a real browser: rendered for linearizable, illegal and undecided histories, opened from
//! disk in headless Chromium, and asserted on through the page's `window.quill` hooks and real mouse
//! clicks. Every page fails its test on any script error.
//!
//! Needs Chromium (`bash scripts/install-chromium.sh`); fails, rather than skips, without it. Screenshots,
//! the pages themselves and Chromium's logs are left in `target/viz-artifacts/`. Nothing here asserts
//! how fast the page is: `cargo bench -p quill-viz --bench browser` measures that.

mod cdp;
mod fixtures;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use checker::Verdict;
use serde_json::{json, Value};

use cdp::{Browser, Page};
use fixtures::Checked;

/// Browser tests run one at a time: two Chromiums on a two-core machine starve each other.
static SERIAL: Mutex<()> = Mutex::new(());

/// How long a page may take to get ready before the test gives up on it: a guard that only catches a
/// page (or a browser) that hangs, generous enough for a loaded machine. Speed is the benchmark's.
const HANG_GUARD: Duration = Duration::from_secs(300);

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .join("viz-artifacts");
    std::fs::create_dir_all(&dir).expect("creating target/viz-artifacts");
    dir
}

/// A page open in its own browser.
struct Opened {
    // Declared before the browser so the tab's socket closes before the process is killed.
    page: Page,
    _browser: Browser,
}

/// Renders `checked` to `target/viz-artifacts/NAME.html` and opens it.
fn open(name: &str, checked: &Checked, timeout: Duration) -> Result<Opened> {
    let html = viz::render_html(&checked.view, &checked.result);
    let path = artifacts().join(format!("{name}.html"));
    std::fs::write(&path, &html)?;
    let browser = Browser::launch(&artifacts().join(format!("{name}.chromium.log")))?;
    let mut page = browser.new_page()?;
    let url = format!("file://{}", path.canonicalize()?.display());
    page.open(&url, timeout)
        .with_context(|| format!("opening {url}"))?;
    Ok(Opened {
        page,
        _browser: browser,
    })
}

fn no_errors(page: &mut Page) -> Result<()> {
    let errors = page.errors();
    ensure!(errors.is_empty(), "the page reported errors: {errors:#?}");
    Ok(())
}

fn num(v: Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected a number, got {v}"))
}

/// Selects each partition in turn and checks that exactly its operations are drawn.
fn every_partition_draws_its_operations(page: &mut Page, checked: &Checked) -> Result<()> {
    for p in &checked.result.partitions {
        ensure!(page.eval(&format!("quill.selectPartition({})", json!(p.label)))? == json!(true));
        let drawn = num(page.eval("quill.drawnOperationCount()")?);
        ensure!(
            drawn == p.operations.len() as u64,
            "partition {}: drew {drawn} of {} operations",
            p.label,
            p.operations.len()
        );
    }
    if checked.result.partitions.len() > 1 {
        page.eval("quill.selectPartition(null)")?;
        let drawn = num(page.eval("quill.drawnOperationCount()")?);
        ensure!(
            drawn == checked.view.operations.len() as u64,
            "all: drew {drawn}"
        );
    }
    Ok(())
}

/// Clicks operation `op` with the mouse and returns the details the page then shows.
fn click_operation(page: &mut Page, op: usize) -> Result<Value> {
    page.eval(&format!("quill.reveal({op})"))?;
    let b = page.eval(&format!("quill.operationBox({op})"))?;
    ensure!(!b.is_null(), "operation {op} is not on screen");
    let x = b["x"].as_f64().unwrap() + b["width"].as_f64().unwrap().min(30.0) / 2.0;
    let y = b["y"].as_f64().unwrap() + b["height"].as_f64().unwrap() / 2.0;
    page.click(x, y)?;
    page.eval("quill.selectedDetails()")
}

#[test]
fn linearizable_history_draws_its_linearization() -> Result<()> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let checked = fixtures::linearizable();
    assert_eq!(checked.result.verdict, Verdict::Ok);
    let mut o = open("linearizable", &checked, HANG_GUARD)?;
    let page = &mut o.page;
    no_errors(page)?;
    ensure!(page.eval("document.getElementById('verdict').textContent")? == json!("linearizable"));
    ensure!(
        num(page.eval("quill.errorMarkerCount()")?) == 0,
        "a linearizable history has no error markers"
    );
    // The page mirrors OpView::label.
    for (i, op) in checked.view.operations.iter().enumerate() {
        ensure!(
            page.eval(&format!("quill.label({i})"))? == json!(op.label()),
            "label of {i}"
        );
    }
    every_partition_draws_its_operations(page, &checked)?;
    // Client 3's operation with no response does not push its next one onto a row of its own.
    page.eval("quill.selectPartition(null)")?;
    ensure!(
        num(page.eval("quill.rowCount()")?) == 3,
        "one row per client"
    );

    // Partition x's linearization: clicking its last step shows the state before and after it.
    ensure!(page.eval("quill.selectPartition('x')")? == json!(true));
    let x = checked
        .result
        .partitions
        .iter()
        .find(|p| p.label == "x")
        .unwrap();
    ensure!(num(page.eval("quill.linearizationPointCount()")?) == x.linearization.len() as u64);
    let last = x.linearization.last().unwrap();

    // Hovering shows an operation's details without pinning them.
    page.eval(&format!("quill.reveal({})", last.op))?;
    let b = page.eval(&format!("quill.operationBox({})", last.op))?;
    let (bx, by) = (
        b["x"].as_f64().unwrap() + 5.0,
        b["y"].as_f64().unwrap() + 5.0,
    );
    page.mouse_move(bx, by, 0)?;
    let d = page.eval("quill.selectedDetails()")?;
    ensure!(
        d["index"] == json!(last.op) && d["pinned"] == json!(false),
        "details on hover: {d}"
    );

    let d = click_operation(page, last.op)?;
    ensure!(
        d["index"] == json!(last.op) && d["pinned"] == json!(true),
        "details after the click: {d}"
    );
    ensure!(d["stateAfter"] == json!(last.state), "{d}");
    ensure!(d["step"] == json!(x.linearization.len()), "{d}");
    let panel = page.eval("document.getElementById('details').textContent")?;
    ensure!(
        panel
            .as_str()
            .unwrap()
            .contains(&checked.view.operations[last.op].label()),
        "panel: {panel}"
    );
    page.screenshot(&artifacts().join("linearizable.png"))?;
    no_errors(page)
}

#[test]
fn illegal_history_shows_its_error() -> Result<()> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let checked = fixtures::illegal();
    let mut o = open("illegal", &checked, HANG_GUARD)?;
    let page = &mut o.page;
    no_errors(page)?;
    ensure!(
        page.eval("document.getElementById('verdict').textContent")? == json!("not linearizable")
    );

    // The illegal partition is selected first and only its operations are drawn.
    ensure!(page.eval("quill.selectedPartition()")? == json!("x"));
    let x = checked
        .result
        .partitions
        .iter()
        .find(|p| p.label == "x")
        .unwrap();
    ensure!(num(page.eval("quill.drawnOperationCount()")?) == x.operations.len() as u64);
    let partial = &x.partial[0];
    let marked = num(page.eval("quill.errorMarkerCount()")?);
    ensure!(
        marked >= 1 && marked as usize <= partial.stuck.len() + 1,
        "error markers: {marked}"
    );
    ensure!(num(page.eval("quill.linearizationPointCount()")?) == partial.steps.len() as u64);
    ensure!(
        page.eval("!document.getElementById('jump').hidden")? == json!(true),
        "no jump-to-error control"
    );
    ensure!(page.eval("quill.jumpToError()")? == json!(true));
    ensure!(
        num(page.eval("quill.errorMarkerCount()")?) >= 1,
        "the error is off screen after jumping to it"
    );

    // The counterexample's story is on the page.
    let story = page.eval("document.getElementById('counterexample').hidden ? '' : document.getElementById('story').textContent")?;
    ensure!(
        story.as_str().unwrap().contains("No order works"),
        "story: {story}"
    );
    let counterexample = checked.result.counterexample.as_ref().unwrap();
    page.eval("document.getElementById('only-ce').click()")?;
    ensure!(
        num(page.eval("quill.drawnOperationCount()")?) == counterexample.operations.len() as u64
    );
    page.eval("document.getElementById('only-ce').click()")?;
    ensure!(num(page.eval("quill.drawnOperationCount()")?) == x.operations.len() as u64);
    // Operations named in the story are links that pin them.
    page.eval("document.querySelector('#story a[data-op=\"4\"]').click()")?;
    let d = page.eval("quill.selectedDetails()")?;
    ensure!(
        d["index"] == json!(4) && d["pinned"] == json!(true) && d["counterexample"] == json!(true),
        "{d}"
    );
    page.eval("quill.jumpToError()")?;

    // Clicking the blocking operation shows why it is red.
    let d = click_operation(page, partial.blocking)?;
    ensure!(
        d["index"] == json!(partial.blocking) && d["blocking"] == json!(true),
        "{d}"
    );
    ensure!(
        d["output"] == json!(checked.view.operations[partial.blocking].output),
        "{d}"
    );
    let panel = page.eval("document.getElementById('details').textContent")?;
    ensure!(
        panel.as_str().unwrap().contains("forced the search back"),
        "panel: {panel}"
    );
    page.screenshot(&artifacts().join("illegal.png"))?;

    every_partition_draws_its_operations(page, &checked)?;
    page.eval("quill.selectPartition('y')")?;
    ensure!(
        num(page.eval("quill.errorMarkerCount()")?) == 0,
        "partition y is fine"
    );
    page.eval("quill.setRealTime(true)")?;
    ensure!(num(page.eval("quill.drawnOperationCount()")?) == 3);
    no_errors(page)
}

#[test]
fn a_large_illegal_history_opens_at_its_first_error() -> Result<()> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let checked = fixtures::generated_illegal();
    ensure!(checked.result.verdict == Verdict::Illegal);
    let mut o = open("generated-illegal", &checked, Duration::from_secs(60))?;
    let page = &mut o.page;
    no_errors(page)?;
    // The page opens at the first error: its operation is on screen, without a click.
    ensure!(
        page.eval("quill.openedAtError()")? == json!(true),
        "not opened at the error"
    );
    let blocking = checked.result.illegal().next().unwrap().partial[0].blocking;
    ensure!(page.eval("quill.errorOperation()")? == json!(blocking));
    let shown = page.eval(&format!("quill.operationBox({blocking})"))?;
    ensure!(
        shown.is_object(),
        "the error's operation #{blocking} is not on screen: {shown}"
    );
    ensure!(num(page.eval("quill.errorMarkerCount()")?) >= 1);
    // Ticks carry the unit the history gave (ms) or one chosen from the range, and none is drawn over
    // the "stuck" marker.
    let ticks = page.eval("quill.ticks()")?;
    let ticks = ticks.as_array().context("ticks")?;
    ensure!(!ticks.is_empty(), "no ticks");
    for t in ticks {
        let text = t["text"].as_str().unwrap_or_default();
        ensure!(
            ["ns", "\u{b5}s", "ms", " s"]
                .iter()
                .any(|u| text.ends_with(u)),
            "a tick without a unit: {text:?}"
        );
    }
    let stuck = page.eval("quill.stuckMarker()")?;
    ensure!(stuck.is_object(), "no stuck marker at the error: {stuck}");
    for t in ticks {
        let (l, r) = (t["left"].as_f64().unwrap(), t["right"].as_f64().unwrap());
        let (sl, sr) = (
            stuck["left"].as_f64().unwrap(),
            stuck["right"].as_f64().unwrap(),
        );
        ensure!(
            r <= sl || l >= sr,
            "tick {t} overlaps the stuck marker {stuck}"
        );
    }
    // The story's operations are links, and only they: an apostrophe is not operation 39.
    let story = page.eval("document.getElementById('story').textContent")?;
    let story = story.as_str().unwrap_or_default();
    ensure!(
        story.contains("cannot be ordered") && !story.contains("&#"),
        "story: {story}"
    );
    let links = page.eval(
        "Array.from(document.querySelectorAll('#story a[data-op]')).map(a => a.textContent)",
    )?;
    let named = &checked.result.counterexample.as_ref().unwrap().operations;
    for link in links.as_array().context("links")? {
        let n: usize = link
            .as_str()
            .unwrap_or_default()
            .trim_start_matches('#')
            .parse()?;
        ensure!(
            named.contains(&n),
            "a link to #{n}, which the story does not name: {named:?}"
        );
    }
    page.screenshot(&artifacts().join("generated-illegal.png"))?;
    // Fitting the whole history and coming back to the error works too.
    page.eval("quill.fit()")?;
    ensure!(page.eval("quill.jumpToError()")? == json!(true));
    ensure!(page
        .eval(&format!("quill.operationBox({blocking})"))?
        .is_object());
    no_errors(page)
}

#[test]
fn unknown_history_says_what_was_decided() -> Result<()> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (name, checked) in [
        ("unknown", fixtures::unknown()),
        ("timed-out", fixtures::timed_out()),
    ] {
        assert_eq!(checked.result.verdict, Verdict::Unknown, "{name}");
        let mut o = open(name, &checked, HANG_GUARD)?;
        let page = &mut o.page;
        no_errors(page)?;
        ensure!(page.eval("document.getElementById('verdict').textContent")? == json!("unknown"));
        let status = page.eval("document.getElementById('status').textContent")?;
        let status = status.as_str().unwrap();
        let decided = checked.result.decided();
        let total = checked.result.partitions.len();
        ensure!(
            status.contains(&format!("Decided {decided} of {total} partitions")),
            "{name}: {status}"
        );
        let why = if checked
            .result
            .partitions
            .iter()
            .any(|p| p.undecided == Some(checker::Undecided::Timeout))
        {
            "timed out"
        } else {
            "cancelled"
        };
        ensure!(status.contains(why), "{name}: {status}");
        ensure!(
            num(page.eval("quill.drawnOperationCount()")?) == checked.view.operations.len() as u64
        );
        every_partition_draws_its_operations(page, &checked)?;
        page.eval("quill.selectPartition(null)")?;
        page.screenshot(&artifacts().join(format!("{name}.png")))?;
        no_errors(page)?;
    }
    Ok(())
}

#[test]
fn wheel_zooms_and_dragging_pans() -> Result<()> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let history = fixtures::generated(2_000, 8, 20, 5);
    let kv = checker::models::kv::Kv;
    let result = checker::check(&kv, &history, &checker::Options::default())?;
    let checked = Checked {
        view: checker::HistoryView::new(&kv, "kv", &history),
        result,
    };
    let mut o = open("zoom-and-pan", &checked, HANG_GUARD)?;
    let page = &mut o.page;
    page.eval("quill.selectPartition(null)")?;
    ensure!(num(page.eval("quill.drawnOperationCount()")?) == 2_000);
    let rect = page.eval("(r => ({ x: r.left + r.width / 2, y: r.top + r.height / 2 }))(document.getElementById('canvas').getBoundingClientRect())")?;
    let (cx, cy) = (rect["x"].as_f64().unwrap(), rect["y"].as_f64().unwrap());

    let before = page.eval("quill.view()")?;
    for _ in 0..4 {
        page.wheel(cx, cy, -400.0)?;
    }
    // Wheel events are drawn on the next animation frame.
    page.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")?;
    let zoomed = page.eval("quill.view()")?;
    ensure!(
        zoomed["scale"].as_f64() > before["scale"].as_f64(),
        "the wheel did not zoom in: {before} -> {zoomed}"
    );
    let drawn = num(page.eval("quill.drawnOperationCount()")?);
    ensure!(
        drawn > 0 && drawn < 2_000,
        "zoomed in, yet {drawn} operations drawn"
    );

    page.drag((cx, cy), (cx - 300.0, cy))?;
    page.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")?;
    let panned = page.eval("quill.view()")?;
    let moved = panned["left"].as_f64().unwrap() - zoomed["left"].as_f64().unwrap();
    let expected = 300.0 / zoomed["scale"].as_f64().unwrap();
    ensure!(
        (moved - expected).abs() < expected * 0.05,
        "dragging 300 px moved the view by {moved}, not {expected}"
    );
    // A drag is not a click: nothing got pinned.
    ensure!(
        page.eval("quill.selectedDetails() === null || !quill.selectedDetails().pinned")?
            == json!(true)
    );
    page.screenshot(&artifacts().join("zoom-and-pan.png"))?;
    no_errors(page)
}

/// 1k, 10k and 100k operations: the page gets ready, draws every operation, redraws fitted and zoomed
/// in, and reports no error. How long that takes is measured by the benchmark (`cargo bench -p quill-viz
/// --bench browser`, figures in docs/performance.md), not asserted here: the time limit only catches a
/// page that hangs.
#[test]
fn large_histories_draw_every_operation() -> Result<()> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for n in [1_000, 10_000, 100_000] {
        let checked = fixtures::large(n);
        ensure!(checked.result.verdict == Verdict::Ok);
        let name = format!("large-{n}");
        let mut o = open(&name, &checked, HANG_GUARD)?;
        let page = &mut o.page;
        no_errors(page)?;
        ensure!(
            page.eval("typeof quill.timings.firstRender")? == json!("number"),
            "the page did not record its first render at {n}"
        );
        page.eval("quill.selectPartition(null)")?;
        ensure!(
            num(page.eval("quill.drawnOperationCount()")?) == n as u64,
            "not every operation drawn at {n}"
        );
        let fitted = page.eval("quill.redraw()")?;
        page.eval("quill.zoom(50)")?;
        let zoomed = page.eval("quill.redraw()")?;
        ensure!(
            fitted.is_number() && zoomed.is_number(),
            "redraw() returns its duration: {fitted}, {zoomed}"
        );
        let drawn = num(page.eval("quill.drawnOperationCount()")?);
        ensure!(
            drawn > 0 && drawn < n as u64,
            "zoomed in 50 times, yet {drawn} of {n} operations drawn"
        );
        page.eval("quill.fit()")?;
        ensure!(num(page.eval("quill.drawnOperationCount()")?) == n as u64);
        page.screenshot(&artifacts().join(format!("{name}.png")))?;
        no_errors(page)?;
    }
    Ok(())
}

#[test]
fn missing_chromium_fails_and_names_the_install_script() {
    let err = cdp::find_chromium(
        None,
        &["no-such-chromium"],
        Some(std::ffi::OsStr::new("/nonexistent")),
    )
    .unwrap_err();
    assert!(err.to_string().contains(cdp::INSTALL_SCRIPT), "{err}");
    let err = cdp::find_chromium(Some("/nonexistent/chromium".into()), &[], None).unwrap_err();
    assert!(err.to_string().contains(cdp::INSTALL_SCRIPT), "{err}");
}
