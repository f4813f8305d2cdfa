//! [`ShardServer`]: one replica of a group: a [`GroupState`] on an [`Rsm`], plus what only the
//! group's leader does: poll the controller, push lost shards to their new owners, and ask the log
//! to delete a shard once its new owner has installed it.
//!
//! # Migration (push)
//! After a config that takes shard `s` away applies, `s` is Sending. The leader pushes it
//! ([`ShardPush`]: the config number, the store and the **duplicate table**, so a clerk's retry of
//! a write that was executed before the move is recognised after it) to the servers of the new
//! owner, one at a time until one answers. The receiving leader puts an `Install` entry in its log
//! and answers [`PushReply::Installed`] once it applies (or at once if it already did, or
//! `NotYet` if it has not reached that config). On `Installed` the sender logs `Delete` and the copy
//! is gone. Every retry is idempotent: an install or delete for another config or state is a no-op.
//!
//! # Timers
//! One deadline ([`ShardServer::next_deadline`]) covers Raft's, the pending requests' timeouts, the
//! config poll ([`POLL_MS`]), the push retries ([`PUSH_MS`]) and the controller clerk's backoff.

use std::collections::{BTreeMap, BTreeSet};

use raft::rsm::{RestoreError, Rsm, RsmConfig, RsmOutput};
use raft::NodeId;
use rand::RngCore;
use shardctrler::{CtrlClerk, CtrlOp, CtrlOutcome, CtrlReply, CtrlRequest, CtrlStep, Gid};

use crate::message::{key2shard, Command, KvReply, KvRequest, PushReply, Shard, ShardPush};
use crate::state::{Applied, GroupState};

/// How often the leader asks the controller for the next config, in ms (the lab's ~100 ms).
pub const POLL_MS: u64 = 100;
/// How often the leader pushes the shards it still has to hand over, in ms.
pub const PUSH_MS: u64 = 100;

/// Test-only switches that put a known bug back, so a harness can show it catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// Serve a gained shard before its data has arrived (from whatever it holds: nothing).
    ServeBeforeData,
    /// Drop the duplicate table when installing a migrated shard: a retried write executes twice.
    ForgetDups,
    /// Jump to the latest config as soon as it is seen, instead of applying each in order once
    /// the previous one's hand-overs are done.
    SkipConfigs,
}

/// Configuration of one server of group `gid`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub rsm: RsmConfig,
    pub gid: Gid,
    /// Number of controller servers (the clerk's `0..ctrlers`).
    pub ctrlers: usize,
    pub mutation: Option<Mutation>,
}

impl Config {
    /// Server `me` of `peers` in group `gid`, with `ctrlers` controller servers, no snapshots.
    pub fn new(gid: Gid, me: NodeId, peers: usize, ctrlers: usize) -> Config {
        Config {
            rsm: RsmConfig::new(me, peers),
            gid,
            ctrlers,
            mutation: None,
        }
    }
}

/// What the server is fed.
#[derive(Debug)]
pub enum Input {
    Tick,
    /// A clerk's request; `token` identifies the reply.
    Request {
        token: u64,
        req: KvRequest,
    },
    /// Another group's push; answer with [`Output::PushReply`].
    Push {
        token: u64,
        push: ShardPush,
    },
    /// The outcome of this server's push of `shard` for `config` (`None`: the call failed).
    PushDone {
        config: u64,
        shard: Shard,
        reply: Option<PushReply>,
    },
    /// The outcome of the last [`Output::Ctrl`] call (`None`: it failed).
    CtrlReply(Option<CtrlReply>),
    Raft {
        from: NodeId,
        msg: raft::Message,
    },
}

/// What the driver carries out, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// Raft's `Persist` or `Send`, carried out as for a bare Raft node; never `Apply`.
    Raft(raft::Output),
    /// The answer to clerk request `token`.
    Reply { token: u64, reply: KvReply },
    /// The answer to push request `token`.
    PushReply { token: u64, reply: PushReply },
    /// Call server `server` (a name from the config) with `push`; its outcome is
    /// [`Input::PushDone`].
    Push { server: String, push: ShardPush },
    /// Call controller server `to`; its outcome is [`Input::CtrlReply`].
    Ctrl { to: usize, req: CtrlRequest },
}

#[derive(Debug, Default)]
struct Pushing {
    server: usize,
    in_flight: bool,
}

/// One shardkv server.
pub struct ShardServer {
    cfg: Config,
    rsm: Rsm<GroupState>,
    rsm_out: Vec<RsmOutput<Applied>>,
    push_tokens: BTreeSet<u64>,
    ctrl: CtrlClerk,
    ctrl_resume_at: Option<u64>,
    next_poll: u64,
    next_push: u64,
    pushing: BTreeMap<Shard, Pushing>,
}

impl ShardServer {
    pub fn new(cfg: Config, now: u64, rng: Box<dyn RngCore + Send>) -> Self {
        let state = GroupState::new(cfg.gid, cfg.mutation);
        let rsm = Rsm::new(cfg.rsm.clone(), now, rng, state);
        Self::around(cfg, rsm, now)
    }

    /// `StartServer` after a crash, from the persisted bytes.
    pub fn restore(
        cfg: Config,
        now: u64,
        rng: Box<dyn RngCore + Send>,
        raft_state: &[u8],
        snapshot: &[u8],
    ) -> Result<Self, RestoreError> {
        let fresh = GroupState::new(cfg.gid, cfg.mutation);
        let rsm = Rsm::restore(cfg.rsm.clone(), now, rng, raft_state, snapshot, fresh)?;
        Ok(Self::around(cfg, rsm, now))
    }

    fn around(cfg: Config, rsm: Rsm<GroupState>, now: u64) -> Self {
        // Queries need no duplicate detection, so any clerk id does.
        let id = (cfg.gid << 16) | cfg.rsm.raft.id as u64;
        ShardServer {
            ctrl: CtrlClerk::new(id, cfg.ctrlers),
            cfg,
            rsm,
            rsm_out: Vec::new(),
            push_tokens: BTreeSet::new(),
            ctrl_resume_at: None,
            next_poll: now,
            next_push: now + PUSH_MS,
            pushing: BTreeMap::new(),
        }
    }

    pub fn gid(&self) -> Gid {
        self.cfg.gid
    }
    pub fn rsm(&self) -> &Rsm<GroupState> {
        &self.rsm
    }
    pub fn rsm_mut(&mut self) -> &mut Rsm<GroupState> {
        &mut self.rsm
    }
    pub fn state(&self) -> &GroupState {
        self.rsm.state()
    }
    pub fn is_leader(&self) -> bool {
        self.rsm.is_leader()
    }

    pub fn next_deadline(&self) -> u64 {
        let mut t = self.rsm.next_deadline().min(self.next_poll);
        t = t.min(self.next_push);
        t.min(self.ctrl_resume_at.unwrap_or(u64::MAX))
    }

    pub fn step(&mut self, now: u64, input: Input, out: &mut Vec<Output>) {
        match input {
            Input::Tick => {
                self.rsm.tick(now, &mut self.rsm_out);
                self.commit_own_term(now);
                if self.ctrl_resume_at.is_some_and(|t| t <= now) {
                    self.ctrl_resume_at = None;
                    let step = self.ctrl.resume();
                    self.on_ctrl_step(now, step, out);
                }
                if now >= self.next_poll {
                    self.next_poll = now + POLL_MS;
                    self.poll(now, out);
                }
                if now >= self.next_push {
                    self.next_push = now + PUSH_MS;
                    self.push_all(out);
                }
            }
            Input::Raft { from, msg } => self.rsm.recv(now, from, msg, &mut self.rsm_out),
            Input::Request { token, req } => self.request(now, token, req, out),
            Input::Push { token, push } => self.receive_push(now, token, push, out),
            Input::PushDone {
                config,
                shard,
                reply,
            } => self.push_done(now, config, shard, reply),
            Input::CtrlReply(reply) => {
                if self.ctrl.busy() && self.ctrl_resume_at.is_none() {
                    let step = self.ctrl.on_reply(reply);
                    self.on_ctrl_step(now, step, out);
                }
            }
        }
        self.flush(out);
    }

    /// A leader whose log ends with entries of earlier terms cannot commit them (Raft paper,
    /// section 5.4.2) until an entry of its own term commits. Clerks of a shard it does not serve
    /// yet are turned away before proposing, and it polls the controller only once its shards are
    /// settled, so without this entry a group restarted in the middle of a hand-over would wait
    /// for itself forever.
    fn commit_own_term(&mut self, now: u64) {
        let raft = self.rsm.raft();
        if raft.is_leader()
            && raft.commit_index() < raft.last_log_index()
            && raft.last_log_term() != raft.term()
        {
            self.rsm
                .propose(now, None, &Command::Noop, &mut self.rsm_out);
        }
    }

    fn request(&mut self, now: u64, token: u64, req: KvRequest, out: &mut Vec<Output>) {
        if !self.rsm.is_leader() {
            out.push(Output::Reply {
                token,
                reply: KvReply::WrongLeader,
            });
            return;
        }
        // A leader that does not serve the shard now says so at once; the answer that counts is
        // the one made when the entry applies.
        let shard = key2shard(req.op.key());
        let st = self.rsm.state();
        if st.config.shards[shard] != self.cfg.gid || !st.serves(shard) {
            out.push(Output::Reply {
                token,
                reply: KvReply::WrongGroup,
            });
            return;
        }
        self.rsm
            .propose(now, Some(token), &Command::Client(req), &mut self.rsm_out);
    }

    fn receive_push(&mut self, now: u64, token: u64, push: ShardPush, out: &mut Vec<Output>) {
        if !self.rsm.is_leader() {
            out.push(Output::PushReply {
                token,
                reply: PushReply::WrongLeader,
            });
            return;
        }
        if let Some(reply) = self.rsm.state().push_answer(push.config, push.shard) {
            out.push(Output::PushReply { token, reply });
            return;
        }
        self.push_tokens.insert(token);
        self.rsm
            .propose(now, Some(token), &Command::Install(push), &mut self.rsm_out);
    }

    fn poll(&mut self, now: u64, out: &mut Vec<Output>) {
        let st = self.rsm.state();
        let skip = self.cfg.mutation == Some(Mutation::SkipConfigs);
        if !self.rsm.is_leader() || self.ctrl.busy() || !(st.settled() || skip) {
            return;
        }
        let num = if skip { -1 } else { st.config.num as i64 + 1 };
        let step = self.ctrl.begin(CtrlOp::Query { num });
        self.on_ctrl_step(now, step, out);
    }

    fn on_ctrl_step(&mut self, now: u64, step: CtrlStep, out: &mut Vec<Output>) {
        match step {
            CtrlStep::Send { to, req } => out.push(Output::Ctrl { to, req }),
            CtrlStep::Backoff { ms } => self.ctrl_resume_at = Some(now + ms),
            CtrlStep::Done(CtrlOutcome::Config(c)) => {
                let cur = self.rsm.state().config.num;
                let skip = self.cfg.mutation == Some(Mutation::SkipConfigs);
                if c.num == cur + 1 || (skip && c.num > cur) {
                    self.rsm
                        .propose(now, None, &Command::Config(c), &mut self.rsm_out);
                }
            }
            CtrlStep::Done(CtrlOutcome::Done) => {}
        }
    }

    fn push_all(&mut self, out: &mut Vec<Output>) {
        let st = self.rsm.state();
        let sending: BTreeSet<Shard> = st.sending().map(|(s, _)| s).collect();
        self.pushing.retain(|s, _| sending.contains(s));
        if !self.rsm.is_leader() {
            return;
        }
        for (shard, data) in st.sending() {
            let p = self.pushing.entry(shard).or_default();
            if p.in_flight {
                continue;
            }
            let gid = st.config.shards[shard];
            let Some(servers) = st.config.groups.get(&gid).filter(|s| !s.is_empty()) else {
                continue;
            };
            p.in_flight = true;
            out.push(Output::Push {
                server: servers[p.server % servers.len()].clone(),
                push: ShardPush {
                    config: st.config.num,
                    shard,
                    data: data.clone(),
                },
            });
        }
    }

    fn push_done(&mut self, now: u64, config: u64, shard: Shard, reply: Option<PushReply>) {
        let Some(p) = self.pushing.get_mut(&shard) else {
            return;
        };
        p.in_flight = false;
        match reply {
            Some(PushReply::Installed) => {
                if self.rsm.state().config.num == config {
                    self.rsm.propose(
                        now,
                        None,
                        &Command::Delete { config, shard },
                        &mut self.rsm_out,
                    );
                }
            }
            // The receiver is behind: the next round pushes again.
            Some(PushReply::NotYet) => {}
            // Not the leader there, or lost: the next round tries the next server.
            _ => p.server += 1,
        }
    }

    fn flush(&mut self, out: &mut Vec<Output>) {
        for o in self.rsm_out.drain(..) {
            out.push(match o {
                RsmOutput::Raft(o) => Output::Raft(o),
                RsmOutput::Reply { token, reply } => match reply {
                    Applied::Kv(reply) => Output::Reply { token, reply },
                    Applied::Push(reply) => {
                        self.push_tokens.remove(&token);
                        Output::PushReply { token, reply }
                    }
                    Applied::Nothing => continue,
                },
                RsmOutput::Rejected { token, why } if self.push_tokens.remove(&token) => {
                    Output::PushReply {
                        token,
                        reply: why.into(),
                    }
                }
                RsmOutput::Rejected { token, why } => Output::Reply {
                    token,
                    reply: why.into(),
                },
            });
        }
    }
}
