//! Checking a whole history: partitioning, checking partitions in parallel, and assembling the evidence.
//!
//! Partitions are checked in rounds of growing step budgets: in each round every partition still
//! undecided runs its search for that many steps. After a round in which some partition was found
//! illegal, the others stop (unless [`Options::all_partitions`] asks for every one), and are reported as
//! undecided. So the whole result, not only the verdict, is a function of the history and the options,
//! whatever the number of threads and however they are scheduled: each search is sequential and counted
//! in steps, and which partitions are decided, and which illegal ones are reported, is settled at round
//! boundaries. Only a timeout or a cancel, which are measured in time, can make two runs differ. The early
//! stop loses at most one round's work: each round's budget is four times the last.
//!
//! The rounds are a rule for the result, not a schedule: a partition's rounds depend on nothing but its
//! own search, so rayon's pool first runs each partition alone through its opening rounds (those a search
//! that finds it easy needs, most partitions' all), and only the partitions still open after them go on
//! round by round together. A search holds its tables (memo, states, entries) only while it runs, so a
//! history of a thousand partitions costs the memory of the few searched at once, not of all of them;
//! and one hard partition still cannot keep an easy illegal one from being found, since its opening is
//! bounded by its size.
//!
//! A partition whose search goes on for long, over operations the model declares independent of each
//! other, gets a second search beside it (the backjumping probe of `search::probe`), on half the step
//! budget: a linearization either of them finds ends the check, and only the search's exhaustion proves
//! one impossible.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
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
    /// be megabytes each) turns it off: the steps then carry empty states, which
    /// [`crate::dynamic::Checked::describe_steps`] can describe later, a partition at a time.
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
    let rounds = Rounds {
        stop: AtomicU32::new(NEVER),
        all_partitions: options.all_partitions,
        max_configurations: options.max_configurations,
        limits,
        progress,
    };

    let mut jobs: Vec<Job<'_, M>> = partitions
        .iter()
        .enumerate()
        .map(|(index, p)| Job::new(model, history, index, p, options.describe_states))
        .collect();
    // Large partitions first, so the longest searches start early on the pool.
    jobs.sort_by_key(|job| std::cmp::Reverse(job.partition.operations.len()));
    // First, each partition alone, for as many rounds as a search that finds it easy needs: most
    // partitions end there, and only the few searches running at once hold their tables.
    jobs.par_iter_mut().for_each(|job| {
        let opening = opening_rounds(job.partition.operations.len());
        while job.is_open() && job.rounds < opening && rounds.may_run(job.rounds) {
            job.run_round(&rounds);
        }
        if !rounds.may_run(job.rounds) {
            // Another partition was found illegal in an earlier round: this one is stopped.
            job.running = None;
        }
    });
    // Then the rest, a round at a time across partitions, so that one that is quick to refute is found
    // while a hard one is still being searched, and stops it at the round's end.
    while let Some(round) = jobs.iter().filter(|j| j.is_open()).map(|j| j.rounds).min() {
        if !rounds.may_run(round) {
            break;
        }
        let due: Vec<&mut Job<'_, M>> = jobs
            .iter_mut()
            .filter(|job| job.is_open() && job.rounds == round)
            .collect();
        due.into_par_iter().for_each(|job| job.run_round(&rounds));
    }
    let stop = if options.all_partitions {
        NEVER
    } else {
        rounds.stop.into_inner()
    };
    // Back in the order the model gave the partitions.
    jobs.sort_by_key(|job| job.index);
    let results: Vec<PartitionResult> = jobs.into_iter().map(|job| job.conclude(stop)).collect();
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

/// The step budget of round `round`: each round's is four times the last.
fn round_budget(round: u32) -> u64 {
    FIRST_BUDGET.saturating_mul(4u64.saturating_pow(round))
}

/// Configurations per operation that a partition may explore in its opening rounds, run alone: a
/// search the history gives no trouble explores about one per operation.
const OPENING_PER_OPERATION: u64 = 16;

/// The rounds a partition of `operations` runs alone: enough for the configurations
/// [`OPENING_PER_OPERATION`] allows it.
fn opening_rounds(operations: usize) -> u32 {
    let allowed = OPENING_PER_OPERATION.saturating_mul(operations as u64);
    let (mut rounds, mut total) = (0, 0u64);
    while total < allowed {
        total = total.saturating_add(round_budget(rounds));
        rounds += 1;
    }
    rounds.max(1)
}

/// No partition found illegal yet.
const NEVER: u32 = u32::MAX;

/// Configurations a search explores per operation before the probe joins it: by then it is
/// backtracking far more than a history that is easy for it does.
const PROBE_AFTER_PER_OPERATION: u64 = 4;

/// What every partition's rounds share.
///
/// Every partition runs the same rounds of growing step budgets (the first [`FIRST_BUDGET`], each
/// next four times the last), in whatever order the threads take them; the result is the one of
/// running round 0 of every partition, then round 1 of those still undecided, and so on, stopping the
/// rest after the first round in which one was found illegal. That is a function of each partition's
/// own rounds alone: a partition that ended after that round is reported stopped at it
/// ([`Job::conclude`]), whenever it was actually run.
struct Rounds<'a> {
    /// The earliest round in which a partition was found illegal so far, or [`NEVER`].
    stop: AtomicU32,
    all_partitions: bool,
    max_configurations: Option<u64>,
    limits: Limits<'a>,
    progress: &'a Progress,
}

impl Rounds<'_> {
    /// Whether round `round` is still run: the others stop after the round a partition was found
    /// illegal in, unless every partition is asked for.
    fn may_run(&self, round: u32) -> bool {
        self.all_partitions || round <= self.stop.load(Ordering::Relaxed)
    }
}

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
    /// [`Options::describe_states`].
    describe: bool,
    /// The search, from the partition's first round until it ends: only then does it hold memory.
    running: Option<Running<'h, M>>,
    /// Rounds run so far.
    rounds: u32,
    /// Configurations explored by the end of each round run.
    explored_after: Vec<u64>,
    micros: u64,
    /// The result, and the round it came in.
    result: Option<(u32, PartitionResult)>,
}

impl<'h, M: Model> Job<'h, M> {
    fn new(
        model: &'h M,
        history: &'h History<M::Input, M::Output>,
        index: usize,
        partition: &'h Partition,
        describe: bool,
    ) -> Self {
        Job {
            model,
            history,
            index,
            partition,
            describe,
            running: None,
            rounds: 0,
            explored_after: Vec::new(),
            micros: 0,
            result: None,
        }
    }

    /// Undecided, and not stopped.
    fn is_open(&self) -> bool {
        self.result.is_none() && (self.rounds == 0 || self.running.is_some())
    }

    /// Runs the partition's next round, and records its result if it ended.
    fn run_round(&mut self, rounds: &Rounds<'_>) {
        let round = self.rounds;
        let limits = &rounds.limits;
        let started = Instant::now();
        let running = self
            .running
            .get_or_insert_with(|| Running::new(self.model, self.history, self.partition));
        let budget = round_budget(round);
        let cancelled = limits.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
        let timed_out = limits.deadline.is_some_and(|d| started >= d);
        let outcome = match rounds.max_configurations {
            _ if cancelled => Some(Ended::Outcome(Outcome::Stopped)),
            _ if timed_out => Some(Ended::Outcome(Outcome::TimedOut)),
            Some(max) if running.explored() >= max => Some(Ended::Budget),
            Some(max) => running
                .run(budget.min(max - running.explored()), limits)
                .map(Ended::Outcome),
            None => running.run(budget, limits).map(Ended::Outcome),
        };
        let explored = running.explored();
        self.micros += started.elapsed().as_micros() as u64;
        self.rounds += 1;
        self.explored_after.push(explored);
        let Some(ended) = outcome else { return };
        let mut result = match ended {
            Ended::Outcome(outcome) => running.finish(outcome, self.describe),
            Ended::Budget => {
                let mut result = running.finish(Outcome::Stopped, self.describe);
                result.undecided = Some(Undecided::Budget);
                result
            }
        };
        result.states_explored = explored;
        result.micros = self.micros;
        // The search's tables are no longer needed: free them now, not when every partition is done.
        self.running = None;
        if result.verdict == Verdict::Illegal {
            rounds.stop.fetch_min(round, Ordering::Relaxed);
        }
        if result.verdict != Verdict::Unknown {
            rounds
                .progress
                .partitions_decided
                .fetch_add(1, Ordering::Relaxed);
        }
        self.result = Some((round, result));
    }

    /// The partition's result, given `stop`, the round in which the first partition was found illegal
    /// (or [`NEVER`]): a partition that had not ended by then is stopped at that round's end.
    fn conclude(self, stop: u32) -> PartitionResult {
        match self.result {
            Some((round, result)) if round <= stop => result,
            _ => {
                let mut result = undecided(self.model, self.partition, Undecided::Cancelled);
                let last = (stop as usize).min(self.explored_after.len().saturating_sub(1));
                result.states_explored = self.explored_after.get(last).copied().unwrap_or(0);
                result.micros = self.micros;
                result
            }
        }
    }
}

/// How a partition's rounds ended.
enum Ended {
    Outcome(Outcome),
    /// It explored [`Options::max_configurations`].
    Budget,
}

/// The search of one partition while it runs: what [`Job`] frees when the partition ends.
struct Running<'h, M: Model> {
    model: &'h M,
    partition: &'h Partition,
    /// The history indices of the operations searched (the partition's, less the failed ones).
    global: Vec<usize>,
    /// The operations searched, by local index.
    operations: Vec<&'h Operation<M::Input, M::Output>>,
    search: Search<'h, M>,
    /// The backjumping probe run beside a search in trouble, while it may still help.
    probe: Probe<'h, M>,
}

impl<'h, M: Model> Running<'h, M> {
    fn new(
        model: &'h M,
        history: &'h History<M::Input, M::Output>,
        partition: &'h Partition,
    ) -> Self {
        // Failed operations had no effect: they take no part in the search.
        let global: Vec<usize> = partition
            .operations
            .iter()
            .copied()
            .filter(|&i| !history.operations[i].failed)
            .collect();
        let operations: Vec<_> = global.iter().map(|&i| &history.operations[i]).collect();
        Running {
            model,
            partition,
            search: Search::new(model, operations.clone()),
            operations,
            global,
            probe: Probe::NotYet,
        }
    }

    fn explored(&self) -> u64 {
        self.search.explored + self.probe.explored()
    }

    /// Runs the search, and the probe beside it once the search has gone on for long, each with half
    /// the budget. The probe only ever ends the check with a linearization (see [`Search::probe`]):
    /// when it runs out of choices it is dropped and the search goes on alone. Both are counted in
    /// steps, not time, so which of them answers does not depend on the machine.
    fn run(&mut self, budget: u64, limits: &Limits<'_>) -> Option<Outcome> {
        let mut budget = budget;
        // Backjumping can only help when some writes are independent of each other. The probe joins as
        // soon as the search passes its threshold, not at the next round: rounds grow fourfold, and
        // waiting for one would leave the search alone for up to four times as long (c50-ok
        // unpartitioned: 27,978 configurations then, 14,479 now).
        let threshold = self.global.len() as u64 * PROBE_AFTER_PER_OPERATION;
        while matches!(self.probe, Probe::NotYet) && self.search.independence() {
            if self.search.explored > threshold {
                self.probe =
                    Probe::Running(Box::new(Search::probe(self.model, self.operations.clone())));
                break;
            }
            if budget == 0 {
                return None;
            }
            // A step explores at most one configuration: the search runs no further than the threshold,
            // in slices that shrink as it nears it.
            let slice = (threshold + 1 - self.search.explored).min(budget);
            budget -= slice;
            if let Some(outcome) = self.search.run(slice, limits) {
                return Some(outcome);
            }
        }
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
                if witness::is_linearization(self.model, &self.operations, &order) {
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

    /// The partition's result for `outcome`, with global operation indices.
    fn finish(&self, outcome: Outcome, describe: bool) -> PartitionResult {
        let mut result = undecided(self.model, self.partition, Undecided::Cancelled);
        match outcome {
            Outcome::Linearizable(order) => {
                result.verdict = Verdict::Ok;
                result.undecided = None;
                result.linearization = self.replay(&order, describe);
            }
            Outcome::Illegal(partials) => {
                result.verdict = Verdict::Illegal;
                result.undecided = None;
                result.partial = partials
                    .into_iter()
                    .map(|p| PartialLinearization {
                        steps: self.replay(&p.prefix, describe),
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

    /// The steps of `order` (local indices) with the state after each, described when asked.
    fn replay(&self, order: &[usize], describe: bool) -> Vec<Step> {
        let mut steps = Vec::with_capacity(order.len());
        replay(
            self.model,
            order.iter().copied(),
            |local| self.operations[local],
            |local, state| {
                steps.push(Step {
                    op: self.global[local],
                    state: if describe {
                        self.model.describe_state(state)
                    } else {
                        String::new()
                    },
                })
            },
        );
        steps
    }
}

/// Calls `after` with each index of `order` and the state after its operation, from the model's
/// initial state, where `operation` gives the operation of an index: the states of a linearization or
/// a prefix of the evidence. (Their steps are all accepted; one the model rejected would leave the
/// state as it was.)
pub(crate) fn replay<'h, M: Model>(
    model: &M,
    order: impl Iterator<Item = usize>,
    operation: impl Fn(usize) -> &'h Operation<M::Input, M::Output>,
    mut after: impl FnMut(usize, &M::State),
) where
    M::Input: 'h,
    M::Output: 'h,
{
    let mut state = model.init();
    for i in order {
        let op = operation(i);
        if let Some(next) = model.step(&state, &op.input, op.output.as_ref()) {
            state = next;
        }
        after(i, &state);
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
