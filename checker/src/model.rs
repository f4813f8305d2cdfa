//! Models: the sequential specification a history is checked against.
//!
//! A [`Model`] is a deterministic state machine: from a state, an input and the output the client saw, it
//! gives the next state, or `None` when that output is impossible from that state. The output is `None`
//! for an operation that never got a response: the model then applies the input with whatever result it
//! would have had.
//!
//! A [`NondeterministicModel`] may have several next states for the same step (a queue that may lose an
//! element, a set read that may miss concurrent adds). The checker runs it on sets of states.
//!
//! Both may split a history into independent partitions (P-compositionality, Herlihy and Wing 1990): when
//! the operations of different partitions touch disjoint parts of the state, the history is linearizable
//! iff every partition is. A key/value store partitions by key.
//!
//! A model may also say which orders the values of a history force ([`Model::value_orders`]): a read that
//! saw a value comes after the one write that produced it, a read that missed an effect nothing undoes comes
//! before it. `--explain` joins these with real time into a graph whose cycles are violations it can tell
//! as a story (see [`crate::explain`]). The checker itself never needs them.

use std::fmt::Debug;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use crate::history::Operation;

/// An order between two operations that their values force: in every linearization of the history that
/// holds both, `from` comes before `to`. Operations are indices into the history.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ValueOrder {
    pub from: usize,
    pub to: usize,
    pub why: ValueReason,
    /// The reason as a sentence, with the values: `#15 read "a b", which holds #13's "b", so #13 precedes #15`.
    pub text: String,
}

/// Why the values force a [`ValueOrder`], in the vocabulary of dependency graphs (Adya; Elle).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ValueReason {
    /// Write-read: `to` observed `from`'s effect, which no other operation of the history produces.
    Observed,
    /// Write-read, by elimination: `to` observed the value `from` writes, and real time rules out every
    /// other operation that writes it (and the initial value, when it is the same) as the last write
    /// before `to`, each for the reason given. With no candidate left at all, the order holds vacuously:
    /// then `from` is ruled out too, by another edge of the cycle.
    LastWriter { ruled_out: Vec<RuledOut> },
    /// Write-write: `witness` observed `from`'s effect followed by `to`'s.
    Followed { witness: usize },
    /// Read-write (an anti-dependency): `from` observed a state that lacks `to`'s effect, which nothing
    /// after `since` (the write that state starts from) could have undone. With `since` `None` (`from`
    /// observed the initial state, which nothing restores) the order holds outright; otherwise it holds
    /// once `since` is known to precede `to`, which the explainer takes from real time or another order.
    Missed { since: Option<usize> },
    /// Write-write, by an overwrite: `reader` observed `to`'s effect, which no write since undid, so a
    /// write `from` that came before `reader` came before `to`. It holds once `from` is known to precede
    /// `reader`.
    Overwritten { reader: usize },
}

/// A write that cannot be the last one before a read, by real time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RuledOut {
    /// The operation that writes the value the read saw.
    pub writer: usize,
    /// A write called after `writer` returned and returned before the read was called, so that it always
    /// comes between them; `None`: `writer` was called after the read returned.
    pub by: Option<usize>,
}

impl ValueReason {
    /// The order this one holds under: `(a, b)` when it holds once `a` is known to precede `b`.
    pub fn condition(&self, from: usize, to: usize) -> Option<(usize, usize)> {
        match *self {
            ValueReason::Missed { since: Some(p) } => Some((p, to)),
            ValueReason::Overwritten { reader } => Some((from, reader)),
            _ => None,
        }
    }
}

/// A set of operations (indices into the history) checked together, with a label for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// For display: the key, or "all" for the whole history.
    pub label: String,
    /// Indices into the history's operations, in history order.
    pub operations: Vec<usize>,
}

impl Partition {
    /// One partition per key, labelled by the key, in key order: what models of keyed state (a key/value
    /// store, registers by name) build their `partition` from.
    pub fn by_key<K: std::fmt::Display>(
        by_key: std::collections::BTreeMap<K, Vec<usize>>,
    ) -> Vec<Self> {
        by_key
            .into_iter()
            .map(|(key, operations)| Partition {
                label: key.to_string(),
                operations,
            })
            .collect()
    }

    /// Every operation of a history of `len` operations as one partition.
    pub fn whole(len: usize) -> Self {
        Partition {
            label: "all".to_string(),
            operations: (0..len).collect(),
        }
    }
}

/// A deterministic sequential specification.
pub trait Model: Sync {
    type State: Clone + Eq + Hash + Send + Sync + Debug;
    type Input: Send + Sync + Debug;
    type Output: Send + Sync + Debug;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `input` produced `output` (`None`: unknown), or `None` if that cannot happen.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// Whether this operation is a pure read: from every state, `step` gives either `None` or that same
    /// state. The search then places it as soon as it fits instead of branching on it, which is sound only
    /// when this holds for every state; the default, false, is always safe.
    fn is_read_only(&self, _input: &Self::Input, _output: Option<&Self::Output>) -> bool {
        false
    }

    /// Whether the read-only operation (`input`, `output`), which does not fit `state`, may still fit a
    /// state reached from it by steps of some of the operations `between`, in some order. These are every
    /// operation that can still be linearized before the read, less the read-only ones (which change no
    /// state), nearest the read first; so answering false refutes the search's configuration at once,
    /// instead of after every order of those operations has been tried. The search also asks it of reads
    /// that are not candidates yet, after placing a write. It must answer true whenever it is not sure;
    /// the default always does.
    fn may_fit_later(
        &self,
        _state: &Self::State,
        _input: &Self::Input,
        _output: Option<&Self::Output>,
        _between: &mut dyn Iterator<Item = &Self::Input>,
    ) -> bool {
        true
    }

    /// Whether the two operations are independent: from every state, each one's step is accepted after
    /// the other's exactly when it is accepted before it, and both orders lead to the same state. A
    /// search over the whole state uses it to tell which earlier placements a failure can depend on
    /// (see the search's guide); answering false is always safe, and the default does.
    fn independent(&self, _a: &Self::Input, _b: &Self::Input) -> bool {
        false
    }

    /// Whether the two inputs are the same operation: from every state, without an output, both
    /// steps lead to the same state. Of two operations without a response that are the same, the
    /// search tries the one called first before the other (any linearization can exchange them),
    /// which is what keeps many timed-out writes of a few values from being tried in every subset.
    /// Answering false is always safe, and the default does.
    fn same_operation(&self, _a: &Self::Input, _b: &Self::Input) -> bool {
        false
    }

    /// Lets equal strings of the operations share one allocation, `strings` holding those of the
    /// operations already read (it is called on each block of a file as it is typed): a reader gives
    /// every operation its own copy of its key (a million kv operations on a thousand keys are a
    /// million strings), which costs memory, and comparisons of bytes where a comparison of pointers
    /// would do. It must leave every input and output equal to what it was. The default leaves them.
    fn share(
        &self,
        _operations: &mut [Operation<Self::Input, Self::Output>],
        _strings: &mut SharedStrings,
    ) {
    }

    /// Splits the history into independently checkable partitions. The default keeps it whole.
    fn partition(&self, operations: &[Operation<Self::Input, Self::Output>]) -> Vec<Partition> {
        vec![Partition::whole(operations.len())]
    }

    /// The orders that the values of the operations `subset` (indices into `operations`, none of them
    /// failed) force among themselves. Every order given must hold in every linearization of the history
    /// that contains both operations (an operation with no response may be left out of one), under the
    /// condition its reason states ([`ValueReason::condition`]); `--explain`
    /// finds cycles of these orders and real time, and tells them. The default knows of none, which is
    /// always sound.
    fn value_orders(
        &self,
        _operations: &[Operation<Self::Input, Self::Output>],
        _subset: &[usize],
    ) -> Vec<ValueOrder> {
        Vec::new()
    }

    /// How an input reads on a timeline: `put(x, a)`.
    fn describe_input(&self, input: &Self::Input) -> String {
        format!("{input:?}")
    }

    /// How an output reads on a timeline: `a`, `ok`.
    fn describe_output(&self, _input: &Self::Input, output: &Self::Output) -> String {
        format!("{output:?}")
    }

    /// How a state reads in a timeline's details.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}

/// A sequential specification whose steps may lead to several states.
pub trait NondeterministicModel: Sync {
    type State: Clone + Eq + Hash + Send + Sync + Debug;
    type Input: Send + Sync + Debug;
    type Output: Send + Sync + Debug;

    /// The possible states before any operation.
    fn init(&self) -> Vec<Self::State>;

    /// Every state the step may lead to; empty when the output is impossible.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Vec<Self::State>;

    /// Whether the two operations are independent: from every state, both orders lead to the same set
    /// of states. See [`Model::independent`]; the default, false, is always safe.
    fn independent(&self, _a: &Self::Input, _b: &Self::Input) -> bool {
        false
    }

    fn partition(&self, operations: &[Operation<Self::Input, Self::Output>]) -> Vec<Partition> {
        vec![Partition::whole(operations.len())]
    }

    fn describe_input(&self, input: &Self::Input) -> String {
        format!("{input:?}")
    }

    fn describe_output(&self, _input: &Self::Input, output: &Self::Output) -> String {
        format!("{output:?}")
    }

    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}

/// A set of states, the state of a [`NondeterministicModel`] run deterministically (the powerset
/// construction). Equality is set equality and the hash does not depend on the order of elements.
#[derive(Debug, Clone)]
pub struct StateSet<S>(pub Vec<S>);

impl<S: Eq> StateSet<S> {
    fn from_iter_dedup(items: impl IntoIterator<Item = S>) -> Self {
        let mut out: Vec<S> = Vec::new();
        for item in items {
            if !out.contains(&item) {
                out.push(item);
            }
        }
        StateSet(out)
    }
}

impl<S: Eq> PartialEq for StateSet<S> {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.0.iter().all(|s| other.0.contains(s))
    }
}

impl<S: Eq> Eq for StateSet<S> {}

impl<S: Hash> Hash for StateSet<S> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        use std::hash::BuildHasher;
        let build = rustc_hash::FxBuildHasher;
        let combined = self
            .0
            .iter()
            .fold(0u64, |acc, s| acc.wrapping_add(build.hash_one(s)));
        state.write_usize(self.0.len());
        state.write_u64(combined);
    }
}

/// Runs a [`NondeterministicModel`] as a [`Model`] over sets of states.
pub struct PowerSet<'a, M>(pub &'a M);

impl<M: NondeterministicModel> Model for PowerSet<'_, M> {
    type State = StateSet<M::State>;
    type Input = M::Input;
    type Output = M::Output;

    fn init(&self) -> Self::State {
        StateSet::from_iter_dedup(self.0.init())
    }

    fn step(
        &self,
        state: &Self::State,
        input: &M::Input,
        output: Option<&M::Output>,
    ) -> Option<Self::State> {
        let next =
            StateSet::from_iter_dedup(state.0.iter().flat_map(|s| self.0.step(s, input, output)));
        (!next.0.is_empty()).then_some(next)
    }

    fn independent(&self, a: &M::Input, b: &M::Input) -> bool {
        self.0.independent(a, b)
    }

    fn partition(&self, operations: &[Operation<M::Input, M::Output>]) -> Vec<Partition> {
        self.0.partition(operations)
    }

    fn describe_input(&self, input: &M::Input) -> String {
        self.0.describe_input(input)
    }

    fn describe_output(&self, input: &M::Input, output: &M::Output) -> String {
        self.0.describe_output(input, output)
    }

    fn describe_state(&self, state: &Self::State) -> String {
        match state.0.as_slice() {
            [one] => self.0.describe_state(one),
            many => {
                let parts: Vec<String> = many.iter().map(|s| self.0.describe_state(s)).collect();
                format!("one of {{{}}}", parts.join(", "))
            }
        }
    }
}

/// The strings of the operations read so far, one allocation each, for [`Model::share`].
#[derive(Debug, Default)]
pub struct SharedStrings(rustc_hash::FxHashSet<std::sync::Arc<str>>);

impl SharedStrings {
    /// Makes `s` the allocation of the first equal string seen, or remembers it as the first.
    pub fn share(&mut self, s: &mut std::sync::Arc<str>) {
        match self.0.get(&**s) {
            Some(shared) => *s = std::sync::Arc::clone(shared),
            None => {
                self.0.insert(std::sync::Arc::clone(s));
            }
        }
    }
}
