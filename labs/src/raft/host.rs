//! [`RaftHost`]: a [`raft::Raft`] node as a simulator [`Process`].

use raft::{ApplyMsg, Config, Message, Mutation, Output, Raft};

use sim::{Boot, CallId, Ctx, HostId, Process};

use super::seen::Seen;

/// Runs one Raft peer on a simulator host: requests become labrpc calls, the reply Raft emits for a
/// request answers that call, `Persist` goes to the host's persister before anything is sent, and
/// applied messages are reported as notes for the tester's applier.
pub struct RaftHost {
    raft: Raft,
    out: Vec<Output>,
    /// What the invariants need to know of the steps since they last asked.
    seen: Seen,
}

impl RaftHost {
    /// Builds peer `boot.id` of an `n`-node cluster from what its persister holds.
    pub fn boot(boot: Boot<'_>, n: usize, mutation: Option<Mutation>) -> RaftHost {
        let p = boot.persister;
        let config = Config {
            mutation,
            ..Config::new(boot.id, n)
        };
        let raft = Raft::restore(
            config,
            boot.now,
            Box::new(boot.rng),
            p.raft_state(),
            p.snapshot(),
        )
        .unwrap_or_else(|e| panic!("host {} cannot restore its persisted state: {e}", boot.id));
        RaftHost {
            raft,
            out: Vec::new(),
            seen: Seen::default(),
        }
    }

    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    pub fn raft_mut(&mut self) -> &mut Raft {
        &mut self.raft
    }

    /// What the node handled and sent since the previous call ([`Seen`]).
    pub fn take_seen(&mut self) -> Seen {
        self.seen.take()
    }

    fn saw(&mut self, msg: &Message) {
        self.seen.before(self.raft.term(), msg);
    }

    /// `rf.Start(command)`.
    pub fn start(
        &mut self,
        ctx: &mut Ctx<'_, Message, ApplyMsg>,
        command: Vec<u8>,
    ) -> (u64, u64, bool) {
        let r = self.raft.start(ctx.now(), command, &mut self.out);
        self.flush(ctx, None);
        r
    }

    /// `rf.Snapshot(index, data)`.
    pub fn snapshot(&mut self, ctx: &mut Ctx<'_, Message, ApplyMsg>, index: u64, data: Vec<u8>) {
        self.raft.snapshot(ctx.now(), index, data, &mut self.out);
        self.flush(ctx, None);
    }

    fn flush(&mut self, ctx: &mut Ctx<'_, Message, ApplyMsg>, request: Option<(HostId, CallId)>) {
        for o in &self.out {
            if let Output::Send { msg, .. } = o {
                self.seen.sent(msg);
            }
        }
        perform_outputs(&mut self.out, ctx, request, |m| m, |ctx, m| ctx.note(m));
        ctx.set_timer(self.raft.next_deadline());
    }
}

/// Carries out the outputs of one Raft step on a simulator host, in order (see
/// [`perform_output`]). The caller sets the timer afterwards (from [`Raft::next_deadline`]).
pub fn perform_outputs<M, N>(
    outputs: &mut Vec<Output>,
    ctx: &mut Ctx<'_, M, N>,
    request: Option<(HostId, CallId)>,
    wrap: impl Fn(Message) -> M,
    mut apply: impl FnMut(&mut Ctx<'_, M, N>, ApplyMsg),
) {
    for output in outputs.drain(..) {
        perform_output(output, ctx, request, &wrap, &mut apply);
    }
}

/// Carries out one Raft output on a simulator host: `Persist` into the host's persister (durable
/// at once, hence before the sends that follow it), a request as a call, a reply as the answer to
/// `request` (the call being handled, if any), an applied message through `apply`. `wrap` embeds
/// Raft messages in the host's message type, so a service that runs Raft next to its own RPCs (a
/// kvraft server, whose outputs wrap Raft's) carries out Raft's part with this same function.
pub fn perform_output<M, N>(
    output: Output,
    ctx: &mut Ctx<'_, M, N>,
    request: Option<(HostId, CallId)>,
    wrap: impl Fn(Message) -> M,
    apply: impl FnOnce(&mut Ctx<'_, M, N>, ApplyMsg),
) {
    match output {
        Output::Persist { state, snapshot } => ctx.persister().save(state, snapshot),
        Output::Send { to, msg } if msg.is_request() => {
            ctx.call(to, wrap(msg));
        }
        Output::Send { to, msg } => match request {
            Some((from, call)) if from == to => ctx.reply(call, wrap(msg)),
            _ => panic!("raft emitted a reply {msg:?} to {to} outside of a request from it"),
        },
        Output::Apply(m) => apply(ctx, m),
    }
}

impl Process for RaftHost {
    type Msg = Message;
    type Note = ApplyMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Message, ApplyMsg>) {
        ctx.set_timer(self.raft.next_deadline());
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Message, ApplyMsg>) {
        self.raft.step(ctx.now(), raft::Input::Tick, &mut self.out);
        self.flush(ctx, None);
    }

    fn on_request(
        &mut self,
        ctx: &mut Ctx<'_, Message, ApplyMsg>,
        from: HostId,
        call: CallId,
        req: Message,
    ) {
        self.saw(&req);
        self.raft.step(
            ctx.now(),
            raft::Input::Recv { from, msg: req },
            &mut self.out,
        );
        self.flush(ctx, Some((from, call)));
    }

    fn on_reply(
        &mut self,
        ctx: &mut Ctx<'_, Message, ApplyMsg>,
        from: HostId,
        _call: CallId,
        reply: Option<Message>,
    ) {
        // A failed call needs no action: Raft retries on its own timers.
        if let Some(msg) = reply {
            self.saw(&msg);
            self.raft
                .step(ctx.now(), raft::Input::Recv { from, msg }, &mut self.out);
            self.flush(ctx, None);
        }
    }
}
