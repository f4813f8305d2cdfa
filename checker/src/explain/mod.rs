//! Explaining a verdict of "not linearizable" with the few operations that cannot be ordered, and why.
//!
//! A history of thousands of operations is illegal because of a few of them. [`explain`] first looks for
//! a cycle in the partition's constraint graph (`graph`): nodes are operations, edges are the orders that
//! real time and the values force (a read after the one write of the value it saw; a read before an append
//! its value lacks; one append before the next in a value that shows both). A cycle is a violation proved
//! edge by edge, and the story tells it as such: each edge with its reason, every one of which can be
//! checked against the history by hand. The orders come from the model ([`Model::value_orders`]); the
//! checker itself knows no model.
//!
//! Where no such cycle exists (a violation that needs the search: values written more than once, a
//! combination of several uncertain orders), it falls back to delta debugging (`shrink`): a 1-minimal
//! illegal sub-history of the first illegal partition, told by a brute-force walk over its few operations
//! (`story`). The states the story shows are those of real orders of the operations kept.
//!
//! The cycle is a function of the history (the first shortest cycle, in history order) and is looked for
//! in every partition not found linearizable, in partition order, so that it does not depend on which
//! partition the search happened to decide first. The shrinking decides its candidates with a budget of
//! configurations each and in all ([`ExplainOptions`]), counted by the search, never measured in time: so
//! the whole explanation, cycle or shrunk sub-history, is a function of the history and the options, the
//! same bytes on any machine, at any load and at any number of threads.

use crate::history::History;
use crate::model::Model;
use crate::verdict::{CheckResult, Counterexample, CycleEdge, Verdict, Why};

mod graph;
mod shrink;
mod story;

use shrink::{Goal, Shrinker};
use story::Story;

/// Limits of the search for a minimal sub-history, in configurations the search explores (the unit of
/// [`crate::check::Options::max_configurations`]), so that they give the same result on any machine.
#[derive(Debug, Clone)]
pub struct ExplainOptions {
    /// The configurations each candidate's check may explore; a candidate not decided within them counts
    /// as not illegal (which can only leave the result larger, never wrong).
    pub per_check: u64,
    /// Once the candidates' checks have explored this many configurations in all, the smallest illegal
    /// sub-history found so far is reported (not minimal).
    pub budget: u64,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        // About 0.2 s and 10 s of search on the project's 2-core machines at the time of writing.
        ExplainOptions {
            per_check: 1_000_000,
            budget: 50_000_000,
        }
    }
}

/// Why `result` is not linearizable: a cycle of forced orders in the first partition (not found
/// linearizable) that has one, or else a minimal illegal sub-history of the first illegal partition, with
/// its story; `None` when no partition is illegal.
pub fn explain<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    result: &CheckResult,
    options: &ExplainOptions,
) -> Option<Counterexample> {
    result.illegal().next()?;
    // Failed operations had no effect and take no part in the check.
    let effective = |ops: &[usize]| -> Vec<usize> {
        ops.iter()
            .copied()
            .filter(|&i| !history.operations[i].failed)
            .collect()
    };
    // A linearizable partition has no cycle; every other one may, whether or not the search decided it.
    for partition in result
        .partitions
        .iter()
        .filter(|p| p.verdict != Verdict::Ok)
    {
        let ops = effective(&partition.operations);
        if let Some(cycle) = graph::shortest_cycle(model, history, &ops) {
            return Some(tell_cycle(
                model,
                history,
                &partition.label,
                ops.len(),
                cycle,
            ));
        }
    }
    let partition = result.illegal().next()?;
    Some(shrink_and_tell(
        model,
        history,
        partition,
        &effective(&partition.operations),
        options,
    ))
}

/// The story of a cycle: its operations in cycle order, then each edge with its reason.
fn tell_cycle<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    label: &str,
    of: usize,
    cycle: Vec<CycleEdge>,
) -> Counterexample {
    let describe = |i: usize| Story::new(model, history, &[i]).describe(0);
    let n = cycle.len();
    let mut story = vec![format!(
        "These {n} of the {of} operations of {} cannot be ordered: each must come before the next, and the \
         last before the first.",
        whole(label)
    )];
    story.extend(cycle.iter().map(|e| format!("  {}", describe(e.from))));
    story.push("Why:".to_string());
    for edge in &cycle {
        story.push(format!("  {}.", edge.text));
        let mut given = edge.given.as_deref();
        while let Some(premise) = given {
            story.push(format!("    given that {}.", premise.text));
            given = premise.given.as_deref();
        }
    }
    // The operations the reasons lean on besides the cycle's own: the put a value starts from, the read
    // that shows two appends in order, the premises' operations.
    let mut named: Vec<usize> = cycle.iter().map(|e| e.from).collect();
    let mut also: Vec<usize> = cycle.iter().flat_map(leans_on).collect();
    also.retain(|i| !named.contains(i));
    also.sort_unstable();
    also.dedup();
    if !also.is_empty() {
        story.push("Where:".to_string());
        story.extend(also.iter().map(|&i| format!("  {}", describe(i))));
    }
    story.push(format!(
        "So no order of these {n} operations agrees with both real time and the values they saw."
    ));
    named.extend(also);
    named.sort_unstable();
    Counterexample {
        partition: label.to_string(),
        operations: named,
        story,
        cycle,
    }
}

/// The operations an edge's reason names besides its ends, premises included.
fn leans_on(edge: &CycleEdge) -> Vec<usize> {
    let mut out = match edge.why {
        Why::Followed { witness } => vec![witness],
        Why::Missed { since } => since.into_iter().collect(),
        Why::Overwritten { reader } => vec![reader],
        Why::LastWriter { ref ruled_out } => ruled_out
            .iter()
            .flat_map(|o| std::iter::once(o.writer).chain(o.by))
            .collect(),
        Why::RealTime | Why::Observed => Vec::new(),
    };
    if let Some(premise) = &edge.given {
        out.extend([premise.from, premise.to]);
        out.extend(leans_on(premise));
    }
    out
}

/// "the history", or "partition k3".
fn whole(label: &str) -> String {
    if label == "all" {
        "the history".to_string()
    } else {
        format!("partition {label}")
    }
}

/// A 1-minimal illegal sub-history of `partition` (its operations `start`, none failed), and its story.
fn shrink_and_tell<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    partition: &crate::verdict::PartitionResult,
    start: &[usize],
    options: &ExplainOptions,
) -> Counterexample {
    let mut shrinker = Shrinker::new(model, history, options);
    let mut ops = start.to_vec();
    // Cheap first cuts: without the operations that never returned, and without everything called after
    // the search got stuck (the blocking operation's return).
    let complete: Vec<usize> = ops
        .iter()
        .copied()
        .filter(|&i| history.operations[i].ret.is_some())
        .collect();
    if complete.len() < ops.len() && shrinker.illegal(&complete) {
        ops = complete;
    }
    for partial in &partition.partial {
        if let Some(cut) = history
            .operations
            .get(partial.blocking)
            .and_then(|op| op.ret)
        {
            let prefix: Vec<usize> = ops
                .iter()
                .copied()
                .filter(|&i| history.operations[i].call <= cut)
                .collect();
            if prefix.len() < ops.len() && shrinker.illegal(&prefix) {
                ops = prefix;
            }
        }
    }
    // Keep the operation the search got stuck on: the shrinking then explains the failure the check found,
    // not another one that removing operations creates (a read of 1 alone is illegal once every write of 1
    // is gone, whether or not it was the problem). When freeing it from real time makes the rest
    // linearizable, shrink for exactly that, so that the writes it needed stay.
    let pinned = partition
        .partial
        .first()
        .map(|p| p.blocking)
        .filter(|b| ops.contains(b));
    // Other reads may be wrong in their own ways that freeing it does not mend: without them, only the
    // operations that change the state are left to explain it.
    let mut goal = Goal::Illegal { pinned };
    if let Some(free) = pinned {
        let writes = |ops: &[usize]| -> Vec<usize> {
            ops.iter()
                .copied()
                .filter(|&i| {
                    let op = &history.operations[i];
                    i == free || !model.is_read_only(&op.input, op.output.as_ref())
                })
                .collect()
        };
        // The cuts above may have dropped what it could have come after: the whole partition is tried too.
        let whole = start.to_vec();
        if let Some(base) = [writes(&ops), ops.clone(), writes(&whole), whole.clone()]
            .into_iter()
            .find(|base| base.contains(&free) && shrinker.meets(base, Goal::Timing { free }))
        {
            ops = base;
            goal = Goal::Timing { free };
        }
    }
    let ops = shrinker.ddmin(ops, goal);
    // Verify 1-minimality (the last round of delta debugging made these checks; they are cached).
    let undecided: Vec<usize> = ops
        .iter()
        .filter(|&&i| shrinker.verdict(&without(&ops, i)) == Verdict::Unknown)
        .copied()
        .collect();
    let teller = Story::new(model, history, &ops);
    let freed = match goal {
        Goal::Timing { free } => Some(free),
        Goal::Illegal { .. } => None,
    };
    let (mut story, stuck) = teller.tell(&partition.label, start.len(), freed);
    if let (Some(stuck), Goal::Illegal { .. }) = (stuck, goal) {
        story.extend(teller.context(&mut shrinker, stuck, start));
    }
    if shrinker.out_of_budget() {
        story.push(format!(
            "(The search for a smaller example stopped after {} configurations: this one may not be \
             minimal.)",
            options.budget
        ));
    } else if !undecided.is_empty() {
        let names: Vec<String> = undecided.iter().map(|i| format!("#{i}")).collect();
        story.push(format!(
            "(Without {} the check did not finish within {} configurations, so those may not be needed.)",
            names.join(", "),
            options.per_check
        ));
    }
    Counterexample {
        partition: partition.label.clone(),
        operations: ops,
        story,
        cycle: Vec::new(),
    }
}

/// The history without operation `op`.
fn without(ops: &[usize], op: usize) -> Vec<usize> {
    ops.iter().copied().filter(|&i| i != op).collect()
}
