//! Verdicts and the evidence that travels with them.
//!
//! Everything here refers to operations by their index in the checked history and carries states as
//! display strings, so a verdict can be serialized, rendered by `viz` or read by a person without the
//! model's types.

use serde::{Deserialize, Serialize};

/// Whether a history (or one partition of it) is linearizable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Linearizable: a linearization was found.
    Ok,
    /// Not linearizable: no order of the operations is consistent with real time and the model.
    Illegal,
    /// Undecided: the time limit passed or the check was cancelled.
    Unknown,
}

impl Verdict {
    /// Combines partition verdicts: any illegal one makes the history illegal; otherwise any undecided one
    /// leaves it unknown.
    pub fn combine(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        let mut out = Verdict::Ok;
        for v in verdicts {
            match v {
                Verdict::Illegal => return Verdict::Illegal,
                Verdict::Unknown => out = Verdict::Unknown,
                Verdict::Ok => {}
            }
        }
        out
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Ok => "linearizable",
            Verdict::Illegal => "not linearizable",
            Verdict::Unknown => "unknown",
        })
    }
}

/// One operation placed in a (partial) linearization, with the model state after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub op: usize,
    pub state: String,
}

/// A linearizable prefix of an illegal partition, and the operations that could not come next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialLinearization {
    pub steps: Vec<Step>,
    /// Operations not yet placed that were candidates to come next (called before the earliest pending
    /// return) and for which no placement worked.
    pub stuck: Vec<usize>,
    /// The operation whose response forced the search back: it had to be placed before its return, and
    /// could not be.
    pub blocking: usize,
}

/// Why a partition was not decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Undecided {
    /// The time limit passed.
    Timeout,
    /// The partition explored [`crate::Options::max_configurations`] configurations without a
    /// verdict: a limit that, unlike the time limit, ends at the same point on every machine.
    Budget,
    /// The check was cancelled, or another partition was found illegal first.
    Cancelled,
}

/// The result of one partition, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionResult {
    pub label: String,
    /// The partition's operations (indices into the history), in history order.
    pub operations: Vec<usize>,
    pub verdict: Verdict,
    /// The state before the first operation, for display.
    pub initial_state: String,
    /// For `Ok`: the operations in linearization order (pending operations that were placed included;
    /// the ones left out took no effect).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linearization: Vec<Step>,
    /// For `Illegal`: the longest linearizable prefixes found (a few, longest first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partial: Vec<PartialLinearization>,
    /// For `Unknown`: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undecided: Option<Undecided>,
    /// Search states explored (memoized configurations visited).
    pub states_explored: u64,
    /// Time spent searching this partition, in microseconds.
    pub micros: u64,
}

/// The result of checking a history: the verdict and every partition's evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub verdict: Verdict,
    /// In the order the model partitioned the history.
    pub partitions: Vec<PartitionResult>,
    /// Wall time of the whole check, in microseconds.
    pub micros: u64,
    /// A minimal illegal sub-history, when one was asked for (`quill check --explain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<Counterexample>,
}

/// Why a partition is not linearizable, told with few operations (see [`crate::explain`]): either a
/// cycle of orders that real time and the values force (`cycle` non-empty), or else a minimal illegal
/// sub-history (removing any one of its completed operations makes it linearizable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counterexample {
    /// The label of the partition it comes from.
    pub partition: String,
    /// Indices into the history, in history order: the cycle's operations and those its reasons name, or
    /// the minimal sub-history.
    pub operations: Vec<usize>,
    /// A short readable account: which operations, in which real-time order, and why no order works.
    pub story: Vec<String>,
    /// The cycle, edge by edge (each edge's `to` is the next one's `from`, the last one's the first's);
    /// empty when the explanation is a minimal sub-history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cycle: Vec<CycleEdge>,
}

/// One edge of a cycle: in every linearization, `from` comes before `to`, because of `why`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleEdge {
    pub from: usize,
    pub to: usize,
    #[serde(flatten)]
    pub why: Why,
    /// The reason as a sentence.
    pub text: String,
    /// For a reason that holds under a condition ([`crate::ValueReason::condition`]): the edge that shows
    /// the condition, which the reason relies on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given: Option<Box<CycleEdge>>,
}

/// The reason of a [`CycleEdge`]: real time, or an order the values force ([`crate::ValueReason`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Why {
    /// `from` returned before `to` was called.
    RealTime,
    /// `to` observed `from`'s effect, which no other operation produces.
    Observed,
    /// `to` observed the value `from` writes, and real time rules out every other writer of it as the
    /// last write before `to` ([`crate::model::ValueReason::LastWriter`]).
    LastWriter {
        ruled_out: Vec<crate::model::RuledOut>,
    },
    /// `witness` observed `from`'s effect just before `to`'s.
    Followed { witness: usize },
    /// `from` observed a state without `to`'s effect, which nothing after `since` (the write the state
    /// starts from; `None`: the initial state) undoes, and `to` comes after `since` (the edge `given`).
    Missed { since: Option<usize> },
    /// `reader` observed `to`'s effect, which nothing since undid, and `from` precedes `reader` (the edge
    /// `given`): so `from` was overwritten by `to`.
    Overwritten { reader: usize },
}

impl From<crate::model::ValueReason> for Why {
    fn from(reason: crate::model::ValueReason) -> Self {
        use crate::model::ValueReason;
        match reason {
            ValueReason::Observed => Why::Observed,
            ValueReason::LastWriter { ruled_out } => Why::LastWriter { ruled_out },
            ValueReason::Followed { witness } => Why::Followed { witness },
            ValueReason::Missed { since } => Why::Missed { since },
            ValueReason::Overwritten { reader } => Why::Overwritten { reader },
        }
    }
}

impl CheckResult {
    pub fn states_explored(&self) -> u64 {
        self.partitions.iter().map(|p| p.states_explored).sum()
    }

    /// Partitions decided (Ok or Illegal).
    pub fn decided(&self) -> usize {
        self.partitions
            .iter()
            .filter(|p| p.verdict != Verdict::Unknown)
            .count()
    }

    /// The illegal partitions.
    pub fn illegal(&self) -> impl Iterator<Item = &PartitionResult> {
        self.partitions
            .iter()
            .filter(|p| p.verdict == Verdict::Illegal)
    }
}
