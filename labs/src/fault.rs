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
//! - `Reliable`, `LongReordering`, `LongDelays`: labrpc's network switches.

use std::fmt;

use sim::HostId;

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
    Restart(HostId),
    Reliable(bool),
    LongReordering(bool),
    LongDelays(bool),
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
    /// Nothing on the timeline (connects and disconnects are too many to draw).
    None,
}

impl Fault {
    pub(crate) fn span(&self) -> Span {
        match self {
            Fault::Partition(_) => Span::Begin("partition".into()),
            Fault::Heal => Span::End("partition".into()),
            Fault::Crash(_) | Fault::Restart(_) => Span::Instant,
            Fault::Cut { from, to } => Span::Begin(format!("cut {from}->{to}")),
            Fault::Uncut { from, to } => Span::End(format!("cut {from}->{to}")),
            Fault::Reliable(false) => Span::Begin("net".into()),
            Fault::Reliable(true) => Span::End("net".into()),
            Fault::LongReordering(true) => Span::Begin("reordering".into()),
            Fault::LongReordering(false) => Span::End("reordering".into()),
            Fault::LongDelays(_) | Fault::Disconnect(_) | Fault::Connect(_) => Span::None,
        }
    }
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
            Fault::Restart(h) => write!(f, "restart server {h}"),
            Fault::Reliable(true) => f.write_str("reliable network"),
            Fault::Reliable(false) => f.write_str("unreliable network"),
            Fault::LongReordering(on) => write!(f, "long reordering {}", on_off(*on)),
            Fault::LongDelays(on) => write!(f, "long delays {}", on_off(*on)),
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
