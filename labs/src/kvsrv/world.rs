//! [`World`]: kvsrv's config.go in virtual time, as a facade over the lab's [`Run`].
//!
//! One server host and one host carrying every clerk ([`super::host`]), both always connected.
//! A scenario task waits for its clerk by polling every [`POLL_MS`] virtual millisecond: the
//! executor's only suspension point is a sleep. The history records the reply at the instant it
//! arrived, not when the task noticed it. Long sequential loops (the 100,000-clerk memory tests)
//! use [`World::sequence`], which starts each operation in the same step the previous one ended.

use std::collections::VecDeque;
use std::future::Future;
use std::ops::Deref;
use std::rc::Rc;
use std::sync::Arc;

use checker::models::{KvInput, KvOutput};
use checker::History;
use kvsrv::{Clerk, Op, Outcome, Server};
use rand::Rng;
use sim::{HostId, NetConfig, Noted, Stepped, Time};

use super::host::{ClerkPool, Done, Host, CLERKS, SERVER};
use crate::failure::Failure;
use crate::kv::{arc, ClerkOp, Clerks, TEST_TIME_LIMIT};
use crate::mutants::RunMutant;
use crate::run::{Conclusion, Core, Lab, Run, Setup};
use crate::runner::{RunOptions, ScenarioOutcome};

/// How often a waiting scenario task looks at its clerk, in virtual ms.
pub const POLL_MS: Time = 1;

/// What the kvsrv tester keeps beside the simulator.
pub struct KvsrvLab {
    clerks: Clerks<Outcome>,
    /// [`World::sequence`]: operations still to start, and the clerk running the current one.
    chain: VecDeque<(usize, KvInput)>,
    chain_clerk: Option<usize>,
    /// Whether Append outputs record the old value (see [`World::skip_append_outputs`]).
    record_old: bool,
    mutation: Option<kvsrv::Mutation>,
    commands: u64,
}

impl Lab for KvsrvLab {
    type Host = Host;
    type Input = KvInput;
    type Output = KvOutput;

    fn observe(core: &mut Core<Self>, _: Stepped, notes: Vec<Noted<Done>>) -> Result<(), Failure> {
        for noted in notes {
            let record_old = core.lab.record_old;
            let (clerk, outcome) = core
                .lab
                .clerks
                .returned(&mut core.history, noted, |outcome| match outcome {
                    Outcome::Value(v) => KvOutput {
                        value: Some(arc(v)),
                    },
                    Outcome::Put => KvOutput { value: None },
                    Outcome::Appended { old } if record_old => KvOutput {
                        value: Some(arc(old)),
                    },
                    Outcome::Appended { .. } => KvOutput { value: None },
                });
            if core.lab.chain_clerk == Some(clerk) {
                match core.lab.chain.pop_front() {
                    Some((next, input)) => {
                        core.lab.chain_clerk = Some(next);
                        begin(core, next, input);
                    }
                    None => core.lab.chain_clerk = None,
                }
            } else {
                core.lab.clerks.deliver(clerk, outcome);
            }
        }
        Ok(())
    }

    fn restart(core: &mut Core<Self>, host: HostId) {
        let mutation = core.lab.mutation;
        match host {
            SERVER => core.sim.start(host, |_| {
                Host::Server(Server::new(kvsrv::Config { mutation }))
            }),
            _ => core.sim.start(host, |_| Host::Clerks(ClerkPool::default())),
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

/// Starts `input` on `clerk`, recording its call.
fn begin(core: &mut Core<KvsrvLab>, clerk: usize, input: KvInput) {
    let now = core.sim.now();
    core.lab.commands += 1;
    let op = Op::of(&input);
    core.lab.clerks.begin(&mut core.history, clerk, now, input);
    let started = core.sim.with_host(CLERKS, |h, ctx| {
        if let Host::Clerks(pool) = h {
            pool.begin(ctx, clerk, op);
        }
    });
    assert!(started.is_some(), "the clerk host is always up");
}

/// One kvsrv run. Shared by the scenario's tasks as `Rc<World>`; the run's own helpers come
/// through `Deref`.
pub struct World {
    run: Run<KvsrvLab>,
}

impl Deref for World {
    type Target = Run<KvsrvLab>;
    fn deref(&self) -> &Run<KvsrvLab> {
        &self.run
    }
}

impl World {
    /// `make_config(unreliable)`: one server, the clerk host, both connected.
    pub fn new(seed: u64, opts: &RunOptions, unreliable: bool) -> Rc<World> {
        let lab = KvsrvLab {
            clerks: Clerks::default(),
            chain: VecDeque::new(),
            chain_clerk: None,
            record_old: true,
            mutation: opts.mutant.kvsrv(),
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
            servers: 1,
            lab,
        });
        run.with(|core| {
            let clerks = core.sim.add_host();
            debug_assert_eq!(clerks, CLERKS);
            KvsrvLab::restart(core, SERVER);
            KvsrvLab::restart(core, CLERKS);
            core.sim.set_link(CLERKS, SERVER, true);
            core.sim.set_link(SERVER, CLERKS, true);
        });
        Rc::new(World { run })
    }

    /// `randValue(n)`: `n` random letters.
    pub fn rand_value(&self, n: usize) -> String {
        self.with(|c| {
            (0..n)
                .map(|_| char::from(c.rng.gen_range(b'a'..=b'z')))
                .collect()
        })
    }

    /// `cfg.makeClient()`: a new clerk with a random 62-bit id; returns its index.
    pub fn make_clerk(&self) -> usize {
        self.with(|c| {
            let id = c.rng.gen_range(0..1u64 << 62);
            let mut made = None;
            c.sim.with_host(CLERKS, |h, _| {
                if let Host::Clerks(pool) = h {
                    pool.clerks.push(Clerk::new(id));
                    made = Some(pool.clerks.len() - 1);
                }
            });
            made.expect("the clerk host is always up")
        })
    }

    /// Runs one operation on `clerk` and waits for it; every operation is recorded.
    pub async fn op(&self, clerk: usize, input: KvInput) -> Outcome {
        self.with(|c| begin(c, clerk, input));
        loop {
            if let Some(o) = self.with(|c| c.lab.clerks.take(clerk)) {
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
    pub async fn append(&self, clerk: usize, key: &str, value: Arc<str>) -> Arc<str> {
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
        self.with(|c| {
            c.lab.chain = ops.into();
            if let Some((clerk, input)) = c.lab.chain.pop_front() {
                c.lab.chain_clerk = Some(clerk);
                begin(c, clerk, input);
            }
        });
        while self.with(|c| c.lab.chain_clerk.is_some()) {
            self.sleep(POLL_MS).await;
        }
    }

    /// Records Appends with no output from now on, so they are not checked. Only for
    /// TestMemManyAppends: its 1000 old values are prefixes of a 1 MB value, 500 MB in all, which
    /// the history would otherwise hold; its final Get is recorded and checked instead.
    pub fn skip_append_outputs(&self) {
        self.with(|c| c.lab.record_old = false);
    }

    /// The heap bytes the server retains ([`Server::retained_bytes`]).
    pub fn server_bytes(&self) -> usize {
        self.with(|c| match c.sim.host(SERVER) {
            Some(Host::Server(s)) => s.retained_bytes(),
            _ => 0,
        })
    }
}

/// Runs `body` on a fresh world: the shape of every kvsrv scenario.
pub fn run_world<F, Fut>(seed: u64, opts: &RunOptions, unreliable: bool, body: F) -> ScenarioOutcome
where
    F: FnOnce(Rc<World>) -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
{
    let w = World::new(seed, opts, unreliable);
    let fut = body(w.clone());
    w.run.run(fut, TEST_TIME_LIMIT)
}
