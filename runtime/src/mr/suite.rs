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

use std::cell::Cell;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use mapreduce::{canonical, script};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

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

/// The outcome of one test.
#[derive(Clone, Debug)]
pub struct TestReport {
    pub name: &'static str,
    /// `None` if it passed.
    pub failure: Option<String>,
    pub wall: Duration,
    /// Observations worth reporting (e.g. whether the killed worker's task was re-issued).
    pub notes: Vec<String>,
    /// The directory kept for a failed test.
    pub kept: Option<PathBuf>,
}

/// The names of the tests, in the script's order (plus `faults`), as in the simulated catalog.
pub const TESTS: [&str; 8] = [
    "wc",
    "indexer",
    "map_parallelism",
    "reduce_parallelism",
    "job_count",
    "early_exit",
    "crash",
    "faults",
];

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
    fn new(cfg: &SuiteConfig, name: &str) -> std::io::Result<Job> {
        let dir = cfg.work.join(format!("mr-tmp-{name}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
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

    fn coordinator(&self, verbose: bool) -> std::io::Result<Child> {
        let mut args = vec!["coordinator"];
        args.extend(self.inputs.iter().map(String::as_str));
        if verbose {
            args.push("--verbose");
        }
        let mut c = self.command(&args);
        if verbose {
            c.stderr(Stdio::piped());
        }
        c.spawn()
    }

    fn worker(&self, app: &str, verbose: bool) -> std::io::Result<Child> {
        let mut args = vec!["worker", "--app", app];
        if verbose {
            args.push("--verbose");
        }
        let mut c = self.command(&args);
        if verbose {
            c.stderr(Stdio::piped());
        }
        c.spawn()
    }

    /// Waits until the coordinator's socket exists (instead of the script's `sleep 1`).
    async fn socket_up(&self) -> Result<(), String> {
        for _ in 0..200 {
            if self.socket.exists() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(format!(
            "the coordinator's socket {} did not appear within 5 s",
            self.socket.display()
        ))
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
async fn limited(child: &mut Child, limit: Duration, what: &str) -> Result<ExitStatus, String> {
    match tokio::time::timeout(limit, child.wait()).await {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(e)) => Err(format!("waiting for the {what}: {e}")),
        Err(_) => {
            let _ = child.kill().await;
            Err(format!(
                "the {what} ran longer than its limit of {} s and was killed",
                limit.as_secs()
            ))
        }
    }
}

/// Waits for every process; the first failure wins.
async fn wait_all(children: &mut [(Child, String)], limit: Duration) -> Result<(), String> {
    let waits = children
        .iter_mut()
        .map(|(c, what)| async move { limited(c, limit, what).await.map(|_| ()) });
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

async fn reference(cfg: &SuiteConfig, name: &str) -> Result<Vec<u8>, String> {
    let files = cfg.inputs.iter().map(|p| p.display().to_string()).collect();
    let a = app(name, None, None).map_err(|e| e.to_string())?;
    let out = sequential(a, cfg.work.clone(), files)
        .await
        .map_err(|e| format!("sequential {name}: {e}"))?;
    Ok(canonical([&out[..]]))
}

/// Runs the tests whose names `select` accepts, one after another, and reports each.
pub async fn run(cfg: &SuiteConfig, select: &dyn Fn(&str) -> bool) -> Vec<TestReport> {
    let mut reports = Vec::new();
    let refs = match (
        reference(cfg, "wc").await,
        reference(cfg, "indexer").await,
        reference(cfg, "nocrash").await,
    ) {
        (Ok(wc), Ok(indexer), Ok(nocrash)) => References {
            wc,
            indexer,
            nocrash,
        },
        (a, b, c) => {
            let e = [a.err(), b.err(), c.err()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>();
            reports.push(TestReport {
                name: "sequential",
                failure: Some(e.join("; ")),
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
            Err(e) => (Err(format!("making the test directory: {e}")), None),
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

async fn one(
    job: &Job,
    name: &str,
    refs: &References,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    if name == "faults" {
        faults(job, notes).await.map_err(|e| e.to_string())?;
        return script::compare("faults", &job.output(), &refs.wc).map_err(|e| e.to_string());
    }
    let t = script::lab_test(name).ok_or_else(|| format!("no test named {name}"))?;
    let limit = Duration::from_millis(t.limit_ms);
    match name {
        "early_exit" => {
            let (first, last) = early_exit(job, t.app, t.workers, limit).await?;
            script::check_early_exit(&first, &last).map_err(|e| e.to_string())
        }
        "crash" => {
            crash(job, t.app, t.workers, limit).await?;
            t.check(&job.output(), Some(&refs.nocrash))
                .map_err(|e| e.to_string())
        }
        _ => {
            plain_job(job, t.app, t.workers, limit).await?;
            let want = match t.reference {
                Some("wc") => Some(&refs.wc[..]),
                Some("indexer") => Some(&refs.indexer[..]),
                _ => None,
            };
            t.check(&job.output(), want).map_err(|e| e.to_string())
        }
    }
}

/// Coordinator plus `workers` workers of `app`; all must exit within `limit`.
async fn plain_job(job: &Job, app: &str, workers: usize, limit: Duration) -> Result<(), String> {
    let mut coord = job
        .coordinator(false)
        .map_err(|e| format!("starting the coordinator: {e}"))?;
    job.socket_up().await?;
    let mut children = Vec::new();
    for i in 0..workers {
        let c = job
            .worker(app, false)
            .map_err(|e| format!("starting worker {i}: {e}"))?;
        children.push((c, format!("worker {i}")));
    }
    limited(&mut coord, limit, "coordinator").await?;
    wait_all(&mut children, limit).await
}

/// Runs the job and returns the output when the first process exited (`wait -n`) and the final
/// output, for [`script::check_early_exit`].
async fn early_exit(
    job: &Job,
    app: &str,
    workers: usize,
    limit: Duration,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut coord = job
        .coordinator(false)
        .map_err(|e| format!("starting the coordinator: {e}"))?;
    job.socket_up().await?;
    let mut children = Vec::new();
    for i in 0..workers {
        children.push(
            job.worker(app, false)
                .map_err(|e| format!("starting worker {i}: {e}"))?,
        );
    }
    let first = {
        let mut waits: Vec<_> = std::iter::once(&mut coord)
            .chain(children.iter_mut())
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
        return Err(format!("no process exited within {} s", limit.as_secs()));
    }
    let at_first_exit = job.output();
    limited(&mut coord, limit, "coordinator").await?;
    let mut children: Vec<(Child, String)> = children
        .into_iter()
        .enumerate()
        .map(|(i, c)| (c, format!("worker {i}")))
        .collect();
    wait_all(&mut children, limit).await?;
    Ok((at_first_exit, job.output()))
}

/// One worker, plus `slots - 1` loops restarting a worker while the socket exists and the
/// coordinator has not finished (`mr-done`).
async fn crash(job: &Job, app: &str, slots: usize, limit: Duration) -> Result<(), String> {
    let mut coord = job
        .coordinator(false)
        .map_err(|e| format!("starting the coordinator: {e}"))?;
    job.socket_up().await?;
    let done = Rc::new(Cell::new(false));
    let mut first = job
        .worker(app, false)
        .map_err(|e| format!("starting a worker: {e}"))?;
    let looped = |done: Rc<Cell<bool>>| async move {
        while job.socket.exists() && !done.get() {
            let mut w = job
                .worker(app, false)
                .map_err(|e| format!("starting a worker: {e}"))?;
            limited(&mut w, limit, "crash worker").await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Ok::<(), String>(())
    };
    let coordinator = async {
        let r = limited(&mut coord, limit, "coordinator").await;
        done.set(true);
        r.map(|_| ())
    };
    // The first worker may crash; only its time limit matters.
    let first_worker = async {
        limited(&mut first, limit, "first crash worker")
            .await
            .map(|_| ())
    };
    let loops = futures_join_all((1..slots).map(|_| looped(done.clone())));
    let (c, f, l) = tokio::join!(coordinator, first_worker, loops);
    c.and(f).and(l.into_iter().collect())
}

/// wc with three workers; a worker is killed (SIGKILL) as soon as it reports having received
/// its first task, then the coordinator's socket is moved away for 2 s (connections fail with
/// "no such file") and put back.
async fn faults(job: &Job, notes: &mut Vec<String>) -> std::io::Result<()> {
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
    job.socket_up().await.map_err(std::io::Error::other)?;
    let mut victim = job.worker("wc", true)?;
    let mut others = Vec::new();
    for i in 0..2 {
        others.push((job.worker("wc", false)?, format!("worker {i}")));
    }
    let mut lines = BufReader::new(victim.stderr.take().expect("piped")).lines();
    let started = loop {
        match tokio::time::timeout(LIMIT, lines.next_line()).await {
            Ok(Ok(Some(l))) if l.contains(": start ") => break Some(l),
            Ok(Ok(Some(_))) => continue,
            _ => break None,
        }
    };
    victim.kill().await?;
    notes.push(format!(
        "killed a worker after `{}`",
        started.as_deref().unwrap_or("(it never started a task)")
    ));
    let away = job.socket.with_extension("away");
    std::fs::rename(&job.socket, &away)?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    std::fs::rename(&away, &job.socket)?;
    notes.push("the coordinator's socket was unreachable for 2 s".into());
    limited(&mut coord, LIMIT, "coordinator")
        .await
        .map_err(std::io::Error::other)?;
    wait_all(&mut others, LIMIT)
        .await
        .map_err(std::io::Error::other)?;
    let reissued = log_task.await.unwrap_or(0);
    notes.push(format!("{reissued} task(s) re-issued after 10 s"));
    Ok(())
}

/// The inputs as absolute paths, or an error naming the missing one.
pub fn inputs_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
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
        return Err(format!("no pg-*.txt in {}", dir.display()));
    }
    v.iter()
        .map(|p| std::fs::canonicalize(p).map_err(|e| format!("{}: {e}", p.display())))
        .collect()
}
