//! [`Liveness`]: Raft's progress where the lab bounds it, checked after every event.
//!
//! The lab page asks for a new leader within five seconds whenever a majority of the servers can
//! talk (the tester's `checkOneLeader`: ten rounds of 450-550 ms, then "expected one leader, got
//! none"), but the tester only asks at the points a test chooses. This check asks all the time,
//! in every lab that runs Raft (raft, kvraft, and each Raft group of shardctrler and shardkv):
//!
//! - **A leader within the bound.** Whenever a majority of a group *can talk* (below) and that
//!   same majority has been stable for [`LEADER_BOUND`] ms, some server of it must have been a
//!   leader that the majority accepts at some time in that window: a leader whose term is at least
//!   the term of every server of the majority (any other is deposed by the first reply it gets).
//! - **Elections do not split forever.** Within such a window, with no accepted leader,
//!   at most [`MAX_LEADERLESS_ELECTIONS`] elections (new terms) may start among the majority.
//!
//! # "Can talk"
//! A set of live servers of the group can talk when, from the simulator's fault state:
//! - the network is reliable and long reordering is off: labrpc's unreliable network loses 10% of
//!   requests and of replies at random and long reordering holds replies for up to 2.2 s, so a
//!   bound on elections there holds only with a probability, and the lab's own assertions (which
//!   retry) stay the judges of progress there;
//! - every directed link between two of them is enabled, and no drop or delay rule
//!   ([`sim::Rule`]) matches it (duplicate rules lose and hold back nothing);
//! - no link in either direction joins one of them to a live server of the group outside the set.
//!   A server that hears the majority but cannot answer it, or reaches only part of it, keeps
//!   starting elections that depose the majority's leaders (Raft without pre-vote is not live under
//!   such partial partitions), so the check asks progress only of a majority cut cleanly from the
//!   rest, as the labs' `disconnect`, `partition` and `crash` make it. Dead servers do not count.
//!
//! With these conditions the majority is unique. It is recomputed when a fault is applied
//! ([`crate::run::Core::fault_generation`]) or a server of the group dies or starts.
//!
//! # The bounds
//! [`LEADER_BOUND`] is the Raft lab's 5 s, for every lab: kvraft's and the shard labs' servers run
//! the same Raft, whose lab sets the rule. [`MAX_LEADERLESS_ELECTIONS`] is 10: with timeouts drawn
//! from 300-600 ms and a majority whose messages arrive at once, an election fails only when
//! another server's timer expires during it or its candidate's log is behind (then a server whose
//! log is up to date wins one of the next few); ten in a row without a leader is far from any
//! correct run (the most seen over the catalogs' seeds is recorded in docs/bug-finding.md).

use std::fmt::Write as _;

use sim::{HostId, Process, Rule, Sim, Time};

use super::invariants::Observed;
use crate::failure::Failure;

/// The lab's bound on electing a leader once a majority can talk, in virtual ms.
pub const LEADER_BOUND: Time = 5000;
/// At most this many elections may start in a leaderless window of a majority that can talk.
pub const MAX_LEADERLESS_ELECTIONS: usize = 10;

/// A majority that can talk, and how it has fared since.
#[derive(Clone, Debug)]
struct Window {
    /// Node ids of the majority.
    members: Vec<usize>,
    /// Since when it can talk.
    since: Time,
    /// Whether one of it was an accepted leader at the last look.
    led: bool,
    /// Since when it has had no accepted leader (at least `since`).
    leaderless_since: Time,
    /// Elections started in the leaderless stretch: (time, node, term).
    elections: Vec<(Time, usize, u64)>,
}

/// The liveness checks of one Raft group. See the module documentation.
pub struct Liveness {
    /// The group's hosts, by node id.
    hosts: Vec<HostId>,
    /// Per node, (term, leader?) after its last checked step; `None` while down.
    state: Vec<Option<(u64, bool)>>,
    /// The fault generation and the live nodes the window was computed for.
    computed: Option<(u64, u64)>,
    window: Option<Window>,
}

impl Liveness {
    /// The checks of the group whose node `i` runs on `hosts[i]` (a world with several groups
    /// names the group with [`Failure::within`]).
    pub fn new(hosts: Vec<HostId>) -> Liveness {
        let n = hosts.len();
        assert!(n <= 64, "a Raft group of {n} servers");
        Liveness {
            hosts,
            state: vec![None; n],
            computed: None,
            window: None,
        }
    }

    /// Node `node` (re)started with this term, as a follower.
    pub fn started(&mut self, node: usize, term: u64) {
        self.state[node] = Some((term, false));
    }

    /// Node `node` took a step at `now` that the invariants checked.
    pub fn after_step(&mut self, node: usize, now: Time, step: &Observed) {
        self.state[node] = Some((step.term, step.leader));
        self.look(now);
        if let Some(w) = &mut self.window {
            if step.election && !w.led && w.members.contains(&node) {
                w.elections.push((now, node, step.term));
            }
        }
    }

    /// After every event: recomputes the majority if the faults or the live servers changed, and
    /// fails if the majority has gone without an accepted leader for too long.
    pub fn check<P: Process>(
        &mut self,
        sim: &Sim<P>,
        fault_generation: u64,
        now: Time,
    ) -> Result<(), Failure> {
        let mut alive = 0u64;
        for (i, &h) in self.hosts.iter().enumerate() {
            if sim.is_alive(h) {
                alive |= 1 << i;
            } else {
                self.state[i] = None;
            }
        }
        if self.computed != Some((fault_generation, alive)) {
            self.computed = Some((fault_generation, alive));
            let members = talking_majority(sim, &self.hosts);
            if self.window.as_ref().map(|w| &w.members) != members.as_ref() {
                self.window = members.map(|members| Window {
                    members,
                    since: now,
                    led: false,
                    leaderless_since: now,
                    elections: Vec::new(),
                });
            }
            self.look(now);
        }
        let Some(w) = &self.window else {
            return Ok(());
        };
        if w.elections.len() > MAX_LEADERLESS_ELECTIONS {
            return Err(self.failure(
                now,
                &format!(
                    "elections split forever: {} elections started without a leader",
                    w.elections.len()
                ),
            ));
        }
        if !w.led && now > w.leaderless_since + LEADER_BOUND {
            return Err(self.failure(now, &format!("no leader within {LEADER_BOUND} ms")));
        }
        Ok(())
    }

    /// Whether a server of the majority is a leader it accepts, now.
    fn look(&mut self, now: Time) {
        let Some(w) = &mut self.window else {
            return;
        };
        // The highest term among the majority, and whether a leader holds it.
        let (mut top, mut led) = (0, false);
        for &(t, l) in w.members.iter().filter_map(|&m| self.state[m].as_ref()) {
            if t > top {
                (top, led) = (t, l);
            } else if t == top {
                led |= l;
            }
        }
        if led {
            w.elections.clear();
        } else if w.led {
            w.leaderless_since = now;
        }
        w.led = led;
    }

    fn failure(&self, now: Time, what: &str) -> Failure {
        let w = self.window.as_ref().expect("a failure has a window");
        let mut m = String::new();
        let hosts: Vec<String> = w
            .members
            .iter()
            .map(|&i| format!("h{}", self.hosts[i]))
            .collect();
        let _ = write!(
            m,
            "{what} (a leader within the lab's {LEADER_BOUND} ms whenever a majority can talk: the \
             lab's checkOneLeader rule): servers {} have all been live and able to talk since {} ms \
             (reliable network, links up both ways, no drop or delay rule, cut from the rest), \
             and none was a leader they accept from {} to {now} ms; ",
            hosts.join(", "),
            w.since,
            w.leaderless_since
        );
        if w.elections.is_empty() {
            m.push_str("no election started");
        } else {
            let terms: Vec<String> = w
                .elections
                .iter()
                .map(|(t, node, term)| format!("t{term} by h{} at {t} ms", self.hosts[*node]))
                .collect();
            let _ = write!(m, "elections: {}", terms.join(", "));
        }
        let now_terms: Vec<String> = w
            .members
            .iter()
            .map(|&i| match self.state[i] {
                Some((t, l)) => {
                    format!("h{} t{t}{}", self.hosts[i], if l { " leader" } else { "" })
                }
                None => format!("h{} ?", self.hosts[i]),
            })
            .collect();
        let _ = write!(m, "; now {}", now_terms.join(", "));
        Failure::liveness(m)
    }
}

/// The node ids of the majority of `hosts` that can talk (module documentation), if there is one.
pub fn talking_majority<P: Process>(sim: &Sim<P>, hosts: &[HostId]) -> Option<Vec<usize>> {
    let net = sim.config();
    if !net.reliable || net.long_reordering {
        return None;
    }
    let live: Vec<usize> = (0..hosts.len())
        .filter(|&i| sim.is_alive(hosts[i]))
        .collect();
    let majority = hosts.len() / 2 + 1;
    if live.len() < majority {
        return None;
    }
    let touches = |a: usize, b: usize| sim.link(hosts[a], hosts[b]) || sim.link(hosts[b], hosts[a]);
    // The live servers joined to the first one by links in either direction, grown to a fixed
    // point; the majority, if any, is one such component (two cannot both be majorities).
    for &start in &live {
        let mut comp = vec![start];
        let mut k = 0;
        while k < comp.len() {
            let a = comp[k];
            for &b in &live {
                if !comp.contains(&b) && touches(a, b) {
                    comp.push(b);
                }
            }
            k += 1;
        }
        if comp.len() >= majority {
            comp.sort_unstable();
            let talks = comp.iter().all(|&a| {
                comp.iter()
                    .all(|&b| a == b || clear(sim, hosts[a], hosts[b]))
            });
            return talks.then_some(comp);
        }
        if comp.len() * 2 >= live.len() {
            // Too big for another component to be a majority.
            return None;
        }
    }
    None
}

/// Whether the directed link `from -> to` is enabled with no rule that drops or delays on it.
fn clear<P: Process>(sim: &Sim<P>, from: HostId, to: HostId) -> bool {
    sim.link(from, to)
        && !sim.rules().iter().any(|r| {
            matches!(r, Rule::Drop { .. } | Rule::Delay { .. }) && r.links().matches(from, to)
        })
}
