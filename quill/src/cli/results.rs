//! The machine-readable result of a `quill test` run (`--results FILE`), which `quill merge` reads.
//!
//! A file describes the whole sweep it is a slice of (system, pattern, seeds, options, the matched
//! scenarios, the shard), so that `merge` can tell which runs of the sweep are missing and which
//! appear twice without being told the sweep again, and holds one entry per run it made: scenario,
//! seed, outcome, the kind of failure, the failure message, the replay command, virtual and wall
//! time, and the run's figures.
//!
//! # Slices
//! The sweep's runs are the pairs (scenario, seed), scenario-major in catalog order; slice `I/N`
//! (`0 <= I < N`) holds the runs whose position `k` in that order has `k % N == I`. Round robin,
//! so every slice gets a share of every scenario, and slices of a sweep are equally long give or
//! take one run.

use std::path::Path;

use anyhow::{anyhow, bail, Context as _};
use serde::{Deserialize, Serialize};

/// The `format` of files this version writes and reads.
pub const FORMAT: &str = "quill-sweep-results/1";

/// Which slice of the sweep a run covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Whether the run at position `k` of the sweep belongs to this slice.
    pub fn holds(&self, k: usize) -> bool {
        k as u64 % self.count == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `I/N` with `0 <= I < N` (a Kubernetes completion index or a CI matrix index is `I`).
pub fn parse_shard(s: &str) -> anyhow::Result<Shard> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| anyhow!("`{s}` is not I/N (for example 0/4)"))?;
    let index: u64 = i
        .trim()
        .parse()
        .map_err(|e| anyhow!("shard index `{i}`: {e}"))?;
    let count: u64 = n
        .trim()
        .parse()
        .map_err(|e| anyhow!("shard count `{n}`: {e}"))?;
    if count == 0 {
        bail!("the shard count must be at least 1");
    }
    if index >= count {
        bail!("shard index {index} is not below the count {count} (indexes start at 0)");
    }
    Ok(Shard { index, count })
}

/// What identifies a sweep: two result files are slices of one sweep iff these are equal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sweep {
    pub system: String,
    pub pattern: Option<String>,
    /// The matched scenarios, in catalog order.
    pub scenarios: Vec<String>,
    /// The seeds, as the command line gave them: `--seeds N` is `1..=N`, `--seed S` is `S..=S`.
    pub first_seed: u64,
    pub last_seed: u64,
    pub mutant: Option<String>,
    pub check_budget: Option<u64>,
    /// How many slices the sweep was cut into (1 for an unsharded run).
    pub shards: u64,
}

impl Sweep {
    /// The sweep's runs, in order.
    pub fn jobs(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.scenarios.iter().flat_map(move |s| {
            (self.first_seed..=self.last_seed).map(move |seed| (s.as_str(), seed))
        })
    }
}

/// The figures of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub virtual_ms: u64,
    pub peers: usize,
    pub rpcs: u64,
    pub bytes: u64,
    pub commands: u64,
}

/// One run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub scenario: String,
    pub seed: u64,
    /// `passed` or `failed`.
    pub outcome: String,
    /// The kind of failure (`invariant`, `linearizability`, `assertion`, `liveness`, `panic`).
    pub kind: Option<String>,
    pub message: Option<String>,
    /// The history check's verdict for labs that record one (`Ok`, `Illegal`, `Unknown`).
    pub verdict: Option<String>,
    /// The command that replays this run.
    pub replay: String,
    pub wall_ms: f64,
    pub stats: Stats,
    pub warnings: Vec<String>,
}

impl RunResult {
    pub fn passed(&self) -> bool {
        self.outcome == "passed"
    }
}

/// A results file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultsFile {
    pub format: String,
    pub sweep: Sweep,
    /// `None` for an unsharded run (the whole sweep).
    pub shard: Option<Shard>,
    pub threads: usize,
    pub wall_ms: f64,
    pub runs: Vec<RunResult>,
}

impl ResultsFile {
    /// The slice this file covers (`0/1` for an unsharded run).
    pub fn slice(&self) -> Shard {
        self.shard.unwrap_or(Shard { index: 0, count: 1 })
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self).context("encoding the results")?;
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    }

    pub fn read(path: &Path) -> anyhow::Result<ResultsFile> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let file: ResultsFile = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a quill results file", path.display()))?;
        anyhow::ensure!(
            file.format == FORMAT,
            "{}: format `{}`, this quill reads `{FORMAT}`",
            path.display(),
            file.format
        );
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_partition_the_runs() {
        assert_eq!(parse_shard("2/4").unwrap(), Shard { index: 2, count: 4 });
        assert!(parse_shard("4/4")
            .unwrap_err()
            .to_string()
            .contains("not below"));
        assert!(parse_shard("0/0").is_err());
        assert!(parse_shard("1").is_err());
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for k in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.holds(k)).count(), 1);
        }
    }
}
