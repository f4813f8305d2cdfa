//! `quill check [options] FILE...`: checks history files and prints a verdict line per file.
//!
//! Exit status: 0 when every file is linearizable, 1 when any is not, 2 when any is undecided (time limit)
//! and none is illegal, 3 for bad input or usage. A file that cannot be read is reported and the others are
//! still checked.

use std::io::IsTerminal;
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
use serde_json::json;

use super::EXIT_USAGE;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The model: register, cas-register, kv, mutex, multi-register, queue or set (default: the file's
    /// "model", or what its format implies).
    #[arg(long)]
    pub model: Option<String>,
    /// The input format: json, jsonl, jepsen-log, porcupine-kv or edn (default: detected from content).
    #[arg(long)]
    pub format: Option<String>,
    /// Give up after this many seconds per file; the verdict is then unknown.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Check the whole state as one partition (no P-compositionality).
    #[arg(long)]
    pub no_partition: bool,
    /// Print the results and their evidence as JSON.
    #[arg(long)]
    pub json: bool,
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
    let timeout = match args.timeout {
        Some(secs) if !(secs.is_finite() && secs >= 0.0) => {
            anyhow::bail!("--timeout must be a number of seconds")
        }
        Some(secs) => Some(Duration::from_secs_f64(secs)),
        None => None,
    };
    let options = Options {
        timeout,
        partition: !args.no_partition,
        ..Options::default()
    };
    let extra = Extra {
        init: args.init.as_deref().map(parse_init).transpose()?,
        explain: args.explain,
    };

    // A progress bar only for a person watching: not into a pipe or a file, and never mixed with JSON.
    let show_progress = !args.json && std::io::stderr().is_terminal();
    let mut outcomes = Vec::with_capacity(args.files.len());
    for file in &args.files {
        let check =
            |options: &Options| check_file(file, format, args.model.as_deref(), options, &extra);
        let outcome = match with_progress(show_progress, &options, check)
            .and_then(|checked| write_pictures(&args, file, &checked).map(|()| checked))
        {
            Ok(checked) => FileOutcome::Checked(Box::new(checked)),
            Err(err) => FileOutcome::Error(format!("{err:#}")),
        };
        if !args.json {
            print_line(file, &outcome);
        }
        outcomes.push(outcome);
    }
    let summary = Summary::of(&outcomes);
    if args.json {
        print_json(&args.files, &outcomes, &summary)?;
    } else if args.files.len() > 1 {
        println!("{summary}");
    }
    Ok(ExitCode::from(summary.exit_code()))
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
    if let Some(html) = &args.html {
        let path = target(html, "html")?;
        let page = viz::render_html(&checked.view, &checked.result);
        std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(svg) = &args.svg {
        let path = target(svg, "svg")?;
        let picture = viz::render_svg(&checked.view, &checked.result)
            .with_context(|| format!("drawing the SVG of {}", file.display()))?;
        std::fs::write(&path, picture).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn print_line(file: &Path, outcome: &FileOutcome) {
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
            println!(
                "{}: {}{extra}  ops={} partitions={} time={}",
                file.display(),
                r.verdict,
                c.view.operations.len(),
                r.partitions.len(),
                human_micros(r.micros),
            );
            // `--explain`: the minimal counterexample's story, under its file's verdict.
            for line in r.counterexample.iter().flat_map(|c| &c.story) {
                println!("    {line}");
            }
        }
        FileOutcome::Error(e) => eprintln!("error: {e}"),
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

    fn exit_code(&self) -> u8 {
        if self.errors > 0 {
            EXIT_USAGE
        } else if self.illegal > 0 {
            1
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

fn print_json(
    files: &[PathBuf],
    outcomes: &[FileOutcome],
    summary: &Summary,
) -> anyhow::Result<()> {
    let results: Vec<serde_json::Value> = files
        .iter()
        .zip(outcomes)
        .map(|(file, outcome)| match outcome {
            FileOutcome::Checked(c) => json!({
                "file": file.display().to_string(),
                "model": c.model,
                "verdict": c.result.verdict,
                "operations": c.view.operations.len(),
                "result": c.result,
                "history": c.view,
            }),
            FileOutcome::Error(e) => json!({ "file": file.display().to_string(), "error": e }),
        })
        .collect();
    let doc = json!({
        "version": 1,
        "files": results,
        "summary": {
            "linearizable": summary.ok,
            "illegal": summary.illegal,
            "unknown": summary.unknown,
            "errors": summary.errors,
            "exit_code": summary.exit_code(),
        }
    });
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    serde_json::to_writer(&mut lock, &doc)?;
    use std::io::Write;
    writeln!(lock)?;
    Ok(())
}
