//! [`Cluster`]: raft/config.go in virtual time.
//!
//! The methods mirror the Go tester: `check_one_leader`, `check_terms`, `check_no_leader`,
//! `n_committed`, `wait`, `one`, `crash1`, `start1`, `connect`, `disconnect`, with the same
//! timeouts in virtual milliseconds. The appliers (`applier` and `applierSnap`) run on every
//! applied message as soon as the step that produced it ends, and the Raft safety invariants
//! ([`super::invariants`]) are checked after every event. A violation is recorded as the run's
//! failure and stops the run at once (the Go tester's `log.Fatalf`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::rc::Rc;

use raft::{ApplyMsg, Mutation};
use rand::Rng;

use super::invariants::Invariants;
use super::server::RaftHost;
use crate::runner::{RunOptions, RunStats, ScenarioOutcome};
use sim::exec::{Executor, RunEnd, Sleep, World};
use sim::{derive_rng, ChaCha8Rng, HostId, NetConfig, Sim, Time};

/// The tester's `RaftElectionTimeout`.
pub const ELECTION_TIMEOUT: Time = 1000;
/// `MAXLOGSIZE` of the 3D tests: the raft state must stay below this many bytes.
pub const MAX_LOG_SIZE: usize = 2000;
/// The applierSnap snapshots after every `SNAPSHOT_INTERVAL` commands.
pub const SNAPSHOT_INTERVAL: u64 = 10;
/// `checkTimeout`: a test fails after 120 s.
pub const TEST_TIME_LIMIT: Time = 120_000;
/// Messages delivered in zero virtual time could loop forever without the clock moving; no correct
/// run comes close to this many events in one millisecond.
const MAX_EVENTS_PER_MS: u64 = 1_000_000;

/// A failed check; the message says what went wrong, like the Go tester's `Fatalf`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure(pub String);

/// Returns early with a [`Failure`].
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { return Err($crate::raft::Failure(format!($($arg)*))) };
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

struct State {
    sim: Sim<RaftHost>,
    n: usize,
    snapshot_mode: bool,
    connected: Vec<bool>,
    /// `cfg.logs`: what each server applied, by index.
    logs: Vec<BTreeMap<u64, Cmd>>,
    /// applierSnap's `lastApplied`.
    last_applied: Vec<u64>,
    max_index: u64,
    failure: Option<String>,
    /// (time, events run at that time): a guard against livelock, which virtual time cannot see.
    events_now: (Time, u64),
    warnings: Vec<String>,
    invariants: Invariants,
    rng: ChaCha8Rng,
    mutation: Option<Mutation>,
}

thread_local! {
    static MUTATION: std::cell::Cell<Option<Mutation>> = const { std::cell::Cell::new(None) };
}

/// Test-only: runs `f` with every Raft node of the clusters it builds carrying `mutation` (a known
/// bug put back), to check that the scenarios and invariants catch it.
pub fn with_mutation<R>(mutation: Mutation, f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            MUTATION.with(|m| m.set(None));
        }
    }
    MUTATION.with(|m| m.set(Some(mutation)));
    let _reset = Reset;
    f()
}

/// The cluster of one scenario run. Shared by the test's tasks as `Rc<Cluster>`.
pub struct Cluster {
    exec: Executor,
    st: RefCell<State>,
}

impl Cluster {
    /// `make_config(n, unreliable, snapshot)`: `n` servers, all started and connected, long delays on.
    pub fn new(seed: u64, n: usize, unreliable: bool, snapshot: bool, trace: bool) -> Rc<Cluster> {
        let config = NetConfig {
            reliable: !unreliable,
            long_reordering: false,
            long_delays: true,
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
            snapshot_mode: snapshot,
            connected: vec![false; n],
            logs: vec![BTreeMap::new(); n],
            last_applied: vec![0; n],
            max_index: 0,
            failure: None,
            events_now: (0, 0),
            warnings: Vec::new(),
            invariants: Invariants::new(n),
            rng: derive_rng(seed, "scenario", 0),
            mutation: MUTATION.with(|m| m.get()),
        };
        let c = Rc::new(Cluster {
            exec: Executor::new(),
            st: RefCell::new(st),
        });
        for i in 0..n {
            c.start1(i);
        }
        for i in 0..n {
            c.connect(i);
        }
        c
    }

    pub fn n(&self) -> usize {
        self.st.borrow().n
    }

    pub fn now(&self) -> Time {
        self.exec.now()
    }

    /// `time.Sleep` in virtual time.
    pub fn sleep(&self, ms: Time) -> Sleep {
        self.exec.sleep(ms)
    }

    /// `go f()`.
    pub fn spawn(&self, f: impl Future<Output = ()> + 'static) {
        self.exec.spawn(f)
    }

    /// A number in `0..n` from the scenario's random stream (the Go tests' `rand.Int() % n`).
    pub fn rand(&self, n: u64) -> u64 {
        self.st.borrow_mut().rng.gen_range(0..n)
    }

    /// A fresh random integer command value (`rand.Int()`).
    pub fn rand_value(&self) -> u64 {
        self.st.borrow_mut().rng.gen_range(0..(1u64 << 62))
    }

    /// Random bytes (`randstring(n)`).
    pub fn rand_bytes(&self, len: usize) -> Cmd {
        let mut st = self.st.borrow_mut();
        (0..len).map(|_| st.rng.gen_range(b'a'..=b'z')).collect()
    }

    /// Records a failure from a task that cannot return it (a "goroutine"); the run stops.
    pub fn record_failure(&self, f: Failure) {
        let mut st = self.st.borrow_mut();
        if st.failure.is_none() {
            st.failure = Some(f.0);
        }
    }

    pub fn warn(&self, msg: impl Into<String>) {
        let msg = msg.into();
        let mut st = self.st.borrow_mut();
        st.sim.trace_line(|| format!("warning: {msg}"));
        st.warnings.push(msg);
    }

    fn trace(&self, line: impl FnOnce() -> String) {
        self.st.borrow_mut().sim.trace_line(line);
    }

    // ----- faults -------------------------------------------------------------------------------

    /// `crash1(i)`: disconnect and kill server `i`; its persisted state survives.
    pub fn crash1(&self, i: HostId) {
        self.disconnect(i);
        self.st.borrow_mut().sim.crash(i);
    }

    /// `start1(i)`: (re)start server `i` from its persisted state, with the tester restoring the
    /// snapshot into its own bookkeeping (`ingestSnap`). Does not connect it.
    pub fn start1(&self, i: HostId) {
        self.crash1(i);
        let mut st = self.st.borrow_mut();
        st.last_applied[i] = 0;
        let snapshot = st.sim.persister(i).snapshot().to_vec();
        if !snapshot.is_empty() {
            if let Err(e) = ingest_snapshot(&mut st, i, &snapshot, None) {
                st.failure.get_or_insert(e);
            }
        }
        let (n, mutation) = (st.n, st.mutation);
        st.sim.start(i, |boot| RaftHost::boot(boot, n, mutation));
        st.invariants.restarted(i);
    }

    /// `connect(i)`: enable the ends between `i` and every connected server.
    pub fn connect(&self, i: HostId) {
        let mut st = self.st.borrow_mut();
        st.sim.trace_line(|| format!("connect h{i}"));
        st.connected[i] = true;
        for j in 0..st.n {
            if st.connected[j] {
                st.sim.set_link(i, j, true);
                st.sim.set_link(j, i, true);
            }
        }
    }

    /// `disconnect(i)`: disable the ends between `i` and everyone.
    pub fn disconnect(&self, i: HostId) {
        let mut st = self.st.borrow_mut();
        st.sim.trace_line(|| format!("disconnect h{i}"));
        st.connected[i] = false;
        for j in 0..st.n {
            st.sim.set_link(i, j, false);
            st.sim.set_link(j, i, false);
        }
    }

    pub fn is_connected(&self, i: HostId) -> bool {
        self.st.borrow().connected[i]
    }

    /// Whether server `i` is running (`cfg.rafts[i] != nil`).
    pub fn is_alive(&self, i: HostId) -> bool {
        self.st.borrow().sim.is_alive(i)
    }

    pub fn set_reliable(&self, reliable: bool) {
        self.st.borrow_mut().sim.set_reliable(reliable);
    }

    pub fn set_long_reordering(&self, on: bool) {
        self.st.borrow_mut().sim.set_long_reordering(on);
    }

    // ----- talking to servers -------------------------------------------------------------------

    /// `rafts[i].Start(cmd)`; `None` if server `i` is down.
    pub fn start_cmd(&self, i: HostId, c: Cmd) -> Option<(u64, u64, bool)> {
        let mut st = self.st.borrow_mut();
        let shown = if st.sim.tracing() {
            show(&c)
        } else {
            String::new()
        };
        let r = st.sim.with_host(i, |h, ctx| h.start(ctx, c));
        st.sim
            .trace_line(|| format!("Start({shown}) on h{i} -> {r:?}"));
        r
    }

    /// `rafts[i].GetState()`; `None` if server `i` is down.
    pub fn get_state(&self, i: HostId) -> Option<(u64, bool)> {
        self.st.borrow().sim.host(i).map(|h| h.raft().state())
    }

    pub fn rpc_count(&self, i: HostId) -> u64 {
        self.st.borrow().sim.stats().per_host[i]
    }

    pub fn rpc_total(&self) -> u64 {
        self.st.borrow().sim.stats().rpcs
    }

    pub fn bytes_total(&self) -> u64 {
        self.st.borrow().sim.stats().bytes
    }

    /// `LogSize()`: the largest persisted raft state.
    pub fn log_size(&self) -> usize {
        let st = self.st.borrow();
        (0..st.n)
            .map(|i| st.sim.persister(i).raft_state_size())
            .max()
            .unwrap_or(0)
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
                self.trace(|| format!("checkOneLeader -> h{}", ls[0]));
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
        let st = self.st.borrow();
        let mut count = 0;
        let mut cmd: Option<&Cmd> = None;
        for log in &st.logs {
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
    pub fn run<F: Future<Output = Result<(), Failure>>>(
        self: &Rc<Self>,
        body: F,
    ) -> ScenarioOutcome {
        let end = self.exec.run(&**self, body, TEST_TIME_LIMIT);
        let mut st = self.st.borrow_mut();
        let failure = match end {
            RunEnd::Done(Ok(())) => st.failure.clone(),
            RunEnd::Done(Err(Failure(msg))) => Some(st.failure.clone().unwrap_or(msg)),
            RunEnd::Halted => Some(st.failure.clone().unwrap_or_else(|| "halted".into())),
            RunEnd::TimedOut => Some(format!(
                "test took longer than {} seconds",
                TEST_TIME_LIMIT / 1000
            )),
            RunEnd::Stuck => {
                Some("the simulation ran out of events while the test was waiting".into())
            }
        };
        if let Some(f) = &failure {
            st.sim.trace_line(|| format!("FAILED: {f}"));
        }
        let stats = RunStats {
            virtual_ms: st.sim.now(),
            peers: st.n,
            rpcs: st.sim.stats().rpcs,
            bytes: st.sim.stats().bytes,
            commands: st.max_index,
        };
        let trace = if st.sim.tracing() {
            Some(st.sim.take_trace())
        } else {
            None
        };
        ScenarioOutcome {
            failure,
            stats,
            warnings: st.warnings.clone(),
            trace,
            artifacts: Vec::new(),
        }
    }
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
    let c = Cluster::new(seed, n, unreliable, snapshot, opts.trace);
    let fut = body(c.clone());
    c.run(fut)
}

impl World for Cluster {
    fn next_event_time(&self) -> Option<Time> {
        self.st.borrow().sim.next_event_time()
    }

    fn step(&self) {
        let mut st = self.st.borrow_mut();
        let Some(stepped) = st.sim.step() else { return };
        if st.events_now.0 == stepped.time {
            st.events_now.1 += 1;
            if st.events_now.1 > MAX_EVENTS_PER_MS {
                let t = stepped.time;
                st.failure = Some(format!(
                    "livelock: more than {MAX_EVENTS_PER_MS} events at time {t} ms"
                ));
                return;
            }
        } else {
            st.events_now = (stepped.time, 1);
        }
        let notes = st.sim.take_notes();
        for noted in notes {
            if st.failure.is_some() {
                break;
            }
            if let Err(e) = apply(&mut st, noted.host, noted.note) {
                st.failure = Some(e);
            }
        }
        if let Some(h) = stepped.host {
            if st.failure.is_none() {
                let State {
                    sim,
                    invariants,
                    failure,
                    ..
                } = &mut *st;
                if let Some(host) = sim.host_mut(h) {
                    match invariants.after_step(h, host.raft_mut()) {
                        Ok(Some(term)) => {
                            sim.trace_line(|| format!("h{h} is leader of term {term}"))
                        }
                        Ok(None) => {}
                        Err(e) => *failure = Some(e),
                    }
                }
            }
        }
        if let Some(f) = st.failure.clone() {
            st.sim.trace_line(|| format!("failure: {f}"));
        }
    }

    fn advance_to(&self, t: Time) {
        self.st.borrow_mut().sim.advance_to(t);
    }

    fn halted(&self) -> bool {
        self.st.borrow().failure.is_some()
    }
}

/// The tester's applier (or applierSnap in snapshot mode) for one applied message of server `i`.
fn apply(st: &mut State, i: HostId, m: ApplyMsg) -> Result<(), String> {
    if st.sim.tracing() {
        let line = match &m {
            ApplyMsg::Command {
                index,
                term,
                command,
            } => format!("h{i} applies {index}/t{term} = {}", show(command)),
            other => format!("h{i} applies {other:?}"),
        };
        st.sim.trace_line(|| line);
    }
    match m {
        ApplyMsg::Snapshot { index, data, .. } => {
            if st.snapshot_mode {
                ingest_snapshot(st, i, &data, Some(index))?;
            }
            Ok(())
        }
        ApplyMsg::Command { index, command, .. } => {
            if st.snapshot_mode && index != st.last_applied[i] + 1 {
                return Err(format!(
                    "server {i} apply out of order, expected index {}, got {index}",
                    st.last_applied[i] + 1
                ));
            }
            let prev_ok = check_logs(st, i, index, command)?;
            if index > 1 && !prev_ok {
                return Err(format!("server {i} apply out of order {index}"));
            }
            if st.snapshot_mode {
                st.last_applied[i] = index;
                if (index + 1) % SNAPSHOT_INTERVAL == 0 {
                    let xlog: Vec<Cmd> = (0..=index)
                        .map(|j| st.logs[i].get(&j).cloned().unwrap_or_default())
                        .collect();
                    let data = postcard::to_allocvec(&(index, xlog))
                        .expect("encoding to a Vec cannot fail");
                    st.sim.with_host(i, |h, ctx| h.snapshot(ctx, index, data));
                }
            }
            Ok(())
        }
    }
}

/// `checkLogs`: no other server applied a different command at `index` (state machine safety,
/// section 5.4.3); records the command; returns whether `index - 1` was applied before.
fn check_logs(st: &mut State, i: HostId, index: u64, command: Cmd) -> Result<bool, String> {
    for (j, log) in st.logs.iter().enumerate() {
        if let Some(old) = log.get(&index) {
            if *old != command {
                return Err(format!(
                    "state machine safety violated (Raft paper, section 5.4.3): commit index={index} server={i} {} != server={j} {}",
                    show(&command),
                    show(old)
                ));
            }
        }
    }
    let prev_ok = index <= 1 || st.logs[i].contains_key(&(index - 1));
    st.invariants.committed(index, &command);
    st.logs[i].insert(index, command);
    st.max_index = st.max_index.max(index);
    Ok(prev_ok)
}

/// `ingestSnap`: the tester decodes a snapshot into server `i`'s applied log.
fn ingest_snapshot(
    st: &mut State,
    i: HostId,
    data: &[u8],
    expected: Option<u64>,
) -> Result<(), String> {
    let (last_included, xlog): (u64, Vec<Cmd>) = postcard::from_bytes(data)
        .map_err(|e| format!("server {i}: cannot decode snapshot: {e}"))?;
    if let Some(index) = expected {
        if index != last_included {
            return Err(format!("server {i} snapshot doesn't match m.SnapshotIndex"));
        }
    }
    let mut log = BTreeMap::new();
    for (j, c) in xlog.into_iter().enumerate().skip(1) {
        log.insert(j as u64, c);
    }
    st.logs[i] = log;
    st.last_applied[i] = last_included;
    Ok(())
}

/// A summary line of the cluster for traces and debugging.
pub fn describe(c: &Cluster) -> String {
    let st = c.st.borrow();
    let mut s = String::new();
    for i in 0..st.n {
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
                    if st.connected[i] {
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
