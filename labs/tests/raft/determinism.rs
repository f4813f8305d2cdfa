//! A run is a pure function of its seed: same seed, same trace, byte for byte.

use labs::runner::{run_guarded, trace_hash, RunOptions};

use super::scenario;

fn traced(name: &str, seed: u64) -> (String, labs::runner::ScenarioOutcome) {
    let o = run_guarded(
        &scenario(name),
        seed,
        &RunOptions {
            trace: true,
            ..RunOptions::default()
        },
    );
    (o.trace.clone().expect("tracing was requested"), o)
}

#[test]
fn same_seed_same_trace() {
    for name in [
        "TestFigure8Unreliable3C",
        "TestSnapshotInstallUnCrash3D",
        "TestUnreliableChurn3C",
    ] {
        let (a, oa) = traced(name, 3053);
        let (b, ob) = traced(name, 3053);
        assert!(a.lines().count() > 1000, "{name}: suspiciously short trace");
        assert_eq!(
            trace_hash(&a),
            trace_hash(&b),
            "{name}: two runs with seed 3053 differ"
        );
        assert_eq!(a, b);
        assert_eq!(oa.stats, ob.stats);
    }
}

#[test]
fn different_seeds_differ() {
    let (a, _) = traced("TestUnreliableAgree3C", 1);
    let (b, _) = traced("TestUnreliableAgree3C", 2);
    assert_ne!(trace_hash(&a), trace_hash(&b));
}

#[test]
fn tracing_does_not_change_the_run() {
    let s = scenario("TestFigure8Unreliable3C");
    let plain = run_guarded(&s, 11, &RunOptions::default());
    let (_, traced) = traced("TestFigure8Unreliable3C", 11);
    assert_eq!(plain.stats, traced.stats);
    assert_eq!(plain.failure, traced.failure);
}
