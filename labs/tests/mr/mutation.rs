//! The MapReduce mutants are caught, each by the check it is meant to trip.

use labs::failure::FailureKind;
use labs::mutants::{find, Mutant};
use labs::runner::{run_guarded, RunOptions};

use super::scenario;

fn with(mutant: &str, name: &str, seed: u64) -> labs::runner::ScenarioOutcome {
    let m = find(mutant).unwrap_or_else(|| panic!("mutant {mutant} in the catalog"));
    assert!(matches!(m.mutant, Mutant::Mr(_)) && m.applies_to("mr"));
    let opts = RunOptions {
        mutant: Some(m.mutant),
        ..RunOptions::default()
    };
    run_guarded(&scenario(name), seed, &opts)
}

#[test]
fn reissuing_after_one_second_runs_maps_twice_and_fails_the_job_count() {
    for seed in 1..=3 {
        let o = with("mr-reissue-early", "job_count", seed);
        let f = o
            .failure
            .unwrap_or_else(|| panic!("seed {seed}: the mutant passed"));
        assert_eq!(f.kind(), FailureKind::Assertion, "seed {seed}: {f}");
        assert!(
            f.to_string().contains("incorrect number of times"),
            "seed {seed}: {f}"
        );
        // The unmodified coordinator passes the same seed.
        assert!(super::run("job_count", seed, false).passed());
    }
}

#[test]
fn writing_outputs_in_place_breaks_the_final_file_invariant() {
    let o = with("mr-write-in-place", "wc", 1);
    let f = o.failure.expect("the mutant passed");
    assert_eq!(f.kind(), FailureKind::Invariant, "{f}");
    assert!(f.to_string().contains("mr-out-"), "{f}");
    assert!(f.to_string().contains("written in place"), "{f}");
}
