//! The controller's requests and replies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{Config, Gid};

/// A clerk's identity.
pub type ClientId = u64;
/// A clerk's operation counter, from 1.
pub type Seq = u64;

/// The four RPCs of the lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CtrlOp {
    /// Add groups (gid -> server names) and rebalance; a gid may rejoin.
    Join { groups: BTreeMap<Gid, Vec<String>> },
    /// Remove groups and hand their shards to the others.
    Leave { gids: Vec<Gid> },
    /// Put one shard on one group (a later Join or Leave may undo it).
    Move { shard: usize, gid: Gid },
    /// Config `num`; -1 or past the end: the latest.
    Query { num: i64 },
}

impl CtrlOp {
    pub fn is_query(&self) -> bool {
        matches!(self, CtrlOp::Query { .. })
    }
}

/// A request, also the log command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtrlRequest {
    pub client: ClientId,
    pub seq: Seq,
    pub op: CtrlOp,
}

/// A controller server's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CtrlReply {
    /// Join, Leave or Move took effect (now or earlier: duplicates are not executed again).
    Ok,
    /// A Query's config.
    Config(Config),
    WrongLeader,
    Timeout,
}
