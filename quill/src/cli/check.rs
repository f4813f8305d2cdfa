//! `quill check [options] FILE...`: checks history files and prints a verdict line per file.
//!
//! Exit status: 0 when every file is linearizable, 1 when any is not, 3 for bad input or usage, 2 when any
//! is undecided (time limit) and none is illegal or unreadable. A file that cannot be read is reported and
//! the others are still checked; when files disagree, "not linearizable" wins over "unreadable", which wins
//! over "unknown" ([`Summary::exit_code`] says why), and every file's result is printed whatever the status.
//!
//! A reader that stops reading early (`quill check ... | head -1`) is not an error: once standard output
//! is a closed pipe, nothing more is printed, every file is still checked, and the exit status is the
//! verdict's, as if the output had been read. (Restoring SIGPIPE's default action instead would need
//! `unsafe` and would end the process with status 141, hiding the verdict from `set -o pipefail`.)

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use checker::dynamic::{check_raw, check_raw_explained, Checked};
use checker::explain::ExplainOptions;
use checker::formats::{read_path, Format};
use checker::{Options, Progress, Verdict};
use indicatif::{ProgressBar, ProgressStyle};

use super::EXIT_USAGE;

mod json;

use json::print_json;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The model: register, cas-register, kv, mutex, multi-register, queue or set (default: the file's
    /// "model", or what its format implies).
    #[arg(long)]
    pub model: Option<String>,
    /// The input format: json, jsonl, jepsen-log, porcupine-kv or edn (default: detected from content).
    #[arg(long)]
    pub format: Option<String>,
    /// Give up after this many seconds per file (0 to 1000000; 0 decides only what needs no search); the
    /// verdict is then unknown.
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<f64>,
    /// Check the whole state as one partition (no P-compositionality).
    #[arg(long)]
    pub no_partition: bool,
    /// Print the results and their evidence as JSON.
    #[arg(long)]
    pub json: bool,
    /// With --json: leave each file's `history` out of the document (on a big file it is larger than the
    /// input).
    #[arg(long, requires = "json")]
    pub no_history: bool,
    /// The model's initial value, as JSON or EDN (`0`, `'{"x":0}'`, `'{:x 0}'`); overrides the file's.
    #[arg(long, value_name = "VALUE")]
    pub init: Option<String>,
    /// For a history that is not linearizable, find a minimal sub-history that is not, and tell why.
    #[arg(long)]
    pub explain: bool,
    /// Write the timeline as a self-contained HTML page here (with several files: a directory, one page
    /// per file).
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Write the timeline as an SVG here (with several files: a directory, one SVG per file).
    #[arg(long, value_name = "PATH")]
    pub svg: Option<PathBuf>,
    /// Leave out every measured time (the `micros` fields of `--json`, the times the HTML page
    /// embeds, `time=` in the verdict line), so that the same history and options give the same bytes.
    #[arg(long)]
    pub no_timings: bool,
    /// History files (`-`: standard input).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// What became of one file.
enum FileOutcome {
    Checked(Box<Checked>),
    Error(String),
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let format: Option<Format> = args
        .format
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("--format")?;
    if let Some(model) = &args.model {
        if !checker::dynamic::MODELS.contains(&model.as_str()) {
            anyhow::bail!(
                "unknown model `{model}` (known: {})",
                checker::dynamic::MODELS.join(", ")
            );
        }
    }
    check_picture_paths(&args)?;
    // `parse_timeout` has bounded the number, so the conversion cannot overflow.
    let timeout = args.timeout.map(Duration::from_secs_f64);
    let options = Options {
        timeout,
        partition: !args.no_partition,
        // The state after each step of the evidence is shown only in the JSON and the pictures; the
        // verdict line never needs it, and on a big passing history it is a string per operation.
        // The JSON describes the states itself, a partition at a time, as it writes them.
        describe_states: args.html.is_some() || args.svg.is_some(),
        ..Options::default()
    };
    let extra = Extra {
        init: args.init.as_deref().map(parse_init).transpose()?,
        explain: args.explain,
    };

    // A progress bar only for a person watching: not into a pipe or a file, and never mixed with JSON.
    let show_progress = !args.json && std::io::stderr().is_terminal();
    let mut out = Out::new();
    let mut outcomes = Vec::with_capacity(args.files.len());
    for file in &args.files {
        let check =
            |options: &Options| check_file(file, format, args.model.as_deref(), options, &extra);
        let outcome = match with_progress(show_progress, &options, check)
            .map(|checked| without_timings(checked, args.no_timings))
            .and_then(|checked| write_pictures(&args, file, &checked).map(|()| checked))
        {
            Ok(checked) => FileOutcome::Checked(Box::new(checked)),
            Err(err) => FileOutcome::Error(format!("{err:#}")),
        };
        if !args.json {
            print_line(&mut out, file, &outcome, args.no_timings)?;
        }
        outcomes.push(outcome);
    }
    let summary = Summary::of(&outcomes);
    if args.json {
        print_json(
            &mut out,
            &args.files,
            &outcomes,
            &summary,
            !args.no_history,
            args.no_timings,
            options.describe_states,
        )?;
    } else if args.files.len() > 1 {
        out.write(|w| writeln!(w, "{summary}"))?;
    }
    Ok(ExitCode::from(summary.exit_code()))
}

/// The longest `--timeout`, in seconds (about 11.6 days): longer is surely a typo, and far longer would
/// overflow a `Duration`.
const MAX_TIMEOUT_SECS: f64 = 1e6;

/// `--timeout SECS`: a finite number of seconds from 0 to [`MAX_TIMEOUT_SECS`]. Zero is allowed: it asks
/// for no search at all, which the tests of the "unknown" status use.
fn parse_timeout(text: &str) -> anyhow::Result<f64> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("`{text}` is not a number of seconds"))?;
    if !(0.0..=MAX_TIMEOUT_SECS).contains(&secs) {
        anyhow::bail!(
            "`{text}` is out of range: give a number of seconds from 0 to {MAX_TIMEOUT_SECS}"
        );
    }
    // `-0` passes the range check; give the conversion a plain zero.
    Ok(if secs == 0.0 { 0.0 } else { secs })
}

/// With several input files `--html` and `--svg` name directories, one picture per file. A path that is
/// an existing file, or that ends like a picture (`one.html`), is surely meant as one file: an error
/// before anything is checked, rather than a directory of that name.
fn check_picture_paths(args: &CheckArgs) -> anyhow::Result<()> {
    if args.files.len() < 2 {
        return Ok(());
    }
    for (flag, path) in [("--html", &args.html), ("--svg", &args.svg)] {
        let Some(path) = path else { continue };
        let looks_like_file = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "html" | "htm" | "svg"));
        if path.is_file() || (!path.is_dir() && looks_like_file) {
            anyhow::bail!(
                "{flag} {}: with {} input files {flag} names a directory (one picture per file); \
                 give a directory, or check one file at a time",
                path.display(),
                args.files.len()
            );
        }
    }
    Ok(())
}

/// With `--no-timings`, the measured times set to zero, so that nothing drawn from them (the HTML page's
/// figures) differs between runs; `--json` leaves the fields out altogether ([`print_json`]).
fn without_timings(mut checked: Checked, no_timings: bool) -> Checked {
    if no_timings {
        checked.result.micros = 0;
        for partition in &mut checked.result.partitions {
            partition.micros = 0;
        }
    }
    checked
}

/// Runs `check` with the options' progress counters watched from another thread, which draws a bar on
/// standard error (partitions decided, elapsed time, states explored) once the check has taken a second.
fn with_progress<T>(show: bool, options: &Options, check: impl FnOnce(&Options) -> T) -> T {
    if !show {
        return check(options);
    }
    let progress = Arc::new(Progress::default());
    let options = Options {
        progress: Some(Arc::clone(&progress)),
        ..options.clone()
    };
    let (done, finished) = mpsc::channel::<()>();
    let watcher = std::thread::spawn(move || watch(&progress, &finished));
    let result = check(&options);
    // The watcher ends when the sender is dropped, whether or not the bar was ever drawn.
    drop(done);
    let _ = watcher.join();
    result
}

fn watch(progress: &Progress, finished: &mpsc::Receiver<()>) {
    // Most checks are over within a second: they get no bar at all.
    if finished.recv_timeout(Duration::from_secs(1)) != Err(RecvTimeoutError::Timeout) {
        return;
    }
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} partitions decided, {msg} states explored",
    )
    .expect("a valid progress template");
    let bar = ProgressBar::new(0)
        .with_style(style)
        .with_elapsed(Duration::from_secs(1));
    loop {
        bar.set_length(progress.partitions_total.load(Ordering::Relaxed) as u64);
        bar.set_position(progress.partitions_decided.load(Ordering::Relaxed) as u64);
        bar.set_message(progress.states_explored.load(Ordering::Relaxed).to_string());
        bar.tick();
        if finished.recv_timeout(Duration::from_millis(100)) != Err(RecvTimeoutError::Timeout) {
            break;
        }
    }
    bar.finish_and_clear();
}

/// What `--init` and `--explain` add to a check.
struct Extra {
    init: Option<serde_json::Value>,
    explain: bool,
}

/// `--init VALUE`: JSON, or else EDN (so that `{:x 0}` and a bare word work too).
fn parse_init(text: &str) -> anyhow::Result<serde_json::Value> {
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    checker::formats::edn::value_to_json(text)
        .with_context(|| format!("--init {text}: neither JSON nor EDN"))
}

fn check_file(
    file: &Path,
    format: Option<Format>,
    model: Option<&str>,
    options: &Options,
    extra: &Extra,
) -> anyhow::Result<Checked> {
    // `-`: standard input, read as a stream like a file.
    let raw = if file.as_os_str() == "-" {
        checker::formats::read_reader(std::io::stdin(), format)
    } else {
        read_path(file, format)
    };
    let mut raw = raw.with_context(|| file.display().to_string())?;
    if let Some(init) = &extra.init {
        raw.init = Some(init.clone());
    }
    let checked = if extra.explain {
        check_raw_explained(raw, model, options, &ExplainOptions::default())
    } else {
        check_raw(raw, model, options)
    };
    checked.with_context(|| file.display().to_string())
}

/// Writes the HTML page and the SVG asked for. With several input files the paths are directories.
fn write_pictures(args: &CheckArgs, file: &Path, checked: &Checked) -> anyhow::Result<()> {
    let target = |path: &Path, extension: &str| -> anyhow::Result<PathBuf> {
        if args.files.len() == 1 {
            return Ok(path.to_path_buf());
        }
        std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
        let stem = file
            .file_stem()
            .unwrap_or(file.as_os_str())
            .to_string_lossy();
        Ok(path.join(format!("{stem}.{extension}")))
    };
    if args.html.is_none() && args.svg.is_none() {
        return Ok(());
    }
    // Described only now, to be drawn: a check that draws nothing never builds it.
    let view = checked.view();
    if let Some(html) = &args.html {
        let path = target(html, "html")?;
        let page = viz::render_html(&view, &checked.result);
        std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(svg) = &args.svg {
        let path = target(svg, "svg")?;
        let picture = viz::render_svg(&view, &checked.result)
            .with_context(|| format!("drawing the SVG of {}", file.display()))?;
        std::fs::write(&path, picture).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn print_line(
    out: &mut Out,
    file: &Path,
    outcome: &FileOutcome,
    no_timings: bool,
) -> anyhow::Result<()> {
    match outcome {
        FileOutcome::Checked(c) => {
            let r = &c.result;
            let extra = match r.verdict {
                Verdict::Unknown => format!(
                    " ({} of {} partitions decided)",
                    r.decided(),
                    r.partitions.len()
                ),
                _ => String::new(),
            };
            let time = if no_timings {
                String::new()
            } else {
                format!(" time={}", human_micros(r.micros))
            };
            out.write(|w| {
                writeln!(
                    w,
                    "{}: {}{extra}  ops={} partitions={}{time}",
                    file.display(),
                    r.verdict,
                    c.operations,
                    r.partitions.len(),
                )
            })?;
            // `--explain`: the minimal counterexample's story, under its file's verdict.
            for line in r.counterexample.iter().flat_map(|c| &c.story) {
                out.write(|w| writeln!(w, "    {line}"))?;
            }
        }
        FileOutcome::Error(e) => eprintln!("error: {e}"),
    }
    Ok(())
}

/// Standard output, locked once for the whole run. A write to a pipe whose reader has gone
/// (`BrokenPipe`) closes it quietly: nothing more is written and the run goes on (see the module's
/// documentation). Any other failure to write is an error.
struct Out {
    lock: std::io::StdoutLock<'static>,
    closed: bool,
}

impl Out {
    fn new() -> Self {
        Out {
            lock: std::io::stdout().lock(),
            closed: false,
        }
    }

    fn write(
        &mut self,
        print: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        if self.closed {
            return Ok(());
        }
        match print(&mut self.lock).and_then(|()| self.lock.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            written => written.context("writing to standard output"),
        }
    }
}

fn human_micros(us: u64) -> String {
    match us {
        0..=999 => format!("{us}µs"),
        1_000..=999_999 => format!("{:.1}ms", us as f64 / 1e3),
        _ => format!("{:.2}s", us as f64 / 1e6),
    }
}

struct Summary {
    ok: usize,
    illegal: usize,
    unknown: usize,
    errors: usize,
}

impl Summary {
    fn of(outcomes: &[FileOutcome]) -> Self {
        let mut s = Summary {
            ok: 0,
            illegal: 0,
            unknown: 0,
            errors: 0,
        };
        for o in outcomes {
            match o {
                FileOutcome::Checked(c) => match c.result.verdict {
                    Verdict::Ok => s.ok += 1,
                    Verdict::Illegal => s.illegal += 1,
                    Verdict::Unknown => s.unknown += 1,
                },
                FileOutcome::Error(_) => s.errors += 1,
            }
        }
        s
    }

    /// The status of a run whose files may disagree. "Not linearizable" comes first: it is a finding about
    /// the system, and a CI gate that looks for status 1 must never miss it because another file was bad
    /// input (the unreadable files are still reported, on standard error and in the summary line).
    /// "Unreadable" comes before "unknown": a file that was not read at all is worse news than one that
    /// ran out of time, and a gate that retries on 2 with a longer time limit would retry in vain.
    fn exit_code(&self) -> u8 {
        if self.illegal > 0 {
            1
        } else if self.errors > 0 {
            EXIT_USAGE
        } else if self.unknown > 0 {
            2
        } else {
            0
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} files: {} linearizable, {} not linearizable, {} unknown, {} unreadable",
            self.ok + self.illegal + self.unknown + self.errors,
            self.ok,
            self.illegal,
            self.unknown,
            self.errors
        )
    }
}
