//! `quill mr`: MapReduce as real processes.
//!
//! ```text
//! quill mr coordinator FILES... [--reduce 10] [--dir D] [--socket S] [--verbose]
//! quill mr worker --app NAME [--dir D] [--socket S] [--verbose]
//! quill mr worker --app external --mapper 'CMD ARGS' --reducer 'CMD ARGS' [--dir D]
//! quill mr sequential --app NAME FILES... [--dir D] [--out mr-out-0]
//! ```
//! Input files are relative to the job directory D (default `.`) unless absolute; outputs
//! (`mr-out-Y`) appear in D. The socket defaults to one per directory under the temporary
//! directory, so the coordinator and workers of one directory find each other without options.
//! `quill test mr --real` runs the lab's seven tests with these processes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use runtime::mr::{coordinator, rpc, worker};

#[derive(Debug, clap::Args)]
pub struct MrArgs {
    #[command(subcommand)]
    pub command: MrCommand,
}

/// Where the job lives.
#[derive(Debug, clap::Args)]
pub struct JobArgs {
    /// The job directory: inputs are relative to it, outputs are written in it.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// The coordinator's Unix socket (default: one per job directory under the temp directory).
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Log tasks as they are handed out, started and reported (on stderr).
    #[arg(long)]
    pub verbose: bool,
}

impl JobArgs {
    fn socket(&self) -> PathBuf {
        self.socket
            .clone()
            .unwrap_or_else(|| rpc::default_socket(&self.dir))
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum MrCommand {
    /// Serve a job: one map task per file, then the reduce tasks; exits 1 s after the job is done.
    Coordinator {
        #[arg(required = true)]
        files: Vec<String>,
        /// Number of reduce tasks.
        #[arg(long, default_value_t = mapreduce::N_REDUCE)]
        reduce: usize,
        #[command(flatten)]
        job: JobArgs,
    },
    /// Run tasks for the coordinator of the job until it is done.
    Worker {
        /// wc, indexer, mtiming, rtiming, jobcount, early_exit, crash, nocrash, or external.
        #[arg(long)]
        app: String,
        /// With `--app external`: the map program and its arguments (split on whitespace).
        #[arg(long)]
        mapper: Option<String>,
        /// With `--app external`: the reduce program and its arguments.
        #[arg(long)]
        reducer: Option<String>,
        #[command(flatten)]
        job: JobArgs,
    },
    /// The sequential reference (`mrsequential`): writes the expected output.
    Sequential {
        #[arg(long)]
        app: String,
        #[arg(long)]
        mapper: Option<String>,
        #[arg(long)]
        reducer: Option<String>,
        #[arg(required = true)]
        files: Vec<String>,
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Where to write the output (relative to the current directory).
        #[arg(long, default_value = "mr-out-0")]
        out: PathBuf,
    },
}

/// A single-threaded tokio runtime with a `LocalSet`: the cores are not `Send`, and one thread
/// is all a coordinator or worker needs.
pub fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let local = tokio::task::LocalSet::new();
    Ok(local.block_on(&rt, f))
}

pub fn run(args: MrArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        MrCommand::Coordinator { files, reduce, job } => {
            let socket = job.socket();
            let cfg = coordinator::CoordinatorConfig {
                files,
                n_reduce: reduce,
                dir: job.dir.clone(),
                socket: socket.clone(),
                verbose: job.verbose,
            };
            block_on(async move {
                tokio::select! {
                    r = coordinator::serve(cfg) => r.context("coordinator"),
                    _ = tokio::signal::ctrl_c() => {
                        let _ = std::fs::remove_file(&socket);
                        anyhow::bail!("coordinator interrupted")
                    }
                }
            })??;
            Ok(ExitCode::SUCCESS)
        }
        MrCommand::Worker {
            app,
            mapper,
            reducer,
            job,
        } => {
            let app = worker::app(&app, mapper.as_deref(), reducer.as_deref())?;
            let end = block_on(worker::run(app, job.dir.clone(), job.socket(), job.verbose))?
                .context("worker")?;
            if job.verbose {
                eprintln!("quill-mr worker {}: {end:?}", std::process::id());
            }
            Ok(ExitCode::SUCCESS)
        }
        MrCommand::Sequential {
            app,
            mapper,
            reducer,
            files,
            dir,
            out,
        } => {
            let app = worker::app(&app, mapper.as_deref(), reducer.as_deref())?;
            let bytes = block_on(worker::sequential(app, dir, files))?.context("sequential")?;
            std::fs::write(&out, bytes).with_context(|| format!("writing {}", out.display()))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `quill test mr --real [PATTERN]`: the lab's tests with real processes.
pub fn run_real_suite(pattern: Option<&str>, inputs: &std::path::Path) -> anyhow::Result<ExitCode> {
    use runtime::mr::suite;
    let inputs = suite::inputs_in(inputs).context("the MapReduce inputs (pass --inputs DIR)")?;
    let work = std::env::temp_dir().join(format!("quill-mr-suite-{}", std::process::id()));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let cfg = suite::SuiteConfig {
        exe: std::env::current_exe().context("finding the quill binary")?,
        inputs,
        work: work.clone(),
        verbose: true,
    };
    let select = |name: &str| pattern.is_none_or(|p| labs::runner::name_matches(p, name));
    let t0 = std::time::Instant::now();
    let reports = block_on(async {
        tokio::select! {
            r = suite::run(&cfg, &select) => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        }
    })?;
    // The suite's future is gone: its children were killed and its sockets removed.
    let Some(reports) = reports else {
        let _ = std::fs::remove_dir_all(&work);
        eprintln!("interrupted: processes killed, sockets and directories removed");
        return Ok(ExitCode::from(130));
    };
    let failed = reports.iter().filter(|r| r.failure.is_some()).count();
    for r in &reports {
        match &r.failure {
            None => println!("{:<20} PASS  {:6.1} s", r.name, r.wall.as_secs_f64()),
            Some(f) => println!(
                "{:<20} FAIL  {:6.1} s  {}",
                r.name,
                r.wall.as_secs_f64(),
                chain(f)
            ),
        }
        for n in &r.notes {
            println!("  {n}");
        }
        if let Some(k) = &r.kept {
            println!("  kept {}", k.display());
        }
    }
    println!(
        "{} tests: {} passed, {} failed, in {:.1} s wall",
        reports.len(),
        reports.len() - failed,
        failed,
        t0.elapsed().as_secs_f64()
    );
    if failed == 0 {
        let _ = std::fs::remove_dir_all(&work);
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}

/// An error with its sources, `what: why: ...`, as anyhow's `{:#}` prints a chain. Errors of
/// this workspace often repeat their source in their own message; a source whose message the
/// line already ends with is not printed twice.
fn chain(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    for source in std::iter::successors(e.source(), |s| s.source()) {
        let msg = source.to_string();
        if !line.ends_with(&msg) {
            line.push_str(": ");
            line.push_str(&msg);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::chain;

    /// An error over `source` that says `msg`, and `msg: source` when `repeats`, as many of the
    /// workspace's errors do.
    #[derive(Debug)]
    struct Layer {
        msg: &'static str,
        repeats: bool,
        source: Box<dyn std::error::Error + 'static>,
    }

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if self.repeats {
                write!(f, "{}: {}", self.msg, self.source)
            } else {
                f.write_str(self.msg)
            }
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&*self.source)
        }
    }

    #[test]
    fn a_chain_prints_each_source_once() {
        let io = std::io::Error::other("disk on fire");
        let middle = Layer {
            msg: "middle",
            repeats: true,
            source: Box::new(io),
        };
        let outer = Layer {
            msg: "outer",
            repeats: false,
            source: Box::new(middle),
        };
        assert_eq!(chain(&outer), "outer: middle: disk on fire");
    }
}
