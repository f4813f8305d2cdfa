//! [`KvServer`]: the key/value state machine ([`KvState`]) on a [`raft::rsm::Rsm`], which
//! proposes requests, answers each when its own entry applies and snapshots past `maxraftstate`.
//!
//! # The duplicate table
//! Per client, the table keeps its newest write applied and what that write returned
//! ([`LastWrite`]): nothing for a Put, the replaced value for an Append. A retransmission of that
//! write, applied later from another log entry, gets the same reply back without executing again;
//! since the table is built by applying the log in order and travels in snapshots, every server
//! computes the same reply. One entry per client, replaced by its next write, keeps at most one old
//! value per client.

use std::collections::BTreeMap;

use raft::rsm::{
    self, Rejection, Rsm, RsmConfig, RsmOutput, ServerInput, ServerOutput, StateMachine,
};
use raft::{Index, NodeId};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::message::{ClientId, Op, Reply, Request, Seq};

pub use raft::rsm::RestoreError;

/// Test-only switches that put a known bug back, so that a harness can show it catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// Answer a Get at once from the local store of a server that believes it is the leader,
    /// without going through the log. A deposed leader cut off from the majority keeps believing
    /// it leads until it hears a higher term, and serves stale values meanwhile.
    LocalReads,
    /// Execute every committed write, even one the duplicate table shows was executed already:
    /// a retried Put or Append takes effect twice (the lab's hint: at-most-once semantics).
    NoDuplicateDetection,
    /// Take snapshots without the duplicate table, so a server restored from one executes a
    /// retry of a write that the snapshot already holds (the lab's hint: the table travels in
    /// snapshots).
    SnapshotWithoutDups,
    /// Answer the request waiting at a log index with the result of whatever entry committed
    /// there, even a different operation from another leader's term (the lab's hint: check that
    /// the applied entry is the one this server proposed).
    WrongOpReply,
}

/// Configuration of one server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Raft, `maxraftstate` (`None` never snapshots: the lab's `maxraftstate = -1`) and how long a
    /// proposed request may wait for its entry before the clerk is told to try elsewhere.
    pub rsm: RsmConfig,
    /// `None` in any real use.
    pub mutation: Option<Mutation>,
}

impl Config {
    /// Server `me` of `peers`, no snapshots, a 500 ms operation timeout.
    pub fn new(me: NodeId, peers: usize) -> Config {
        Config {
            rsm: RsmConfig::new(me, peers),
            mutation: None,
        }
    }

    /// The Rsm's configuration, with the bug that belongs to it put back if asked.
    fn rsm(&self) -> RsmConfig {
        let mut rsm = self.rsm.clone();
        if self.mutation == Some(Mutation::WrongOpReply) {
            rsm.mutation = Some(rsm::Mutation::ReplyToAnyEntry);
        }
        rsm
    }
}

/// What the server is fed: ticks, clerks' requests and Raft messages.
pub type Input = ServerInput<Request>;

/// What the driver must carry out, in order: `Raft` (persist before anything that follows, or
/// send; never `Apply`), exactly as for a bare Raft node, and `Reply`, the answer to the clerk
/// request with that token.
pub type Output = ServerOutput<Reply>;

impl From<Rejection> for Reply {
    fn from(why: Rejection) -> Reply {
        match why {
            Rejection::WrongLeader => Reply::WrongLeader,
            Rejection::Timeout => Reply::Timeout,
        }
    }
}

/// The replicated state: the store and the duplicate table (what a snapshot carries).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvState {
    pub store: BTreeMap<String, String>,
    /// Per client, the newest write applied and its reply.
    pub dups: BTreeMap<ClientId, LastWrite>,
    /// Not replicated: the test switch, kept across snapshots by [`StateMachine::decode`].
    #[serde(skip)]
    mutation: Option<Mutation>,
}

/// The newest write applied for a client, with what it returned, for answering its retransmissions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastWrite {
    pub seq: Seq,
    /// The value an Append replaced; `None` after a Put.
    pub old: Option<String>,
    /// After a Cas: `None` if it took effect, else what the key held (its
    /// [`Reply::CasFailed`]); `None` after a Put or an Append too, which `old` tells apart.
    pub cas_failed: Option<String>,
}

impl LastWrite {
    /// The reply the write got. A client that reused the sequence number for a write of the other
    /// kind gets a reply of the wrong kind, which its clerk treats as a failure: a client bug must
    /// not panic a replicated state machine, which would meet the entry again after every restart.
    fn reply(&self) -> Reply {
        match (&self.old, &self.cas_failed) {
            (_, Some(current)) => Reply::CasFailed {
                current: current.clone(),
            },
            (Some(old), None) => Reply::Appended { old: old.clone() },
            (None, None) => Reply::Done,
        }
    }
}

impl KvState {
    /// Executes a committed request, in log order, and returns its reply. Deterministic: the reply
    /// depends only on the state, so whichever server holds the call answers the same.
    fn execute(&mut self, req: &Request) -> Reply {
        let dups_on = self.mutation != Some(Mutation::NoDuplicateDetection);
        let KvState { store, dups, .. } = self;
        if let Op::Get { key } = &req.op {
            return Reply::Value(store.get(key).cloned().unwrap_or_default());
        }
        if let Some(last) = dups.get(&req.client).filter(|_| dups_on) {
            if req.seq < last.seq {
                return Reply::Stale;
            }
            if req.seq == last.seq {
                return last.reply();
            }
        }
        let mut cas_failed = None;
        let old = match &req.op {
            Op::Get { .. } => unreachable!("answered above"),
            Op::Put { key, value } => {
                store.insert(key.clone(), value.clone());
                None
            }
            Op::Cas { key, from, to } => {
                // A failed cas is recorded too: its retransmission must fail again with the same
                // current value, even if the key has since come to hold `from`.
                match store.get_mut(key) {
                    Some(slot) if slot == from => *slot = to.clone(),
                    slot => cas_failed = Some(slot.cloned().unwrap_or_default()),
                }
                None
            }
            Op::Append { key, value } => {
                // The new value gets exactly the capacity it needs: a long chain of appends leaves
                // no doubled buffer behind, and the replaced value moves into the table uncopied.
                let slot = store.entry(key.clone()).or_default();
                let mut next = String::with_capacity(slot.len() + value.len());
                next.push_str(slot);
                next.push_str(value);
                Some(std::mem::replace(slot, next))
            }
        };
        let last = LastWrite {
            seq: req.seq,
            old,
            cas_failed,
        };
        let reply = last.reply();
        dups.insert(req.client, last);
        reply
    }
}

impl StateMachine for KvState {
    type Command = Request;
    type Reply = Reply;

    fn apply(&mut self, _index: Index, req: Request) -> Reply {
        self.execute(&req)
    }

    fn encode(&self) -> Vec<u8> {
        if self.mutation == Some(Mutation::SnapshotWithoutDups) {
            let without = KvState {
                dups: BTreeMap::new(),
                ..self.clone()
            };
            return postcard::to_allocvec(&without).expect("encoding into a Vec cannot fail");
        }
        postcard::to_allocvec(self).expect("encoding into a Vec cannot fail")
    }

    fn decode(&self, bytes: &[u8]) -> Result<Self, postcard::Error> {
        Ok(KvState {
            mutation: self.mutation,
            ..postcard::from_bytes(bytes)?
        })
    }
}

/// One kvraft server. See the crate documentation.
pub struct KvServer {
    rsm: Rsm<KvState>,
    out: Vec<RsmOutput<Reply>>,
    mutation: Option<Mutation>,
}

impl KvServer {
    /// A fresh server at time `now`.
    pub fn new(cfg: Config, now: u64, rng: Box<dyn RngCore + Send>) -> KvServer {
        let state = KvState {
            mutation: cfg.mutation,
            ..KvState::default()
        };
        KvServer {
            rsm: Rsm::new(cfg.rsm(), now, rng, state),
            out: Vec::new(),
            mutation: cfg.mutation,
        }
    }

    /// `StartKVServer` after a crash: Raft from its persisted state, the service from the snapshot.
    pub fn restore(
        cfg: Config,
        now: u64,
        rng: Box<dyn RngCore + Send>,
        raft_state: &[u8],
        snapshot: &[u8],
    ) -> Result<KvServer, RestoreError> {
        let fresh = KvState {
            mutation: cfg.mutation,
            ..KvState::default()
        };
        Ok(KvServer {
            rsm: Rsm::restore(cfg.rsm(), now, rng, raft_state, snapshot, fresh)?,
            out: Vec::new(),
            mutation: cfg.mutation,
        })
    }

    pub fn raft(&self) -> &raft::Raft {
        self.rsm.raft()
    }

    /// Mutable access for inspection hooks such as [`raft::Raft::take_log_dirty_from`].
    pub fn raft_mut(&mut self) -> &mut raft::Raft {
        self.rsm.raft_mut()
    }

    pub fn is_leader(&self) -> bool {
        self.rsm.is_leader()
    }

    /// The store and duplicate table, as of the last applied entry.
    pub fn state(&self) -> &KvState {
        self.rsm.state()
    }

    /// The local value of `key` ("" if absent), as of the last applied entry.
    pub fn value(&self, key: &str) -> &str {
        self.state().store.get(key).map_or("", String::as_str)
    }

    /// The index of the last entry applied to the store.
    pub fn applied(&self) -> Index {
        self.rsm.applied()
    }

    /// When the server next needs an [`Input::Tick`].
    pub fn next_deadline(&self) -> u64 {
        self.rsm.next_deadline()
    }

    /// Feeds one input at virtual time `now` and appends the resulting effects to `out`.
    pub fn step(&mut self, now: u64, input: Input, out: &mut Vec<Output>) {
        match input {
            Input::Request {
                token,
                req:
                    Request {
                        op: Op::Get { key },
                        ..
                    },
            } if self.mutation == Some(Mutation::LocalReads) && self.rsm.is_leader() => {
                let reply = Reply::Value(self.value(&key).to_string());
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

    fn rng() -> Box<dyn RngCore + Send> {
        Box::new(rand_chacha::ChaCha8Rng::seed_from_u64(3))
    }

    fn put(client: ClientId, seq: Seq, key: &str, value: &str) -> Request {
        Request {
            client,
            seq,
            op: Op::Put {
                key: key.into(),
                value: value.into(),
            },
        }
    }
    fn append(client: ClientId, seq: Seq, key: &str, value: &str) -> Request {
        Request {
            client,
            seq,
            op: Op::Append {
                key: key.into(),
                value: value.into(),
            },
        }
    }
    fn get(client: ClientId, seq: Seq, key: &str) -> Request {
        Request {
            client,
            seq,
            op: Op::Get { key: key.into() },
        }
    }

    /// A one-server cluster that has elected itself; returns it and the current time.
    fn leader(cfg: Config) -> (KvServer, u64) {
        let mut s = KvServer::new(cfg, 0, rng());
        let mut out = Vec::new();
        let t = s.next_deadline();
        s.step(t, Input::Tick, &mut out);
        assert!(s.is_leader());
        (s, t)
    }

    /// Submits `req` and ticks until its reply comes out.
    fn submit(s: &mut KvServer, now: &mut u64, token: u64, req: Request) -> Reply {
        let mut out = Vec::new();
        s.step(*now, Input::Request { token, req }, &mut out);
        for _ in 0..10 {
            if let Some(Output::Reply { reply, .. }) = out
                .iter()
                .find(|o| matches!(o, Output::Reply { token: t, .. } if *t == token))
            {
                return reply.clone();
            }
            *now = s.next_deadline().max(*now);
            s.step(*now, Input::Tick, &mut out);
        }
        panic!("no reply for token {token}: {out:?}");
    }

    #[test]
    fn writes_apply_once_and_reads_go_through_the_log() {
        let (mut s, mut now) = leader(Config::new(0, 1));
        assert_eq!(
            submit(&mut s, &mut now, 1, put(7, 1, "k", "a")),
            Reply::Done
        );
        assert_eq!(
            submit(&mut s, &mut now, 2, append(7, 2, "k", "b")),
            Reply::Appended { old: "a".into() }
        );
        // A retransmission of the append commits again but does not execute again: it gets the
        // old value of the first execution back.
        assert_eq!(
            submit(&mut s, &mut now, 3, append(7, 2, "k", "b")),
            Reply::Appended { old: "a".into() }
        );
        // An older write still in the log is neither executed nor answered with a value.
        assert_eq!(
            submit(&mut s, &mut now, 5, put(7, 1, "k", "a")),
            Reply::Stale
        );
        let applied = s.applied();
        assert_eq!(
            submit(&mut s, &mut now, 4, get(7, 3, "k")),
            Reply::Value("ab".into())
        );
        assert_eq!(s.applied(), applied + 1, "the Get took a log entry");
        assert_eq!(
            submit(&mut s, &mut now, 6, put(7, 4, "k", "c")),
            Reply::Done
        );
        assert_eq!(
            submit(&mut s, &mut now, 7, put(7, 4, "k", "c")),
            Reply::Done
        );
        // The Put replaced the cached old value: at most one per client.
        assert_eq!(
            s.state().dups[&7],
            LastWrite {
                seq: 4,
                old: None,
                cas_failed: None
            }
        );
    }

    #[test]
    fn a_follower_sends_clerks_away() {
        let mut s = KvServer::new(Config::new(0, 3), 0, rng());
        let mut out = Vec::new();
        s.step(
            0,
            Input::Request {
                token: 5,
                req: get(1, 1, "k"),
            },
            &mut out,
        );
        assert_eq!(
            out,
            vec![Output::Reply {
                token: 5,
                reply: Reply::WrongLeader
            }]
        );
    }

    #[test]
    fn an_uncommitted_request_times_out() {
        // Leader of a 3-server cluster whose peers never answer: it can never commit.
        let mut s = KvServer::new(Config::new(0, 3), 0, rng());
        let mut out = Vec::new();
        let mut now = s.next_deadline();
        s.step(now, Input::Tick, &mut out);
        for peer in [1, 2] {
            let vote = raft::Message::RequestVoteReply(raft::RequestVoteReply {
                term: s.raft().term(),
                vote_granted: true,
            });
            s.step(
                now,
                Input::Raft {
                    from: peer,
                    msg: vote,
                },
                &mut out,
            );
        }
        assert!(s.is_leader());
        out.clear();
        s.step(
            now,
            Input::Request {
                token: 9,
                req: put(1, 1, "k", "v"),
            },
            &mut out,
        );
        while !out.iter().any(|o| matches!(o, Output::Reply { .. })) {
            now = s.next_deadline();
            s.step(now, Input::Tick, &mut out);
        }
        let replies: Vec<&Output> = out
            .iter()
            .filter(|o| matches!(o, Output::Reply { .. }))
            .collect();
        assert_eq!(
            replies,
            vec![&Output::Reply {
                token: 9,
                reply: Reply::Timeout
            }]
        );
        assert!(now >= 500, "gave up at {now} ms, before the 500 ms timeout");
    }

    #[test]
    fn snapshots_bound_the_raft_state_and_restore_the_store() {
        let mut cfg = Config::new(0, 1);
        cfg.rsm.maxraftstate = Some(200);
        let (mut s, mut now) = leader(cfg.clone());
        let mut persisted = (Vec::new(), Vec::new());
        for i in 1..=50 {
            let mut out = Vec::new();
            s.step(
                now,
                Input::Request {
                    token: i,
                    req: append(4, i, "k", "x"),
                },
                &mut out,
            );
            now = s.next_deadline().max(now);
            s.step(now, Input::Tick, &mut out);
            for o in out {
                if let Output::Raft(raft::Output::Persist { state, snapshot }) = o {
                    persisted.0 = state;
                    if let Some(snap) = snapshot {
                        persisted.1 = snap;
                    }
                }
            }
        }
        assert_eq!(s.value("k"), "x".repeat(50));
        assert!(s.raft().snapshot_index() > 0, "never snapshotted");
        assert!(
            persisted.0.len() < 200 + 100,
            "raft state {} B kept growing",
            persisted.0.len()
        );
        let r = KvServer::restore(cfg, now, rng(), &persisted.0, &persisted.1).unwrap();
        assert_eq!(r.applied(), r.raft().snapshot_index());
        // Append number i adds one "x": the restored duplicate table and store agree, and the
        // table holds the old value the newest append returned.
        let n = r.value("k").len();
        assert!(n > 0);
        assert_eq!(
            r.state().dups[&4],
            LastWrite {
                seq: n as u64,
                old: Some("x".repeat(n - 1)),
                cas_failed: None,
            }
        );
        // Once it leads and has applied its log again, the restarted server answers a retry of
        // the last append with the old value of its first execution.
        let (mut r, mut now) = (r, now);
        let mut out = Vec::new();
        now = r.next_deadline().max(now);
        r.step(now, Input::Tick, &mut out);
        assert!(r.is_leader());
        assert_eq!(
            submit(&mut r, &mut now, 100, append(4, 50, "k", "x")),
            Reply::Appended {
                old: "x".repeat(49)
            }
        );
        assert_eq!(r.value("k"), "x".repeat(50));
    }

    #[test]
    fn local_reads_mutation_answers_without_the_log() {
        let cfg = Config {
            mutation: Some(Mutation::LocalReads),
            ..Config::new(0, 1)
        };
        let (mut s, mut now) = leader(cfg);
        assert_eq!(
            submit(&mut s, &mut now, 1, put(7, 1, "k", "a")),
            Reply::Done
        );
        let applied = s.applied();
        let mut out = Vec::new();
        s.step(
            now,
            Input::Request {
                token: 2,
                req: get(7, 2, "k"),
            },
            &mut out,
        );
        assert_eq!(
            out,
            vec![Output::Reply {
                token: 2,
                reply: Reply::Value("a".into())
            }]
        );
        assert_eq!(s.applied(), applied);
    }
    #[test]
    fn cas_swaps_only_on_a_match_and_its_retransmission_gets_the_first_answer() {
        let cas = |client, seq, from: &str, to: &str| Request {
            client,
            seq,
            op: Op::Cas {
                key: "k".into(),
                from: from.into(),
                to: to.into(),
            },
        };
        let (mut s, mut now) = leader(Config::new(0, 1));
        // An absent key holds "": no `from` written by a driver matches it.
        assert_eq!(
            submit(&mut s, &mut now, 1, cas(3, 1, "1", "2")),
            Reply::CasFailed { current: "".into() }
        );
        assert_eq!(
            submit(&mut s, &mut now, 2, put(4, 1, "k", "1")),
            Reply::Done
        );
        assert_eq!(
            submit(&mut s, &mut now, 3, cas(3, 2, "1", "2")),
            Reply::Done
        );
        assert_eq!(s.value("k"), "2");
        assert_eq!(
            submit(&mut s, &mut now, 4, cas(3, 3, "1", "5")),
            Reply::CasFailed {
                current: "2".into()
            }
        );
        // The key comes to hold "1" again; a retransmitted failed cas still fails, as first answered.
        assert_eq!(
            submit(&mut s, &mut now, 5, put(4, 2, "k", "1")),
            Reply::Done
        );
        assert_eq!(
            submit(&mut s, &mut now, 6, cas(3, 3, "1", "5")),
            Reply::CasFailed {
                current: "2".into()
            }
        );
        assert_eq!(s.value("k"), "1");
        assert_eq!(
            submit(&mut s, &mut now, 7, cas(3, 2, "1", "9")),
            Reply::Stale
        );
        assert_eq!(s.value("k"), "1");
    }
}
