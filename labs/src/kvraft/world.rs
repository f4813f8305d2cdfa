//! [`World`]: kvraft/config.go in virtual time, as a facade over the lab's [`Run`].
//!
//! # Mapping of config.go
//! - Servers are hosts `0..n`; each clerk is a host of its own, whose ends reach the servers it was
//!   made for (`makeClient(to)`, `ConnectClient`), in a shuffled order per clerk as in the lab.
//! - `partition(p1, p2)` is [`Fault::Partition`]: exactly the server-to-server ends inside each
//!   half are enabled; clerk ends are untouched. `ConnectAll` is [`Fault::Heal`].
//! - `ShutdownServer(i)` disconnects server `i` and crashes it: its persister survives and calls to
//!   it fail. `StartServer(i)` rebuilds it from the persister (Raft state and snapshot).
//! - No long delays: a call to an unreachable server fails within 100 ms.
//!
//! Every clerk operation is recorded in the run's history (see [`crate::kv`]), partitions and
//! crashes as annotations, and the history is checked when the run ends. An Append is recorded
//! with the value it replaced (our kvraft returns it, as kvsrv does; the lab's Append returns
//! nothing), so the checker verifies the Append's position instead of guessing it: without it, the
//! 50 concurrent Appends to one key of TestUnreliableOneKey4A could not be checked in time.
//!
//! [`KvraftLab`] observes both sides of every event: the clerks' returns go into the history, and
//! the Raft safety invariants ([`crate::raft::Invariants`]) are checked on every server after each
//! of its steps, and Raft's liveness ([`crate::raft::Liveness`]) after every event, exactly as in
//! the Raft lab.
//!
//! A scenario task waits for its clerk by polling every [`POLL_MS`].

use std::future::Future;
use std::ops::Deref;
use std::rc::Rc;

use checker::models::{KvInput, KvOutput};
use checker::History;
use kvraft::{Clerk, Op, Outcome};
use rand::seq::SliceRandom;
use rand::Rng;
use sim::{HostId, NetConfig, Noted, Stepped, Time};

use super::host::{ClerkHost, Done, Host, ServerHost};
use crate::failure::Failure;
use crate::fault::Fault;
use crate::kv::{arc, ClerkOp, Clerks, TEST_TIME_LIMIT};
use crate::mutants::RunMutant;
use crate::raft::{Invariants, Liveness};
use crate::run::{Conclusion, Core, Lab, Run, Setup};
use crate::runner::{RunOptions, ScenarioOutcome};

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

/// What the kvraft tester keeps beside the simulator.
pub struct KvraftLab {
    maxraftstate: Option<usize>,
    mutation: Option<kvraft::Mutation>,
    raft_mutation: Option<raft::Mutation>,
    /// Clerk index -> its host.
    clerk_hosts: Vec<HostId>,
    clerks: Clerks<Outcome>,
    invariants: Invariants,
    liveness: Liveness,
    poll: Time,
    commands: u64,
}

impl Lab for KvraftLab {
    type Host = Host;
    type Input = KvInput;
    type Output = KvOutput;

    fn observe(
        core: &mut Core<Self>,
        stepped: Stepped,
        notes: Vec<Noted<Done>>,
    ) -> Result<(), Failure> {
        for noted in notes {
            let (clerk, outcome) = core
                .lab
                .clerks
                .returned(&mut core.history, noted, |outcome| match outcome {
                    Outcome::Value(v) => KvOutput {
                        value: Some(arc(v)),
                    },
                    Outcome::Done => KvOutput { value: None },
                    // The old value pins where the Append took effect (module documentation).
                    Outcome::Appended { old } => KvOutput {
                        value: Some(arc(old)),
                    },
                });
            core.lab.clerks.deliver(clerk, outcome);
        }
        let generation = core.fault_generation();
        let Core { sim, lab, .. } = core;
        if let Some(h) = stepped.host {
            if let Some(Host::Server(server)) = sim.host_mut(h) {
                lab.invariants.saw(h, server.take_seen());
                let raft = server.kv_mut().raft_mut();
                let step = lab.invariants.after_step(h, raft, stepped.time)?;
                lab.liveness.after_step(h, stepped.time, &step);
                if let Some(term) = step.new_leader {
                    sim.trace_line(|| format!("h{h} is leader of term {term}"));
                }
            }
        }
        lab.liveness.check(sim, generation, stepped.time)
    }

    fn restart(core: &mut Core<Self>, i: HostId) {
        let n = core.servers();
        let lab = &mut core.lab;
        let (max, mutation, raft_mutation) = (lab.maxraftstate, lab.mutation, lab.raft_mutation);
        lab.invariants.restarted(i, core.sim.now());
        core.sim.start(i, |boot| {
            Host::Server(Box::new(ServerHost::boot(
                boot,
                n,
                max,
                mutation,
                raft_mutation,
            )))
        });
        let Core { sim, lab, .. } = core;
        if let Some(Host::Server(server)) = sim.host(i) {
            lab.liveness.started(i, server.kv().raft().term());
            if let Err(e) = lab.invariants.after_restart(i, server.kv().raft()) {
                core.fail(e);
            }
        }
    }

    fn conclude(
        core: &mut Core<Self>,
        history: History<KvInput, KvOutput>,
        failed: bool,
    ) -> Conclusion {
        crate::kv::conclude(history, &core.opts, failed)
    }

    fn commands(core: &Core<Self>) -> u64 {
        core.lab.commands
    }
}

/// One kvraft run. Shared by the scenario's tasks as `Rc<World>`; the run's own helpers
/// (`sleep`, `spawn`, `rand`, `apply`, `fail`) come through `Deref`.
pub struct World {
    run: Run<KvraftLab>,
}

impl Deref for World {
    type Target = Run<KvraftLab>;
    fn deref(&self) -> &Run<KvraftLab> {
        &self.run
    }
}

impl World {
    /// `make_config(n, unreliable, maxraftstate)`: `n` servers started and connected.
    pub fn new(
        seed: u64,
        opts: &RunOptions,
        n: usize,
        unreliable: bool,
        maxraftstate: Option<usize>,
    ) -> Rc<World> {
        let lab = KvraftLab {
            maxraftstate,
            mutation: opts.mutant.kvraft(),
            raft_mutation: opts.mutant.raft(),
            clerk_hosts: Vec::new(),
            clerks: Clerks::default(),
            invariants: Invariants::new(n),
            liveness: Liveness::new((0..n).collect()),
            poll: POLL_MS,
            commands: 0,
        };
        let run = Run::new(Setup {
            seed,
            opts: opts.clone(),
            net: NetConfig {
                reliable: !unreliable,
                long_reordering: false,
                long_delays: false,
            },
            servers: n,
            lab,
        });
        // The first starts are not faults: no annotation.
        run.with(|core| (0..n).for_each(|i| KvraftLab::restart(core, i)));
        let w = Rc::new(World { run });
        w.connect_all();
        w
    }

    pub fn n(&self) -> usize {
        self.with(|c| c.servers())
    }

    /// Every server (`cfg.All()`).
    pub fn all(&self) -> Vec<HostId> {
        (0..self.n()).collect()
    }

    /// The speed tests poll their clerks every [`FAST_POLL_MS`].
    pub fn poll_fast(&self) {
        self.with(|c| c.lab.poll = FAST_POLL_MS);
    }

    // ----- faults -------------------------------------------------------------------------------

    /// `partition(p1, p2)`: servers talk only within their half.
    pub fn partition(&self, p1: &[HostId], p2: &[HostId]) {
        self.apply(Fault::Partition(vec![p1.to_vec(), p2.to_vec()]));
    }

    /// `ConnectAll()`: every pair of servers connected.
    pub fn connect_all(&self) {
        self.apply(Fault::Heal);
    }

    /// `ShutdownServer(i)`: disconnect and crash; the persister survives.
    pub fn shutdown_server(&self, i: HostId) {
        self.apply(Fault::Disconnect(i));
        self.apply(Fault::Crash(i));
    }

    /// `StartServer(i)`: rebuild server `i` from its persister. Does not connect it.
    pub fn start_server(&self, i: HostId) {
        self.apply(Fault::Restart(i));
    }

    /// `makeClient(to)`: a clerk whose ends reach the servers in `to`, in a shuffled order.
    pub fn make_clerk(&self, to: &[HostId]) -> usize {
        let index = self.with(|c| {
            let index = c.lab.clerk_hosts.len();
            let host = c.sim.add_host();
            let n = c.servers();
            let mut servers: Vec<HostId> = (0..n).collect();
            servers.shuffle(&mut c.rng);
            let id = c.rng.gen_range(0..1u64 << 62);
            c.sim.start(host, |_| {
                Host::Clerk(ClerkHost {
                    index,
                    clerk: Clerk::new(id, n),
                    servers,
                    call: None,
                })
            });
            c.lab.clerk_hosts.push(host);
            index
        });
        self.connect_client(index, to);
        index
    }

    /// `ConnectClient(ck, to)`: the clerk reaches exactly the servers in `to`.
    pub fn connect_client(&self, clerk: usize, to: &[HostId]) {
        self.with(|c| {
            let host = c.lab.clerk_hosts[clerk];
            for i in 0..c.servers() {
                let on = to.contains(&i);
                c.sim.set_link(host, i, on);
                c.sim.set_link(i, host, on);
            }
        });
    }

    // ----- observation --------------------------------------------------------------------------

    /// `Leader()`: a live server that believes it leads.
    pub fn leader(&self) -> Option<HostId> {
        self.with(|c| {
            (0..c.servers())
                .find(|&i| matches!(c.sim.host(i), Some(Host::Server(s)) if s.kv().is_leader()))
        })
    }

    /// `LogSize()`: the largest persisted Raft state.
    pub fn log_size(&self) -> usize {
        self.with(|c| {
            (0..c.servers())
                .map(|i| c.sim.persister(i).raft_state_size())
                .max()
                .unwrap_or(0)
        })
    }

    /// `SnapshotSize()`: the largest persisted snapshot.
    pub fn snapshot_size(&self) -> usize {
        self.with(|c| {
            (0..c.servers())
                .map(|i| c.sim.persister(i).snapshot_size())
                .max()
                .unwrap_or(0)
        })
    }

    // ----- clerk operations ---------------------------------------------------------------------

    /// Runs one operation on `clerk` and waits for it; every operation is recorded.
    pub async fn op(&self, clerk: usize, input: KvInput) -> Outcome {
        self.with(|c| {
            let now = c.sim.now();
            c.lab.commands += 1;
            let op = Op::of(&input);
            c.lab.clerks.begin(&mut c.history, clerk, now, input);
            let host = c.lab.clerk_hosts[clerk];
            c.sim.with_host(host, |h, ctx| {
                if let Host::Clerk(ck) = h {
                    ck.begin(ctx, op);
                }
            });
        });
        loop {
            let (done, poll) = self.with(|c| (c.lab.clerks.take(clerk), c.lab.poll));
            if let Some(o) = done {
                return o;
            }
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
    pub async fn check(&self, clerk: usize, key: &str, value: &str) -> Result<(), Failure> {
        let v = self.get(clerk, key).await;
        if v != value {
            return Err(Failure::assertion(format!(
                "Get({key}): expected:\n{value}\nreceived:\n{v}"
            )));
        }
        Ok(())
    }
}

/// Runs `body` on a fresh world: the shape of every kvraft scenario.
pub fn run_world<F, Fut>(
    seed: u64,
    opts: &RunOptions,
    n: usize,
    unreliable: bool,
    maxraftstate: Option<usize>,
    body: F,
) -> ScenarioOutcome
where
    F: FnOnce(Rc<World>) -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
{
    let w = World::new(seed, opts, n, unreliable, maxraftstate);
    let fut = body(w.clone());
    w.run.run(fut, TEST_TIME_LIMIT)
}
