//! A Maelstrom-compatible runner: nodes written for Jepsen's Maelstrom (the Gossip Glomers challenges)
//! run unchanged under Quill, as real processes over tokio, with Quill's checker and more faults.
//!
//! [`run`] starts `--node-count` copies of `--bin`, each its own process group, and speaks Maelstrom's
//! protocol with them on stdin/stdout ([`protocol`]). Every message passes through the runner's
//! [`network`] (latency, partitions dropped at the receiver, loss, duplication), which also serves the
//! `lin-kv`, `seq-kv`, `lww-kv` and `lin-tso` [`services`]. The workload's clients ([`client`]) are
//! synchronous and record every operation with [`checker::recorder`]; the [`nemesis`] injects faults in
//! turn (partition, one-way, loss, duplicate, kill, pause). After the time limit the network heals, the
//! final reads are made, every process group is killed, and the [`workload`]'s checker judges the history
//! (lin-kv with Quill's linearizability checker, key by key). [`results`] writes Maelstrom's directory:
//! histories, verdict with evidence, timeline, plots, statistics and node logs.
//!
//! The seed drives every random choice the runner makes (requests, latencies, faults, the stale reads of
//! `seq-kv`); the interleaving of real processes is not the runner's to choose, so two runs with one seed
//! make the same choices but need not give the same history.
//!
//! ## Map
//! - [`config`]: the options and their defaults (Maelstrom's).
//! - [`protocol`]: messages, error codes, definite and indefinite errors.
//! - [`process`] and [`nodes`]: node processes, process groups, stdout lines, stderr logs, kill/pause.
//! - [`network`] and [`services`]: routing, faults, statistics; the kv and tso services.
//! - [`client`], [`nemesis`], [`runner`]: the clients, the faults, one run from start to end.
//! - [`workload`]: generators and checkers, one module per family.
//! - [`results`], [`edn`], [`plots`]: what a run leaves behind.

pub mod client;
pub mod config;
pub mod edn;
pub mod nemesis;
pub mod network;
pub mod nodes;
pub mod plots;
pub mod process;
pub mod protocol;
pub mod results;
pub mod runner;
pub mod services;
pub mod tcp_proxy;
pub mod workload;

use std::path::PathBuf;

pub use config::{Availability, Config, Fault, LatencyDist, Topology, Workload};
pub use runner::run;
use serde_json::json;

/// Why a run could not be made at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("cannot start the node program `{bin}`: {source}")]
    Spawn { bin: String, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What ended a run early (the history is still saved).
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// A node broke the protocol: the offending line and why.
    Protocol {
        node: String,
        line: String,
        reason: String,
    },
    /// A node did not answer `init` in time.
    NoInit { node: String, secs: f64 },
    /// A node did not answer a setup message (`topology`).
    NoReply { node: String, what: String },
    /// Ctrl-C.
    Interrupted,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Protocol { node, line, reason } => {
                let line: String = line.chars().take(300).collect();
                write!(f, "{node} broke the protocol: {reason}: {line}")
            }
            Problem::NoInit { node, secs } => {
                write!(f, "{node} did not answer init within {secs} s")
            }
            Problem::NoReply { node, what } => write!(f, "{node} did not answer {what}"),
            Problem::Interrupted => write!(f, "interrupted"),
        }
    }
}

impl Problem {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Problem::Protocol { node, line, reason } => {
                json!({"kind": "protocol", "node": node, "line": line, "reason": reason})
            }
            Problem::NoInit { node, secs } => {
                json!({"kind": "no-init", "node": node, "secs": secs})
            }
            Problem::NoReply { node, what } => {
                json!({"kind": "no-reply", "node": node, "what": what})
            }
            Problem::Interrupted => json!({"kind": "interrupted"}),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Report {
    /// The results directory.
    pub dir: PathBuf,
    pub verdict: checker::Verdict,
    /// 0 valid, 1 invalid, 2 unknown, 3 a node broke the protocol, 130 interrupted.
    pub exit_code: u8,
    /// What to print: the problem, the counts, the findings.
    pub summary: Vec<String>,
    pub analysis_secs: f64,
    pub operations: usize,
}
