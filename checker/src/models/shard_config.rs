//! `shard-config`: a sharded configuration service (the shard controller of MIT 6.5840 lab 5A, or any
//! service of the same shape).
//!
//! The service keeps numbered configurations. Configuration 0 has no groups and every one of the
//! `shards` shards on group 0. `join` adds groups (id -> server names; a group that is present has its
//! servers replaced), `leave` removes groups, `move` puts one shard on one group; each makes the next
//! configuration. `query(num)` returns configuration `num`, or the latest for a negative number or one
//! past the end.
//!
//! Where the shards go after a join or a leave is the service's choice, so the model does not compute
//! it: it holds each configuration's number and groups exactly, and learns its shard assignment from
//! the first query that returns it. From then on every query of that configuration must return the
//! same assignment. An assignment is accepted when every shard is on a group of the configuration
//! (all on 0 when there are none), when after a join or a leave no group holds two more shards than
//! another, and when after a move the moved shard is on its group and, if the previous assignment is
//! known, nothing else changed. A stale query (an older configuration than every linearization
//! allows), a lost change, or a configuration that changed after it was read is therefore a
//! linearization failure.
//!
//! The whole history is one partition (every operation can observe every earlier change).
//!
//! JSON: `{"op":"join","groups":{"1":["a","b"]}}`, `{"op":"leave","gids":[1]}`,
//! `{"op":"move","shard":3,"gid":1}` -> null; `{"op":"query","num":-1}` ->
//! `{"config":{"num":2,"shards":[1,...],"groups":{"1":["a","b"]}}}`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::Model;

/// Group ids to server names.
pub type Groups = BTreeMap<u64, Vec<String>>;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum ConfigInput {
    Join {
        #[serde(deserialize_with = "groups_from_json")]
        groups: Groups,
    },
    Leave {
        gids: Vec<u64>,
    },
    Move {
        shard: usize,
        gid: u64,
    },
    Query {
        num: i64,
    },
}

/// A configuration as a query returns it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConfigView {
    pub num: u64,
    pub shards: Vec<u64>,
    #[serde(deserialize_with = "groups_from_json")]
    pub groups: Groups,
}

/// JSON object keys are strings; group ids are numbers. (An internally tagged enum reads its fields
/// through serde's buffered content, which does not turn `"1"` into `1` by itself.)
fn groups_from_json<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Groups, D::Error> {
    let raw = BTreeMap::<String, Vec<String>>::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            k.parse::<u64>()
                .map(|g| (g, v))
                .map_err(|_| serde::de::Error::custom(format!("group id {k:?} is not a number")))
        })
        .collect()
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConfigOutput {
    /// A query's configuration; absent for join, leave and move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Made {
    Initial,
    Rebalance,
    Move { shard: usize, gid: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Entry {
    made: Made,
    groups: Arc<Groups>,
    /// Learned from a query (or implied by a move of a known assignment).
    shards: Option<Arc<[u64]>>,
}

/// Every configuration so far, with what is known of its assignment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConfigState {
    configs: Arc<Vec<Entry>>,
}

impl ConfigState {
    /// The number of the latest configuration.
    pub fn latest(&self) -> u64 {
        self.configs.len() as u64 - 1
    }
}

/// The model; `shards` is the number of shards (10 in the lab).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardConfig {
    pub shards: usize,
}

impl Default for ShardConfig {
    fn default() -> Self {
        ShardConfig { shards: 10 }
    }
}

impl ShardConfig {
    fn push(&self, state: &ConfigState, made: Made, groups: Groups) -> ConfigState {
        let last = state.configs.last().expect("configuration 0 always exists");
        let shards = match made {
            Made::Move { shard, gid } => last.shards.as_ref().map(|s| {
                let mut s = s.to_vec();
                s[shard] = gid;
                Arc::from(s)
            }),
            _ if groups.is_empty() => Some(Arc::from(vec![0; self.shards])),
            _ => None,
        };
        let mut configs = (*state.configs).clone();
        configs.push(Entry {
            made,
            groups: Arc::new(groups),
            shards,
        });
        ConfigState {
            configs: Arc::new(configs),
        }
    }

    /// Whether `shards` may be the assignment of configuration `k`.
    fn acceptable(&self, configs: &[Entry], k: usize, shards: &[u64]) -> bool {
        let e = &configs[k];
        if shards.len() != self.shards {
            return false;
        }
        if e.groups.is_empty() {
            return shards.iter().all(|g| *g == 0);
        }
        if matches!(e.made, Made::Rebalance) {
            if shards.iter().any(|g| !e.groups.contains_key(g)) {
                return false;
            }
            let counts = e
                .groups
                .keys()
                .map(|g| shards.iter().filter(|s| *s == g).count());
            let (min, max) = counts.fold((usize::MAX, 0), |(lo, hi), c| (lo.min(c), hi.max(c)));
            if max - min > 1 {
                return false;
            }
        }
        if let Made::Move { shard, gid } = e.made {
            if shards[shard] != gid {
                return false;
            }
            if let Some(prev) = &configs[k - 1].shards {
                let same = (0..self.shards).all(|s| s == shard || prev[s] == shards[s]);
                if !same {
                    return false;
                }
            }
        }
        // A following move of a known assignment must differ from this one in its shard only.
        if let Some(next) = configs.get(k + 1) {
            if let (Made::Move { shard, .. }, Some(ns)) = (next.made, &next.shards) {
                if (0..self.shards).any(|s| s != shard && ns[s] != shards[s]) {
                    return false;
                }
            }
        }
        true
    }
}

impl Model for ShardConfig {
    type State = ConfigState;
    type Input = ConfigInput;
    type Output = ConfigOutput;

    fn init(&self) -> ConfigState {
        ConfigState {
            configs: Arc::new(vec![Entry {
                made: Made::Initial,
                groups: Arc::new(Groups::new()),
                shards: Some(Arc::from(vec![0; self.shards])),
            }]),
        }
    }

    fn step(
        &self,
        state: &ConfigState,
        input: &ConfigInput,
        output: Option<&ConfigOutput>,
    ) -> Option<ConfigState> {
        let last = state.configs.last().expect("configuration 0 always exists");
        let write = || output.is_none_or(|o| o.config.is_none());
        match input {
            ConfigInput::Join { groups } => {
                let mut g = (*last.groups).clone();
                g.extend(groups.iter().map(|(k, v)| (*k, v.clone())));
                write().then(|| self.push(state, Made::Rebalance, g))
            }
            ConfigInput::Leave { gids } => {
                let mut g = (*last.groups).clone();
                for gid in gids {
                    g.remove(gid);
                }
                write().then(|| self.push(state, Made::Rebalance, g))
            }
            ConfigInput::Move { shard, gid } => {
                if !write() {
                    return None;
                }
                if *shard >= self.shards {
                    return Some(state.clone());
                }
                let made = Made::Move {
                    shard: *shard,
                    gid: *gid,
                };
                Some(self.push(state, made, (*last.groups).clone()))
            }
            ConfigInput::Query { num } => {
                let Some(view) = output.and_then(|o| o.config.as_ref()) else {
                    // A query that never returned, or returned no configuration: no effect.
                    return output.is_none().then(|| state.clone());
                };
                let n = state.configs.len();
                let k = usize::try_from(*num)
                    .ok()
                    .filter(|k| *k < n)
                    .unwrap_or(n - 1);
                let e = &state.configs[k];
                if view.num != k as u64 || view.groups != *e.groups {
                    return None;
                }
                match &e.shards {
                    Some(known) => (**known == *view.shards).then(|| state.clone()),
                    None => {
                        if !self.acceptable(&state.configs, k, &view.shards) {
                            return None;
                        }
                        let mut configs = (*state.configs).clone();
                        configs[k].shards = Some(Arc::from(view.shards.clone()));
                        // A move right after it now has a known assignment too.
                        if let Some(Made::Move { shard, gid }) = configs.get(k + 1).map(|e| e.made)
                        {
                            if configs[k + 1].shards.is_none() {
                                let mut s = view.shards.clone();
                                s[shard] = gid;
                                configs[k + 1].shards = Some(Arc::from(s));
                            }
                        }
                        Some(ConfigState {
                            configs: Arc::new(configs),
                        })
                    }
                }
            }
        }
    }

    fn describe_input(&self, input: &ConfigInput) -> String {
        match input {
            ConfigInput::Join { groups } => {
                let g: Vec<String> = groups.keys().map(u64::to_string).collect();
                format!("join({})", g.join(", "))
            }
            ConfigInput::Leave { gids } => {
                let g: Vec<String> = gids.iter().map(u64::to_string).collect();
                format!("leave({})", g.join(", "))
            }
            ConfigInput::Move { shard, gid } => format!("move({shard} -> {gid})"),
            ConfigInput::Query { num } => format!("query({num})"),
        }
    }

    fn describe_output(&self, _input: &ConfigInput, output: &ConfigOutput) -> String {
        match &output.config {
            None => "ok".into(),
            Some(c) => {
                let s: Vec<String> = c.shards.iter().map(u64::to_string).collect();
                format!("#{} [{}]", c.num, s.join(" "))
            }
        }
    }

    fn describe_state(&self, state: &ConfigState) -> String {
        let last = state.configs.last().expect("configuration 0 always exists");
        let g: Vec<String> = last.groups.keys().map(u64::to_string).collect();
        format!("#{} groups {{{}}}", state.latest(), g.join(", "))
    }
}
