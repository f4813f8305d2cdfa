//! A deterministic discrete-event simulator with the labrpc fault model.
//!
//! # What it simulates
//! A [`Sim<P>`] owns a set of hosts, each running one process `P` (a sans-IO state machine that
//! implements [`Process`]), a virtual clock in **milliseconds** ([`Time`]), and an event queue
//! ordered by `(time, sequence number)`. Nothing here reads the wall clock or an unseeded RNG:
//! one `u64` seed gives the network its own [`ChaCha8Rng`] (label `"net"`, see [`derive_rng`]),
//! and each (re)started process receives its own RNG derived from `(seed, "host", id, incarnation)`.
//! The same seed therefore replays the same run, event for event.
//!
//! # RPC semantics (labrpc, catalog section 2)
//! Communication is request/reply: a process calls [`Ctx::call`] and later gets exactly one
//! [`Process::on_reply`] for that [`CallId`], with `Some(reply)` or `None` (the Go `Call` returned
//! false). The callee gets [`Process::on_request`] and answers with [`Ctx::reply`], at once or in a
//! later step (a kv server may wait until an operation commits).
//! - Every call counts in [`NetStats::rpcs`] and adds its postcard-encoded size to
//!   [`NetStats::bytes`], even when the callee is unreachable. A reply adds its size when it is
//!   delivered. [`NetStats::per_host`] counts requests actually dispatched to a host
//!   (labrpc's `GetCount(server)`).
//! - Links are directed "ends": `link(from, to)` must be enabled when the call is made and the
//!   callee must be alive, otherwise the call fails after a random 0-100 ms
//!   (0-7000 ms with [`NetConfig::long_delays`]).
//! - Unreliable mode ([`NetConfig::reliable`] false): the request is delayed 0-26 ms, then dropped
//!   with probability 10% (failure); after the handler replied, the reply is dropped with
//!   probability 10% (failure). A reliable network delivers in zero virtual time (events at the
//!   same instant run in the order they were scheduled).
//! - Long reordering: with probability 600/900 the reply is delayed by 200 + rand(1 + rand(2000)) ms.
//! - If the link is disabled or the callee crashes while a call is outstanding, the call fails at
//!   the caller's next 100 ms poll boundary (counted from the call), like labrpc's polling loop;
//!   a reply the callee produces later is discarded.
//!
//! # Crash and restart
//! [`Sim::crash`] drops the process (its volatile state is gone), bumps the host's incarnation so
//! every event still addressed to or coming from the dead instance is discarded, and fails its
//! outstanding calls. The host's [`Persister`] survives: a dead instance can write nothing more,
//! which is the guarantee labrpc's persister copy gives. [`Sim::start`] builds a fresh process from
//! a factory that receives the persister (see [`Boot`]). A started host is not reconnected: links
//! are independent of liveness, exactly as in raft/config.go.
//!
//! # Driving it
//! ```
//! use sim::{CallId, Ctx, HostId, NetConfig, Process, Sim};
//!
//! /// Answers every request `x` with `x * 2` and reports what its own calls returned.
//! struct Doubler;
//!
//! impl Process for Doubler {
//!     type Msg = u64;
//!     type Note = Option<u64>;
//!     fn on_timer(&mut self, _ctx: &mut Ctx<'_, u64, Option<u64>>) {}
//!     fn on_request(&mut self, ctx: &mut Ctx<'_, u64, Option<u64>>, _: HostId, call: CallId, x: u64) {
//!         ctx.reply(call, x * 2); // or keep `call` and reply in a later step
//!     }
//!     fn on_reply(&mut self, ctx: &mut Ctx<'_, u64, Option<u64>>, _: HostId, _: CallId, r: Option<u64>) {
//!         ctx.note(r); // None: the call failed (dropped, disconnected, callee crashed)
//!     }
//! }
//!
//! let mut sim = Sim::new(42, NetConfig::default());
//! let (a, b) = (sim.add_host(), sim.add_host()); // dead slots with empty persisters
//! sim.start(a, |_boot| Doubler); // boot.persister, boot.rng, boot.now, boot.incarnation
//! sim.start(b, |_boot| Doubler);
//! sim.set_link(a, b, true); // ends are directed and start disabled
//! sim.with_host(a, |_p, ctx| ctx.call(b, 21)); // an external input at the current time
//! while let Some(_stepped) = sim.step() {
//!     // check invariants here; `_stepped.host` is the host whose handler ran
//! }
//! assert_eq!(sim.take_notes()[0].note, Some(42));
//! assert_eq!((sim.stats().rpcs, sim.stats().per_host[b]), (1, 1));
//! ```
//! Processes report what a tester observes (applied commands, client results) with
//! [`Ctx::note`]; the driver collects them with [`Sim::take_notes`] after each step. Test code that
//! needs to sleep and run "goroutines" in virtual time uses [`exec::Executor`] on top, with the
//! cluster implementing [`exec::World`] (see `labs::raft::Cluster` for a complete example: it
//! drains notes and checks invariants in `World::step`).
//!
//! Tracing ([`Sim::enable_trace`]) records one line per event and per driver action
//! ([`Sim::trace_line`]); it costs time, so runners trace only when replaying a failing seed.
//!
//! Hosts of different kinds (kv servers and clerks) share one `Sim` by making `P` an enum.

pub mod exec;
mod persister;
mod rng;
pub mod rules;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt::{self, Write as _};

use rand::Rng;
pub use rand_chacha::ChaCha8Rng;
use serde::Serialize;

pub use persister::Persister;
pub use rng::derive_rng;
pub use rules::{Links, Rule, Ruling};

/// Virtual time in milliseconds since the start of the run.
pub type Time = u64;
/// Index of a host in its [`Sim`] (0, 1, ... in the order of [`Sim::add_host`]).
pub type HostId = usize;

/// Identifies one request/reply exchange; unique within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A sans-IO process run by the simulator. Every method gets a [`Ctx`] through which it sends,
/// replies, persists, sets its timer and reports notes; effects take place after the method returns,
/// in the order they were issued.
pub trait Process {
    /// Requests and replies. Serialized with postcard only to count bytes.
    type Msg: Serialize + fmt::Debug + Clone;
    /// What the process reports to the test driver (e.g. applied log entries).
    type Note;

    /// Called once right after the process is built by [`Sim::start`].
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Note>) {
        let _ = ctx;
    }
    /// The timer set with [`Ctx::set_timer`] fired.
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Note>);
    /// The timer set with [`Ctx::set_named_timer`] under `name` fired. A process with several
    /// clocks (a shardkv server's Raft ticks, config polls and migration retries) names them.
    fn on_named_timer(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Note>, name: TimerName) {
        let _ = (ctx, name);
    }
    /// A request arrived; answer it with [`Ctx::reply`] (now or later) using `call`.
    fn on_request(
        &mut self,
        ctx: &mut Ctx<'_, Self::Msg, Self::Note>,
        from: HostId,
        call: CallId,
        req: Self::Msg,
    );
    /// The outcome of an earlier [`Ctx::call`]: `None` means the call failed (labrpc's `false`).
    fn on_reply(
        &mut self,
        ctx: &mut Ctx<'_, Self::Msg, Self::Note>,
        from: HostId,
        call: CallId,
        reply: Option<Self::Msg>,
    );
}

/// The name of one of a process's timers; [`DEFAULT_TIMER`] is the one [`Ctx::set_timer`] sets.
pub type TimerName = &'static str;

/// The timer behind [`Ctx::set_timer`] and [`Process::on_timer`].
pub const DEFAULT_TIMER: TimerName = "";

/// What a process asks its driver to do during one step, in the order it asked. The simulator
/// carries these out in virtual time; a real runtime can build a [`Ctx`] with [`Ctx::new`] and carry
/// out the same effects over sockets and real timers, so the same host adapter runs under both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect<M> {
    /// Send request `msg` to `to`; its outcome comes back as one `on_reply` for `call`.
    Call { to: HostId, call: CallId, msg: M },
    /// Answer the request `call`.
    Reply { call: CallId, msg: M },
    /// Fire timer `name` at `at` (replacing its earlier setting).
    Timer { name: TimerName, at: Time },
    /// Forget timer `name`.
    CancelTimer { name: TimerName },
    /// The process stops by itself (a MapReduce worker whose job is done). Effects issued before
    /// it are carried out; the host is then down, as after a crash, with its persister kept.
    Exit,
}

/// The handle a process uses during one step.
pub struct Ctx<'a, M, N> {
    now: Time,
    me: HostId,
    effects: &'a mut Vec<Effect<M>>,
    notes: &'a mut Vec<Noted<N>>,
    persister: &'a mut Persister,
    next_call: &'a mut u64,
    /// Where the effects and notes stood when the process last reached for its persister: the
    /// crash point of [`Sim::crash_after_next_persist`].
    persisted_at: Option<(usize, usize)>,
}

impl<'a, M, N> Ctx<'a, M, N> {
    /// A context for one step of the process on host `me` at time `now`, for drivers other than
    /// [`Sim`]: effects and notes are appended to the given vectors, call ids are taken from
    /// `next_call` (which the driver keeps across steps so that ids stay unique).
    pub fn new(
        now: Time,
        me: HostId,
        effects: &'a mut Vec<Effect<M>>,
        notes: &'a mut Vec<Noted<N>>,
        persister: &'a mut Persister,
        next_call: &'a mut u64,
    ) -> Self {
        Ctx {
            now,
            me,
            effects,
            notes,
            persister,
            next_call,
            persisted_at: None,
        }
    }
    /// Current virtual time.
    pub fn now(&self) -> Time {
        self.now
    }
    /// The host this process runs on.
    pub fn me(&self) -> HostId {
        self.me
    }
    /// Starts an RPC; its outcome arrives as exactly one [`Process::on_reply`] with this id
    /// (unless this process crashes first).
    pub fn call(&mut self, to: HostId, msg: M) -> CallId {
        let call = CallId(*self.next_call);
        *self.next_call += 1;
        self.effects.push(Effect::Call { to, call, msg });
        call
    }
    /// Answers a request received with [`Process::on_request`]. Replying twice, or to a call that
    /// already failed, is ignored.
    pub fn reply(&mut self, call: CallId, msg: M) {
        self.effects.push(Effect::Reply { call, msg });
    }
    /// Sets the process's single timer to fire at `at` (replacing any earlier setting). A time in
    /// the past fires at the current time.
    pub fn set_timer(&mut self, at: Time) {
        self.set_named_timer(DEFAULT_TIMER, at);
    }
    /// Sets timer `name` to fire at `at` ([`Process::on_named_timer`]), replacing its earlier
    /// setting; each name is an independent timer.
    pub fn set_named_timer(&mut self, name: TimerName, at: Time) {
        self.effects.push(Effect::Timer { name, at });
    }
    /// Cancels timer `name` if it is set.
    pub fn cancel_timer(&mut self, name: TimerName) {
        self.effects.push(Effect::CancelTimer { name });
    }
    /// Stops this process once this step's earlier effects are carried out (see [`Effect::Exit`]).
    pub fn exit(&mut self) {
        self.effects.push(Effect::Exit);
    }
    /// Reports an observation to the test driver ([`Sim::take_notes`]).
    pub fn note(&mut self, note: N) {
        self.notes.push(Noted {
            time: self.now,
            host: self.me,
            note,
        });
    }
    /// This host's durable storage. Writes are durable immediately, i.e. before any message this
    /// step sends, which is what Raft's persistence contract needs.
    pub fn persister(&mut self) -> &mut Persister {
        self.persisted_at = Some((self.effects.len(), self.notes.len()));
        self.persister
    }
}

/// A note with the time and host that produced it.
#[derive(Clone, Debug)]
pub struct Noted<N> {
    pub time: Time,
    pub host: HostId,
    pub note: N,
}

/// What a factory gets when [`Sim::start`] (re)builds a process.
pub struct Boot<'a> {
    pub id: HostId,
    pub now: Time,
    /// 1 for the first start, then +1 per restart.
    pub incarnation: u64,
    /// What the previous incarnations saved.
    pub persister: &'a Persister,
    /// A fresh RNG for this incarnation, derived from the run seed.
    pub rng: ChaCha8Rng,
}

/// Network fault switches (labrpc's `Reliable`, `LongReordering`, `LongDelays`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetConfig {
    pub reliable: bool,
    pub long_reordering: bool,
    pub long_delays: bool,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            reliable: true,
            long_reordering: false,
            long_delays: false,
        }
    }
}

/// RPC and byte counters (labrpc's `GetCount`, `GetTotalCount`, `GetTotalBytes`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    pub rpcs: u64,
    pub bytes: u64,
    pub per_host: Vec<u64>,
}

/// What [`Sim::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stepped {
    pub time: Time,
    /// The host whose handler ran, if any (events for dead instances run nothing).
    pub host: Option<HostId>,
}

enum Event<M> {
    Request {
        call: CallId,
        from: HostId,
        to: HostId,
        to_inc: u64,
        msg: M,
    },
    Reply {
        call: CallId,
        from: HostId,
        to: HostId,
        to_inc: u64,
        msg: M,
        bytes: u64,
    },
    Failed {
        call: CallId,
        from: HostId,
        to: HostId,
        to_inc: u64,
    },
    /// A duplicated request ([`Rule::Duplicate`]): delivered like a request, but no call waits
    /// for it.
    Copy {
        call: CallId,
        from: HostId,
        to: HostId,
        to_inc: u64,
        msg: M,
    },
    Timer {
        host: HostId,
        inc: u64,
        gen: u64,
        name: TimerName,
    },
}

struct Scheduled<M> {
    time: Time,
    seq: u64,
    event: Event<M>,
}

impl<M> PartialEq for Scheduled<M> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl<M> Eq for Scheduled<M> {}
impl<M> PartialOrd for Scheduled<M> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<M> Ord for Scheduled<M> {
    // Reversed so that BinaryHeap (a max-heap) pops the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

struct Host<P> {
    process: Option<P>,
    /// Bumped at every start and crash, so that events of a dead instance can be told apart.
    incarnation: u64,
    /// How many times a process was started here.
    starts: u64,
    persister: Persister,
    /// Each set timer's time and generation; an event whose generation is stale is ignored.
    timers: BTreeMap<TimerName, (Time, u64)>,
    timer_gen: u64,
    /// The last incarnation stopped by [`Ctx::exit`] rather than crashed.
    exited: bool,
    /// [`Sim::crash_after_next_persist`] is armed for the running incarnation.
    crash_after_persist: bool,
}

/// An outstanding call whose request was (or will be) delivered to a live callee.
struct Pending {
    caller: HostId,
    caller_inc: u64,
    callee: HostId,
    started: Time,
}

/// The simulator. See the module documentation.
pub struct Sim<P: Process> {
    seed: u64,
    now: Time,
    seq: u64,
    queue: BinaryHeap<Scheduled<P::Msg>>,
    hosts: Vec<Host<P>>,
    links: Vec<Vec<bool>>,
    pending: BTreeMap<CallId, Pending>,
    config: NetConfig,
    /// The rules added to labrpc's, in the order they apply.
    rules: Vec<Rule>,
    rng: ChaCha8Rng,
    next_call: u64,
    stats: NetStats,
    notes: Vec<Noted<P::Note>>,
    trace: Option<String>,
    effects: Vec<Effect<P::Msg>>,
}

fn encoded_len<M: Serialize>(msg: &M) -> u64 {
    postcard::experimental::serialized_size(msg).map_or(0, |n| n as u64)
}

impl<P: Process> Sim<P> {
    /// An empty simulation at time 0.
    pub fn new(seed: u64, config: NetConfig) -> Self {
        Sim {
            seed,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            hosts: Vec::new(),
            links: Vec::new(),
            pending: BTreeMap::new(),
            config,
            rules: Vec::new(),
            rng: derive_rng(seed, "net", 0),
            next_call: 0,
            stats: NetStats::default(),
            notes: Vec::new(),
            trace: None,
            effects: Vec::new(),
        }
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Starts recording a trace: one line per event and per driver action.
    pub fn enable_trace(&mut self) {
        if self.trace.is_none() {
            self.trace = Some(String::new());
        }
    }

    /// The trace recorded so far (empty if tracing is off).
    pub fn trace(&self) -> &str {
        self.trace.as_deref().unwrap_or("")
    }

    /// Takes the recorded trace, leaving tracing on with an empty buffer.
    pub fn take_trace(&mut self) -> String {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Whether a trace is being recorded; use it to skip formatting work.
    pub fn tracing(&self) -> bool {
        self.trace.is_some()
    }

    /// Appends a driver-level line (a fault, a check) to the trace.
    pub fn trace_line(&mut self, line: impl FnOnce() -> String) {
        let now = self.now;
        if let Some(t) = self.trace.as_mut() {
            let _ = writeln!(t, "{now:>8} | {}", line());
        }
    }

    /// Current virtual time.
    pub fn now(&self) -> Time {
        self.now
    }

    pub fn config(&self) -> NetConfig {
        self.config
    }
    pub fn set_reliable(&mut self, reliable: bool) {
        self.trace_line(|| format!("net reliable={reliable}"));
        self.config.reliable = reliable;
    }
    pub fn set_long_reordering(&mut self, on: bool) {
        self.trace_line(|| format!("net long_reordering={on}"));
        self.config.long_reordering = on;
    }
    pub fn set_long_delays(&mut self, on: bool) {
        self.trace_line(|| format!("net long_delays={on}"));
        self.config.long_delays = on;
    }

    /// Adds a network rule after the ones already in force ([`rules`]).
    pub fn add_rule(&mut self, rule: Rule) {
        self.trace_line(|| format!("net rule {rule:?}"));
        self.rules.push(rule);
    }

    /// Removes every rule that matches `links` exactly, or all rules with `None`.
    pub fn clear_rules(&mut self, links: Option<Links>) {
        self.trace_line(|| format!("net clear rules {links:?}"));
        match links {
            None => self.rules.clear(),
            Some(l) => self.rules.retain(|r| r.links() != l),
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// What the added rules do to one message from `from` to `to`: `None` if one drops it, else
    /// the extra delay (and, for a request, whether a copy follows). Draws only for the rules
    /// that match (a duplicate rule matches requests only).
    fn ruled(&mut self, from: HostId, to: HostId, request: bool) -> Option<Ruling> {
        let mut ruling = Ruling::default();
        for k in 0..self.rules.len() {
            let rule = self.rules[k];
            match rule {
                // A matching drop rule draws once, whatever it decides.
                Rule::Drop { links, per_mille }
                    if links.matches(from, to) && self.rng.gen_range(0..1000) < per_mille =>
                {
                    return None;
                }
                Rule::Delay {
                    links,
                    min_ms,
                    max_ms,
                } if links.matches(from, to) => {
                    ruling.extra += self.rng.gen_range(min_ms..=max_ms.max(min_ms));
                }
                Rule::Duplicate {
                    links,
                    per_mille,
                    max_ms,
                } if request && links.matches(from, to) => {
                    // Two draws whatever is decided, so later draws do not depend on the outcome.
                    let hit = self.rng.gen_range(0..1000) < per_mille;
                    let after = self.rng.gen_range(0..=max_ms);
                    if hit && ruling.duplicate.is_none() {
                        ruling.duplicate = Some(after);
                    }
                }
                _ => {}
            }
        }
        Some(ruling)
    }

    pub fn stats(&self) -> &NetStats {
        &self.stats
    }

    /// Adds a host slot: not running, empty persister, all its links disabled.
    pub fn add_host(&mut self) -> HostId {
        let id = self.hosts.len();
        self.hosts.push(Host {
            process: None,
            incarnation: 0,
            starts: 0,
            persister: Persister::default(),
            timers: BTreeMap::new(),
            timer_gen: 0,
            exited: false,
            crash_after_persist: false,
        });
        for row in &mut self.links {
            row.push(false);
        }
        self.links.push(vec![false; id + 1]);
        self.stats.per_host.push(0);
        id
    }

    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// (Re)starts host `id` with a process built by `factory` from the persisted state. If a process
    /// is running there it is crashed first.
    pub fn start(&mut self, id: HostId, factory: impl FnOnce(Boot<'_>) -> P) {
        if self.hosts[id].process.is_some() {
            self.crash(id);
        }
        let host = &mut self.hosts[id];
        host.incarnation += 1;
        host.starts += 1;
        host.timers.clear();
        host.exited = false;
        let boot = Boot {
            id,
            now: self.now,
            incarnation: host.starts,
            persister: &host.persister,
            rng: derive_rng(self.seed, "host", ((id as u64) << 32) | host.starts),
        };
        let process = factory(boot);
        host.process = Some(process);
        let inc = host.starts;
        self.trace_line(|| format!("start h{id} (incarnation {inc})"));
        self.with_host(id, |p, ctx| p.on_start(ctx));
    }

    /// Kills host `id`: its process and volatile state are dropped, its persister is kept, events
    /// addressed to or coming from it are discarded, and its outstanding calls fail.
    pub fn crash(&mut self, id: HostId) {
        if self.hosts[id].process.is_none() {
            return;
        }
        self.trace_line(|| format!("crash h{id}"));
        self.crash_quietly(id);
    }

    /// The work of a crash, without its trace line (an exit writes its own).
    fn crash_quietly(&mut self, id: HostId) {
        let host = &mut self.hosts[id];
        host.process = None;
        host.incarnation += 1;
        host.timers.clear();
        host.crash_after_persist = false;
        let calls: Vec<CallId> = self
            .pending
            .iter()
            .filter(|(_, p)| p.caller == id || p.callee == id)
            .map(|(c, _)| *c)
            .collect();
        for call in calls {
            self.fail_pending(call);
        }
    }

    /// Arms a crash point: the next step in which the running process on `id` writes to its
    /// persister ends with the process crashed right after that write (the write is durable; the
    /// effects and notes the step issued after it are discarded). This is the crash "between
    /// persisting and sending" that a driver's ordering guarantee is about. Disarmed by any
    /// crash; does nothing to a dead host.
    pub fn crash_after_next_persist(&mut self, id: HostId) {
        if self.hosts[id].process.is_some() {
            self.trace_line(|| format!("arm crash of h{id} after its next persist"));
            self.hosts[id].crash_after_persist = true;
        }
    }

    /// Whether [`Sim::crash_after_next_persist`] is armed on `id`.
    pub fn crash_armed(&self, id: HostId) -> bool {
        self.hosts[id].crash_after_persist
    }

    pub fn is_alive(&self, id: HostId) -> bool {
        self.hosts[id].process.is_some()
    }

    /// Whether the host's last process stopped by itself ([`Ctx::exit`]) and has not been
    /// restarted since.
    pub fn has_exited(&self, id: HostId) -> bool {
        self.hosts[id].exited && self.hosts[id].process.is_none()
    }

    /// The running process on `id`, if any (read-only: inspection by invariant checkers).
    pub fn host(&self, id: HostId) -> Option<&P> {
        self.hosts[id].process.as_ref()
    }

    /// Mutable access to the live process on `id` outside of any step (no context, so no effects):
    /// for inspection hooks such as `raft::Raft::take_log_dirty_from`.
    pub fn host_mut(&mut self, id: HostId) -> Option<&mut P> {
        self.hosts[id].process.as_mut()
    }

    pub fn persister(&self, id: HostId) -> &Persister {
        &self.hosts[id].persister
    }

    /// Enables or disables the directed end `from -> to`. Disabling fails the calls outstanding on it.
    pub fn set_link(&mut self, from: HostId, to: HostId, enabled: bool) {
        if self.links[from][to] == enabled {
            return;
        }
        self.links[from][to] = enabled;
        if !enabled {
            let calls: Vec<CallId> = self
                .pending
                .iter()
                .filter(|(_, p)| p.caller == from && p.callee == to)
                .map(|(c, _)| *c)
                .collect();
            for call in calls {
                self.fail_pending(call);
            }
        }
    }

    pub fn link(&self, from: HostId, to: HostId) -> bool {
        self.links[from][to]
    }

    /// Runs `f` on the live process of `id` at the current time (an external input such as a
    /// client command); its effects are applied before this returns. `None` if `id` is down.
    pub fn with_host<R>(
        &mut self,
        id: HostId,
        f: impl FnOnce(&mut P, &mut Ctx<'_, P::Msg, P::Note>) -> R,
    ) -> Option<R> {
        let mut effects = std::mem::take(&mut self.effects);
        let host = &mut self.hosts[id];
        let process = host.process.as_mut()?;
        let mut ctx = Ctx {
            now: self.now,
            me: id,
            effects: &mut effects,
            notes: &mut self.notes,
            persister: &mut host.persister,
            next_call: &mut self.next_call,
            persisted_at: None,
        };
        let r = f(process, &mut ctx);
        let crash_point = ctx.persisted_at.filter(|_| host.crash_after_persist);
        if let Some((effects_before, notes_before)) = crash_point {
            // The process dies the instant its write is durable: what it asked for before the
            // write takes place, nothing after it (sends, replies, timers, notes) does.
            effects.truncate(effects_before);
            self.notes.truncate(notes_before);
            self.apply_effects(id, &mut effects);
            if self.hosts[id].process.is_some() {
                self.trace_line(|| format!("crash h{id} right after it persisted"));
                self.crash_quietly(id);
            }
        } else {
            self.apply_effects(id, &mut effects);
        }
        self.effects = effects;
        Some(r)
    }

    /// Notes reported since the last call, in order.
    pub fn take_notes(&mut self) -> Vec<Noted<P::Note>> {
        std::mem::take(&mut self.notes)
    }

    /// Time of the next queued event.
    pub fn next_event_time(&self) -> Option<Time> {
        self.queue.peek().map(|s| s.time)
    }

    /// Moves the clock forward to `t` without running anything. Panics if an event is due before `t`.
    pub fn advance_to(&mut self, t: Time) {
        if let Some(next) = self.next_event_time() {
            assert!(next >= t, "advance_to({t}) would skip an event at {next}");
        }
        self.now = self.now.max(t);
    }

    /// Runs every event up to and including time `t`, then sets the clock to `t`.
    pub fn run_until(&mut self, t: Time) {
        while self.next_event_time().is_some_and(|n| n <= t) {
            self.step();
        }
        self.advance_to(t);
    }

    fn schedule(&mut self, time: Time, event: Event<P::Msg>) {
        self.seq += 1;
        self.queue.push(Scheduled {
            time: time.max(self.now),
            seq: self.seq,
            event,
        });
    }

    /// When an outstanding call notices a broken link or a dead callee: labrpc polls every 100 ms
    /// from the start of the call.
    fn poll_boundary(&self, started: Time) -> Time {
        let elapsed = self.now - started;
        started + (elapsed / 100 + 1) * 100
    }

    /// Schedules, at `at`, the failure of `call` (made by `caller`, incarnation `caller_inc`, to
    /// `callee`): its caller's `on_reply(None)`.
    fn fail_call(
        &mut self,
        at: Time,
        call: CallId,
        callee: HostId,
        caller: HostId,
        caller_inc: u64,
    ) {
        self.schedule(
            at,
            Event::Failed {
                call,
                from: callee,
                to: caller,
                to_inc: caller_inc,
            },
        );
    }

    fn fail_pending(&mut self, call: CallId) {
        if let Some(p) = self.pending.remove(&call) {
            let at = self.poll_boundary(p.started);
            self.fail_call(at, call, p.callee, p.caller, p.caller_inc);
        }
    }

    fn apply_effects(&mut self, me: HostId, effects: &mut Vec<Effect<P::Msg>>) {
        let mut exit = false;
        for effect in effects.drain(..) {
            if exit {
                // Nothing a process asks for after its own exit takes place.
                continue;
            }
            match effect {
                Effect::Call { to, call, msg } => self.send_request(me, to, call, msg),
                Effect::Reply { call, msg } => self.send_reply(me, call, msg),
                Effect::Timer { name, at } => {
                    let host = &mut self.hosts[me];
                    if host.timers.get(name).map(|t| t.0) != Some(at) {
                        host.timer_gen += 1;
                        let (inc, gen) = (host.incarnation, host.timer_gen);
                        host.timers.insert(name, (at, gen));
                        self.schedule(
                            at,
                            Event::Timer {
                                host: me,
                                inc,
                                gen,
                                name,
                            },
                        );
                    }
                }
                Effect::CancelTimer { name } => {
                    self.hosts[me].timers.remove(name);
                }
                Effect::Exit => exit = true,
            }
        }
        if exit {
            self.trace_line(|| format!("exit h{me}"));
            self.crash_quietly(me);
            self.hosts[me].exited = true;
        }
    }

    fn send_request(&mut self, from: HostId, to: HostId, call: CallId, msg: P::Msg) {
        let bytes = encoded_len(&msg);
        self.stats.rpcs += 1;
        self.stats.bytes += bytes;
        let connected = self.links[from][to] && self.hosts[to].process.is_some();
        let from_inc = self.hosts[from].incarnation;
        if self.trace.is_some() {
            let c = if connected { "" } else { " (unreachable)" };
            self.trace_line(|| format!("call {call} h{from}->h{to} {msg:?} [{bytes} B]{c}"));
        }
        if !connected {
            let max = if self.config.long_delays { 7000 } else { 100 };
            let delay = self.rng.gen_range(0..max);
            self.fail_call(self.now + delay, call, to, from, from_inc);
            return;
        }
        let mut delay = 0;
        if !self.config.reliable {
            delay = self.rng.gen_range(0..27);
            if self.rng.gen_range(0..1000) < 100 {
                self.trace_line(|| format!("drop request {call}"));
                self.fail_call(self.now + delay, call, to, from, from_inc);
                return;
            }
        }
        let mut duplicate = None;
        if !self.rules.is_empty() {
            match self.ruled(from, to, true) {
                None => {
                    self.trace_line(|| format!("rule drops request {call}"));
                    self.fail_call(self.now + delay, call, to, from, from_inc);
                    return;
                }
                Some(ruling) => {
                    delay += ruling.extra;
                    duplicate = ruling.duplicate;
                }
            }
        }
        let to_inc = self.hosts[to].incarnation;
        self.pending.insert(
            call,
            Pending {
                caller: from,
                caller_inc: from_inc,
                callee: to,
                started: self.now,
            },
        );
        if let Some(after) = duplicate {
            // The copy travels under a call id nobody waits for, so its reply is discarded.
            let copy = CallId(self.next_call);
            self.next_call += 1;
            self.trace_line(|| {
                format!("rule duplicates request {call} as {copy}, {after} ms later")
            });
            self.schedule(
                self.now + delay + after,
                Event::Copy {
                    call: copy,
                    from,
                    to,
                    to_inc,
                    msg: msg.clone(),
                },
            );
        }
        self.schedule(
            self.now + delay,
            Event::Request {
                call,
                from,
                to,
                to_inc,
                msg,
            },
        );
    }

    fn send_reply(&mut self, from: HostId, call: CallId, msg: P::Msg) {
        let Some(p) = self.pending.remove(&call) else {
            self.trace_line(|| format!("reply {call} from h{from} discarded (call already over)"));
            return;
        };
        debug_assert_eq!(p.callee, from);
        let bytes = encoded_len(&msg);
        if self.trace.is_some() {
            self.trace_line(|| format!("reply {call} h{from}->h{} {msg:?} [{bytes} B]", p.caller));
        }
        if !self.config.reliable && self.rng.gen_range(0..1000) < 100 {
            self.trace_line(|| format!("drop reply {call}"));
            self.fail_call(self.now, call, from, p.caller, p.caller_inc);
            return;
        }
        let mut at = self.now;
        if self.config.long_reordering && self.rng.gen_range(0..900) < 600 {
            let inner = self.rng.gen_range(0..2000u64);
            at += 200 + self.rng.gen_range(0..1 + inner);
        }
        if !self.rules.is_empty() {
            match self.ruled(from, p.caller, false) {
                None => {
                    self.trace_line(|| format!("rule drops reply {call}"));
                    self.fail_call(at, call, from, p.caller, p.caller_inc);
                    return;
                }
                Some(ruling) => at += ruling.extra,
            }
        }
        self.schedule(
            at,
            Event::Reply {
                call,
                from,
                to: p.caller,
                to_inc: p.caller_inc,
                msg,
                bytes,
            },
        );
    }

    /// Processes the next event. `None` when the queue is empty.
    pub fn step(&mut self) -> Option<Stepped> {
        let Scheduled { time, event, .. } = self.queue.pop()?;
        self.now = self.now.max(time);
        let host = match event {
            Event::Timer {
                host,
                inc,
                gen,
                name,
            } => {
                let h = &mut self.hosts[host];
                let current = h.timers.get(name).is_some_and(|t| t.1 == gen);
                if h.incarnation != inc || !current || h.process.is_none() {
                    None
                } else {
                    h.timers.remove(name);
                    if name == DEFAULT_TIMER {
                        self.trace_line(|| format!("timer h{host}"));
                        self.with_host(host, |p, ctx| p.on_timer(ctx)).map(|_| host)
                    } else {
                        self.trace_line(|| format!("timer h{host} {name}"));
                        self.with_host(host, |p, ctx| p.on_named_timer(ctx, name))
                            .map(|_| host)
                    }
                }
            }
            Event::Request {
                call,
                from,
                to,
                to_inc,
                msg,
            } => {
                let h = &self.hosts[to];
                if h.incarnation != to_inc || h.process.is_none() {
                    // The callee died while the request was in flight.
                    self.trace_line(|| format!("deliver {call} to h{to}: dead"));
                    self.fail_pending(call);
                    None
                } else {
                    // If the end was disabled while the request was delayed, the call has already
                    // failed; labrpc still runs the handler (the request had left), and the reply
                    // is discarded because the call is no longer pending.
                    self.stats.per_host[to] += 1;
                    self.trace_line(|| format!("deliver {call} h{from}->h{to}"));
                    self.with_host(to, |p, ctx| p.on_request(ctx, from, call, msg))
                        .map(|_| to)
                }
            }
            Event::Copy {
                call,
                from,
                to,
                to_inc,
                msg,
            } => {
                let h = &self.hosts[to];
                if h.incarnation != to_inc || h.process.is_none() || !self.links[from][to] {
                    self.trace_line(|| format!("duplicate {call} to h{to} lost"));
                    None
                } else {
                    self.stats.per_host[to] += 1;
                    self.trace_line(|| format!("deliver duplicate {call} h{from}->h{to}"));
                    self.with_host(to, |p, ctx| p.on_request(ctx, from, call, msg))
                        .map(|_| to)
                }
            }
            Event::Reply {
                call,
                from,
                to,
                to_inc,
                msg,
                bytes,
            } => {
                if self.hosts[to].incarnation != to_inc || self.hosts[to].process.is_none() {
                    None
                } else {
                    self.stats.bytes += bytes;
                    self.trace_line(|| format!("receive reply {call} h{from}->h{to}"));
                    self.with_host(to, |p, ctx| p.on_reply(ctx, from, call, Some(msg)))
                        .map(|_| to)
                }
            }
            Event::Failed {
                call,
                from,
                to,
                to_inc,
            } => {
                if self.hosts[to].incarnation != to_inc || self.hosts[to].process.is_none() {
                    None
                } else {
                    self.trace_line(|| format!("call {call} h{to}->h{from} failed"));
                    self.with_host(to, |p, ctx| p.on_reply(ctx, from, call, None))
                        .map(|_| to)
                }
            }
        };
        Some(Stepped {
            time: self.now,
            host,
        })
    }
}
