//! Requests, replies, and the command a request becomes in the Raft log.
//!
//! An Append answers with the value it replaced ([`Reply::Appended`]), as kvsrv's does; the lab's
//! kvraft Append returns nothing. The old value pins where the Append took effect among the writes
//! to its key, so a checker can verify a history of concurrent Appends instead of searching for
//! their order (see the crate documentation).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A clerk's identity (62 random bits, drawn by whoever builds the clerk).
pub type ClientId = u64;
/// A clerk's operation counter; its first operation has sequence number 1.
pub type Seq = u64;

/// What a clerk asks for.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Get {
        key: String,
    },
    Put {
        key: String,
        value: String,
    },
    Append {
        key: String,
        value: String,
    },
    /// Compare-and-set: if `key` holds `from`, it becomes `to`. A key never written holds "", so
    /// `from: ""` never matches an absent key (a driver that stores non-empty encodings, such as
    /// JSON, can tell "absent" from any value it wrote). Not offered by the lab's [`crate::Clerk`]
    /// (its [`Outcome`] has no failed cas); real drivers such as `quill node kvraft` use it.
    Cas {
        key: String,
        from: String,
        to: String,
    },
}

/// A clerk's request; also the command stored in the log ([`Command`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub client: ClientId,
    pub seq: Seq,
    pub op: Op,
}

/// The log entry of a request.
pub type Command = Request;

/// A server's answer. Not being the leader is an outcome of the protocol, hence a value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// A Get's value ("" for a key never written).
    Value(String),
    /// A Put took effect.
    Done,
    /// An Append took effect; `old` is the value it replaced ("" for a key never written).
    Appended { old: String },
    /// A Cas did not take effect: `current` is what the key held ("" for a key never written).
    CasFailed { current: String },
    /// The request is older than the newest write applied for its client: the client has already
    /// moved on, so nobody waits for this reply (and the old value it would need is gone).
    Stale,
    /// This server cannot commit the request (it is not the leader, or lost leadership).
    WrongLeader,
    /// The request did not commit in time; the clerk should try elsewhere.
    Timeout,
}

/// What the user of a clerk gets back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A Get's value.
    Value(String),
    /// A Put took effect.
    Done,
    /// An Append took effect, replacing `old`.
    Appended { old: String },
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Get { key } => write!(f, "Get({key:?})"),
            Op::Put { key, value } => write!(f, "Put({key:?}, {value:?})"),
            Op::Append { key, value } => write!(f, "Append({key:?}, {value:?})"),
            Op::Cas { key, from, to } => write!(f, "Cas({key:?}, {from:?} -> {to:?})"),
        }
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}#{} {:?}", self.client, self.seq, self.op)
    }
}
