//! The search for a linearization of one partition: Wing and Gong's backtracking with Lowe's just-in-time
//! linearization and memoization (the algorithm Porcupine uses), plus bounded evidence gathering.
//!
//! A configuration is the set of placed operations and the state they lead to. Its candidates are the
//! unplaced operations called before the first return entry still in the list (the *deadline*): only
//! they can come next. The search tries them one by one: the model must accept the step, and the new
//! configuration must not have been entered before (the memo table), which bounds the search by the
//! number of distinct configurations. When none works, the deadline's operation cannot be placed before
//! its return, the configuration is refuted, and the last placement is undone. When the deadline is the
//! return of an operation with no response, every completed operation has been placed, and the rest may
//! never have taken effect: the partition is linearizable.
//!
//! What keeps the search small:
//! - Reads are forced. When an operation the model declares read-only ([`Model::is_read_only`]) can be
//!   placed now, some linearization of the rest starts with it if any does: it changes no state, and every
//!   operation that had to precede it already has. So the search places it without making it a choice, and
//!   when that placement fails, so does the configuration it was made from. This removes the interleavings
//!   of reads with everything else, which are most of the configurations of a read-heavy history.
//! - Candidates are tried earliest return first, not in call order (Porcupine's). The operation at the
//!   deadline has to go before it, and trying it first leaves every other write to be placed as late as
//!   it may go, when more of the history constrains it; call order places every concurrent write at once
//!   and pays when the reads that follow show another order. When the deadline's operation fails, or is a
//!   read that does not fit, the candidates that do not commute with it in the current state (asked of
//!   the model) are tried before the ones that do: the others cannot change what it is waiting for, and
//!   trying them first is what makes a search over many independent objects (a whole key/value map)
//!   slow. The order never changes which configurations are searched, only how soon a linearization is
//!   found.
//! - Independent operations are not interleaved. When the model declares operations independent
//!   ([`Model::independent`]: kv operations on different keys), a configuration branches only on the
//!   candidates linked to the deadline's operation by a chain of dependence; some linearization starts
//!   with one of them if any does ([`Search::keep_dependent`] has the argument). Without it, a search of
//!   a whole map tries each key's choices under every combination of the other keys' (a persistent-set
//!   reduction, as partial-order reduction in model checking does it).
//! - Reads look ahead. A completed read that does not fit now must still fit after some of the unplaced
//!   operations called before it returned, the only ones that can come between. When the model can tell
//!   that none of them gets there ([`Model::may_fit_later`]: a kv get whose value starts neither with the
//!   current value nor with that of a put of the key still to come), the configuration is refuted at
//!   once. This is asked on arrival of every candidate read, and after each write of the reads called
//!   until shortly after that write's return, the ones that show where it belongs; a search that has
//!   gone on for long asks it of every read to come. A wrong order of concurrent writes is then refuted
//!   when it is made, not when the search reaches the read's return after every order of everything in
//!   between has been tried. With a model that never answers no, the look-ahead past the candidates
//!   stops after a trial.
//!
//! What keeps each step cheap: states are interned, so the search works on state numbers and remembers
//! the result of every (state, operation) step it has computed; the model (which may clone a map and build
//! a string) runs once per distinct step, however often the backtracking comes back to it. A search whose
//! steps nearly always lead to new states (appends to a growing value) stops keeping that table, which
//! would cost more than it saves. Memo keys are a hash, a state number and a word or two of the placed set
//! ([`memo`]), and a lookup allocates nothing. The candidate lists of the configurations on the path are
//! kept on one stack, so undoing a placement resumes its list where it was.
//!
//! The verdict does not depend on the thread count: a partition's search is sequential and deterministic.
//!
//! A search that goes on for long gets a [`probe`] beside it: the same search with conflict-directed
//! backjumping, which goes back to the placement a failure depends on at once, where the search would
//! undo the placements above it one by one. Its linearizations are checked ([`witness`]) and taken; its
//! failures prove nothing, and the search alone decides those.
//!
//! Evidence for an illegal partition is gathered at each backtrack: the placed operations are a linearizable
//! prefix, and the operations called before the blocking return are the ones none of which could come next.
//! Only the few longest prefixes are kept, so the memory it costs is bounded by `max_partials` times the
//! partition's size, whatever the length of the search.

mod bitset;
mod entries;
mod memo;
mod probe;
pub(crate) mod witness;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use rustc_hash::FxHashMap;

use crate::history::Operation;
use crate::model::Model;
use bitset::Bitset;
use entries::{Entries, HEAD, NIL};
use memo::Memo;

/// How often (in search iterations) the deadline and the cancel flag are looked at.
const POLL_EVERY: u32 = 1 << 12;

/// How many calls past a write's return the read look-ahead looks at after placing it.
const LOOK_AHEAD: u32 = 64;

/// Configurations explored (beyond four per operation) after which the look-ahead looks at every read
/// to come: by then the search is backtracking a lot, and refuting early saves more than looking costs.
const LOOK_FURTHER_AFTER: u64 = 4096;

/// How many times the look-ahead past the candidates runs without refuting anything before it stops.
const LOOK_AHEAD_TRIAL: u64 = 4096;

/// How many reads that do not fit the look-ahead asks about at most after placing a write: asking costs
/// a walk back over the calls before the read's return.
const LOOK_AHEAD_READS: u32 = 4;

/// How many earlier operations without a response an operation without one is compared with, to find
/// its twin ([`Search::twin`]): enough for the timed-out requests of a real history, and bounded so that
/// a history of millions of them does not cost a quadratic setup.
const TWIN_WINDOW: usize = 1024;

/// The transition table's mark for a step the model rejects.
const REJECTED: u32 = u32::MAX;

/// Limits and shared signals of one partition's search.
pub(crate) struct Limits<'a> {
    pub deadline: Option<Instant>,
    /// The user's cancel handle, when there is one. (Another partition found illegal stops this one
    /// only between rounds, so that which partitions are decided depends on nothing but steps.)
    pub cancel: Option<&'a AtomicBool>,
    /// Explored-state counter shared by all partitions, for progress display.
    pub explored: &'a AtomicU64,
    pub max_partials: usize,
}

/// A prefix of placed operations (local indices) with the candidates that could not follow.
pub(crate) struct RawPartial {
    pub prefix: Vec<usize>,
    pub stuck: Vec<usize>,
    pub blocking: usize,
}

pub(crate) enum Outcome {
    /// The placed operations (local indices), in order.
    Linearizable(Vec<usize>),
    Illegal(Vec<RawPartial>),
    TimedOut,
    Stopped,
}

/// One placement on the search stack.
#[derive(Clone, Copy)]
struct Frame {
    op: u32,
    /// The state before the placement.
    before: u32,
    kind: Kind,
    /// The configuration it was made from (see [`Search::at`]), restored when it is undone.
    from: At,
}

/// Where the search stands in one configuration: its candidate list and the next one to try.
#[derive(Clone, Copy)]
struct At {
    /// The first return entry (every candidate is called before it), or [`NIL`] when every operation is
    /// placed.
    deadline: u32,
    /// Where its candidate list starts in the pool. The list runs to the start of the next
    /// configuration's on the path, or to the pool's end for the current one.
    start: u32,
    /// The next candidate to try, as a position in the pool.
    next: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One of the candidates: undoing it resumes its configuration's candidate list after it.
    Choice,
    /// A forced read: it has no alternatives, so undoing it undoes the placement before it as well.
    Forced,
}

/// Interned model states: the search refers to a state by its number.
struct States<S> {
    list: Vec<S>,
    ids: FxHashMap<S, u32>,
}

impl<S: Clone + Eq + std::hash::Hash> States<S> {
    fn intern(&mut self, state: S) -> u32 {
        if let Some(&id) = self.ids.get(&state) {
            return id;
        }
        let id = u32::try_from(self.list.len()).expect("more than 2^32 distinct states");
        self.list.push(state.clone());
        self.ids.insert(state, id);
        id
    }
}

/// The search of one partition, resumable: [`Search::run`] goes on for a bounded number of steps, so that
/// a scheduler can share the threads fairly among partitions and an easy illegal partition is found even
/// while a hard one is being searched.
pub(crate) struct Search<'h, M: Model> {
    model: &'h M,
    ops: Vec<&'h Operation<M::Input, M::Output>>,
    /// Per local operation: its position in call order, which is its bit in `placed`.
    rank: Vec<u32>,
    /// Per local operation: the model declares it read-only.
    read_only: Vec<bool>,
    /// Per local operation without a response: the latest one called before it that is the same
    /// operation ([`Model::same_operation`]), or [`NIL`]. It is tried only once its twin is placed.
    twin: Vec<u32>,
    entries: Entries,
    placed: Bitset,
    memo: Memo,
    states: States<M::State>,
    /// (state << 32 | op) -> the state after the step, or [`REJECTED`].
    transitions: FxHashMap<u64, u32>,
    /// Times the look-ahead past the candidates ran, and refuted a configuration. A model whose
    /// [`Model::may_fit_later`] never answers no gains nothing from it, and it stops after a while.
    looked_ahead: u64,
    look_ahead_refuted: u64,
    /// Whether `transitions` is still kept: a search whose steps nearly always reach new states (appends
    /// to a growing value) gains nothing from it and stops paying for it.
    caching: bool,
    misses: u64,
    hits: u64,
    stack: Vec<Frame>,
    state: u32,
    /// The candidate lists of the configurations on the search path, the current one's last.
    pool: Vec<u32>,
    /// The current configuration's place in it.
    at: At,
    /// The search has just entered a configuration: force a read or refute it first.
    arrived: bool,
    partials: Vec<RawPartial>,
    /// Whether the model declares some of the writes independent ([`Search::keep_dependent`]).
    independence: bool,
    /// Scratch marks, one per operation, for [`Search::keep_dependent`].
    linked: Vec<bool>,
    /// Set for a probe ([`Search::probe`]): the conflicts of the configurations on the path.
    jumps: Option<probe::Conflicts>,
    pub explored: u64,
}

impl<'h, M: Model> Search<'h, M> {
    /// A search over `ops` (the partition's operations, none of them failed).
    pub(crate) fn new(model: &'h M, ops: Vec<&'h Operation<M::Input, M::Output>>) -> Self {
        let spans: Vec<(i64, Option<i64>)> = ops.iter().map(|op| (op.call, op.ret)).collect();
        let entries = Entries::new(&spans);
        let mut by_call: Vec<usize> = (0..ops.len()).collect();
        by_call.sort_by_key(|&i| (ops[i].call, i));
        let mut rank = vec![0u32; ops.len()];
        for (r, &i) in by_call.iter().enumerate() {
            rank[i] = r as u32;
        }
        let read_only: Vec<bool> = ops
            .iter()
            .map(|op| model.is_read_only(&op.input, op.output.as_ref()))
            .collect();
        let mut twin = vec![NIL; ops.len()];
        let pending: Vec<usize> = by_call
            .iter()
            .copied()
            .filter(|&i| ops[i].ret.is_none())
            .collect();
        for (k, &op) in pending.iter().enumerate() {
            let earlier = &pending[k.saturating_sub(TWIN_WINDOW)..k];
            if let Some(&same) = earlier
                .iter()
                .rev()
                .find(|&&other| model.same_operation(&ops[other].input, &ops[op].input))
            {
                twin[op] = same as u32;
            }
        }
        let mut states = States {
            list: Vec::new(),
            ids: FxHashMap::default(),
        };
        let state = states.intern(model.init());
        // Independence prunes candidates only when some writes are independent of each other.
        let writes: Vec<_> = ops
            .iter()
            .zip(&read_only)
            .filter(|(_, &read)| !read)
            .map(|(op, _)| &op.input)
            .collect();
        let independence = writes
            .first()
            .is_some_and(|first| writes.iter().any(|w| model.independent(first, w)));
        let linked = if independence {
            vec![false; ops.len()]
        } else {
            Vec::new()
        };
        let mut memo = Memo::default();
        let placed = Bitset::new(ops.len());
        memo.insert(&placed, state);
        Search {
            model,
            rank,
            read_only,
            twin,
            placed,
            ops,
            entries,
            memo,
            states,
            transitions: FxHashMap::default(),
            caching: true,
            looked_ahead: 0,
            look_ahead_refuted: 0,
            misses: 0,
            hits: 0,
            stack: Vec::new(),
            state,
            pool: Vec::new(),
            at: At {
                deadline: NIL,
                start: 0,
                next: 0,
            },
            arrived: true,
            partials: Vec::new(),
            independence,
            linked,
            jumps: None,
            explored: 0,
        }
    }

    /// Whether the model declares some of the writes independent of each other.
    pub(crate) fn independence(&self) -> bool {
        self.independence
    }

    /// Searches for at most `budget` steps; `None` when the budget ran out first.
    pub(crate) fn run(&mut self, mut budget: u64, limits: &Limits<'_>) -> Option<Outcome> {
        // A probe's failures prove nothing, so they are not evidence.
        let max_partials = if self.jumps.is_some() {
            0
        } else {
            limits.max_partials
        };
        let mut poll = POLL_EVERY;
        let mut reported = self.explored;
        let outcome = loop {
            poll -= 1;
            if poll == 0 {
                poll = POLL_EVERY;
                limits
                    .explored
                    .fetch_add(self.explored - reported, Ordering::Relaxed);
                reported = self.explored;
                let cancelled = limits.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
                if cancelled {
                    break Some(Outcome::Stopped);
                }
                if limits.deadline.is_some_and(|d| Instant::now() >= d) {
                    break Some(Outcome::TimedOut);
                }
            }
            if budget == 0 {
                break None;
            }
            budget -= 1;
            if let Some(done) = self.step(max_partials) {
                break Some(done);
            }
        };
        limits
            .explored
            .fetch_add(self.explored - reported, Ordering::Relaxed);
        outcome
    }

    /// The state after `op` from `state`, or [`REJECTED`]; the model runs once per distinct pair.
    fn transition(&mut self, state: u32, op: usize) -> u32 {
        let key = (u64::from(state) << 32) | op as u64;
        if self.caching {
            if let Some(&next) = self.transitions.get(&key) {
                self.hits += 1;
                return next;
            }
            self.misses += 1;
            // Every few thousand misses: give the table up if fewer than one lookup in nine found it.
            if self.misses & 4095 == 0 && self.hits * 8 < self.misses {
                self.caching = false;
                self.transitions = FxHashMap::default();
            }
        }
        let operation = self.ops[op];
        let next = match self.model.step(
            &self.states.list[state as usize],
            &operation.input,
            operation.output.as_ref(),
        ) {
            Some(next) => self.states.intern(next),
            None => REJECTED,
        };
        if self.caching {
            self.transitions.insert(key, next);
        }
        next
    }

    /// Whether the read-only `op` fits the current state. A read leaves the state as it is, so it needs
    /// neither the transition table nor the interner: the model's answer is only compared.
    fn fits(&self, op: usize) -> bool {
        let operation = self.ops[op];
        let state = &self.states.list[self.state as usize];
        self.model
            .step(state, &operation.input, operation.output.as_ref())
            .is_some_and(|next| next == *state)
    }

    /// Whether the read-only `op`, which does not fit the current state, may fit after some of the unplaced
    /// operations that can precede it: those called before it returned ([`Model::may_fit_later`]). Only a
    /// completed read is asked about: one with no response need never be placed.
    fn may_fit_later(&self, op: usize) -> bool {
        let operation = self.ops[op];
        if operation.ret.is_none() {
            return true;
        }
        // Every call still in the list before the read's return, nearest first (a write the read saw is
        // most often just before it), reads left out since they change nothing.
        let entries = &self.entries;
        let ops = &self.ops;
        let read_only = &self.read_only;
        let mut node = entries.ret_node(op);
        let mut between = std::iter::from_fn(|| loop {
            node = entries.prev(node);
            if node == HEAD {
                return None;
            }
            if entries.is_call(node) {
                let other = entries.op(node);
                if !read_only[other] {
                    return Some(&ops[other].input);
                }
            }
        });
        self.model.may_fit_later(
            &self.states.list[self.state as usize],
            &operation.input,
            operation.output.as_ref(),
            &mut between,
        )
    }

    /// A completed read, not yet a candidate, that can no longer fit in any order of what may still
    /// precede it, now that the write `placed` is placed; `None` also when the look-ahead has stopped
    /// (it refuted nothing in its trial).
    fn doomed_read(&mut self, deadline: u32, placed: usize) -> Option<usize> {
        if self.look_ahead_refuted == 0 && self.looked_ahead >= LOOK_AHEAD_TRIAL {
            return None;
        }
        self.looked_ahead += 1;
        let doomed = self.find_doomed_read(deadline, placed);
        self.look_ahead_refuted += u64::from(doomed.is_some());
        doomed
    }

    /// The reads that tell where a write belongs are the ones called while it and its concurrent writes
    /// are running or soon after it returned, so those are the ones looked at: the calls after
    /// `deadline` (the candidates' reads were looked at on arrival) until `placed`'s return, and
    /// [`LOOK_AHEAD`] calls past it, asking about [`LOOK_AHEAD_READS`] reads at most.
    fn find_doomed_read(&self, deadline: u32, placed: usize) -> Option<usize> {
        // Entries are numbered in time order, so the lifted return entry still tells where it was.
        let until = self.entries.ret_node(placed);
        let mut node = deadline;
        let (mut past, mut asked) = (0, 0);
        // A search that has gone on for long is in trouble, and a refutation found early saves more
        // than a full look-ahead costs.
        let full = self.explored > self.ops.len() as u64 * 4 + LOOK_FURTHER_AFTER;
        let (calls, reads) = if full {
            (u32::MAX, u32::MAX)
        } else {
            (LOOK_AHEAD, LOOK_AHEAD_READS)
        };
        while node != NIL && past < calls && asked < reads {
            if self.entries.is_call(node) {
                if node > until {
                    past += 1;
                }
                let op = self.entries.op(node);
                // A read independent of the write was as doomed, or not, before it was placed.
                let concerned = self.read_only[op]
                    && !(self.independence
                        && self
                            .model
                            .independent(&self.ops[placed].input, &self.ops[op].input));
                if concerned && !self.fits(op) {
                    asked += 1;
                    if !self.may_fit_later(op) {
                        return Some(op);
                    }
                }
            }
            node = self.entries.next(node);
        }
        None
    }

    /// Whether placing the candidate `op` here, leading to `next`, can be left untried because a
    /// configuration the search tries anyway covers it. Operations without a response are what makes
    /// this matter: such an operation may take effect at any point after its call, or never, so it is a
    /// candidate of every configuration after its call, and without this a search that backtracks tries
    /// every subset of them in every order (2^16 configurations for sixteen writes nobody read).
    ///
    /// Three cases, all about an operation with no response:
    /// - (A) `op` has none and leaves the state as it is (`next` is the current state): never taking
    ///   effect does the same.
    /// - (B) the last placement is a choice of an operation `p` with no response, made from the state
    ///   `s`, and `op` leads from `s` to the same state as from after `p` (a write erases an unread
    ///   write): `p` then `op` is covered by `op` alone from `s`, with `p` never taking effect.
    /// - (C) `op` has none, and its twin (the same operation, also without a response, called before it)
    ///   is not placed: the twin is tried in its place (timed-out writes of a few values, or retried
    ///   requests, are many copies of a few operations, and only how many of each took effect matters).
    ///
    /// Why this is sound. A configuration is *good* if some sequence of unplaced operations (a
    /// completion) takes it to a state where every completed operation is placed, each step accepted
    /// by the model, and each operation placed only once every operation that returned before its call
    /// is. Dropping an operation with no response from a completion keeps the rest valid as far as time
    /// goes (it has no return, so nothing waits for it), and such an operation is never required. So:
    /// if (X, s) has completion `o, rest` and `o` has no response and leads from `s` to `s`, then `rest`
    /// is a completion of (X, s) (case A); and if (X + p, s') has completion `op, rest` where `p` has no
    /// response and `op` leads from `s` and from `s'` to the same `t`, then `rest` is a completion of
    /// (X + op, t) (case B); and if (X + op, t) has completion `rest` where `op` has no response and
    /// neither has its unplaced twin `q`, then (X + q, t) has a completion as long, `rest` with `op` in
    /// the place of `q` if `q` is in it (case C): both steps are the same from every state, and `q`, called
    /// before `op`, may go wherever `op` may, and `op`, called before the deadline and never returning,
    /// wherever `q` went. Suppose the search ends without a linearization although the empty
    /// configuration is good. Then every configuration it entered was refuted (the memo table keeps
    /// them, and a configuration is entered at most once). Take an entered configuration `c` that is
    /// good with the shortest completion `o, rest` of any; `c` is not complete (a complete one ends the
    /// search on arrival), and its candidate list holds `o` (or, as the search's guide argues for forced
    /// reads and [`Search::keep_dependent`], a reordered completion of the same length starts with one
    /// it tried). Placing `o` was rejected (impossible: the completion is accepted), met an entered
    /// configuration (good, with the shorter completion `rest`: a contradiction), or was skipped here.
    /// Case A makes `c` good with the shorter `rest`. Case C makes `c` + `q` good with a completion as
    /// long as `rest`, and `q` is a candidate of `c` too (called before `o`, unplaced, and not a read,
    /// since a read without a response fits everywhere and is forced at once), so the argument goes on
    /// with `q` in place of `o`, along a chain of twins that ends, since each was called before the
    /// last. Case B makes (X + o, t) good with `rest`, where
    /// `c` is X + p; `o` was a candidate of X too (the same deadline, as `p` has no return, and one
    /// candidate more), so trying it there entered (X + o, t), met an entered configuration with the
    /// same completion, or was skipped, by case A (then X itself is good with `rest`) or by case B one
    /// level up (and the same argument goes on from there, towards the first placement). Every way
    /// ends in an entered configuration with a completion shorter than the shortest: a contradiction.
    fn unneeded(&mut self, op: usize, next: u32) -> bool {
        if self.entries.is_pending(op) {
            if next == self.state {
                return true;
            }
            let twin = self.twin[op];
            if twin != NIL && !self.placed.contains(self.rank[twin as usize] as usize) {
                return true;
            }
        }
        match self.stack.last() {
            Some(&Frame {
                op: last,
                before,
                kind: Kind::Choice,
                ..
            }) if self.entries.is_pending(last as usize) => self.transition(before, op) == next,
            _ => false,
        }
    }

    /// Places `op`, leading to `next`, if that configuration is new; false if it was entered before.
    fn place(&mut self, op: usize, next: u32, kind: Kind) -> bool {
        let bit = self.rank[op] as usize;
        self.placed.set(bit);
        if !self.memo.insert(&self.placed, next) {
            self.placed.clear(bit);
            return false;
        }
        self.explored += 1;
        self.stack.push(Frame {
            op: op as u32,
            before: self.state,
            kind,
            from: self.at,
        });
        // The new configuration has no candidate list until it is listed on arrival.
        let end = self.pool.len() as u32;
        self.at = At {
            deadline: NIL,
            start: end,
            next: end,
        };
        self.state = next;
        self.entries.lift(op);
        self.arrived = true;
        self.note_placed(op);
        true
    }

    /// Lists the current configuration's candidates: the unplaced operations called before the first
    /// return entry, less the read-only ones (a read that fits is forced on arrival, and one that does
    /// not fit cannot go next).
    ///
    /// They are tried earliest return first. The operation whose response comes first has to be placed
    /// before that point, and trying it first leaves everything else to be placed as late as it may go,
    /// when more of the history constrains it. The classic order (call order) places every concurrent
    /// write at once and pays for it when the reads that follow show another order. When the first
    /// candidate fails, [`Search::conflicts_first`] brings forward the ones that may help it.
    fn list_candidates(&mut self) {
        let start = self.pool.len();
        let mut node = self.entries.first();
        while node != NIL && self.entries.is_call(node) {
            let op = self.entries.op(node);
            if !self.read_only[op] {
                self.pool.push(op as u32);
            }
            node = self.entries.next(node);
        }
        if self.independence && node != NIL {
            self.keep_dependent(start, self.entries.op(node));
        }
        let entries = &self.entries;
        self.pool[start..].sort_unstable_by_key(|&op| entries.ret_node(op as usize));
        self.at = At {
            deadline: node,
            start: start as u32,
            next: start as u32,
        };
        if node != NIL && self.read_only[self.entries.op(node)] {
            self.conflicts_first(self.entries.op(node), start);
        }
    }

    /// Keeps, of the candidates in `pool[from..]`, only those linked to `deadline`'s operation by a chain
    /// of operations called before its return, each not independent of the next
    /// ([`Model::independent`]). If the configuration leads to a linearization, one starts with such a
    /// candidate: take any, and the first of its operations in the chain is independent of every one
    /// before it (or it would be in the chain); those were all called before the deadline and return
    /// after it, so it may be moved in front of them, and the states that follow are the same. (It is
    /// not a read: every read that fits was placed on arrival.) The others are left for later
    /// configurations, which is what keeps a search over many independent objects (a whole key/value
    /// map) from trying every interleaving of their choices.
    fn keep_dependent(&mut self, from: usize, deadline: usize) {
        let mut rest = Vec::new();
        let mut node = self.entries.first();
        while node != NIL && self.entries.is_call(node) {
            let op = self.entries.op(node);
            if op != deadline {
                rest.push(op);
            }
            node = self.entries.next(node);
        }
        let mut chain = vec![deadline];
        let mut checked = 0;
        while checked < chain.len() && !rest.is_empty() {
            let link = &self.ops[chain[checked]].input;
            let mut k = 0;
            while k < rest.len() {
                if self.model.independent(link, &self.ops[rest[k]].input) {
                    k += 1;
                } else {
                    chain.push(rest.swap_remove(k));
                }
            }
            checked += 1;
        }
        if rest.is_empty() {
            return;
        }
        for &op in &chain {
            self.linked[op] = true;
        }
        let mut kept = from;
        for k in from..self.pool.len() {
            let op = self.pool[k];
            if self.linked[op as usize] {
                self.pool[kept] = op;
                kept += 1;
            }
        }
        self.pool.truncate(kept);
        for &op in &chain {
            self.linked[op] = false;
        }
    }

    /// Moves ahead the candidates in `pool[from..]` that do not commute with `op`, keeping their order
    /// otherwise. It is called for `op`, the operation whose return is the deadline, in two cases: it is
    /// a read that does not fit yet, or it is the first candidate and has just failed. Either way what it
    /// is waiting for is most likely one of the operations that do not commute with it (a write that a
    /// read saw, one that a read saw before it, one the model wants in place first). Operations that
    /// commute with it cannot change that, and trying them first is what makes a search over many
    /// independent objects slow: each wrong choice on one object is found out again under every
    /// combination of choices on the others. Whether two operations commute is asked of the model, in
    /// the current state, so this needs no knowledge of the model's structure; and it only changes the
    /// order in which the candidates are tried, never which ones are.
    fn conflicts_first(&mut self, op: usize, from: usize) {
        let end = self.pool.len();
        let state = self.state;
        let op_now = self.transition(state, op);
        let mut conflicting = Vec::new();
        let mut rest = Vec::new();
        for k in from..end {
            let other = self.pool[k] as usize;
            let other_now = self.transition(state, other);
            if self.then(other_now, op) != self.then(op_now, other) {
                conflicting.push(other as u32);
            } else {
                rest.push(other as u32);
            }
        }
        let ordered = conflicting.into_iter().chain(rest);
        for (k, other) in (from..end).zip(ordered) {
            self.pool[k] = other;
        }
    }

    /// The state after `op` from `state`, where `state` may be [`REJECTED`].
    fn then(&mut self, state: u32, op: usize) -> u32 {
        if state == REJECTED {
            REJECTED
        } else {
            self.transition(state, op)
        }
    }

    /// Undoes placements until one that has alternatives left, and resumes its candidate list.
    fn backtrack(&mut self) -> Option<Outcome> {
        loop {
            let Some(frame) = self.undo() else {
                return Some(Outcome::Illegal(std::mem::take(&mut self.partials)));
            };
            if frame.kind == Kind::Choice {
                return None;
            }
        }
    }

    /// Undoes the last placement and returns to the configuration it was made from, where its
    /// candidate list stood; `None` when nothing is placed.
    fn undo(&mut self) -> Option<Frame> {
        let frame = self.stack.pop()?;
        let op = frame.op as usize;
        self.pool.truncate(self.at.start as usize);
        self.at = frame.from;
        self.state = frame.before;
        self.placed.clear(self.rank[op] as usize);
        self.entries.unlift(op);
        Some(frame)
    }

    /// One step of the search; `Some` when it is over.
    fn step(&mut self, max_partials: usize) -> Option<Outcome> {
        if std::mem::take(&mut self.arrived) {
            // A read that can go now goes now, and one that never can refutes the configuration (see the
            // module's guide). The candidates are the calls before the first return.
            let mut at = self.entries.first();
            while at != NIL && self.entries.is_call(at) {
                let op = self.entries.op(at);
                if self.read_only[op] {
                    if self.fits(op) {
                        if self.place(op, self.state, Kind::Forced) {
                            return None;
                        }
                        // Placing it leads to a configuration already refuted, so this one is refuted too.
                        self.blame(op, self.state);
                        return self.refute(None);
                    }
                    if !self.may_fit_later(op) {
                        // Nothing that can still come before this read leads to a state it fits.
                        let ret = self.entries.ret_node(op);
                        record_partial(
                            &self.entries,
                            &self.stack,
                            ret,
                            op,
                            max_partials,
                            &mut self.partials,
                        );
                        return self.refute(Some(op));
                    }
                }
                at = self.entries.next(at);
            }
            // Every completed operation is placed: the pending ones left may never have taken effect.
            if at == NIL || self.entries.is_pending(self.entries.op(at)) {
                let order = self.stack.iter().map(|f| f.op as usize).collect();
                return Some(Outcome::Linearizable(order));
            }
            let last = self.stack.last().filter(|f| f.kind == Kind::Choice);
            if let Some(placed) = last.map(|f| f.op as usize) {
                if let Some(read) = self.doomed_read(at, placed) {
                    let ret = self.entries.ret_node(read);
                    record_partial(
                        &self.entries,
                        &self.stack,
                        ret,
                        read,
                        max_partials,
                        &mut self.partials,
                    );
                    return self.refute(Some(read));
                }
            }
            self.list_candidates();
        }
        if (self.at.next as usize) < self.pool.len() {
            let first = self.pool[self.at.start as usize] as usize;
            if self.at.next == self.at.start + 1 && first == self.entries.op(self.at.deadline) {
                self.conflicts_first(first, self.at.next as usize);
            }
            let op = self.pool[self.at.next as usize] as usize;
            self.at.next += 1;
            let next = self.transition(self.state, op);
            if next == REJECTED || self.unneeded(op, next) || !self.place(op, next, Kind::Choice) {
                self.blame(op, next);
            }
            return None;
        }
        // Every candidate failed: the operation whose return comes first cannot be placed before it.
        let deadline = self.at.deadline;
        let blocking = self.entries.op(deadline);
        record_partial(
            &self.entries,
            &self.stack,
            deadline,
            blocking,
            max_partials,
            &mut self.partials,
        );
        self.refute(Some(blocking))
    }
}

/// Keeps the prefix on the stack if it is among the longest seen, bounded to `max` of them.
fn record_partial(
    entries: &Entries,
    stack: &[Frame],
    blocking_node: u32,
    blocking: usize,
    max: usize,
    partials: &mut Vec<RawPartial>,
) {
    let best = partials.first().map_or(0, |p| p.prefix.len());
    if max == 0 || stack.len() < best || (stack.len() == best && partials.len() >= max) {
        return;
    }
    let prefix: Vec<usize> = stack.iter().map(|f| f.op as usize).collect();
    if stack.len() > best {
        partials.clear();
    } else if partials.iter().any(|p| p.prefix == prefix) {
        return;
    }
    let mut stuck = Vec::new();
    let mut node = entries.first();
    while node != NIL && node != blocking_node {
        if entries.is_call(node) {
            stuck.push(entries.op(node));
        }
        node = entries.next(node);
    }
    partials.push(RawPartial {
        prefix,
        stuck,
        blocking,
    });
}
