//! Nodes that break the rules: the run reports them clearly, ends on time, saves its history, and leaves
//! no process behind.

use std::time::Duration;

use checker::Verdict;
use runtime::maelstrom::Workload;

use crate::{config, results, run, run_until};

fn bad(mode: &str) -> runtime::maelstrom::Config {
    let mut c = config(Workload::Echo, "bad.py", &[mode]);
    c.node_count = 2;
    c.concurrency = 2;
    c.time_limit = Duration::from_millis(1500);
    c
}

#[test]
fn a_line_that_is_not_json_ends_the_run_with_exit_3_and_the_line() {
    let report = run(bad("garbage"));
    assert_eq!(report.exit_code, 3);
    let r = results(&report);
    assert_eq!(r["problem"]["kind"], "protocol");
    assert_eq!(r["problem"]["line"], "hello, I am not JSON");
    assert!(
        report.summary[0].contains("broke the protocol"),
        "{:?}",
        report.summary
    );
    assert!(report.dir.join("history.jsonl").exists());
}

#[test]
fn a_node_that_never_answers_init_is_named() {
    let mut c = bad("no-init");
    c.init_timeout = Duration::from_secs(1);
    let report = run(c);
    assert_eq!(report.exit_code, 3);
    assert_eq!(results(&report)["problem"]["kind"], "no-init");
    assert!(
        report.summary[0].contains("did not answer init"),
        "{:?}",
        report.summary
    );
}

#[test]
fn a_node_that_crashes_is_reported_and_the_run_goes_on_to_its_end() {
    let report = run(bad("crash"));
    let r = results(&report);
    let crashes = r["crashes"].as_array().unwrap();
    assert!(!crashes.is_empty());
    assert!(
        crashes[0].as_str().unwrap().contains("exit status: 7"),
        "{crashes:?}"
    );
    assert_eq!(report.verdict, Verdict::Unknown, "nothing completed");
}

#[test]
fn a_node_flooding_stdout_without_a_newline_is_stopped() {
    let report = run(bad("flood"));
    assert_eq!(report.exit_code, 3);
    assert!(results(&report)["problem"]["reason"]
        .as_str()
        .unwrap()
        .contains("longer than"));
}

#[test]
fn a_node_that_hangs_times_out_and_the_verdict_is_unknown() {
    let report = run(bad("hang"));
    assert_eq!((report.exit_code, report.verdict), (2, Verdict::Unknown));
    let r = results(&report);
    assert!(
        r["operations"]["fail"].as_u64().unwrap() >= 2,
        "echo is idempotent: timeouts fail"
    );
    assert!(r["wall_secs"].as_f64().unwrap() < 30.0);
}

/// The pid a `bad.py spawn` node logged for its child.
fn child_pids(report: &runtime::maelstrom::Report) -> Vec<u32> {
    (0..2)
        .filter_map(|i| {
            std::fs::read_to_string(report.dir.join(format!("node-logs/n{i}.log"))).ok()
        })
        .flat_map(|log| {
            log.lines()
                .filter_map(|l| l.strip_prefix("child ").and_then(|p| p.parse().ok()))
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// How many children the nodes of the run under `store` have logged so far.
fn logged_children(store: &std::path::Path) -> usize {
    let Ok(runs) = std::fs::read_dir(store.join("echo")) else {
        return 0;
    };
    runs.flatten()
        .flat_map(|run| {
            std::fs::read_dir(run.path().join("node-logs"))
                .into_iter()
                .flatten()
        })
        .flatten()
        .filter_map(|log| std::fs::read_to_string(log.path()).ok())
        .map(|log| log.lines().filter(|l| l.starts_with("child ")).count())
        .sum()
}

fn alive(pid: u32) -> bool {
    // A process that is gone, or a zombie waiting for init to reap it, is not running.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .split(") ")
            .nth(1)
            .is_some_and(|rest| rest.starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn an_interrupted_run_kills_every_process_group_including_grandchildren() {
    let mut c = bad("spawn");
    c.time_limit = Duration::from_secs(60);
    c.store = c.store.join("interrupted");
    let store = c.store.clone();
    // Interrupt once both nodes have started their children (a loaded machine may take a while).
    let report = run_until(c, async move {
        let started = std::time::Instant::now();
        while logged_children(&store) < 2 && started.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    assert_eq!(report.exit_code, 130);
    assert_eq!(results(&report)["problem"]["kind"], "interrupted");
    let children = child_pids(&report);
    assert_eq!(children.len(), 2, "each node logged its child");
    // Killed processes are reaped asynchronously; give them a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while children.iter().any(|&p| alive(p)) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for pid in children {
        assert!(!alive(pid), "process {pid} outlived the run");
    }
}
