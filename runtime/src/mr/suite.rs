//! The lab's `test-mr.sh` with real processes: `quill test mr --real`.
//!
//! Each test runs in a fresh directory of its own with its own socket, starts `quill mr
//! coordinator` and `quill mr worker` as separate OS processes (the binary is passed in, normally
//! the running `quill`), and checks what the script checks. The seven tests (workers,
//! application, time limit, assertion) are [`mapreduce::script`]'s, shared with the simulator;
//! this file only drives them, plus one test of its own:
//!
//! | test | workers | app | passes when |
//! |---|---|---|---|
//! | faults | 3 | wc | equals the sequential output, though a worker was killed with SIGKILL right after it received a task and the socket was unreachable for 2 s |
//!
//! Every process runs under a time limit (45 s, 120 s in the crash test), after which it is
//! killed and the test fails. Instead of the script's `sleep 1` before starting workers, the
//! suite waits for the socket to appear. Children are spawned with `kill_on_drop`, and a [`Job`]
//! removes its socket (and, unless its test failed, its directory) when dropped, so cancelling the
//! suite's future (Ctrl-C in `quill`) or a failure leaves no process and no socket behind.
//!
//! A test that fails reports a [`SuiteError`] naming the process, file or limit; rendering it
//! (with its sources) is the caller's job.

use std::cell::Cell;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use mapreduce::{canonical, script};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::error::{Process, SuiteError};
use super::worker::{app, sequential};

/// Each process's time limit (the script's `timeout -k 2s 45s`), for the `faults` test.
pub const LIMIT: Duration = Duration::from_millis(script::LIMIT_MS);

/// What the suite needs to know.
#[derive(Clone, Debug)]
pub struct SuiteConfig {
    /// The `quill` binary to run as coordinator and workers.
    pub exe: PathBuf,
    /// The input files (absolute paths, so every directory sees the same names).
    pub inputs: Vec<PathBuf>,
    /// Where the tests' directories are made.
    pub work: PathBuf,
    /// Print progress lines like the script's.
    pub verbose: bool,
}

/// How long the suite waits for the coordinator's socket to appear.
const SOCKET_WAIT: Duration = Duration::from_secs(5);

/// The outcome of one test.
#[derive(Debug)]
pub struct TestReport {
    pub name: &'static str,
    /// `None` if it passed; otherwise why, typed (the caller renders it with its sources).
    pub failure: Option<SuiteError>,
    pub wall: Duration,
    /// Observations worth reporting (e.g. whether the killed worker's task was re-issued).
    pub notes: Vec<String>,
    /// The directory kept for a failed test.
    pub kept: Option<PathBuf>,
}

/// The suite's own test, run after the script's.
pub const FAULTS: &str = "faults";

/// The names of the tests: [`script::TESTS`] in the script's order, then [`FAULTS`].
pub const TESTS: [&str; script::TESTS.len() + 1] = {
    let mut names = [FAULTS; script::TESTS.len() + 1];
    let mut i = 0;
    while i < script::TESTS.len() {
        names[i] = script::TESTS[i].name;
        i += 1;
    }
    names
};

/// One test's directory, socket and processes.
pub struct Job {
    exe: PathBuf,
    inputs: Vec<String>,
    pub dir: PathBuf,
    pub socket: PathBuf,
    keep: Cell<bool>,
}

impl Drop for Job {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_file(self.socket.with_extension("away"));
        if !self.keep.get() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Job {
    fn new(cfg: &SuiteConfig, name: &str) -> Result<Job, SuiteError> {
        let dir = cfg.work.join(format!("mr-tmp-{name}"));
        let fresh = || {
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            std::fs::create_dir_all(&dir)
        };
        fresh().map_err(|source| SuiteError::TestDir {
            dir: dir.clone(),
            source,
        })?;
        let socket = super::rpc::default_socket(&dir);
        let _ = std::fs::remove_file(&socket);
        Ok(Job {
            exe: cfg.exe.clone(),
            inputs: cfg.inputs.iter().map(|p| p.display().to_string()).collect(),
            dir,
            socket,
            keep: Cell::new(false),
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.arg("mr")
            .args(args)
            .arg("--dir")
            .arg(&self.dir)
            .arg("--socket")
            .arg(&self.socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        c
    }

    fn coordinator(&self, verbose: bool) -> Result<Child, SuiteError> {
        let mut args = vec!["coordinator"];
        args.extend(self.inputs.iter().map(String::as_str));
        if verbose {
            args.push("--verbose");
        }
        let mut c = self.command(&args);
        if verbose {
            c.stderr(Stdio::piped());
        }
        c.spawn().map_err(SuiteError::start(Process::Coordinator))
    }

    /// Starts a worker of `app`, named `process` in errors.
    fn worker(&self, process: Process, app: &str, verbose: bool) -> Result<Child, SuiteError> {
        let mut args = vec!["worker", "--app", app];
        if verbose {
            args.push("--verbose");
        }
        let mut c = self.command(&args);
        if verbose {
            c.stderr(Stdio::piped());
        }
        c.spawn().map_err(SuiteError::start(process))
    }

    /// Waits until the coordinator's socket exists (instead of the script's `sleep 1`).
    async fn socket_up(&self) -> Result<(), SuiteError> {
        const POLL: Duration = Duration::from_millis(25);
        for _ in 0..SOCKET_WAIT.as_millis() / POLL.as_millis() {
            if self.socket.exists() {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
        Err(SuiteError::NoSocket {
            socket: self.socket.clone(),
            waited: SOCKET_WAIT,
        })
    }

    /// `sort mr-out* | grep .`
    pub fn output(&self) -> Vec<u8> {
        let mut files: Vec<Vec<u8>> = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            let mut names: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("mr-out"))
                })
                .collect();
            names.sort();
            for n in names {
                files.push(std::fs::read(n).unwrap_or_default());
            }
        }
        canonical(files.iter().map(Vec::as_slice))
    }
}

/// Waits for `child` at most `limit`; kills it at the limit. `Err` names the process.
async fn limited(
    child: &mut Child,
    limit: Duration,
    process: Process,
) -> Result<ExitStatus, SuiteError> {
    match tokio::time::timeout(limit, child.wait()).await {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(source)) => Err(SuiteError::Wait { process, source }),
        Err(_) => {
            let _ = child.kill().await;
            Err(SuiteError::OverLimit { process, limit })
        }
    }
}

/// Waits for every process; the first failure (in the order given) wins.
async fn wait_all(children: &mut [(Child, Process)], limit: Duration) -> Result<(), SuiteError> {
    let waits = children
        .iter_mut()
        .map(|(c, process)| async move { limited(c, limit, *process).await.map(|_| ()) });
    let results = futures_join_all(waits).await;
    results.into_iter().collect()
}

/// `join_all` without the futures crate: polls every future to completion concurrently.
async fn futures_join_all<F: Future>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut outs = Vec::new();
    let mut pending: Vec<Option<std::pin::Pin<Box<F>>>> =
        futs.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    for r in results {
        outs.push(r.expect("every future finished"));
    }
    outs
}

/// References computed once per suite.
struct References {
    wc: Vec<u8>,
    indexer: Vec<u8>,
    nocrash: Vec<u8>,
}

impl References {
    /// The sequential outputs the tests compare with; the first that cannot be computed fails.
    async fn new(cfg: &SuiteConfig) -> Result<References, SuiteError> {
        Ok(References {
            wc: reference(cfg, "wc").await?,
            indexer: reference(cfg, "indexer").await?,
            nocrash: reference(cfg, "nocrash").await?,
        })
    }
}

async fn reference(cfg: &SuiteConfig, name: &'static str) -> Result<Vec<u8>, SuiteError> {
    let fail = |source| SuiteError::Reference { app: name, source };
    let files = cfg.inputs.iter().map(|p| p.display().to_string()).collect();
    let a = app(name, None, None).map_err(fail)?;
    let out = sequential(a, cfg.work.clone(), files).await.map_err(fail)?;
    Ok(canonical([&out[..]]))
}

/// Runs the tests whose names `select` accepts, one after another, and reports each.
pub async fn run(cfg: &SuiteConfig, select: &dyn Fn(&str) -> bool) -> Vec<TestReport> {
    let mut reports = Vec::new();
    let refs = match References::new(cfg).await {
        Ok(refs) => refs,
        Err(e) => {
            reports.push(TestReport {
                name: "sequential",
                failure: Some(e),
                wall: Duration::ZERO,
                notes: Vec::new(),
                kept: None,
            });
            return reports;
        }
    };
    for name in TESTS.into_iter().filter(|n| select(n)) {
        if cfg.verbose {
            eprintln!("*** Starting {name} test.");
        }
        let t0 = Instant::now();
        let mut notes = Vec::new();
        let (result, kept) = match Job::new(cfg, name) {
            Err(e) => (Err(e), None),
            Ok(job) => {
                let r = one(&job, name, &refs, &mut notes).await;
                let kept = if r.is_err() {
                    job.keep.set(true);
                    Some(job.dir.clone())
                } else {
                    None
                };
                (r, kept)
            }
        };
        let wall = t0.elapsed();
        if cfg.verbose {
            match &result {
                Ok(()) => eprintln!("--- {name} test: PASS ({:.1} s)", wall.as_secs_f64()),
                Err(e) => eprintln!("--- {name} test: FAIL: {e}"),
            }
        }
        reports.push(TestReport {
            name,
            failure: result.err(),
            wall,
            notes,
            kept,
        });
    }
    reports
}

/// Runs the test `name` of [`TESTS`]: the script's test of that name, else [`FAULTS`].
async fn one(
    job: &Job,
    name: &str,
    refs: &References,
    notes: &mut Vec<String>,
) -> Result<(), SuiteError> {
    let Some(t) = script::lab_test(name) else {
        debug_assert_eq!(name, FAULTS, "TESTS holds the script's tests and faults");
        faults(job, notes).await?;
        return Ok(script::compare(FAULTS, &job.output(), &refs.wc)?);
    };
    let limit = Duration::from_millis(t.limit_ms);
    match name {
        "early_exit" => {
            let (first, last) = early_exit(job, t.app, t.workers, limit).await?;
            Ok(script::check_early_exit(&first, &last)?)
        }
        "crash" => {
            crash(job, t.app, t.workers, limit).await?;
            Ok(t.check(&job.output(), Some(&refs.nocrash))?)
        }
        _ => {
            plain_job(job, t.app, t.workers, limit).await?;
            let want = match t.reference {
                Some("wc") => Some(&refs.wc[..]),
                Some("indexer") => Some(&refs.indexer[..]),
                _ => None,
            };
            Ok(t.check(&job.output(), want)?)
        }
    }
}

/// Starts workers `0..workers` of `app`, each paired with its name for [`wait_all`].
fn workers(job: &Job, app: &str, workers: usize) -> Result<Vec<(Child, Process)>, SuiteError> {
    (0..workers)
        .map(Process::Worker)
        .map(|p| Ok((job.worker(p, app, false)?, p)))
        .collect()
}

/// Coordinator plus `workers` workers of `app`; all must exit within `limit`.
async fn plain_job(
    job: &Job,
    app: &str,
    workers: usize,
    limit: Duration,
) -> Result<(), SuiteError> {
    let mut coord = job.coordinator(false)?;
    job.socket_up().await?;
    let mut children = self::workers(job, app, workers)?;
    limited(&mut coord, limit, Process::Coordinator).await?;
    wait_all(&mut children, limit).await
}

/// Runs the job and returns the output when the first process exited (`wait -n`) and the final
/// output, for [`script::check_early_exit`].
async fn early_exit(
    job: &Job,
    app: &str,
    workers: usize,
    limit: Duration,
) -> Result<(Vec<u8>, Vec<u8>), SuiteError> {
    let mut coord = job.coordinator(false)?;
    job.socket_up().await?;
    let mut children = self::workers(job, app, workers)?;
    let first = {
        let mut waits: Vec<_> = std::iter::once(&mut coord)
            .chain(children.iter_mut().map(|(c, _)| c))
            .map(|c| Box::pin(c.wait()))
            .collect();
        let any = std::future::poll_fn(|cx| {
            for w in waits.iter_mut() {
                if w.as_mut().poll(cx).is_ready() {
                    return std::task::Poll::Ready(());
                }
            }
            std::task::Poll::Pending
        });
        tokio::time::timeout(limit, any).await
    };
    if first.is_err() {
        return Err(SuiteError::NoExit { limit });
    }
    let at_first_exit = job.output();
    limited(&mut coord, limit, Process::Coordinator).await?;
    wait_all(&mut children, limit).await?;
    Ok((at_first_exit, job.output()))
}

/// One worker, plus `slots - 1` loops restarting a worker while the socket exists and the
/// coordinator has not finished (`mr-done`).
async fn crash(job: &Job, app: &str, slots: usize, limit: Duration) -> Result<(), SuiteError> {
    let mut coord = job.coordinator(false)?;
    job.socket_up().await?;
    let done = Rc::new(Cell::new(false));
    let first_slot = Process::CrashWorker { slot: 0 };
    let mut first = job.worker(first_slot, app, false)?;
    let looped = |slot: usize, done: Rc<Cell<bool>>| async move {
        let process = Process::CrashWorker { slot };
        while job.socket.exists() && !done.get() {
            let mut w = job.worker(process, app, false)?;
            limited(&mut w, limit, process).await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Ok::<(), SuiteError>(())
    };
    let coordinator = async {
        let r = limited(&mut coord, limit, Process::Coordinator).await;
        done.set(true);
        r.map(|_| ())
    };
    // The first worker may crash; only its time limit matters.
    let first_worker = async { limited(&mut first, limit, first_slot).await.map(|_| ()) };
    let loops = futures_join_all((1..slots).map(|slot| looped(slot, done.clone())));
    let (c, f, l) = tokio::join!(coordinator, first_worker, loops);
    c.and(f).and(l.into_iter().collect())
}

/// wc with three workers; a worker is killed (SIGKILL) as soon as it reports having received
/// its first task, then the coordinator's socket is moved away for 2 s (connections fail with
/// "no such file") and put back.
async fn faults(job: &Job, notes: &mut Vec<String>) -> Result<(), SuiteError> {
    let mut coord = job.coordinator(true)?;
    let coord_log = coord.stderr.take().expect("piped");
    let log_task = tokio::task::spawn_local(async move {
        let mut lines = BufReader::new(coord_log).lines();
        let mut reissued = 0;
        while let Ok(Some(l)) = lines.next_line().await {
            if l.contains("reissue: true") {
                reissued += 1;
            }
        }
        reissued
    });
    job.socket_up().await?;
    let mut victim = job.worker(Process::Victim, "wc", true)?;
    let mut others = workers(job, "wc", 2)?;
    let mut lines = BufReader::new(victim.stderr.take().expect("piped")).lines();
    let started = loop {
        match tokio::time::timeout(LIMIT, lines.next_line()).await {
            Ok(Ok(Some(l))) if l.contains(": start ") => break Some(l),
            Ok(Ok(Some(_))) => continue,
            _ => break None,
        }
    };
    victim.kill().await.map_err(|source| SuiteError::Kill {
        process: Process::Victim,
        source,
    })?;
    notes.push(format!(
        "killed a worker after `{}`",
        started.as_deref().unwrap_or("(it never started a task)")
    ));
    let away = job.socket.with_extension("away");
    let rename = |from: &Path, to: &Path| {
        std::fs::rename(from, to).map_err(|source| SuiteError::MoveSocket {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            source,
        })
    };
    rename(&job.socket, &away)?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    rename(&away, &job.socket)?;
    notes.push("the coordinator's socket was unreachable for 2 s".into());
    limited(&mut coord, LIMIT, Process::Coordinator).await?;
    wait_all(&mut others, LIMIT).await?;
    let reissued = log_task.await.unwrap_or(0);
    notes.push(format!("{reissued} task(s) re-issued after 10 s"));
    Ok(())
}

/// The inputs as absolute paths, or an error naming the missing one.
pub fn inputs_in(dir: &Path) -> Result<Vec<PathBuf>, SuiteError> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| SuiteError::ReadInputs {
            dir: dir.to_path_buf(),
            source,
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy().starts_with("pg-") && n.to_string_lossy().ends_with(".txt")
            })
        })
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(SuiteError::NoInputs {
            dir: dir.to_path_buf(),
        });
    }
    v.iter()
        .map(|p| {
            std::fs::canonicalize(p).map_err(|source| SuiteError::ResolveInput {
                path: p.clone(),
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn the_suite_runs_the_scripts_tests_in_order_then_faults() {
        let script: Vec<&str> = script::TESTS.iter().map(|t| t.name).collect();
        assert_eq!(&TESTS[..script.len()], &script[..]);
        assert_eq!(TESTS[script.len()..], [FAULTS]);
        assert!(
            script::lab_test(FAULTS).is_none(),
            "faults is the suite's own test"
        );
    }

    #[test]
    fn a_missing_input_directory_is_named_and_its_io_error_kept_as_source() {
        let dir = std::env::temp_dir().join(format!("quill-suite-nodir-{}", std::process::id()));
        let e = inputs_in(&dir).unwrap_err();
        assert!(
            matches!(&e, SuiteError::ReadInputs { dir: d, .. } if *d == dir),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!("reading the input directory {}", dir.display())
        );
        let io = e.source().and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(
            io.map(std::io::Error::kind),
            Some(std::io::ErrorKind::NotFound)
        );
    }

    #[test]
    fn a_directory_without_inputs_says_so() {
        let dir = std::env::temp_dir().join(format!("quill-suite-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), "not an input").unwrap();
        let e = inputs_in(&dir).unwrap_err();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(e.to_string(), format!("no pg-*.txt in {}", dir.display()));
    }

    #[test]
    fn process_errors_name_the_process_and_the_limit() {
        let over = SuiteError::OverLimit {
            process: Process::CrashWorker { slot: 0 },
            limit: Duration::from_secs(120),
        };
        assert_eq!(
            over.to_string(),
            "the first crash worker ran longer than its limit of 120 s and was killed"
        );
        let start = SuiteError::start(Process::Worker(2))(std::io::Error::other("no exe"));
        assert_eq!(start.to_string(), "starting the worker 2");
        assert_eq!(
            start.source().map(ToString::to_string).as_deref(),
            Some("no exe")
        );
    }

    #[test]
    fn a_failed_assertion_reads_as_the_scripts_words() {
        let e = SuiteError::from(script::TestFailure::MapNotParallel);
        assert_eq!(
            e.to_string(),
            "map workers did not run in parallel: no line `^parallel.* 2`"
        );
    }
}
