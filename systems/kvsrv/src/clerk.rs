//! The clerk: turns an operation into requests until one is answered.

use crate::message::{ClientId, Op, Outcome, Reply, Request, Seq};

/// What the driver must do after feeding the clerk a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this request to the server (a retry of the outstanding operation).
    Send(Request),
    /// The operation finished.
    Done(Outcome),
}

/// A client with at most one operation outstanding (the lab's `Clerk`).
#[derive(Debug)]
pub struct Clerk {
    id: ClientId,
    /// The sequence number of the newest write begun.
    seq: Seq,
    outstanding: Option<Request>,
}

impl Clerk {
    /// A clerk with the given identity; the driver draws it from its seeded RNG.
    pub fn new(id: ClientId) -> Clerk {
        Clerk {
            id,
            seq: 0,
            outstanding: None,
        }
    }

    pub fn id(&self) -> ClientId {
        self.id
    }

    pub fn busy(&self) -> bool {
        self.outstanding.is_some()
    }

    /// Starts `op` and returns the request to send. Panics if an operation is outstanding: the
    /// server's duplicate table relies on one operation at a time per client.
    pub fn begin(&mut self, op: Op) -> Request {
        assert!(
            self.outstanding.is_none(),
            "clerk {} began an operation while one is outstanding",
            self.id
        );
        let req = match op {
            Op::Get { key } => Request::Get { key },
            Op::Put { key, value } => {
                self.seq += 1;
                Request::Put {
                    client: self.id,
                    seq: self.seq,
                    key,
                    value,
                }
            }
            Op::Append { key, value } => {
                self.seq += 1;
                Request::Append {
                    client: self.id,
                    seq: self.seq,
                    key,
                    value,
                }
            }
        };
        self.outstanding = Some(req.clone());
        req
    }

    /// Feeds the outcome of the last request sent: `None` if the call failed (dropped request or
    /// reply), which is retried with the same sequence number.
    pub fn on_reply(&mut self, reply: Option<Reply>) -> Step {
        let req = self
            .outstanding
            .as_ref()
            .expect("a reply arrived with no operation outstanding");
        let outcome = match (req, reply) {
            (Request::Get { .. }, Some(Reply::Get { value })) => Outcome::Value(value),
            (Request::Put { .. }, Some(Reply::Put)) => Outcome::Put,
            (Request::Append { .. }, Some(Reply::Append { old })) => Outcome::Appended { old },
            // No answer, or an answer that is not for this operation: ask again.
            _ => return Step::Send(req.clone()),
        };
        self.outstanding = None;
        Step::Done(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_numbered_and_gets_are_not() {
        let mut c = Clerk::new(5);
        let r = c.begin(Op::Put {
            key: "k".into(),
            value: "v".into(),
        });
        assert_eq!(
            r,
            Request::Put {
                client: 5,
                seq: 1,
                key: "k".into(),
                value: "v".into()
            }
        );
        assert_eq!(c.on_reply(Some(Reply::Put)), Step::Done(Outcome::Put));
        assert_eq!(
            c.begin(Op::Get { key: "k".into() }),
            Request::Get { key: "k".into() }
        );
        assert_eq!(
            c.on_reply(Some(Reply::Get { value: "v".into() })),
            Step::Done(Outcome::Value("v".into()))
        );
        let r = c.begin(Op::Append {
            key: "k".into(),
            value: "w".into(),
        });
        assert_eq!(
            r,
            Request::Append {
                client: 5,
                seq: 2,
                key: "k".into(),
                value: "w".into()
            }
        );
    }

    #[test]
    fn failures_and_stale_replies_resend_the_same_request() {
        let mut c = Clerk::new(5);
        let r = c.begin(Op::Append {
            key: "k".into(),
            value: "w".into(),
        });
        assert_eq!(c.on_reply(None), Step::Send(r.clone()));
        assert_eq!(c.on_reply(Some(Reply::Stale)), Step::Send(r.clone()));
        assert!(c.busy());
        assert_eq!(
            c.on_reply(Some(Reply::Append { old: "a".into() })),
            Step::Done(Outcome::Appended { old: "a".into() })
        );
        assert!(!c.busy());
    }

    #[test]
    #[should_panic(expected = "outstanding")]
    fn one_operation_at_a_time() {
        let mut c = Clerk::new(5);
        c.begin(Op::Get { key: "k".into() });
        c.begin(Op::Get { key: "k".into() });
    }
}
