//! [`World`]: one shardctrler or shardkv run in virtual time, mirroring the labs' config.go, as a
//! facade over the run loop ([`Run`]) with [`ShardLab`] plugged in.
//!
//! # Layout
//! Hosts `0..nctrlers` are the controller servers; then each replica group's `n` servers (gids
//! 100, 101, ...); clerks are added as the scenario makes them. Every host can reach every other
//! (the shardkv tests never partition); `shutdown_*` crashes servers ([`Fault::Crash`]: their
//! persisters survive and calls to them fail), `start_*` rebuilds them from their persisters
//! ([`Fault::Restart`]). The run's faults act on the controller and group servers; the clerks and a
//! second controller (TestRejection5A) are hosts added after them.
//!
//! # What is checked, and when
//! - After every event, on the host that ran: the Raft invariants of its group (election safety,
//!   log matching, leader completeness, and that no two servers apply different commands at an
//!   index, and the rest of [`crate::raft::Invariants`], restarts included), and for a shardkv
//!   server the **shard-ownership invariant**: a group serves a shard in
//!   config `num` only if the controller's config `num` gives it that shard, so no two groups serve a
//!   shard in one config. Then, for every Raft group, its liveness ([`crate::raft::Liveness`]: a
//!   leader within the Raft lab's bound whenever a majority of the group can talk).
//! - At the end: every shardkv clerk operation, with the kv model (as in the kv labs), and every
//!   operation of the tester's controller clerks, with the `shard-config` model, so a stale or lost
//!   config fails the run even where the lab's `check()` would not look.
//!
//! Config changes (the tester's Join, Leave, Move), shutdowns and restarts are annotations on the
//! kv timeline. The controller check uses the run's configuration budget, like the kv check, so a
//! verdict does not depend on the machine.

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::Deref;
use std::rc::Rc;

use checker::models::{ConfigInput, ConfigOutput, ConfigView, KvInput, KvOutput, ShardConfig};
use checker::{CheckResult, History, HistoryView, Options, Verdict};
use rand::seq::SliceRandom;
use rand::Rng;
use shardctrler::{Config, CtrlClerk, CtrlOp, CtrlOutcome, Gid, NSHARDS};
use shardkv::{Clerk, KvOp, Mutation, Outcome};
use sim::{CallId, HostId, NetConfig, Noted, Stepped, Time};

use super::host::{
    server_name, AdminHost, CtrlHost, Finished, Host, KvClerkHost, Names, Note, ShardHost,
};
use crate::failure::Failure;
use crate::fault::Fault;
use crate::history::Recorder;
use crate::kv::{arc, CHECK_BUDGET, CHECK_UNKNOWN, TEST_TIME_LIMIT};
use crate::mutants::RunMutant;
use crate::raft::{Invariants, Liveness};
use crate::run::{Conclusion, Core, Lab, Run};
use crate::runner::{Artifact, RunOptions, ScenarioOutcome};

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
    /// The shardctrler tester: `nctrlers` controller servers, no groups, a reliable network.
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

struct Group {
    gid: Gid,
    hosts: Rc<[HostId]>,
}

/// Where a server host sits: (index of its Raft group in `invariants`, node id). Index 0 is the
/// controller, 1..=ngroups the replica groups, a second controller comes after.
type Place = (usize, usize);

/// Which history a busy clerk's operation is in.
#[derive(Clone, Copy, Debug)]
enum Running {
    Kv(usize),
    /// Operation `op` of controller service `set`'s history.
    Ctrl {
        set: usize,
        op: usize,
    },
}

/// The history client of the Query attempts made by host `h` (a shardkv server or clerk): far
/// above the scenario clerks' indexes, which are the tester's controller clerks' clients.
const ATTEMPT_CLIENT: u64 = 1 << 20;

/// The shard labs' part of a [`Run`]. The kv history is the run's own; the controller's is here.
pub struct ShardLab {
    setup: Setup,
    /// Every controller service; the first is the one the groups use.
    ctrl_sets: Vec<Rc<[HostId]>>,
    groups: Vec<Group>,
    names: Names,
    places: BTreeMap<HostId, Place>,
    labels: Vec<String>,
    invariants: Vec<Invariants>,
    /// Per Raft group (indexed as `invariants`), its liveness checks.
    liveness: Vec<Liveness>,
    /// (config, shard) -> the group seen serving it.
    owners: BTreeMap<(u64, usize), Gid>,
    mutation: Option<Mutation>,
    ctrl_mutation: Option<shardctrler::Mutation>,
    /// The Raft bug every server's Raft node carries, if any (controllers and groups alike).
    raft_mutation: Option<raft::Mutation>,
    /// One history per controller service: the tester's operations (one per clerk operation,
    /// whatever its retries) and every Query attempt of the shardkv servers and clerks.
    ctrl_history: Vec<Recorder<ConfigInput, ConfigOutput>>,
    /// Query attempts in flight: (host, call) -> (controller service, history operation).
    attempts: BTreeMap<(HostId, CallId), (usize, usize)>,
    /// Attempts that returned no config, left out of the history when it is checked.
    unanswered: std::collections::BTreeSet<(usize, usize)>,
    /// Host -> the controller service it asks (shardkv servers ask service 0).
    host_ctrl: BTreeMap<HostId, usize>,
    clerk_hosts: Vec<HostId>,
    /// Clerk -> the controller service it uses.
    clerk_ctrl: Vec<usize>,
    running: BTreeMap<usize, Running>,
    done: BTreeMap<usize, Finished>,
    commands: u64,
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

impl ShardLab {
    fn start_ctrler(core: &mut Core<Self>, set: usize, i: usize) {
        let peers = core.lab.ctrl_sets[set].clone();
        let (mutation, raft_mutation) = (core.lab.ctrl_mutation, core.lab.raft_mutation);
        let host = peers[i];
        let check = core.lab.places[&host].0;
        core.lab.invariants[check].restarted(i, core.sim.now());
        core.sim.start(host, |boot| {
            Host::Ctrl(Box::new(CtrlHost::boot(
                boot,
                i,
                peers,
                mutation,
                raft_mutation,
            )))
        });
        ShardLab::after_restart(core, host);
    }

    /// The checks of a server that just started: its restored term and vote (Figure 2's
    /// persistent state) and its liveness record.
    fn after_restart(core: &mut Core<Self>, host: HostId) {
        let Core { sim, lab, .. } = core;
        let (g, me) = lab.places[&host];
        let raft = match sim.host(host) {
            Some(Host::Ctrl(c)) => c.server.rsm().raft(),
            Some(Host::Shard(s)) => s.server.rsm().raft(),
            _ => return,
        };
        lab.liveness[g].started(me, raft.term());
        if let Err(e) = lab.invariants[g].after_restart(me, raft) {
            let e = e.within(&lab.labels[g]);
            core.fail(e);
        }
    }

    fn start_server(core: &mut Core<Self>, g: usize, i: usize) {
        let lab = &mut core.lab;
        let (gid, peers) = (lab.groups[g].gid, lab.groups[g].hosts.clone());
        let host = peers[i];
        let (ctrlers, names) = (lab.ctrl_sets[0].clone(), lab.names.clone());
        let cfg = shardkv::Config {
            rsm: shardctrler::RsmConfig {
                maxraftstate: lab.setup.maxraftstate,
                ..shardctrler::RsmConfig::new(i, peers.len())
            },
            mutation: lab.mutation,
            ..shardkv::Config::new(gid, i, peers.len(), ctrlers.len())
        };
        let mut cfg = cfg;
        cfg.rsm.raft.mutation = lab.raft_mutation;
        lab.invariants[g + 1].restarted(i, core.sim.now());
        core.sim.start(host, |boot| {
            Host::Shard(Box::new(ShardHost::boot(boot, cfg, peers, ctrlers, names)))
        });
        ShardLab::after_restart(core, host);
    }

    /// The Raft invariants of the host's group, and for a shardkv server the ownership invariant.
    fn check_host(core: &mut Core<Self>, host: HostId, now: Time) -> Result<(), Failure> {
        let Core { sim, lab, .. } = core;
        let Some(&(g, me)) = lab.places.get(&host) else {
            return Ok(());
        };
        let (seen, raft) = match sim.host_mut(host) {
            Some(Host::Ctrl(c)) => (c.take_seen(), c.server.rsm_mut().raft_mut()),
            Some(Host::Shard(s)) => (s.take_seen(), s.server.rsm_mut().raft_mut()),
            _ => return Ok(()),
        };
        let label = &lab.labels[g];
        lab.invariants[g].saw(me, seen);
        let step = lab.invariants[g]
            .after_step(me, raft, now)
            .map_err(|e| e.within(label))?;
        lab.liveness[g].after_step(me, now, &step);
        if let Some(term) = step.new_leader {
            sim.trace_line(|| format!("h{host} ({label}) is leader of term {term}"));
        }
        let Some(Host::Shard(s)) = sim.host(host) else {
            return Ok(());
        };
        let state = s.server.state();
        let (gid, num) = (state.gid, state.config.num);
        let serving: Vec<usize> = (0..NSHARDS)
            .filter(|sh| state.config.shards[*sh] == gid && state.serves(*sh))
            .collect();
        if serving.is_empty() {
            return Ok(());
        }
        // The controller's own record of config `num` (any live controller server that has it).
        let truth = lab.ctrl_sets[0].iter().find_map(|h| match sim.host(*h) {
            Some(Host::Ctrl(c)) => c.server.configs().configs.get(num as usize).cloned(),
            _ => None,
        });
        for sh in serving {
            if let Some(c) = &truth {
                if c.shards[sh] != gid {
                    return Err(Failure::invariant(format!(
                        "shard ownership violated: group {gid} serves shard {sh} in config {num}, \
                         which gives it to {}",
                        c.shards[sh]
                    )));
                }
            }
            match lab.owners.get(&(num, sh)) {
                Some(&other) if other != gid => {
                    return Err(Failure::invariant(format!(
                        "shard ownership violated: groups {other} and {gid} both serve shard {sh} \
                         in config {num}"
                    )))
                }
                Some(_) => {}
                None => {
                    lab.owners.insert((num, sh), gid);
                }
            }
        }
        Ok(())
    }
}

impl Lab for ShardLab {
    type Host = Host;
    type Input = KvInput;
    type Output = KvOutput;

    fn observe(
        core: &mut Core<Self>,
        stepped: Stepped,
        notes: Vec<Noted<Note>>,
    ) -> Result<(), Failure> {
        if let Some(host) = stepped.host {
            ShardLab::check_host(core, host, stepped.time)?;
        }
        let generation = core.fault_generation();
        let Core { sim, lab, .. } = core;
        for (g, liveness) in lab.liveness.iter_mut().enumerate() {
            liveness
                .check(sim, generation, stepped.time)
                .map_err(|e| e.within(&lab.labels[g]))?;
        }
        for noted in notes {
            let noted = match noted.note {
                Note::Done(done) => Noted {
                    time: noted.time,
                    host: noted.host,
                    note: done,
                },
                Note::QuerySent { call, num } => {
                    let lab = &mut core.lab;
                    let set = lab.host_ctrl.get(&noted.host).copied().unwrap_or(0);
                    let client = ATTEMPT_CLIENT + noted.host as u64;
                    let input = ConfigInput::Query { num };
                    let op = lab.ctrl_history[set].call(client, noted.time, input);
                    lab.attempts.insert((noted.host, call), (set, op));
                    lab.unanswered.insert((set, op));
                    continue;
                }
                Note::QueryAnswered { call, config } => {
                    let lab = &mut core.lab;
                    let Some((set, op)) = lab.attempts.remove(&(noted.host, call)) else {
                        continue;
                    };
                    if let Some(c) = config {
                        lab.unanswered.remove(&(set, op));
                        let output = ConfigOutput {
                            config: Some(view(&c)),
                        };
                        lab.ctrl_history[set].ret(op, noted.time, output);
                    }
                    continue;
                }
            };
            let clerk = noted.note.clerk;
            let running = core
                .lab
                .running
                .remove(&clerk)
                .expect("a clerk finished an operation it did not begin");
            match (&noted.note.outcome, running) {
                (Finished::Kv(o), Running::Kv(op)) => {
                    let value = match o {
                        Outcome::Value(v) | Outcome::Appended { old: v } => Some(arc(v)),
                        Outcome::Done => None,
                    };
                    core.history.ret(op, noted.time, KvOutput { value });
                }
                (Finished::Ctrl(o), Running::Ctrl { set, op }) => {
                    let config = match o {
                        CtrlOutcome::Config(c) => Some(view(c)),
                        CtrlOutcome::Done => None,
                    };
                    core.lab.ctrl_history[set].ret(op, noted.time, ConfigOutput { config });
                }
                (o, r) => panic!("clerk {clerk} finished {o:?} for {r:?}"),
            }
            core.lab.done.insert(clerk, noted.note.outcome);
        }
        Ok(())
    }

    fn restart(core: &mut Core<Self>, host: HostId) {
        let (g, i) = core.lab.places[&host];
        let nctrl_sets = core.lab.ctrl_sets.len();
        if g == 0 {
            ShardLab::start_ctrler(core, 0, i);
        } else if g <= core.lab.groups.len() {
            ShardLab::start_server(core, g - 1, i);
        } else {
            let set = (g - core.lab.groups.len()).min(nctrl_sets - 1);
            ShardLab::start_ctrler(core, set, i);
        }
    }

    fn conclude(
        core: &mut Core<Self>,
        history: History<KvInput, KvOutput>,
        failed: bool,
    ) -> Conclusion {
        let now = core.sim.now();
        let recorders = std::mem::take(&mut core.lab.ctrl_history);
        let checked: Vec<CtrlChecked> = recorders
            .into_iter()
            .enumerate()
            .map(|(set, r)| {
                let h = answered_only(r.finish(now), set, &core.lab.unanswered);
                check_ctrl_history(h, set, &core.opts)
            })
            .collect();
        let ctrl_failed = checked.iter().any(|c| c.failure.is_some());
        let mut c = crate::kv::conclude(history, &core.opts, failed || ctrl_failed);
        let keep = failed || ctrl_failed || c.failure.is_some() || core.opts.keep_histories;
        for ctrl in checked {
            if c.failure.is_none() {
                c.failure = ctrl.failure;
            }
            c.warnings.extend(ctrl.warning);
            if keep {
                c.artifacts.extend(ctrl.artifacts);
            }
        }
        c
    }

    fn commands(core: &Core<Self>) -> u64 {
        core.lab.commands
    }
}

/// One run. Shared by the scenario's tasks as `Rc<World>`; the run loop's API ([`Run`]) is
/// reachable through `Deref`.
pub struct World {
    run: Run<ShardLab>,
}

impl Deref for World {
    type Target = Run<ShardLab>;
    fn deref(&self) -> &Run<ShardLab> {
        &self.run
    }
}

impl World {
    pub fn new(seed: u64, opts: &RunOptions, setup: Setup) -> Rc<World> {
        let servers = setup.nctrlers + setup.ngroups * setup.n;
        let ctrlers: Rc<[HostId]> = (0..setup.nctrlers).collect();
        let mut places = BTreeMap::new();
        for (i, h) in ctrlers.iter().enumerate() {
            places.insert(*h, (0, i));
        }
        let mut names = BTreeMap::new();
        let mut groups = Vec::new();
        for g in 0..setup.ngroups {
            let gid = 100 + g as Gid;
            let first = setup.nctrlers + g * setup.n;
            let hosts: Rc<[HostId]> = (first..first + setup.n).collect();
            for (i, h) in hosts.iter().enumerate() {
                names.insert(server_name(gid, i), *h);
                places.insert(*h, (g + 1, i));
            }
            groups.push(Group { gid, hosts });
        }
        let mut invariants = vec![Invariants::new(setup.nctrlers)];
        invariants.extend((0..setup.ngroups).map(|_| Invariants::new(setup.n)));
        let mut liveness = vec![Liveness::new(ctrlers.to_vec())];
        liveness.extend(groups.iter().map(|g| Liveness::new(g.hosts.to_vec())));
        let mut labels = vec!["controller".to_string()];
        labels.extend(groups.iter().map(|g| format!("group {}", g.gid)));
        let lab = ShardLab {
            setup,
            ctrl_sets: vec![ctrlers],
            groups,
            names: Rc::new(names),
            places,
            labels,
            invariants,
            liveness,
            owners: BTreeMap::new(),
            mutation: opts.mutant.shardkv(),
            ctrl_mutation: opts.mutant.shardctrler(),
            raft_mutation: opts.mutant.raft(),
            ctrl_history: vec![Recorder::default()],
            attempts: BTreeMap::new(),
            unanswered: Default::default(),
            host_ctrl: BTreeMap::new(),
            clerk_hosts: Vec::new(),
            clerk_ctrl: Vec::new(),
            running: BTreeMap::new(),
            done: BTreeMap::new(),
            commands: 0,
        };
        let run = Run::new(crate::run::Setup {
            seed,
            opts: opts.clone(),
            net: NetConfig {
                reliable: !setup.unreliable,
                long_reordering: false,
                long_delays: false,
            },
            servers,
            lab,
        });
        // The first starts are not faults: no annotation.
        run.with(|core| (0..servers).for_each(|h| ShardLab::restart(core, h)));
        let w = Rc::new(World { run });
        w.apply(Fault::Heal);
        w
    }

    /// The gid of group `g`.
    pub fn gid(&self, g: usize) -> Gid {
        self.with(|c| c.lab.groups[g].gid)
    }

    pub fn nctrlers(&self) -> usize {
        self.with(|c| c.lab.setup.nctrlers)
    }

    fn note(&self, text: String) {
        self.with(|c| {
            let now = c.sim.now();
            c.sim.trace_line(|| text.clone());
            c.history.fault(now, text);
        });
    }

    // ----- servers ------------------------------------------------------------------------------

    /// `StartCtrlerserver(i)`.
    pub fn start_ctrler(&self, i: usize) {
        self.apply(Fault::Restart(i));
    }

    /// `ShutdownCtrlerserver(i)`.
    pub fn shutdown_ctrler(&self, i: usize) {
        self.apply(Fault::Crash(i));
    }

    /// `StartCtrlerService()`: a second controller service, reachable by everybody; returns its
    /// number for [`World::make_clerk_of`] and [`World::make_admin_of`].
    pub fn start_second_controller(&self) -> usize {
        self.with(|core| {
            let n = core.lab.setup.nctrlers;
            let hosts: Rc<[HostId]> = (0..n).map(|_| core.sim.add_host()).collect();
            let check = core.lab.invariants.len();
            core.lab.invariants.push(Invariants::new(n));
            core.lab.liveness.push(Liveness::new(hosts.to_vec()));
            let set = core.lab.ctrl_sets.len();
            core.lab.labels.push(format!("controller {set}"));
            for (i, h) in hosts.iter().enumerate() {
                core.lab.places.insert(*h, (check, i));
                connect_everywhere(core, *h);
            }
            core.lab.ctrl_sets.push(hosts);
            core.lab.ctrl_history.push(Recorder::default());
            for i in 0..n {
                ShardLab::start_ctrler(core, set, i);
            }
            set
        })
    }

    /// The controller server that believes it leads.
    pub fn ctrl_leader(&self) -> Option<usize> {
        self.with(|c| {
            c.lab.ctrl_sets[0]
                .iter()
                .position(|h| matches!(c.sim.host(*h), Some(Host::Ctrl(s)) if s.server.is_leader()))
        })
    }

    fn group_host(&self, g: usize, i: usize) -> HostId {
        self.with(|c| c.lab.groups[g].hosts[i])
    }

    /// `StartServer(gi, i)`.
    pub fn start_server(&self, g: usize, i: usize) {
        let h = self.group_host(g, i);
        self.apply(Fault::Restart(h));
    }

    /// `ShutdownServer(gi, i)`.
    pub fn shutdown_server(&self, g: usize, i: usize) {
        let h = self.group_host(g, i);
        self.apply(Fault::Crash(h));
    }

    /// `StartGroup(gi)`.
    pub fn start_group(&self, g: usize) {
        self.note(format!("restart group {}", self.gid(g)));
        let n = self.with(|c| c.lab.setup.n);
        for i in 0..n {
            self.start_server(g, i);
        }
    }

    /// `ShutdownGroup(gi)`.
    pub fn shutdown_group(&self, g: usize) {
        self.note(format!("crash group {}", self.gid(g)));
        let n = self.with(|c| c.lab.setup.n);
        for i in 0..n {
            self.shutdown_server(g, i);
        }
    }

    /// `Reliable(on)`.
    pub fn set_reliable(&self, on: bool) {
        self.apply(Fault::Reliable(on));
    }

    /// `checklogs()`: every server's Raft state within 8 × maxraftstate, or no snapshot at all
    /// without a maxraftstate.
    pub fn checklogs(&self) -> Result<(), Failure> {
        self.with(|c| {
            for g in &c.lab.groups {
                for h in g.hosts.iter() {
                    let p = c.sim.persister(*h);
                    match c.lab.setup.maxraftstate {
                        Some(max) if p.raft_state_size() > 8 * max => {
                            return Err(Failure::assertion(format!(
                                "persister.RaftStateSize() {}, but maxraftstate {max}",
                                p.raft_state_size()
                            )))
                        }
                        None if p.snapshot_size() > 0 => {
                            return Err(Failure::assertion(
                                "maxraftstate is -1, but snapshot is non-empty!",
                            ))
                        }
                        _ => {}
                    }
                }
            }
            Ok(())
        })
    }

    /// Raft state plus snapshot bytes over every shardkv server (TestChallenge1Delete).
    pub fn total_bytes(&self) -> usize {
        self.with(|c| {
            c.lab
                .groups
                .iter()
                .flat_map(|g| g.hosts.iter())
                .map(|h| {
                    let p = c.sim.persister(*h);
                    p.raft_state_size() + p.snapshot_size()
                })
                .sum()
        })
    }

    /// The server names of group `g` (what a Join carries).
    pub fn group_servers(&self, g: usize) -> Vec<String> {
        self.with(|c| {
            (0..c.lab.setup.n)
                .map(|i| server_name(c.lab.groups[g].gid, i))
                .collect()
        })
    }

    // ----- clerks -------------------------------------------------------------------------------

    fn add_clerk(
        &self,
        set: usize,
        make: impl FnOnce(usize, u64, Rc<[HostId]>, Names) -> Host,
    ) -> usize {
        self.with(|c| {
            let index = c.lab.clerk_hosts.len();
            let host = c.sim.add_host();
            connect_everywhere(c, host);
            let id = c.rng.gen_range(0..1u64 << 62);
            let mut ctrlers: Vec<HostId> = c.lab.ctrl_sets[set].to_vec();
            ctrlers.shuffle(&mut c.rng);
            let h = make(index, id, ctrlers.into(), c.lab.names.clone());
            c.sim.start(host, |_| h);
            c.lab.clerk_hosts.push(host);
            c.lab.clerk_ctrl.push(set);
            c.lab.host_ctrl.insert(host, set);
            index
        })
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
            if let Some(f) = self.with(|c| c.lab.done.remove(&clerk)) {
                return f;
            }
            self.sleep(POLL_MS).await;
        }
    }

    /// One shardkv operation, recorded.
    pub async fn kv(&self, clerk: usize, op: KvOp) -> Outcome {
        self.with(|c| {
            let now = c.sim.now();
            c.lab.commands += 1;
            let i = c.history.call(clerk as u64, now, kv_input(&op));
            c.lab.running.insert(clerk, Running::Kv(i));
            let host = c.lab.clerk_hosts[clerk];
            c.sim.with_host(host, |h, ctx| {
                if let Host::Clerk(ck) = h {
                    let step = ck.clerk.begin(op);
                    ck.act(ctx, step);
                }
            });
        });
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
    pub async fn check(&self, clerk: usize, key: &str, value: &str) -> Result<(), Failure> {
        let v = self.get(clerk, key).await;
        if v != value {
            return Err(Failure::assertion(format!(
                "Get({key}): expected:\n{value}\nreceived:\n{v}"
            )));
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
        self.with(|c| {
            let now = c.sim.now();
            c.lab.commands += 1;
            let set = c.lab.clerk_ctrl[clerk];
            let op_index = c.lab.ctrl_history[set].call(clerk as u64, now, ctrl_input(&op));
            let running = Running::Ctrl { set, op: op_index };
            c.lab.running.insert(clerk, running);
            let host = c.lab.clerk_hosts[clerk];
            c.sim.with_host(host, |h, ctx| {
                if let Host::Admin(a) = h {
                    let step = a.clerk.begin(op);
                    a.act(ctx, step);
                }
            });
        });
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

    /// Runs the body; both histories are checked at the end ([`Lab::conclude`]).
    pub fn run_body<F: Future<Output = Result<(), Failure>>>(&self, body: F) -> ScenarioOutcome {
        self.run.run(body, TEST_TIME_LIMIT)
    }
}

/// Enables every link between `host` and every other host (the shard labs never partition).
fn connect_everywhere(core: &mut Core<ShardLab>, host: HostId) {
    for other in 0..core.sim.host_count() {
        if other != host {
            core.sim.set_link(host, other, true);
            core.sim.set_link(other, host, true);
        }
    }
}

/// The verdict on the controller's history.
pub struct CtrlChecked {
    pub verdict: Verdict,
    pub failure: Option<Failure>,
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

/// The history without the Query attempts of `unanswered` (those of service `set` that returned
/// no config: a read that returned nothing constrains nothing) and without Query attempts still
/// in flight at the end.
fn answered_only(
    h: History<ConfigInput, ConfigOutput>,
    set: usize,
    unanswered: &std::collections::BTreeSet<(usize, usize)>,
) -> History<ConfigInput, ConfigOutput> {
    let operations = h
        .operations
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !unanswered.contains(&(set, *i)))
        .map(|(_, op)| op)
        .collect();
    History {
        operations,
        annotations: h.annotations,
    }
}

/// The name a controller service's files and messages carry: service 0 is "controller", a second
/// one (TestRejection5A) "controller 1".
fn ctrl_label(set: usize) -> (String, String) {
    match set {
        0 => ("controller history".into(), "ctrl".into()),
        n => (format!("controller {n} history"), format!("ctrl{n}")),
    }
}

/// Checks the history of controller service `set` with the `shard-config` model.
pub fn check_ctrl_history(
    h: History<ConfigInput, ConfigOutput>,
    set: usize,
    opts: &RunOptions,
) -> CtrlChecked {
    let model = ShardConfig { shards: NSHARDS };
    let options = Options {
        max_configurations: Some(opts.check_budget.unwrap_or(CHECK_BUDGET)),
        ..Options::default()
    };
    let (label, file) = ctrl_label(set);
    let json = || Artifact {
        name: format!("{file}-history.json"),
        contents: ctrl_history_json(&h),
    };
    let result: CheckResult = match checker::check(&model, &h, &options) {
        Ok(r) => r,
        Err(e) => {
            return CtrlChecked {
                verdict: Verdict::Unknown,
                failure: Some(Failure::MalformedHistory {
                    message: format!("{label}: {e}"),
                }),
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
                name: format!("{file}-timeline.html"),
                contents: viz::render_html(&view, &result).into_bytes(),
            });
            (Some(Failure::NotLinearizable { detail: label }), None)
        }
        Verdict::Unknown => (
            None,
            Some(format!(
                "{CHECK_UNKNOWN} ({label}, {} operations): assumed ok",
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
