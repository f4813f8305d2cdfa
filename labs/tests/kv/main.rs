//! The key/value area: the kvsrv and kvraft (4A/4B) catalogs on the deterministic simulator,
//! every run's client history checked for linearizability, the mutations that prove the check can
//! fail, and the memory bounds of kvsrv measured two ways. One test binary, one chapter per module.

// The memory chapter installs a counting global allocator, and `GlobalAlloc` is an unsafe trait.
#![allow(unsafe_code)]

mod kvraft;
mod kvsrv;
mod memory;
mod mutation;

use checker::Verdict;
use labs::runner::{find_catalog, run_guarded, RunOptions, Scenario, ScenarioOutcome};

/// The scenario called `name` in `system`'s catalog.
pub fn scenario(system: &str, name: &str) -> Scenario {
    let catalog = find_catalog(system).unwrap_or_else(|| panic!("{system} catalog registered"));
    *catalog
        .scenarios
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"))
}

/// Runs `name` for one seed; returns the outcome and the verdict on its history.
pub fn run(system: &str, name: &str, seed: u64) -> (ScenarioOutcome, Verdict) {
    run_with(system, name, seed, &RunOptions::default())
}

/// [`run`] with options (a mutant, a check budget).
pub fn run_with(
    system: &str,
    name: &str,
    seed: u64,
    opts: &RunOptions,
) -> (ScenarioOutcome, Verdict) {
    let o = run_guarded(&scenario(system, name), seed, opts);
    let verdict = o.verdict.expect("a kv run checks its history");
    (o, verdict)
}

/// Runs `name` for each seed and requires a pass with a history proven linearizable (not just
/// "not refuted": an Unknown verdict fails here).
pub fn passes_linearizable(
    system: &str,
    name: &str,
    seeds: std::ops::RangeInclusive<u64>,
) -> Vec<ScenarioOutcome> {
    seeds
        .map(|seed| {
            let (o, verdict) = run(system, name, seed);
            assert!(
                o.passed(),
                "{name} failed with seed {seed}: {}\nREPRODUCE WITH: quill test {system} {name} --seed {seed}",
                o.failure_message().unwrap_or_default()
            );
            assert_eq!(verdict, Verdict::Ok, "{name} seed {seed}: {:?}", o.warnings);
            assert!(o.stats.commands > 0, "{name} seed {seed} recorded no operation");
            o
        })
        .collect()
}
