//! Proof that the check can fail: each system with a known bug put back (a test-only switch, off
//! by default) must make the harness report a linearizability violation within a few seeds, with
//! the evidence a user needs written as artifacts; the same seeds pass without the bug.

use checker::Verdict;
use labs::failure::FailureKind;
use labs::mutants::Mutant;
use labs::runner::{RunOptions, ScenarioOutcome};

use super::{run, run_with};

/// The first of `seeds` whose run with `mutant` is found not linearizable.
fn first_violation(
    mutant: Mutant,
    system: &str,
    name: &str,
    seeds: std::ops::RangeInclusive<u64>,
) -> Option<(u64, ScenarioOutcome)> {
    let opts = RunOptions {
        mutant: Some(mutant),
        ..RunOptions::default()
    };
    seeds.into_iter().find_map(|seed| {
        let (o, verdict) = run_with(system, name, seed, &opts);
        (verdict == Verdict::Illegal).then_some((seed, o))
    })
}

/// The artifacts of a violation: a history the checker's own reader refutes again, and timelines.
fn assert_evidence(o: &ScenarioOutcome) {
    let failure = o.failure.as_ref().expect("a violation fails the run");
    assert_eq!(failure.kind(), FailureKind::Linearizability, "{failure}");
    assert!(
        failure
            .to_string()
            .starts_with("history is not linearizable"),
        "{failure}"
    );
    let names: Vec<&str> = o.artifacts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["history.json", "timeline.html", "timeline.svg"]);
    let json = std::str::from_utf8(&o.artifacts[0].contents).unwrap();
    let raw = checker::formats::parse(json, None).expect("history.json parses");
    assert_eq!(raw.model.as_deref(), Some("kv"));
    let checked = checker::dynamic::check_raw(raw, None, &checker::Options::default()).unwrap();
    assert_eq!(checked.result.verdict, Verdict::Illegal);
    assert!(checked
        .view()
        .annotations
        .iter()
        .all(|a| a.tag.as_deref() == Some("faults")));
    let html = std::str::from_utf8(&o.artifacts[1].contents).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    let svg = std::str::from_utf8(&o.artifacts[2].contents).unwrap();
    assert!(svg.contains("not linearizable"));
}

/// kvsrv without duplicate detection: on the unreliable network a retried Append whose first
/// reply was lost appends twice, and its old value then contains its own value.
#[test]
fn kvsrv_without_duplicate_detection_is_caught() {
    let found = first_violation(
        Mutant::Kvsrv(kvsrv::Mutation::NoDuplicateDetection),
        "kvsrv",
        "TestUnreliable2",
        1..=5,
    );
    let (seed, o) = found.expect("no violation within 5 seeds");
    assert_evidence(&o);
    let (clean, verdict) = run("kvsrv", "TestUnreliable2", seed);
    assert!(
        clean.passed() && verdict == Verdict::Ok,
        "seed {seed} fails even without the bug"
    );
}

/// kvraft answering Gets from the local state of a server that believes it leads: the deposed
/// leader in the minority of TestOnePartition4A serves the value from before the majority's Put.
#[test]
fn kvraft_local_reads_are_caught() {
    let found = first_violation(
        Mutant::Kvraft(kvraft::Mutation::LocalReads),
        "kvraft",
        "TestOnePartition4A",
        1..=5,
    );
    let (seed, o) = found.expect("no violation within 5 seeds");
    assert_evidence(&o);
    let (clean, verdict) = run("kvraft", "TestOnePartition4A", seed);
    assert!(
        clean.passed() && verdict == Verdict::Ok,
        "seed {seed} fails even without the bug"
    );
}

/// The same bug under the random partitions, crashes and drops of the 15-client, 7-server test,
/// where clients read keys that others write.
#[test]
fn kvraft_local_reads_are_caught_under_random_partitions() {
    let found = first_violation(
        Mutant::Kvraft(kvraft::Mutation::LocalReads),
        "kvraft",
        "TestPersistPartitionUnreliableLinearizable4A",
        1..=5,
    );
    let (_, o) = found.expect("no violation within 5 seeds");
    assert_evidence(&o);
}
