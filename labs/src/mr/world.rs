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
use std::ops::Deref;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use mapreduce::{
    apps, canonical, digest, intermediate_name, output_name, run_blocking, sequential, CoordEvent,
    Coordinator, TaskId, WorkerConfig, DIGEST_START, N_REDUCE,
};
use sim::{HostId, NetConfig, Noted, Stepped, Time};

use super::fs::SimFs;
use super::host::{pid, CoordHost, Host, Note, Pids, WorkerHost, COORDINATOR};
use crate::failure::Failure;
use crate::mutants::RunMutant;
use crate::run::{Core, Lab, Run, Setup};
use crate::runner::{RunOptions, ScenarioOutcome};

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

/// Why a run could not be set up: the books or a sequential reference are missing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("the MapReduce inputs {dir} are missing ({message}); set QUILL_MR_INPUTS")]
    NoInputs { dir: PathBuf, message: String },
    #[error("no pg-*.txt in {dir}")]
    NoBooks { dir: PathBuf },
    #[error("{path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("no application {app}")]
    NoApp { app: &'static str },
    #[error("the sequential {app}: {message}")]
    Sequential { app: &'static str, message: String },
}

impl From<SetupError> for Failure {
    fn from(e: SetupError) -> Failure {
        Failure::assertion(e.to_string())
    }
}

/// The eight books (`pg-*.txt`), read once per process.
pub fn books() -> Result<&'static Books, SetupError> {
    static BOOKS: OnceLock<Result<Books, SetupError>> = OnceLock::new();
    BOOKS
        .get_or_init(|| {
            let dir = inputs_dir();
            let rd = std::fs::read_dir(&dir).map_err(|e| SetupError::NoInputs {
                dir: dir.clone(),
                message: e.to_string(),
            })?;
            let mut names: Vec<String> = rd
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("pg-") && n.ends_with(".txt"))
                .collect();
            names.sort();
            if names.is_empty() {
                return Err(SetupError::NoBooks { dir });
            }
            names
                .into_iter()
                .map(|n| {
                    let path = dir.join(&n);
                    std::fs::read(&path)
                        .map(|b| (n, Arc::from(b)))
                        .map_err(|e| SetupError::Read {
                            path,
                            message: e.to_string(),
                        })
                })
                .collect()
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The sorted sequential output of `app` on the books (`mrsequential` then `sort`), computed
/// once per process (the wc reference is the costliest step of the whole catalog).
pub fn reference(app: &'static str) -> Result<&'static [u8], SetupError> {
    type Refs = std::sync::Mutex<Vec<(&'static str, &'static [u8])>>;
    static REFS: OnceLock<Refs> = OnceLock::new();
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
    let a = apps::by_name(app).ok_or(SetupError::NoApp { app })?;
    let files = books.iter().map(|(n, _)| n.clone()).collect();
    let out = run_blocking(sequential(a, files), |need| match need {
        mapreduce::Need::ReadFile { path } => Some(fs.read(&path)),
        _ => None,
    })
    .map_err(|need| SetupError::Sequential {
        app,
        message: format!("asked for {need:?}"),
    })?
    .map_err(|e| SetupError::Sequential {
        app,
        message: e.to_string(),
    })?;
    let sorted: &'static [u8] = Box::leak(canonical([&out[..]]).into_boxed_slice());
    refs.lock()
        .expect("no panic holding it")
        .push((app, sorted));
    Ok(sorted)
}

/// What the MapReduce tester keeps beside the simulator.
pub struct MrLab {
    fs: Rc<RefCell<SimFs>>,
    pids: Pids,
    files: Vec<String>,
    /// The application each worker slot last ran (for [`Lab::restart`]).
    apps: Vec<Option<&'static str>>,
    /// When each host's current process started (for the time limits).
    started: Vec<Time>,
    alive: Vec<bool>,
    /// The sorted output when the first process exited, and when.
    first_exit: Option<(Time, Vec<u8>)>,
    completed: u64,
    crashes: u64,
}

impl MrLab {
    fn check_completed(&self, task: TaskId, reported: u64) -> Result<(), Failure> {
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
                    return Err(Failure::invariant(format!(
                        "{task} was reported done but {n} is not in place"
                    )))
                }
            }
        }
        if h != reported {
            return Err(Failure::invariant(format!(
                "{task} was reported done with output {reported:016x}, but the files in place digest to {h:016x}"
            )));
        }
        Ok(())
    }
}

impl Lab for MrLab {
    type Host = Host;
    type Input = ();
    type Output = ();

    fn observe(core: &mut Core<Self>, _: Stepped, notes: Vec<Noted<Note>>) -> Result<(), Failure> {
        for n in notes {
            match n.note {
                Note::Coord(CoordEvent::Conflict { task, first, second }) => {
                    return Err(Failure::invariant(format!(
                        "{task} was reported done twice with different outputs ({first:016x}, then {second:016x})"
                    )))
                }
                Note::Coord(CoordEvent::Completed { task, digest, .. }) => {
                    core.lab.completed += 1;
                    core.lab.check_completed(task, digest)?;
                }
                Note::Coord(_) => {}
                Note::WorkerEnded(Err(e)) => {
                    return Err(Failure::assertion(format!("worker h{} failed: {e}", n.host)))
                }
                Note::WorkerEnded(Ok(_)) => {}
                Note::Crashed => core.lab.crashes += 1,
            }
        }
        let breach = core.lab.fs.borrow_mut().violations.drain(..).next();
        if let Some(b) = breach {
            return Err(Failure::invariant(format!("a final file changed: {b}")));
        }
        for h in 0..core.lab.alive.len() {
            let now_alive = core.sim.is_alive(h);
            if core.lab.alive[h] && !now_alive && core.lab.first_exit.is_none() {
                let out = canonical(core.lab.fs.borrow().with_prefix("mr-out"));
                core.lab.first_exit = Some((core.sim.now(), out));
            }
            core.lab.alive[h] = now_alive;
        }
        Ok(())
    }

    /// A restarted worker slot runs its last application again, as a new process.
    fn restart(core: &mut Core<Self>, host: HostId) {
        if host == COORDINATOR {
            let mutation = core.opts.mutant.mr();
            let coord = Coordinator::with_mutation(core.lab.files.clone(), N_REDUCE, mutation);
            core.lab.started[host] = core.sim.now();
            core.sim
                .start(host, |_| Host::Coordinator(CoordHost::new(coord)));
            core.lab.alive[host] = true;
            return;
        }
        let Some(name) = core.lab.apps[host] else {
            return;
        };
        let app = apps::by_name(name).expect("a lab application");
        let (fs, pids) = (core.lab.fs.clone(), core.lab.pids.clone());
        let config = WorkerConfig {
            mutation: core.opts.mutant.mr(),
            ..WorkerConfig::default()
        };
        core.lab.started[host] = core.sim.now();
        core.sim.start(host, |boot| {
            let p = pid(host, boot.incarnation);
            pids.borrow_mut().insert(p);
            let w = mapreduce::worker(app, config);
            Host::Worker(Box::new(WorkerHost::new(w, fs, pids, p, boot.rng)))
        });
        core.lab.alive[host] = true;
    }

    fn commands(core: &Core<Self>) -> u64 {
        core.lab.completed
    }
}

/// One MapReduce run. Shared as `Rc<World>` by the scenario's tasks; the run's own helpers
/// (`sleep`, `spawn`, `rand`, `fail`) come through `Deref`.
pub struct World {
    run: Run<MrLab>,
}

impl Deref for World {
    type Target = Run<MrLab>;
    fn deref(&self) -> &Run<MrLab> {
        &self.run
    }
}

impl World {
    /// A run over the eight books with `slots` worker hosts, all linked to the coordinator.
    pub fn new(seed: u64, opts: &RunOptions, slots: usize) -> Result<Rc<World>, SetupError> {
        let fs = Rc::new(RefCell::new(SimFs::default()));
        let mut files = Vec::new();
        for (n, b) in books()? {
            fs.borrow_mut().insert(n, b.clone());
            files.push(n.clone());
        }
        let hosts = 1 + slots;
        let lab = MrLab {
            fs,
            pids: Rc::new(RefCell::new(BTreeSet::new())),
            files,
            apps: vec![None; hosts],
            started: vec![0; hosts],
            alive: vec![false; hosts],
            first_exit: None,
            completed: 0,
            crashes: 0,
        };
        let run = Run::new(Setup {
            seed,
            opts: opts.clone(),
            net: NetConfig::default(),
            servers: hosts,
            lab,
        });
        run.with(|core| {
            for w in 1..hosts {
                core.sim.set_link(w, COORDINATOR, true);
                core.sim.set_link(COORDINATOR, w, true);
            }
        });
        Ok(Rc::new(World { run }))
    }

    /// `mrcoordinator pg*.txt` with nReduce = 10.
    pub fn start_coordinator(&self) {
        self.with(|core| MrLab::restart(core, COORDINATOR));
    }

    /// `mrworker app.so` on worker slot `slot` (host id 1..): a new process with a new pid.
    pub fn start_worker(&self, slot: HostId, app: &'static str) {
        self.with(|core| {
            core.lab.apps[slot] = Some(app);
            MrLab::restart(core, slot);
        });
    }

    pub fn alive(&self, host: HostId) -> bool {
        self.with(|c| c.sim.is_alive(host))
    }

    /// Whether the coordinator has exited by itself (the script's `mr-done`).
    pub fn coordinator_exited(&self) -> bool {
        self.with(|c| c.sim.has_exited(COORDINATOR))
    }

    /// Waits until the process on `host` is gone; past `limit` ms after its start it is killed
    /// (`timeout -k 2s`) and the run fails.
    pub async fn wait_exit(&self, host: HostId, limit: Time) -> Result<(), Failure> {
        loop {
            let over = self.with(|c| {
                if !c.sim.is_alive(host) {
                    return Some(false);
                }
                if c.sim.now() - c.lab.started[host] > limit {
                    c.sim.crash(host);
                    c.lab.pids.borrow_mut().retain(|p| *p / 1000 != host as u32);
                    return Some(true);
                }
                None
            });
            match over {
                Some(false) => return Ok(()),
                Some(true) => {
                    return Err(Failure::assertion(format!(
                        "{} h{host} ran longer than its limit of {} s and was killed",
                        if host == COORDINATOR {
                            "the coordinator"
                        } else {
                            "a worker"
                        },
                        limit / 1000
                    )))
                }
                None => self.sleep(POLL_MS).await,
            }
        }
    }

    /// `sort mr-out* | grep .`
    pub fn output(&self) -> Vec<u8> {
        self.with(|c| canonical(c.lab.fs.borrow().with_prefix("mr-out")))
    }

    /// The output when the first process exited (`wait -n`), and when.
    pub fn first_exit(&self) -> Option<(Time, Vec<u8>)> {
        self.with(|c| c.lab.first_exit.clone())
    }

    /// How many times applications crashed their worker.
    pub fn crashes(&self) -> u64 {
        self.with(|c| c.lab.crashes)
    }
}

/// Runs `body` on a fresh world with `slots` worker slots: the shape of every mr scenario.
pub fn run_world<F, Fut>(seed: u64, opts: &RunOptions, slots: usize, body: F) -> ScenarioOutcome
where
    F: FnOnce(Rc<World>) -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
{
    match World::new(seed, opts, slots) {
        Ok(w) => {
            let fut = body(w.clone());
            w.run.run(fut, RUN_LIMIT)
        }
        Err(e) => ScenarioOutcome {
            failure: Some(e.into()),
            ..ScenarioOutcome::default()
        },
    }
}
