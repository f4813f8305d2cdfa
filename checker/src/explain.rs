//! Explaining a verdict of "not linearizable": a minimal illegal sub-history and a short story about it.
//!
//! A history of thousands of operations is illegal because of a few of them. [`explain`] finds those few by
//! delta debugging (Zeller and Hildebrandt 2002) over the operations of the first illegal partition: it
//! tries sub-histories made of chunks of the operations, then of their complements, in ever finer chunks,
//! and keeps any candidate that is still illegal. Each candidate is decided by the ordinary [`check`] with a
//! short time limit; a candidate that is not decided in time counts as "not illegal", which can only make
//! the result larger, never wrong. The result is 1-minimal: removing any one of its operations makes it
//! linearizable (or, rarely, undecidable in the time given, which the story then says).
//!
//! Removing operations is sound because every sub-history keeps its operations' intervals: if a
//! sub-history has no linearization, neither has any history that contains it, since a linearization of
//! the whole restricted to the sub-history's operations would be one of the sub-history.
//!
//! The story is told from a brute-force walk over the few remaining operations: every order that real time
//! allows, stepping the model. Either some operation fits none of these orders (then the story names it,
//! the states it meets, and the operations that real time puts before and after it), or each fits some
//! order but no order fits them all (then it tells where the longest orders get stuck).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::check::{check, Options};
use crate::history::{History, Operation};
use crate::model::Model;
use crate::verdict::{CheckResult, Counterexample, Verdict};

/// Limits of the search for a minimal sub-history.
#[derive(Debug, Clone)]
pub struct ExplainOptions {
    /// The time limit of each candidate's check.
    pub per_check: Duration,
    /// When this has passed, the smallest illegal sub-history found so far is reported (not minimal).
    pub budget: Duration,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        ExplainOptions {
            per_check: Duration::from_millis(200),
            budget: Duration::from_secs(10),
        }
    }
}

/// A minimal illegal sub-history of the first illegal partition of `result`, with its story; `None` when
/// no partition is illegal.
pub fn explain<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    result: &CheckResult,
    options: &ExplainOptions,
) -> Option<Counterexample> {
    let partition = result.illegal().next()?;
    // Failed operations had no effect and take no part in the check.
    let start: Vec<usize> = partition
        .operations
        .iter()
        .copied()
        .filter(|&i| !history.operations[i].failed)
        .collect();
    let mut shrinker = Shrinker::new(model, history, options);
    let mut ops = start.clone();
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
    // is gone, whether or not it was the problem).
    let pinned = partition
        .partial
        .first()
        .map(|p| p.blocking)
        .filter(|b| ops.contains(b));
    let ops = shrinker.ddmin(ops, pinned);
    // Verify 1-minimality (the last round of delta debugging made these checks; they are cached).
    let undecided: Vec<usize> = ops
        .iter()
        .filter(|&&i| shrinker.verdict(&without(&ops, i)) == Verdict::Unknown)
        .copied()
        .collect();
    let teller = Story::new(model, history, &ops);
    let (mut story, stuck) = teller.tell(&partition.label, start.len());
    if let Some(stuck) = stuck {
        story.extend(teller.context(&mut shrinker, stuck, &start));
    }
    if shrinker.out_of_time() {
        story.push(format!(
            "(The search for a smaller example stopped after {:.1}s: this one may not be minimal.)",
            options.budget.as_secs_f64()
        ));
    } else if !undecided.is_empty() {
        let names: Vec<String> = undecided.iter().map(|i| format!("#{i}")).collect();
        story.push(format!(
            "(Without {} the check did not finish in {} ms, so those may not be needed.)",
            names.join(", "),
            options.per_check.as_millis()
        ));
    }
    Some(Counterexample {
        partition: partition.label.clone(),
        operations: ops,
        story,
    })
}

/// The history without operation `op`.
fn without(ops: &[usize], op: usize) -> Vec<usize> {
    ops.iter().copied().filter(|&i| i != op).collect()
}

/// Checks sub-histories, with a cache and a time budget.
struct Shrinker<'a, M: Model> {
    sub: Sub<'a, M>,
    options: &'a ExplainOptions,
    started: Instant,
    cache: HashMap<Vec<usize>, Verdict>,
}

impl<'a, M: Model> Shrinker<'a, M> {
    fn new(
        model: &'a M,
        history: &'a History<M::Input, M::Output>,
        options: &'a ExplainOptions,
    ) -> Self {
        Shrinker {
            sub: Sub { model, history },
            options,
            started: Instant::now(),
            cache: HashMap::new(),
        }
    }

    fn out_of_time(&self) -> bool {
        self.started.elapsed() >= self.options.budget
    }

    /// The verdict of the sub-history made of `ops` (history indices in history order).
    fn verdict(&mut self, ops: &[usize]) -> Verdict {
        if let Some(&v) = self.cache.get(ops) {
            return v;
        }
        let v = self.verdict_freeing(ops, None);
        self.cache.insert(ops.to_vec(), v);
        v
    }

    /// The verdict of the sub-history made of `ops`, where operation `free` (if given) is freed from real
    /// time: its interval spans all the others.
    fn verdict_freeing(&mut self, ops: &[usize], free: Option<usize>) -> Verdict {
        if self.out_of_time() {
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
            timeout: Some(self.options.per_check),
            partition: false,
            max_partials: 1,
            ..Options::default()
        };
        check(&self.sub, &history, &options).map_or(Verdict::Unknown, |r| r.verdict)
    }

    fn illegal(&mut self, ops: &[usize]) -> bool {
        self.verdict(ops) == Verdict::Illegal
    }

    /// Delta debugging: the smallest illegal sub-history of `ops` it finds, 1-minimal unless time ran out.
    /// Operation `pinned`, when given, is kept throughout, and dropped at the end only if the rest is still
    /// illegal without it.
    fn ddmin(&mut self, ops: Vec<usize>, pinned: Option<usize>) -> Vec<usize> {
        let with_pin = |mut ops: Vec<usize>| {
            if let Some(p) = pinned {
                ops.push(p);
                ops.sort_unstable();
            }
            ops
        };
        let mut ops: Vec<usize> = ops.into_iter().filter(|&i| Some(i) != pinned).collect();
        if pinned.is_some() && self.illegal(&with_pin(Vec::new())) {
            ops.clear();
        }
        let mut n = 2;
        while ops.len() >= 2 && !self.out_of_time() {
            let chunks = split(&ops, n);
            if let Some(chunk) = chunks.iter().find(|c| self.illegal(&with_pin(c.to_vec()))) {
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
                    self.illegal(&with_pin(rest.clone())).then_some(rest)
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
        // A pinned operation stays only if it is needed.
        if pinned.is_some() && self.illegal(&ops) {
            return self.ddmin(ops, None);
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
struct Sub<'a, M: Model> {
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

/// The brute-force walk over a small illegal sub-history, and the story told from it.
struct Story<'a, M: Model> {
    model: &'a M,
    history: &'a History<M::Input, M::Output>,
    /// The operations, in the order of their calls.
    ops: Vec<usize>,
}

/// What the walk over every real-time order found.
struct Walk<S> {
    /// Per operation (position in `ops`): was it ever placed?
    placed_somewhere: Vec<bool>,
    /// Per operation: the states from which it was tried and did not fit.
    refused_in: Vec<Vec<S>>,
    /// The longest order found, and the state after it.
    longest: Vec<usize>,
    longest_state: Option<S>,
    /// True when the walk found an order of every completed operation (the check said otherwise).
    complete: bool,
    /// True when the walk stopped at its size limit.
    truncated: bool,
}

/// The largest sub-history walked exhaustively for the story.
const WALK_MAX_OPS: usize = 64;
const WALK_MAX_NODES: usize = 200_000;

impl<'a, M: Model> Story<'a, M> {
    fn new(model: &'a M, history: &'a History<M::Input, M::Output>, ops: &[usize]) -> Self {
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
    fn describe(&self, k: usize) -> String {
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
        let n = self.ops.len();
        let mut walk = Walk {
            placed_somewhere: vec![false; n],
            refused_in: vec![Vec::new(); n],
            longest: Vec::new(),
            longest_state: None,
            complete: false,
            truncated: n > WALK_MAX_OPS,
        };
        if walk.truncated {
            return walk;
        }
        let preds: Vec<u64> = (0..n)
            .map(|b| {
                (0..n)
                    .filter(|&a| self.before(a, b))
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
                        if !walk.refused_in[k].contains(&state) {
                            walk.refused_in[k].push(state.clone());
                        }
                    }
                }
            }
        }
        walk
    }

    fn states(&self, states: &[M::State]) -> String {
        let mut names: Vec<String> = states
            .iter()
            .map(|s| self.model.describe_state(s))
            .collect();
        names.sort();
        names.dedup();
        match names.len() {
            0 => "never reached".to_string(),
            1 => names.remove(0),
            _ => format!("one of {}", names.join(", ")),
        }
    }

    fn list(&self, ks: &[usize]) -> String {
        ks.iter()
            .map(|&k| self.describe(k))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The story, and the operation (history index) that fits no order, if there is one.
    fn tell(&self, label: &str, of: usize) -> (Vec<String>, Option<usize>) {
        let n = self.ops.len();
        let whole = if label == "all" {
            "the history".to_string()
        } else {
            format!("partition {label}")
        };
        let mut story = vec![match n {
            1 => format!("This operation alone (of the {of} of {whole}) is not linearizable:"),
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
                story.push(format!(
                    "{who} fits no order that real time allows: just before it the state is {}, and from there \
                     it cannot give that result.",
                    self.states(&walk.refused_in[k])
                ));
                let earlier: Vec<usize> = (0..n).filter(|&a| self.before(a, k)).collect();
                let later: Vec<usize> = (0..n).filter(|&b| self.before(k, b)).collect();
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
    fn context(
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
