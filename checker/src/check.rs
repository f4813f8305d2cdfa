//! Checking a whole history: partitioning, checking partitions in parallel, and assembling the evidence.
//!
//! Partitions are checked on rayon's pool, in rounds of growing step budgets: in each round every partition
//! still undecided runs its search for that many steps. After a round in which some partition was found
//! illegal, the others stop (unless [`Options::all_partitions`] asks for every one), and are reported as
//! undecided. So the whole result, not only the verdict, is a function of the history and the options,
//! whatever the number of threads and however they are scheduled: each search is sequential and counted
//! in steps, and which partitions are decided, and which illegal ones are reported, is settled at round
//! boundaries. Only a timeout or a cancel, which are measured in time, can make two runs differ. The early
//! stop loses at most one round's work: each round's budget is four times the last.
//!
//! A partition whose search goes on for long, over operations the model declares independent of each
//! other, gets a second search beside it (the backjumping probe of `search::probe`), on half the step
//! budget: a linearization either of them finds ends the check, and only the search's exhaustion proves
//! one impossible.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::error::HistoryError;
use crate::history::{History, Operation};
use crate::model::{Model, NondeterministicModel, Partition, PowerSet};
use crate::search::{witness, Limits, Outcome, Search};
use crate::verdict::{
    CheckResult, PartialLinearization, PartitionResult, Step, Undecided, Verdict,
};

/// A handle that cancels a running check from another thread; the check then returns `Unknown`.
#[derive(Debug, Clone, Default)]
pub struct CancelHandle(Arc<AtomicBool>);

impl CancelHandle {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counters a running check updates, for a progress display on another thread.
#[derive(Debug, Default)]
pub struct Progress {
    pub partitions_total: AtomicUsize,
    pub partitions_decided: AtomicUsize,
    pub states_explored: AtomicU64,
}

/// How to check.
#[derive(Debug, Clone)]
pub struct Options {
    /// Give up after this long; undecided partitions are `Unknown`.
    pub timeout: Option<Duration>,
    /// Give up on a partition after it explored this many configurations (it is `Unknown`, with
    /// [`Undecided::Budget`]). Unlike `timeout`, the same history gives the same verdict under
    /// the same budget on any machine and at any load, which a reproducible test harness needs.
    pub max_configurations: Option<u64>,
    /// Use the model's partitioning (P-compositionality); false checks the whole state as one partition.
    pub partition: bool,
    /// Keep checking the other partitions after one is found illegal.
    pub all_partitions: bool,
    /// How many longest partial linearizations to keep per illegal partition.
    pub max_partials: usize,
    /// Describe the model state after every step of the evidence ([`Step::state`]). A caller that
    /// only needs the verdict (a stress harness checking thousands of histories, whose states may
    /// be megabytes each) turns it off: the steps then carry empty states.
    pub describe_states: bool,
    pub cancel: Option<CancelHandle>,
    pub progress: Option<Arc<Progress>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: None,
            max_configurations: None,
            partition: true,
            all_partitions: false,
            max_partials: 4,
            describe_states: true,
            cancel: None,
            progress: None,
        }
    }
}

/// Checks `history` against a deterministic model.
pub fn check<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    options: &Options,
) -> Result<CheckResult, HistoryError> {
    history.validate()?;
    let started = Instant::now();
    let partitions = if options.partition {
        model.partition(&history.operations)
    } else {
        vec![Partition::whole(history.len())]
    };
    let local_progress = Arc::new(Progress::default());
    let progress = options.progress.as_ref().unwrap_or(&local_progress);
    progress
        .partitions_total
        .store(partitions.len(), Ordering::Relaxed);
    let limits = Limits {
        deadline: options.timeout.map(|t| started + t),
        cancel: options.cancel.as_ref().map(|c| &*c.0),
        explored: &progress.states_explored,
        max_partials: options.max_partials,
    };

    let mut jobs: Vec<Job<'_, M>> = partitions
        .iter()
        .enumerate()
        .map(|(index, p)| Job::new(model, history, index, p, options.describe_states))
        .collect();
    // Large partitions first within a round, so the longest searches start early on the pool.
    jobs.sort_by_key(|job| std::cmp::Reverse(job.global.len()));
    // Rounds of growing step budgets: every partition gets its turn, so an illegal partition that is quick
    // to refute is found while a hard one is still being searched, and stops it at the round's end.
    let mut budget = FIRST_BUDGET;
    loop {
        let active: Vec<&mut Job<'_, M>> =
            jobs.iter_mut().filter(|job| job.result.is_none()).collect();
        if active.is_empty() {
            break;
        }
        active.into_par_iter().for_each(|job| {
            match options.max_configurations {
                Some(max) if job.explored() >= max => job.give_up(Undecided::Budget),
                Some(max) => job.advance(budget.min(max - job.explored()), &limits),
                None => job.advance(budget, &limits),
            }
            if job
                .result
                .as_ref()
                .is_some_and(|r| r.verdict != Verdict::Unknown)
            {
                progress.partitions_decided.fetch_add(1, Ordering::Relaxed);
            }
        });
        let illegal = jobs
            .iter()
            .any(|job| job.result.as_ref().map(|r| r.verdict) == Some(Verdict::Illegal));
        if illegal && !options.all_partitions {
            for job in jobs.iter_mut().filter(|job| job.result.is_none()) {
                job.stop();
            }
            break;
        }
        budget = budget.saturating_mul(4);
    }
    // Back in the order the model gave the partitions.
    jobs.sort_by_key(|job| job.index);
    let results: Vec<PartitionResult> = jobs.into_iter().filter_map(|job| job.result).collect();
    Ok(CheckResult {
        verdict: Verdict::combine(results.iter().map(|p| p.verdict)),
        partitions: results,
        micros: started.elapsed().as_micros() as u64,
        counterexample: None,
    })
}

/// The step budget of the first round. It is small because an illegal partition stops the others only
/// at a round's end: the others then search at most four times as many steps as it took.
const FIRST_BUDGET: u64 = 1 << 5;

/// Configurations a search explores per operation before the probe joins it: by then it is
/// backtracking far more than a history that is easy for it does.
const PROBE_AFTER_PER_OPERATION: u64 = 4;

/// Where a partition's backjumping probe stands.
enum Probe<'h, M: Model> {
    NotYet,
    Running(Box<Search<'h, M>>),
    /// It ran out of choices without a linearization, after exploring this many configurations.
    GaveUp(u64),
}

impl<M: Model> Probe<'_, M> {
    fn explored(&self) -> u64 {
        match self {
            Probe::Running(probe) => probe.explored,
            Probe::GaveUp(explored) => *explored,
            _ => 0,
        }
    }
}

/// One partition being checked.
struct Job<'h, M: Model> {
    model: &'h M,
    history: &'h History<M::Input, M::Output>,
    /// The partition's position in the model's partitioning.
    index: usize,
    partition: &'h Partition,
    /// The history indices of the operations searched (the partition's, less the failed ones).
    global: Vec<usize>,
    search: Search<'h, M>,
    /// The backjumping probe run beside a search in trouble, while it may still help.
    probe: Probe<'h, M>,
    micros: u64,
    result: Option<PartitionResult>,
    /// [`Options::describe_states`].
    describe: bool,
}

impl<'h, M: Model> Job<'h, M> {
    fn new(
        model: &'h M,
        history: &'h History<M::Input, M::Output>,
        index: usize,
        partition: &'h Partition,
        describe: bool,
    ) -> Self {
        // Failed operations had no effect: they take no part in the search.
        let global: Vec<usize> = partition
            .operations
            .iter()
            .copied()
            .filter(|&i| !history.operations[i].failed)
            .collect();
        let ops = global.iter().map(|&i| &history.operations[i]).collect();
        Job {
            model,
            history,
            index,
            partition,
            probe: Probe::NotYet,
            search: Search::new(model, ops),
            global,
            micros: 0,
            result: None,
            describe,
        }
    }

    /// Configurations explored so far by the search and its probe.
    fn explored(&self) -> u64 {
        self.search.explored + self.probe.explored()
    }

    /// Ends the partition undecided.
    fn give_up(&mut self, why: Undecided) {
        self.search.release();
        if let Probe::Running(probe) = &mut self.probe {
            probe.release();
        }
        let mut result = self.finish(Outcome::Stopped);
        result.undecided = Some(why);
        self.result = Some(result);
    }

    /// Runs the search for up to `budget` steps and records the result if it ended.
    fn advance(&mut self, budget: u64, limits: &Limits<'_>) {
        let started = Instant::now();
        let cancelled = limits.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
        let outcome = if cancelled {
            Some(Outcome::Stopped)
        } else {
            self.run(budget, limits)
        };
        self.micros += started.elapsed().as_micros() as u64;
        if let Some(outcome) = outcome {
            self.search.release();
            if let Probe::Running(probe) = &mut self.probe {
                probe.release();
            }
            self.result = Some(self.finish(outcome));
        }
    }

    /// Ends an undecided partition because another one was found illegal.
    fn stop(&mut self) {
        self.search.release();
        if let Probe::Running(probe) = &mut self.probe {
            probe.release();
        }
        self.result = Some(self.finish(Outcome::Stopped));
    }

    /// Runs the search, and the probe beside it once the search has gone on for long, each with half
    /// the budget. The probe only ever ends the check with a linearization (see [`Search::probe`]):
    /// when it runs out of choices it is dropped and the search goes on alone. Both are counted in
    /// steps, not time, so which of them answers does not depend on the machine.
    fn run(&mut self, budget: u64, limits: &Limits<'_>) -> Option<Outcome> {
        // Backjumping can only help when some writes are independent of each other.
        if matches!(self.probe, Probe::NotYet)
            && self.search.independence()
            && self.search.explored > self.global.len() as u64 * PROBE_AFTER_PER_OPERATION
        {
            self.probe = Probe::Running(Box::new(Search::probe(self.model, self.operations())));
        }
        let mut budget = budget;
        let probed = match &mut self.probe {
            Probe::Running(probe) => {
                budget /= 2;
                probe.run(budget, limits).map(|o| (o, probe.explored))
            }
            _ => None,
        };
        match probed {
            None => {}
            Some((Outcome::Linearizable(order), explored)) => {
                if witness::is_linearization(self.model, &self.operations(), &order) {
                    return Some(Outcome::Linearizable(order));
                }
                debug_assert!(false, "the probe's linearization does not check");
                self.probe = Probe::GaveUp(explored);
            }
            Some((Outcome::Illegal(_), explored)) => self.probe = Probe::GaveUp(explored),
            Some((stopped, _)) => return Some(stopped),
        }
        self.search.run(budget, limits)
    }

    /// The operations searched, by local index.
    fn operations(&self) -> Vec<&'h Operation<M::Input, M::Output>> {
        self.global
            .iter()
            .map(|&i| &self.history.operations[i])
            .collect()
    }

    fn finish(&self, outcome: Outcome) -> PartitionResult {
        let mut result = undecided(self.model, self.partition, Undecided::Cancelled);
        result.states_explored = self.search.explored + self.probe.explored();
        result.micros = self.micros;
        match outcome {
            Outcome::Linearizable(order) => {
                result.verdict = Verdict::Ok;
                result.undecided = None;
                result.linearization = self.replay(&order);
            }
            Outcome::Illegal(partials) => {
                result.verdict = Verdict::Illegal;
                result.undecided = None;
                result.partial = partials
                    .into_iter()
                    .map(|p| PartialLinearization {
                        steps: self.replay(&p.prefix),
                        stuck: p.stuck.iter().map(|&l| self.global[l]).collect(),
                        blocking: self.global[p.blocking],
                    })
                    .collect();
            }
            Outcome::TimedOut => result.undecided = Some(Undecided::Timeout),
            Outcome::Stopped => result.undecided = Some(Undecided::Cancelled),
        }
        result
    }

    /// The steps of `order` (local indices) with the state after each, described.
    fn replay(&self, order: &[usize]) -> Vec<Step> {
        let mut state = self.model.init();
        order
            .iter()
            .map(|&local| {
                let op = self.search.op(local);
                if let Some(next) = self.model.step(&state, &op.input, op.output.as_ref()) {
                    state = next;
                }
                Step {
                    op: self.global[local],
                    state: if self.describe {
                        self.model.describe_state(&state)
                    } else {
                        String::new()
                    },
                }
            })
            .collect()
    }
}

/// Checks `history` against a nondeterministic model (run on sets of states).
pub fn check_nondeterministic<M: NondeterministicModel>(
    model: &M,
    history: &History<M::Input, M::Output>,
    options: &Options,
) -> Result<CheckResult, HistoryError> {
    check(&PowerSet(model), history, options)
}

fn undecided<M: Model>(model: &M, partition: &Partition, why: Undecided) -> PartitionResult {
    PartitionResult {
        label: partition.label.clone(),
        operations: partition.operations.clone(),
        verdict: Verdict::Unknown,
        initial_state: model.describe_state(&model.init()),
        linearization: Vec::new(),
        partial: Vec::new(),
        undecided: Some(why),
        states_explored: 0,
        micros: 0,
    }
}
