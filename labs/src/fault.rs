//! [`Fault`]: every fault a scenario injects, as data.
//!
//! A scenario says what happens (`Fault::Partition`, `Fault::Crash`, ...) and the run carries it out
//! in one place ([`crate::run::Core::apply`]), which writes the trace line and the history
//! annotation together, so a fault can never be injected without being shown on the timeline.
//!
//! # Semantics (raft/config.go and kvraft/config.go)
//! Faults act on the run's **servers**, hosts `0..servers`; clerk hosts are only ever touched by
//! their lab's own `connect_client`. The run keeps which servers are *connected*:
//! - `Disconnect(i)`: every end between server `i` and every server is disabled, both ways
//!   (`cfg.disconnect(i)`); `i` is no longer connected.
//! - `Connect(i)`: the ends between `i` and every connected server are enabled, both ways
//!   (`cfg.connect(i)`); `i` is connected.
//! - `Partition(groups)`: the ends between two servers are enabled exactly when both are in one
//!   group (`partition(p1, p2)`); servers in no group are cut from everyone. Every server stays
//!   "connected" in the `Connect` sense, as in kvraft's config.
//! - `Heal`: every pair of servers is connected (`ConnectAll`), and every server is connected.
//! - `Cut { from, to }` / `Uncut { from, to }`: one direction of one link only: `from` can no
//!   longer reach `to` (its calls to `to` fail), while `to` still reaches `from`. labrpc's ends are
//!   already one-way; this is how a scenario says so.
//! - `Crash(i)`: the process dies, its persister survives (`crash1` without the disconnect: a
//!   scenario that wants both says both). `Restart(i)`: the lab rebuilds it from its persister.
//! - `CrashAfterPersist(i)`: arms a crash point on server `i` ([`sim::Sim::crash_after_next_persist`]):
//!   the next step in which it persists ends with it crashed right after the write, before anything
//!   the step sends after it. A dead server is left alone.
//! - `Reliable`, `LongReordering`, `LongDelays`: labrpc's network switches.
//! - `Rule(rule)`: adds a network rule after labrpc's ([`sim::rules`]: drop or delay messages on
//!   some links, or duplicate requests); `ClearRules(links)` removes the rules on exactly those
//!   links, or all of them.

use std::fmt;

use sim::{HostId, Links, Rule};

/// A fault, applied with [`crate::run::Core::apply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    Partition(Vec<Vec<HostId>>),
    Heal,
    Disconnect(HostId),
    Connect(HostId),
    Cut { from: HostId, to: HostId },
    Uncut { from: HostId, to: HostId },
    Crash(HostId),
    CrashAfterPersist(HostId),
    Restart(HostId),
    Reliable(bool),
    LongReordering(bool),
    LongDelays(bool),
    Rule(Rule),
    ClearRules(Option<Links>),
}

/// How a fault shows on the timeline: at one instant, or as a span until another fault ends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Span {
    /// An instant (a crash, a restart).
    Instant,
    /// Opens the span of this kind (until the next fault that ends it).
    Begin(String),
    /// Closes the span of this kind.
    End(String),
    /// Closes every open span whose kind starts with this.
    EndAll(&'static str),
    /// Nothing on the timeline (connects and disconnects are too many to draw).
    None,
}

impl Fault {
    pub(crate) fn span(&self) -> Span {
        match self {
            Fault::Partition(_) => Span::Begin("partition".into()),
            Fault::Heal => Span::End("partition".into()),
            Fault::Crash(_) | Fault::Restart(_) | Fault::CrashAfterPersist(_) => Span::Instant,
            Fault::Cut { from, to } => Span::Begin(format!("cut {from}->{to}")),
            Fault::Uncut { from, to } => Span::End(format!("cut {from}->{to}")),
            Fault::Reliable(false) => Span::Begin("net".into()),
            Fault::Reliable(true) => Span::End("net".into()),
            Fault::LongReordering(true) => Span::Begin("reordering".into()),
            Fault::LongReordering(false) => Span::End("reordering".into()),
            Fault::Rule(rule) => Span::Begin(rule_kind(rule.links())),
            Fault::ClearRules(Some(links)) => Span::End(rule_kind(*links)),
            Fault::ClearRules(None) => Span::EndAll(RULE_KIND),
            Fault::LongDelays(_) | Fault::Disconnect(_) | Fault::Connect(_) => Span::None,
        }
    }
}

const RULE_KIND: &str = "rule ";

/// One timeline lane per set of links that rules apply to.
fn rule_kind(links: Links) -> String {
    format!("{RULE_KIND}{links:?}")
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Partition(groups) => {
                f.write_str("partition")?;
                for (k, g) in groups.iter().enumerate() {
                    write!(f, "{}{g:?}", if k == 0 { " " } else { " | " })?;
                }
                Ok(())
            }
            Fault::Heal => f.write_str("connect all"),
            Fault::Disconnect(h) => write!(f, "disconnect h{h}"),
            Fault::Connect(h) => write!(f, "connect h{h}"),
            Fault::Cut { from, to } => write!(f, "cut h{from}->h{to}"),
            Fault::Uncut { from, to } => write!(f, "uncut h{from}->h{to}"),
            Fault::Crash(h) => write!(f, "crash server {h}"),
            Fault::CrashAfterPersist(h) => write!(f, "crash server {h} after its next persist"),
            Fault::Restart(h) => write!(f, "restart server {h}"),
            Fault::Reliable(true) => f.write_str("reliable network"),
            Fault::Reliable(false) => f.write_str("unreliable network"),
            Fault::LongReordering(on) => write!(f, "long reordering {}", on_off(*on)),
            Fault::LongDelays(on) => write!(f, "long delays {}", on_off(*on)),
            Fault::Rule(Rule::Drop { links, per_mille }) => {
                write!(
                    f,
                    "drop {}.{}% on {links:?}",
                    per_mille / 10,
                    per_mille % 10
                )
            }
            Fault::Rule(Rule::Delay {
                links,
                min_ms,
                max_ms,
            }) => write!(f, "delay {min_ms}-{max_ms} ms on {links:?}"),
            Fault::Rule(Rule::Duplicate {
                links,
                per_mille,
                max_ms,
            }) => write!(
                f,
                "duplicate {}.{}% of requests on {links:?} (copies up to {max_ms} ms later)",
                per_mille / 10,
                per_mille % 10
            ),
            Fault::ClearRules(Some(links)) => write!(f, "clear rules on {links:?}"),
            Fault::ClearRules(None) => f.write_str("clear all rules"),
        }
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}
