use labs::runner::trace_hash;

use super::run;

fn passes(name: &str, seeds: std::ops::RangeInclusive<u64>) {
    for seed in seeds {
        let o = run(name, seed, false);
        assert!(
            o.passed(),
            "{name} seed {seed}: {}",
            o.failure_message().unwrap_or_default()
        );
        // 8 map tasks and 10 reduce tasks, each completed once.
        assert_eq!(o.stats.commands, 18, "{name} seed {seed}");
    }
}

#[test]
fn wc() {
    passes("wc", 1..=2);
}

#[test]
fn indexer() {
    passes("indexer", 1..=2);
}

#[test]
fn map_parallelism() {
    passes("map_parallelism", 1..=3);
}

#[test]
fn reduce_parallelism() {
    passes("reduce_parallelism", 1..=3);
}

#[test]
fn job_count() {
    passes("job_count", 1..=3);
}

#[test]
fn early_exit() {
    passes("early_exit", 1..=3);
}

#[test]
fn crash() {
    passes("crash", 1..=3);
}

#[test]
fn crash_runs_crash_and_restart_workers() {
    let o = run("crash", 1, true);
    let trace = o.trace.expect("traced");
    let starts = trace.lines().filter(|l| l.contains("start h")).count();
    // The coordinator and the first worker, then restarts of crashed workers.
    assert!(
        starts > 5,
        "only {starts} process starts:\n{}",
        &trace[..trace.len().min(2000)]
    );
    assert!(trace.contains("exit h"), "no process exited");
}

#[test]
fn same_seed_same_trace_and_different_seeds_differ() {
    for name in ["crash", "job_count"] {
        let (a, b) = (run(name, 7, true), run(name, 7, true));
        let (ta, tb) = (a.trace.unwrap(), b.trace.unwrap());
        assert!(ta.lines().count() > 100, "{name}: suspiciously short trace");
        assert_eq!(
            trace_hash(&ta),
            trace_hash(&tb),
            "{name}: seed 7 twice differs"
        );
        assert_eq!(a.stats, b.stats);
    }
    let (a, b) = (run("crash", 1, true), run("crash", 2, true));
    assert_ne!(trace_hash(&a.trace.unwrap()), trace_hash(&b.trace.unwrap()));
}
