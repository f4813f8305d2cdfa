//! [`Nemesis`]: a fault schedule as data, drawn per seed (swarm testing).
//!
//! The lab catalogs inject the faults their Go originals inject, and nothing else; the `Nemesis*`
//! scenarios instead let a nemesis loose on the servers. Which fault kinds a run suffers, and how
//! often, is drawn from the seed, as FoundationDB's and TigerBeetle's simulators do ("swarm
//! testing"): a run where only one-way cuts and duplicates happen explores states that a run where
//! every kind happens at once hides (a partition heals the cut before it matters). The same seed
//! draws the same nemesis and the same schedule, byte for byte: everything comes from the run's
//! stream labelled `"nemesis"`, separate from the scenario's own stream, so the workload's choices
//! do not shift when a nemesis changes.
//!
//! # The kinds ([`Kind`])
//! Two groups. *Network shapes* are set once when the nemesis starts and stay on until
//! [`Driver::settle`]: [`Kind::Latency`] (every message delayed by a uniform draw from a range drawn
//! per seed, plus, on some seeds, one slow server whose messages take much longer: latency on the
//! "reliable" network, instead of instant delivery), [`Kind::Duplicate`] (requests delivered twice,
//! [`sim::Rule::Duplicate`]) and [`Kind::Drop`] (a drawn share of messages lost). *Actions* happen
//! one at a time, every `interval_ms` (a range drawn per seed), chosen by weights drawn per seed:
//! - [`Kind::Partition`]: the servers split into a random majority and minority (sometimes three
//!   groups, so that no majority exists), or heal;
//! - [`Kind::OneWay`]: one directed link cut (`a` no longer reaches `b`, `b` still reaches `a`),
//!   sometimes every link out of one server (it hears but cannot speak) or into it (it speaks but
//!   is deaf), or one cut undone;
//! - [`Kind::Crash`]: a live server crashes at this instant, or a dead one restarts;
//! - [`Kind::CrashAfterPersist`]: a live server is armed to crash right after its next write to
//!   its persister, before anything that step sends ([`sim::Sim::crash_after_next_persist`]): the
//!   crash point between persisting and sending; or a dead one restarts;
//! - [`Kind::Reordering`]: labrpc's long reordering toggled.
//!
//! A partition or a heal sets every link between servers, so it first undoes the recorded cuts
//! (their timeline spans end there).
//!
//! # The end
//! [`Driver::settle`] stops everything: cuts undone, the network healed, rules cleared, reordering
//! off, every dead server restarted. A scenario then asserts progress within its lab's bound.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::rc::Rc;

use rand::seq::SliceRandom;
use rand::Rng;
use sim::{derive_rng, ChaCha8Rng, HostId, Links, Rule, Time};

use crate::failure::Failure;
use crate::fault::Fault;
use crate::run::{Lab, Run};

/// A kind of fault a nemesis may inject. See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Partition,
    OneWay,
    Crash,
    CrashAfterPersist,
    Reordering,
    Latency,
    Duplicate,
    Drop,
}

impl Kind {
    /// Every kind, in a fixed order (the order draws are made in).
    pub const ALL: [Kind; 8] = [
        Kind::Partition,
        Kind::OneWay,
        Kind::Crash,
        Kind::CrashAfterPersist,
        Kind::Reordering,
        Kind::Latency,
        Kind::Duplicate,
        Kind::Drop,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Partition => "partition",
            Kind::OneWay => "one-way",
            Kind::Crash => "crash",
            Kind::CrashAfterPersist => "crash-after-persist",
            Kind::Reordering => "reordering",
            Kind::Latency => "latency",
            Kind::Duplicate => "duplicate",
            Kind::Drop => "drop",
        }
    }

    /// Whether the kind acts step by step (else it shapes the network for the whole nemesis).
    pub fn is_action(self) -> bool {
        matches!(
            self,
            Kind::Partition
                | Kind::OneWay
                | Kind::Crash
                | Kind::CrashAfterPersist
                | Kind::Reordering
        )
    }
}

/// The kinds that touch only the network (for a lab with one server, such as kvsrv, crashing it
/// is not meaningful: its state is not durable).
pub const NETWORK_KINDS: &[Kind] = &[
    Kind::OneWay,
    Kind::Reordering,
    Kind::Latency,
    Kind::Duplicate,
    Kind::Drop,
];

/// One nemesis: which kinds are on and their rates. Drawn by [`Nemesis::draw`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nemesis {
    pub servers: usize,
    /// The action kinds that are on, with their weights (`1..=10`).
    pub actions: Vec<(Kind, u32)>,
    /// The time between two actions is drawn uniformly from this range, in ms.
    pub interval_ms: (Time, Time),
    /// [`Kind::Latency`]: every message takes `min..=max` ms more.
    pub latency_ms: Option<(Time, Time)>,
    /// [`Kind::Latency`]: messages to this server take `0..=extra` ms more again.
    pub slow_server: Option<(HostId, Time)>,
    /// [`Kind::Duplicate`]: share of requests delivered twice (per mille), and how much later.
    pub duplicate: Option<(u32, Time)>,
    /// [`Kind::Drop`]: share of messages lost (per mille).
    pub drop_per_mille: Option<u32>,
}

impl Nemesis {
    /// Draws a nemesis for a run of `servers` servers whose seed is `seed`, among the kinds
    /// `allowed`: each allowed kind is on with probability 1/2 (at least one is), with rates drawn
    /// too. Returns the nemesis and the stream its schedule continues from.
    pub fn draw(seed: u64, servers: usize, allowed: &[Kind]) -> (Nemesis, ChaCha8Rng) {
        let mut rng = derive_rng(seed, "nemesis", 0);
        let mut on: Vec<Kind> = Kind::ALL
            .iter()
            .copied()
            .filter(|k| allowed.contains(k))
            .filter(|_| rng.gen_bool(0.5))
            .collect();
        if on.is_empty() && !allowed.is_empty() {
            on.push(allowed[rng.gen_range(0..allowed.len())]);
        }
        let actions = on
            .iter()
            .filter(|k| k.is_action())
            .map(|&k| (k, rng.gen_range(1..=10)))
            .collect();
        let lo = rng.gen_range(50..=600);
        let interval_ms = (lo, lo + rng.gen_range(0..=1500));
        let (mut latency_ms, mut slow_server, mut duplicate, mut drop_per_mille) =
            (None, None, None, None);
        if on.contains(&Kind::Latency) {
            let min = rng.gen_range(0..=5);
            latency_ms = Some((min, min + rng.gen_range(1..=60)));
            if rng.gen_bool(0.5) {
                slow_server = Some((rng.gen_range(0..servers), rng.gen_range(50..=400)));
            }
        }
        if on.contains(&Kind::Duplicate) {
            duplicate = Some((rng.gen_range(50..=500), rng.gen_range(0..=300)));
        }
        if on.contains(&Kind::Drop) {
            drop_per_mille = Some(rng.gen_range(10..=200));
        }
        let nemesis = Nemesis {
            servers,
            actions,
            interval_ms,
            latency_ms,
            slow_server,
            duplicate,
            drop_per_mille,
        };
        (nemesis, rng)
    }

    /// The network rules the nemesis keeps on while it runs.
    pub fn rules(&self) -> Vec<Rule> {
        let mut rules = Vec::new();
        if let Some((min_ms, max_ms)) = self.latency_ms {
            rules.push(Rule::Delay {
                links: Links::Any,
                min_ms,
                max_ms,
            });
        }
        if let Some((h, extra)) = self.slow_server {
            rules.push(Rule::Delay {
                links: Links::To(h),
                min_ms: 0,
                max_ms: extra,
            });
        }
        if let Some((per_mille, max_ms)) = self.duplicate {
            rules.push(Rule::Duplicate {
                links: Links::Any,
                per_mille,
                max_ms,
            });
        }
        if let Some(per_mille) = self.drop_per_mille {
            rules.push(Rule::Drop {
                links: Links::Any,
                per_mille,
            });
        }
        rules
    }

    /// Whether any kind is on.
    pub fn is_idle(&self) -> bool {
        self.actions.is_empty() && self.rules().is_empty()
    }
}

impl fmt::Display for Nemesis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nemesis on {} servers:", self.servers)?;
        for (k, w) in &self.actions {
            write!(f, " {}(weight {w})", k.name())?;
        }
        if !self.actions.is_empty() {
            write!(
                f,
                " every {}-{} ms;",
                self.interval_ms.0, self.interval_ms.1
            )?;
        }
        if let Some((a, b)) = self.latency_ms {
            write!(f, " latency {a}-{b} ms")?;
            if let Some((h, x)) = self.slow_server {
                write!(f, " (server {h} slow: +0-{x} ms)")?;
            }
            f.write_str(";")?;
        }
        if let Some((p, ms)) = self.duplicate {
            write!(
                f,
                " duplicate {}.{}% of requests (up to {ms} ms later);",
                p / 10,
                p % 10
            )?;
        }
        if let Some(p) = self.drop_per_mille {
            write!(f, " drop {}.{}%;", p / 10, p % 10)?;
        }
        Ok(())
    }
}

/// Carries out a [`Nemesis`] on one run: its schedule, and the state it must undo at the end.
pub struct Driver {
    pub nemesis: Nemesis,
    rng: ChaCha8Rng,
    cuts: BTreeSet<(HostId, HostId)>,
    partitioned: bool,
    reordering: bool,
    rules_on: bool,
    /// How many actions were taken, per kind (in [`Kind::ALL`] order).
    pub counts: [u64; Kind::ALL.len()],
}

impl Driver {
    /// Draws the nemesis of `run` from its seed among `allowed`.
    pub fn draw<L: Lab>(run: &Run<L>, allowed: &[Kind]) -> Driver {
        let (seed, servers) = run.with(|c| (c.sim.seed(), c.servers()));
        let (nemesis, rng) = Nemesis::draw(seed, servers, allowed);
        Driver {
            nemesis,
            rng,
            cuts: BTreeSet::new(),
            partitioned: false,
            reordering: false,
            rules_on: false,
            counts: [0; Kind::ALL.len()],
        }
    }

    /// Runs the nemesis for `duration_ms` of virtual time (or until the run fails), then returns;
    /// the faults are still in force (see [`Driver::settle`]).
    pub async fn run<L: Lab>(&mut self, run: &Run<L>, duration_ms: Time) {
        let text = self.nemesis.to_string();
        run.trace(|| text);
        for rule in self.nemesis.rules() {
            run.apply(Fault::Rule(rule));
            self.rules_on = true;
        }
        let end = run.now() + duration_ms;
        let total: u32 = self.nemesis.actions.iter().map(|(_, w)| w).sum();
        while run.now() < end && !run.with(|c| c.failed()) {
            let (lo, hi) = self.nemesis.interval_ms;
            let wait = self.rng.gen_range(lo..=hi).min(end - run.now());
            run.sleep(wait).await;
            if total == 0 || run.now() >= end {
                continue;
            }
            let mut pick = self.rng.gen_range(0..total);
            let kind = self
                .nemesis
                .actions
                .iter()
                .find(|(_, w)| {
                    let hit = pick < *w;
                    pick = pick.saturating_sub(*w);
                    hit
                })
                .map(|(k, _)| *k)
                .expect("the weights add up to the total");
            self.act(run, kind);
        }
    }

    /// One action of `kind`.
    fn act<L: Lab>(&mut self, run: &Run<L>, kind: Kind) {
        let n = self.nemesis.servers;
        let slot = Kind::ALL.iter().position(|k| *k == kind).expect("a kind");
        self.counts[slot] += 1;
        match kind {
            Kind::Partition => {
                if n < 2 {
                    return;
                }
                self.undo_cuts(run);
                if self.partitioned && self.rng.gen_bool(1.0 / 3.0) {
                    self.partitioned = false;
                    run.apply(Fault::Heal);
                    return;
                }
                let mut order: Vec<HostId> = (0..n).collect();
                order.shuffle(&mut self.rng);
                let groups: Vec<Vec<HostId>> = if n >= 3 && self.rng.gen_bool(0.25) {
                    // Three groups: nobody has a majority.
                    let a = self.rng.gen_range(1..n - 1);
                    let b = self.rng.gen_range(a + 1..n);
                    vec![
                        order[..a].to_vec(),
                        order[a..b].to_vec(),
                        order[b..].to_vec(),
                    ]
                } else {
                    let minority = self.rng.gen_range(1..=((n - 1) / 2).max(1));
                    vec![order[minority..].to_vec(), order[..minority].to_vec()]
                };
                let groups = groups
                    .into_iter()
                    .map(|mut g| {
                        g.sort_unstable();
                        g
                    })
                    .filter(|g| !g.is_empty())
                    .collect();
                self.partitioned = true;
                run.apply(Fault::Partition(groups));
            }
            Kind::OneWay => {
                if !self.cuts.is_empty() && self.rng.gen_bool(1.0 / 3.0) {
                    let k = self.rng.gen_range(0..self.cuts.len());
                    let (from, to) = *self.cuts.iter().nth(k).expect("in range");
                    self.cuts.remove(&(from, to));
                    run.apply(Fault::Uncut { from, to });
                    return;
                }
                if n < 2 {
                    return;
                }
                let h = self.rng.gen_range(0..n);
                let others = (0..n).filter(|&j| j != h);
                let pairs: Vec<(HostId, HostId)> = match self.rng.gen_range(0..4) {
                    // Mute: `h` hears everyone, nobody hears `h`.
                    0 => others.map(|j| (h, j)).collect(),
                    // Deaf: `h` speaks, hears nobody.
                    1 => others.map(|j| (j, h)).collect(),
                    _ => {
                        let mut to = self.rng.gen_range(0..n - 1);
                        if to >= h {
                            to += 1;
                        }
                        vec![(h, to)]
                    }
                };
                for (from, to) in pairs {
                    if self.cuts.insert((from, to)) {
                        run.apply(Fault::Cut { from, to });
                    }
                }
            }
            Kind::Crash | Kind::CrashAfterPersist => {
                let (live, dead): (Vec<HostId>, Vec<HostId>) =
                    run.with(|c| (0..n).partition(|&i| c.sim.is_alive(i)));
                if !dead.is_empty() && (live.is_empty() || self.rng.gen_bool(0.5)) {
                    let i = dead[self.rng.gen_range(0..dead.len())];
                    run.apply(Fault::Restart(i));
                } else if !live.is_empty() {
                    let i = live[self.rng.gen_range(0..live.len())];
                    run.apply(if kind == Kind::Crash {
                        Fault::Crash(i)
                    } else {
                        Fault::CrashAfterPersist(i)
                    });
                }
            }
            Kind::Reordering => {
                self.reordering = !self.reordering;
                run.apply(Fault::LongReordering(self.reordering));
            }
            Kind::Latency | Kind::Duplicate | Kind::Drop => {}
        }
    }

    fn undo_cuts<L: Lab>(&mut self, run: &Run<L>) {
        for (from, to) in std::mem::take(&mut self.cuts) {
            run.apply(Fault::Uncut { from, to });
        }
    }

    /// Ends every fault: cuts undone, the servers' network healed, rules cleared, long reordering
    /// off, every dead server restarted (from its persister; armed crash points disarmed, since a
    /// crash point belongs to the incarnation it was armed on and a restart replaces it).
    pub fn settle<L: Lab>(&mut self, run: &Run<L>) {
        self.undo_cuts(run);
        self.partitioned = false;
        // Healing costs nothing when nothing was cut, and makes the end state independent of
        // what the schedule did.
        run.apply(Fault::Heal);
        if self.rules_on {
            self.rules_on = false;
            run.apply(Fault::ClearRules(None));
        }
        if self.reordering {
            self.reordering = false;
            run.apply(Fault::LongReordering(false));
        }
        let n = self.nemesis.servers;
        for i in 0..n {
            let (alive, armed) = run.with(|c| (c.sim.is_alive(i), c.sim.crash_armed(i)));
            if !alive || armed {
                run.apply(Fault::Restart(i));
            }
        }
    }
}

/// Waits until `done` reaches `count`, looking every `poll_ms`; false if `deadline` came first.
pub async fn wait_until<L: Lab>(
    run: &Run<L>,
    done: &Cell<usize>,
    count: usize,
    deadline: Time,
    poll_ms: Time,
) -> bool {
    while done.get() < count {
        if run.now() >= deadline {
            return false;
        }
        run.sleep(poll_ms).await;
    }
    true
}

/// One operation of a key/value `Nemesis*` client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvOp {
    Append(String),
    Put(String),
    Get,
}

/// The operation mix of a key/value `Nemesis*` client (kvsrv and kvraft): half appends, a tenth
/// puts, the rest gets, on one of `keys` keys; every written value is the client's own and unique
/// ([`crate::kv::append_value`]), so the history check can tell the writes apart.
pub struct KvMix {
    keys: u64,
    client: usize,
    written: usize,
}

impl KvMix {
    pub fn new(keys: u64, client: usize) -> Self {
        KvMix {
            keys,
            client,
            written: 0,
        }
    }

    /// The next operation's key and kind, drawn with `rand(n)` (a number below `n` from the
    /// scenario's random stream).
    pub fn draw(&mut self, mut rand: impl FnMut(u64) -> u64) -> (String, KvOp) {
        let key = rand(self.keys).to_string();
        let r = rand(1000);
        let op = if r < 600 {
            let value = crate::kv::append_value(self.client, self.written);
            self.written += 1;
            if r < 500 {
                KvOp::Append(value)
            } else {
                KvOp::Put(value)
            }
        } else {
            KvOp::Get
        };
        (key, op)
    }
}

/// How a kv lab's `Nemesis*` scenario runs its clients.
pub struct Clients {
    pub count: usize,
    /// How long the nemesis acts.
    pub nemesis_ms: Time,
    /// Once it settled, the time every client has to finish its operation in flight.
    pub progress_ms: Time,
    pub poll_ms: Time,
    /// What settling did, for the failure message (" (network healed, ...)" or "").
    pub settled: &'static str,
}

impl Clients {
    /// `self.count` copies of `client` (given its number and the stop flag) run while a nemesis
    /// drawn among `kinds` acts; then it settles, the clients are told to stop, and each must
    /// finish within `progress_ms`, else the run fails with a liveness failure (also returned).
    pub async fn run<L, F, Fut>(
        &self,
        run: &Run<L>,
        kinds: &[Kind],
        client: F,
    ) -> Result<(), Unfinished>
    where
        L: Lab,
        F: Fn(usize, Rc<Cell<bool>>) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        let stop = Rc::new(Cell::new(false));
        let done = Rc::new(Cell::new(0));
        for cli in 0..self.count {
            let (work, done2) = (client(cli, stop.clone()), done.clone());
            run.spawn(async move {
                work.await;
                done2.set(done2.get() + 1);
            });
        }
        let mut nemesis = Driver::draw(run, kinds);
        nemesis.run(run, self.nemesis_ms).await;
        nemesis.settle(run);
        stop.set(true);
        let deadline = run.now() + self.progress_ms;
        if !wait_until(run, &done, self.count, deadline, self.poll_ms).await {
            let e = Unfinished {
                unfinished: self.count - done.get(),
                clients: self.count,
                progress_ms: self.progress_ms,
                settled: self.settled,
            };
            return Err(e);
        }
        Ok(())
    }
}

/// Clients of a `Nemesis*` scenario that did not finish in time after the nemesis settled.
#[derive(Debug, thiserror::Error)]
#[error(
    "{unfinished} of {clients} clients' operations still unfinished {progress_ms} ms after the \
     nemesis stopped{settled}"
)]
pub struct Unfinished {
    pub unfinished: usize,
    pub clients: usize,
    pub progress_ms: Time,
    pub settled: &'static str,
}

/// Clients that never finished are a liveness failure.
impl From<Unfinished> for Failure {
    fn from(e: Unfinished) -> Failure {
        Failure::liveness(e.to_string())
    }
}
