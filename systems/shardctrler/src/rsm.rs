//! [`Rsm`]: a service state machine replicated by a [`raft::Raft`] node, the machinery kvraft's
//! server has and both the controller and shardkv need: propose a command, remember the caller under
//! the entry's index, apply committed entries in order, answer the caller when its own entry applies,
//! snapshot past `maxraftstate`.
//!
//! # Answering callers
//! A proposal with a token is *pending* under its log index. When that index applies, the caller gets
//! the state machine's reply if the entry applied is byte for byte the command it proposed; if
//! another entry took the index (a new leader overwrote it), if this node lost leadership or its term
//! moved on, or if nothing applied within [`RsmConfig::op_timeout`], the caller is
//! [`Rejection`]-ed and retries elsewhere. Duplicate detection belongs to the state machine: a retry
//! may commit twice.
//!
//! # Snapshots
//! With `maxraftstate` set, once the persisted Raft state reaches that many bytes, the node hands Raft
//! a snapshot (the applied index and [`StateMachine::encode`]) and Raft drops the log prefix. A
//! snapshot from the leader replaces the state (the callers it covers are rejected).

use std::collections::BTreeMap;

use raft::{ApplyMsg, Index, NodeId, Raft, Term};
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The replicated service: commands in log order, the same replies on every replica.
pub trait StateMachine: Sized {
    type Command: Serialize + DeserializeOwned;
    type Reply;
    /// Executes a committed command (deterministically).
    fn apply(&mut self, index: Index, command: Self::Command) -> Self::Reply;
    /// The state a snapshot carries.
    fn encode(&self) -> Vec<u8>;
    fn decode(bytes: &[u8]) -> Result<Self, postcard::Error>;
}

/// Timing and snapshot policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsmConfig {
    pub raft: raft::Config,
    /// Snapshot once the persisted Raft state reaches this many bytes; `None`: never.
    pub maxraftstate: Option<usize>,
    /// How long a pending proposal may wait for its entry, in ms.
    pub op_timeout: u64,
}

impl RsmConfig {
    /// Node `me` of `peers`, no snapshots, a 500 ms timeout.
    pub fn new(me: NodeId, peers: usize) -> RsmConfig {
        RsmConfig {
            raft: raft::Config::new(me, peers),
            maxraftstate: None,
            op_timeout: 500,
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

/// What the driver carries out, in order (the rules of [`raft::Output`]).
#[derive(Debug, PartialEq, Eq)]
pub enum RsmOutput<R> {
    Persist {
        state: Vec<u8>,
        snapshot: Option<Vec<u8>>,
    },
    Send {
        to: NodeId,
        msg: raft::Message,
    },
    /// The state machine's reply to the proposal with `token`.
    Reply {
        token: u64,
        reply: R,
    },
    /// The proposal with `token` will not be answered by the state machine.
    Rejected {
        token: u64,
        why: Rejection,
    },
}

/// Why persisted bytes could not be turned back into a node.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Raft(#[from] raft::RestoreError),
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
    raft_out: Vec<raft::Output>,
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
            decode::<S>(snapshot)?
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
    /// For settings that live beside the replicated state but are not part of it (a test switch
    /// lost when a snapshot replaces the state). Changing replicated state through it would make
    /// replicas disagree.
    pub fn state_mut(&mut self) -> &mut S {
        &mut self.sm
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
        self.raft.step(now, raft::Input::Tick, &mut self.raft_out);
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
        msg: raft::Message,
        out: &mut Vec<RsmOutput<S::Reply>>,
    ) {
        self.raft
            .step(now, raft::Input::Recv { from, msg }, &mut self.raft_out);
        self.drain(now, out);
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
                    raft::Output::Persist { state, snapshot } => {
                        self.raft_state_len = state.len();
                        out.push(RsmOutput::Persist { state, snapshot });
                    }
                    raft::Output::Send { to, msg } => out.push(RsmOutput::Send { to, msg }),
                    raft::Output::Apply(m) => self.apply(m, out),
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
                    out.push(if p.command == command {
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
                let (applied, sm) = decode::<S>(&data)
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

fn decode<S: StateMachine>(bytes: &[u8]) -> Result<(Index, S), RestoreError> {
    let err = |source| RestoreError::Snapshot {
        len: bytes.len(),
        source,
    };
    let env: Envelope = postcard::from_bytes(bytes).map_err(err)?;
    Ok((env.applied, S::decode(&env.state).map_err(err)?))
}
