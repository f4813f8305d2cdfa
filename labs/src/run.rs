//! [`Run`]: the one run loop every lab's world is built on.
//!
//! A run owns the virtual-time executor (the test script and its "goroutines"), the simulator, the
//! run's failure and warnings, the livelock guard, the scenario's random stream and the client
//! history recorder, and implements the executor's [`sim::exec::World`] once for every lab. A lab
//! plugs in through [`Lab`]: what to look at after every event ([`Lab::observe`]: the Raft
//! appliers and safety invariants, the kv clerks' returns, or both), how to rebuild a crashed host
//! ([`Lab::restart`]) and what to check at the end ([`Lab::conclude`]: the history). A lab's world
//! is then a thin facade: a struct holding a `Run<ItsLab>` (reachable through `Deref`) plus the
//! config.go helpers of that lab.
//!
//! # One step
//! After each simulator event, in this order: the livelock guard (more than
//! [`MAX_EVENTS_PER_MS`] events in one virtual millisecond fails the run, since virtual time cannot
//! see a message loop), then [`Lab::observe`] with the event's notes and the host that ran. The
//! first failure recorded wins and halts the run at once (the Go tester's `log.Fatalf`).
//!
//! # The end
//! [`Run::run`] drives the scenario body to its end, maps how it ended to a [`Failure`] (the body's
//! error, a recorded failure, the time limit, nothing left to happen), lets the lab conclude
//! (a history check may add a failure, warnings and artifacts), and packages a
//! [`ScenarioOutcome`] with the run's figures and trace.

use std::cell::RefCell;
use std::future::Future;

use checker::{History, Verdict};
use rand::Rng;
use sim::exec::{Executor, RunEnd, Sleep};
use sim::{derive_rng, ChaCha8Rng, HostId, NetConfig, Noted, Process, Sim, Stepped, Time};

use crate::failure::Failure;
use crate::fault::{Fault, Span};
use crate::history::Recorder;
use crate::runner::{Artifact, RunOptions, RunStats, ScenarioOutcome};

/// No correct run comes close to this many events in one virtual millisecond.
pub const MAX_EVENTS_PER_MS: u64 = 1_000_000;

/// The note type of a lab's hosts.
pub type NoteOf<L> = <<L as Lab>::Host as Process>::Note;

/// What a lab adds to the run loop. See the module documentation.
pub trait Lab: Sized + 'static {
    /// The processes of this lab's runs (an enum when servers and clerks differ).
    type Host: Process;
    /// The operations its client history records (`()` for a lab that records none).
    type Input: 'static;
    type Output: 'static;

    /// Called after every event with the notes it produced, in order, and the host whose handler
    /// ran (if any). An error fails the run.
    fn observe(
        core: &mut Core<Self>,
        stepped: Stepped,
        notes: Vec<Noted<NoteOf<Self>>>,
    ) -> Result<(), Failure>;

    /// Rebuilds host `host` from its persister ([`Fault::Restart`]).
    fn restart(core: &mut Core<Self>, host: HostId);

    /// At the end of the run: checks what was recorded. `failed` says whether the run already
    /// failed (then a lab attaches its evidence whatever it finds).
    fn conclude(
        core: &mut Core<Self>,
        history: History<Self::Input, Self::Output>,
        failed: bool,
    ) -> Conclusion {
        let _ = (core, history, failed);
        Conclusion::default()
    }

    /// The "commands" figure of the run's statistics (log indexes committed, operations run).
    fn commands(core: &Core<Self>) -> u64;
}

/// What [`Lab::conclude`] found.
#[derive(Default)]
pub struct Conclusion {
    pub failure: Option<Failure>,
    pub warnings: Vec<String>,
    pub artifacts: Vec<Artifact>,
    pub verdict: Option<Verdict>,
}

/// The state of one run that the lab's code may touch: the simulator, the lab's own state, the
/// history and the faults. Borrowed through [`Run::with`] by the facade, and handed to the
/// [`Lab`] hooks.
pub struct Core<L: Lab> {
    pub sim: Sim<L::Host>,
    pub lab: L,
    pub history: Recorder<L::Input, L::Output>,
    pub opts: RunOptions,
    /// The scenario's own random stream (label `"scenario"`), for the test script's choices.
    pub rng: ChaCha8Rng,
    servers: usize,
    connected: Vec<bool>,
    /// Bumped by every fault applied, so checks that depend on the fault state (Raft's liveness)
    /// recompute it only when it may have changed.
    fault_generation: u64,
    failure: Option<Failure>,
    warnings: Vec<String>,
    /// (time, events run at that time): the livelock guard.
    events_now: (Time, u64),
}

impl<L: Lab> Core<L> {
    /// How many servers the run has (hosts `0..servers`).
    pub fn servers(&self) -> usize {
        self.servers
    }

    /// Whether server `i` is connected in [`Fault::Connect`]'s sense.
    pub fn is_connected(&self, i: HostId) -> bool {
        self.connected[i]
    }

    /// How many faults were applied so far: the fault state can only have changed (apart from a
    /// crash at a crash point, which the crashed host's own step shows) when this has.
    pub fn fault_generation(&self) -> u64 {
        self.fault_generation
    }

    /// Records a failure; the first one wins and the run halts.
    pub fn fail(&mut self, failure: Failure) {
        if self.failure.is_none() {
            self.failure = Some(failure);
        }
    }

    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }

    /// A non-fatal observation (the lab prints "warning: ..." and passes).
    pub fn warn(&mut self, msg: impl Into<String>) {
        let msg = msg.into();
        self.sim.trace_line(|| format!("warning: {msg}"));
        self.warnings.push(msg);
    }

    /// Carries out `fault` (see [`crate::fault`] for the semantics), writing its trace line and its
    /// history annotation together.
    pub fn apply(&mut self, fault: Fault) {
        self.fault_generation += 1;
        let now = self.sim.now();
        let text = fault.to_string();
        self.sim.trace_line(|| text.clone());
        match fault.span() {
            Span::Instant => self.history.fault(now, text),
            Span::Begin(kind) => self.history.fault_begin(now, &kind, text),
            Span::End(kind) => self.history.fault_end(now, &kind),
            Span::EndAll(prefix) => self.history.fault_end_all(now, prefix),
            Span::None => {}
        }
        let n = self.servers;
        match fault {
            Fault::Partition(groups) => {
                let group_of = |i: HostId| groups.iter().position(|g| g.contains(&i));
                for i in 0..n {
                    for j in 0..n {
                        if i != j {
                            let same = group_of(i).is_some() && group_of(i) == group_of(j);
                            self.sim.set_link(i, j, same);
                        }
                    }
                }
                self.connected.iter_mut().for_each(|c| *c = true);
            }
            Fault::Heal => {
                for i in 0..n {
                    for j in 0..n {
                        if i != j {
                            self.sim.set_link(i, j, true);
                        }
                    }
                }
                self.connected.iter_mut().for_each(|c| *c = true);
            }
            Fault::Disconnect(i) => {
                self.connected[i] = false;
                for j in 0..n {
                    self.sim.set_link(i, j, false);
                    self.sim.set_link(j, i, false);
                }
            }
            Fault::Connect(i) => {
                self.connected[i] = true;
                for j in 0..n {
                    if self.connected[j] {
                        self.sim.set_link(i, j, true);
                        self.sim.set_link(j, i, true);
                    }
                }
            }
            Fault::Cut { from, to } => self.sim.set_link(from, to, false),
            Fault::Uncut { from, to } => self.sim.set_link(from, to, true),
            Fault::Crash(i) => self.sim.crash(i),
            Fault::CrashAfterPersist(i) => self.sim.crash_after_next_persist(i),
            Fault::Restart(i) => L::restart(self, i),
            Fault::Reliable(on) => self.sim.set_reliable(on),
            Fault::LongReordering(on) => self.sim.set_long_reordering(on),
            Fault::LongDelays(on) => self.sim.set_long_delays(on),
            Fault::Rule(rule) => self.sim.add_rule(rule),
            Fault::ClearRules(links) => self.sim.clear_rules(links),
        }
    }

    fn step(&mut self) {
        let Some(stepped) = self.sim.step() else {
            return;
        };
        if self.events_now.0 == stepped.time {
            self.events_now.1 += 1;
            if self.events_now.1 > MAX_EVENTS_PER_MS {
                self.fail(Failure::Livelock {
                    at: stepped.time,
                    events: MAX_EVENTS_PER_MS,
                });
                return;
            }
        } else {
            self.events_now = (stepped.time, 1);
        }
        let notes = self.sim.take_notes();
        if let Err(f) = L::observe(self, stepped, notes) {
            self.fail(f);
        }
        if let Some(f) = &self.failure {
            let f = f.to_string();
            self.sim.trace_line(|| format!("failure: {f}"));
        }
    }
}

/// One run of one scenario. See the module documentation.
pub struct Run<L: Lab> {
    exec: Executor,
    core: RefCell<Core<L>>,
}

/// How a run starts.
pub struct Setup<L> {
    pub seed: u64,
    pub opts: RunOptions,
    pub net: NetConfig,
    /// Hosts `0..servers` are the servers faults act on; the lab may add clerk hosts after them.
    pub servers: usize,
    pub lab: L,
}

impl<L: Lab> Run<L> {
    /// A run with `setup.servers` empty host slots (the facade starts and connects them).
    pub fn new(setup: Setup<L>) -> Run<L> {
        let Setup {
            seed,
            opts,
            net,
            servers,
            lab,
        } = setup;
        let mut sim = Sim::new(seed, net);
        if opts.trace {
            sim.enable_trace();
        }
        for _ in 0..servers {
            sim.add_host();
        }
        let mut history = Recorder::default();
        if !net.reliable {
            history.fault_begin(0, "net", Fault::Reliable(false).to_string());
        }
        Run {
            exec: Executor::new(),
            core: RefCell::new(Core {
                sim,
                lab,
                history,
                opts,
                rng: derive_rng(seed, "scenario", 0),
                servers,
                connected: vec![false; servers],
                fault_generation: 0,
                failure: None,
                warnings: Vec::new(),
                events_now: (0, 0),
            }),
        }
    }

    /// Runs `f` on the run's state. Never hold it across an `.await`.
    pub fn with<R>(&self, f: impl FnOnce(&mut Core<L>) -> R) -> R {
        f(&mut self.core.borrow_mut())
    }

    /// Virtual time.
    pub fn now(&self) -> Time {
        self.exec.now()
    }

    /// `time.Sleep` in virtual time.
    pub fn sleep(&self, ms: Time) -> Sleep {
        self.exec.sleep(ms)
    }

    /// `go f()`.
    pub fn spawn(&self, f: impl Future<Output = ()> + 'static) {
        self.exec.spawn(f)
    }

    /// A number in `0..n` from the scenario's random stream (the Go tests' `rand.Int() % n`).
    pub fn rand(&self, n: u64) -> u64 {
        self.with(|c| c.rng.gen_range(0..n))
    }

    /// Records a failure from a task that cannot return it (a "goroutine"); the run stops.
    pub fn fail(&self, failure: impl Into<Failure>) {
        let failure = failure.into();
        self.with(|c| c.fail(failure));
    }

    /// A non-fatal observation.
    pub fn warn(&self, msg: impl Into<String>) {
        let msg = msg.into();
        self.with(|c| c.warn(msg));
    }

    /// Carries out a fault ([`Core::apply`]).
    pub fn apply(&self, fault: Fault) {
        self.with(|c| c.apply(fault));
    }

    /// Appends a line to the trace (when tracing).
    pub fn trace(&self, line: impl FnOnce() -> String) {
        self.with(|c| c.sim.trace_line(line));
    }

    pub fn options(&self) -> RunOptions {
        self.with(|c| c.opts.clone())
    }

    /// Runs the scenario body to its end (or `limit` ms of virtual time), concludes, and packages
    /// the outcome.
    pub fn run<E, F>(&self, body: F, limit: Time) -> ScenarioOutcome
    where
        E: Into<Failure>,
        F: Future<Output = Result<(), E>>,
    {
        let end = self.exec.run(self, body, limit);
        let mut core = self.core.borrow_mut();
        let core = &mut *core;
        let recorded = core.failure.take();
        let failure = match end {
            RunEnd::Done(Ok(())) => recorded,
            RunEnd::Done(Err(e)) => Some(recorded.unwrap_or_else(|| e.into())),
            RunEnd::Halted => recorded,
            RunEnd::TimedOut => Some(Failure::TimeLimit { limit_ms: limit }),
            RunEnd::Stuck => Some(Failure::Stuck),
        };
        let now = core.sim.now();
        let commands = L::commands(core);
        let history = std::mem::take(&mut core.history).finish(now);
        let concluded = L::conclude(core, history, failure.is_some());
        let (failure, also) = match (concluded.failure, failure) {
            (Some(found), Some(before)) => (Some(found), vec![before]),
            (Some(found), None) => (Some(found), Vec::new()),
            (None, before) => (before, Vec::new()),
        };
        if let Some(f) = &failure {
            let f = f.to_string();
            core.sim.trace_line(|| format!("FAILED: {f}"));
        }
        let mut warnings = std::mem::take(&mut core.warnings);
        warnings.extend(concluded.warnings);
        let stats = RunStats {
            virtual_ms: now,
            peers: core.servers,
            rpcs: core.sim.stats().rpcs,
            bytes: core.sim.stats().bytes,
            commands,
        };
        let trace = core.sim.tracing().then(|| core.sim.take_trace());
        ScenarioOutcome {
            failure,
            also,
            stats,
            warnings,
            trace,
            artifacts: concluded.artifacts,
            verdict: concluded.verdict,
        }
    }
}

impl<L: Lab> sim::exec::World for Run<L> {
    fn next_event_time(&self) -> Option<Time> {
        self.core.borrow().sim.next_event_time()
    }

    fn step(&self) {
        self.core.borrow_mut().step();
    }

    fn advance_to(&self, t: Time) {
        self.core.borrow_mut().sim.advance_to(t);
    }

    fn halted(&self) -> bool {
        self.core.borrow().failure.is_some()
    }
}
