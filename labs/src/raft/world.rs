//! [`Cluster`]: raft/config.go in virtual time, as a facade over the lab's [`Run`].
//!
//! The methods mirror the Go tester: `check_one_leader`, `check_terms`, `check_no_leader`,
//! `n_committed`, `wait`, `one`, `crash1`, `start1`, `connect`, `disconnect`, with the same
//! timeouts in virtual milliseconds. [`RaftLab`] plugs the tester's appliers (`applier` and
//! `applierSnap`), the Raft safety invariants ([`super::invariants`]) and the liveness checks
//! ([`super::liveness`]) into the run loop: the appliers run on every applied message as soon as
//! the step that produced it ends, the invariants and liveness checks after every event. A
//! violation is the run's failure and stops it at once (the Go tester's `log.Fatalf`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::ops::Deref;
use std::rc::Rc;

use raft::{ApplyMsg, Mutation};
use rand::Rng;
use sim::{HostId, NetConfig, Noted, Stepped, Time};

use super::host::RaftHost;
use super::invariants::Invariants;
use super::liveness::Liveness;
use crate::failure::Failure;
use crate::fault::Fault;
use crate::mutants::RunMutant;
use crate::run::{Core, Lab, Run, Setup};
use crate::runner::{RunOptions, ScenarioOutcome};

/// The tester's `RaftElectionTimeout`.
pub const ELECTION_TIMEOUT: Time = 1000;
/// `MAXLOGSIZE` of the 3D tests: the raft state must stay below this many bytes.
pub const MAX_LOG_SIZE: usize = 2000;
/// The applierSnap snapshots after every `SNAPSHOT_INTERVAL` commands.
pub const SNAPSHOT_INTERVAL: u64 = 10;
/// `checkTimeout`: a test fails after 120 s.
pub const TEST_TIME_LIMIT: Time = 120_000;

/// Returns early with an assertion [`Failure`] (the Go tests' `t.Fatalf`).
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { return Err($crate::failure::Failure::assertion(format!($($arg)*))) };
}

/// A command as the tests use it: bytes. Integers are encoded little-endian in 8 bytes.
pub type Cmd = Vec<u8>;

/// The command for an integer value (the Go tests' `int` commands).
pub fn cmd(x: u64) -> Cmd {
    x.to_le_bytes().to_vec()
}

/// Reads back an integer command.
pub fn cmd_value(c: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(c).ok().map(u64::from_le_bytes)
}

/// How a command prints in messages: its integer, or its length.
pub fn show(c: &[u8]) -> String {
    match cmd_value(c) {
        Some(x) => x.to_string(),
        None => format!("<{} bytes>", c.len()),
    }
}

/// What the Raft tester keeps beside the simulator.
pub struct RaftLab {
    snapshot_mode: bool,
    /// `cfg.logs`: what each server applied, by index.
    logs: Vec<BTreeMap<u64, Cmd>>,
    /// applierSnap's `lastApplied`.
    last_applied: Vec<u64>,
    max_index: u64,
    invariants: Invariants,
    liveness: Liveness,
    mutation: Option<Mutation>,
}

impl Lab for RaftLab {
    type Host = RaftHost;
    type Input = ();
    type Output = ();

    fn observe(
        core: &mut Core<Self>,
        stepped: Stepped,
        notes: Vec<Noted<ApplyMsg>>,
    ) -> Result<(), Failure> {
        for noted in notes {
            apply(core, noted.host, noted.note)?;
        }
        let generation = core.fault_generation();
        let Core { sim, lab, .. } = core;
        if let Some(h) = stepped.host {
            if let Some(host) = sim.host_mut(h) {
                lab.invariants.saw(h, host.take_seen());
                let step = lab
                    .invariants
                    .after_step(h, host.raft_mut(), stepped.time)?;
                lab.liveness.after_step(h, stepped.time, &step);
                if let Some(term) = step.new_leader {
                    sim.trace_line(|| format!("h{h} is leader of term {term}"));
                }
            }
        }
        lab.liveness.check(sim, generation, stepped.time)
    }

    /// `start1(i)`'s second half: the tester restores the snapshot into its own bookkeeping
    /// (`ingestSnap`) and the server is rebuilt from its persister.
    fn restart(core: &mut Core<Self>, i: HostId) {
        core.lab.last_applied[i] = 0;
        let snapshot = core.sim.persister(i).snapshot().to_vec();
        if !snapshot.is_empty() {
            if let Err(e) = ingest_snapshot(&mut core.lab, i, &snapshot, None) {
                core.fail(e);
            }
        }
        let (n, mutation) = (core.servers(), core.lab.mutation);
        core.sim.start(i, |boot| RaftHost::boot(boot, n, mutation));
        let now = core.sim.now();
        core.lab.invariants.restarted(i, now);
        let Core { sim, lab, .. } = core;
        if let Some(host) = sim.host(i) {
            lab.liveness.started(i, host.raft().term());
            // Section 7: the snapshot is saved with the state, so the one a server restarts from
            // ends exactly where its persisted log begins.
            let base = host.raft().snapshot_index();
            let restored = lab.last_applied[i];
            let check = lab.invariants.after_restart(i, host.raft());
            if let Err(e) = check {
                core.fail(e);
            } else if base != restored {
                core.fail(Failure::invariant(format!(
                    "the snapshot is persisted with the state (Raft paper, section 7): server {i} \
                     restarted with a log that starts after index {base} but a snapshot through {restored}"
                )));
            }
        }
    }

    fn commands(core: &Core<Self>) -> u64 {
        core.lab.max_index
    }
}

/// The cluster of one scenario run. Shared by the test's tasks as `Rc<Cluster>`; the run's own
/// helpers (`sleep`, `spawn`, `rand`, `apply`, `warn`, `fail`) come through `Deref`.
pub struct Cluster {
    run: Run<RaftLab>,
}

impl Deref for Cluster {
    type Target = Run<RaftLab>;
    fn deref(&self) -> &Run<RaftLab> {
        &self.run
    }
}

impl Cluster {
    /// `make_config(n, unreliable, snapshot)`: `n` servers, all started and connected, long delays on.
    pub fn new(
        seed: u64,
        opts: &RunOptions,
        n: usize,
        unreliable: bool,
        snapshot: bool,
    ) -> Rc<Cluster> {
        let lab = RaftLab {
            snapshot_mode: snapshot,
            logs: vec![BTreeMap::new(); n],
            last_applied: vec![0; n],
            max_index: 0,
            invariants: Invariants::new(n),
            liveness: Liveness::new((0..n).collect()),
            mutation: opts.mutant.raft(),
        };
        let run = Run::new(Setup {
            seed,
            opts: opts.clone(),
            net: NetConfig {
                reliable: !unreliable,
                long_reordering: false,
                long_delays: true,
            },
            servers: n,
            lab,
        });
        let c = Rc::new(Cluster { run });
        for i in 0..n {
            c.start1(i);
        }
        for i in 0..n {
            c.connect(i);
        }
        c
    }

    pub fn n(&self) -> usize {
        self.with(|c| c.servers())
    }

    /// A fresh random integer command value (`rand.Int()`).
    pub fn rand_value(&self) -> u64 {
        self.with(|c| c.rng.gen_range(0..(1u64 << 62)))
    }

    /// Random bytes (`randstring(n)`).
    pub fn rand_bytes(&self, len: usize) -> Cmd {
        self.with(|c| (0..len).map(|_| c.rng.gen_range(b'a'..=b'z')).collect())
    }

    // ----- faults -------------------------------------------------------------------------------

    /// `crash1(i)`: disconnect and kill server `i`; its persisted state survives.
    pub fn crash1(&self, i: HostId) {
        self.apply(Fault::Disconnect(i));
        if self.is_alive(i) {
            self.apply(Fault::Crash(i));
        }
    }

    /// `start1(i)`: (re)start server `i` from its persisted state, with the tester restoring the
    /// snapshot into its own bookkeeping (`ingestSnap`). Does not connect it.
    pub fn start1(&self, i: HostId) {
        self.crash1(i);
        self.apply(Fault::Restart(i));
    }

    /// `connect(i)`: enable the ends between `i` and every connected server.
    pub fn connect(&self, i: HostId) {
        self.apply(Fault::Connect(i));
    }

    /// `disconnect(i)`: disable the ends between `i` and everyone.
    pub fn disconnect(&self, i: HostId) {
        self.apply(Fault::Disconnect(i));
    }

    pub fn is_connected(&self, i: HostId) -> bool {
        self.with(|c| c.is_connected(i))
    }

    /// Whether server `i` is running (`cfg.rafts[i] != nil`).
    pub fn is_alive(&self, i: HostId) -> bool {
        self.with(|c| c.sim.is_alive(i))
    }

    pub fn set_reliable(&self, reliable: bool) {
        self.apply(Fault::Reliable(reliable));
    }

    pub fn set_long_reordering(&self, on: bool) {
        self.apply(Fault::LongReordering(on));
    }

    // ----- talking to servers -------------------------------------------------------------------

    /// `rafts[i].Start(cmd)`; `None` if server `i` is down.
    pub fn start_cmd(&self, i: HostId, c: Cmd) -> Option<(u64, u64, bool)> {
        self.with(|core| {
            let shown = if core.sim.tracing() {
                show(&c)
            } else {
                String::new()
            };
            let r = core.sim.with_host(i, |h, ctx| h.start(ctx, c));
            core.sim
                .trace_line(|| format!("Start({shown}) on h{i} -> {r:?}"));
            r
        })
    }

    /// `rafts[i].GetState()`; `None` if server `i` is down.
    pub fn get_state(&self, i: HostId) -> Option<(u64, bool)> {
        self.with(|c| c.sim.host(i).map(|h| h.raft().state()))
    }

    pub fn rpc_count(&self, i: HostId) -> u64 {
        self.with(|c| c.sim.stats().per_host[i])
    }

    pub fn rpc_total(&self) -> u64 {
        self.with(|c| c.sim.stats().rpcs)
    }

    pub fn bytes_total(&self) -> u64 {
        self.with(|c| c.sim.stats().bytes)
    }

    /// `LogSize()`: the largest persisted raft state.
    pub fn log_size(&self) -> usize {
        self.with(|c| {
            (0..c.servers())
                .map(|i| c.sim.persister(i).raft_state_size())
                .max()
                .unwrap_or(0)
        })
    }

    // ----- checks -------------------------------------------------------------------------------

    /// `checkOneLeader()`: up to 10 rounds of 450-550 ms; fails on two leaders in one term or on
    /// no leader at all; returns the leader of the newest term.
    pub async fn check_one_leader(&self) -> Result<HostId, Failure> {
        for _ in 0..10 {
            let ms = 450 + self.rand(100);
            self.sleep(ms).await;
            let mut leaders: BTreeMap<u64, Vec<HostId>> = BTreeMap::new();
            for i in 0..self.n() {
                if self.is_connected(i) {
                    if let Some((term, true)) = self.get_state(i) {
                        leaders.entry(term).or_default().push(i);
                    }
                }
            }
            for (term, ls) in &leaders {
                if ls.len() > 1 {
                    fail!("term {term} has {} (>1) leaders", ls.len());
                }
            }
            if let Some((_, ls)) = leaders.iter().next_back() {
                self.run.trace(|| format!("checkOneLeader -> h{}", ls[0]));
                return Ok(ls[0]);
            }
        }
        fail!("expected one leader, got none")
    }

    /// `checkTerms()`: all connected servers agree on the term; returns it.
    pub fn check_terms(&self) -> Result<u64, Failure> {
        let mut term = None;
        for i in 0..self.n() {
            if self.is_connected(i) {
                if let Some((t, _)) = self.get_state(i) {
                    match term {
                        None => term = Some(t),
                        Some(t0) if t0 != t => fail!("servers disagree on term"),
                        _ => {}
                    }
                }
            }
        }
        Ok(term.unwrap_or(0))
    }

    /// `checkNoLeader()`: no connected server thinks it is the leader.
    pub fn check_no_leader(&self) -> Result<(), Failure> {
        for i in 0..self.n() {
            if self.is_connected(i) && matches!(self.get_state(i), Some((_, true))) {
                fail!("expected no leader among connected servers, but {i} claims to be leader");
            }
        }
        Ok(())
    }

    /// `nCommitted(index)`: how many servers applied `index`, and the command there.
    pub fn n_committed(&self, index: u64) -> Result<(usize, Option<Cmd>), Failure> {
        self.with(|core| n_committed(&core.lab, index))
    }

    /// `checkNoAgreement(index)` of the newer tester: nobody applied `index`.
    pub fn check_no_agreement(&self, index: u64) -> Result<(), Failure> {
        let (n, _) = self.n_committed(index)?;
        if n > 0 {
            fail!("{n} committed but no majority");
        }
        Ok(())
    }

    /// `wait(index, n, startTerm)`: polls with back-off 10 ms..1 s up to 30 times until `n` servers
    /// applied `index`. `Ok(None)` if some server's term passed `start_term` (the Go `-1`).
    pub async fn wait(
        &self,
        index: u64,
        n: usize,
        start_term: Option<u64>,
    ) -> Result<Option<Cmd>, Failure> {
        let mut to = 10;
        for _ in 0..30 {
            let (nd, _) = self.n_committed(index)?;
            if nd >= n {
                break;
            }
            self.sleep(to).await;
            if to < 1000 {
                to *= 2;
            }
            if let Some(start) = start_term {
                for i in 0..self.n() {
                    if let Some((t, _)) = self.get_state(i) {
                        if t > start {
                            return Ok(None);
                        }
                    }
                }
            }
        }
        let (nd, c) = self.n_committed(index)?;
        if nd < n {
            fail!("only {nd} decided for index {index}; wanted {n}");
        }
        Ok(c)
    }

    /// `one(cmd, expectedServers, retry)`: submit `c` to whoever is leader and wait until at least
    /// `expected` servers applied it; returns its index. Gives up after 10 s.
    pub async fn one(&self, c: Cmd, expected: usize, retry: bool) -> Result<u64, Failure> {
        let t0 = self.now();
        let n = self.n();
        let mut starts = 0;
        while self.now() - t0 < 10_000 {
            let mut index = None;
            for _ in 0..n {
                starts = (starts + 1) % n;
                if self.is_connected(starts) {
                    if let Some((i, _, true)) = self.start_cmd(starts, c.clone()) {
                        index = Some(i);
                        break;
                    }
                }
            }
            if let Some(index) = index {
                let t1 = self.now();
                while self.now() - t1 < 2000 {
                    let (nd, c1) = self.n_committed(index)?;
                    if nd > 0 && nd >= expected && c1.as_ref() == Some(&c) {
                        return Ok(index);
                    }
                    self.sleep(20).await;
                }
                if !retry {
                    fail!("one({}) failed to reach agreement", show(&c));
                }
            } else {
                self.sleep(50).await;
            }
        }
        fail!("one({}) failed to reach agreement", show(&c))
    }

    // ----- running ------------------------------------------------------------------------------

    /// Runs a scenario body on this cluster and packages the outcome.
    pub fn run_body<F: Future<Output = Result<(), Failure>>>(&self, body: F) -> ScenarioOutcome {
        self.run.run(body, TEST_TIME_LIMIT)
    }
}

/// `nCommitted(index)` on the tester's record of what each server applied.
fn n_committed(lab: &RaftLab, index: u64) -> Result<(usize, Option<Cmd>), Failure> {
    let mut count = 0;
    let mut cmd: Option<&Cmd> = None;
    for log in &lab.logs {
        if let Some(c) = log.get(&index) {
            if let Some(prev) = cmd {
                if prev != c {
                    fail!(
                        "committed values do not match: index {index}, {}, {}",
                        show(prev),
                        show(c)
                    );
                }
            }
            count += 1;
            cmd = Some(c);
        }
    }
    Ok((count, cmd.cloned()))
}

/// Runs `body` on a fresh cluster: the shape of every Raft scenario.
pub fn run_cluster<F, Fut>(
    seed: u64,
    opts: &RunOptions,
    n: usize,
    unreliable: bool,
    snapshot: bool,
    body: F,
) -> ScenarioOutcome
where
    F: FnOnce(Rc<Cluster>) -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
{
    let c = Cluster::new(seed, opts, n, unreliable, snapshot);
    let fut = body(c.clone());
    c.run_body(fut)
}

/// The tester's applier (or applierSnap in snapshot mode) for one applied message of server `i`.
fn apply(core: &mut Core<RaftLab>, i: HostId, m: ApplyMsg) -> Result<(), Failure> {
    if core.sim.tracing() {
        let line = match &m {
            ApplyMsg::Command {
                index,
                term,
                command,
            } => format!("h{i} applies {index}/t{term} = {}", show(command)),
            other => format!("h{i} applies {other:?}"),
        };
        core.sim.trace_line(|| line);
    }
    let lab = &mut core.lab;
    match m {
        ApplyMsg::Snapshot { index, data, .. } => {
            lab.invariants.applied_snapshot(i, index)?;
            if lab.snapshot_mode {
                ingest_snapshot(lab, i, &data, Some(index))?;
            }
            Ok(())
        }
        ApplyMsg::Command { index, command, .. } => {
            if lab.snapshot_mode && index != lab.last_applied[i] + 1 {
                return Err(Failure::invariant(format!(
                    "server {i} apply out of order, expected index {}, got {index}",
                    lab.last_applied[i] + 1
                )));
            }
            lab.invariants.applied(i, index, &command)?;
            let prev_ok = check_logs(lab, i, index, command)?;
            if index > 1 && !prev_ok {
                return Err(Failure::invariant(format!(
                    "server {i} apply out of order {index}"
                )));
            }
            if lab.snapshot_mode {
                lab.last_applied[i] = index;
                if (index + 1) % SNAPSHOT_INTERVAL == 0 {
                    let xlog: Vec<Cmd> = (0..=index)
                        .map(|j| lab.logs[i].get(&j).cloned().unwrap_or_default())
                        .collect();
                    let data = postcard::to_allocvec(&(index, xlog))
                        .expect("encoding to a Vec cannot fail");
                    core.sim.with_host(i, |h, ctx| h.snapshot(ctx, index, data));
                }
            }
            Ok(())
        }
    }
}

/// `checkLogs`: no other server applied a different command at `index` (state machine safety,
/// section 5.4.3); records the command; returns whether `index - 1` was applied before.
fn check_logs(lab: &mut RaftLab, i: HostId, index: u64, command: Cmd) -> Result<bool, Failure> {
    for (j, log) in lab.logs.iter().enumerate() {
        if let Some(old) = log.get(&index) {
            if *old != command {
                return Err(Failure::invariant(format!(
                    "state machine safety violated (Raft paper, section 5.4.3): commit index={index} server={i} {} != server={j} {}",
                    show(&command),
                    show(old)
                )));
            }
        }
    }
    let prev_ok = index <= 1 || lab.logs[i].contains_key(&(index - 1));
    lab.invariants.committed(index, &command);
    lab.logs[i].insert(index, command);
    lab.max_index = lab.max_index.max(index);
    Ok(prev_ok)
}

/// `ingestSnap`: the tester decodes a snapshot into server `i`'s applied log.
fn ingest_snapshot(
    lab: &mut RaftLab,
    i: HostId,
    data: &[u8],
    expected: Option<u64>,
) -> Result<(), Failure> {
    let (last_included, xlog): (u64, Vec<Cmd>) = postcard::from_bytes(data)
        .map_err(|e| Failure::assertion(format!("server {i}: cannot decode snapshot: {e}")))?;
    if let Some(index) = expected {
        if index != last_included {
            return Err(Failure::assertion(format!(
                "server {i} snapshot doesn't match m.SnapshotIndex"
            )));
        }
    }
    let mut log = BTreeMap::new();
    for (j, c) in xlog.into_iter().enumerate().skip(1) {
        log.insert(j as u64, c);
    }
    lab.logs[i] = log;
    lab.last_applied[i] = last_included;
    Ok(())
}

/// A summary line of the cluster for traces and debugging.
pub fn describe(c: &Cluster) -> String {
    c.with(|core| describe_core(core))
}

fn describe_core(st: &Core<RaftLab>) -> String {
    let mut s = String::new();
    for i in 0..st.servers() {
        match st.sim.host(i) {
            Some(h) => {
                let r = h.raft();
                let _ = write!(
                    s,
                    "h{i}:{:?} t{} last {} commit {}{} ",
                    r.role(),
                    r.term(),
                    r.last_log_index(),
                    r.commit_index(),
                    if st.is_connected(i) {
                        ""
                    } else {
                        " (disconnected)"
                    }
                );
            }
            None => {
                let _ = write!(s, "h{i}:down ");
            }
        }
    }
    s
}
