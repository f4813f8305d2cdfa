//! The story of a small illegal sub-history, told from a brute-force walk over its operations: every
//! order that real time allows, stepping the model. Either some operation fits none of these orders (then
//! the story names it, the states it meets with the orders that lead to them, and the operations that real
//! time puts before and after it), or each fits some order but no order fits them all (then it tells where
//! the longest orders get stuck). Every state the story shows is the state after a real order of the
//! operations kept.

use std::collections::HashSet;

use super::shrink::Shrinker;
use crate::history::{History, Operation};
use crate::model::Model;
use crate::verdict::Verdict;

/// The brute-force walk over a small illegal sub-history, and the story told from it.
pub(crate) struct Story<'a, M: Model> {
    model: &'a M,
    history: &'a History<M::Input, M::Output>,
    /// The operations, in the order of their calls.
    ops: Vec<usize>,
}

/// What the walk over every real-time order found.
struct Walk<S> {
    /// Per operation (position in `ops`): was it ever placed?
    placed_somewhere: Vec<bool>,
    /// Per operation: the states from which it was tried and did not fit, each with the first order
    /// found that leads to it.
    refused_in: Vec<Vec<(S, Vec<usize>)>>,
    /// The longest order found, and the state after it.
    longest: Vec<usize>,
    longest_state: Option<S>,
    /// The first order found of every completed operation, if any.
    complete_order: Option<Vec<usize>>,
    /// True when the walk found an order of every completed operation (the check said otherwise).
    complete: bool,
    /// True when the walk stopped at its size limit.
    truncated: bool,
}

/// The largest sub-history walked exhaustively for the story.
const WALK_MAX_OPS: usize = 64;
const WALK_MAX_NODES: usize = 200_000;

impl<'a, M: Model> Story<'a, M> {
    pub(crate) fn new(
        model: &'a M,
        history: &'a History<M::Input, M::Output>,
        ops: &[usize],
    ) -> Self {
        let mut ops = ops.to_vec();
        ops.sort_by_key(|&i| (history.operations[i].call, i));
        Story {
            model,
            history,
            ops,
        }
    }

    fn op(&self, k: usize) -> &Operation<M::Input, M::Output> {
        &self.history.operations[self.ops[k]]
    }

    /// `#12 client 3: read() -> 1 at [12, 15]`.
    pub(crate) fn describe(&self, k: usize) -> String {
        let op = self.op(k);
        let input = self.model.describe_input(&op.input);
        let label = match &op.output {
            Some(out) => match self.model.describe_output(&op.input, out) {
                text if text.is_empty() => input,
                text => format!("{input} -> {text}"),
            },
            None => format!("{input} -> ?"),
        };
        let span = match op.ret {
            Some(ret) => format!("[{}, {ret}]", op.call),
            None => format!("[{}, never returned]", op.call),
        };
        format!("#{} client {}: {label} at {span}", self.ops[k], op.client)
    }

    /// True when real time puts operation `a` before `b`: `a` returned before `b` was called.
    fn before(&self, a: usize, b: usize) -> bool {
        self.op(a).ret.is_some_and(|r| r < self.op(b).call)
    }

    fn walk(&self) -> Walk<M::State> {
        self.walk_freeing(None)
    }

    /// The walk, with operation `free` (a position in `ops`), when given, freed from real time.
    fn walk_freeing(&self, free: Option<usize>) -> Walk<M::State> {
        let n = self.ops.len();
        let mut walk = Walk {
            placed_somewhere: vec![false; n],
            refused_in: vec![Vec::new(); n],
            longest: Vec::new(),
            longest_state: None,
            complete_order: None,
            complete: false,
            truncated: n > WALK_MAX_OPS,
        };
        if walk.truncated {
            return walk;
        }
        let preds: Vec<u64> = (0..n)
            .map(|b| {
                (0..n)
                    .filter(|&a| Some(a) != free && Some(b) != free && self.before(a, b))
                    .fold(0u64, |m, a| m | 1 << a)
            })
            .collect();
        let required: u64 = (0..n)
            .filter(|&k| self.op(k).ret.is_some())
            .fold(0, |m, k| m | 1 << k);
        let mut seen: HashSet<(u64, M::State)> = HashSet::new();
        let mut stack: Vec<(u64, M::State, Vec<usize>)> = vec![(0, self.model.init(), Vec::new())];
        while let Some((placed, state, order)) = stack.pop() {
            if seen.len() >= WALK_MAX_NODES {
                walk.truncated = true;
                break;
            }
            if !seen.insert((placed, state.clone())) {
                continue;
            }
            if placed & required == required {
                walk.complete = true;
                if walk.complete_order.is_none() {
                    walk.complete_order = Some(order.clone());
                }
            }
            if order.len() > walk.longest.len() {
                walk.longest = order.clone();
                walk.longest_state = Some(state.clone());
            }
            for (k, &before_k) in preds.iter().enumerate() {
                if placed & 1 << k != 0 || before_k & !placed != 0 {
                    continue;
                }
                let op = self.op(k);
                match self.model.step(&state, &op.input, op.output.as_ref()) {
                    Some(next) => {
                        walk.placed_somewhere[k] = true;
                        let mut longer = order.clone();
                        longer.push(k);
                        stack.push((placed | 1 << k, next, longer));
                    }
                    None => {
                        if !walk.refused_in[k].iter().any(|(s, _)| *s == state) {
                            walk.refused_in[k].push((state.clone(), order.clone()));
                        }
                    }
                }
            }
        }
        walk
    }

    /// The states an operation met, each with an order that leads to it: `1 (after #3, #5)`, or `the
    /// initial state absent (before anything)`.
    fn states(&self, states: &[(M::State, Vec<usize>)]) -> String {
        let init = self.model.init();
        let mut names: Vec<String> = states
            .iter()
            .map(|(s, order)| {
                let name = self.model.describe_state(s);
                if order.is_empty() && *s == init {
                    format!("the initial state {name} (before anything)")
                } else {
                    let after: Vec<String> =
                        order.iter().map(|&k| format!("#{}", self.ops[k])).collect();
                    format!("{name} (after {})", after.join(", "))
                }
            })
            .collect();
        names.sort();
        names.dedup();
        match names.len() {
            0 => "never reached".to_string(),
            1 => names.remove(0),
            _ => format!("one of {}", names.join("; ")),
        }
    }

    fn list(&self, ks: &[usize]) -> String {
        ks.iter()
            .map(|&k| self.describe(k))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The story, and the operation (history index) that fits no order, if there is one.
    /// `freed`: the operation the sub-history was shrunk around, which fits once freed from real time
    /// (the shrinking's timing goal); removing another operation then may also leave it with nothing that
    /// could give its result.
    pub(crate) fn tell(
        &self,
        label: &str,
        of: usize,
        freed: Option<usize>,
    ) -> (Vec<String>, Option<usize>) {
        let n = self.ops.len();
        let whole = if label == "all" {
            "the history".to_string()
        } else {
            format!("partition {label}")
        };
        let mut story = vec![match (n, freed) {
            (1, _) => format!("This operation alone (of the {of} of {whole}) is not linearizable:"),
            (_, Some(f)) => format!(
                "These {n} of the {of} operations of {whole} are not linearizable together, and without any one of \
                 them they are, or nothing left could give #{f} its result. In the order of their calls:"
            ),
            _ => format!(
                "These {n} of the {of} operations of {whole} are not linearizable together, and without any one of \
                 them they are. In the order of their calls:"
            ),
        }];
        story.extend((0..n).map(|k| format!("  {}", self.describe(k))));
        let walk = self.walk();
        if walk.truncated || walk.complete {
            return (story, None);
        }
        let stuck = (0..n).find(|&k| self.op(k).ret.is_some() && !walk.placed_somewhere[k]);
        match stuck {
            Some(k) => {
                let who = self.describe(k);
                let op = self.op(k);
                if walk.refused_in[k].is_empty() {
                    story.push(format!(
                        "{who} fits no order that real time allows: the operations that real time puts before \
                         it never all fit first."
                    ));
                } else {
                    story.push(format!(
                        "{who} fits no order that real time allows: just before it the state is {}, and from \
                         there it cannot give that result.",
                        self.states(&walk.refused_in[k])
                    ));
                }
                let earlier: Vec<usize> = (0..n).filter(|&a| self.before(a, k)).collect();
                let later: Vec<usize> = (0..n).filter(|&b| self.before(k, b)).collect();
                let init = self.model.init();
                let reads = self.model.is_read_only(&op.input, op.output.as_ref());
                if reads
                    && !earlier.is_empty()
                    && self
                        .model
                        .step(&init, &op.input, op.output.as_ref())
                        .is_some()
                {
                    story.push(format!(
                        "  Its result is that of the initial state {}, but it was called after these returned.",
                        self.model.describe_state(&init)
                    ));
                }
                if !earlier.is_empty() {
                    story.push(format!(
                        "  It must come after (they returned before it was called): {}.",
                        self.list(&earlier)
                    ));
                }
                if !later.is_empty() {
                    story.push(format!(
                        "  It must come before (they were called after it returned): {}.",
                        self.list(&later)
                    ));
                }
                let freed = self.walk_freeing(Some(k));
                if let (Some(order), false) = (&freed.complete_order, freed.truncated) {
                    let order: Vec<String> =
                        order.iter().map(|&j| format!("#{}", self.ops[j])).collect();
                    story.push(format!(
                        "  Freed from real time it would fit, in the order {}: so it is the timing of these \
                         operations that cannot be met.",
                        order.join(", ")
                    ));
                }
                return (story, Some(self.ops[k]));
            }
            None => {
                let placed: Vec<String> = walk
                    .longest
                    .iter()
                    .map(|&k| format!("#{}", self.ops[k]))
                    .collect();
                let state = walk
                    .longest_state
                    .as_ref()
                    .map(|s| self.model.describe_state(s))
                    .unwrap_or_default();
                story.push(format!(
                    "Each operation fits some order that real time allows, but none fits them all. The longest orders \
                     place {} ({}), reaching state {state}; then:",
                    placed.len(),
                    placed.join(", ")
                ));
                for k in (0..n).filter(|k| !walk.longest.contains(k) && self.op(*k).ret.is_some()) {
                    let waiting: Vec<usize> = (0..n)
                        .filter(|&a| self.before(a, k) && !walk.longest.contains(&a))
                        .collect();
                    if waiting.is_empty() {
                        story.push(format!(
                            "  {} does not fit state {state};",
                            self.describe(k)
                        ));
                    } else {
                        let names: Vec<String> = waiting
                            .iter()
                            .map(|&a| format!("#{}", self.ops[a]))
                            .collect();
                        story.push(format!(
                            "  {} must wait for {};",
                            self.describe(k),
                            names.join(", ")
                        ));
                    }
                }
            }
        }
        (story, None)
    }

    /// `#12 client 3: write(1) at [10, 11]` for any operation of the history.
    fn describe_any(&self, i: usize) -> String {
        Story::new(self.model, self.history, &[i]).describe(0)
    }

    /// Context from the whole partition for the operation `stuck` that fits no order of the minimal
    /// sub-history: which operations could have given it its result if real time allowed (tried by freeing
    /// each one from real time), and what stands in the way of each.
    pub(crate) fn context(
        &self,
        shrinker: &mut Shrinker<'_, M>,
        stuck: usize,
        partition: &[usize],
    ) -> Vec<String> {
        const SHOWN: usize = 3;
        const MAX_CHECKS: usize = 2_000;
        let mut checks = 0;
        let with = |extra: &[usize]| {
            let mut ops: Vec<usize> = self.ops.iter().chain(extra).copied().collect();
            ops.sort_unstable();
            ops
        };
        let k = &self.history.operations[stuck];
        // The operations nearest in time to the stuck one come first: they are the likeliest explanation.
        let mut nearest: Vec<usize> = partition
            .iter()
            .copied()
            .filter(|o| !self.ops.contains(o))
            .collect();
        nearest.sort_by_key(|&o| (self.history.operations[o].call.abs_diff(k.call), o));
        let mut helpers = Vec::new();
        for o in nearest {
            if helpers.len() >= SHOWN || checks >= MAX_CHECKS {
                break;
            }
            checks += 1;
            if shrinker.verdict_freeing(&with(&[o]), Some(o)) == Verdict::Ok {
                helpers.push(o);
            }
        }
        helpers.sort_unstable();
        if helpers.is_empty() {
            return vec![format!(
                "  No single other operation of the history could give #{stuck} that result, even ignoring real time."
            )];
        }
        let mut lines = vec![format!(
            "  Operations that could give #{stuck} that result, and why they do not:"
        )];
        for o in helpers {
            let op = &self.history.operations[o];
            let who = self.describe_any(o);
            if shrinker.verdict(&with(&[o])) == Verdict::Illegal {
                let after = match (k.ret, op.call) {
                    (Some(ret), call) if call > ret => {
                        format!("it was called after #{stuck} returned")
                    }
                    _ => "real time does not let it come before it".to_string(),
                };
                lines.push(format!("    {who}: {after}."));
                continue;
            }
            // It fits here, so operations of the history that real time puts between the two are in the way.
            let between: Vec<usize> = partition
                .iter()
                .copied()
                .filter(|&p| {
                    let q = &self.history.operations[p];
                    p != o
                        && !self.ops.contains(&p)
                        && op.ret.is_some_and(|r| r < q.call)
                        && q.ret.is_some_and(|r| r < k.call)
                })
                .collect();
            let mut blockers = Vec::new();
            for p in between {
                if blockers.len() >= SHOWN || checks >= MAX_CHECKS {
                    break;
                }
                checks += 1;
                if shrinker.verdict(&with(&[o, p])) == Verdict::Illegal {
                    blockers.push(p);
                }
            }
            if blockers.is_empty() {
                lines.push(format!(
                    "    {who}: the other operations leave no order in which it does."
                ));
            } else {
                let names: Vec<String> = blockers.iter().map(|&p| self.describe_any(p)).collect();
                lines.push(format!(
                    "    {who}: but after it returned and before #{stuck} was called came {}.",
                    names.join("; ")
                ));
            }
        }
        lines
    }
}
