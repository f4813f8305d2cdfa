//! The invariants beyond Figure 3 (`labs::raft::Invariants`): each fires on the mutant whose bug
//! it names, as an invariant failure with its own message, and stays quiet on the unmodified
//! system over the same scenario and a few seeds.

use labs::failure::FailureKind;
use labs::mutants::{self, Mutant};
use labs::runner::{find_catalog, run_guarded, RunOptions, Scenario};

fn scenario_of(lab: &str, name: &str) -> Scenario {
    *find_catalog(lab)
        .unwrap_or_else(|| panic!("no {lab} catalog"))
        .scenarios
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no {lab} scenario {name}"))
}

fn raft_mutant(name: &str) -> Mutant {
    let m = mutants::find(name).unwrap_or_else(|| panic!("no mutant {name}"));
    assert_eq!(m.system(), "raft", "{name} is not a Raft mutant");
    m.mutant
}

/// `lab`/`scenario` with `seed` catches mutant `name` by an invariant whose message has
/// `expected`; without the mutant, seeds 1..=3 of the scenario pass.
fn fires(name: &str, lab: &str, scenario: &str, seed: u64, expected: &str) {
    let s = scenario_of(lab, scenario);
    let opts = RunOptions {
        mutant: Some(raft_mutant(name)),
        ..RunOptions::default()
    };
    let o = run_guarded(&s, seed, &opts);
    let f = o.failure.as_ref().unwrap_or_else(|| {
        panic!("{lab} {scenario} seed {seed} did not catch {name}; replay: quill test {lab} {scenario} --seed {seed} --mutant {name}")
    });
    assert_eq!(
        f.kind(),
        FailureKind::Invariant,
        "{name} was caught by a {} failure, not an invariant: {f}",
        f.kind()
    );
    let msg = f.to_string();
    assert!(
        msg.contains(expected),
        "{name}: expected an invariant saying {expected:?}, got: {msg}"
    );
    for seed in 1..=3 {
        let o = run_guarded(&s, seed, &RunOptions::default());
        assert!(
            o.passed(),
            "unmodified {lab} {scenario} seed {seed} failed: {}",
            o.failure_message().unwrap_or_default()
        );
    }
}

#[test]
fn a_lost_vote_is_caught_at_the_restart() {
    fires(
        "forget-vote",
        "raft",
        "TestPersist13C",
        1,
        "a vote is persistent state",
    );
}

#[test]
fn a_lost_term_is_caught_at_the_restart() {
    fires(
        "forget-term",
        "raft",
        "TestPersist13C",
        1,
        // The term is rebuilt from the log, here the same term, so the lost vote shows first.
        "(Raft paper, Figure 2)",
    );
}

#[test]
fn a_leader_ignoring_a_higher_term_is_caught() {
    fires(
        "ignore-higher-term-reply",
        "raft",
        "TestManyElections3A",
        1,
        "a higher term is never ignored",
    );
}

#[test]
fn a_leader_counting_an_old_terms_entry_is_caught() {
    fires(
        "commit-previous-terms",
        "raft",
        "TestPersist13C",
        1,
        "only entries of its own term",
    );
}

#[test]
fn a_snapshot_not_persisted_is_caught_at_the_restart() {
    fires(
        "snapshot-not-persisted",
        "raft",
        "TestSnapshotInstallCrash3D",
        1,
        "the snapshot is persisted with the state",
    );
}

#[test]
fn keeping_conflicting_entries_breaks_log_matching() {
    fires(
        "keep-conflicting",
        "raft",
        "TestFailNoAgree3B",
        1,
        "log matching violated",
    );
}

#[test]
fn an_election_without_a_timeout_after_granting_a_vote_is_caught() {
    // The timer rule of Figure 2's Followers: the mutant keeps the timer it had before granting.
    fires(
        "no-timer-reset-on-vote",
        "raft",
        "TestPersist23C",
        1,
        "(Raft paper, Figure 2, Followers)",
    );
    fires(
        "no-timer-reset-on-vote",
        "kvraft",
        "TestUnreliable4A",
        1,
        "after granting a vote",
    );
}
