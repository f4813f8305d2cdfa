//! [`CtrlClerk`]: one controller operation at a time, tried on each server until a leader answers.

use raft::rsm::Retry;

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

/// What the driver does next: send a request to a controller server, back off (then
/// [`CtrlClerk::resume`]), or take the outcome.
pub type CtrlStep = raft::rsm::Step<CtrlRequest, CtrlOutcome>;

/// The controller's clerk.
#[derive(Clone, Debug)]
pub struct CtrlClerk {
    id: ClientId,
    seq: Seq,
    retry: Retry<CtrlRequest>,
}

impl CtrlClerk {
    pub fn new(id: ClientId, servers: usize) -> Self {
        CtrlClerk {
            id,
            seq: 0,
            retry: Retry::new(servers, BACKOFF_MS),
        }
    }

    pub fn id(&self) -> ClientId {
        self.id
    }

    pub fn busy(&self) -> bool {
        self.retry.busy()
    }

    /// Starts `op`. Panics if one is outstanding.
    pub fn begin(&mut self, op: CtrlOp) -> CtrlStep {
        assert!(!self.retry.busy(), "clerk {} is busy", self.id);
        self.seq += 1;
        let req = CtrlRequest {
            client: self.id,
            seq: self.seq,
            op,
        };
        let to = self.retry.begin(req.clone());
        CtrlStep::Send { to, req }
    }

    /// The answer to the last request (`None`: the call failed).
    pub fn on_reply(&mut self, reply: Option<CtrlReply>) -> CtrlStep {
        let req = self.retry.outstanding().expect("no operation outstanding");
        let outcome = match (req.op.is_query(), reply) {
            (true, Some(CtrlReply::Config(c))) => Some(CtrlOutcome::Config(c)),
            (false, Some(CtrlReply::Ok)) => Some(CtrlOutcome::Done),
            _ => None,
        };
        self.retry.answered(outcome)
    }

    /// After a backoff: the request again.
    pub fn resume(&mut self) -> CtrlStep {
        self.retry.resume()
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
