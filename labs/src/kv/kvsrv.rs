//! kvsrv (2024 lab 2) in virtual time: one [`kvsrv::Server`] host and one host carrying every
//! clerk, on the labrpc network of [`sim`], and the lab's ten tests as scenarios.
//!
//! All clerks live on one simulator host ([`Host::Clerks`]) because the memory tests make 100,000
//! of them, and a host per clerk would cost a row of links each. Every clerk call is still its own
//! RPC with its own drops and delays; the server is the only other host and is never partitioned.
//!
//! A scenario task waits for its clerk by polling every [`POLL_MS`] virtual millisecond: the
//! executor's only suspension point is a sleep. The history records the reply at the instant it
//! arrived, not when the task noticed it. Long sequential loops (the 100,000-clerk memory tests)
//! use [`World::sequence`], which starts each operation in the same step the previous one ended.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use checker::models::{KvInput, KvOutput};
use kvsrv::{Clerk, Mutation, Op, Outcome, Reply, Request, Server};
use rand::Rng;
use serde::Serialize;

use super::{
    append_value, arc, check_clnt_appends, check_concurrent_appends, finish_run, in_history,
    next_value, step_recording_returns, with_mutation_in, Recorder, TEST_TIME_LIMIT,
};
use crate::runner::{Catalog, RunOptions, Scenario, ScenarioOutcome};
use sim::exec::Executor;
use sim::{derive_rng, CallId, ChaCha8Rng, Ctx, HostId, NetConfig, Process, Sim, Time};

/// How often a waiting scenario task looks at its clerk, in virtual ms.
pub const POLL_MS: Time = 1;
const MIB: usize = 1 << 20;

const SERVER: HostId = 0;
const CLERKS: HostId = 1;

/// What travels on the wire.
#[derive(Debug, Serialize)]
pub enum Msg {
    Req(Request),
    Rep(Reply),
}

/// A finished clerk operation, reported to the driver.
pub type Done = super::Done<Outcome>;

/// The processes of a kvsrv run.
pub enum Host {
    Server(Server),
    Clerks(ClerkPool),
}

/// Many clerks on one host; each call is tagged with the clerk that made it.
#[derive(Default)]
pub struct ClerkPool {
    clerks: Vec<Clerk>,
    calls: BTreeMap<CallId, usize>,
}

impl ClerkPool {
    fn begin(&mut self, ctx: &mut Ctx<'_, Msg, Done>, clerk: usize, op: Op) {
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

thread_local! {
    static MUTATION: Cell<Option<Mutation>> = const { Cell::new(None) };
}

/// Test-only: runs `f` with the servers it builds carrying `mutation` (a known bug put back).
pub fn with_mutation<R>(mutation: Mutation, f: impl FnOnce() -> R) -> R {
    with_mutation_in(&MUTATION, mutation, f)
}

struct State {
    sim: Sim<Host>,
    rec: Recorder,
    /// The history operation each busy clerk is running.
    running: BTreeMap<usize, usize>,
    /// Outcomes not yet collected by the task waiting for them.
    done: BTreeMap<usize, Outcome>,
    /// `World::sequence`: operations still to start, and the outcomes of those finished.
    chain: VecDeque<(usize, KvInput)>,
    chain_clerk: Option<usize>,
    failure: Option<String>,
    rng: ChaCha8Rng,
    /// Whether Append outputs record the old value (see [`World::skip_append_outputs`]).
    record_old: bool,
}

impl State {
    fn begin(&mut self, clerk: usize, input: KvInput) {
        let op = self.rec.call(clerk as u64, self.sim.now(), input.clone());
        self.running.insert(clerk, op);
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
        let started = self.sim.with_host(CLERKS, |h, ctx| {
            if let Host::Clerks(pool) = h {
                pool.begin(ctx, clerk, op);
            }
        });
        assert!(started.is_some(), "the clerk host is always up");
    }
}

/// One kvsrv run: the simulator, the history, and the scenario's tasks. Shared as `Rc<World>`.
pub struct World {
    exec: Executor,
    st: RefCell<State>,
}

impl World {
    /// `make_config(unreliable)`: one server, the clerk host, both connected.
    pub fn new(seed: u64, unreliable: bool, trace: bool) -> Rc<World> {
        let config = NetConfig {
            reliable: !unreliable,
            long_reordering: false,
            long_delays: false,
        };
        let mut sim = Sim::new(seed, config);
        if trace {
            sim.enable_trace();
        }
        let server = sim.add_host();
        let clerks = sim.add_host();
        let mutation = MUTATION.with(|m| m.get());
        sim.start(server, |_| {
            Host::Server(Server::new(kvsrv::Config { mutation }))
        });
        sim.start(clerks, |_| Host::Clerks(ClerkPool::default()));
        sim.set_link(clerks, server, true);
        sim.set_link(server, clerks, true);
        let mut rec = Recorder::default();
        if unreliable {
            rec.fault_begin(0, "net", "unreliable network");
        }
        let st = State {
            sim,
            rec,
            running: BTreeMap::new(),
            done: BTreeMap::new(),
            chain: VecDeque::new(),
            chain_clerk: None,
            failure: None,
            rng: derive_rng(seed, "scenario", 0),
            record_old: true,
        };
        Rc::new(World {
            exec: Executor::new(),
            st: RefCell::new(st),
        })
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

    /// `randValue(n)`: `n` random letters.
    pub fn rand_value(&self, n: usize) -> String {
        let mut st = self.st.borrow_mut();
        (0..n)
            .map(|_| char::from(st.rng.gen_range(b'a'..=b'z')))
            .collect()
    }

    /// `cfg.makeClient()`: a new clerk with a random 62-bit id; returns its index.
    pub fn make_clerk(&self) -> usize {
        let mut st = self.st.borrow_mut();
        let id = st.rng.gen_range(0..1u64 << 62);
        let mut made = None;
        st.sim.with_host(CLERKS, |h, _| {
            if let Host::Clerks(pool) = h {
                pool.clerks.push(Clerk::new(id));
                made = Some(pool.clerks.len() - 1);
            }
        });
        made.expect("the clerk host is always up")
    }

    /// Records a failure from a task (a Go `t.Fatalf`); the run stops.
    pub fn fail(&self, msg: impl Into<String>) {
        let mut st = self.st.borrow_mut();
        if st.failure.is_none() {
            st.failure = Some(msg.into());
        }
    }

    /// Runs one operation on `clerk` and waits for it; every operation is recorded.
    pub async fn op(&self, clerk: usize, input: KvInput) -> Outcome {
        self.st.borrow_mut().begin(clerk, input);
        loop {
            if let Some(o) = self.st.borrow_mut().done.remove(&clerk) {
                return o;
            }
            self.sleep(POLL_MS).await;
        }
    }

    pub async fn get(&self, clerk: usize, key: &str) -> String {
        match self.op(clerk, KvInput::Get { key: arc(key) }).await {
            Outcome::Value(v) => v,
            other => panic!("Get answered with {other:?}"),
        }
    }

    pub async fn put(&self, clerk: usize, key: &str, value: Arc<str>) {
        self.op(
            clerk,
            KvInput::Put {
                key: arc(key),
                value,
            },
        )
        .await;
    }

    /// Append; returns the old value.
    pub async fn append(&self, clerk: usize, key: &str, value: Arc<str>) -> String {
        match self
            .op(
                clerk,
                KvInput::Append {
                    key: arc(key),
                    value,
                },
            )
            .await
        {
            Outcome::Appended { old } => old,
            other => panic!("Append answered with {other:?}"),
        }
    }

    /// Runs `ops` one after another, each started in the step where the previous one returned
    /// (a tight Go loop over clerks). The outcomes are in the history; they are not kept here,
    /// since a thousand appends of a growing value would return 500 MB of old values.
    pub async fn sequence(&self, ops: Vec<(usize, KvInput)>) {
        {
            let mut st = self.st.borrow_mut();
            st.chain = ops.into();
            if let Some((clerk, input)) = st.chain.pop_front() {
                st.chain_clerk = Some(clerk);
                st.begin(clerk, input);
            }
        }
        while self.st.borrow().chain_clerk.is_some() {
            self.sleep(POLL_MS).await;
        }
    }

    /// Records Appends with no output from now on, so they are not checked. Only for
    /// TestMemManyAppends: its 1000 old values are prefixes of a 1 MB value, 500 MB in all, which
    /// the history would otherwise hold; its final Get is recorded and checked instead.
    pub fn skip_append_outputs(&self) {
        self.st.borrow_mut().record_old = false;
    }

    /// The heap bytes the server retains ([`Server::retained_bytes`]).
    pub fn server_bytes(&self) -> usize {
        match self.st.borrow().sim.host(SERVER) {
            Some(Host::Server(s)) => s.retained_bytes(),
            _ => 0,
        }
    }

    /// Runs the scenario body, then checks the history, and packages the outcome.
    pub fn run<F: Future<Output = Result<(), String>>>(
        self: &Rc<Self>,
        body: F,
    ) -> ScenarioOutcome {
        let end = self.exec.run(&**self, body, TEST_TIME_LIMIT);
        let mut st = self.st.borrow_mut();
        let st = &mut *st;
        let (recorded, rec) = (st.failure.clone(), std::mem::take(&mut st.rec));
        finish_run(end, recorded, rec, &mut st.sim, 1)
    }
}

impl sim::exec::World for World {
    fn next_event_time(&self) -> Option<Time> {
        self.st.borrow().sim.next_event_time()
    }

    fn step(&self) {
        let mut st = self.st.borrow_mut();
        let st = &mut *st;
        let record_old = st.record_old;
        let finished =
            step_recording_returns(&mut st.sim, &mut st.rec, &mut st.running, |outcome| {
                match outcome {
                    Outcome::Value(v) => KvOutput {
                        value: Some(arc(v)),
                    },
                    Outcome::Put => KvOutput { value: None },
                    Outcome::Appended { old } if record_old => KvOutput {
                        value: Some(arc(old)),
                    },
                    Outcome::Appended { .. } => KvOutput { value: None },
                }
            });
        for (clerk, outcome) in finished {
            if st.chain_clerk == Some(clerk) {
                match st.chain.pop_front() {
                    Some((next, input)) => {
                        st.chain_clerk = Some(next);
                        st.begin(next, input);
                    }
                    None => st.chain_clerk = None,
                }
            } else {
                st.done.insert(clerk, outcome);
            }
        }
    }

    fn advance_to(&self, t: Time) {
        self.st.borrow_mut().sim.advance_to(t);
    }

    fn halted(&self) -> bool {
        self.st.borrow().failure.is_some()
    }
}

// ----- the tests (src/kvsrv/test_test.go, 2024) --------------------------------------------------

type R = Result<(), String>;

/// `GenericTest(nclients, unreliable, randomkeys)`: 3 iterations of clients appending and getting
/// for 1 s, each client checking what it sees against what it wrote.
async fn generic_test(w: Rc<World>, nclients: usize, randomkeys: bool) -> R {
    const NITER: usize = 3;
    const TIME: Time = 1000;
    let ck = w.make_clerk();
    for _ in 0..NITER {
        let stop = Rc::new(Cell::new(false));
        let counts: Rc<RefCell<Vec<Option<usize>>>> = Rc::new(RefCell::new(vec![None; nclients]));
        for cli in 0..nclients {
            let (w2, stop, counts) = (w.clone(), stop.clone(), counts.clone());
            let myck = w.make_clerk();
            w.spawn(async move {
                let w = w2;
                let mut j = 0;
                let mut last = String::new();
                if !randomkeys {
                    w.put(myck, &cli.to_string(), arc(&last)).await;
                }
                while !stop.get() {
                    let key = if randomkeys {
                        w.rand(nclients as u64).to_string()
                    } else {
                        cli.to_string()
                    };
                    let nv = append_value(cli, j);
                    if w.rand(1000) < 500 {
                        let l = w.append(myck, &key, arc(&nv)).await;
                        if !randomkeys {
                            if j > 0 {
                                let o = append_value(cli, j - 1);
                                if !in_history(&o, &l) {
                                    return w.fail(format!("error: old {o} not in return\n{l}"));
                                }
                            }
                            if in_history(&nv, &l) {
                                return w.fail(format!(
                                    "error: new value {nv} in returned values\n{l}"
                                ));
                            }
                            last = next_value(&last, &nv);
                        }
                        j += 1;
                    } else if randomkeys && w.rand(1000) < 100 {
                        w.put(myck, &key, arc(&nv)).await;
                        j += 1;
                    } else {
                        let v = w.get(myck, &key).await;
                        if !randomkeys && v != last {
                            return w.fail(format!(
                                "get wrong value, key {key}, wanted:\n{last}\n, got\n{v}"
                            ));
                        }
                    }
                }
                counts.borrow_mut()[cli] = Some(j);
            });
        }
        w.sleep(TIME).await;
        stop.set(true);
        for i in 0..nclients {
            let j = loop {
                if let Some(j) = counts.borrow()[i] {
                    break j;
                }
                w.sleep(POLL_MS).await;
            };
            let v = w.get(ck, &i.to_string()).await;
            if !randomkeys {
                check_clnt_appends(i, &v, j)?;
            }
        }
    }
    Ok(())
}

/// TestUnreliableOneKey2: 5 clients append 10 values each to one key; no Append's old value holds
/// its own value, and the final value holds every append once, in order per client.
async fn unreliable_one_key(w: Rc<World>) -> R {
    const NCLIENT: usize = 5;
    const UPTO: usize = 10;
    let ck = w.make_clerk();
    w.put(ck, "k", arc("")).await;
    let finished = Rc::new(Cell::new(0));
    for me in 0..NCLIENT {
        let (w2, finished) = (w.clone(), finished.clone());
        let myck = w.make_clerk();
        w.spawn(async move {
            for n in 0..UPTO {
                let nv = append_value(me, n);
                let ov = w2.append(myck, "k", arc(&nv)).await;
                if in_history(&nv, &ov) {
                    return w2.fail(format!("error: nv {nv} in returned values\n{ov}"));
                }
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

/// TestMemGet2: after a 10 MiB value is read by two clerks and overwritten, the server keeps no
/// copy of it (no cached Get replies).
async fn mem_get(w: Rc<World>) -> R {
    const MEM: usize = 10;
    let (ck0, ck1) = (w.make_clerk(), w.make_clerk());
    let rd: Arc<str> = w.rand_value(MIB * MEM).into();
    w.put(ck0, "k", rd.clone()).await;
    if w.get(ck0, "k").await.len() != rd.len() {
        return Err("error: incorrect len".into());
    }
    if w.get(ck1, "k").await.len() != rd.len() {
        return Err("error: incorrect len".into());
    }
    w.put(ck0, "k", arc("0")).await;
    let m = w.server_bytes();
    if m >= MEM * MIB {
        return Err(format!(
            "error: server using too much memory {m} B (limit {} B)",
            MEM * MIB
        ));
    }
    Ok(())
}

/// TestMemPut2: a Put of 10 MiB by one clerk, then a Put of "" by another: Put values are not cached.
async fn mem_put(w: Rc<World>) -> R {
    const MEM: usize = 10;
    let (ck0, ck1) = (w.make_clerk(), w.make_clerk());
    let rd: Arc<str> = w.rand_value(MIB * MEM).into();
    w.put(ck0, "k", rd).await;
    w.put(ck1, "k", arc("")).await;
    let m = w.server_bytes();
    if m >= MEM * MIB {
        return Err(format!(
            "error: server using too much memory {m} B (limit {} B)",
            MEM * MIB
        ));
    }
    Ok(())
}

/// TestMemAppend2: two Appends of 10 MiB from two clerks leave at most 30 MiB (the value, 20 MiB,
/// and the one old value cached for the second clerk), compared in whole MiB as the Go test does.
async fn mem_append(w: Rc<World>) -> R {
    const MEM: usize = 10;
    let (ck0, ck1) = (w.make_clerk(), w.make_clerk());
    let rd: Arc<str> = w.rand_value(MIB * MEM).into();
    w.append(ck0, "k", rd.clone()).await;
    w.append(ck1, "k", rd).await;
    let m = w.server_bytes() / MIB;
    if m > 3 * MEM {
        return Err(format!(
            "error: server using too much memory {m} MiB (limit {} MiB)",
            3 * MEM
        ));
    }
    Ok(())
}

/// TestMemPutManyClients: 100,000 clerks each Put 1000 B once: at most 200 B per client remain.
async fn mem_put_many(w: Rc<World>) -> R {
    const NCLIENT: usize = 100_000;
    const SZ: usize = 1000;
    let v: Arc<str> = w.rand_value(SZ).into();
    let cks: Vec<usize> = (0..NCLIENT).map(|_| w.make_clerk()).collect();
    w.sleep(1000).await;
    let m0 = w.server_bytes();
    let key = arc("k");
    w.sequence(
        cks.iter()
            .map(|&ck| {
                (
                    ck,
                    KvInput::Put {
                        key: key.clone(),
                        value: v.clone(),
                    },
                )
            })
            .collect(),
    )
    .await;
    let m1 = w.server_bytes();
    if m1 > m0 + NCLIENT * 200 {
        let f = (m1 as f64 - m0 as f64) / NCLIENT as f64;
        return Err(format!(
            "error: server using too much memory {m0} {m1} ({f:.2} per client)"
        ));
    }
    Ok(())
}

/// TestMemGetManyClients: 100,000 clerks each Get once: at most 10 B per client remain.
async fn mem_get_many(w: Rc<World>) -> R {
    const NCLIENT: usize = 100_000;
    let ck = w.make_clerk();
    w.put(ck, "0", arc("")).await;
    let cks: Vec<usize> = (0..NCLIENT).map(|_| w.make_clerk()).collect();
    w.sleep(1000).await;
    let m0 = w.server_bytes();
    let key = arc("0");
    w.sequence(
        cks.iter()
            .map(|&ck| (ck, KvInput::Get { key: key.clone() }))
            .collect(),
    )
    .await;
    let m1 = w.server_bytes();
    if m1 >= m0 + NCLIENT * 10 {
        let f = (m1 as f64 - m0 as f64) / NCLIENT as f64;
        return Err(format!(
            "error: server using too much memory {m0} {m1} ({f:.2} per client)"
        ));
    }
    Ok(())
}

/// TestMemManyAppends: one clerk appends 1000 B 1000 times: less than 3 MB retained (old cached
/// values are freed).
async fn mem_many_appends(w: Rc<World>) -> R {
    const N: usize = 1000;
    const MEM: usize = 1000;
    let ck = w.make_clerk();
    let rd: Arc<str> = w.rand_value(MEM).into();
    let key = arc("k");
    w.skip_append_outputs();
    w.sequence(
        (0..N)
            .map(|_| {
                (
                    ck,
                    KvInput::Append {
                        key: key.clone(),
                        value: rd.clone(),
                    },
                )
            })
            .collect(),
    )
    .await;
    let m1 = w.server_bytes();
    if m1 >= 3 * N * MEM {
        return Err(format!(
            "error: server using too much memory: {m1} B (limit {} B)",
            3 * N * MEM
        ));
    }
    // Not in the Go test: every append is there exactly once.
    let v = w.get(ck, "k").await;
    if v != rd.repeat(N) {
        return Err(format!(
            "final value has {} B, wanted {N} appends of {MEM} B",
            v.len()
        ));
    }
    Ok(())
}

fn run_world<F, Fut>(seed: u64, opts: &RunOptions, unreliable: bool, body: F) -> ScenarioOutcome
where
    F: FnOnce(Rc<World>) -> Fut,
    Fut: Future<Output = R>,
{
    let w = World::new(seed, unreliable, opts.trace);
    let fut = body(w.clone());
    w.run(fut)
}

macro_rules! scenarios {
    ($($name:literal => ($unreliable:expr, $body:expr)),* $(,)?) => {
        vec![$(Scenario {
            name: $name,
            run: |seed: u64, opts: &RunOptions| run_world(seed, opts, $unreliable, $body),
        }),*]
    };
}

/// The kvsrv catalog, in the order of the Go test file.
pub fn catalog() -> Catalog {
    Catalog {
        system: "kvsrv",
        scenarios: scenarios![
            "TestBasic2" => (false, |w| generic_test(w, 1, false)),
            "TestConcurrent2" => (false, |w| generic_test(w, 5, false)),
            "TestUnreliable2" => (true, |w| generic_test(w, 5, false)),
            "TestUnreliableOneKey2" => (true, unreliable_one_key),
            "TestMemGet2" => (true, mem_get),
            "TestMemPut2" => (false, mem_put),
            "TestMemAppend2" => (false, mem_append),
            "TestMemPutManyClients" => (false, mem_put_many),
            "TestMemGetManyClients" => (false, mem_get_many),
            "TestMemManyAppends" => (false, mem_many_appends),
        ],
    }
}
