//! [`CtrlServer`]: the configuration service's state machine ([`Configs`]) on an [`Rsm`].
//!
//! Join, Leave and Move each append config `Num + 1`; Query goes through the log too, so it reflects every operation that
//! completed before it began. A client's write is executed at most once: the duplicate table keeps
//! each client's newest write sequence number (writes return nothing, so nothing else), and it
//! travels in snapshots.

use std::collections::BTreeMap;

use raft::Index;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::config::{rebalance, Config, Gid};
use crate::message::{ClientId, CtrlOp, CtrlReply, CtrlRequest, Seq};
use raft::rsm::{
    Rejection, RestoreError, Rsm, RsmConfig, RsmOutput, ServerInput, ServerOutput, StateMachine,
};

/// The replicated state: every config so far and the duplicate table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Configs {
    pub configs: Vec<Config>,
    pub dups: BTreeMap<ClientId, Seq>,
}

impl Default for Configs {
    fn default() -> Self {
        Configs {
            configs: vec![Config::default()],
            dups: BTreeMap::new(),
        }
    }
}

impl Configs {
    pub fn latest(&self) -> &Config {
        self.configs.last().expect("config 0 always exists")
    }

    /// `Query(num)`.
    pub fn query(&self, num: i64) -> &Config {
        usize::try_from(num)
            .ok()
            .and_then(|n| self.configs.get(n))
            .unwrap_or_else(|| self.latest())
    }

    /// Executes one operation (no duplicate check).
    pub fn execute(&mut self, op: &CtrlOp) -> CtrlReply {
        let prev = self.latest().clone();
        let mut next = Config {
            num: prev.num + 1,
            ..prev.clone()
        };
        match op {
            CtrlOp::Query { num } => return CtrlReply::Config(self.query(*num).clone()),
            CtrlOp::Join { groups } => {
                next.groups.extend(groups.clone());
                next.shards = rebalance(&prev.shards, &gids(&next));
            }
            CtrlOp::Leave { gids: leaving } => {
                for g in leaving {
                    next.groups.remove(g);
                }
                next.shards = rebalance(&prev.shards, &gids(&next));
            }
            CtrlOp::Move { shard, gid } => {
                // An out-of-range shard changes nothing; any other Move makes a config, even
                // when the shard is already there (the test asks Num to grow only otherwise).
                let Some(slot) = next.shards.get_mut(*shard) else {
                    return CtrlReply::Ok;
                };
                *slot = *gid;
            }
        }
        self.configs.push(next);
        CtrlReply::Ok
    }
}

fn gids(c: &Config) -> Vec<Gid> {
    c.groups.keys().copied().collect()
}

impl StateMachine for Configs {
    type Command = CtrlRequest;
    type Reply = CtrlReply;

    fn apply(&mut self, _index: Index, req: CtrlRequest) -> CtrlReply {
        if req.op.is_query() {
            return self.execute(&req.op);
        }
        if self.dups.get(&req.client).is_some_and(|s| *s >= req.seq) {
            return CtrlReply::Ok;
        }
        self.dups.insert(req.client, req.seq);
        self.execute(&req.op)
    }

    fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("encoding into a Vec cannot fail")
    }

    fn decode(&self, bytes: &[u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

/// What a controller server is fed: ticks, clerks' requests and Raft messages.
pub type Input = ServerInput<CtrlRequest>;

/// What the driver carries out, in order: Raft's `Persist` and `Send`, and replies.
pub type Output = ServerOutput<CtrlReply>;

impl From<Rejection> for CtrlReply {
    fn from(why: Rejection) -> CtrlReply {
        match why {
            Rejection::WrongLeader => CtrlReply::WrongLeader,
            Rejection::Timeout => CtrlReply::Timeout,
        }
    }
}

/// Test-only switches that put a known bug back, so a harness can show it catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// A server that is not the leader answers Query at once from the configs it has applied,
    /// without a log entry: it may not have applied the latest Join, Leave or Move yet, so the
    /// config it returns can be stale (and a restarted server's, very stale).
    FollowerQueries,
}

/// One controller server.
pub struct CtrlServer {
    rsm: Rsm<Configs>,
    out: Vec<RsmOutput<CtrlReply>>,
    mutation: Option<Mutation>,
}

impl CtrlServer {
    pub fn new(cfg: RsmConfig, now: u64, rng: Box<dyn RngCore + Send>) -> Self {
        CtrlServer {
            rsm: Rsm::new(cfg, now, rng, Configs::default()),
            out: Vec::new(),
            mutation: None,
        }
    }

    /// `StartServer` after a crash, from the persisted bytes.
    pub fn restore(
        cfg: RsmConfig,
        now: u64,
        rng: Box<dyn RngCore + Send>,
        raft_state: &[u8],
        snapshot: &[u8],
    ) -> Result<Self, RestoreError> {
        Ok(CtrlServer {
            rsm: Rsm::restore(cfg, now, rng, raft_state, snapshot, Configs::default())?,
            out: Vec::new(),
            mutation: None,
        })
    }

    /// Puts a known bug back (tests only; see [`Mutation`]).
    pub fn with_mutation(mut self, mutation: Option<Mutation>) -> Self {
        self.mutation = mutation;
        self
    }

    pub fn rsm(&self) -> &Rsm<Configs> {
        &self.rsm
    }
    pub fn rsm_mut(&mut self) -> &mut Rsm<Configs> {
        &mut self.rsm
    }
    pub fn is_leader(&self) -> bool {
        self.rsm.is_leader()
    }
    /// The configs this server has applied.
    pub fn configs(&self) -> &Configs {
        self.rsm.state()
    }
    pub fn next_deadline(&self) -> u64 {
        self.rsm.next_deadline()
    }

    pub fn step(&mut self, now: u64, input: Input, out: &mut Vec<Output>) {
        match input {
            Input::Request {
                token,
                req:
                    CtrlRequest {
                        op: CtrlOp::Query { num },
                        ..
                    },
            } if self.mutation == Some(Mutation::FollowerQueries) && !self.rsm.is_leader() => {
                let reply = CtrlReply::Config(self.configs().query(num).clone());
                out.push(Output::Reply { token, reply });
            }
            input => self.rsm.step(now, input, &mut self.out),
        }
        out.extend(self.out.drain(..).map(Output::from));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn req(client: ClientId, seq: Seq, op: CtrlOp) -> CtrlRequest {
        CtrlRequest { client, seq, op }
    }
    fn join(gids: &[Gid]) -> CtrlOp {
        CtrlOp::Join {
            groups: gids.iter().map(|g| (*g, vec![format!("{g}a")])).collect(),
        }
    }
    fn query(s: &mut Configs, num: i64) -> Config {
        match s.apply(0, req(99, 0, CtrlOp::Query { num })) {
            CtrlReply::Config(c) => c,
            other => panic!("query answered {other:?}"),
        }
    }

    #[test]
    fn joins_leaves_and_moves_make_numbered_configs() {
        let mut s = Configs::default();
        assert_eq!(query(&mut s, -1), Config::default());
        assert_eq!(s.apply(1, req(1, 1, join(&[1]))), CtrlReply::Ok);
        assert_eq!(s.apply(2, req(1, 2, join(&[2]))), CtrlReply::Ok);
        let c2 = query(&mut s, -1);
        assert_eq!(c2.num, 2);
        assert_eq!(c2.groups.keys().copied().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(c2.groups[&2], vec!["2a".to_string()]);
        assert!(c2.is_balanced());
        s.apply(3, req(1, 3, CtrlOp::Move { shard: 0, gid: 2 }));
        let c3 = query(&mut s, 100);
        assert_eq!((c3.num, c3.shards[0]), (3, 2));
        // A Move of a shard already there still makes a config.
        s.apply(4, req(1, 4, CtrlOp::Move { shard: 0, gid: 2 }));
        assert_eq!(query(&mut s, -1).num, 4);
        s.apply(5, req(1, 5, CtrlOp::Leave { gids: vec![1] }));
        let c5 = query(&mut s, -1);
        assert_eq!(c5.shards, [2; 10]);
        // History is immutable.
        assert_eq!(query(&mut s, 2), c2);
        assert_eq!(query(&mut s, 0), Config::default());
    }

    #[test]
    fn a_retried_write_executes_once() {
        let mut s = Configs::default();
        s.apply(1, req(1, 1, join(&[1])));
        s.apply(2, req(1, 1, join(&[1])));
        assert_eq!(query(&mut s, -1).num, 1);
        // Another client's first write is new.
        s.apply(3, req(2, 1, join(&[3])));
        assert_eq!(query(&mut s, -1).num, 2);
    }

    #[test]
    fn a_server_answers_through_the_log_and_restores_from_its_snapshot() {
        let rng = || Box::new(rand_chacha::ChaCha8Rng::seed_from_u64(5));
        let cfg = RsmConfig {
            maxraftstate: Some(200),
            ..RsmConfig::new(0, 1)
        };
        let mut s = CtrlServer::new(cfg.clone(), 0, rng());
        let mut out = Vec::new();
        let mut now = s.next_deadline();
        s.step(now, Input::Tick, &mut out);
        assert!(s.is_leader());
        let (mut state, mut snap) = (Vec::new(), Vec::new());
        for i in 1..=20u64 {
            s.step(
                now,
                Input::Request {
                    token: i,
                    req: req(1, i, join(&[i])),
                },
                &mut out,
            );
            now = s.next_deadline().max(now);
            s.step(now, Input::Tick, &mut out);
            for o in out.drain(..) {
                match o {
                    Output::Raft(raft::Output::Persist {
                        state: st,
                        snapshot,
                    }) => {
                        state = st;
                        if let Some(sn) = snapshot {
                            snap = sn;
                        }
                    }
                    Output::Reply { token, reply } => {
                        assert_eq!((token, reply), (i, CtrlReply::Ok))
                    }
                    Output::Raft(_) => {}
                }
            }
        }
        assert_eq!(s.configs().latest().num, 20);
        assert!(s.rsm().raft().snapshot_index() > 0, "never snapshotted");
        let r = CtrlServer::restore(cfg, now, rng(), &state, &snap).unwrap();
        assert!(r.configs().latest().num > 0);
        assert_eq!(
            r.configs().configs[..],
            s.configs().configs[..r.configs().configs.len()]
        );
    }
}
