//! [`CtrlClerk`]: one controller operation at a time, tried on each server until a leader answers.

use crate::config::Config;
use crate::message::{ClientId, CtrlOp, CtrlReply, CtrlRequest, Seq};

/// The lab clerk's pause after a round of servers failed, in ms.
pub const BACKOFF_MS: u64 = 100;

/// What a controller operation returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CtrlOutcome {
    Done,
    Config(Config),
}

/// What the driver does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CtrlStep {
    /// Send `req` to controller server `to`.
    Send {
        to: usize,
        req: CtrlRequest,
    },
    /// Wait, then [`CtrlClerk::resume`].
    Backoff {
        ms: u64,
    },
    Done(CtrlOutcome),
}

/// The controller's clerk.
#[derive(Clone, Debug)]
pub struct CtrlClerk {
    id: ClientId,
    servers: usize,
    seq: Seq,
    leader: usize,
    failures: usize,
    outstanding: Option<CtrlRequest>,
}

impl CtrlClerk {
    pub fn new(id: ClientId, servers: usize) -> Self {
        assert!(servers > 0, "a clerk needs at least one server");
        CtrlClerk {
            id,
            servers,
            seq: 0,
            leader: 0,
            failures: 0,
            outstanding: None,
        }
    }

    pub fn id(&self) -> ClientId {
        self.id
    }

    pub fn busy(&self) -> bool {
        self.outstanding.is_some()
    }

    /// Starts `op`. Panics if one is outstanding.
    pub fn begin(&mut self, op: CtrlOp) -> CtrlStep {
        assert!(self.outstanding.is_none(), "clerk {} is busy", self.id);
        self.seq += 1;
        let req = CtrlRequest {
            client: self.id,
            seq: self.seq,
            op,
        };
        self.outstanding = Some(req.clone());
        self.failures = 0;
        CtrlStep::Send {
            to: self.leader,
            req,
        }
    }

    /// The answer to the last request (`None`: the call failed).
    pub fn on_reply(&mut self, reply: Option<CtrlReply>) -> CtrlStep {
        let req = self.outstanding.as_ref().expect("no operation outstanding");
        let outcome = match (req.op.is_query(), reply) {
            (true, Some(CtrlReply::Config(c))) => CtrlOutcome::Config(c),
            (false, Some(CtrlReply::Ok)) => CtrlOutcome::Done,
            _ => {
                self.leader = (self.leader + 1) % self.servers;
                self.failures += 1;
                if self.failures.is_multiple_of(self.servers) {
                    return CtrlStep::Backoff { ms: BACKOFF_MS };
                }
                return CtrlStep::Send {
                    to: self.leader,
                    req: req.clone(),
                };
            }
        };
        self.outstanding = None;
        CtrlStep::Done(outcome)
    }

    /// After a backoff: the request again.
    pub fn resume(&mut self) -> CtrlStep {
        let req = self.outstanding.clone().expect("no operation outstanding");
        CtrlStep::Send {
            to: self.leader,
            req,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_backs_off_and_keeps_the_leader() {
        let mut c = CtrlClerk::new(1, 2);
        let CtrlStep::Send { to: 0, req } = c.begin(CtrlOp::Query { num: -1 }) else {
            panic!("first send goes to server 0")
        };
        // A write's Ok does not answer a Query.
        assert_eq!(
            c.on_reply(Some(CtrlReply::Ok)),
            CtrlStep::Send {
                to: 1,
                req: req.clone()
            }
        );
        assert_eq!(c.on_reply(None), CtrlStep::Backoff { ms: BACKOFF_MS });
        assert_eq!(c.resume(), CtrlStep::Send { to: 0, req });
        assert_eq!(
            c.on_reply(Some(CtrlReply::Config(Config::default()))),
            CtrlStep::Done(CtrlOutcome::Config(Config::default()))
        );
        assert!(!c.busy());
    }
}
