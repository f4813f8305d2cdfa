//! Each shardkv or shardctrler bug put back must be caught within a few seeds, and the same seed
//! passes without it.

use checker::Verdict;
use labs::mutants::Mutant;
use labs::runner::{RunOptions, ScenarioOutcome};
use shardkv::Mutation;

use super::run;

/// The first seed of `seeds` whose run of `name` fails with `mutation`.
fn first_failure(
    mutation: Mutation,
    name: &str,
    seeds: std::ops::RangeInclusive<u64>,
) -> Option<(u64, ScenarioOutcome, Option<Verdict>)> {
    let opts = RunOptions {
        mutant: Some(Mutant::Shardkv(mutation)),
        ..RunOptions::default()
    };
    seeds.into_iter().find_map(|seed| {
        let (o, v) = run("shardkv", name, seed, &opts);
        (!o.passed()).then_some((seed, o, v))
    })
}

fn passes_clean(name: &str, seed: u64) {
    let (o, v) = run("shardkv", name, seed, &RunOptions::default());
    assert!(
        o.passed(),
        "{name} seed {seed} fails without the bug: {:?}",
        o.failure
    );
    assert_eq!(v, Some(Verdict::Ok));
}

#[test]
fn serving_before_the_data_arrived_is_caught() {
    let (seed, o, verdict) = first_failure(Mutation::ServeBeforeData, "TestJoinLeave5B", 1..=3)
        .expect("no failure within 3 seeds");
    // The gained shard reads empty: the test's own check and the kv history both say so.
    assert_eq!(verdict, Some(Verdict::Illegal), "{:?}", o.failure);
    passes_clean("TestJoinLeave5B", seed);
}

#[test]
fn forgetting_the_duplicate_table_in_migration_is_caught() {
    let (seed, o, verdict) = first_failure(Mutation::ForgetDups, "TestUnreliable3_5B", 1..=10)
        .expect("no failure within 10 seeds");
    // A retried write executed twice: not linearizable.
    assert_eq!(verdict, Some(Verdict::Illegal), "{:?}", o.failure);
    assert!(o.artifacts.iter().any(|a| a.name == "history.json"));
    passes_clean("TestUnreliable3_5B", seed);
}

#[test]
fn skipping_configs_is_caught() {
    // Back-to-back joins and leaves give a group several configs to skip at once.
    for name in ["TestSnapshot5B", "TestConcurrent3_5B"] {
        let (seed, o, verdict) = first_failure(Mutation::SkipConfigs, name, 1..=3)
            .unwrap_or_else(|| panic!("{name}: no failure within 3 seeds"));
        // Hand-overs skipped: the gained shards' data is lost, which the history shows.
        assert_eq!(verdict, Some(Verdict::Illegal), "{name}: {:?}", o.failure);
        passes_clean(name, seed);
    }
}

/// A stale controller is invisible to the kv history (a group that sees a config late only
/// serves later) and to the lab's assertions: only the controller history's check catches it.
#[test]
fn a_follower_answering_queries_is_caught_only_by_the_controller_history() {
    use labs::failure::Failure;
    let opts = RunOptions {
        mutant: Some(Mutant::Shardctrler(shardctrler::Mutation::FollowerQueries)),
        ..RunOptions::default()
    };
    let name = "TestJoinLeave5B";
    let (seed, o, verdict) = (1..=5)
        .find_map(|seed| {
            let (o, v) = run("shardkv", name, seed, &opts);
            (!o.passed()).then_some((seed, o, v))
        })
        .expect("no failure within 5 seeds");
    match &o.failure {
        Some(Failure::NotLinearizable { detail }) => {
            assert_eq!(detail, "controller history", "seed {seed}")
        }
        other => panic!("seed {seed}: expected the controller history to fail, got {other:?}"),
    }
    // Nothing else failed: not the scenario's assertions, not the kv history.
    assert!(o.also.is_empty(), "seed {seed}: {:?}", o.also);
    assert_eq!(verdict, Some(Verdict::Ok), "seed {seed}");
    let names: Vec<&str> = o.artifacts.iter().map(|a| a.name.as_str()).collect();
    assert!(names.contains(&"ctrl-timeline.html"), "{names:?}");
    passes_clean(name, seed);
}

/// Raft mutant `name` makes seed 1 of `system`'s `scenario` fail with an invariant saying
/// `expected`, in the Raft group `group`; the seed passes without it.
fn raft_bug_caught(name: &str, system: &str, scenario: &str, group: &str, expected: &str) {
    let m = labs::mutants::find(name).unwrap_or_else(|| panic!("no mutant {name}"));
    assert!(m.applies_to(system), "{name} does not run in {system}");
    let opts = RunOptions {
        mutant: Some(m.mutant),
        ..RunOptions::default()
    };
    let (o, _) = run(system, scenario, 1, &opts);
    let f = o
        .failure
        .unwrap_or_else(|| panic!("{system} {scenario} seed 1 did not catch {name}"));
    assert_eq!(f.kind(), labs::failure::FailureKind::Invariant, "{f}");
    let msg = f.to_string();
    assert!(
        msg.starts_with(&format!("{group}: ")) && msg.contains(expected),
        "{name}: {msg}"
    );
    let (o, _) = run(system, scenario, 1, &RunOptions::default());
    assert!(o.passed(), "{system} {scenario} seed 1: {:?}", o.failure);
}

#[test]
fn raft_bugs_run_in_the_shard_labs_raft_groups() {
    raft_bug_caught(
        "forget-vote",
        "shardctrler",
        "TestBasic/Move",
        "controller",
        "a vote is persistent state",
    );
    raft_bug_caught(
        "no-timer-reset-on-vote",
        "shardkv",
        "TestUnreliable1_5B",
        "group 100",
        "(Raft paper, Figure 2, Followers)",
    );
}
