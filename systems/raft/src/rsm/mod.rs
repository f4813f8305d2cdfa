//! [`Rsm`]: a service state machine replicated by a [`Raft`] node, the machinery every service
//! on Raft needs (kvraft's server, the shard controller, shardkv's groups): propose a command,
//! remember the caller under the entry's index, apply committed entries in order, answer the caller
//! when its own entry applies, snapshot past `maxraftstate`. [`Retry`] is the other side: a clerk's
//! rotation over the servers until one leads.
//!
//! It lives in the raft crate, as openraft keeps its `RaftStateMachine` beside its engine, so that
//! each service depends only on raft and none on another service for its plumbing.
//!
//! # Answering callers
//! A proposal with a token is *pending* under its log index. When that index applies, the caller gets
//! the state machine's reply if the entry applied is byte for byte the command it proposed; if
//! another entry took the index (a new leader overwrote it), if this node lost leadership or its term
//! moved on, or if nothing applied within [`RsmConfig::op_timeout`], the caller is
//! [`Rejection`]-ed and retries elsewhere. Duplicate detection belongs to the state machine: a retry
//! may commit twice.
//!
//! # Test switches
//! [`StateMachine::decode`] is called on the current state, so settings that are not replicated
//! (a service's test-only mutation) survive a snapshot; [`RsmConfig::mutation`] puts back the bug
//! of answering a caller with whatever entry took its index.
//!
//! # Snapshots
//! With `maxraftstate` set, once the persisted Raft state reaches that many bytes, the node hands Raft
//! a snapshot (the applied index and [`StateMachine::encode`]) and Raft drops the log prefix. A
//! snapshot from the leader replaces the state (the callers it covers are rejected).

use std::collections::BTreeMap;

use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{ApplyMsg, Index, NodeId, Raft, Term};

mod retry;

pub use retry::{Retry, Step};

/// The replicated service: commands in log order, the same replies on every replica.
pub trait StateMachine: Sized {
    type Command: Serialize + DeserializeOwned;
    type Reply;
    /// Executes a committed command (deterministically).
    fn apply(&mut self, index: Index, command: Self::Command) -> Self::Reply;
    /// The state a snapshot carries.
    fn encode(&self) -> Vec<u8>;
    /// The state a snapshot holds, replacing `self`; what `self` keeps outside the replicated
    /// state (test switches) carries over.
    fn decode(&self, bytes: &[u8]) -> Result<Self, postcard::Error>;
}

/// Timing and snapshot policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsmConfig {
    pub raft: crate::Config,
    /// Snapshot once the persisted Raft state reaches this many bytes; `None`: never.
    pub maxraftstate: Option<usize>,
    /// How long a pending proposal may wait for its entry, in ms.
    pub op_timeout: u64,
    /// `None` in any real use.
    pub mutation: Option<Mutation>,
}

/// Test-only switches that put a known bug back, so that a harness can show it catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// Answer the caller waiting at a log index with the reply of whatever entry committed there,
    /// even another leader's command (the lab's hint: check that the applied entry is the one
    /// this server proposed).
    ReplyToAnyEntry,
}

impl RsmConfig {
    /// Node `me` of `peers`, no snapshots, a 500 ms timeout.
    pub fn new(me: NodeId, peers: usize) -> RsmConfig {
        RsmConfig {
            raft: crate::Config::new(me, peers),
            maxraftstate: None,
            op_timeout: 500,
            mutation: None,
        }
    }
}

/// Why a pending caller gets no reply from the state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Not the leader, leadership lost, or the index went to another entry.
    WrongLeader,
    /// Nothing applied in time.
    Timeout,
}

/// What the driver carries out, in order (the rules of [`crate::Output`]).
#[derive(Debug, PartialEq, Eq)]
pub enum RsmOutput<R> {
    /// What Raft asks for: `Persist` or `Send`, never `Apply`, which the Rsm consumes itself.
    Raft(crate::Output),
    /// The state machine's reply to the proposal with `token`.
    Reply { token: u64, reply: R },
    /// The proposal with `token` will not be answered by the state machine.
    Rejected { token: u64, why: Rejection },
}

/// What a server on an Rsm is fed.
#[derive(Debug)]
pub enum ServerInput<C> {
    /// Time passed (Raft's timers, the pending callers' timeouts).
    Tick,
    /// A clerk's request; `token` is the driver's handle for the reply.
    Request { token: u64, req: C },
    /// A Raft message from peer `from`.
    Raft { from: NodeId, msg: crate::Message },
}

/// What a service whose only callers are clerks hands its driver: Raft's effects, and replies
/// (a [`Rejection`] becomes the reply that says so, through `From`).
#[derive(Debug, PartialEq, Eq)]
pub enum ServerOutput<R> {
    /// `Persist` or `Send`, carried out exactly as for a bare Raft node; never `Apply`.
    Raft(crate::Output),
    /// The answer to the request with this token.
    Reply { token: u64, reply: R },
}

impl<R: From<Rejection>> From<RsmOutput<R>> for ServerOutput<R> {
    fn from(o: RsmOutput<R>) -> Self {
        match o {
            RsmOutput::Raft(o) => ServerOutput::Raft(o),
            RsmOutput::Reply { token, reply } => ServerOutput::Reply { token, reply },
            RsmOutput::Rejected { token, why } => ServerOutput::Reply {
                token,
                reply: why.into(),
            },
        }
    }
}

/// Why persisted bytes could not be turned back into a node.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Raft(#[from] crate::RestoreError),
    #[error("cannot decode a {len}-byte snapshot")]
    Snapshot {
        len: usize,
        #[source]
        source: postcard::Error,
    },
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    applied: Index,
    state: Vec<u8>,
}

struct Pending {
    token: u64,
    term: Term,
    command: Vec<u8>,
    deadline: u64,
}

/// A replicated state machine. See the module documentation.
pub struct Rsm<S: StateMachine> {
    cfg: RsmConfig,
    raft: Raft,
    sm: S,
    applied: Index,
    pending: BTreeMap<Index, Pending>,
    raft_state_len: usize,
    raft_out: Vec<crate::Output>,
}

impl<S: StateMachine> Rsm<S> {
    pub fn new(cfg: RsmConfig, now: u64, rng: Box<dyn RngCore + Send>, sm: S) -> Self {
        let raft = Raft::new(cfg.raft.clone(), now, rng);
        Rsm {
            cfg,
            raft,
            sm,
            applied: 0,
            pending: BTreeMap::new(),
            raft_state_len: 0,
            raft_out: Vec::new(),
        }
    }

    /// A node after a crash: Raft from its state, the service from the snapshot (or `fresh` when
    /// there is none).
    pub fn restore(
        cfg: RsmConfig,
        now: u64,
        rng: Box<dyn RngCore + Send>,
        raft_state: &[u8],
        snapshot: &[u8],
        fresh: S,
    ) -> Result<Self, RestoreError> {
        let raft = Raft::restore(cfg.raft.clone(), now, rng, raft_state, snapshot)?;
        let (applied, sm) = if snapshot.is_empty() {
            (0, fresh)
        } else {
            decode(&fresh, snapshot)?
        };
        Ok(Rsm {
            cfg,
            raft,
            sm,
            applied,
            pending: BTreeMap::new(),
            raft_state_len: raft_state.len(),
            raft_out: Vec::new(),
        })
    }

    pub fn raft(&self) -> &Raft {
        &self.raft
    }
    pub fn raft_mut(&mut self) -> &mut Raft {
        &mut self.raft
    }
    pub fn is_leader(&self) -> bool {
        self.raft.is_leader()
    }
    /// The service state, as of [`Rsm::applied`].
    pub fn state(&self) -> &S {
        &self.sm
    }
    pub fn applied(&self) -> Index {
        self.applied
    }
    pub fn config(&self) -> &RsmConfig {
        &self.cfg
    }

    /// When the node next needs a tick.
    pub fn next_deadline(&self) -> u64 {
        let op = self.pending.values().map(|p| p.deadline).min();
        self.raft.next_deadline().min(op.unwrap_or(u64::MAX))
    }

    /// Time passed.
    pub fn tick(&mut self, now: u64, out: &mut Vec<RsmOutput<S::Reply>>) {
        self.raft.step(now, crate::Input::Tick, &mut self.raft_out);
        let expired: Vec<Index> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(i, _)| *i)
            .collect();
        for i in expired {
            let p = self.pending.remove(&i).expect("listed above");
            out.push(RsmOutput::Rejected {
                token: p.token,
                why: Rejection::Timeout,
            });
        }
        self.drain(now, out);
    }

    /// A Raft message from peer `from`.
    pub fn recv(
        &mut self,
        now: u64,
        from: NodeId,
        msg: crate::Message,
        out: &mut Vec<RsmOutput<S::Reply>>,
    ) {
        self.raft
            .step(now, crate::Input::Recv { from, msg }, &mut self.raft_out);
        self.drain(now, out);
    }

    /// One input of a server whose requests are its commands: a tick, a Raft message, or a
    /// request proposed with its token as the caller.
    pub fn step(
        &mut self,
        now: u64,
        input: ServerInput<S::Command>,
        out: &mut Vec<RsmOutput<S::Reply>>,
    ) {
        match input {
            ServerInput::Tick => self.tick(now, out),
            ServerInput::Raft { from, msg } => self.recv(now, from, msg, out),
            ServerInput::Request { token, req } => {
                self.propose(now, Some(token), &req, out);
            }
        }
    }

    /// Proposes `command`; with a token, its caller is answered when it applies. Returns the index,
    /// or `None` when this node is not the leader (a caller is then rejected at once).
    pub fn propose(
        &mut self,
        now: u64,
        token: Option<u64>,
        command: &S::Command,
        out: &mut Vec<RsmOutput<S::Reply>>,
    ) -> Option<Index> {
        let bytes = postcard::to_allocvec(command).expect("encoding into a Vec cannot fail");
        let (index, term, leader) = self.raft.start(now, bytes.clone(), &mut self.raft_out);
        if !leader {
            if let Some(token) = token {
                out.push(RsmOutput::Rejected {
                    token,
                    why: Rejection::WrongLeader,
                });
            }
            return None;
        }
        if let Some(token) = token {
            let p = Pending {
                token,
                term,
                command: bytes,
                deadline: now + self.cfg.op_timeout,
            };
            if let Some(old) = self.pending.insert(index, p) {
                out.push(RsmOutput::Rejected {
                    token: old.token,
                    why: Rejection::WrongLeader,
                });
            }
        }
        self.drain(now, out);
        Some(index)
    }

    fn drain(&mut self, now: u64, out: &mut Vec<RsmOutput<S::Reply>>) {
        while !self.raft_out.is_empty() {
            for o in std::mem::take(&mut self.raft_out) {
                match o {
                    crate::Output::Apply(m) => self.apply(m, out),
                    persist_or_send => {
                        if let crate::Output::Persist { state, .. } = &persist_or_send {
                            self.raft_state_len = state.len();
                        }
                        out.push(RsmOutput::Raft(persist_or_send));
                    }
                }
            }
            self.abandon_stale(out);
            self.maybe_snapshot(now);
        }
        self.abandon_stale(out);
    }

    fn apply(&mut self, m: ApplyMsg, out: &mut Vec<RsmOutput<S::Reply>>) {
        let id = self.cfg.raft.id;
        match m {
            ApplyMsg::Command { index, command, .. } => {
                assert_eq!(index, self.applied + 1, "node {id}: applied out of order");
                self.applied = index;
                let cmd: S::Command = postcard::from_bytes(&command).unwrap_or_else(|e| {
                    panic!("node {id}: log entry {index} is not a command: {e}")
                });
                let reply = self.sm.apply(index, cmd);
                if let Some(p) = self.pending.remove(&index) {
                    let any = self.cfg.mutation == Some(Mutation::ReplyToAnyEntry);
                    out.push(if p.command == command || any {
                        RsmOutput::Reply {
                            token: p.token,
                            reply,
                        }
                    } else {
                        RsmOutput::Rejected {
                            token: p.token,
                            why: Rejection::WrongLeader,
                        }
                    });
                }
            }
            ApplyMsg::Snapshot { index, data, .. } => {
                if index <= self.applied {
                    return;
                }
                let (applied, sm) = decode(&self.sm, &data)
                    .unwrap_or_else(|e| panic!("node {id}: the leader sent a bad snapshot: {e}"));
                assert_eq!(applied, index, "snapshot index and content disagree");
                self.applied = applied;
                self.sm = sm;
                let covered: Vec<Index> = self.pending.range(..=index).map(|(i, _)| *i).collect();
                for i in covered {
                    let p = self.pending.remove(&i).expect("listed above");
                    out.push(RsmOutput::Rejected {
                        token: p.token,
                        why: Rejection::WrongLeader,
                    });
                }
            }
        }
    }

    fn abandon_stale(&mut self, out: &mut Vec<RsmOutput<S::Reply>>) {
        let (term, leader) = self.raft.state();
        let stale: Vec<Index> = self
            .pending
            .iter()
            .filter(|(_, p)| !leader || p.term != term)
            .map(|(i, _)| *i)
            .collect();
        for i in stale {
            let p = self.pending.remove(&i).expect("listed above");
            out.push(RsmOutput::Rejected {
                token: p.token,
                why: Rejection::WrongLeader,
            });
        }
    }

    fn maybe_snapshot(&mut self, now: u64) {
        let Some(max) = self.cfg.maxraftstate else {
            return;
        };
        if self.raft_state_len >= max && self.applied > self.raft.snapshot_index() {
            let env = Envelope {
                applied: self.applied,
                state: self.sm.encode(),
            };
            let data = postcard::to_allocvec(&env).expect("encoding into a Vec cannot fail");
            self.raft
                .snapshot(now, self.applied, data, &mut self.raft_out);
        }
    }
}

/// The applied index and state a snapshot holds, decoded by `current` (see [`StateMachine::decode`]).
fn decode<S: StateMachine>(current: &S, bytes: &[u8]) -> Result<(Index, S), RestoreError> {
    let err = |source| RestoreError::Snapshot {
        len: bytes.len(),
        source,
    };
    let env: Envelope = postcard::from_bytes(bytes).map_err(err)?;
    Ok((env.applied, current.decode(&env.state).map_err(err)?))
}
