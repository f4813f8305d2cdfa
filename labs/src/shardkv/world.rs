//! [`World`]: one shardctrler or shardkv run in virtual time, mirroring the labs' config.go.
//!
//! # Layout
//! Hosts `0..nctrlers` are the controller servers; then each replica group's `n` servers (gids
//! 100, 101, ...); clerks are added as the scenario makes them. Every host can reach every other
//! (the shardkv tests never partition); `shutdown_*` crashes servers (their persisters survive and
//! calls to them fail), `start_*` rebuilds them from their persisters.
//!
//! # What is checked, and when
//! - After every event, on the host that ran: the Raft invariants of its group (election safety,
//!   log matching, leader completeness, and that no two servers apply different commands at an
//!   index), and for a shardkv server the **shard-ownership invariant**: a group serves a shard in
//!   config `num` only if the controller's config `num` gives it that shard, so no two groups serve a
//!   shard in one config.
//! - At the end: every shardkv clerk operation, with the kv model (as in the kv labs), and every
//!   operation of the tester's controller clerks, with the `shard-config` model, so a stale or lost
//!   config fails the run even where the lab's `check()` would not look.
//!
//! Config changes (the tester's Join, Leave, Move), shutdowns and restarts are annotations on the
//! kv timeline.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;

use checker::models::{ConfigInput, ConfigOutput, ConfigView, KvInput, KvOutput, ShardConfig};
use checker::{CheckResult, History, HistoryView, Options, Verdict};
use raft::Raft;
use rand::seq::SliceRandom;
use rand::Rng;
use shardctrler::{Config, CtrlClerk, CtrlOp, CtrlOutcome, Gid, NSHARDS};
use shardkv::{Clerk, KvOp, Mutation, Outcome};
use sim::exec::{Executor, RunEnd};
use sim::{derive_rng, ChaCha8Rng, HostId, NetConfig, Sim, Time};

use super::host::{
    server_name, AdminHost, CtrlHost, Finished, Host, KvClerkHost, Names, ShardHost,
};
use crate::kv::{arc, finish_run, Recorder, CHECK_TIMEOUT, CHECK_UNKNOWN, TEST_TIME_LIMIT};
use crate::raft::Invariants;
use crate::runner::{Artifact, ScenarioOutcome};

/// How often a waiting scenario task looks at its clerk, in virtual ms.
pub const POLL_MS: Time = 10;

/// The parameters of `make_config`.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    pub nctrlers: usize,
    pub ngroups: usize,
    /// Servers per group.
    pub n: usize,
    pub unreliable: bool,
    pub maxraftstate: Option<usize>,
}

impl Setup {
    /// The shardctrler tester: 3 controller servers, no groups, a reliable network.
    pub fn ctrl(nctrlers: usize) -> Setup {
        Setup {
            nctrlers,
            ngroups: 0,
            n: 0,
            unreliable: false,
            maxraftstate: None,
        }
    }

    /// shardkv's `make_config(t, n, unreliable, maxraftstate)`: 3 controllers, 3 groups.
    pub fn kv(n: usize, unreliable: bool, maxraftstate: Option<usize>) -> Setup {
        Setup {
            nctrlers: 3,
            ngroups: 3,
            n,
            unreliable,
            maxraftstate,
        }
    }
}

/// Checks of one Raft group.
struct GroupCheck {
    inv: Invariants,
    /// Per member, the commit index already recorded.
    committed_upto: Vec<u64>,
    /// Commands applied, by index (hash), for state machine safety.
    applied: BTreeMap<u64, u64>,
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl GroupCheck {
    fn new(n: usize) -> Self {
        GroupCheck {
            inv: Invariants::new(n),
            committed_upto: vec![0; n],
            applied: BTreeMap::new(),
        }
    }

    fn after_step(&mut self, label: &str, me: usize, raft: &mut Raft) -> Result<(), String> {
        self.inv
            .after_step(me, raft)
            .map_err(|e| format!("{label}: {e}"))?;
        let upto = raft.commit_index();
        let from = (self.committed_upto[me] + 1).max(raft.snapshot_index() + 1);
        for index in from..=upto {
            let Some(entry) = raft.log_entry(index) else {
                continue;
            };
            let h = fnv(&entry.command);
            match self.applied.get(&index) {
                Some(&seen) if seen != h => {
                    return Err(format!(
                        "{label}: state machine safety violated (Raft paper, section 5.4.3): server {me} \
                         commits a different command at index {index}"
                    ))
                }
                Some(_) => {}
                None => {
                    self.applied.insert(index, h);
                }
            }
            self.inv.committed(index, &entry.command);
        }
        self.committed_upto[me] = upto.max(self.committed_upto[me]);
        Ok(())
    }
}

struct Group {
    gid: Gid,
    hosts: Rc<[HostId]>,
}

/// Where a server host sits: (index of its Raft group's checks, node id). Checks 0 are the
/// controller's, 1..=ngroups the replica groups', and a second controller's come after.
type Place = (usize, usize);

/// Which history a busy clerk's operation is in.
#[derive(Clone, Copy, Debug)]
enum Running {
    Kv(usize),
    Ctrl(usize),
    /// An operation on a second controller (TestRejection5A), a service of its own.
    Unrecorded,
}

struct State {
    sim: Sim<Host>,
    setup: Setup,
    ctrlers: Rc<[HostId]>,
    /// Every controller service: the first is `ctrlers`, the one the groups use.
    ctrl_sets: Vec<Rc<[HostId]>>,
    groups: Vec<Group>,
    labels: Vec<String>,
    names: Names,
    places: BTreeMap<HostId, Place>,
    checks: Vec<GroupCheck>,
    /// (config, shard) -> the group seen serving it.
    owners: BTreeMap<(u64, usize), Gid>,
    mutation: Option<Mutation>,
    kv_rec: Recorder,
    ctrl_rec: Recorder<ConfigInput, ConfigOutput>,
    clerks: Vec<HostId>,
    running: BTreeMap<usize, Running>,
    /// Clerk -> the controller service it uses.
    clerk_ctrl: Vec<usize>,
    done: BTreeMap<usize, Finished>,
    failure: Option<String>,
    rng: ChaCha8Rng,
}

/// One run. Shared by the scenario's tasks as `Rc<World>`.
pub struct World {
    exec: Executor,
    st: RefCell<State>,
}

thread_local! {
    static MUTATION: std::cell::Cell<Option<Mutation>> = const { std::cell::Cell::new(None) };
}

/// Test-only: runs `f` with the shardkv servers it builds carrying `mutation`.
pub fn with_mutation<R>(mutation: Mutation, f: impl FnOnce() -> R) -> R {
    crate::kv::with_mutation_in(&MUTATION, mutation, f)
}

fn kv_input(op: &KvOp) -> KvInput {
    match op {
        KvOp::Get { key } => KvInput::Get { key: arc(key) },
        KvOp::Put { key, value } => KvInput::Put {
            key: arc(key),
            value: arc(value),
        },
        KvOp::Append { key, value } => KvInput::Append {
            key: arc(key),
            value: arc(value),
        },
    }
}

fn ctrl_input(op: &CtrlOp) -> ConfigInput {
    match op {
        CtrlOp::Join { groups } => ConfigInput::Join {
            groups: groups.clone(),
        },
        CtrlOp::Leave { gids } => ConfigInput::Leave { gids: gids.clone() },
        CtrlOp::Move { shard, gid } => ConfigInput::Move {
            shard: *shard,
            gid: *gid,
        },
        CtrlOp::Query { num } => ConfigInput::Query { num: *num },
    }
}

fn view(c: &Config) -> ConfigView {
    ConfigView {
        num: c.num,
        shards: c.shards.to_vec(),
        groups: c.groups.clone(),
    }
}

impl World {
    pub fn new(seed: u64, setup: Setup, trace: bool) -> Rc<World> {
        let config = NetConfig {
            reliable: !setup.unreliable,
            long_reordering: false,
            long_delays: false,
        };
        let mut sim = Sim::new(seed, config);
        if trace {
            sim.enable_trace();
        }
        let ctrlers: Rc<[HostId]> = (0..setup.nctrlers).map(|_| sim.add_host()).collect();
        let mut places = BTreeMap::new();
        for (i, h) in ctrlers.iter().enumerate() {
            places.insert(*h, (0, i));
        }
        let mut names = BTreeMap::new();
        let mut groups = Vec::new();
        for g in 0..setup.ngroups {
            let gid = 100 + g as Gid;
            let hosts: Rc<[HostId]> = (0..setup.n).map(|_| sim.add_host()).collect();
            for (i, h) in hosts.iter().enumerate() {
                names.insert(server_name(gid, i), *h);
                places.insert(*h, (g + 1, i));
            }
            groups.push(Group { gid, hosts });
        }
        let mut checks = vec![GroupCheck::new(setup.nctrlers)];
        checks.extend((0..setup.ngroups).map(|_| GroupCheck::new(setup.n)));
        let mut labels = vec!["controller".to_string()];
        labels.extend(groups.iter().map(|g| format!("group {}", g.gid)));
        let st = State {
            sim,
            setup,
            ctrl_sets: vec![ctrlers.clone()],
            ctrlers,
            groups,
            labels,
            clerk_ctrl: Vec::new(),
            names: Rc::new(names),
            places,
            checks,
            owners: BTreeMap::new(),
            mutation: MUTATION.with(|m| m.get()),
            kv_rec: Recorder::default(),
            ctrl_rec: Recorder::default(),
            clerks: Vec::new(),
            running: BTreeMap::new(),
            done: BTreeMap::new(),
            failure: None,
            rng: derive_rng(seed, "scenario", 0),
        };
        let w = Rc::new(World {
            exec: Executor::new(),
            st: RefCell::new(st),
        });
        {
            let mut st = w.st.borrow_mut();
            let n = st.sim.host_count();
            for a in 0..n {
                for b in 0..n {
                    if a != b {
                        st.sim.set_link(a, b, true);
                    }
                }
            }
            if setup.unreliable {
                st.kv_rec.fault_begin(0, "net", "unreliable network");
            }
        }
        for i in 0..setup.nctrlers {
            w.start_ctrler(i);
        }
        for g in 0..setup.ngroups {
            w.start_group(g);
        }
        w
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
    /// Records a failure (a Go `t.Fatalf`); the run stops.
    pub fn fail(&self, msg: impl Into<String>) {
        let mut st = self.st.borrow_mut();
        if st.failure.is_none() {
            st.failure = Some(msg.into());
        }
    }
    /// The gid of group `g`.
    pub fn gid(&self, g: usize) -> Gid {
        self.st.borrow().groups[g].gid
    }
    pub fn nctrlers(&self) -> usize {
        self.st.borrow().setup.nctrlers
    }

    fn note(&self, text: String) {
        let mut st = self.st.borrow_mut();
        let now = st.sim.now();
        st.sim.trace_line(|| text.clone());
        st.kv_rec.fault(now, text);
    }

    // ----- servers ------------------------------------------------------------------------------

    /// `StartCtrlerserver(i)`.
    pub fn start_ctrler(&self, i: usize) {
        self.start_ctrler_of(0, i);
    }

    fn start_ctrler_of(&self, set: usize, i: usize) {
        let mut st = self.st.borrow_mut();
        let peers = st.ctrl_sets[set].clone();
        let host = peers[i];
        let check = st.places[&host].0;
        st.checks[check].inv.restarted(i);
        st.checks[check].committed_upto[i] = 0;
        st.sim.start(host, |boot| {
            Host::Ctrl(Box::new(CtrlHost::boot(boot, i, peers)))
        });
    }

    /// `StartCtrlerService()`: a second controller service, reachable by everybody; returns its
    /// number for [`World::make_clerk_of`] and [`World::make_admin_of`].
    pub fn start_second_controller(&self) -> usize {
        let set = {
            let mut st = self.st.borrow_mut();
            let n = st.setup.nctrlers;
            let hosts: Rc<[HostId]> = (0..n).map(|_| st.sim.add_host()).collect();
            let check = st.checks.len();
            st.checks.push(GroupCheck::new(n));
            let set = st.ctrl_sets.len();
            st.labels.push(format!("controller {set}"));
            for (i, h) in hosts.iter().enumerate() {
                st.places.insert(*h, (check, i));
                let total = st.sim.host_count();
                for other in 0..total {
                    if other != *h {
                        st.sim.set_link(*h, other, true);
                        st.sim.set_link(other, *h, true);
                    }
                }
            }
            st.ctrl_sets.push(hosts);
            set
        };
        for i in 0..self.nctrlers() {
            self.start_ctrler_of(set, i);
        }
        set
    }

    /// `Reliable(on)`: switch the network's unreliability.
    pub fn set_reliable(&self, on: bool) {
        let mut st = self.st.borrow_mut();
        let now = st.sim.now();
        st.sim.set_reliable(on);
        if on {
            st.kv_rec.fault_end(now, "net");
        } else {
            st.kv_rec.fault_begin(now, "net", "unreliable network");
        }
    }

    /// `ShutdownCtrlerserver(i)`.
    pub fn shutdown_ctrler(&self, i: usize) {
        self.note(format!("crash controller {i}"));
        let mut st = self.st.borrow_mut();
        let host = st.ctrlers[i];
        st.sim.crash(host);
    }

    /// The controller server that believes it leads.
    pub fn ctrl_leader(&self) -> Option<usize> {
        let st = self.st.borrow();
        st.ctrlers
            .iter()
            .position(|h| matches!(st.sim.host(*h), Some(Host::Ctrl(c)) if c.server.is_leader()))
    }

    /// `StartServer(gi, i)`.
    pub fn start_server(&self, g: usize, i: usize) {
        let mut st = self.st.borrow_mut();
        let (gid, peers) = (st.groups[g].gid, st.groups[g].hosts.clone());
        let host = peers[i];
        let (ctrlers, names) = (st.ctrlers.clone(), st.names.clone());
        let cfg = shardkv::Config {
            rsm: shardctrler::RsmConfig {
                maxraftstate: st.setup.maxraftstate,
                ..shardctrler::RsmConfig::new(i, peers.len())
            },
            mutation: st.mutation,
            ..shardkv::Config::new(gid, i, peers.len(), ctrlers.len())
        };
        st.checks[g + 1].inv.restarted(i);
        st.checks[g + 1].committed_upto[i] = 0;
        st.sim.start(host, |boot| {
            Host::Shard(Box::new(ShardHost::boot(boot, cfg, peers, ctrlers, names)))
        });
    }

    /// `ShutdownServer(gi, i)`.
    pub fn shutdown_server(&self, g: usize, i: usize) {
        let mut st = self.st.borrow_mut();
        let host = st.groups[g].hosts[i];
        st.sim.crash(host);
    }

    /// `StartGroup(gi)`.
    pub fn start_group(&self, g: usize) {
        if self.now() > 0 {
            self.note(format!("restart group {}", self.gid(g)));
        }
        let n = self.st.borrow().setup.n;
        for i in 0..n {
            self.start_server(g, i);
        }
    }

    /// `ShutdownGroup(gi)`.
    pub fn shutdown_group(&self, g: usize) {
        self.note(format!("crash group {}", self.gid(g)));
        let n = self.st.borrow().setup.n;
        for i in 0..n {
            self.shutdown_server(g, i);
        }
    }

    /// `checklogs()`: every server's Raft state within 8 × maxraftstate, or no snapshot at all
    /// without a maxraftstate.
    pub fn checklogs(&self) -> Result<(), String> {
        let st = self.st.borrow();
        for g in &st.groups {
            for h in g.hosts.iter() {
                let p = st.sim.persister(*h);
                match st.setup.maxraftstate {
                    Some(max) if p.raft_state_size() > 8 * max => {
                        return Err(format!(
                            "persister.RaftStateSize() {}, but maxraftstate {max}",
                            p.raft_state_size()
                        ))
                    }
                    None if p.snapshot_size() > 0 => {
                        return Err("maxraftstate is -1, but snapshot is non-empty!".into())
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Raft state plus snapshot bytes over every shardkv server (TestChallenge1Delete).
    pub fn total_bytes(&self) -> usize {
        let st = self.st.borrow();
        st.groups
            .iter()
            .flat_map(|g| g.hosts.iter())
            .map(|h| {
                let p = st.sim.persister(*h);
                p.raft_state_size() + p.snapshot_size()
            })
            .sum()
    }

    /// The server names of group `g` (what a Join carries).
    pub fn group_servers(&self, g: usize) -> Vec<String> {
        let st = self.st.borrow();
        (0..st.setup.n)
            .map(|i| server_name(st.groups[g].gid, i))
            .collect()
    }

    // ----- clerks -------------------------------------------------------------------------------

    fn add_clerk(
        &self,
        set: usize,
        make: impl FnOnce(usize, u64, Rc<[HostId]>, Names) -> Host,
    ) -> usize {
        let mut st = self.st.borrow_mut();
        st.clerk_ctrl.push(set);
        let index = st.clerks.len();
        let host = st.sim.add_host();
        let n = st.sim.host_count();
        for other in 0..n {
            if other != host {
                st.sim.set_link(host, other, true);
                st.sim.set_link(other, host, true);
            }
        }
        let id = st.rng.gen_range(0..1u64 << 62);
        let mut ctrlers: Vec<HostId> = st.ctrl_sets[set].to_vec();
        ctrlers.shuffle(&mut st.rng);
        let names = st.names.clone();
        let h = make(index, id, ctrlers.into(), names);
        st.sim.start(host, |_| h);
        st.clerks.push(host);
        index
    }

    /// `makeClient()`: a shardkv clerk.
    pub fn make_clerk(&self) -> usize {
        self.make_clerk_of(0)
    }

    /// A shardkv clerk that asks controller service `set` for configs.
    pub fn make_clerk_of(&self, set: usize) -> usize {
        self.add_clerk(set, |index, id, ctrlers, names| {
            let clerk = Clerk::new(id, ctrlers.len());
            Host::Clerk(Box::new(KvClerkHost::new(index, clerk, ctrlers, names)))
        })
    }

    /// A controller clerk (`shardctrler.MakeClerk`, the tester's `mck`).
    pub fn make_admin(&self) -> usize {
        self.make_admin_of(0)
    }

    /// A controller clerk of controller service `set`.
    pub fn make_admin_of(&self, set: usize) -> usize {
        self.add_clerk(set, |index, id, ctrlers, _| {
            let clerk = CtrlClerk::new(id, ctrlers.len());
            Host::Admin(AdminHost::new(index, clerk, ctrlers))
        })
    }

    async fn wait(&self, clerk: usize) -> Finished {
        loop {
            if let Some(f) = self.st.borrow_mut().done.remove(&clerk) {
                return f;
            }
            self.sleep(POLL_MS).await;
        }
    }

    /// One shardkv operation, recorded.
    pub async fn kv(&self, clerk: usize, op: KvOp) -> Outcome {
        {
            let mut st = self.st.borrow_mut();
            let now = st.sim.now();
            let i = st.kv_rec.call(clerk as u64, now, kv_input(&op));
            st.running.insert(clerk, Running::Kv(i));
            let host = st.clerks[clerk];
            st.sim.with_host(host, |h, ctx| {
                if let Host::Clerk(c) = h {
                    let step = c.clerk.begin(op);
                    c.act(ctx, step);
                }
            });
        }
        match self.wait(clerk).await {
            Finished::Kv(o) => o,
            Finished::Ctrl(o) => panic!("a kv clerk finished a controller operation {o:?}"),
        }
    }

    pub async fn get(&self, clerk: usize, key: &str) -> String {
        match self.kv(clerk, KvOp::Get { key: key.into() }).await {
            Outcome::Value(v) => v,
            other => panic!("Get answered {other:?}"),
        }
    }

    pub async fn put(&self, clerk: usize, key: &str, value: &str) {
        let op = KvOp::Put {
            key: key.into(),
            value: value.into(),
        };
        self.kv(clerk, op).await;
    }

    pub async fn append(&self, clerk: usize, key: &str, value: &str) {
        let op = KvOp::Append {
            key: key.into(),
            value: value.into(),
        };
        self.kv(clerk, op).await;
    }

    /// The shardkv tests' `check(t, ck, key, value)`.
    pub async fn check(&self, clerk: usize, key: &str, value: &str) -> Result<(), String> {
        let v = self.get(clerk, key).await;
        if v != value {
            return Err(format!("Get({key}): expected:\n{value}\nreceived:\n{v}"));
        }
        Ok(())
    }

    /// One controller operation, recorded in the controller's history.
    pub async fn ctrl(&self, clerk: usize, op: CtrlOp) -> CtrlOutcome {
        let text = match &op {
            CtrlOp::Join { groups } => {
                Some(format!("join {:?}", groups.keys().collect::<Vec<_>>()))
            }
            CtrlOp::Leave { gids } => Some(format!("leave {gids:?}")),
            CtrlOp::Move { shard, gid } => Some(format!("move {shard} -> {gid}")),
            CtrlOp::Query { .. } => None,
        };
        if let Some(text) = text {
            self.note(text);
        }
        {
            let mut st = self.st.borrow_mut();
            let now = st.sim.now();
            let running = if st.clerk_ctrl[clerk] == 0 {
                Running::Ctrl(st.ctrl_rec.call(clerk as u64, now, ctrl_input(&op)))
            } else {
                Running::Unrecorded
            };
            st.running.insert(clerk, running);
            let host = st.clerks[clerk];
            st.sim.with_host(host, |h, ctx| {
                if let Host::Admin(a) = h {
                    let step = a.clerk.begin(op);
                    a.act(ctx, step);
                }
            });
        }
        match self.wait(clerk).await {
            Finished::Ctrl(o) => o,
            Finished::Kv(o) => panic!("a controller clerk finished a kv operation {o:?}"),
        }
    }

    pub async fn query(&self, clerk: usize, num: i64) -> Config {
        match self.ctrl(clerk, CtrlOp::Query { num }).await {
            CtrlOutcome::Config(c) => c,
            CtrlOutcome::Done => panic!("Query answered without a config"),
        }
    }

    pub async fn join(&self, clerk: usize, groups: BTreeMap<Gid, Vec<String>>) {
        self.ctrl(clerk, CtrlOp::Join { groups }).await;
    }

    pub async fn leave(&self, clerk: usize, gids: Vec<Gid>) {
        self.ctrl(clerk, CtrlOp::Leave { gids }).await;
    }

    pub async fn move_shard(&self, clerk: usize, shard: usize, gid: Gid) {
        self.ctrl(clerk, CtrlOp::Move { shard, gid }).await;
    }

    // ----- the run ------------------------------------------------------------------------------

    /// Runs the body, checks both histories, packages the outcome.
    pub fn run<F: Future<Output = Result<(), String>>>(
        self: &Rc<Self>,
        body: F,
    ) -> ScenarioOutcome {
        let end = self.exec.run(&**self, body, TEST_TIME_LIMIT);
        let mut st = self.st.borrow_mut();
        let st = &mut *st;
        let now = st.sim.now();
        let ctrl = check_ctrl_history(std::mem::take(&mut st.ctrl_rec).finish(now));
        let recorded = match (st.failure.clone(), ctrl.failure.clone()) {
            (Some(a), Some(b)) => Some(format!("{a}; also: {b}")),
            (a, b) => a.or(b),
        };
        let peers = st.setup.nctrlers + st.setup.ngroups * st.setup.n;
        let failed_before = recorded.is_some() || !matches!(end, RunEnd::Done(Ok(())));
        let mut outcome = finish_run(
            end,
            recorded,
            std::mem::take(&mut st.kv_rec),
            &mut st.sim,
            peers,
        );
        outcome.warnings.extend(ctrl.warning);
        if failed_before || outcome.failure.is_some() || crate::kv::keep_histories_on() {
            outcome.artifacts.extend(ctrl.artifacts);
        }
        outcome
    }

    fn after_step(st: &mut State, host: HostId) -> Result<(), String> {
        let Some(&(g, me)) = st.places.get(&host) else {
            return Ok(());
        };
        let authoritative = |st: &State, num: u64| -> Option<Config> {
            st.ctrlers.iter().find_map(|h| match st.sim.host(*h) {
                Some(Host::Ctrl(c)) => c.server.configs().configs.get(num as usize).cloned(),
                _ => None,
            })
        };
        let label = st.labels[g].clone();
        match st.sim.host_mut(host) {
            Some(Host::Ctrl(c)) => {
                let raft = c.server.rsm_mut().raft_mut();
                st.checks[g].after_step(&label, me, raft)
            }
            Some(Host::Shard(s)) => {
                let raft = s.server.rsm_mut().raft_mut();
                st.checks[g].after_step(&label, me, raft)?;
                let Some(Host::Shard(s)) = st.sim.host(host) else {
                    unreachable!("just stepped")
                };
                let state = s.server.state();
                let (gid, num) = (state.gid, state.config.num);
                let serving: Vec<usize> = (0..NSHARDS)
                    .filter(|sh| state.config.shards[*sh] == gid && state.serves(*sh))
                    .collect();
                if serving.is_empty() {
                    return Ok(());
                }
                let truth = authoritative(st, num);
                for sh in serving {
                    if let Some(c) = &truth {
                        if c.shards[sh] != gid {
                            return Err(format!(
                                "shard ownership violated: group {gid} serves shard {sh} in config {num}, \
                                 which gives it to {}",
                                c.shards[sh]
                            ));
                        }
                    }
                    match st.owners.get(&(num, sh)) {
                        Some(&other) if other != gid => {
                            return Err(format!(
                                "shard ownership violated: groups {other} and {gid} both serve shard {sh} in config {num}"
                            ))
                        }
                        Some(_) => {}
                        None => {
                            st.owners.insert((num, sh), gid);
                        }
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl sim::exec::World for World {
    fn next_event_time(&self) -> Option<Time> {
        self.st.borrow().sim.next_event_time()
    }

    fn step(&self) {
        let mut st = self.st.borrow_mut();
        let st = &mut *st;
        let Some(stepped) = st.sim.step() else {
            return;
        };
        if let Some(host) = stepped.host {
            if let Err(e) = World::after_step(st, host) {
                st.sim.trace_line(|| format!("INVARIANT: {e}"));
                if st.failure.is_none() {
                    st.failure = Some(e);
                }
            }
        }
        for noted in st.sim.take_notes() {
            let clerk = noted.note.clerk;
            let running = st
                .running
                .remove(&clerk)
                .expect("a clerk finished an operation it did not begin");
            match (&noted.note.outcome, running) {
                (Finished::Kv(o), Running::Kv(op)) => {
                    let value = match o {
                        Outcome::Value(v) | Outcome::Appended { old: v } => Some(arc(v)),
                        Outcome::Done => None,
                    };
                    st.kv_rec.ret(op, noted.time, KvOutput { value });
                }
                (Finished::Ctrl(o), Running::Ctrl(op)) => {
                    let config = match o {
                        CtrlOutcome::Config(c) => Some(view(c)),
                        CtrlOutcome::Done => None,
                    };
                    st.ctrl_rec.ret(op, noted.time, ConfigOutput { config });
                }
                (_, Running::Unrecorded) => {}
                (o, r) => panic!("clerk {clerk} finished {o:?} for {r:?}"),
            }
            st.done.insert(clerk, noted.note.outcome);
        }
    }

    fn advance_to(&self, t: Time) {
        self.st.borrow_mut().sim.advance_to(t);
    }

    fn halted(&self) -> bool {
        self.st.borrow().failure.is_some()
    }
}

/// The verdict on the controller's history.
pub struct CtrlChecked {
    pub verdict: Verdict,
    pub failure: Option<String>,
    pub warning: Option<String>,
    pub artifacts: Vec<Artifact>,
}

/// The controller history in the checker's JSON format (`quill check ctrl-history.json`).
pub fn ctrl_history_json(h: &History<ConfigInput, ConfigOutput>) -> Vec<u8> {
    let ops: Vec<serde_json::Value> = h
        .operations
        .iter()
        .map(|op| {
            serde_json::json!({
                "client": op.client,
                "call": op.call,
                "return": op.ret,
                "input": op.input,
                "output": op.ret.and(op.output.as_ref()),
            })
        })
        .collect();
    let doc = serde_json::json!({ "model": "shard-config", "operations": ops });
    serde_json::to_vec(&doc).expect("a JSON value always serializes")
}

/// Checks the controller history with the `shard-config` model.
pub fn check_ctrl_history(h: History<ConfigInput, ConfigOutput>) -> CtrlChecked {
    let model = ShardConfig { shards: NSHARDS };
    let options = Options {
        timeout: Some(CHECK_TIMEOUT),
        ..Options::default()
    };
    let json = || Artifact {
        name: "ctrl-history.json".into(),
        contents: ctrl_history_json(&h),
    };
    let result: CheckResult = match checker::check(&model, &h, &options) {
        Ok(r) => r,
        Err(e) => {
            return CtrlChecked {
                verdict: Verdict::Unknown,
                failure: Some(format!("the controller history is malformed: {e}")),
                warning: None,
                artifacts: vec![json()],
            }
        }
    };
    let mut artifacts = vec![json()];
    let (failure, warning) = match result.verdict {
        Verdict::Ok => (None, None),
        Verdict::Illegal => {
            let view = HistoryView::new(&model, "shard-config", &h);
            artifacts.push(Artifact {
                name: "ctrl-timeline.html".into(),
                contents: viz::render_html(&view, &result).into_bytes(),
            });
            (
                Some("the controller's history is not linearizable".to_string()),
                None,
            )
        }
        Verdict::Unknown => (
            None,
            Some(format!(
                "{CHECK_UNKNOWN} (controller history, {} operations): assumed ok",
                h.len()
            )),
        ),
    };
    CtrlChecked {
        verdict: result.verdict,
        failure,
        warning,
        artifacts,
    }
}
