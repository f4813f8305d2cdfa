//! kvraft (4A/4B) in virtual time: [`kvraft::KvServer`]s and one host per clerk on the labrpc
//! network of [`sim`], mirroring `src/kvraft/config.go`, and the lab's 23 tests as scenarios.
//!
//! # Mapping of config.go
//! - Servers are hosts `0..n`; each clerk is a host of its own, whose ends reach the servers it was
//!   made for (`makeClient(to)`, `ConnectClient`), in a shuffled order per clerk as in the lab.
//! - `partition(p1, p2)` enables exactly the server-to-server ends inside each half; clerk ends are
//!   untouched. `ConnectAll` reconnects every pair of servers.
//! - `ShutdownServer(i)` disconnects server `i` and crashes it: its persister survives and calls to
//!   it fail. `StartServer(i)` rebuilds it from the persister (Raft state and snapshot).
//! - No long delays: a call to an unreachable server fails within 100 ms.
//!
//! Every clerk operation is recorded in the run's history (see [`super`]), partitions and crashes
//! as annotations, and the history is checked when the run ends. An Append is recorded with the
//! value it replaced (our kvraft returns it, as kvsrv does; the lab's Append returns nothing), so
//! the checker verifies the Append's position instead of guessing it: without it, the 50
//! concurrent Appends to one key of TestUnreliableOneKey4A could not be checked in time.
//!
//! A scenario task waits for its clerk by polling every [`POLL_MS`].

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;

use checker::models::{KvInput, KvOutput};
use kvraft::{Clerk, KvServer, Mutation, Op, Outcome, Reply, Request};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::Serialize;

use super::{
    append_value, arc, check_clnt_appends, check_concurrent_appends, finish_run, next_value,
    step_recording_returns, with_mutation_in, Recorder, TEST_TIME_LIMIT,
};
use crate::runner::{Catalog, RunOptions, Scenario, ScenarioOutcome};
use sim::exec::Executor;
use sim::{derive_rng, Boot, CallId, ChaCha8Rng, Ctx, HostId, NetConfig, Process, Sim, Time};

/// How often a waiting scenario task looks at its clerk, in virtual ms. A reliable network delivers
/// in zero virtual time, so this is what paces a client's loop: 10 ms caps a client at 100
/// operations per second, the order of the Go lab's measured rates (TestBasic4A: 903 operations in
/// 15 s), which keeps histories checkable. The speed tests poll every [`FAST_POLL_MS`] so that what
/// they measure is the service's latency.
pub const POLL_MS: Time = 10;
/// The polling period of the speed tests.
pub const FAST_POLL_MS: Time = 1;
/// The tester's `electionTimeout`.
pub const ELECTION_TIMEOUT: Time = 1000;

/// What travels on the wire.
#[derive(Debug, Serialize)]
pub enum Msg {
    Raft(raft::Message),
    Req(Request),
    Rep(Reply),
}

/// A finished clerk operation.
pub type Done = super::Done<Outcome>;

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
}

impl ServerHost {
    fn boot(
        boot: Boot<'_>,
        n: usize,
        maxraftstate: Option<usize>,
        mutation: Option<Mutation>,
    ) -> ServerHost {
        let config = kvraft::Config {
            maxraftstate,
            mutation,
            ..kvraft::Config::new(boot.id, n)
        };
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
        }
    }

    pub fn kv(&self) -> &KvServer {
        &self.kv
    }

    fn flush(&mut self, ctx: &mut Ctx<'_, Msg, Done>, request: Option<(HostId, CallId)>) {
        for o in self.out.drain(..) {
            match o {
                kvraft::Output::Persist { state, snapshot } => {
                    ctx.persister().save(state, snapshot)
                }
                kvraft::Output::Send { to, msg } if msg.is_request() => {
                    ctx.call(to, Msg::Raft(msg));
                }
                kvraft::Output::Send { to, msg } => match request {
                    Some((from, call)) if from == to => ctx.reply(call, Msg::Raft(msg)),
                    _ => {
                        panic!("raft emitted a reply {msg:?} to {to} outside of a request from it")
                    }
                },
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
    index: usize,
    clerk: Clerk,
    servers: Vec<HostId>,
    call: Option<CallId>,
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

    fn begin(&mut self, ctx: &mut Ctx<'_, Msg, Done>, op: Op) {
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
            Msg::Raft(msg) => s.step(ctx, kvraft::Input::Raft { from, msg }, Some((from, call))),
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

thread_local! {
    static MUTATION: Cell<Option<Mutation>> = const { Cell::new(None) };
}

/// Test-only: runs `f` with the servers it builds carrying `mutation` (a known bug put back).
pub fn with_mutation<R>(mutation: Mutation, f: impl FnOnce() -> R) -> R {
    with_mutation_in(&MUTATION, mutation, f)
}

struct State {
    sim: Sim<Host>,
    n: usize,
    maxraftstate: Option<usize>,
    mutation: Option<Mutation>,
    rec: Recorder,
    /// Clerk index -> its host.
    clerks: Vec<HostId>,
    running: BTreeMap<usize, usize>,
    done: BTreeMap<usize, Outcome>,
    failure: Option<String>,
    rng: ChaCha8Rng,
    poll: Time,
}

impl State {
    fn set_server_link(&mut self, i: HostId, j: HostId, on: bool) {
        self.sim.set_link(i, j, on);
        self.sim.set_link(j, i, on);
    }
}

/// One kvraft run. Shared by the scenario's tasks as `Rc<World>`.
pub struct World {
    exec: Executor,
    st: RefCell<State>,
}

impl World {
    /// `make_config(n, unreliable, maxraftstate)`: `n` servers started and connected.
    pub fn new(
        seed: u64,
        n: usize,
        unreliable: bool,
        maxraftstate: Option<usize>,
        trace: bool,
    ) -> Rc<World> {
        let config = NetConfig {
            reliable: !unreliable,
            long_reordering: false,
            long_delays: false,
        };
        let mut sim = Sim::new(seed, config);
        if trace {
            sim.enable_trace();
        }
        for _ in 0..n {
            sim.add_host();
        }
        let st = State {
            sim,
            n,
            maxraftstate,
            mutation: MUTATION.with(|m| m.get()),
            rec: Recorder::default(),
            clerks: Vec::new(),
            running: BTreeMap::new(),
            done: BTreeMap::new(),
            failure: None,
            rng: derive_rng(seed, "scenario", 0),
            poll: POLL_MS,
        };
        let w = Rc::new(World {
            exec: Executor::new(),
            st: RefCell::new(st),
        });
        if unreliable {
            w.st.borrow_mut()
                .rec
                .fault_begin(0, "net", "unreliable network");
        }
        for i in 0..n {
            w.start_server(i);
        }
        w.connect_all();
        w
    }

    pub fn n(&self) -> usize {
        self.st.borrow().n
    }

    /// Every server (`cfg.All()`).
    pub fn all(&self) -> Vec<HostId> {
        (0..self.n()).collect()
    }

    pub fn now(&self) -> Time {
        self.exec.now()
    }

    pub fn sleep(&self, ms: Time) -> sim::exec::Sleep {
        self.exec.sleep(ms)
    }

    pub fn spawn(&self, f: impl Future<Output = ()> + 'static) {
        self.exec.spawn(f)
    }

    /// `rand.Int() % n` from the scenario's stream.
    pub fn rand(&self, n: u64) -> u64 {
        self.st.borrow_mut().rng.gen_range(0..n)
    }

    /// Records a failure from a task (a Go `t.Fatalf`); the run stops.
    pub fn fail(&self, msg: impl Into<String>) {
        let mut st = self.st.borrow_mut();
        if st.failure.is_none() {
            st.failure = Some(msg.into());
        }
    }

    // ----- faults -------------------------------------------------------------------------------

    /// `partition(p1, p2)`: servers talk only within their half.
    pub fn partition(&self, p1: &[HostId], p2: &[HostId]) {
        let mut st = self.st.borrow_mut();
        let now = st.sim.now();
        st.sim.trace_line(|| format!("partition {p1:?} | {p2:?}"));
        st.rec
            .fault_begin(now, "partition", format!("partition {p1:?} | {p2:?}"));
        for i in 0..st.n {
            for j in 0..st.n {
                if i != j {
                    let same = (p1.contains(&i) && p1.contains(&j))
                        || (p2.contains(&i) && p2.contains(&j));
                    st.set_server_link(i, j, same);
                }
            }
        }
    }

    /// `ConnectAll()`: every pair of servers connected.
    pub fn connect_all(&self) {
        let mut st = self.st.borrow_mut();
        let now = st.sim.now();
        st.sim.trace_line(|| "connect all".into());
        st.rec.fault_end(now, "partition");
        for i in 0..st.n {
            for j in 0..st.n {
                if i != j {
                    st.set_server_link(i, j, true);
                }
            }
        }
    }

    /// `ShutdownServer(i)`: disconnect and crash; the persister survives.
    pub fn shutdown_server(&self, i: HostId) {
        let mut st = self.st.borrow_mut();
        let now = st.sim.now();
        st.rec.fault(now, format!("crash server {i}"));
        for j in 0..st.n {
            if j != i {
                st.set_server_link(i, j, false);
            }
        }
        st.sim.crash(i);
    }

    /// `StartServer(i)`: rebuild server `i` from its persister. Does not connect it.
    pub fn start_server(&self, i: HostId) {
        let mut st = self.st.borrow_mut();
        let now = st.sim.now();
        if now > 0 {
            st.rec.fault(now, format!("restart server {i}"));
        }
        let (n, max, mutation) = (st.n, st.maxraftstate, st.mutation);
        st.sim.start(i, |boot| {
            Host::Server(Box::new(ServerHost::boot(boot, n, max, mutation)))
        });
    }

    /// `makeClient(to)`: a clerk whose ends reach the servers in `to`, in a shuffled order.
    pub fn make_clerk(&self, to: &[HostId]) -> usize {
        let mut st = self.st.borrow_mut();
        let index = st.clerks.len();
        let host = st.sim.add_host();
        let mut servers: Vec<HostId> = (0..st.n).collect();
        servers.shuffle(&mut st.rng);
        let id = st.rng.gen_range(0..1u64 << 62);
        let n = st.n;
        st.sim.start(host, |_| {
            Host::Clerk(ClerkHost {
                index,
                clerk: Clerk::new(id, n),
                servers,
                call: None,
            })
        });
        st.clerks.push(host);
        drop(st);
        self.connect_client(index, to);
        index
    }

    /// `ConnectClient(ck, to)`: the clerk reaches exactly the servers in `to`.
    pub fn connect_client(&self, clerk: usize, to: &[HostId]) {
        let mut st = self.st.borrow_mut();
        let host = st.clerks[clerk];
        for i in 0..st.n {
            let on = to.contains(&i);
            st.sim.set_link(host, i, on);
            st.sim.set_link(i, host, on);
        }
    }

    // ----- observation --------------------------------------------------------------------------

    /// `Leader()`: a live server that believes it leads.
    pub fn leader(&self) -> Option<HostId> {
        let st = self.st.borrow();
        (0..st.n).find(|&i| matches!(st.sim.host(i), Some(Host::Server(s)) if s.kv.is_leader()))
    }

    /// `LogSize()`: the largest persisted Raft state.
    pub fn log_size(&self) -> usize {
        let st = self.st.borrow();
        (0..st.n)
            .map(|i| st.sim.persister(i).raft_state_size())
            .max()
            .unwrap_or(0)
    }

    /// `SnapshotSize()`: the largest persisted snapshot.
    pub fn snapshot_size(&self) -> usize {
        let st = self.st.borrow();
        (0..st.n)
            .map(|i| st.sim.persister(i).snapshot_size())
            .max()
            .unwrap_or(0)
    }

    // ----- clerk operations ---------------------------------------------------------------------

    /// Runs one operation on `clerk` and waits for it; every operation is recorded.
    pub async fn op(&self, clerk: usize, input: KvInput) -> Outcome {
        {
            let mut st = self.st.borrow_mut();
            let now = st.sim.now();
            let op = st.rec.call(clerk as u64, now, input.clone());
            st.running.insert(clerk, op);
            let op = match input {
                KvInput::Get { key } => Op::Get {
                    key: key.to_string(),
                },
                KvInput::Put { key, value } => Op::Put {
                    key: key.to_string(),
                    value: value.to_string(),
                },
                KvInput::Append { key, value } => Op::Append {
                    key: key.to_string(),
                    value: value.to_string(),
                },
            };
            let host = st.clerks[clerk];
            st.sim.with_host(host, |h, ctx| {
                if let Host::Clerk(c) = h {
                    c.begin(ctx, op);
                }
            });
        }
        loop {
            let poll = {
                let mut st = self.st.borrow_mut();
                if let Some(o) = st.done.remove(&clerk) {
                    return o;
                }
                st.poll
            };
            self.sleep(poll).await;
        }
    }

    pub async fn get(&self, clerk: usize, key: &str) -> String {
        match self.op(clerk, KvInput::Get { key: arc(key) }).await {
            Outcome::Value(v) => v,
            other => panic!("Get answered with {other:?}"),
        }
    }

    pub async fn put(&self, clerk: usize, key: &str, value: &str) {
        self.op(
            clerk,
            KvInput::Put {
                key: arc(key),
                value: arc(value),
            },
        )
        .await;
    }

    /// Append; returns the old value.
    pub async fn append(&self, clerk: usize, key: &str, value: &str) -> String {
        match self
            .op(
                clerk,
                KvInput::Append {
                    key: arc(key),
                    value: arc(value),
                },
            )
            .await
        {
            Outcome::Appended { old } => old,
            other => panic!("Append answered with {other:?}"),
        }
    }

    /// The Go tests' `check(cfg, t, ck, key, value)`.
    pub async fn check(&self, clerk: usize, key: &str, value: &str) -> R {
        let v = self.get(clerk, key).await;
        if v != value {
            return Err(format!("Get({key}): expected:\n{value}\nreceived:\n{v}"));
        }
        Ok(())
    }

    /// Runs the scenario body, then checks the history, and packages the outcome.
    pub fn run<F: Future<Output = R>>(self: &Rc<Self>, body: F) -> ScenarioOutcome {
        let end = self.exec.run(&**self, body, TEST_TIME_LIMIT);
        let mut st = self.st.borrow_mut();
        let st = &mut *st;
        let (recorded, rec) = (st.failure.clone(), std::mem::take(&mut st.rec));
        finish_run(end, recorded, rec, &mut st.sim, st.n)
    }
}

impl sim::exec::World for World {
    fn next_event_time(&self) -> Option<Time> {
        self.st.borrow().sim.next_event_time()
    }

    fn step(&self) {
        let mut st = self.st.borrow_mut();
        let st = &mut *st;
        let finished =
            step_recording_returns(&mut st.sim, &mut st.rec, &mut st.running, |outcome| {
                match outcome {
                    Outcome::Value(v) => KvOutput {
                        value: Some(arc(v)),
                    },
                    Outcome::Done => KvOutput { value: None },
                    // The old value pins where the Append took effect (see the module documentation).
                    Outcome::Appended { old } => KvOutput {
                        value: Some(arc(old)),
                    },
                }
            });
        st.done.extend(finished);
    }

    fn advance_to(&self, t: Time) {
        self.st.borrow_mut().sim.advance_to(t);
    }

    fn halted(&self) -> bool {
        self.st.borrow().failure.is_some()
    }
}

// ----- the tests (src/kvraft/test_test.go, 2024) -------------------------------------------------

type R = Result<(), String>;

/// The parameters of the Go `GenericTest`.
#[derive(Clone, Copy, Debug)]
struct Generic {
    nclients: usize,
    unreliable: bool,
    crash: bool,
    partitions: bool,
    maxraftstate: Option<usize>,
    randomkeys: bool,
}

/// `partitioner`: every second or so, split the servers into two random halves.
async fn partitioner(w: Rc<World>, stop: Rc<Cell<bool>>, finished: Rc<Cell<bool>>) {
    while !stop.get() {
        let n = w.n();
        let a: Vec<u64> = (0..n).map(|_| w.rand(2)).collect();
        let pa: Vec<Vec<HostId>> = (0..2)
            .map(|g| (0..n).filter(|&j| a[j] == g).collect())
            .collect();
        w.partition(&pa[0], &pa[1]);
        let ms = ELECTION_TIMEOUT + w.rand(200);
        w.sleep(ms).await;
    }
    finished.set(true);
}

/// `GenericTest`: 3 iterations of clients appending and getting for 5 s, with the faults the
/// parameters ask for, then checks of every client's appends and of the log and snapshot sizes.
async fn generic_test(w: Rc<World>, g: Generic) -> R {
    const NITER: usize = 3;
    let n = w.n();
    let ck = w.make_clerk(&w.all());
    for _ in 0..NITER {
        let stop_clients = Rc::new(Cell::new(false));
        let stop_partitioner = Rc::new(Cell::new(false));
        let partitioner_done = Rc::new(Cell::new(false));
        let counts: Rc<RefCell<Vec<Option<usize>>>> = Rc::new(RefCell::new(vec![None; g.nclients]));
        for cli in 0..g.nclients {
            let (w2, stop, counts) = (w.clone(), stop_clients.clone(), counts.clone());
            let myck = w.make_clerk(&w.all());
            w.spawn(async move {
                let w = w2;
                let mut j = 0;
                let mut last = String::new();
                if !g.randomkeys {
                    w.put(myck, &cli.to_string(), &last).await;
                }
                while !stop.get() {
                    let key = if g.randomkeys {
                        w.rand(g.nclients as u64).to_string()
                    } else {
                        cli.to_string()
                    };
                    let nv = append_value(cli, j);
                    if w.rand(1000) < 500 {
                        w.append(myck, &key, &nv).await;
                        if !g.randomkeys {
                            last = next_value(&last, &nv);
                        }
                        j += 1;
                    } else if g.randomkeys && w.rand(1000) < 100 {
                        w.put(myck, &key, &nv).await;
                        j += 1;
                    } else {
                        let v = w.get(myck, &key).await;
                        if !g.randomkeys && v != last {
                            return w.fail(format!(
                                "get wrong value, key {key}, wanted:\n{last}\n, got\n{v}"
                            ));
                        }
                    }
                }
                counts.borrow_mut()[cli] = Some(j);
            });
        }
        if g.partitions {
            // Allow the clients to perform some operations without interruption.
            w.sleep(1000).await;
            w.spawn(partitioner(
                w.clone(),
                stop_partitioner.clone(),
                partitioner_done.clone(),
            ));
        }
        w.sleep(5000).await;
        stop_clients.set(true);
        stop_partitioner.set(true);
        if g.partitions {
            while !partitioner_done.get() {
                w.sleep(POLL_MS).await;
            }
            // Reconnect the network and let any client with an outstanding request finish.
            w.connect_all();
            w.sleep(ELECTION_TIMEOUT).await;
        }
        if g.crash {
            for i in 0..n {
                w.shutdown_server(i);
            }
            // Wait for a while for servers to shut down, since shutdown isn't a real crash.
            w.sleep(ELECTION_TIMEOUT).await;
            for i in 0..n {
                w.start_server(i);
            }
            w.connect_all();
        }
        for i in 0..g.nclients {
            let j = loop {
                if let Some(j) = counts.borrow()[i] {
                    break j;
                }
                w.sleep(POLL_MS).await;
            };
            let v = w.get(ck, &i.to_string()).await;
            if !g.randomkeys {
                check_clnt_appends(i, &v, j)?;
            }
        }
        match g.maxraftstate {
            Some(max) => {
                let sz = w.log_size();
                if sz > 8 * max {
                    return Err(format!("logs were not trimmed ({sz} > 8*{max})"));
                }
            }
            None => {
                let ssz = w.snapshot_size();
                if ssz > 0 {
                    return Err(format!(
                        "snapshot too large ({ssz}), should not be used when maxraftstate = -1"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `GenericTestSpeed`: after a leader is known, 1000 sequential appends, each within a third of a
/// heartbeat interval on average.
async fn speed_test(w: Rc<World>, maxraftstate: Option<usize>) -> R {
    const NUM_OPS: usize = 1000;
    const TIME_PER_OP: Time = 100 / 3;
    w.st.borrow_mut().poll = FAST_POLL_MS;
    let ck = w.make_clerk(&w.all());
    // Wait until the first op completes, so we know a leader is elected.
    w.get(ck, "x").await;
    let start = w.now();
    for i in 0..NUM_OPS {
        w.append(ck, "x", &append_value(0, i)).await;
    }
    let dur = w.now() - start;
    let v = w.get(ck, "x").await;
    check_clnt_appends(0, &v, NUM_OPS)?;
    if dur > NUM_OPS as Time * TIME_PER_OP {
        return Err(format!(
            "Operations completed too slowly {} ms/op > {TIME_PER_OP} ms/op",
            dur / NUM_OPS as Time
        ));
    }
    if let Some(max) = maxraftstate {
        let sz = w.log_size();
        if sz > 8 * max {
            return Err(format!("logs were not trimmed ({sz} > 8*{max})"));
        }
    }
    Ok(())
}

/// TestUnreliableOneKey4A: 5 clients × 10 appends to one key on an unreliable network.
async fn unreliable_one_key(w: Rc<World>) -> R {
    const NCLIENT: usize = 5;
    const UPTO: usize = 10;
    let ck = w.make_clerk(&w.all());
    w.put(ck, "k", "").await;
    let finished = Rc::new(Cell::new(0));
    for me in 0..NCLIENT {
        let (w2, finished) = (w.clone(), finished.clone());
        let myck = w.make_clerk(&w.all());
        w.spawn(async move {
            for n in 0..UPTO {
                w2.append(myck, "k", &append_value(me, n)).await;
            }
            finished.set(finished.get() + 1);
        });
    }
    while finished.get() < NCLIENT {
        w.sleep(POLL_MS).await;
    }
    let vx = w.get(ck, "k").await;
    check_concurrent_appends(&vx, &[UPTO; NCLIENT])
}

/// `make_partition()`: the leader and one other server in the minority.
fn make_partition(w: &World) -> (Vec<HostId>, Vec<HostId>) {
    let n = w.n();
    let l = w.leader().unwrap_or(0);
    let others: Vec<HostId> = (0..n).filter(|&i| i != l).collect();
    let p1 = others[..n / 2 + 1].to_vec();
    let mut p2 = others[n / 2 + 1..].to_vec();
    p2.push(l);
    (p1, p2)
}

/// TestOnePartition4A: progress in the majority, none in the minority, completion after heal.
async fn one_partition(w: Rc<World>) -> R {
    let ck = w.make_clerk(&w.all());
    w.put(ck, "1", "13").await;

    // Test: progress in majority (4A)
    let (p1, p2) = make_partition(&w);
    w.partition(&p1, &p2);
    let ckp1 = w.make_clerk(&p1);
    let ckp2a = w.make_clerk(&p2);
    let ckp2b = w.make_clerk(&p2);
    w.put(ckp1, "1", "14").await;
    w.check(ckp1, "1", "14").await?;

    // Test: no progress in minority (4A)
    let done0 = Rc::new(Cell::new(false));
    let done1 = Rc::new(Cell::new(false));
    {
        let (w2, d) = (w.clone(), done0.clone());
        w.spawn(async move {
            w2.put(ckp2a, "1", "15").await;
            d.set(true);
        });
        let (w2, d) = (w.clone(), done1.clone());
        w.spawn(async move {
            w2.get(ckp2b, "1").await; // different clerk in p2
            d.set(true);
        });
    }
    w.sleep(1000).await;
    if done0.get() {
        return Err("Put in minority completed".into());
    }
    if done1.get() {
        return Err("Get in minority completed".into());
    }
    w.check(ckp1, "1", "14").await?;
    w.put(ckp1, "1", "16").await;
    w.check(ckp1, "1", "16").await?;

    // Test: completion after heal (4A)
    w.connect_all();
    w.connect_client(ckp2a, &w.all());
    w.connect_client(ckp2b, &w.all());
    w.sleep(ELECTION_TIMEOUT).await;
    let t0 = w.now();
    while !done0.get() {
        if w.now() - t0 >= 30 * 100 {
            return Err("Put did not complete".into());
        }
        w.sleep(POLL_MS).await;
    }
    // The Go test does not wait for the Get here (its select has a default case).
    w.check(ck, "1", "15").await
}

/// TestSnapshotRPC4B: a lagging server catches up by InstallSnapshot.
async fn snapshot_rpc(w: Rc<World>) -> R {
    const MAXRAFTSTATE: usize = 1000;
    let ck = w.make_clerk(&w.all());
    w.put(ck, "a", "A").await;
    w.check(ck, "a", "A").await?;
    // A bunch of puts into the majority partition.
    w.partition(&[0, 1], &[2]);
    {
        let ck1 = w.make_clerk(&[0, 1]);
        for i in 0..50 {
            w.put(ck1, &i.to_string(), &i.to_string()).await;
        }
        w.sleep(ELECTION_TIMEOUT).await;
        w.put(ck1, "b", "B").await;
    }
    // Check that the majority partition has thrown away most of its log entries.
    let sz = w.log_size();
    if sz > 8 * MAXRAFTSTATE {
        return Err(format!("logs were not trimmed ({sz} > 8*{MAXRAFTSTATE})"));
    }
    // Now make a group that requires participation of the lagging server, so it has to catch up.
    w.partition(&[0, 2], &[1]);
    {
        let ck1 = w.make_clerk(&[0, 2]);
        w.put(ck1, "c", "C").await;
        w.put(ck1, "d", "D").await;
        w.check(ck1, "a", "A").await?;
        w.check(ck1, "b", "B").await?;
        w.check(ck1, "1", "1").await?;
        w.check(ck1, "49", "49").await?;
    }
    // Now everybody.
    w.partition(&[0, 1, 2], &[]);
    w.put(ck, "e", "E").await;
    w.check(ck, "c", "C").await?;
    w.check(ck, "e", "E").await?;
    w.check(ck, "1", "1").await
}

/// TestSnapshotSize4B: 400 Puts and Gets on one key keep the Raft state and the snapshot small.
async fn snapshot_size(w: Rc<World>) -> R {
    const MAXRAFTSTATE: usize = 1000;
    const MAXSNAPSHOTSTATE: usize = 500;
    let ck = w.make_clerk(&w.all());
    for _ in 0..200 {
        w.put(ck, "x", "0").await;
        w.check(ck, "x", "0").await?;
        w.put(ck, "x", "1").await;
        w.check(ck, "x", "1").await?;
    }
    // Check that servers have thrown away most of their log entries.
    let sz = w.log_size();
    if sz > 8 * MAXRAFTSTATE {
        return Err(format!("logs were not trimmed ({sz} > 8*{MAXRAFTSTATE})"));
    }
    // Check that the snapshots are not unreasonably large.
    let ssz = w.snapshot_size();
    if ssz > MAXSNAPSHOTSTATE {
        return Err(format!("snapshot too large ({ssz} > {MAXSNAPSHOTSTATE})"));
    }
    Ok(())
}

fn run_world<F, Fut>(
    seed: u64,
    opts: &RunOptions,
    n: usize,
    unreliable: bool,
    maxraftstate: Option<usize>,
    body: F,
) -> ScenarioOutcome
where
    F: FnOnce(Rc<World>) -> Fut,
    Fut: Future<Output = R>,
{
    let w = World::new(seed, n, unreliable, maxraftstate, opts.trace);
    let fut = body(w.clone());
    w.run(fut)
}

fn generic(seed: u64, opts: &RunOptions, nservers: usize, g: Generic) -> ScenarioOutcome {
    run_world(seed, opts, nservers, g.unreliable, g.maxraftstate, |w| {
        generic_test(w, g)
    })
}

/// `GenericTest(part, nclients, nservers, unreliable, crash, partitions, maxraftstate, randomkeys)`
/// as a scenario; `maxraftstate` -1 is `None`.
macro_rules! generic {
    ($name:literal, $nclients:expr, $nservers:expr, $unreliable:expr, $crash:expr, $partitions:expr, $max:expr, $random:expr) => {
        Scenario {
            name: $name,
            run: |seed: u64, opts: &RunOptions| {
                let max: i64 = $max;
                let g = Generic {
                    nclients: $nclients,
                    unreliable: $unreliable,
                    crash: $crash,
                    partitions: $partitions,
                    maxraftstate: usize::try_from(max).ok(),
                    randomkeys: $random,
                };
                generic(seed, opts, $nservers, g)
            },
        }
    };
}

/// The kvraft catalog (4A then 4B), in the order of the Go test file.
pub fn catalog() -> Catalog {
    Catalog {
        system: "kvraft",
        scenarios: vec![
            generic!("TestBasic4A", 1, 5, false, false, false, -1, false),
            Scenario {
                name: "TestSpeed4A",
                run: |seed, opts| run_world(seed, opts, 3, false, None, |w| speed_test(w, None)),
            },
            generic!("TestConcurrent4A", 5, 5, false, false, false, -1, false),
            generic!("TestUnreliable4A", 5, 5, true, false, false, -1, false),
            Scenario {
                name: "TestUnreliableOneKey4A",
                run: |seed, opts| run_world(seed, opts, 3, true, None, unreliable_one_key),
            },
            Scenario {
                name: "TestOnePartition4A",
                run: |seed, opts| run_world(seed, opts, 5, false, None, one_partition),
            },
            generic!(
                "TestManyPartitionsOneClient4A",
                1,
                5,
                false,
                false,
                true,
                -1,
                false
            ),
            generic!(
                "TestManyPartitionsManyClients4A",
                5,
                5,
                false,
                false,
                true,
                -1,
                false
            ),
            generic!(
                "TestPersistOneClient4A",
                1,
                5,
                false,
                true,
                false,
                -1,
                false
            ),
            generic!(
                "TestPersistConcurrent4A",
                5,
                5,
                false,
                true,
                false,
                -1,
                false
            ),
            generic!(
                "TestPersistConcurrentUnreliable4A",
                5,
                5,
                true,
                true,
                false,
                -1,
                false
            ),
            generic!("TestPersistPartition4A", 5, 5, false, true, true, -1, false),
            generic!(
                "TestPersistPartitionUnreliable4A",
                5,
                5,
                true,
                true,
                true,
                -1,
                false
            ),
            generic!(
                "TestPersistPartitionUnreliableLinearizable4A",
                15,
                7,
                true,
                true,
                true,
                -1,
                true
            ),
            Scenario {
                name: "TestSnapshotRPC4B",
                run: |seed, opts| run_world(seed, opts, 3, false, Some(1000), snapshot_rpc),
            },
            Scenario {
                name: "TestSnapshotSize4B",
                run: |seed, opts| run_world(seed, opts, 3, false, Some(1000), snapshot_size),
            },
            Scenario {
                name: "TestSpeed4B",
                run: |seed, opts| {
                    run_world(seed, opts, 3, false, Some(1000), |w| {
                        speed_test(w, Some(1000))
                    })
                },
            },
            generic!(
                "TestSnapshotRecover4B",
                1,
                5,
                false,
                true,
                false,
                1000,
                false
            ),
            generic!(
                "TestSnapshotRecoverManyClients4B",
                20,
                5,
                false,
                true,
                false,
                1000,
                false
            ),
            generic!(
                "TestSnapshotUnreliable4B",
                5,
                5,
                true,
                false,
                false,
                1000,
                false
            ),
            generic!(
                "TestSnapshotUnreliableRecover4B",
                5,
                5,
                true,
                true,
                false,
                1000,
                false
            ),
            generic!(
                "TestSnapshotUnreliableRecoverConcurrentPartition4B",
                5,
                5,
                true,
                true,
                true,
                1000,
                false
            ),
            generic!(
                "TestSnapshotUnreliableRecoverConcurrentPartitionLinearizable4B",
                15,
                7,
                true,
                true,
                true,
                1000,
                true
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partition_puts_the_leader_in_the_minority() {
        let w = World::new(1, 5, false, None, false);
        // No leader yet: server 0 stands in for it.
        let (p1, p2) = make_partition(&w);
        assert_eq!((p1, p2), (vec![1, 2, 3], vec![4, 0]));
    }
}
