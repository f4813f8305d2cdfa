//! The Raft area: the lab catalog (3A-3D) on the deterministic simulator, plus the simulator's
//! own labrpc semantics, determinism, and mutation checks. One test binary, one chapter per module.

mod agree;
mod determinism;
mod election;
mod faults;
mod hunt;
mod invariants;
mod liveness;
mod mutation;
mod persist;
mod snapshot;

use labs::runner::{find_catalog, run_guarded, RunOptions, Scenario, ScenarioOutcome};

/// The scenario called `name` in the Raft catalog.
pub fn scenario(name: &str) -> Scenario {
    let catalog = find_catalog("raft").expect("raft catalog registered");
    *catalog
        .scenarios
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"))
}

/// Runs `name` for each seed and fails with the seed and a replay command on the first failure.
pub fn passes(name: &str, seeds: std::ops::RangeInclusive<u64>) -> Vec<ScenarioOutcome> {
    let s = scenario(name);
    seeds
        .map(|seed| {
            let o = run_guarded(&s, seed, &RunOptions::default());
            assert!(
                o.passed(),
                "{name} failed with seed {seed}: {}\nREPRODUCE WITH: quill test raft {name} --seed {seed}",
                o.failure_message().unwrap_or_default()
            );
            o
        })
        .collect()
}

/// All scenarios of the catalog whose name ends with `part` ("3A", "3B", ...).
pub fn part(part: &str) -> Vec<&'static str> {
    find_catalog("raft")
        .unwrap()
        .scenarios
        .iter()
        .map(|s| s.name)
        .filter(|n| n.ends_with(part))
        .collect()
}
