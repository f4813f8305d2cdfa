//! Every scenario of both catalogs, one seed each (the sweeps are `quill test`).

use labs::runner::{find_catalog, run_guarded, RunOptions};

fn all_pass(system: &str, seed: u64) {
    let catalog = find_catalog(system).expect("registered");
    assert!(catalog.scenarios.len() >= 12, "{system} lost scenarios");
    for s in &catalog.scenarios {
        let o = run_guarded(s, seed, &RunOptions::default());
        assert!(
            o.passed(),
            "{system} {} seed {seed}: {:?}",
            s.name,
            o.failure
        );
        assert!(
            o.warnings.is_empty(),
            "{system} {} seed {seed}: {:?}",
            s.name,
            o.warnings
        );
        assert!(o.stats.rpcs > 0, "{} sent nothing", s.name);
    }
}

#[test]
fn every_shardctrler_scenario_passes() {
    all_pass("shardctrler", 1);
}

#[test]
fn every_shardkv_scenario_passes() {
    all_pass("shardkv", 2);
}

#[test]
fn a_run_is_a_function_of_its_seed() {
    let catalog = find_catalog("shardkv").unwrap();
    let s = catalog
        .scenarios
        .iter()
        .find(|s| s.name == "TestUnreliable3_5B")
        .unwrap();
    let opts = RunOptions {
        trace: true,
        ..RunOptions::default()
    };
    let a = run_guarded(s, 3, &opts);
    let b = run_guarded(s, 3, &opts);
    assert!(a.passed(), "{:?}", a.failure);
    assert_eq!(a.stats, b.stats);
    assert_eq!(a.trace, b.trace);
    assert!(a.trace.as_deref().is_some_and(|t| t.contains("join")));
}

#[test]
fn the_controller_history_is_checked_and_attached_on_failure() {
    // A stale configuration is a violation of the shard-config model.
    use checker::models::{ConfigInput, ConfigOutput, ConfigView};
    use checker::{History, Operation, Verdict};
    let join = Operation::new(
        1,
        0,
        1,
        ConfigInput::Join {
            groups: [(1, vec!["a".to_string()])].into(),
        },
        ConfigOutput::default(),
    );
    let stale = Operation::new(
        1,
        2,
        3,
        ConfigInput::Query { num: -1 },
        ConfigOutput {
            config: Some(ConfigView {
                num: 0,
                shards: vec![0; 10],
                groups: Default::default(),
            }),
        },
    );
    let checked = labs::shardkv::check_ctrl_history(
        History::new(vec![join, stale]),
        0,
        &labs::runner::RunOptions::default(),
    );
    assert_eq!(checked.verdict, Verdict::Illegal);
    assert!(checked.failure.is_some());
    let names: Vec<&str> = checked.artifacts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["ctrl-history.json", "ctrl-timeline.html"]);
    let json = std::str::from_utf8(&checked.artifacts[0].contents).unwrap();
    let raw = checker::formats::parse(json, None).unwrap();
    let again = checker::dynamic::check_raw(raw, None, &checker::Options::default()).unwrap();
    assert_eq!(again.result.verdict, Verdict::Illegal);
}
