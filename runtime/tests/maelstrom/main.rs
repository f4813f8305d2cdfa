//! Integration tests of the Maelstrom runner: small Python nodes (in `nodes/`), correct ones that must be
//! valid and wrong ones that must be invalid with the right evidence, and nodes that break the rules.

mod kvraft_node;
mod robustness;
mod workloads;

use std::path::PathBuf;
use std::time::Duration;

use runtime::maelstrom::{self, Config, Fault, Report, Workload};
use serde_json::Value as Json;

/// The directory of the test nodes.
pub fn nodes_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/maelstrom/nodes")
}

/// A short run of `script` (with its arguments) under `workload`.
pub fn config(workload: Workload, script: &str, args: &[&str]) -> Config {
    let mut bin = vec![
        "python3".to_string(),
        nodes_dir().join(script).to_string_lossy().into_owned(),
    ];
    bin.extend(args.iter().map(|a| a.to_string()));
    let mut config = Config::new(workload, bin);
    config.node_count = 3;
    config.concurrency = 3;
    config.rate = 50.0;
    config.time_limit = Duration::from_secs(2);
    config.nemesis_interval = Duration::from_millis(400);
    config.recovery_wait = Duration::from_millis(500);
    config.init_timeout = Duration::from_secs(5);
    config.seed = 7;
    config.store =
        std::env::temp_dir().join(format!("quill-maelstrom-tests-{}", std::process::id()));
    config
}

pub fn with_nemesis(mut config: Config, faults: &[Fault]) -> Config {
    config.nemesis = faults.to_vec();
    config
}

/// Runs `config` to its end.
pub fn run(config: Config) -> Report {
    run_until(config, std::future::pending())
}

/// Runs `config`, cancelled when `cancel` resolves.
pub fn run_until(config: Config, cancel: impl std::future::Future<Output = ()>) -> Report {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(maelstrom::run(config, cancel))
        .expect("the run starts")
}

/// The run's results.json.
/// The run ended with this exit status and verdict (the summary says why when it did not).
pub fn assert_outcome(report: &Report, exit_code: u8, verdict: checker::Verdict) {
    assert_eq!(
        (report.exit_code, report.verdict),
        (exit_code, verdict),
        "{:?}",
        report.summary
    );
}

pub fn results(report: &Report) -> Json {
    let text = std::fs::read_to_string(report.dir.join("results.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}
