//! The mutant hunt behind `quill mutants`: how fast does the harness catch each known bug?
//!
//! For one [`MutantInfo`], [`hunt`] runs every catalog that can carry it (the registry's, so new
//! scenarios such as `Nemesis*` join without a list here), seed after seed: seed 1 of every
//! scenario of every such catalog, then seed 2, and so on, until a run fails or the seeds or the
//! wall-clock budget run out. The runs of one seed go in parallel; the catch is the first failing
//! run in job order (lowest seed, then catalog order), so which run catches a mutant depends only
//! on the seeds and options, never on scheduling or machine speed. Only whether the budget cuts
//! the hunt short depends on the machine, and the row says so.
//!
//! [`baseline`] then runs the unmodified systems over the same scenarios and seeds: a mutant
//! "caught" by a check that also fails without it would prove nothing.

use std::time::{Duration, Instant};

use crate::failure::FailureKind;
use crate::mutants::MutantInfo;
use crate::runner::{self, Catalog, RunOptions, Scenario};

/// How hard to hunt.
#[derive(Clone, Debug)]
pub struct HuntOptions {
    /// Seeds 1..=seeds of every scenario, at most.
    pub seeds: u64,
    /// Wall-clock budget per mutant (and per baseline catalog); checked between seeds.
    pub budget: Duration,
    /// Worker threads.
    pub parallel: usize,
    /// Passed on to every run ([`RunOptions::check_budget`]).
    pub check_budget: Option<u64>,
}

/// The run that caught a mutant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catch {
    pub lab: &'static str,
    pub scenario: &'static str,
    pub seed: u64,
    pub kind: FailureKind,
    pub message: String,
}

/// Why a hunt stopped without a catch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// A run failed.
    Caught,
    /// Every seed ran.
    SeedsExhausted,
    /// The wall-clock budget ran out first.
    BudgetExhausted,
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct HuntRow {
    pub mutant: MutantInfo,
    /// The catalogs that carry it.
    pub labs: Vec<&'static str>,
    /// Per catalog, the highest seed whose runs started in it (0 if none did).
    pub covered: Vec<(&'static str, u64)>,
    pub catch: Option<Catch>,
    pub stop: Stop,
    /// Seeds started (the catching seed included).
    pub seeds: u64,
    /// Runs up to and including the catching run (all runs if not caught).
    pub runs: usize,
    /// Wall time until the catching seed's runs finished (or the hunt stopped).
    pub wall: Duration,
}

impl HuntRow {
    /// The command that replays the catch.
    pub fn replay(&self, check_budget: Option<u64>) -> Option<String> {
        let c = self.catch.as_ref()?;
        let mut s = format!(
            "quill test {} {} --seed {} --mutant {}",
            c.lab, c.scenario, c.seed, self.mutant.name
        );
        if let Some(b) = check_budget {
            s.push_str(&format!(" --check-budget {b}"));
        }
        Some(s)
    }
}

/// The unmodified system over the scenarios and seeds its mutants ran.
#[derive(Clone, Debug)]
pub struct BaselineRow {
    pub lab: &'static str,
    pub scenarios: usize,
    /// Seeds 1..=seeds of every scenario ran (fewer than asked if the budget ran out).
    pub seeds: u64,
    pub runs: usize,
    /// (scenario, seed, kind, message) of every failing run.
    pub failures: Vec<(&'static str, u64, FailureKind, String)>,
    pub wall: Duration,
    pub stop: Stop,
}

/// The catalogs that can carry `mutant`, in registry order.
pub fn catalogs_for(mutant: &MutantInfo) -> Vec<Catalog> {
    runner::catalogs()
        .into_iter()
        .filter(|c| mutant.applies_to(c.system))
        .collect()
}

/// One seed's jobs over `catalogs`, in catalog order, with each job's catalog.
fn seed_jobs(catalogs: &[Catalog], seed: u64) -> (Vec<(Scenario, u64)>, Vec<&'static str>) {
    let mut jobs = Vec::new();
    let mut labs = Vec::new();
    for c in catalogs {
        for s in &c.scenarios {
            jobs.push((*s, seed));
            labs.push(c.system);
        }
    }
    (jobs, labs)
}

/// Hunts one mutant (see the module documentation).
pub fn hunt(
    mutant: &MutantInfo,
    opts: &HuntOptions,
) -> Result<HuntRow, rayon::ThreadPoolBuildError> {
    let catalogs = catalogs_for(mutant);
    let run_opts = RunOptions {
        mutant: Some(mutant.mutant),
        check_budget: opts.check_budget,
        ..RunOptions::default()
    };
    let t0 = Instant::now();
    let mut row = HuntRow {
        mutant: *mutant,
        labs: catalogs.iter().map(|c| c.system).collect(),
        covered: catalogs.iter().map(|c| (c.system, 0)).collect(),
        catch: None,
        stop: Stop::SeedsExhausted,
        seeds: 0,
        runs: 0,
        wall: Duration::ZERO,
    };
    'seeds: for seed in 1..=opts.seeds {
        if seed > 1 && t0.elapsed() >= opts.budget {
            row.stop = Stop::BudgetExhausted;
            break;
        }
        row.seeds = seed;
        // One batch per catalog, in registry order: a bug the cheap Raft catalog catches is
        // reported before the seed's (slower) kvraft runs start. The job order, hence the catch,
        // is the same as one batch of the whole seed.
        for (k, catalog) in catalogs.iter().enumerate() {
            row.covered[k].1 = seed;
            let (jobs, labs) = seed_jobs(std::slice::from_ref(catalog), seed);
            let records = runner::run_jobs(&jobs, opts.parallel, &run_opts, &|_| {})?;
            if let Some(k) = records.iter().position(|r| !r.outcome.passed()) {
                let r = &records[k];
                let f = r
                    .outcome
                    .failure
                    .as_ref()
                    .expect("a failed run has a failure");
                row.runs += k + 1;
                row.catch = Some(Catch {
                    lab: labs[k],
                    scenario: r.scenario,
                    seed,
                    kind: f.kind(),
                    message: r.outcome.failure_message().unwrap_or_default(),
                });
                row.stop = Stop::Caught;
                break 'seeds;
            }
            row.runs += records.len();
        }
    }
    row.wall = t0.elapsed();
    Ok(row)
}

/// Runs `lab`'s catalog unmodified for seeds 1..=seeds (or until the budget runs out).
pub fn baseline(
    catalog: &Catalog,
    seeds: u64,
    opts: &HuntOptions,
) -> Result<BaselineRow, rayon::ThreadPoolBuildError> {
    let run_opts = RunOptions {
        check_budget: opts.check_budget,
        ..RunOptions::default()
    };
    let t0 = Instant::now();
    let mut row = BaselineRow {
        lab: catalog.system,
        scenarios: catalog.scenarios.len(),
        seeds: 0,
        runs: 0,
        failures: Vec::new(),
        wall: Duration::ZERO,
        stop: Stop::SeedsExhausted,
    };
    for seed in 1..=seeds {
        if seed > 1 && t0.elapsed() >= opts.budget {
            row.stop = Stop::BudgetExhausted;
            break;
        }
        let (jobs, _) = seed_jobs(std::slice::from_ref(catalog), seed);
        let records = runner::run_jobs(&jobs, opts.parallel, &run_opts, &|_| {})?;
        row.seeds = seed;
        row.runs += records.len();
        for r in records {
            if let Some(f) = &r.outcome.failure {
                row.failures.push((
                    r.scenario,
                    seed,
                    f.kind(),
                    r.outcome.failure_message().unwrap_or_default(),
                ));
            }
        }
    }
    row.wall = t0.elapsed();
    Ok(row)
}

/// For each catalog the rows ran in, the highest seed any of its mutants reached there: the
/// baseline covers every (scenario, seed) a mutant ran, in registry order.
pub fn baseline_plan(rows: &[HuntRow]) -> Vec<(Catalog, u64)> {
    runner::catalogs()
        .into_iter()
        .filter_map(|c| {
            let seeds = rows
                .iter()
                .flat_map(|r| r.covered.iter())
                .filter(|(lab, _)| *lab == c.system)
                .map(|(_, s)| *s)
                .max()
                .filter(|s| *s > 0)?;
            Some((c, seeds))
        })
        .collect()
}

/// The median of the catch times of the caught rows, if any was caught.
pub fn median_catch_wall(rows: &[HuntRow]) -> Option<Duration> {
    let mut walls: Vec<Duration> = rows
        .iter()
        .filter(|r| r.catch.is_some())
        .map(|r| r.wall)
        .collect();
    if walls.is_empty() {
        return None;
    }
    walls.sort();
    let n = walls.len();
    Some(if n % 2 == 1 {
        walls[n / 2]
    } else {
        (walls[n / 2 - 1] + walls[n / 2]) / 2
    })
}
