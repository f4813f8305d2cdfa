//! [`Rule`]s: faults the network applies on top of labrpc's own semantics, as data.
//!
//! labrpc's behaviour (links, `reliable`, long delays, long reordering) is the default rule and
//! always comes first. A run may then add rules, which [`crate::Sim`] consults in the order they
//! were added for every message that labrpc's rule lets through:
//! - [`Rule::Drop`]: a request on a matching link fails (as a drop does, after its delay) with the
//!   given probability; a reply is lost with it (the call fails).
//! - [`Rule::Delay`]: the message is held for a uniform random time in `min_ms..=max_ms` more.
//!   Delays drawn per message reorder messages on the same link.
//! - [`Rule::Duplicate`]: a request on a matching link is delivered a second time, `0..=max_ms`
//!   after the original's delivery time, with the given probability. The copy is a request the
//!   caller never made: its handler runs (a server executes the request twice, as after a
//!   retransmission) and whatever it replies is discarded, since the caller's call has exactly one
//!   outcome, the original's. Replies are never duplicated, for the same reason. The copy is
//!   dropped if the callee is down or the link is cut when it comes due.
//!
//! A rule draws from the network's random stream only for the messages it matches, so a run with
//! no rules makes exactly the draws it made before rules existed: adding this layer changed no
//! seed's outcome.

use crate::{HostId, Time};

/// What the rules decided for one message that labrpc's rule let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Ruling {
    /// Extra delay of the message, in ms.
    pub extra: Time,
    /// For a request: deliver a copy this many ms after the original is delivered.
    pub duplicate: Option<Time>,
}

/// Which directed links a rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Links {
    Any,
    /// Messages sent by this host.
    From(HostId),
    /// Messages sent to this host.
    To(HostId),
    /// Messages from `.0` to `.1` only (one direction).
    Between(HostId, HostId),
}

impl Links {
    pub fn matches(self, from: HostId, to: HostId) -> bool {
        match self {
            Links::Any => true,
            Links::From(h) => from == h,
            Links::To(h) => to == h,
            Links::Between(a, b) => from == a && to == b,
        }
    }
}

/// A network rule. See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Drop {
        links: Links,
        per_mille: u32,
    },
    Delay {
        links: Links,
        min_ms: u64,
        max_ms: u64,
    },
    Duplicate {
        links: Links,
        per_mille: u32,
        max_ms: u64,
    },
}

impl Rule {
    pub fn links(&self) -> Links {
        match *self {
            Rule::Drop { links, .. }
            | Rule::Delay { links, .. }
            | Rule::Duplicate { links, .. } => links,
        }
    }
}
