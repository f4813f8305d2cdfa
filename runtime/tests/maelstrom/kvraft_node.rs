//! `quill-node kvraft` (the same node as `quill node kvraft`) under the runner: linearizable through
//! partitions and kills (a killed node comes back from its files), and no process outlives a run.

use std::path::Path;
use std::time::Duration;

use checker::Verdict;
use runtime::maelstrom::{Config, Fault, Workload};

use crate::{assert_outcome, config, results, run, run_until};

fn kvraft(node_count: usize) -> Config {
    let mut c = config(Workload::LinKv, "unused", &[]);
    c.bin = vec![
        env!("CARGO_BIN_EXE_quill-node").to_string(),
        "kvraft".into(),
    ];
    c.node_count = node_count;
    c.concurrency = 2 * node_count;
    c.rate = 40.0;
    c.per_key_limit = 40;
    c
}

/// The pids of live processes whose environment points at `dir`'s node data (the run's nodes).
fn nodes_of(dir: &Path) -> Vec<u32> {
    let needle = format!("QUILL_NODE_DATA={}", dir.join("node-data").display());
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                !s.split(") ")
                    .nth(1)
                    .is_some_and(|rest| rest.starts_with('Z'))
            });
            alive
                && std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| env.split(|b| *b == 0).any(|var| var == needle.as_bytes()))
        })
        .collect()
}

fn assert_no_nodes_left(dir: &Path) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !nodes_of(dir).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        nodes_of(dir),
        Vec::<u32>::new(),
        "node processes outlived the run"
    );
}

#[test]
fn kvraft_nodes_are_linearizable_under_partitions_and_kills() {
    let mut c = kvraft(5);
    c.nemesis = vec![Fault::Partition, Fault::Kill];
    c.time_limit = Duration::from_secs(8);
    c.nemesis_interval = Duration::from_millis(1500);
    let report = run(c);
    assert_outcome(&report, 0, Verdict::Ok);
    let r = results(&report);
    assert!(
        r["operations"]["ok"].as_u64().unwrap() > 30,
        "too few operations succeeded: {r}"
    );
    // Every node persisted, and a killed node came back from its files.
    for i in 0..5 {
        let file = report.dir.join(format!("node-data/n{i}/raft"));
        assert!(file.exists(), "{} is missing", file.display());
    }
    let restored = (0..5)
        .filter_map(|i| {
            std::fs::read_to_string(report.dir.join(format!("node-logs/n{i}.log"))).ok()
        })
        .filter(|log| log.contains("restored: term"))
        .count();
    assert!(restored > 0, "no node was restarted from its state");
    assert_no_nodes_left(&report.dir);
}

#[test]
fn an_interrupted_kvraft_run_leaves_no_node_behind() {
    let mut c = kvraft(3);
    c.time_limit = Duration::from_secs(60);
    c.store = c.store.join("kvraft-interrupted");
    let report = run_until(c, async {
        tokio::time::sleep(Duration::from_secs(3)).await
    });
    assert_eq!(report.exit_code, 130, "{:?}", report.summary);
    assert_no_nodes_left(&report.dir);
}

#[test]
fn kvraft_nodes_over_tcp_through_the_proxy_are_linearizable_under_partitions() {
    let mut c = kvraft(3);
    c.bin.extend(["--transport".to_string(), "tcp".to_string()]);
    c.tcp = true;
    c.nemesis = vec![Fault::Partition];
    c.time_limit = Duration::from_secs(6);
    c.nemesis_interval = Duration::from_millis(1000);
    c.store = c.store.join("kvraft-tcp");
    let report = run(c);
    assert_outcome(&report, 0, Verdict::Ok);
    let r = results(&report);
    assert!(
        r["operations"]["ok"].as_u64().unwrap() > 20,
        "too few operations succeeded: {r}"
    );
    let log = std::fs::read_to_string(report.dir.join("node-logs/n0.log")).unwrap();
    assert!(log.contains("peers over TCP"), "{log}");
    // Raft messages and forwards went over TCP: none crossed the runner's own network between nodes.
    assert_eq!(r["net"]["servers"]["sent"], 0, "{}", r["net"]);
    assert_no_nodes_left(&report.dir);
}
