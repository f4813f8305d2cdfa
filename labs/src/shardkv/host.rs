//! The processes of a shardctrler or shardkv run on the simulator, mirroring the labs' config.go:
//! controller servers, shardkv servers (each in a Raft group of its own), shardkv clerks, and the
//! tester's controller clerks (`mck`). One [`Host`] enum, so they share one network.
//!
//! Raft node ids are positions in a group; a server host maps them to hosts with its group's
//! `peers`. Servers are named in configs (`"100-2"`: gid 100, server 2); [`Names`] resolves a name
//! to its host, as the lab's `make_end` does.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Serialize;
use shardctrler::{
    Config, CtrlClerk, CtrlOp, CtrlOutcome, CtrlReply, CtrlRequest, CtrlServer, CtrlStep,
};
use shardkv::{Clerk, KvReply, KvRequest, Outcome, PushReply, Shard, ShardPush, ShardServer};
use sim::{Boot, CallId, Ctx, HostId, Process};

use crate::raft::Seen;

/// What travels on the wire.
#[derive(Clone, Debug, Serialize)]
pub enum Msg {
    Raft(raft::Message),
    CtrlReq(CtrlRequest),
    CtrlRep(CtrlReply),
    KvReq(KvRequest),
    KvRep(KvReply),
    Push(ShardPush),
    PushRep(PushReply),
}

/// What a clerk finished: a shardkv operation or a controller operation.
#[derive(Debug)]
pub enum Finished {
    Kv(Outcome),
    Ctrl(CtrlOutcome),
}

/// A finished clerk operation (clerk indexes are shared by both kinds of clerk).
pub type Done = crate::kv::Done<Finished>;

/// What a host tells the world driving the run.
#[derive(Debug)]
pub enum Note {
    /// A scenario clerk finished the operation the scenario gave it.
    Done(Done),
    /// A shardkv server or clerk sent `Query(num)` to a controller server: one attempt of its
    /// embedded controller clerk. Each attempt is a client operation of the controller (recorded
    /// in its history at send time), because a Query is answered only by the server it reached.
    QuerySent { call: CallId, num: i64 },
    /// The answer to the attempt `call` (`None`: the call failed or the server refused it, so
    /// the attempt returned nothing and is left out of the history).
    QueryAnswered {
        call: CallId,
        config: Option<Config>,
    },
}

/// The config in a controller reply, if it carries one.
fn answered_config(reply: Option<&Msg>) -> Option<Config> {
    match reply {
        Some(Msg::CtrlRep(CtrlReply::Config(c))) => Some(c.clone()),
        _ => None,
    }
}

/// The `num` of a controller request that is a Query.
fn query_num(req: &CtrlRequest) -> Option<i64> {
    match req.op {
        CtrlOp::Query { num } => Some(num),
        _ => None,
    }
}

/// Server names to hosts.
pub type Names = Rc<BTreeMap<String, HostId>>;

/// The name of server `i` of group `gid`.
pub fn server_name(gid: u64, i: usize) -> String {
    format!("{gid}-{i}")
}

type C<'a> = Ctx<'a, Msg, Note>;

/// Carries out Raft sends of a server whose group is `peers`.
/// Carries out a server's Raft output: `Persist` into the persister, a request as a call to the
/// peer's host, a reply as the answer to `request` (the call being handled).
fn perform_raft(
    ctx: &mut C<'_>,
    peers: &[HostId],
    output: raft::Output,
    request: Option<(HostId, CallId)>,
) {
    let (to, msg) = match output {
        raft::Output::Persist { state, snapshot } => return ctx.persister().save(state, snapshot),
        raft::Output::Send { to, msg } => (to, msg),
        raft::Output::Apply(m) => panic!("a server on an Rsm applies its own entries, not {m:?}"),
    };
    if msg.is_request() {
        ctx.call(peers[to], Msg::Raft(msg));
        return;
    }
    match request {
        Some((from, call)) if from == peers[to] => ctx.reply(call, Msg::Raft(msg)),
        _ => panic!("raft emitted a reply {msg:?} to {to} outside of a request from it"),
    }
}

/// A controller server.
pub struct CtrlHost {
    pub server: CtrlServer,
    pub peers: Rc<[HostId]>,
    out: Vec<shardctrler::Output>,
    /// What the invariants need to know of the Raft steps since they last asked.
    seen: Seen,
}

impl CtrlHost {
    pub fn boot(
        boot: Boot<'_>,
        me: usize,
        peers: Rc<[HostId]>,
        mutation: Option<shardctrler::Mutation>,
        raft_mutation: Option<raft::Mutation>,
    ) -> CtrlHost {
        let mut cfg = shardctrler::RsmConfig::new(me, peers.len());
        cfg.raft.mutation = raft_mutation;
        let p = boot.persister;
        let server = CtrlServer::restore(
            cfg,
            boot.now,
            Box::new(boot.rng),
            p.raft_state(),
            p.snapshot(),
        )
        .unwrap_or_else(|e| panic!("controller {me} cannot restore: {e}"))
        .with_mutation(mutation);
        CtrlHost {
            server,
            peers,
            out: Vec::new(),
            seen: Seen::default(),
        }
    }

    /// What the Raft node handled and sent since the previous call ([`Seen`]).
    pub fn take_seen(&mut self) -> Seen {
        self.seen.take()
    }

    fn step(&mut self, ctx: &mut C<'_>, input: shardctrler::Input, req: Option<(HostId, CallId)>) {
        if let shardctrler::Input::Raft { msg, .. } = &input {
            self.seen.before(self.server.rsm().raft().term(), msg);
        }
        self.server.step(ctx.now(), input, &mut self.out);
        for o in self.out.drain(..) {
            match o {
                shardctrler::Output::Raft(o) => {
                    if let raft::Output::Send { msg, .. } = &o {
                        self.seen.sent(msg);
                    }
                    perform_raft(ctx, &self.peers, o, req)
                }
                shardctrler::Output::Reply { token, reply } => {
                    ctx.reply(CallId(token), Msg::CtrlRep(reply))
                }
            }
        }
        ctx.set_timer(self.server.next_deadline());
    }
}

/// A shardkv server.
pub struct ShardHost {
    pub server: ShardServer,
    pub peers: Rc<[HostId]>,
    ctrlers: Rc<[HostId]>,
    names: Names,
    ctrl_call: Option<CallId>,
    pushes: BTreeMap<CallId, (u64, Shard)>,
    out: Vec<shardkv::Output>,
    /// What the invariants need to know of the Raft steps since they last asked.
    seen: Seen,
}

impl ShardHost {
    pub fn boot(
        boot: Boot<'_>,
        cfg: shardkv::Config,
        peers: Rc<[HostId]>,
        ctrlers: Rc<[HostId]>,
        names: Names,
    ) -> ShardHost {
        let p = boot.persister;
        let (gid, me) = (cfg.gid, cfg.rsm.raft.id);
        let server = ShardServer::restore(
            cfg,
            boot.now,
            Box::new(boot.rng),
            p.raft_state(),
            p.snapshot(),
        )
        .unwrap_or_else(|e| panic!("server {me} of group {gid} cannot restore: {e}"));
        ShardHost {
            server,
            peers,
            ctrlers,
            names,
            ctrl_call: None,
            pushes: BTreeMap::new(),
            out: Vec::new(),
            seen: Seen::default(),
        }
    }

    /// What the Raft node handled and sent since the previous call ([`Seen`]).
    pub fn take_seen(&mut self) -> Seen {
        self.seen.take()
    }

    fn step(&mut self, ctx: &mut C<'_>, input: shardkv::Input, req: Option<(HostId, CallId)>) {
        if let shardkv::Input::Raft { msg, .. } = &input {
            self.seen.before(self.server.rsm().raft().term(), msg);
        }
        self.server.step(ctx.now(), input, &mut self.out);
        for o in std::mem::take(&mut self.out) {
            match o {
                shardkv::Output::Raft(o) => {
                    if let raft::Output::Send { msg, .. } = &o {
                        self.seen.sent(msg);
                    }
                    perform_raft(ctx, &self.peers, o, req)
                }
                shardkv::Output::Reply { token, reply } => {
                    ctx.reply(CallId(token), Msg::KvRep(reply))
                }
                shardkv::Output::PushReply { token, reply } => {
                    ctx.reply(CallId(token), Msg::PushRep(reply))
                }
                shardkv::Output::Push { server, push } => {
                    let to = self.names[&server];
                    let key = (push.config, push.shard);
                    let call = ctx.call(to, Msg::Push(push));
                    self.pushes.insert(call, key);
                }
                shardkv::Output::Ctrl { to, req } => {
                    let num = query_num(&req);
                    let call = ctx.call(self.ctrlers[to], Msg::CtrlReq(req));
                    self.ctrl_call = Some(call);
                    if let Some(num) = num {
                        ctx.note(Note::QuerySent { call, num });
                    }
                }
            }
        }
        ctx.set_timer(self.server.next_deadline());
    }
}

/// Which kind of call a clerk is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiting {
    Kv,
    Ctrl,
}

/// A shardkv clerk.
pub struct KvClerkHost {
    pub index: usize,
    pub clerk: Clerk,
    ctrlers: Rc<[HostId]>,
    names: Names,
    call: Option<(CallId, Waiting)>,
}

impl KvClerkHost {
    pub fn new(index: usize, clerk: Clerk, ctrlers: Rc<[HostId]>, names: Names) -> Self {
        KvClerkHost {
            index,
            clerk,
            ctrlers,
            names,
            call: None,
        }
    }

    pub fn act(&mut self, ctx: &mut C<'_>, step: shardkv::Step) {
        match step {
            shardkv::Step::Send { server, req } => {
                let call = ctx.call(self.names[&server], Msg::KvReq(req));
                self.call = Some((call, Waiting::Kv));
            }
            shardkv::Step::Ctrl { to, req } => {
                let num = query_num(&req);
                let call = ctx.call(self.ctrlers[to], Msg::CtrlReq(req));
                self.call = Some((call, Waiting::Ctrl));
                if let Some(num) = num {
                    ctx.note(Note::QuerySent { call, num });
                }
            }
            shardkv::Step::Backoff { ms } => ctx.set_timer(ctx.now() + ms),
            shardkv::Step::Done(o) => ctx.note(Note::Done(Done {
                clerk: self.index,
                outcome: Finished::Kv(o),
            })),
        }
    }
}

/// A controller clerk of the tester (`mck`, or the clerks of TestMulti).
pub struct AdminHost {
    pub index: usize,
    pub clerk: CtrlClerk,
    ctrlers: Rc<[HostId]>,
    call: Option<CallId>,
}

impl AdminHost {
    pub fn new(index: usize, clerk: CtrlClerk, ctrlers: Rc<[HostId]>) -> Self {
        AdminHost {
            index,
            clerk,
            ctrlers,
            call: None,
        }
    }

    pub fn act(&mut self, ctx: &mut C<'_>, step: CtrlStep) {
        match step {
            CtrlStep::Send { to, req } => {
                self.call = Some(ctx.call(self.ctrlers[to], Msg::CtrlReq(req)));
            }
            CtrlStep::Backoff { ms } => ctx.set_timer(ctx.now() + ms),
            CtrlStep::Done(o) => ctx.note(Note::Done(Done {
                clerk: self.index,
                outcome: Finished::Ctrl(o),
            })),
        }
    }
}

/// The processes of a run.
pub enum Host {
    Ctrl(Box<CtrlHost>),
    Shard(Box<ShardHost>),
    Clerk(Box<KvClerkHost>),
    Admin(AdminHost),
}

impl Process for Host {
    type Msg = Msg;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut C<'_>) {
        match self {
            Host::Ctrl(h) => ctx.set_timer(h.server.next_deadline()),
            Host::Shard(h) => ctx.set_timer(h.server.next_deadline()),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut C<'_>) {
        match self {
            Host::Ctrl(h) => h.step(ctx, shardctrler::Input::Tick, None),
            Host::Shard(h) => h.step(ctx, shardkv::Input::Tick, None),
            Host::Clerk(c) => {
                let step = c.clerk.resume();
                c.act(ctx, step);
            }
            Host::Admin(a) => {
                let step = a.clerk.resume();
                a.act(ctx, step);
            }
        }
    }

    fn on_request(&mut self, ctx: &mut C<'_>, from: HostId, call: CallId, req: Msg) {
        match (self, req) {
            (Host::Ctrl(h), Msg::Raft(msg)) => {
                let Some(from_id) = h.peers.iter().position(|p| *p == from) else {
                    return;
                };
                let input = shardctrler::Input::Raft { from: from_id, msg };
                h.step(ctx, input, Some((from, call)));
            }
            (Host::Ctrl(h), Msg::CtrlReq(req)) => {
                let input = shardctrler::Input::Request { token: call.0, req };
                h.step(ctx, input, None);
            }
            (Host::Shard(h), Msg::Raft(msg)) => {
                let Some(from_id) = h.peers.iter().position(|p| *p == from) else {
                    return;
                };
                h.step(
                    ctx,
                    shardkv::Input::Raft { from: from_id, msg },
                    Some((from, call)),
                );
            }
            (Host::Shard(h), Msg::KvReq(req)) => {
                h.step(ctx, shardkv::Input::Request { token: call.0, req }, None)
            }
            (Host::Shard(h), Msg::Push(push)) => h.step(
                ctx,
                shardkv::Input::Push {
                    token: call.0,
                    push,
                },
                None,
            ),
            // Anything else is not for this host: like an unknown labrpc method, never answered
            // here (the caller's call fails when the run ends or the host dies).
            _ => {}
        }
    }

    fn on_reply(&mut self, ctx: &mut C<'_>, from: HostId, call: CallId, reply: Option<Msg>) {
        match self {
            Host::Ctrl(h) => {
                if let (Some(Msg::Raft(msg)), Some(id)) =
                    (reply, h.peers.iter().position(|p| *p == from))
                {
                    h.step(ctx, shardctrler::Input::Raft { from: id, msg }, None);
                }
            }
            Host::Shard(h) => {
                if h.ctrl_call == Some(call) {
                    h.ctrl_call = None;
                    let config = answered_config(reply.as_ref());
                    ctx.note(Note::QueryAnswered { call, config });
                    let r = match reply {
                        Some(Msg::CtrlRep(r)) => Some(r),
                        _ => None,
                    };
                    h.step(ctx, shardkv::Input::CtrlReply(r), None);
                } else if let Some((config, shard)) = h.pushes.remove(&call) {
                    let reply = match reply {
                        Some(Msg::PushRep(r)) => Some(r),
                        _ => None,
                    };
                    let input = shardkv::Input::PushDone {
                        config,
                        shard,
                        reply,
                    };
                    h.step(ctx, input, None);
                } else if let (Some(Msg::Raft(msg)), Some(id)) =
                    (reply, h.peers.iter().position(|p| *p == from))
                {
                    h.step(ctx, shardkv::Input::Raft { from: id, msg }, None);
                }
            }
            Host::Clerk(c) => {
                let Some((expected, waiting)) = c.call else {
                    return;
                };
                if expected != call {
                    return;
                }
                c.call = None;
                if waiting == Waiting::Ctrl {
                    let config = answered_config(reply.as_ref());
                    ctx.note(Note::QueryAnswered { call, config });
                }
                let step = match (waiting, reply) {
                    (Waiting::Kv, Some(Msg::KvRep(r))) => c.clerk.on_reply(Some(r)),
                    (Waiting::Kv, _) => c.clerk.on_reply(None),
                    (Waiting::Ctrl, Some(Msg::CtrlRep(r))) => c.clerk.on_ctrl_reply(Some(r)),
                    (Waiting::Ctrl, _) => c.clerk.on_ctrl_reply(None),
                };
                c.act(ctx, step);
            }
            Host::Admin(a) => {
                if a.call != Some(call) {
                    return;
                }
                a.call = None;
                let r = match reply {
                    Some(Msg::CtrlRep(r)) => Some(r),
                    _ => None,
                };
                let step = a.clerk.on_reply(r);
                a.act(ctx, step);
            }
        }
    }
}
