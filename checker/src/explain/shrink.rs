//! Delta debugging (Zeller and Hildebrandt 2002) down to a 1-minimal illegal sub-history.
//!
//! Each candidate sub-history is decided by the ordinary [`check`] within a budget of configurations
//! (never a time limit, so that the result is the same on any machine); a candidate that is not decided
//! within it counts as "not illegal", which can only make the result larger, never wrong. Removing operations is sound because every sub-history keeps its operations' intervals: if a
//! sub-history has no linearization, neither has any history that contains it.
//!
//! Shrinking for "illegal" alone can remove the very writes that a read needs, leaving a read that is
//! illegal on its own because nothing wrote its value, which explains nothing. So when the whole partition
//! becomes linearizable once the operation the search got stuck on is freed from real time, the goal is
//! [`Goal::Timing`]: illegal, yet linearizable with that operation freed. The result then holds the writes
//! that could have given the operation its result, and the operations whose timing rules each of them out.

use std::collections::HashMap;

use super::ExplainOptions;
use crate::check::{check, Options};
use crate::history::{History, Operation};
use crate::model::Model;
use crate::verdict::Verdict;

/// What a candidate sub-history must be to be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Goal {
    /// Illegal. `pinned`, when given, is kept while shrinking, and dropped at the end if not needed.
    Illegal { pinned: Option<usize> },
    /// Illegal, and linearizable once `free` is freed from real time; `free` is always kept.
    Timing { free: usize },
}

/// Checks sub-histories, with a cache and a budget of configurations in all.
pub(crate) struct Shrinker<'a, M: Model> {
    sub: Sub<'a, M>,
    options: &'a ExplainOptions,
    /// The configurations the checks made so far explored, in all.
    explored: u64,
    cache: HashMap<(Vec<usize>, Option<usize>), Verdict>,
}

impl<'a, M: Model> Shrinker<'a, M> {
    pub(crate) fn new(
        model: &'a M,
        history: &'a History<M::Input, M::Output>,
        options: &'a ExplainOptions,
    ) -> Self {
        Shrinker {
            sub: Sub { model, history },
            options,
            explored: 0,
            cache: HashMap::new(),
        }
    }

    pub(crate) fn out_of_budget(&self) -> bool {
        self.explored >= self.options.budget
    }

    /// The verdict of the sub-history made of `ops` (history indices in history order).
    pub(crate) fn verdict(&mut self, ops: &[usize]) -> Verdict {
        self.verdict_freeing(ops, None)
    }

    /// The verdict of the sub-history made of `ops`, where operation `free` (if given) is freed from real
    /// time: its interval spans all the others.
    pub(crate) fn verdict_freeing(&mut self, ops: &[usize], free: Option<usize>) -> Verdict {
        let key = (ops.to_vec(), free);
        if let Some(&v) = self.cache.get(&key) {
            return v;
        }
        if self.out_of_budget() {
            return Verdict::Unknown;
        }
        let history = History::new(
            ops.iter()
                .map(|&i| {
                    let op = &self.sub.history.operations[i];
                    let (call, ret) = if Some(i) == free {
                        (i64::MIN, Some(i64::MAX))
                    } else {
                        (op.call, op.ret)
                    };
                    Operation {
                        client: op.client,
                        call,
                        ret,
                        input: i,
                        output: op.output.as_ref().map(|_| ()),
                        failed: false,
                    }
                })
                .collect(),
        );
        let options = Options {
            max_configurations: Some(self.options.per_check),
            partition: false,
            max_partials: 1,
            describe_states: false,
            ..Options::default()
        };
        let v = check(&self.sub, &history, &options).map_or(Verdict::Unknown, |r| {
            self.explored = self.explored.saturating_add(r.states_explored());
            r.verdict
        });
        self.cache.insert(key, v);
        v
    }

    pub(crate) fn illegal(&mut self, ops: &[usize]) -> bool {
        self.verdict(ops) == Verdict::Illegal
    }

    /// Whether the sub-history `ops` meets `goal`.
    pub(crate) fn meets(&mut self, ops: &[usize], goal: Goal) -> bool {
        match goal {
            Goal::Illegal { .. } => self.illegal(ops),
            Goal::Timing { free } => {
                self.illegal(ops) && self.verdict_freeing(ops, Some(free)) == Verdict::Ok
            }
        }
    }

    /// Delta debugging: the smallest sub-history of `ops` meeting `goal` it finds, 1-minimal unless the
    /// budget ran out.
    pub(crate) fn ddmin(&mut self, ops: Vec<usize>, goal: Goal) -> Vec<usize> {
        let pinned = match goal {
            Goal::Illegal { pinned } => pinned,
            Goal::Timing { free } => Some(free),
        };
        let with_pin = |mut ops: Vec<usize>| {
            if let Some(p) = pinned {
                ops.push(p);
                ops.sort_unstable();
            }
            ops
        };
        let mut ops: Vec<usize> = ops.into_iter().filter(|&i| Some(i) != pinned).collect();
        if pinned.is_some() && self.meets(&with_pin(Vec::new()), goal) {
            ops.clear();
        }
        let mut n = 2;
        while ops.len() >= 2 && !self.out_of_budget() {
            let chunks = split(&ops, n);
            if let Some(chunk) = chunks
                .iter()
                .find(|c| self.meets(&with_pin(c.to_vec()), goal))
            {
                ops = chunk.clone();
                n = 2;
                continue;
            }
            // With two chunks, each complement is the other chunk, already tried.
            if n > 2 {
                let complement = (0..chunks.len()).find_map(|skip| {
                    let rest: Vec<usize> = chunks
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != skip)
                        .flat_map(|(_, c)| c.iter().copied())
                        .collect();
                    self.meets(&with_pin(rest.clone()), goal).then_some(rest)
                });
                if let Some(rest) = complement {
                    ops = rest;
                    n = (n - 1).max(2);
                    continue;
                }
            }
            if n >= ops.len() {
                break;
            }
            n = (n * 2).min(ops.len());
        }
        // A pinned operation stays only if it is needed; the freed one of a timing goal is the point.
        if matches!(goal, Goal::Illegal { pinned: Some(_) }) && self.illegal(&ops) {
            return self.ddmin(ops, Goal::Illegal { pinned: None });
        }
        with_pin(ops)
    }
}

/// `ops` in `n` chunks of nearly equal length.
fn split(ops: &[usize], n: usize) -> Vec<Vec<usize>> {
    let n = n.min(ops.len()).max(1);
    (0..n)
        .map(|k| ops[k * ops.len() / n..(k + 1) * ops.len() / n].to_vec())
        .collect()
}

/// A model over a sub-history whose inputs are the indices of the original operations, so that candidate
/// histories are built without cloning inputs or outputs.
pub(crate) struct Sub<'a, M: Model> {
    model: &'a M,
    history: &'a History<M::Input, M::Output>,
}

impl<M: Model> Model for Sub<'_, M> {
    type State = M::State;
    type Input = usize;
    type Output = ();

    fn init(&self) -> M::State {
        self.model.init()
    }

    fn step(&self, state: &M::State, input: &usize, output: Option<&()>) -> Option<M::State> {
        let op = &self.history.operations[*input];
        self.model
            .step(state, &op.input, output.and(op.output.as_ref()))
    }
}
