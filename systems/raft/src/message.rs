//! The RPCs of Figure 2 and section 7 of the extended Raft paper, plus the inputs and outputs of a node.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A peer's index in the cluster, `0..peers`.
pub type NodeId = usize;
/// A Raft term; 0 before the first election.
pub type Term = u64;
/// A log index; the first entry has index 1, index 0 is the empty prefix.
pub type Index = u64;

/// One log entry: the term in which a leader created it and the service's opaque command.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub term: Term,
    pub command: Vec<u8>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}:{}B", self.term, self.command.len())
    }
}

/// RequestVote arguments (Figure 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVote {
    pub term: Term,
    pub candidate: NodeId,
    pub last_log_index: Index,
    pub last_log_term: Term,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVoteReply {
    pub term: Term,
    pub vote_granted: bool,
}

/// AppendEntries arguments (Figure 2).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntries {
    pub term: Term,
    pub leader: NodeId,
    pub prev_log_index: Index,
    pub prev_log_term: Term,
    pub entries: Vec<Entry>,
    pub leader_commit: Index,
}

/// AppendEntries result. Besides Figure 2's `term` and `success` it carries what the leader needs
/// without remembering the request: on success, the index up to which the follower's log now
/// matches; on a mismatch, the fast-backup hint of the 6.824 lab (`x_term`, `x_index`, `x_len`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntriesReply {
    pub term: Term,
    pub success: bool,
    /// On success: `prev_log_index + entries.len()`.
    pub match_index: Index,
    /// On a mismatch at `prev_log_index`: the term of the follower's entry there, or 0 if the
    /// follower's log is too short.
    pub x_term: Term,
    /// The first index of `x_term` in the follower's log (when `x_term != 0`).
    pub x_index: Index,
    /// The follower's last log index + 1, i.e. the next index it could accept.
    pub x_len: Index,
}

/// InstallSnapshot arguments (Figure 13), sent in one piece (no `offset`/`done` chunking).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshot {
    pub term: Term,
    pub leader: NodeId,
    pub last_included_index: Index,
    pub last_included_term: Term,
    pub data: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshotReply {
    pub term: Term,
    /// Echoes the request's `last_included_index` so the leader can update `matchIndex`.
    pub last_included_index: Index,
}

/// Everything peers send each other. Requests and replies share the type; a driver with
/// request/reply transport (labrpc) answers a request with the reply the node emits for it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    RequestVote(RequestVote),
    RequestVoteReply(RequestVoteReply),
    AppendEntries(AppendEntries),
    AppendEntriesReply(AppendEntriesReply),
    InstallSnapshot(InstallSnapshot),
    InstallSnapshotReply(InstallSnapshotReply),
}

impl Message {
    /// True for the three requests, false for replies.
    pub fn is_request(&self) -> bool {
        matches!(
            self,
            Message::RequestVote(_) | Message::AppendEntries(_) | Message::InstallSnapshot(_)
        )
    }

    /// The sender's term.
    pub fn term(&self) -> Term {
        match self {
            Message::RequestVote(m) => m.term,
            Message::RequestVoteReply(m) => m.term,
            Message::AppendEntries(m) => m.term,
            Message::AppendEntriesReply(m) => m.term,
            Message::InstallSnapshot(m) => m.term,
            Message::InstallSnapshotReply(m) => m.term,
        }
    }
}

// Compact forms: traces print one message per line, and commands can be kilobytes long.
impl fmt::Debug for AppendEntries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AppendEntries{{term:{} leader:{} prev:{}/t{} commit:{} entries:{}",
            self.term,
            self.leader,
            self.prev_log_index,
            self.prev_log_term,
            self.leader_commit,
            self.entries.len()
        )?;
        if let (Some(first), Some(last)) = (self.entries.first(), self.entries.last()) {
            write!(f, " [t{}..t{}]", first.term, last.term)?;
        }
        write!(f, "}}")
    }
}

impl fmt::Debug for InstallSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "InstallSnapshot{{term:{} leader:{} last:{}/t{} data:{}B}}",
            self.term,
            self.leader,
            self.last_included_index,
            self.last_included_term,
            self.data.len()
        )
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::RequestVote(m) => write!(
                f,
                "RequestVote{{term:{} cand:{} last:{}/t{}}}",
                m.term, m.candidate, m.last_log_index, m.last_log_term
            ),
            Message::RequestVoteReply(m) => write!(
                f,
                "RequestVoteReply{{term:{} granted:{}}}",
                m.term, m.vote_granted
            ),
            Message::AppendEntries(m) => m.fmt(f),
            Message::AppendEntriesReply(m) => {
                if m.success {
                    write!(
                        f,
                        "AppendEntriesReply{{term:{} ok match:{}}}",
                        m.term, m.match_index
                    )
                } else {
                    write!(
                        f,
                        "AppendEntriesReply{{term:{} reject xterm:{} xindex:{} xlen:{}}}",
                        m.term, m.x_term, m.x_index, m.x_len
                    )
                }
            }
            Message::InstallSnapshot(m) => m.fmt(f),
            Message::InstallSnapshotReply(m) => {
                write!(
                    f,
                    "InstallSnapshotReply{{term:{} last:{}}}",
                    m.term, m.last_included_index
                )
            }
        }
    }
}

/// What the service receives, in log order, exactly once per index (the lab's `ApplyMsg`).
#[derive(Clone, PartialEq, Eq)]
pub enum ApplyMsg {
    /// A committed command.
    Command {
        index: Index,
        term: Term,
        command: Vec<u8>,
    },
    /// A snapshot from the leader that replaces the service state up to and including `index`;
    /// the next command delivered is `index + 1`.
    Snapshot {
        index: Index,
        term: Term,
        data: Vec<u8>,
    },
}

impl fmt::Debug for ApplyMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyMsg::Command {
                index,
                term,
                command,
            } => write!(f, "Command{{{index}/t{term} {}B}}", command.len()),
            ApplyMsg::Snapshot { index, term, data } => {
                write!(f, "Snapshot{{{index}/t{term} {}B}}", data.len())
            }
        }
    }
}

/// An input to [`crate::Raft::step`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Time passed; fire the election or heartbeat timer if due.
    Tick,
    /// A message from a peer.
    Recv { from: NodeId, msg: Message },
    /// The service proposes a command (see [`crate::Raft::start`] for the synchronous result).
    Start(Vec<u8>),
    /// The service has a snapshot of everything up to and including `index` and no longer needs
    /// those log entries (the lab's `Snapshot(index, snapshot)`).
    Snapshot { index: Index, data: Vec<u8> },
}

/// An effect the driver must carry out, **in order**.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Make this durable before performing any later output of the same step: `state` is the
    /// encoded term, vote and log ([`crate::PersistentState`]); `snapshot` is `Some` when the
    /// snapshot changed and must be saved atomically with `state`, `None` to keep the saved one.
    Persist {
        state: Vec<u8>,
        snapshot: Option<Vec<u8>>,
    },
    /// Send `msg` to peer `to`. A reply to a request goes to the request's sender.
    Send { to: NodeId, msg: Message },
    /// Deliver to the service.
    Apply(ApplyMsg),
}
