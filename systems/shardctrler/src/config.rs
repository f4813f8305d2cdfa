//! Configurations and the rebalancing rule.
//!
//! A [`Config`] assigns each of the [`NSHARDS`] shards to a replica group (a [`Gid`]) and lists the
//! servers of every group. Config 0 has no groups and every shard on gid 0 ("nobody").
//!
//! # Rebalancing
//! [`rebalance`] is a pure function of the previous assignment and the new set of groups, so every
//! replica computes the same config (Go's map order would not give that; a `BTreeMap` does). With
//! `n` groups every group ends with `NSHARDS / n` or one more shard (max - min <= 1), and as few
//! shards as possible move:
//! - the `NSHARDS % n` groups allowed one extra shard are the ones holding the most shards already
//!   (ties: the smaller gid), which maximizes what stays put;
//! - a group over its quota gives up its highest-numbered shards; shards on groups that left (or on
//!   gid 0) join them in a pool;
//! - groups under quota, smallest gid first, take the lowest-numbered shards of the pool.
//!
//! Every group keeps `min(held, quota)` of its shards, and no choice of quotas keeps more, so the
//! number of moves is the minimum.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The number of shards (the lab's `NShards`).
pub const NSHARDS: usize = 10;

/// A replica group's id; 0 means "no group".
pub type Gid = u64;

/// One configuration: which group serves which shard, and the servers of each group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Config {
    pub num: u64,
    pub shards: [Gid; NSHARDS],
    pub groups: BTreeMap<Gid, Vec<String>>,
}

impl Config {
    /// How many shards each group of the config holds (groups with none included).
    pub fn counts(&self) -> BTreeMap<Gid, usize> {
        let mut counts: BTreeMap<Gid, usize> = self.groups.keys().map(|g| (*g, 0)).collect();
        for g in self.shards {
            if let Some(c) = counts.get_mut(&g) {
                *c += 1;
            }
        }
        counts
    }

    /// The lab's `check()`: every shard on a group of the config (when there are groups), and
    /// max - min <= 1 shards per group.
    pub fn is_balanced(&self) -> bool {
        if self.groups.is_empty() {
            return self.shards.iter().all(|g| *g == 0);
        }
        if self.shards.iter().any(|g| !self.groups.contains_key(g)) {
            return false;
        }
        let counts = self.counts();
        let max = counts.values().max().copied().unwrap_or(0);
        let min = counts.values().min().copied().unwrap_or(0);
        max - min <= 1
    }
}

/// The assignment of shards to `groups` that follows `shards` with the fewest moves and keeps
/// max - min <= 1 (see the module documentation).
pub fn rebalance(shards: &[Gid; NSHARDS], groups: &[Gid]) -> [Gid; NSHARDS] {
    if groups.is_empty() {
        return [0; NSHARDS];
    }
    let mut held: BTreeMap<Gid, Vec<usize>> = groups.iter().map(|g| (*g, Vec::new())).collect();
    let mut pool = Vec::new();
    for (s, g) in shards.iter().enumerate() {
        match held.get_mut(g) {
            Some(v) => v.push(s),
            None => pool.push(s),
        }
    }
    let n = held.len();
    let (base, extra) = (NSHARDS / n, NSHARDS % n);
    let mut by_load: Vec<(Gid, usize)> = held.iter().map(|(g, v)| (*g, v.len())).collect();
    by_load.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let quota: BTreeMap<Gid, usize> = by_load
        .iter()
        .enumerate()
        .map(|(i, (g, _))| (*g, base + usize::from(i < extra)))
        .collect();
    for (g, v) in held.iter_mut() {
        while v.len() > quota[g] {
            pool.push(v.pop().expect("over quota, so not empty"));
        }
    }
    pool.sort_unstable();
    let mut pool = pool.into_iter();
    for (g, v) in held.iter_mut() {
        while v.len() < quota[g] {
            v.push(pool.next().expect("quotas add up to NSHARDS"));
        }
    }
    let mut out = [0; NSHARDS];
    for (g, v) in held {
        for s in v {
            out[s] = g;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(a: &[Gid; NSHARDS], b: &[Gid; NSHARDS]) -> usize {
        a.iter().zip(b).filter(|(x, y)| x != y).count()
    }

    fn counts(shards: &[Gid; NSHARDS], groups: &[Gid]) -> Vec<usize> {
        groups
            .iter()
            .map(|g| shards.iter().filter(|s| *s == g).count())
            .collect()
    }

    #[test]
    fn first_join_takes_everything_and_later_joins_move_only_to_the_newcomer() {
        let one = rebalance(&[0; NSHARDS], &[1]);
        assert_eq!(one, [1; NSHARDS]);
        let two = rebalance(&one, &[1, 2]);
        assert_eq!(counts(&two, &[1, 2]), vec![5, 5]);
        assert_eq!(moved(&one, &two), 5);
        let three = rebalance(&two, &[1, 2, 3]);
        // TestMinimalAgain: shards not moved to 3 stay put, at most NSHARDS/3 + 1 move.
        for s in 0..NSHARDS {
            assert!(
                three[s] == two[s] || three[s] == 3,
                "shard {s} moved elsewhere"
            );
        }
        assert_eq!(moved(&two, &three), 3);
        let mut c = counts(&three, &[1, 2, 3]);
        c.sort_unstable();
        assert_eq!(c, vec![3, 3, 4]);
    }

    #[test]
    fn leave_moves_only_the_leavers_shards() {
        let two = rebalance(&rebalance(&[0; NSHARDS], &[1]), &[1, 2]);
        let three = rebalance(&two, &[1, 2, 3]);
        let after = rebalance(&three, &[2, 3]);
        let lost = three.iter().filter(|g| **g == 1).count();
        assert_eq!(moved(&three, &after), lost);
        for s in 0..NSHARDS {
            if three[s] != 1 {
                assert_eq!(after[s], three[s], "shard {s} not on the leaver moved");
            }
        }
        assert_eq!(counts(&after, &[2, 3]), vec![5, 5]);
        assert_eq!(rebalance(&after, &[]), [0; NSHARDS]);
    }

    #[test]
    fn the_busiest_groups_keep_the_extra_shard() {
        // 1 holds 6, 2 holds 4: with a third group, quotas 4/3/3 go to 1 first, so only 3 move.
        let prev = [1, 1, 1, 1, 1, 1, 2, 2, 2, 2];
        let next = rebalance(&prev, &[1, 2, 3]);
        assert_eq!(moved(&prev, &next), 3);
        assert_eq!(counts(&next, &[1, 2, 3]), vec![4, 3, 3]);
    }

    #[test]
    fn more_groups_than_shards_and_determinism() {
        let groups: Vec<Gid> = (1..=12).collect();
        let a = rebalance(&[0; NSHARDS], &groups);
        let b = rebalance(&[0; NSHARDS], &groups);
        assert_eq!(a, b);
        let c = counts(&a, &groups);
        assert_eq!(c.iter().sum::<usize>(), NSHARDS);
        assert!(c.iter().all(|n| *n <= 1));
    }

    #[test]
    fn every_sequence_of_joins_and_leaves_stays_balanced_with_minimal_moves() {
        // An exhaustive-ish walk: every group set over gids 1..=6 reached by one join or leave.
        let mut shards = [0; NSHARDS];
        let mut groups: Vec<Gid> = Vec::new();
        let mut x: u64 = 12345;
        for _ in 0..500 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let g = (x >> 33) % 6 + 1;
            if let Some(i) = groups.iter().position(|h| *h == g) {
                groups.remove(i);
            } else {
                groups.push(g);
                groups.sort_unstable();
            }
            let next = rebalance(&shards, &groups);
            let cfg = Config {
                num: 1,
                shards: next,
                groups: groups.iter().map(|g| (*g, vec![])).collect(),
            };
            assert!(cfg.is_balanced(), "{groups:?}: {next:?}");
            // The lower bound on moves: shards on departed groups, plus the excess above the
            // quota that the groups cannot all keep.
            if !groups.is_empty() {
                let n = groups.len();
                let (base, extra) = (NSHARDS / n, NSHARDS % n);
                let mut held: Vec<usize> = counts(&shards, &groups);
                held.sort_unstable_by(|a, b| b.cmp(a));
                let kept: usize = held
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (*h).min(base + usize::from(i < extra)))
                    .sum();
                assert_eq!(moved(&shards, &next), NSHARDS - kept);
            }
            shards = next;
        }
    }
}
