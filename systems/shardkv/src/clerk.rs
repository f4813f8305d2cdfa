//! [`Clerk`]: routes each operation by its config, as the lab's client skeleton does.
//!
//! The clerk sends to the servers of the group that owns the key's shard, starting with the one
//! that answered last. `WrongGroup` ends the pass at once; a pass in which no server answered also
//! ends. After a pass the clerk waits [`RETRY_MS`] and asks the controller for the latest config
//! (`Query(-1)`, through an embedded [`CtrlClerk`]), then tries again. A fresh clerk (config 0)
//! asks the controller first. The same request (same sequence number) is sent on every attempt, so
//! the group's duplicate table, which migrates with the shard, keeps it at most once.

use std::collections::BTreeMap;

use shardctrler::{
    ClientId, Config, CtrlClerk, CtrlOp, CtrlOutcome, CtrlReply, CtrlRequest, CtrlStep, Gid, Seq,
};

use crate::message::{key2shard, KvOp, KvReply, KvRequest, Outcome};

/// The pause after a failed pass, before asking for the config again (the lab's 100 ms).
pub const RETRY_MS: u64 = 100;

/// What the driver does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send `req` to the server named `server`; answer with [`Clerk::on_reply`].
    Send {
        server: String,
        req: KvRequest,
    },
    /// Send `req` to controller server `to`; answer with [`Clerk::on_ctrl_reply`].
    Ctrl {
        to: usize,
        req: CtrlRequest,
    },
    /// Wait `ms`, then call [`Clerk::resume`].
    Backoff {
        ms: u64,
    },
    Done(Outcome),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pause {
    /// After a pass: then query the controller.
    BeforeQuery,
    /// The controller clerk's own backoff.
    Ctrl,
}

/// A shardkv client with one operation at a time.
#[derive(Debug)]
pub struct Clerk {
    id: ClientId,
    seq: Seq,
    config: Config,
    ctrl: CtrlClerk,
    /// Per group, the server to try first.
    leaders: BTreeMap<Gid, usize>,
    outstanding: Option<KvRequest>,
    /// Servers tried in the current pass.
    tried: usize,
    pause: Option<Pause>,
}

impl Clerk {
    /// A clerk with id `id` (also its controller clerk's) for a controller of `ctrlers` servers.
    pub fn new(id: ClientId, ctrlers: usize) -> Clerk {
        Clerk {
            id,
            seq: 0,
            config: Config::default(),
            ctrl: CtrlClerk::new(id, ctrlers),
            leaders: BTreeMap::new(),
            outstanding: None,
            tried: 0,
            pause: None,
        }
    }

    pub fn id(&self) -> ClientId {
        self.id
    }

    /// The config the clerk routes by.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Starts `op`. Panics if one is outstanding.
    pub fn begin(&mut self, op: KvOp) -> Step {
        assert!(self.outstanding.is_none(), "clerk {} is busy", self.id);
        self.seq += 1;
        self.outstanding = Some(KvRequest {
            client: self.id,
            seq: self.seq,
            op,
        });
        if self.config.num == 0 {
            return self.query();
        }
        self.route()
    }

    fn req(&self) -> &KvRequest {
        self.outstanding.as_ref().expect("no operation outstanding")
    }

    fn group(&self) -> (Gid, usize) {
        let gid = self.config.shards[key2shard(self.req().op.key())];
        let n = self.config.groups.get(&gid).map_or(0, Vec::len);
        (gid, n)
    }

    /// The first send of a pass.
    fn route(&mut self) -> Step {
        self.tried = 0;
        self.send()
    }

    fn send(&mut self) -> Step {
        let (gid, n) = self.group();
        if n == 0 || self.tried >= n {
            self.pause = Some(Pause::BeforeQuery);
            return Step::Backoff { ms: RETRY_MS };
        }
        let first = self.leaders.get(&gid).copied().unwrap_or(0);
        let i = (first + self.tried) % n;
        Step::Send {
            server: self.config.groups[&gid][i].clone(),
            req: self.req().clone(),
        }
    }

    fn query(&mut self) -> Step {
        match self.ctrl.begin(CtrlOp::Query { num: -1 }) {
            CtrlStep::Send { to, req } => Step::Ctrl { to, req },
            other => self.on_ctrl_step(other),
        }
    }

    /// The answer to the last [`Step::Send`] (`None`: the call failed).
    pub fn on_reply(&mut self, reply: Option<KvReply>) -> Step {
        let outcome = match (&self.req().op, reply) {
            (KvOp::Get { .. }, Some(KvReply::Value(v))) => Outcome::Value(v),
            (KvOp::Put { .. }, Some(KvReply::Done)) => Outcome::Done,
            (KvOp::Append { .. }, Some(KvReply::Appended { old })) => Outcome::Appended { old },
            (_, Some(KvReply::WrongGroup)) => {
                self.pause = Some(Pause::BeforeQuery);
                return Step::Backoff { ms: RETRY_MS };
            }
            _ => {
                self.tried += 1;
                return self.send();
            }
        };
        let (gid, n) = self.group();
        let first = self.leaders.get(&gid).copied().unwrap_or(0);
        self.leaders.insert(gid, (first + self.tried) % n.max(1));
        self.outstanding = None;
        Step::Done(outcome)
    }

    /// The answer to the last [`Step::Ctrl`].
    pub fn on_ctrl_reply(&mut self, reply: Option<CtrlReply>) -> Step {
        let step = self.ctrl.on_reply(reply);
        self.on_ctrl_step(step)
    }

    fn on_ctrl_step(&mut self, step: CtrlStep) -> Step {
        match step {
            CtrlStep::Send { to, req } => Step::Ctrl { to, req },
            CtrlStep::Backoff { ms } => {
                self.pause = Some(Pause::Ctrl);
                Step::Backoff { ms }
            }
            CtrlStep::Done(CtrlOutcome::Config(c)) => {
                if c.num >= self.config.num {
                    self.config = c;
                }
                self.route()
            }
            CtrlStep::Done(CtrlOutcome::Done) => unreachable!("the clerk only queries"),
        }
    }

    /// After a [`Step::Backoff`].
    pub fn resume(&mut self) -> Step {
        match self.pause.take() {
            Some(Pause::BeforeQuery) => self.query(),
            Some(Pause::Ctrl) => {
                let step = self.ctrl.resume();
                self.on_ctrl_step(step)
            }
            None => panic!("clerk {} resumed without a pause", self.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_first_then_routes_and_refreshes_on_wrong_group() {
        let mut c = Clerk::new(5, 1);
        let Step::Ctrl { to: 0, .. } = c.begin(KvOp::Get { key: "0".into() }) else {
            panic!("a fresh clerk asks the controller first")
        };
        let mut cfg = Config {
            num: 1,
            shards: [1; 10],
            groups: [(1, vec!["a".to_string(), "b".to_string()])].into(),
        };
        let Step::Send { server, req } = c.on_ctrl_reply(Some(CtrlReply::Config(cfg.clone())))
        else {
            panic!("routes once it has a config")
        };
        assert_eq!((server.as_str(), req.seq), ("a", 1));
        let Step::Send { server, .. } = c.on_reply(Some(KvReply::WrongLeader)) else {
            panic!("next server of the group")
        };
        assert_eq!(server, "b");
        assert_eq!(
            c.on_reply(Some(KvReply::WrongGroup)),
            Step::Backoff { ms: RETRY_MS }
        );
        assert!(matches!(c.resume(), Step::Ctrl { .. }));
        cfg.num = 2;
        cfg.shards = [2; 10];
        cfg.groups = [(2, vec!["c".to_string()])].into();
        let Step::Send { server, req: again } = c.on_ctrl_reply(Some(CtrlReply::Config(cfg)))
        else {
            panic!("routes by the new config")
        };
        assert_eq!((server.as_str(), again), ("c", req));
        assert_eq!(
            c.on_reply(Some(KvReply::Value("v".into()))),
            Step::Done(Outcome::Value("v".into()))
        );
        assert_eq!(c.config().num, 2);
    }
}
