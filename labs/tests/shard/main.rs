//! The shardctrler and shardkv catalogs: a few seeds of every scenario pass with both histories
//! checked, the run is a function of its seed, and each of the three shardkv mutations (serving
//! before the data arrived, forgetting the duplicate table in migration, skipping configs) is
//! caught within a bounded number of seeds.

mod catalog;
mod mutation;

use checker::Verdict;
use labs::runner::{find_catalog, run_guarded, RunOptions, ScenarioOutcome};

/// Runs one seed of one scenario with `opts`; returns its outcome and the kv history's verdict.
fn run(
    system: &str,
    name: &str,
    seed: u64,
    opts: &RunOptions,
) -> (ScenarioOutcome, Option<Verdict>) {
    let catalog = find_catalog(system).unwrap_or_else(|| panic!("no catalog {system}"));
    let s = catalog
        .scenarios
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {system}/{name}"));
    let o = run_guarded(s, seed, opts);
    let verdict = o.verdict;
    (o, verdict)
}
