//! The hosts of a kvsrv run: the [`kvsrv::Server`], and one host carrying every clerk.
//!
//! All clerks live on one simulator host ([`Host::Clerks`]) because the memory tests make 100,000
//! of them, and a host per clerk would cost a row of links each. Every clerk call is still its own
//! RPC with its own drops and delays; the server is the only other host and is never partitioned.

use std::collections::BTreeMap;

use kvsrv::{Clerk, Op, Outcome, Reply, Request, Server};
use serde::Serialize;
use sim::{CallId, Ctx, HostId, Process};

/// The server's host.
pub const SERVER: HostId = 0;
/// The host of every clerk.
pub const CLERKS: HostId = 1;

/// What travels on the wire.
#[derive(Clone, Debug, Serialize)]
pub enum Msg {
    Req(Request),
    Rep(Reply),
}

/// A finished clerk operation, reported to the driver.
pub type Done = crate::kv::Done<Outcome>;

/// The processes of a kvsrv run.
pub enum Host {
    Server(Server),
    Clerks(ClerkPool),
}

/// Many clerks on one host; each call is tagged with the clerk that made it.
#[derive(Default)]
pub struct ClerkPool {
    pub(crate) clerks: Vec<Clerk>,
    calls: BTreeMap<CallId, usize>,
}

impl ClerkPool {
    pub(crate) fn begin(&mut self, ctx: &mut Ctx<'_, Msg, Done>, clerk: usize, op: Op) {
        let req = self.clerks[clerk].begin(op);
        let call = ctx.call(SERVER, Msg::Req(req));
        self.calls.insert(call, clerk);
    }
}

impl Process for Host {
    type Msg = Msg;
    type Note = Done;

    fn on_timer(&mut self, _ctx: &mut Ctx<'_, Msg, Done>) {}

    fn on_request(&mut self, ctx: &mut Ctx<'_, Msg, Done>, _from: HostId, call: CallId, req: Msg) {
        if let (Host::Server(server), Msg::Req(req)) = (self, req) {
            let reply = server.handle(req);
            ctx.reply(call, Msg::Rep(reply));
        }
    }

    fn on_reply(
        &mut self,
        ctx: &mut Ctx<'_, Msg, Done>,
        _from: HostId,
        call: CallId,
        reply: Option<Msg>,
    ) {
        let Host::Clerks(pool) = self else { return };
        let Some(clerk) = pool.calls.remove(&call) else {
            return;
        };
        let reply = match reply {
            Some(Msg::Rep(r)) => Some(r),
            _ => None,
        };
        match pool.clerks[clerk].on_reply(reply) {
            kvsrv::Step::Send(req) => {
                let call = ctx.call(SERVER, Msg::Req(req));
                pool.calls.insert(call, clerk);
            }
            kvsrv::Step::Done(outcome) => ctx.note(Done { clerk, outcome }),
        }
    }
}
