//! Client requests, shard transfers, and the commands of a group's Raft log.

use std::collections::BTreeMap;
use std::fmt;

use raft::rsm::Rejection;
use serde::{Deserialize, Serialize};
use shardctrler::{Config, NSHARDS};

pub use shardctrler::{ClientId, Gid, Seq};

/// A shard number, `0..NSHARDS`.
pub type Shard = usize;

/// The lab's `key2shard`: the first byte of the key modulo [`NSHARDS`] (0 for the empty key).
pub fn key2shard(key: &str) -> Shard {
    key.bytes().next().map_or(0, |b| usize::from(b) % NSHARDS)
}

/// What a clerk asks for.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvOp {
    Get { key: String },
    Put { key: String, value: String },
    Append { key: String, value: String },
}

impl KvOp {
    pub fn key(&self) -> &str {
        match self {
            KvOp::Get { key } | KvOp::Put { key, .. } | KvOp::Append { key, .. } => key,
        }
    }
}

impl fmt::Debug for KvOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvOp::Get { key } => write!(f, "Get({key:?})"),
            KvOp::Put { key, value } => write!(f, "Put({key:?}, {value:?})"),
            KvOp::Append { key, value } => write!(f, "Append({key:?}, {value:?})"),
        }
    }
}

/// A clerk's request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvRequest {
    pub client: ClientId,
    pub seq: Seq,
    pub op: KvOp,
}

/// A server's answer to a clerk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvReply {
    /// A Get's value ("" for a key never written: the lab's ErrNoKey).
    Value(String),
    /// A Put took effect.
    Done,
    /// An Append took effect, replacing `old` (as kvraft's Append answers).
    Appended {
        old: String,
    },
    /// This group does not serve the key's shard now (`ErrWrongGroup`).
    WrongGroup,
    /// The request is older than the newest write applied for its client.
    Stale,
    WrongLeader,
    Timeout,
}

/// What a clerk operation returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Value(String),
    Done,
    Appended { old: String },
}

/// The newest write applied for a client in one shard, with what it returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastWrite {
    pub seq: Seq,
    /// The value an Append replaced; `None` after a Put.
    pub old: Option<String>,
}

impl LastWrite {
    pub(crate) fn reply(&self) -> KvReply {
        match &self.old {
            Some(old) => KvReply::Appended { old: old.clone() },
            None => KvReply::Done,
        }
    }
}

/// One shard's contents: its keys and its duplicate table, which travel together.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardData {
    pub store: BTreeMap<String, String>,
    pub dups: BTreeMap<ClientId, LastWrite>,
}

impl ShardData {
    /// Bytes of keys and values (for the garbage-collection figures).
    pub fn bytes(&self) -> usize {
        self.store.iter().map(|(k, v)| k.len() + v.len()).sum()
    }
}

/// A shard handed from the group that lost it in config `config` to the group that gained it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardPush {
    pub config: u64,
    pub shard: Shard,
    pub data: ShardData,
}

/// The receiving group's answer to a push.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PushReply {
    /// The shard is installed (now or before): the sender may delete its copy.
    Installed,
    /// The receiver has not reached the config yet; push again later.
    NotYet,
    WrongLeader,
    Timeout,
}

impl From<Rejection> for KvReply {
    fn from(why: Rejection) -> KvReply {
        match why {
            Rejection::WrongLeader => KvReply::WrongLeader,
            Rejection::Timeout => KvReply::Timeout,
        }
    }
}

impl From<Rejection> for PushReply {
    fn from(why: Rejection) -> PushReply {
        match why {
            Rejection::WrongLeader => PushReply::WrongLeader,
            Rejection::Timeout => PushReply::Timeout,
        }
    }
}

/// An entry of a group's Raft log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Client(KvRequest),
    /// Move to this config (applied only if it is the next one).
    Config(Config),
    /// Install a shard received for `config`.
    Install(ShardPush),
    /// The receiver of a shard lost in `config` installed it: drop the copy.
    Delete {
        config: u64,
        shard: Shard,
    },
    /// A new leader's first entry: Raft commits entries of earlier terms only with one of its
    /// own term, and a group whose clerks are all told `WrongGroup` proposes nothing else.
    Noop,
}
