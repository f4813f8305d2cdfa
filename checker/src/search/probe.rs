//! The probe: the same search with conflict-directed backjumping, run beside a search that is taking
//! long, to find a linearization the search would reach only after trying every combination of choices
//! that cannot matter.
//!
//! When a configuration fails, the search undoes the last choice and tries its next alternative. When
//! the failure comes from a wrong choice made long before (an append placed after the put that must
//! follow it, in one key of a map), every placement since then is undone and redone in every order
//! first, on every other key: exponential, although none of them can help. The probe instead records
//! what each failure depends on, as the set of placements on the path that a different choice could
//! have changed: those of operations that are not [`Model::independent`] of the operation that could
//! not be placed, plus what the failures under the configuration's other candidates depended on. It
//! then undoes everything above the last of them at once, skipping their alternatives, and passes the
//! rest of the set down to that placement's configuration (Prosser's conflict-directed backjumping).
//! Each refuted configuration keeps its set, as operations, so that entering it again by another path
//! blames the same placements wherever they now are.
//!
//! Backjumping over a configuration means its other candidates were never tried, but it stays in the
//! memo table as if they had been: that is what keeps the probe from searching again what it skipped.
//! So the probe may miss a linearization, and its running out of choices proves nothing. What it finds
//! is checked ([`super::witness`]) and then is a linearization: every step was accepted by the model,
//! in an order real time allows. `check` runs it with half of the step budget beside the search once
//! the search has explored four configurations per operation, takes its linearization if it finds one,
//! and drops it if it runs out; the search alone decides everything else.

use rustc_hash::FxHashMap;

use super::{Kind, Outcome, Search, REJECTED};
use crate::history::Operation;
use crate::model::Model;

/// What the failures seen so far in each configuration on the path depend on.
pub(super) struct Conflicts {
    /// Per configuration on the path (by depth), the placements (stack positions) its failures so far
    /// depend on, as a bitset.
    sets: Vec<Vec<u64>>,
    words: usize,
    /// Per operation, its position on the stack while it is placed.
    position: Vec<u32>,
    /// What the failure of each refuted configuration depended on, as operations, by (placed set's
    /// hash, state): entering one again fails for the same reasons, wherever they now are on the path.
    nogoods: FxHashMap<(u64, u32), Box<[u32]>>,
}

fn has(set: &[u64], j: usize) -> bool {
    set[j / 64] >> (j % 64) & 1 == 1
}

fn add(set: &mut [u64], j: usize) {
    set[j / 64] |= 1 << (j % 64);
}

impl<'h, M: Model> Search<'h, M> {
    /// A probe over `ops` (see the module's guide).
    pub(crate) fn probe(model: &'h M, ops: Vec<&'h Operation<M::Input, M::Output>>) -> Self {
        let words = ops.len().div_ceil(64).max(1);
        let mut search = Search::new(model, ops);
        search.jumps = Some(Conflicts {
            sets: vec![vec![0; words]],
            words,
            position: vec![0; search.ops.len()],
            nogoods: FxHashMap::default(),
        });
        search
    }

    /// For a probe: `op` has just been placed, on top of the stack; its configuration has no failures
    /// yet.
    pub(super) fn note_placed(&mut self, op: usize) {
        if let Some(jumps) = &mut self.jumps {
            let depth = self.stack.len();
            if jumps.sets.len() <= depth {
                jumps.sets.push(vec![0; jumps.words]);
            }
            jumps.sets[depth].fill(0);
            jumps.position[op] = depth as u32 - 1;
        }
    }

    /// Adds to `set` the placements of choices on the path whose operations are not independent of
    /// `op`: the ones whose order with it may matter.
    fn depends_on(&self, op: usize, set: &mut [u64]) {
        let input = &self.ops[op].input;
        for (j, frame) in self.stack.iter().enumerate() {
            if frame.kind == Kind::Choice
                && !self
                    .model
                    .independent(&self.ops[frame.op as usize].input, input)
            {
                add(set, j);
            }
        }
    }

    /// Notes that the candidate `op`, leading to `next` ([`REJECTED`] if the model rejects it), failed
    /// in the current configuration. For a probe, the failure depends on the placements `op` is not
    /// independent of; when it failed because it leads to a configuration refuted before, on what that
    /// one's failure depended on.
    pub(super) fn blame(&mut self, op: usize, next: u32) {
        let Some(mut jumps) = self.jumps.take() else {
            return;
        };
        let depth = self.stack.len();
        let key = (self.placed.hash_toggled(self.rank[op] as usize), next);
        match jumps.nogoods.get(&key).filter(|_| next != REJECTED) {
            Some(ops) => {
                for &other in ops.iter().filter(|&&o| o as usize != op) {
                    add(
                        &mut jumps.sets[depth],
                        jumps.position[other as usize] as usize,
                    );
                }
            }
            None => self.depends_on(op, &mut jumps.sets[depth]),
        }
        self.jumps = Some(jumps);
    }

    /// Refutes the current configuration, where `culprit` is the operation that could not be placed
    /// (`None`: the candidates' failures say it all). The search undoes the last choice; a probe
    /// undoes every placement down to the last one the failure depends on, and passes what else it
    /// depends on to that placement's configuration.
    pub(super) fn refute(&mut self, culprit: Option<usize>) -> Option<Outcome> {
        let Some(mut jumps) = self.jumps.take() else {
            return self.backtrack();
        };
        let depth = self.stack.len();
        let mut conflict = std::mem::take(&mut jumps.sets[depth]);
        if let Some(culprit) = culprit {
            self.depends_on(culprit, &mut conflict);
        }
        let outcome = loop {
            if !self.stack.is_empty() {
                let ops = (0..self.stack.len())
                    .filter(|&j| has(&conflict, j))
                    .map(|j| self.stack[j].op)
                    .collect();
                jumps.nogoods.insert((self.placed.hash(), self.state), ops);
            }
            let Some(frame) = self.undo() else {
                break Some(Outcome::Illegal(std::mem::take(&mut self.partials)));
            };
            let t = self.stack.len();
            let implicated = has(&conflict, t);
            conflict[t / 64] &= !(1 << (t % 64));
            if implicated && frame.kind == Kind::Choice {
                // Resume that configuration's candidates, knowing what this failure depended on.
                for (into, from) in jumps.sets[t].iter_mut().zip(&conflict) {
                    *into |= from;
                }
                break None;
            }
            if implicated {
                // A forced read has no alternative: what it depends on is what placed it.
                self.depends_on(frame.op as usize, &mut conflict);
            }
        };
        conflict.fill(0);
        jumps.sets[depth] = conflict;
        self.jumps = Some(jumps);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use super::super::{witness, Limits, Outcome, Search};
    use crate::gen::{generate, Anomaly, GenModel, GenOptions, Generated};
    use crate::models::{Kv, KvInput, KvOutput};
    use crate::History;

    type KvHistory = History<KvInput, KvOutput>;

    /// A whole-map history of many concurrent clients over a few keys.
    fn history(seed: u64, anomaly: Option<Anomaly>) -> KvHistory {
        let options = GenOptions {
            model: GenModel::Kv,
            clients: 16,
            keys: 6,
            operations: 400,
            concurrency: 16,
            anomaly,
            seed,
            pending_rate: 0.0,
        };
        match generate(&options).expect("valid options") {
            Generated::Kv(history) => history,
            _ => unreachable!("a kv history was asked for"),
        }
    }

    /// Runs a probe over the whole history to its end.
    fn probe(history: &KvHistory) -> (Outcome, u64) {
        let ops: Vec<_> = history.operations.iter().collect();
        let explored = AtomicU64::new(0);
        let limits = Limits {
            deadline: None,
            cancel: None,
            explored: &explored,
            max_partials: 0,
        };
        let mut search = Search::probe(&Kv, ops);
        let outcome = search
            .run(u64::MAX, &limits)
            .expect("an unlimited run ends");
        (outcome, search.explored)
    }

    #[test]
    fn what_a_probe_finds_in_a_clean_history_is_a_linearization() {
        let mut found = 0;
        for seed in 0..30 {
            let history = history(seed, None);
            let ops: Vec<_> = history.operations.iter().collect();
            match probe(&history) {
                (Outcome::Linearizable(order), _) => {
                    assert!(witness::is_linearization(&Kv, &ops, &order), "seed {seed}");
                    found += 1;
                }
                (Outcome::Illegal(_), explored) => {
                    eprintln!("seed {seed}: missed after {explored}")
                }
                _ => unreachable!("no limits"),
            }
        }
        assert_eq!(found, 30);
    }

    #[test]
    fn a_probe_never_finds_a_linearization_of_an_illegal_history() {
        for seed in 0..30 {
            let anomaly = [Anomaly::StaleRead, Anomaly::LostWrite][seed as usize % 2];
            let history = history(seed, Some(anomaly));
            let (outcome, _) = probe(&history);
            assert!(
                matches!(outcome, Outcome::Illegal(_)),
                "seed {seed}: {anomaly:?} history found linearizable"
            );
        }
    }
}
