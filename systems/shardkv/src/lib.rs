//! `shardkv`: the sharded key/value service of lab 5B (and both challenges) as deterministic
//! sans-IO state machines: replica groups, each a Raft group of [`ShardServer`]s, serving the
//! shards that the controller ([`shardctrler`]) assigns them, and the [`Clerk`] that routes by
//! config.
//!
//! # Guarantees
//! - Every Get, Put and Append is linearizable: each goes through the owning group's log, and the
//!   group checks at apply time that it serves the key's shard in its current config.
//! - At most once, across migration: each shard carries its own duplicate table (per client, the
//!   newest write and what it returned); the table moves with the shard's keys.
//! - Configs apply one at a time and in order; a lost shard stops being served the moment the
//!   config that loses it applies; a gained shard is served once its data is installed; shards
//!   not affected by a change are served throughout (challenge 2); a shard's old copy is deleted
//!   once its new owner has it (challenge 1). See `state` and `server` for the protocol.
//! - With `maxraftstate`, each server snapshots (the group state: config, shards, their tables) when
//!   its Raft state grows past it.
//!
//! As in kvraft, an Append answers with the value it replaced, so histories of concurrent Appends
//! can be checked.
//!
//! # Modules
//! - `message`: [`key2shard`], clerk requests, [`ShardPush`], the log [`Command`].
//! - `state`: [`GroupState`], the replicated state machine of a group.
//! - `server`: [`ShardServer`]: inputs in, outputs out.
//! - `clerk`: [`Clerk`].
//!
//! # Example: which shard, and so which group, serves a key
//! ```
//! use shardkv::key2shard;
//! // As in the lab, a key's shard is its first byte modulo the number of shards.
//! assert_eq!(key2shard("apple"), usize::from(b'a') % shardctrler::NSHARDS);
//! assert_eq!(key2shard("apple"), key2shard("avocado"));
//! assert_eq!(key2shard(""), 0);
//! ```

mod clerk;
mod message;
mod server;
mod state;

pub use clerk::{Clerk, Step, RETRY_MS};
pub use message::{
    key2shard, ClientId, Command, Gid, KvOp, KvReply, KvRequest, LastWrite, Outcome, PushReply,
    Seq, Shard, ShardData, ShardPush,
};
pub use server::{Config, Input, Mutation, Output, ShardServer, POLL_MS, PUSH_MS};
pub use state::{Applied, GroupState, Slot, Status};
