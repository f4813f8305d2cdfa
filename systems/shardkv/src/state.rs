//! [`GroupState`]: what every replica of a group computes by applying its log.
//!
//! # Shards and configs
//! The group is at one config ([`GroupState::config`]) and holds a [`Slot`] per shard it owns or
//! still has to hand over:
//! - [`Status::Serving`]: owned in the config, data present. Only these shards answer clerks.
//! - [`Status::Waiting`]: owned in the config, data not arrived from the previous owner yet.
//! - [`Status::Sending`]: lost in the config; the data waits until the new owner has installed it,
//!   then a `Delete` entry drops it (challenge 1: no shard outlives its hand-over).
//!
//! A `Config` entry applies only if it is the next config and no shard is Waiting or Sending, so
//! configs are applied one at a time, in order, and a shard's data is always handed over exactly
//! once per config. Shards that do not move keep Serving across the change, and each gained shard
//! serves as soon as its own data is installed (challenge 2). A shard gained from gid 0 (nobody)
//! starts Serving empty.
//!
//! The ownership check is made when a client request *applies*, not when it arrives: a request
//! that entered the log before the config that took its shard away is answered `WrongGroup`.

use std::collections::BTreeMap;

use raft::rsm::StateMachine;
use raft::Index;
use serde::{Deserialize, Serialize};
use shardctrler::{Config, Gid, NSHARDS};

use crate::message::{
    key2shard, Command, KvOp, KvReply, KvRequest, LastWrite, PushReply, Shard, ShardData, ShardPush,
};
use crate::server::Mutation;

/// Where a shard stands in this group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Serving,
    Waiting,
    Sending,
}

/// One shard held by the group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub status: Status,
    pub data: ShardData,
}

/// The replicated state of one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    pub gid: Gid,
    pub config: Config,
    pub slots: BTreeMap<Shard, Slot>,
    /// Test-only; not in a snapshot (kept across one by [`StateMachine::decode`]).
    #[serde(skip)]
    pub(crate) mutation: Option<Mutation>,
}

/// What applying an entry answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    Kv(KvReply),
    Push(PushReply),
    Nothing,
}

impl GroupState {
    pub fn new(gid: Gid, mutation: Option<Mutation>) -> Self {
        GroupState {
            gid,
            config: Config::default(),
            slots: BTreeMap::new(),
            mutation,
        }
    }

    /// Every slot Serving: the group may move to the next config.
    pub fn settled(&self) -> bool {
        self.slots.values().all(|s| s.status == Status::Serving)
    }

    /// Whether the group answers clerks for `shard` now.
    pub fn serves(&self, shard: Shard) -> bool {
        match self.slots.get(&shard).map(|s| s.status) {
            Some(Status::Serving) => true,
            Some(Status::Waiting) => self.mutation == Some(Mutation::ServeBeforeData),
            _ => false,
        }
    }

    /// Shards waiting to be handed over, with their data.
    pub fn sending(&self) -> impl Iterator<Item = (Shard, &ShardData)> {
        self.slots
            .iter()
            .filter(|(_, s)| s.status == Status::Sending)
            .map(|(n, s)| (*n, &s.data))
    }

    /// The local value of `key` ("" if absent or not held).
    pub fn value(&self, key: &str) -> &str {
        self.slots
            .get(&key2shard(key))
            .and_then(|s| s.data.store.get(key))
            .map_or("", String::as_str)
    }

    /// Bytes of keys and values held, all slots together.
    pub fn bytes(&self) -> usize {
        self.slots.values().map(|s| s.data.bytes()).sum()
    }

    fn client(&mut self, req: KvRequest) -> KvReply {
        let shard = key2shard(req.op.key());
        if self.config.shards[shard] != self.gid || !self.serves(shard) {
            return KvReply::WrongGroup;
        }
        let data = &mut self.slots.get_mut(&shard).expect("served, so held").data;
        if let KvOp::Get { key } = &req.op {
            return KvReply::Value(data.store.get(key).cloned().unwrap_or_default());
        }
        if let Some(last) = data.dups.get(&req.client) {
            if req.seq < last.seq {
                return KvReply::Stale;
            }
            if req.seq == last.seq {
                return last.reply();
            }
        }
        let old = match req.op {
            KvOp::Get { .. } => unreachable!("answered above"),
            KvOp::Put { key, value } => {
                data.store.insert(key, value);
                None
            }
            KvOp::Append { key, value } => {
                let slot = data.store.entry(key).or_default();
                let mut next = String::with_capacity(slot.len() + value.len());
                next.push_str(slot);
                next.push_str(&value);
                Some(std::mem::replace(slot, next))
            }
        };
        let last = LastWrite { seq: req.seq, old };
        let reply = last.reply();
        data.dups.insert(req.client, last);
        reply
    }

    fn next_config(&mut self, next: Config) {
        let skip = self.mutation == Some(Mutation::SkipConfigs);
        if next.num != self.config.num + 1 && !(skip && next.num > self.config.num) {
            return;
        }
        if !self.settled() && !skip {
            return;
        }
        let me = self.gid;
        for s in 0..NSHARDS {
            let (old, new) = (self.config.shards[s], next.shards[s]);
            if old == me && new != me {
                if let Some(slot) = self.slots.get_mut(&s) {
                    slot.status = Status::Sending;
                }
            } else if old != me && new == me {
                let status = if old == 0 {
                    Status::Serving
                } else {
                    Status::Waiting
                };
                self.slots.insert(
                    s,
                    Slot {
                        status,
                        data: ShardData::default(),
                    },
                );
            }
        }
        self.config = next;
    }

    /// What a push for `config` would get now, before it goes through the log; `None`: it needs
    /// the log (the shard is Waiting for exactly this config).
    pub fn push_answer(&self, config: u64, shard: Shard) -> Option<PushReply> {
        if self.config.num < config {
            return Some(PushReply::NotYet);
        }
        let waiting = self.config.num == config
            && self
                .slots
                .get(&shard)
                .is_some_and(|s| s.status == Status::Waiting);
        (!waiting).then_some(PushReply::Installed)
    }

    fn install(&mut self, push: ShardPush) -> PushReply {
        if let Some(answer) = self.push_answer(push.config, push.shard) {
            return answer;
        }
        let mut data = push.data;
        if self.mutation == Some(Mutation::ForgetDups) {
            data.dups.clear();
        }
        let slot = self.slots.get_mut(&push.shard).expect("waiting, so held");
        if self.mutation == Some(Mutation::ServeBeforeData) {
            // What was written while "serving" without the data is overwritten by the data.
            slot.data.store.extend(data.store);
            slot.data.dups.extend(data.dups);
        } else {
            slot.data = data;
        }
        slot.status = Status::Serving;
        PushReply::Installed
    }

    fn delete(&mut self, config: u64, shard: Shard) {
        let sending = self
            .slots
            .get(&shard)
            .is_some_and(|s| s.status == Status::Sending);
        if self.config.num == config && sending {
            self.slots.remove(&shard);
        }
    }
}

impl StateMachine for GroupState {
    type Command = Command;
    type Reply = Applied;

    fn apply(&mut self, _index: Index, command: Command) -> Applied {
        match command {
            Command::Client(req) => Applied::Kv(self.client(req)),
            Command::Config(c) => {
                self.next_config(c);
                Applied::Nothing
            }
            Command::Install(push) => Applied::Push(self.install(push)),
            Command::Delete { config, shard } => {
                self.delete(config, shard);
                Applied::Nothing
            }
            Command::Noop => Applied::Nothing,
        }
    }

    fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("encoding into a Vec cannot fail")
    }

    fn decode(&self, bytes: &[u8]) -> Result<Self, postcard::Error> {
        Ok(GroupState {
            mutation: self.mutation,
            ..postcard::from_bytes(bytes)?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(num: u64, shards: [Gid; NSHARDS]) -> Config {
        let mut groups: BTreeMap<Gid, Vec<String>> = BTreeMap::new();
        for g in shards {
            if g != 0 {
                groups.insert(g, vec![format!("g{g}")]);
            }
        }
        Config {
            num,
            shards,
            groups,
        }
    }
    fn client(seq: u64, op: KvOp) -> Command {
        Command::Client(KvRequest { client: 7, seq, op })
    }
    fn append(key: &str, value: &str) -> KvOp {
        KvOp::Append {
            key: key.into(),
            value: value.into(),
        }
    }
    fn get(key: &str) -> KvOp {
        KvOp::Get { key: key.into() }
    }

    #[test]
    fn a_shard_moves_with_its_duplicate_table_and_is_deleted_after() {
        // "0" is shard 8. Group 1 owns everything in config 1, then loses shard 8 to group 2.
        let mut a = GroupState::new(1, None);
        let mut b = GroupState::new(2, None);
        a.apply(1, Command::Config(config(1, [1; NSHARDS])));
        b.apply(1, Command::Config(config(1, [1; NSHARDS])));
        assert_eq!(
            a.apply(2, client(1, append("0", "x"))),
            Applied::Kv(KvReply::Appended { old: "".into() })
        );
        let mut two = [1; NSHARDS];
        two[8] = 2;
        a.apply(3, Command::Config(config(2, two)));
        b.apply(2, Command::Config(config(2, two)));
        // The loser stops serving at once; the gainer waits for the data.
        assert_eq!(
            a.apply(4, client(2, get("0"))),
            Applied::Kv(KvReply::WrongGroup)
        );
        assert_eq!(
            b.apply(3, client(2, get("0"))),
            Applied::Kv(KvReply::WrongGroup)
        );
        assert!(!a.settled() && !b.settled());
        // Neither moves to config 3 before the hand-over.
        a.apply(5, Command::Config(config(3, [1; NSHARDS])));
        assert_eq!(a.config.num, 2);
        let (shard, data) = a.sending().next().expect("shard 8 is sending");
        assert_eq!(shard, 8);
        let push = ShardPush {
            config: 2,
            shard,
            data: data.clone(),
        };
        assert_eq!(b.push_answer(3, 8), Some(PushReply::NotYet));
        assert_eq!(
            b.apply(4, Command::Install(push.clone())),
            Applied::Push(PushReply::Installed)
        );
        // A retried install is a no-op that still says Installed.
        assert_eq!(b.push_answer(2, 8), Some(PushReply::Installed));
        assert_eq!(
            b.apply(5, Command::Install(push)),
            Applied::Push(PushReply::Installed)
        );
        assert_eq!(b.value("0"), "x");
        // The retry of the Append made before the move gets its old reply, not a second append.
        assert_eq!(
            b.apply(6, client(1, append("0", "x"))),
            Applied::Kv(KvReply::Appended { old: "".into() })
        );
        assert_eq!(b.value("0"), "x");
        a.apply(
            6,
            Command::Delete {
                config: 2,
                shard: 8,
            },
        );
        assert!(a.settled());
        assert!(!a.slots.contains_key(&8));
        a.apply(7, Command::Config(config(3, [1; NSHARDS])));
        assert_eq!(a.config.num, 3);
    }

    #[test]
    fn the_mutations_break_what_they_should() {
        let mut two = [1; NSHARDS];
        two[8] = 2;
        // Serving before the data: the gainer answers from an empty shard.
        let mut b = GroupState::new(2, Some(Mutation::ServeBeforeData));
        b.apply(1, Command::Config(config(1, [1; NSHARDS])));
        b.apply(2, Command::Config(config(2, two)));
        assert_eq!(
            b.apply(3, client(1, get("0"))),
            Applied::Kv(KvReply::Value("".into()))
        );
        // Forgetting the table: the retry executes again.
        let mut c = GroupState::new(2, Some(Mutation::ForgetDups));
        c.apply(1, Command::Config(config(1, [1; NSHARDS])));
        c.apply(2, Command::Config(config(2, two)));
        let mut data = ShardData::default();
        data.store.insert("0".into(), "x".into());
        data.dups.insert(
            7,
            LastWrite {
                seq: 1,
                old: Some("".into()),
            },
        );
        c.apply(
            3,
            Command::Install(ShardPush {
                config: 2,
                shard: 8,
                data,
            }),
        );
        c.apply(4, client(1, append("0", "x")));
        assert_eq!(c.value("0"), "xx");
        // Skipping configs: from 0 straight to 2.
        let mut d = GroupState::new(2, Some(Mutation::SkipConfigs));
        d.apply(1, Command::Config(config(2, two)));
        assert_eq!(d.config.num, 2);
        let mut e = GroupState::new(2, None);
        e.apply(1, Command::Config(config(2, two)));
        assert_eq!(e.config.num, 0);
    }
}
