//! `labs::hunt`, the library behind `quill mutants`: a small hunt catches the mutants it should,
//! at the seed and scenario a direct run confirms, and the unmodified system passes the same runs.

use std::time::Duration;

use labs::failure::FailureKind;
use labs::hunt::{self, HuntOptions, Stop};
use labs::mutants;
use labs::runner::{find_catalog, run_guarded, RunOptions};

fn opts() -> HuntOptions {
    HuntOptions {
        seeds: 3,
        budget: Duration::from_secs(600),
        parallel: 2,
        check_budget: None,
    }
}

#[test]
fn a_small_hunt_catches_two_raft_mutants_and_the_catch_replays() {
    let mut rows = Vec::new();
    for name in ["grant-stale-votes", "forget-vote"] {
        let m = mutants::find(name).expect("in the catalog");
        let row = hunt::hunt(&m, &opts()).expect("thread pool");
        let c = row
            .catch
            .clone()
            .unwrap_or_else(|| panic!("{name} not caught in 3 seeds"));
        assert_eq!(row.stop, Stop::Caught);
        assert_eq!(c.lab, "raft", "{name} should be caught in the raft catalog");
        assert_eq!(c.kind, FailureKind::Invariant, "{name}: {}", c.message);
        assert!(row.runs >= 1 && row.seeds == c.seed);
        // The replay command's run fails the same way.
        let s = *find_catalog(c.lab)
            .unwrap()
            .scenarios
            .iter()
            .find(|s| s.name == c.scenario)
            .unwrap();
        let again = run_guarded(
            &s,
            c.seed,
            &RunOptions {
                mutant: Some(m.mutant),
                ..RunOptions::default()
            },
        );
        assert_eq!(again.failure_message().as_deref(), Some(c.message.as_str()));
        assert_eq!(
            row.replay(None).unwrap(),
            format!(
                "quill test raft {} --seed {} --mutant {name}",
                c.scenario, c.seed
            )
        );
        rows.push(row);
    }
    // The baseline covers the raft catalog only (kvraft never started), and passes.
    let plan = hunt::baseline_plan(&rows);
    let labs: Vec<&str> = plan.iter().map(|(c, _)| c.system).collect();
    assert_eq!(labs, ["raft"]);
    let (catalog, seeds) = &plan[0];
    let b = hunt::baseline(catalog, *seeds, &opts()).unwrap();
    assert_eq!(b.runs, catalog.scenarios.len() * *seeds as usize);
    assert!(
        b.failures.is_empty(),
        "unmodified raft failed: {:?}",
        b.failures
    );
}

#[test]
fn the_median_catch_time_is_over_caught_rows_only() {
    let m = mutants::find("forget-vote").unwrap();
    let row = hunt::hunt(&m, &opts()).unwrap();
    assert_eq!(
        hunt::median_catch_wall(std::slice::from_ref(&row)),
        Some(row.wall)
    );
    let mut escaped = row.clone();
    escaped.catch = None;
    assert_eq!(hunt::median_catch_wall(&[escaped]), None);
}
