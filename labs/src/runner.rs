//! The scenario registry and the multi-seed runner behind `quill test`.
//!
//! A system's lab catalog is a [`Catalog`]: named [`Scenario`]s, each a plain function from a seed
//! (and [`RunOptions`]) to a [`ScenarioOutcome`]. A run is a pure function of its seed, so the runner
//! can run seeds in parallel, and when one fails, run it once more with tracing on to write the
//! trace (the first pass runs untraced, which is faster).
//!
//! To add a catalog (kvsrv, kvraft, ...): write `pub fn catalog() -> Catalog` in its module and add
//! it to [`catalogs`]. A scenario may attach [`Artifact`]s to its outcome (a recorded client history,
//! a checker verdict); the CLI writes them into the failure directory next to the trace.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use checker::Verdict;

use crate::failure::Failure;
use crate::mutants::Mutant;

/// Options for one run of one scenario. Everything that changes what a run does or attaches is
/// here, so that a run is a function of its seed and these options alone.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Record a trace of every event (slower; the runner turns it on to replay a failing seed).
    pub trace: bool,
    /// Attach the client history (`history.json`) to every run, passing or not.
    pub keep_histories: bool,
    /// A known bug put back into the servers ([`crate::mutants`]); `None` in any real use.
    pub mutant: Option<Mutant>,
    /// How many configurations the history check may explore per partition before it gives up
    /// with Unknown; `None` for [`crate::kv::CHECK_BUDGET`]. A budget counted in configurations
    /// (not seconds) keeps a seed's whole outcome, verdict included, the same on any machine.
    pub check_budget: Option<u64>,
}

/// Figures of one run, as in the labs' "Passed" lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Virtual time at the end of the run, in ms.
    pub virtual_ms: u64,
    pub peers: usize,
    pub rpcs: u64,
    pub bytes: u64,
    /// Commands (log indexes) committed during the run, or operations for kv catalogs.
    pub commands: u64,
}

/// A file a scenario wants written next to its trace when it fails (e.g. `history.json`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub name: String,
    pub contents: Vec<u8>,
}

/// The result of one run: a failure is a value, not a panic.
#[derive(Clone, Debug, Default)]
pub struct ScenarioOutcome {
    /// `None` if the scenario passed; otherwise what went wrong.
    pub failure: Option<Failure>,
    /// Failures found before [`ScenarioOutcome::failure`] that it supersedes (the scenario's own,
    /// when the history check then found the history not linearizable).
    pub also: Vec<Failure>,
    /// The verdict on the run's client history, for labs that record one.
    pub verdict: Option<Verdict>,
    pub stats: RunStats,
    /// Non-fatal observations (the lab prints "warning: ..." and passes).
    pub warnings: Vec<String>,
    /// The event trace, if [`RunOptions::trace`] was set.
    pub trace: Option<String>,
    pub artifacts: Vec<Artifact>,
}

impl ScenarioOutcome {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    /// The failure as one line, with the failures it supersedes.
    pub fn failure_message(&self) -> Option<String> {
        let f = self.failure.as_ref()?;
        let mut s = f.to_string();
        for other in &self.also {
            s.push_str("; also: ");
            s.push_str(&other.to_string());
        }
        Some(s)
    }
}

/// One named scenario of a catalog (named after the Go test it reproduces).
#[derive(Clone, Copy)]
pub struct Scenario {
    pub name: &'static str,
    pub run: fn(u64, &RunOptions) -> ScenarioOutcome,
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario")
            .field("name", &self.name)
            .finish()
    }
}

/// The scenarios of one system, in catalog order.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub system: &'static str,
    pub scenarios: Vec<Scenario>,
}

impl Catalog {
    /// This catalog with `more` after its own scenarios (a lab's tests, then its `Nemesis*` ones).
    pub fn followed_by(mut self, more: Vec<Scenario>) -> Catalog {
        self.scenarios.extend(more);
        self
    }
}

/// Every registered catalog.
pub fn catalogs() -> Vec<Catalog> {
    vec![
        crate::raft::catalog(),
        crate::kvsrv::catalog(),
        crate::kvraft::catalog(),
        crate::mr::catalog(),
        crate::shardctrler::catalog(),
        crate::shardkv::catalog(),
    ]
}

/// The catalog of `system`, if registered.
pub fn find_catalog(system: &str) -> Option<Catalog> {
    catalogs().into_iter().find(|c| c.system == system)
}

/// Name matching for `quill test SYSTEM PATTERN`, ignoring ASCII case: a pattern with `*` or `?`
/// is a glob that must match the whole name; any other pattern matches as a substring.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let (pattern, name) = (pattern.to_ascii_lowercase(), name.to_ascii_lowercase());
    if pattern.contains(['*', '?']) {
        glob(pattern.as_bytes(), name.as_bytes())
    } else {
        name.contains(&pattern)
    }
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

thread_local! {
    static PANIC_LOCATION: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Replaces the default panic hook (which prints to stderr) by one that only remembers where the
/// panic happened, so that [`run_guarded`] can report it. For command-line use, where many runs
/// share a terminal; tests keep the default hook.
pub fn install_quiet_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let loc = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        PANIC_LOCATION.with(|p| *p.borrow_mut() = loc);
    }));
}

/// Runs one scenario for one seed; a panic inside the run becomes a failure that names the seed.
pub fn run_guarded(scenario: &Scenario, seed: u64, opts: &RunOptions) -> ScenarioOutcome {
    match catch_unwind(AssertUnwindSafe(|| (scenario.run)(seed, opts))) {
        Ok(outcome) => outcome,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic payload".to_string());
            let location = PANIC_LOCATION.with(|p| p.borrow_mut().take());
            ScenarioOutcome {
                failure: Some(Failure::Panic {
                    message: format!("in {} with seed {seed}: {msg}", scenario.name),
                    location,
                }),
                ..ScenarioOutcome::default()
            }
        }
    }
}

/// One finished run.
#[derive(Clone, Debug)]
pub struct RunRecord {
    pub scenario: &'static str,
    pub seed: u64,
    pub outcome: ScenarioOutcome,
    pub wall: Duration,
}

/// Runs every `(scenario, seed)` pair on `parallel` threads, calling `progress` after each run
/// (from worker threads). Results come back in job order, whatever the scheduling.
pub fn run_jobs(
    jobs: &[(Scenario, u64)],
    parallel: usize,
    opts: &RunOptions,
    progress: &(dyn Fn(&RunRecord) + Sync),
) -> Result<Vec<RunRecord>, rayon::ThreadPoolBuildError> {
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(parallel.max(1))
        .build()?;
    Ok(pool.install(|| {
        jobs.par_iter()
            .map(|(scenario, seed)| {
                let t0 = Instant::now();
                let outcome = run_guarded(scenario, *seed, opts);
                let record = RunRecord {
                    scenario: scenario.name,
                    seed: *seed,
                    outcome,
                    wall: t0.elapsed(),
                };
                progress(&record);
                record
            })
            .collect()
    }))
}

/// Mean and (population) standard deviation.
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Per-scenario aggregate for the summary table.
#[derive(Clone, Debug)]
pub struct SummaryRow {
    pub scenario: &'static str,
    pub failed: usize,
    pub total: usize,
    pub virtual_s: (f64, f64),
    pub wall_ms: (f64, f64),
    pub rpcs: f64,
    pub bytes: f64,
    pub commands: f64,
    pub peers: usize,
}

/// Aggregates records per scenario, in the order scenarios first appear.
pub fn summarize(records: &[RunRecord]) -> Vec<SummaryRow> {
    let mut order: Vec<&'static str> = Vec::new();
    for r in records {
        if !order.contains(&r.scenario) {
            order.push(r.scenario);
        }
    }
    order
        .into_iter()
        .map(|name| {
            let rs: Vec<&RunRecord> = records.iter().filter(|r| r.scenario == name).collect();
            let ok: Vec<&&RunRecord> = rs.iter().filter(|r| r.outcome.passed()).collect();
            let pick =
                |f: &dyn Fn(&RunRecord) -> f64| -> Vec<f64> { rs.iter().map(|r| f(r)).collect() };
            let avg_ok = |f: &dyn Fn(&RunRecord) -> f64| -> f64 {
                if ok.is_empty() {
                    0.0
                } else {
                    ok.iter().map(|r| f(r)).sum::<f64>() / ok.len() as f64
                }
            };
            SummaryRow {
                scenario: name,
                failed: rs.len() - ok.len(),
                total: rs.len(),
                virtual_s: mean_std(&pick(&|r| r.outcome.stats.virtual_ms as f64 / 1000.0)),
                wall_ms: mean_std(&pick(&|r| r.wall.as_secs_f64() * 1000.0)),
                rpcs: avg_ok(&|r| r.outcome.stats.rpcs as f64),
                bytes: avg_ok(&|r| r.outcome.stats.bytes as f64),
                commands: avg_ok(&|r| r.outcome.stats.commands as f64),
                peers: rs.iter().map(|r| r.outcome.stats.peers).max().unwrap_or(0),
            }
        })
        .collect()
}

/// FNV-1a of a trace, for determinism checks.
pub fn trace_hash(trace: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in trace.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_and_substring() {
        assert!(name_matches("3A", "TestReElection3A"));
        assert!(!name_matches("3B", "TestReElection3A"));
        assert!(name_matches("Test*3A", "TestReElection3A"));
        assert!(!name_matches("Test*3", "TestReElection3A"));
        assert!(name_matches("reelection", "TestReElection3A"));
        assert!(name_matches("test*3a", "TestReElection3A"));
        assert!(name_matches(
            "*Snapshot?nstall*",
            "TestSnapshotInstallCrash3D"
        ));
    }
}
