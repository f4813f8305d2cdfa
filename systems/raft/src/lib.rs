//! A sans-IO Raft: the extended Raft paper's Figure 2 plus log compaction (section 7), as a
//! deterministic state machine. It reads no clock, spawns no thread, opens no socket and draws
//! randomness only from the RNG it is given, so the same inputs always give the same outputs.
//!
//! # Driving a node
//! A [`Raft`] is fed [`Input`]s with [`Raft::step`] together with the current (virtual) time in
//! milliseconds, and appends [`Output`]s that the driver must carry out **in order**:
//! - [`Output::Persist`] comes first in a step, at most once, and must be durable before any later
//!   output of that step is performed (before sending a vote or an AppendEntries reply that
//!   depends on it). It carries the encoded [`PersistentState`] (term, vote, log after the
//!   snapshot) and, when it changed, the snapshot; both must be saved atomically
//!   (`Persister.Save(raftstate, snapshot)` in the lab).
//! - [`Output::Send`] messages. Requests (`RequestVote`, `AppendEntries`, `InstallSnapshot`) go to
//!   peers; a reply is emitted in the same step as the request it answers, addressed to the
//!   request's sender, so an RPC transport can pair them. Lost messages need no notification:
//!   the leader re-sends on its next heartbeat and candidates retry at the next election timeout.
//! - [`Output::Apply`] delivers committed commands in index order, exactly once each, and
//!   snapshots received from a leader ([`ApplyMsg::Snapshot`] replaces the service state; the
//!   next command is its index + 1).
//!
//! After each step the driver schedules an [`Input::Tick`] at [`Raft::next_deadline`] (any later
//! tick also works; earlier ticks are harmless no-ops).
//!
//! # Service API (what kvraft embeds)
//! - [`Raft::start`]`(now, command, out) -> (index, term, is_leader)`: propose a command.
//! - [`Raft::state`]`() -> (term, is_leader)`.
//! - [`Raft::snapshot`]`(now, index, data, out)`: the service snapshotted through `index`; the
//!   log prefix is discarded and the snapshot persisted. Compare the length of the last
//!   `Persist { state, .. }` with `maxraftstate` to decide when.
//! - Restart with [`Raft::restore`]`(config, now, rng, state, snapshot)` from the persisted bytes;
//!   the service restores the snapshot itself (it is not re-applied).
//!
//! # Services on a node
//! [`rsm`] is that service API packaged once: [`rsm::Rsm`] runs a [`rsm::StateMachine`] on a
//! node (pending callers, the apply loop, snapshots), and [`rsm::Retry`] is its clerks' rotation
//! to the leader. kvraft, the shard controller and shardkv are built on it.
//!
//! # Example
//! ```
//! use raft::{Config, Input, Message, Output, Raft};
//! use rand::SeedableRng;
//!
//! let rng = || Box::new(rand_chacha::ChaCha8Rng::seed_from_u64(7));
//! let mut a = Raft::new(Config::new(0, 3), 0, rng());
//! let mut out = Vec::new();
//! // Nothing happens before the election timeout...
//! a.step(0, Input::Tick, &mut out);
//! assert!(out.is_empty());
//! // ...after it, node 0 persists its vote for itself and asks both peers.
//! a.step(a.next_deadline(), Input::Tick, &mut out);
//! assert!(matches!(out[0], Output::Persist { .. }));
//! assert!(matches!(out[1], Output::Send { to: 1, msg: Message::RequestVote(_) }));
//! assert_eq!(a.state(), (1, false));
//! ```
//!
//! # Modules
//! - `message`: the RPCs, [`Input`], [`Output`], [`ApplyMsg`].
//! - `node`: [`Raft`] itself: elections (5.2), replication with the lab's fast backup (5.3),
//!   the commit rule (5.4.2), snapshots and InstallSnapshot (7).
//! - `log`: the in-memory log with its snapshot base.

mod log;
mod message;
mod node;
pub mod rsm;

pub use message::{
    AppendEntries, AppendEntriesReply, ApplyMsg, Entry, Index, Input, InstallSnapshot,
    InstallSnapshotReply, Message, NodeId, Output, RequestVote, RequestVoteReply, Term,
};
pub use node::{Config, Mutation, PersistentState, Raft, Role};

/// Why persisted bytes could not be turned back into a node.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("cannot decode {len} bytes of persisted raft state")]
    Decode {
        len: usize,
        #[source]
        source: postcard::Error,
    },
    #[error("persisted vote for node {voted_for} but the cluster has {peers} peers")]
    BadVote { voted_for: NodeId, peers: usize },
}

/// Decodes the bytes of an [`Output::Persist`] state (useful to inspect a persister).
pub fn decode_state(bytes: &[u8]) -> Result<PersistentState, RestoreError> {
    postcard::from_bytes(bytes).map_err(|source| RestoreError::Decode {
        len: bytes.len(),
        source,
    })
}
