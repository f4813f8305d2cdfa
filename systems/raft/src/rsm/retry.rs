//! [`Retry`]: how a clerk of a replicated service finds the leader. One request at a time goes to
//! the server that answered last; on a failure (no answer, `WrongLeader`, a timeout, a reply of
//! the wrong kind) to the next one; after a whole round of failures the clerk pauses, so it does
//! not spin while an election runs.

/// What a clerk's driver does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step<R, O> {
    /// Send `req` to server `to` (an index into the clerk's server list).
    Send { to: usize, req: R },
    /// Wait `ms`, then resume the clerk (send the same request again).
    Backoff { ms: u64 },
    /// The operation finished.
    Done(O),
}

/// The rotation over `0..servers` of a clerk with one request outstanding.
#[derive(Clone, Debug)]
pub struct Retry<R> {
    servers: usize,
    backoff_ms: u64,
    /// Where the last success came from: the first server to try next time.
    leader: usize,
    /// Failures of the outstanding request.
    failures: usize,
    outstanding: Option<R>,
}

impl<R: Clone> Retry<R> {
    /// Over `servers` servers, pausing `backoff_ms` after each round of failures.
    pub fn new(servers: usize, backoff_ms: u64) -> Self {
        assert!(servers > 0, "a clerk needs at least one server");
        Retry {
            servers,
            backoff_ms,
            leader: 0,
            failures: 0,
            outstanding: None,
        }
    }

    pub fn busy(&self) -> bool {
        self.outstanding.is_some()
    }

    /// The request being tried.
    pub fn outstanding(&self) -> Option<&R> {
        self.outstanding.as_ref()
    }

    /// Starts trying `req`; returns the server to send it to first. The caller checks that
    /// nothing is outstanding (with its own message).
    pub fn begin(&mut self, req: R) -> usize {
        self.outstanding = Some(req);
        self.failures = 0;
        self.leader
    }

    /// What the last attempt gave: `Some` finishes the operation (and the server that answered
    /// stays first), `None` moves on to the next server, or pauses after a full round.
    pub fn answered<O>(&mut self, outcome: Option<O>) -> Step<R, O> {
        if let Some(outcome) = outcome {
            self.outstanding = None;
            return Step::Done(outcome);
        }
        let req = self
            .outstanding
            .clone()
            .expect("a reply arrived with no operation outstanding");
        self.leader = (self.leader + 1) % self.servers;
        self.failures += 1;
        if self.failures.is_multiple_of(self.servers) {
            return Step::Backoff {
                ms: self.backoff_ms,
            };
        }
        Step::Send {
            to: self.leader,
            req,
        }
    }

    /// After a [`Step::Backoff`]: the request to send again.
    pub fn resume<O>(&self) -> Step<R, O> {
        let req = self
            .outstanding
            .clone()
            .expect("resume with no operation outstanding");
        Step::Send {
            to: self.leader,
            req,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_then_backs_off_then_remembers_the_leader() {
        let mut r = Retry::new(3, 20);
        assert_eq!(r.begin("a"), 0);
        assert!(r.busy());
        assert_eq!(r.answered::<()>(None), Step::Send { to: 1, req: "a" });
        assert_eq!(r.answered::<()>(None), Step::Send { to: 2, req: "a" });
        assert_eq!(r.answered::<()>(None), Step::Backoff { ms: 20 });
        assert_eq!(r.resume::<()>(), Step::Send { to: 0, req: "a" });
        assert_eq!(r.answered::<()>(None), Step::Send { to: 1, req: "a" });
        assert_eq!(r.answered(Some(7)), Step::Done(7));
        assert!(!r.busy());
        // Server 1 answered: the next request starts there, with a fresh round.
        assert_eq!(r.begin("b"), 1);
        assert_eq!(r.answered::<()>(None), Step::Send { to: 2, req: "b" });
    }
}
