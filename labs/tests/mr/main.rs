//! The MapReduce area: the seven tests of `test-mr.sh` on the simulator for a few seeds each,
//! determinism by seed, and the simulated directory's crash semantics and invariant.
//!
//! The scenarios read the eight books from `../shared/mapreduce/inputs` (or `$QUILL_MR_INPUTS`);
//! when they are absent every scenario fails with a message naming the missing path.

mod fs;
mod mutation;
mod scenarios;

use labs::runner::{find_catalog, run_guarded, RunOptions, Scenario, ScenarioOutcome};

pub fn scenario(name: &str) -> Scenario {
    let catalog = find_catalog("mr").expect("the mr catalog is registered");
    *catalog
        .scenarios
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no mr scenario {name}"))
}

pub fn run(name: &str, seed: u64, trace: bool) -> ScenarioOutcome {
    let opts = RunOptions {
        trace,
        ..RunOptions::default()
    };
    run_guarded(&scenario(name), seed, &opts)
}
