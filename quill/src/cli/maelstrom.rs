//! `quill maelstrom test ...`: runs Maelstrom nodes under Quill's runner, with Maelstrom's command line.
//!
//! A user's existing command works with `quill` in front (`quill maelstrom test -w lin-kv --bin ./node
//! --node-count 3 --concurrency 2n --rate 100 --time-limit 20 --nemesis partition`); Quill adds `--seed`,
//! more nemeses (`one-way`, `loss`, `duplicate`, `kill`, `pause`, comma-separated or repeated) and a few
//! knobs for short runs. Exit status: 0 valid, 1 invalid, 2 unknown, 3 bad usage or a node that broke the
//! protocol (the offending line is printed), 130 interrupted. The results go to
//! `store/<workload>/<time>/` (see `runtime::maelstrom::results`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use runtime::maelstrom::config::parse_concurrency;
use runtime::maelstrom::{self, Availability, Config, Fault, LatencyDist, Topology, Workload};

#[derive(Debug, Args)]
pub struct MaelstromArgs {
    #[command(subcommand)]
    pub command: MaelstromCommand,
}

#[derive(Debug, Subcommand)]
pub enum MaelstromCommand {
    /// Run a workload against node programs that speak Maelstrom's protocol.
    Test(TestArgs),
}

/// A non-negative, finite number of `unit`s (clap prints the error after the argument's name).
fn duration(text: &str, unit: &str, per_second: f64) -> anyhow::Result<Duration> {
    text.parse::<f64>()
        .ok()
        .filter(|s| *s >= 0.0 && s.is_finite())
        .map(|n| Duration::from_secs_f64(n / per_second))
        .ok_or_else(|| anyhow::anyhow!("expected a number of {unit}, not `{text}`"))
}

fn secs(text: &str) -> anyhow::Result<Duration> {
    duration(text, "seconds", 1.0)
}

fn millis(text: &str) -> anyhow::Result<Duration> {
    duration(text, "milliseconds", 1e3)
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The workload: echo, unique-ids, lin-kv, g-set, g-counter, pn-counter, broadcast, kafka.
    #[arg(short = 'w', long)]
    pub workload: String,
    /// The node program, then its arguments (`--bin ./node`, `--bin python3 node.py`, or one quoted
    /// command line such as `--bin 'quill node kvraft'`).
    #[arg(long, num_args = 1.., required = true, value_name = "PATH [ARGS...]")]
    pub bin: Vec<String>,
    /// How many nodes.
    #[arg(long, default_value_t = 1)]
    pub node_count: usize,
    /// Client threads: a number, or `Kn` for K x node-count (default 1n).
    #[arg(long, default_value = "1n")]
    pub concurrency: String,
    /// Requests per second over all clients.
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// Seconds of requests.
    #[arg(long, default_value = "60", value_parser = secs)]
    pub time_limit: Duration,
    /// Mean message latency in milliseconds.
    #[arg(long, default_value = "0", value_parser = millis)]
    pub latency: Duration,
    /// constant, uniform or exponential.
    #[arg(long, default_value = "constant")]
    pub latency_dist: String,
    /// Faults: partition, one-way, loss, duplicate, kill, pause (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub nemesis: Vec<String>,
    /// Seconds between fault changes.
    #[arg(long, default_value = "10", value_parser = secs)]
    pub nemesis_interval: Duration,
    /// `total`, or the minimum fraction of requests that must succeed.
    #[arg(long)]
    pub availability: Option<String>,
    /// broadcast's topology: grid, line, tree2, tree3, tree4, total.
    #[arg(long, default_value = "grid")]
    pub topology: String,
    /// Copy the nodes' stderr to ours (it is always kept in the node logs).
    #[arg(long)]
    pub log_stderr: bool,
    /// The seed of every random choice the runner makes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where the results go.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Seconds a node has to answer init.
    #[arg(long, default_value = "10", value_parser = secs)]
    pub init_timeout: Duration,
    /// Seconds to wait after healing before the final reads.
    #[arg(long, default_value = "10", value_parser = secs)]
    pub recovery_wait: Duration,
    /// The fraction of messages the loss and duplicate faults affect.
    #[arg(long, default_value_t = 0.2)]
    pub fault_fraction: f64,
    /// lin-kv: operations on one key before moving to a fresh one.
    #[arg(long, default_value_t = 100)]
    pub per_key_limit: usize,
    /// Nodes exchange their own messages over TCP on 127.0.0.1 through the runner's proxy (which
    /// applies partitions); they find the addresses in $QUILL_TCP_LISTEN and $QUILL_TCP_PEERS.
    #[arg(long)]
    pub tcp: bool,
}

impl TestArgs {
    fn config(self) -> Result<Config, maelstrom::Error> {
        let workload = Workload::parse(&self.workload)?;
        // One argument holding a whole command line (and naming no file) is split into words.
        let bin = match self.bin.as_slice() {
            [one] if one.contains(char::is_whitespace) && !std::path::Path::new(one).exists() => {
                one.split_whitespace().map(str::to_string).collect()
            }
            _ => self.bin,
        };
        let mut config = Config::new(workload, bin);
        config.node_count = self.node_count;
        config.concurrency = parse_concurrency(&self.concurrency, self.node_count)?;
        config.rate = self.rate;
        config.time_limit = self.time_limit;
        config.latency = self.latency;
        config.latency_dist = LatencyDist::parse(&self.latency_dist)?;
        let mut nemesis = self
            .nemesis
            .iter()
            .filter(|n| !n.is_empty() && n.as_str() != "none")
            .map(|n| Fault::parse(n))
            .collect::<Result<Vec<_>, _>>()?;
        nemesis.sort();
        nemesis.dedup();
        config.nemesis = nemesis;
        config.nemesis_interval = self.nemesis_interval;
        config.availability = match &self.availability {
            Some(a) => Availability::parse(a)?,
            None => Availability::Any,
        };
        config.topology = Topology::parse(&self.topology)?;
        config.log_stderr = self.log_stderr;
        config.seed = self.seed;
        config.store = self.store;
        config.init_timeout = self.init_timeout;
        config.recovery_wait = self.recovery_wait;
        config.fault_fraction = self.fault_fraction;
        config.per_key_limit = self.per_key_limit;
        config.tcp = self.tcp;
        config.validate()?;
        Ok(config)
    }
}

pub fn run(args: MaelstromArgs) -> anyhow::Result<ExitCode> {
    let MaelstromCommand::Test(args) = args.command;
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let cancel = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let report = runtime.block_on(maelstrom::run(config, cancel))?;
    // Nodes are already killed; do not wait for stray blocking tasks.
    runtime.shutdown_timeout(Duration::from_millis(100));
    for line in &report.summary {
        println!("{line}");
    }
    println!("results in {}", report.dir.display());
    let verdict = match report.exit_code {
        0 => "valid: everything looks good",
        1 => "invalid: analysis found errors (see results.json)",
        2 => "unknown: the analysis could not decide",
        130 => "interrupted",
        _ => "error: a node broke the protocol or did not start (see above)",
    };
    println!("{verdict}");
    Ok(ExitCode::from(report.exit_code))
}
