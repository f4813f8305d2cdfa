//! The hosts of a kvraft run: [`kvraft::KvServer`]s and one host per clerk.

use kvraft::{Clerk, KvServer, Mutation, Op, Outcome, Reply, Request};
use serde::Serialize;
use sim::{Boot, CallId, Ctx, HostId, Process};

use crate::raft::{perform_output, Seen};

/// What travels on the wire.
#[derive(Clone, Debug, Serialize)]
pub enum Msg {
    Raft(raft::Message),
    Req(Request),
    Rep(Reply),
}

/// A finished clerk operation.
pub type Done = crate::kv::Done<Outcome>;

/// The processes of a kvraft run.
pub enum Host {
    // Boxed: a server is four times the size of a clerk, and clerks are the many.
    Server(Box<ServerHost>),
    Clerk(ClerkHost),
}

/// A [`KvServer`] on a host: Raft requests become calls, the Raft reply to a request answers its
/// call, `Persist` goes to the persister before anything else, and a clerk request is answered
/// (now or when its entry applies) through the call it came in on.
pub struct ServerHost {
    kv: KvServer,
    out: Vec<kvraft::Output>,
    /// What the invariants need to know of the Raft steps since they last asked.
    seen: Seen,
}

impl ServerHost {
    pub(crate) fn boot(
        boot: Boot<'_>,
        n: usize,
        maxraftstate: Option<usize>,
        mutation: Option<Mutation>,
        raft_mutation: Option<raft::Mutation>,
    ) -> ServerHost {
        let mut config = kvraft::Config {
            mutation,
            ..kvraft::Config::new(boot.id, n)
        };
        config.rsm.maxraftstate = maxraftstate;
        config.rsm.raft.mutation = raft_mutation;
        let p = boot.persister;
        let kv = KvServer::restore(
            config,
            boot.now,
            Box::new(boot.rng),
            p.raft_state(),
            p.snapshot(),
        )
        .unwrap_or_else(|e| panic!("server {} cannot restore its persisted state: {e}", boot.id));
        ServerHost {
            kv,
            out: Vec::new(),
            seen: Seen::default(),
        }
    }

    pub fn kv(&self) -> &KvServer {
        &self.kv
    }

    pub fn kv_mut(&mut self) -> &mut KvServer {
        &mut self.kv
    }

    /// What the Raft node handled and sent since the previous call ([`Seen`]).
    pub fn take_seen(&mut self) -> Seen {
        self.seen.take()
    }

    fn saw(&mut self, msg: &raft::Message) {
        self.seen.before(self.kv.raft().term(), msg);
    }

    fn flush(&mut self, ctx: &mut Ctx<'_, Msg, Done>, request: Option<(HostId, CallId)>) {
        for o in &self.out {
            if let kvraft::Output::Raft(raft::Output::Send { msg, .. }) = o {
                self.seen.sent(msg);
            }
        }
        for o in self.out.drain(..) {
            match o {
                kvraft::Output::Raft(o) => perform_output(o, ctx, request, Msg::Raft, |_, m| {
                    panic!("a kvraft server applies its own entries, but emitted {m:?}")
                }),
                kvraft::Output::Reply { token, reply } => ctx.reply(CallId(token), Msg::Rep(reply)),
            }
        }
        ctx.set_timer(self.kv.next_deadline());
    }

    fn step(
        &mut self,
        ctx: &mut Ctx<'_, Msg, Done>,
        input: kvraft::Input,
        request: Option<(HostId, CallId)>,
    ) {
        self.kv.step(ctx.now(), input, &mut self.out);
        self.flush(ctx, request);
    }
}

/// One clerk on its own host; `servers` maps the clerk's server numbers to hosts.
pub struct ClerkHost {
    pub(crate) index: usize,
    pub(crate) clerk: Clerk,
    pub(crate) servers: Vec<HostId>,
    pub(crate) call: Option<CallId>,
}

impl ClerkHost {
    fn act(&mut self, ctx: &mut Ctx<'_, Msg, Done>, step: kvraft::Step) {
        match step {
            kvraft::Step::Send { to, req } => {
                self.call = Some(ctx.call(self.servers[to], Msg::Req(req)))
            }
            kvraft::Step::Backoff { ms } => ctx.set_timer(ctx.now() + ms),
            kvraft::Step::Done(outcome) => ctx.note(Done {
                clerk: self.index,
                outcome,
            }),
        }
    }

    pub(crate) fn begin(&mut self, ctx: &mut Ctx<'_, Msg, Done>, op: Op) {
        let (to, req) = self.clerk.begin(op);
        self.act(ctx, kvraft::Step::Send { to, req });
    }
}

impl Process for Host {
    type Msg = Msg;
    type Note = Done;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg, Done>) {
        if let Host::Server(s) = self {
            ctx.set_timer(s.kv.next_deadline());
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg, Done>) {
        match self {
            Host::Server(s) => s.step(ctx, kvraft::Input::Tick, None),
            Host::Clerk(c) => {
                let step = c.clerk.resume();
                c.act(ctx, step);
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Msg, Done>, from: HostId, call: CallId, req: Msg) {
        let Host::Server(s) = self else { return };
        match req {
            Msg::Raft(msg) => {
                s.saw(&msg);
                s.step(ctx, kvraft::Input::Raft { from, msg }, Some((from, call)))
            }
            Msg::Req(req) => s.step(ctx, kvraft::Input::Request { token: call.0, req }, None),
            Msg::Rep(_) => {}
        }
    }

    fn on_reply(
        &mut self,
        ctx: &mut Ctx<'_, Msg, Done>,
        from: HostId,
        call: CallId,
        reply: Option<Msg>,
    ) {
        match self {
            Host::Server(s) => {
                // A failed Raft call needs nothing: Raft retries on its own timers.
                if let Some(Msg::Raft(msg)) = reply {
                    s.saw(&msg);
                    s.step(ctx, kvraft::Input::Raft { from, msg }, None);
                }
            }
            Host::Clerk(c) => {
                if c.call != Some(call) {
                    return;
                }
                c.call = None;
                let reply = match reply {
                    Some(Msg::Rep(r)) => Some(r),
                    _ => None,
                };
                let step = c.clerk.on_reply(reply);
                c.act(ctx, step);
            }
        }
    }
}
