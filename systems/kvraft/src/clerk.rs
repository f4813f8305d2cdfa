//! The clerk: sends an operation to the server it believes leads, and moves on when that fails.

use raft::rsm::Retry;

use crate::message::{ClientId, Op, Outcome, Reply, Request, Seq};

/// How long a clerk pauses after every server of a round failed it, in ms: long enough not to
/// spin while an election runs, short against the 300-600 ms election timeout.
pub const BACKOFF_MS: u64 = 20;

/// What the driver must do next: send a request to a server, back off, or take the outcome.
pub type Step = raft::rsm::Step<Request, Outcome>;

/// A client with one operation at a time (the lab's `Clerk`).
#[derive(Debug)]
pub struct Clerk {
    id: ClientId,
    seq: Seq,
    retry: Retry<Request>,
}

impl Clerk {
    /// A clerk of a service with `servers` servers, known to it as `0..servers` (the driver maps
    /// them to addresses, in a shuffled order as the lab does).
    pub fn new(id: ClientId, servers: usize) -> Clerk {
        Clerk {
            id,
            seq: 0,
            retry: Retry::new(servers, BACKOFF_MS),
        }
    }

    pub fn id(&self) -> ClientId {
        self.id
    }

    /// Starts `op`; returns where to send which request. Panics if one is outstanding.
    pub fn begin(&mut self, op: Op) -> (usize, Request) {
        assert!(
            !self.retry.busy(),
            "clerk {} began an operation while one is outstanding",
            self.id
        );
        self.seq += 1;
        let req = Request {
            client: self.id,
            seq: self.seq,
            op,
        };
        (self.retry.begin(req.clone()), req)
    }

    /// The answer to the last request sent (`None`: the call failed).
    pub fn on_reply(&mut self, reply: Option<Reply>) -> Step {
        let req = self
            .retry
            .outstanding()
            .expect("a reply arrived with no operation outstanding");
        let outcome = match (&req.op, reply) {
            (Op::Get { .. }, Some(Reply::Value(v))) => Some(Outcome::Value(v)),
            (Op::Put { .. }, Some(Reply::Done)) => Some(Outcome::Done),
            (Op::Append { .. }, Some(Reply::Appended { old })) => Some(Outcome::Appended { old }),
            _ => None,
        };
        self.retry.answered(outcome)
    }

    /// After a [`Step::Backoff`]: the request to send again.
    pub fn resume(&mut self) -> Step {
        self.retry.resume()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_then_backs_off_then_remembers_the_leader() {
        let mut c = Clerk::new(3, 3);
        let (to, req) = c.begin(Op::Put {
            key: "k".into(),
            value: "v".into(),
        });
        assert_eq!((to, req.seq), (0, 1));
        assert_eq!(
            c.on_reply(Some(Reply::WrongLeader)),
            Step::Send {
                to: 1,
                req: req.clone()
            }
        );
        assert_eq!(
            c.on_reply(None),
            Step::Send {
                to: 2,
                req: req.clone()
            }
        );
        assert_eq!(
            c.on_reply(Some(Reply::Timeout)),
            Step::Backoff { ms: BACKOFF_MS }
        );
        assert_eq!(
            c.resume(),
            Step::Send {
                to: 0,
                req: req.clone()
            }
        );
        assert_eq!(
            c.on_reply(Some(Reply::WrongLeader)),
            Step::Send { to: 1, req }
        );
        assert_eq!(c.on_reply(Some(Reply::Done)), Step::Done(Outcome::Done));
        let (to, req) = c.begin(Op::Get { key: "k".into() });
        assert_eq!((to, req.seq), (1, 2));
        assert_eq!(
            c.on_reply(Some(Reply::Value("v".into()))),
            Step::Done(Outcome::Value("v".into()))
        );
    }

    #[test]
    fn a_reply_of_the_wrong_kind_is_a_failure() {
        let mut c = Clerk::new(3, 2);
        let (_, req) = c.begin(Op::Get { key: "k".into() });
        assert_eq!(c.on_reply(Some(Reply::Done)), Step::Send { to: 1, req });
    }

    #[test]
    fn an_append_returns_the_value_it_replaced() {
        let mut c = Clerk::new(3, 2);
        let (_, req) = c.begin(Op::Append {
            key: "k".into(),
            value: "b".into(),
        });
        // A Put's reply does not finish an Append.
        assert_eq!(
            c.on_reply(Some(Reply::Done)),
            Step::Send {
                to: 1,
                req: req.clone()
            }
        );
        assert_eq!(
            c.on_reply(Some(Reply::Stale)),
            Step::Backoff { ms: BACKOFF_MS }
        );
        assert_eq!(c.resume(), Step::Send { to: 0, req });
        assert_eq!(
            c.on_reply(Some(Reply::Appended { old: "a".into() })),
            Step::Done(Outcome::Appended { old: "a".into() })
        );
    }
}
