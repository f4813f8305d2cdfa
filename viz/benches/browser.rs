//! How fast the timeline page opens and redraws in headless Chromium, for 1,000, 10,000 and 100,000
//! operations (the histories the browser test opens, `fixtures::large`).
//!
//! ```text
//! cargo bench -p quill-viz --bench browser            # 3 samples a size
//! cargo bench -p quill-viz --bench browser -- 5       # 5 samples a size
//! ```
//!
//! For each size: the page's bytes, `render_html`'s time, the wall time from navigation until the page
//! says `quill.ready`, the page's own time to its first render (`quill.timings.firstRender`), and a full
//! redraw fitted and zoomed in 50 times (`quill.redraw()`); the median of the samples, each in a fresh
//! browser. The table goes to standard output and to `target/viz-artifacts/timings.txt`. Not a criterion
//! benchmark: one sample of the 100,000-operation page takes seconds, and what matters is the order
//! of magnitude a person waits, on the machine at hand (say which, and its load, with the figures).
//!
//! Needs Chromium, like the browser test (`scripts/install-chromium.sh`).

// The test's driver and histories, shared so that the benchmark times exactly the pages the test
// checks; the benchmark needs neither the mouse nor the small fixtures.
#[path = "../tests/browser/cdp.rs"]
#[allow(dead_code)]
mod cdp;
#[path = "../tests/browser/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

/// A generous guard against a page that never gets ready; not a bound on how long it should take.
const HANG_GUARD: Duration = Duration::from_secs(600);

struct Sample {
    render_ms: f64,
    ready_ms: f64,
    first_render_ms: f64,
    redraw_fit_ms: f64,
    redraw_zoomed_ms: f64,
}

fn artifacts() -> Result<PathBuf> {
    // CARGO_TARGET_TMPDIR is only set for tests; benches find the target directory beside their binary.
    let exe = std::env::current_exe()?;
    let target = exe
        .ancestors()
        .find(|d| d.file_name().is_some_and(|n| n == "target"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    let dir = target.join("viz-artifacts");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn sample(n: usize, checked: &fixtures::Checked, dir: &std::path::Path) -> Result<(usize, Sample)> {
    let started = Instant::now();
    let html = viz::render_html(&checked.view, &checked.result);
    let render_ms = started.elapsed().as_secs_f64() * 1e3;
    let path = dir.join(format!("bench-{n}.html"));
    std::fs::write(&path, &html)?;
    let browser = cdp::Browser::launch(&dir.join(format!("bench-{n}.chromium.log")))?;
    let mut page = browser.new_page()?;
    let url = format!("file://{}", path.canonicalize()?.display());
    let ready = page.open(&url, HANG_GUARD)?;
    let first_render_ms = page
        .eval("quill.timings.firstRender")?
        .as_f64()
        .unwrap_or(f64::NAN);
    page.eval("quill.selectPartition(null)")?;
    let drawn = page.eval("quill.drawnOperationCount()")?;
    ensure!(
        drawn == serde_json::json!(n),
        "drew {drawn} of {n} operations"
    );
    let redraw_fit_ms = page.eval("quill.redraw()")?.as_f64().unwrap_or(f64::NAN);
    page.eval("quill.zoom(50)")?;
    let redraw_zoomed_ms = page.eval("quill.redraw()")?.as_f64().unwrap_or(f64::NAN);
    let errors = page.errors();
    ensure!(errors.is_empty(), "the page reported errors: {errors:?}");
    Ok((
        html.len(),
        Sample {
            render_ms,
            ready_ms: ready.as_secs_f64() * 1e3,
            first_render_ms,
            redraw_fit_ms,
            redraw_zoomed_ms,
        },
    ))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this without it, and then one
    // sample of the smallest page shows the benchmark still works, without taking minutes.
    let benching = std::env::args().any(|a| a == "--bench");
    // A bare number is the sample count.
    let samples: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(if benching { 3 } else { 1 })
        .max(1);
    let sizes: &[usize] = if benching {
        &[1_000, 10_000, 100_000]
    } else {
        &[1_000]
    };
    let dir = artifacts()?;
    let mut report = format!(
        "median of {samples} samples, each in a fresh headless Chromium\n\
         operations\tpage bytes\trender_html ms\tready ms (wall)\tfirst render ms (in page)\tredraw ms (fit)\tredraw ms (zoomed 50x)\n"
    );
    print!("{report}");
    for &n in sizes {
        let checked = fixtures::large(n);
        let mut bytes = 0;
        let mut all = Vec::with_capacity(samples);
        for _ in 0..samples {
            let (b, s) = sample(n, &checked, &dir).with_context(|| format!("{n} operations"))?;
            bytes = b;
            all.push(s);
        }
        let m = |f: fn(&Sample) -> f64| median(all.iter().map(f).collect());
        let line = format!(
            "{n}\t{bytes}\t{:.0}\t{:.0}\t{:.0}\t{:.1}\t{:.1}\n",
            m(|s| s.render_ms),
            m(|s| s.ready_ms),
            m(|s| s.first_render_ms),
            m(|s| s.redraw_fit_ms),
            m(|s| s.redraw_zoomed_ms),
        );
        print!("{line}");
        report.push_str(&line);
    }
    if !benching {
        println!(
            "(a smoke run under `cargo test`; `cargo bench -p quill-viz --bench browser` measures)"
        );
        return Ok(());
    }
    let path = dir.join("timings.txt");
    std::fs::write(&path, &report).with_context(|| format!("writing {}", path.display()))?;
    println!("written to {}", path.display());
    Ok(())
}
