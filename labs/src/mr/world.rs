//! One MapReduce run in virtual time: the coordinator on host 0, worker slots on hosts 1.., the
//! shared simulated directory holding the eight books, and the checks made after every event.
//!
//! # Invariants, after every event
//! - A task is never reported done twice with different outputs (the coordinator's
//!   [`CoordEvent::Conflict`]).
//! - A task reported done has exactly the reported output in place: the digest a worker reports
//!   equals the digest of the final files (`mr-X-*` or `mr-out-Y`) in the directory at that time.
//! - A final file, once renamed into place, never changes ([`SimFs`]).
//! - No worker ends with an error (an unreadable input, a malformed intermediate file).
//!
//! The world also keeps what the script looks at: each process's liveness (for the early-exit
//! test's `wait -n`, the output at the first exit is kept) and the per-process time limit of
//! `timeout 45s` (a process past it is killed and the run fails).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use mapreduce::{
    apps, canonical, digest, intermediate_name, output_name, run_blocking, sequential, CoordEvent,
    Coordinator, TaskId, WorkerConfig, DIGEST_START, N_REDUCE,
};
use rand::Rng;
use sim::exec::{Executor, RunEnd};
use sim::{derive_rng, ChaCha8Rng, HostId, NetConfig, Sim, Time};

use super::fs::SimFs;
use super::host::{pid, CoordHost, Host, Note, Pids, WorkerHost, COORDINATOR};
use crate::runner::{RunStats, ScenarioOutcome};

/// How often a waiting script looks at a process, in virtual ms.
pub const POLL_MS: Time = 100;
/// The whole run's limit (the crash test's processes may take 120 s each).
pub const RUN_LIMIT: Time = 600_000;

/// Where the books are: `$QUILL_MR_INPUTS`, or `../shared/mapreduce/inputs` next to the checkout.
pub fn inputs_dir() -> PathBuf {
    std::env::var_os("QUILL_MR_INPUTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/mapreduce/inputs")
        })
}

type Books = Vec<(String, Arc<[u8]>)>;

/// The eight books (`pg-*.txt`), read once per process.
pub fn books() -> Result<&'static Books, String> {
    static BOOKS: OnceLock<Result<Books, String>> = OnceLock::new();
    BOOKS
        .get_or_init(|| {
            let dir = inputs_dir();
            let rd = std::fs::read_dir(&dir).map_err(|e| {
                format!(
                    "the MapReduce inputs {} are missing ({e}); set QUILL_MR_INPUTS",
                    dir.display()
                )
            })?;
            let mut names: Vec<String> = rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("pg-") && n.ends_with(".txt"))
                .collect();
            names.sort();
            if names.is_empty() {
                return Err(format!("no pg-*.txt in {}", dir.display()));
            }
            names
                .into_iter()
                .map(|n| {
                    let p = dir.join(&n);
                    std::fs::read(&p)
                        .map(|b| (n, Arc::from(b)))
                        .map_err(|e| format!("{}: {e}", p.display()))
                })
                .collect()
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The sorted sequential output of `app` on the books (`mrsequential` then `sort`), computed once.
pub fn reference(app: &'static str) -> Result<&'static [u8], String> {
    static REFS: OnceLock<std::sync::Mutex<Vec<(&'static str, &'static [u8])>>> = OnceLock::new();
    let refs = REFS.get_or_init(Default::default);
    if let Some((_, r)) = refs
        .lock()
        .expect("no panic holding it")
        .iter()
        .find(|(a, _)| *a == app)
    {
        return Ok(r);
    }
    let mut fs = SimFs::default();
    let books = books()?;
    for (n, b) in books {
        fs.insert(n, b.clone());
    }
    let a = apps::by_name(app).ok_or_else(|| format!("no application {app}"))?;
    let files = books.iter().map(|(n, _)| n.clone()).collect();
    let out = run_blocking(sequential(a, files), |need| match need {
        mapreduce::Need::ReadFile { path } => Some(fs.read(&path)),
        _ => None,
    })
    .map_err(|need| format!("the sequential {app} asked for {need:?}"))?
    .map_err(|e| format!("sequential {app}: {e}"))?;
    let sorted: &'static [u8] = Box::leak(canonical([&out[..]]).into_boxed_slice());
    refs.lock()
        .expect("no panic holding it")
        .push((app, sorted));
    Ok(sorted)
}

struct State {
    sim: Sim<Host>,
    fs: Rc<RefCell<SimFs>>,
    pids: Pids,
    files: Vec<String>,
    failure: Option<String>,
    /// When each host's current process started (for the time limits).
    started: Vec<Time>,
    alive: Vec<bool>,
    /// The sorted output when the first process exited, and when.
    first_exit: Option<(Time, Vec<u8>)>,
    completed: u64,
    crashes: u64,
    rng: ChaCha8Rng,
}

impl State {
    fn fail(&mut self, msg: String) {
        if self.failure.is_none() {
            self.sim.trace_line(|| format!("FAILED: {msg}"));
            self.failure = Some(msg);
        }
    }

    fn check_completed(&mut self, task: TaskId, reported: u64) {
        let fs = self.fs.borrow();
        let names: Vec<String> = match task {
            TaskId::Map(x) => (0..N_REDUCE).map(|y| intermediate_name(x, y)).collect(),
            TaskId::Reduce(y) => vec![output_name(y)],
        };
        let mut h = DIGEST_START;
        for n in &names {
            match fs.get(n) {
                Some(f) => h = digest(h, f),
                None => {
                    let msg = format!("{task} was reported done but {n} is not in place");
                    drop(fs);
                    return self.fail(msg);
                }
            }
        }
        if h != reported {
            drop(fs);
            self.fail(format!(
                "{task} was reported done with output {reported:016x}, but the files in place digest to {h:016x}"
            ));
        }
    }

    fn after_step(&mut self) {
        for n in self.sim.take_notes() {
            match n.note {
                Note::Coord(CoordEvent::Conflict { task, first, second }) => self.fail(format!(
                    "{task} was reported done twice with different outputs ({first:016x}, then {second:016x})"
                )),
                Note::Coord(CoordEvent::Completed { task, digest, .. }) => {
                    self.completed += 1;
                    self.check_completed(task, digest);
                }
                Note::Coord(_) => {}
                Note::WorkerEnded(Err(e)) => self.fail(format!("worker h{} failed: {e}", n.host)),
                Note::WorkerEnded(Ok(_)) => {}
                Note::Crashed => self.crashes += 1,
            }
        }
        let breaches = std::mem::take(&mut self.fs.borrow_mut().violations);
        if let Some(b) = breaches.into_iter().next() {
            self.fail(format!("a final file changed: {b}"));
        }
        for h in 0..self.alive.len() {
            let now_alive = self.sim.is_alive(h);
            if self.alive[h] && !now_alive && self.first_exit.is_none() {
                let out = canonical(self.fs.borrow().with_prefix("mr-out"));
                self.first_exit = Some((self.sim.now(), out));
            }
            self.alive[h] = now_alive;
        }
    }
}

/// One MapReduce run. Shared as `Rc<World>` by the scenario's tasks.
pub struct World {
    exec: Executor,
    st: RefCell<State>,
}

impl World {
    /// A run over the eight books with `slots` worker hosts, all linked to the coordinator.
    pub fn new(seed: u64, slots: usize, trace: bool) -> Result<Rc<World>, String> {
        let mut sim = Sim::new(seed, NetConfig::default());
        if trace {
            sim.enable_trace();
        }
        let fs = Rc::new(RefCell::new(SimFs::default()));
        let mut files = Vec::new();
        for (n, b) in books()? {
            fs.borrow_mut().insert(n, b.clone());
            files.push(n.clone());
        }
        let coord = sim.add_host();
        for _ in 0..slots {
            let w = sim.add_host();
            sim.set_link(w, coord, true);
            sim.set_link(coord, w, true);
        }
        let hosts = sim.host_count();
        let st = State {
            sim,
            fs,
            pids: Rc::new(RefCell::new(BTreeSet::new())),
            files,
            failure: None,
            started: vec![0; hosts],
            alive: vec![false; hosts],
            first_exit: None,
            completed: 0,
            crashes: 0,
            rng: derive_rng(seed, "scenario", 0),
        };
        Ok(Rc::new(World {
            exec: Executor::new(),
            st: RefCell::new(st),
        }))
    }

    pub fn now(&self) -> Time {
        self.exec.now()
    }

    pub fn sleep(&self, ms: Time) -> sim::exec::Sleep {
        self.exec.sleep(ms)
    }

    pub fn spawn(&self, f: impl Future<Output = ()> + 'static) {
        self.exec.spawn(f)
    }

    /// A draw in `0..n` from the scenario's own stream.
    pub fn rand(&self, n: u64) -> u64 {
        self.st.borrow_mut().rng.gen_range(0..n.max(1))
    }

    /// `mrcoordinator pg*.txt` with nReduce = 10.
    pub fn start_coordinator(&self) {
        let mut st = self.st.borrow_mut();
        let coord = Coordinator::new(st.files.clone(), N_REDUCE);
        st.started[COORDINATOR] = st.sim.now();
        st.sim
            .start(COORDINATOR, |_| Host::Coordinator(CoordHost::new(coord)));
        st.alive[COORDINATOR] = true;
    }

    /// `mrworker app.so` on worker slot `slot` (1-based host id); a new process with a new pid.
    pub fn start_worker(&self, slot: HostId, app: &str) {
        let mut st = self.st.borrow_mut();
        let st = &mut *st;
        let app = apps::by_name(app).expect("a lab application");
        let (fs, pids) = (st.fs.clone(), st.pids.clone());
        st.started[slot] = st.sim.now();
        st.sim.start(slot, |boot| {
            let p = pid(slot, boot.incarnation);
            pids.borrow_mut().insert(p);
            let w = mapreduce::worker(app, WorkerConfig::default());
            Host::Worker(WorkerHost::new(w, fs, pids, p, boot.rng))
        });
        st.alive[slot] = true;
    }

    pub fn alive(&self, host: HostId) -> bool {
        self.st.borrow().sim.is_alive(host)
    }

    /// Whether the coordinator has exited by itself (the script's `mr-done`).
    pub fn coordinator_exited(&self) -> bool {
        self.st.borrow().sim.has_exited(COORDINATOR)
    }

    /// Waits until the process on `host` is gone; past `limit` ms after its start it is killed
    /// (`timeout -k 2s`) and the run fails.
    pub async fn wait_exit(&self, host: HostId, limit: Time) -> Result<(), String> {
        loop {
            {
                let mut st = self.st.borrow_mut();
                if !st.sim.is_alive(host) {
                    return Ok(());
                }
                if st.sim.now() - st.started[host] > limit {
                    st.sim.crash(host);
                    st.pids.borrow_mut().retain(|p| *p / 1000 != host as u32);
                    return Err(format!(
                        "{} h{host} ran longer than its limit of {} s and was killed",
                        if host == COORDINATOR {
                            "the coordinator"
                        } else {
                            "a worker"
                        },
                        limit / 1000
                    ));
                }
            }
            self.sleep(POLL_MS).await;
        }
    }

    /// `sort mr-out* | grep .`
    pub fn output(&self) -> Vec<u8> {
        canonical(self.st.borrow().fs.borrow().with_prefix("mr-out"))
    }

    /// The output when the first process exited (`wait -n`), and when.
    pub fn first_exit(&self) -> Option<(Time, Vec<u8>)> {
        self.st.borrow().first_exit.clone()
    }

    /// How many times applications crashed their worker.
    pub fn crashes(&self) -> u64 {
        self.st.borrow().crashes
    }

    /// Runs the scenario body and packages the outcome.
    pub fn run<F: Future<Output = Result<(), String>>>(
        self: &Rc<Self>,
        body: F,
        peers: usize,
    ) -> ScenarioOutcome {
        let end = self.exec.run(&**self, body, RUN_LIMIT);
        let mut st = self.st.borrow_mut();
        let failure = match end {
            RunEnd::Done(Ok(())) => st.failure.clone(),
            RunEnd::Done(Err(msg)) => Some(st.failure.clone().unwrap_or(msg)),
            RunEnd::Halted => st.failure.clone(),
            RunEnd::TimedOut => Some(format!("the run took longer than {} s", RUN_LIMIT / 1000)),
            RunEnd::Stuck => {
                Some("the simulation ran out of events while the test was waiting".into())
            }
        };
        if let Some(f) = &failure {
            let f = f.clone();
            st.sim.trace_line(|| format!("FAILED: {f}"));
        }
        let stats = RunStats {
            virtual_ms: st.sim.now(),
            peers,
            rpcs: st.sim.stats().rpcs,
            bytes: st.sim.stats().bytes,
            commands: st.completed,
        };
        let trace = st.sim.tracing().then(|| st.sim.take_trace());
        ScenarioOutcome {
            failure,
            stats,
            warnings: Vec::new(),
            trace,
            artifacts: Vec::new(),
        }
    }
}

impl sim::exec::World for World {
    fn next_event_time(&self) -> Option<Time> {
        self.st.borrow().sim.next_event_time()
    }

    fn step(&self) {
        let mut st = self.st.borrow_mut();
        st.sim.step();
        st.after_step();
    }

    fn advance_to(&self, t: Time) {
        self.st.borrow_mut().sim.advance_to(t);
    }

    fn halted(&self) -> bool {
        self.st.borrow().failure.is_some()
    }
}
