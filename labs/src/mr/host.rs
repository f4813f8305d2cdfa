//! The simulator's host adapters: the coordinator and the workers as [`sim::Process`]es.
//!
//! A worker host drives its [`mapreduce::worker`] coroutine: it answers the worker's needs that
//! take no time at once (files, from the run's shared [`SimFs`]; the time; its simulated pid; a
//! draw from its own seeded RNG) and turns the others into simulator effects: a `Call` becomes an
//! RPC to the coordinator (its reply resumes the worker), a `Sleep` becomes the host's timer, and a
//! `Crash` or the worker's end becomes [`sim::Ctx::exit`]. Computation takes no virtual time;
//! only sleeps and the network do.
//!
//! Simulated pids are `1000 * host + incarnation`, so a restarted worker has a new pid, as a new
//! process would; [`Pids`] says which are alive (the run's `kill(pid, 0)`).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use mapreduce::{
    CoordEvent, Coordinator, Coroutine, Got, IoError, Need, Reply, Request, Step, WorkerEnd,
    WorkerError,
};
use rand::Rng;
use serde::Serialize;
use sim::{CallId, ChaCha8Rng, Ctx, HostId, Process, TimerName};

use super::fs::SimFs;

/// The coordinator's host.
pub const COORDINATOR: HostId = 0;

/// What travels on the wire.
#[derive(Clone, Debug, Serialize)]
pub enum Msg {
    Req(Request),
    Rep(Reply),
}

/// What hosts report to the world.
#[derive(Debug)]
pub enum Note {
    Coord(CoordEvent),
    /// The worker on this host ended (it then exits).
    WorkerEnded(Result<WorkerEnd, WorkerError>),
    /// The application crashed its process on purpose.
    Crashed,
}

/// The simulated pid of a host's incarnation.
pub fn pid(host: HostId, incarnation: u64) -> u32 {
    (1000 * host as u64 + incarnation) as u32
}

/// The pids of the live processes of a run, shared by its hosts and kept by the world.
pub type Pids = Rc<RefCell<BTreeSet<u32>>>;

/// The processes of a MapReduce run.
pub enum Host {
    Coordinator(CoordHost),
    Worker(Box<WorkerHost>),
}

/// `mrcoordinator`: serves requests; checks `Done()` every second, then exits a second later.
pub struct CoordHost {
    pub coord: Coordinator,
    exiting: bool,
}

const DONE_POLL: TimerName = "done-poll";
const EXIT: TimerName = "exit";

impl CoordHost {
    pub fn new(coord: Coordinator) -> Self {
        CoordHost {
            coord,
            exiting: false,
        }
    }
}

/// `mrworker`: one worker coroutine.
pub struct WorkerHost {
    worker: Coroutine<Result<WorkerEnd, WorkerError>>,
    fs: Rc<RefCell<SimFs>>,
    pids: Pids,
    pid: u32,
    rng: ChaCha8Rng,
    /// The call the worker waits on, if any.
    waiting: Option<CallId>,
}

impl WorkerHost {
    pub fn new(
        worker: Coroutine<Result<WorkerEnd, WorkerError>>,
        fs: Rc<RefCell<SimFs>>,
        pids: Pids,
        pid: u32,
        rng: ChaCha8Rng,
    ) -> Self {
        WorkerHost {
            worker,
            fs,
            pids,
            pid,
            rng,
            waiting: None,
        }
    }

    /// Resumes the worker with `got` and keeps answering at once until it waits on the network
    /// or a timer, or ends.
    fn advance(&mut self, ctx: &mut Ctx<'_, Msg, Note>, mut got: Option<Got>) {
        loop {
            let need = match self.worker.resume(got.take()) {
                Step::Done(end) => {
                    ctx.note(Note::WorkerEnded(end));
                    self.pids.borrow_mut().remove(&self.pid);
                    ctx.exit();
                    return;
                }
                Step::Need(need) => need,
            };
            let now = ctx.now();
            got = Some(match need {
                Need::Call(req) => {
                    self.waiting = Some(ctx.call(COORDINATOR, Msg::Req(req)));
                    return;
                }
                Need::Sleep(ms) => {
                    ctx.set_timer(now + ms);
                    return;
                }
                Need::Crash => {
                    ctx.note(Note::Crashed);
                    self.pids.borrow_mut().remove(&self.pid);
                    ctx.exit();
                    return;
                }
                Need::ReadFile { path } => self.fs.borrow_mut().read(&path),
                Need::WriteFile { path, bytes } => self.fs.borrow_mut().write(now, &path, bytes),
                Need::Rename { from, to } => self.fs.borrow_mut().rename(now, &from, &to),
                Need::RemoveFile { path } => self.fs.borrow_mut().remove(now, &path),
                Need::ListDir => self.fs.borrow_mut().list(),
                Need::Now => Got::Time(now),
                Need::Pid => Got::Pid(self.pid),
                Need::Alive(p) => Got::Alive(self.pids.borrow().contains(&p)),
                Need::Random(bound) => Got::Random(self.rng.gen_range(0..bound.max(1))),
                Need::RunCommand { argv, .. } => Got::Bytes(Err(IoError {
                    op: "run",
                    path: argv.first().cloned().unwrap_or_default(),
                    message: "the simulator runs no external programs".to_string(),
                })),
            });
        }
    }
}

impl Process for Host {
    type Msg = Msg;
    type Note = Note;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg, Note>) {
        match self {
            Host::Coordinator(_) => {
                let at = ctx.now() + 1000;
                ctx.set_named_timer(DONE_POLL, at);
            }
            Host::Worker(w) => w.advance(ctx, None),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg, Note>) {
        if let Host::Worker(w) = self {
            w.advance(ctx, Some(Got::Done(Ok(()))));
        }
    }

    fn on_named_timer(&mut self, ctx: &mut Ctx<'_, Msg, Note>, name: TimerName) {
        let Host::Coordinator(c) = self else { return };
        let now = ctx.now();
        match name {
            DONE_POLL if c.coord.done() && !c.exiting => {
                c.exiting = true;
                ctx.set_named_timer(EXIT, now + 1000);
            }
            DONE_POLL => ctx.set_named_timer(DONE_POLL, now + 1000),
            EXIT => ctx.exit(),
            _ => {}
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Msg, Note>, _from: HostId, call: CallId, req: Msg) {
        let (Host::Coordinator(c), Msg::Req(req)) = (self, req) else {
            return;
        };
        let reply = c.coord.handle(ctx.now(), req);
        for e in c.coord.take_events() {
            ctx.note(Note::Coord(e));
        }
        ctx.reply(call, Msg::Rep(reply));
    }

    fn on_reply(
        &mut self,
        ctx: &mut Ctx<'_, Msg, Note>,
        _from: HostId,
        call: CallId,
        reply: Option<Msg>,
    ) {
        let Host::Worker(w) = self else { return };
        if w.waiting != Some(call) {
            return;
        }
        w.waiting = None;
        let reply = match reply {
            Some(Msg::Rep(r)) => Some(r),
            _ => None,
        };
        w.advance(ctx, Some(Got::Reply(reply)));
    }
}
