//! What a run is asked to do: the options of `maelstrom test`, parsed and checked.

use std::path::PathBuf;
use std::time::Duration;

use crate::maelstrom::Error;

/// The workloads Quill's runner drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Echo,
    UniqueIds,
    LinKv,
    GSet,
    GCounter,
    PnCounter,
    Broadcast,
    Kafka,
}

impl Workload {
    pub const NAMES: &'static [&'static str] = &[
        "echo",
        "unique-ids",
        "lin-kv",
        "g-set",
        "g-counter",
        "pn-counter",
        "broadcast",
        "kafka",
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Echo => "echo",
            Workload::UniqueIds => "unique-ids",
            Workload::LinKv => "lin-kv",
            Workload::GSet => "g-set",
            Workload::GCounter => "g-counter",
            Workload::PnCounter => "pn-counter",
            Workload::Broadcast => "broadcast",
            Workload::Kafka => "kafka",
        }
    }

    pub fn parse(name: &str) -> Result<Self, Error> {
        Ok(match name {
            "echo" => Workload::Echo,
            "unique-ids" => Workload::UniqueIds,
            "lin-kv" => Workload::LinKv,
            "g-set" => Workload::GSet,
            "g-counter" => Workload::GCounter,
            "pn-counter" => Workload::PnCounter,
            "broadcast" => Workload::Broadcast,
            "kafka" => Workload::Kafka,
            "txn-rw-register" | "txn-list-append" | "seq-kv" | "lww-kv" => {
                return Err(Error::Usage(format!(
                    "the {name} workload is not supported by Quill's runner yet (supported: {})",
                    Self::NAMES.join(", ")
                )))
            }
            _ => {
                return Err(Error::Usage(format!(
                    "unknown workload `{name}` (known: {})",
                    Self::NAMES.join(", ")
                )))
            }
        })
    }

    /// Whether the workload ends by healing the network and reading from every node.
    pub fn has_final_reads(self) -> bool {
        matches!(
            self,
            Workload::GSet | Workload::GCounter | Workload::PnCounter | Workload::Broadcast
        )
    }
}

/// The distribution of message latency around `--latency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyDist {
    Constant,
    Uniform,
    Exponential,
}

impl LatencyDist {
    pub fn parse(name: &str) -> Result<Self, Error> {
        match name {
            "constant" => Ok(LatencyDist::Constant),
            "uniform" => Ok(LatencyDist::Uniform),
            "exponential" => Ok(LatencyDist::Exponential),
            _ => Err(Error::Usage(format!(
                "unknown latency distribution `{name}` (known: constant, uniform, exponential)"
            ))),
        }
    }
}

/// The faults a nemesis may inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// Two-way partitions of Maelstrom's shapes.
    Partition,
    /// One-way cuts: one group's messages to another are dropped, not the reverse.
    OneWay,
    /// A fraction of the messages between nodes dropped.
    Loss,
    /// A fraction of the messages between nodes delivered twice.
    Duplicate,
    /// A node's process group killed (SIGKILL), restarted when the fault ends.
    Kill,
    /// A node's process group stopped (SIGSTOP), continued (SIGCONT) when the fault ends.
    Pause,
}

impl Fault {
    pub const NAMES: &'static [&'static str] =
        &["partition", "one-way", "loss", "duplicate", "kill", "pause"];

    pub fn parse(name: &str) -> Result<Self, Error> {
        Ok(match name {
            "partition" => Fault::Partition,
            "one-way" | "one-way-partition" => Fault::OneWay,
            "loss" => Fault::Loss,
            "duplicate" => Fault::Duplicate,
            "kill" => Fault::Kill,
            "pause" => Fault::Pause,
            _ => {
                return Err(Error::Usage(format!(
                    "unknown nemesis `{name}` (known: {})",
                    Self::NAMES.join(", ")
                )))
            }
        })
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// `--topology` for broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    Grid,
    Line,
    Tree(usize),
    Total,
}

impl Topology {
    pub fn parse(name: &str) -> Result<Self, Error> {
        Ok(match name {
            "grid" => Topology::Grid,
            "line" => Topology::Line,
            "tree2" => Topology::Tree(2),
            "tree3" => Topology::Tree(3),
            "tree4" => Topology::Tree(4),
            "total" => Topology::Total,
            _ => {
                return Err(Error::Usage(format!(
                    "unknown topology `{name}` (known: grid, line, tree2, tree3, tree4, total)"
                )))
            }
        })
    }
}

/// `--availability`: none required, every request, or at least this fraction of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Availability {
    Any,
    Total,
    AtLeast(f64),
}

impl Availability {
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text == "total" {
            return Ok(Availability::Total);
        }
        match text.parse::<f64>() {
            Ok(f) if (0.0..=1.0).contains(&f) => Ok(Availability::AtLeast(f)),
            _ => Err(Error::Usage(format!(
                "--availability must be `total` or a fraction from 0 to 1, not `{text}`"
            ))),
        }
    }

    /// The fraction of requests that must succeed.
    pub fn required(self) -> f64 {
        match self {
            Availability::Any => 0.0,
            Availability::Total => 1.0,
            Availability::AtLeast(f) => f,
        }
    }
}

/// Parses `--concurrency`: a number, or `Kn` for K times the node count.
pub fn parse_concurrency(text: &str, node_count: usize) -> Result<usize, Error> {
    let bad = || {
        Error::Usage(format!(
            "--concurrency must be a number or a multiple of the node count such as `2n`, not `{text}`"
        ))
    };
    let value = match text.strip_suffix('n') {
        Some("") => node_count,
        Some(k) => k.parse::<usize>().map_err(|_| bad())? * node_count,
        None => text.parse::<usize>().map_err(|_| bad())?,
    };
    if value == 0 {
        return Err(bad());
    }
    Ok(value)
}

/// A whole run's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub workload: Workload,
    /// The node program and its arguments.
    pub bin: Vec<String>,
    pub node_count: usize,
    pub concurrency: usize,
    /// Requests per second, over all clients.
    pub rate: f64,
    pub time_limit: Duration,
    /// Mean message latency.
    pub latency: Duration,
    pub latency_dist: LatencyDist,
    pub nemesis: Vec<Fault>,
    pub nemesis_interval: Duration,
    pub availability: Availability,
    pub topology: Topology,
    /// Copy the nodes' stderr to ours as well as to their logs.
    pub log_stderr: bool,
    pub seed: u64,
    /// Where the results directories go (`store/<workload>/<time>/` under it).
    pub store: PathBuf,
    /// How long a node has to answer `init` (Maelstrom: 10 s).
    pub init_timeout: Duration,
    /// How long to wait after healing before the final reads.
    pub recovery_wait: Duration,
    /// The fraction of messages dropped (`loss`) or duplicated (`duplicate`) while that fault is on.
    pub fault_fraction: f64,
    /// lin-kv: operations on one key before it is retired for a fresh one.
    pub per_key_limit: usize,
    /// Nodes exchange their own messages over TCP through the runner's proxy ([`super::tcp_proxy`]).
    pub tcp: bool,
}

impl Config {
    /// A configuration with Maelstrom's defaults, for `workload` and `bin`.
    pub fn new(workload: Workload, bin: Vec<String>) -> Self {
        Config {
            workload,
            bin,
            node_count: 1,
            concurrency: 1,
            rate: 5.0,
            time_limit: Duration::from_secs(60),
            latency: Duration::ZERO,
            latency_dist: LatencyDist::Constant,
            nemesis: Vec::new(),
            nemesis_interval: Duration::from_secs(10),
            availability: Availability::Any,
            topology: Topology::Grid,
            log_stderr: false,
            seed: 0,
            store: PathBuf::from("store"),
            init_timeout: Duration::from_secs(10),
            recovery_wait: Duration::from_secs(10),
            fault_fraction: 0.2,
            per_key_limit: 100,
            tcp: false,
        }
    }

    /// Checks what cannot be run.
    pub fn validate(&self) -> Result<(), Error> {
        if self.bin.is_empty() {
            return Err(Error::Usage("--bin is required".into()));
        }
        if self.node_count == 0 {
            return Err(Error::Usage("--node-count must be at least 1".into()));
        }
        if self.rate <= 0.0 || !self.rate.is_finite() {
            return Err(Error::Usage(format!(
                "--rate must be positive, not {}",
                self.rate
            )));
        }
        if self.workload == Workload::LinKv && !self.concurrency.is_multiple_of(2 * self.node_count)
        {
            return Err(Error::Usage(format!(
                "lin-kv needs --concurrency to be a multiple of 2 x node-count = {} (e.g. `2n`), not {}",
                2 * self.node_count,
                self.concurrency
            )));
        }
        if !(0.0..=1.0).contains(&self.fault_fraction) {
            return Err(Error::Usage(
                "--fault-fraction must be between 0 and 1".into(),
            ));
        }
        Ok(())
    }

    /// The client request timeout: max(10 x mean latency, 1 s), as Maelstrom's.
    pub fn request_timeout(&self) -> Duration {
        (self.latency * 10).max(Duration::from_secs(1))
    }
}
