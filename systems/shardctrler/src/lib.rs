//! `shardctrler`: the shard controller of lab 5A, a configuration service replicated with
//! [`raft`], as deterministic sans-IO state machines.
//!
//! # Semantics
//! The service keeps a numbered sequence of [`Config`]s. Config 0 has no groups and every shard on
//! gid 0. Each [`CtrlOp::Join`] (add groups), [`CtrlOp::Leave`] (remove groups) and
//! [`CtrlOp::Move`] (one shard to one group) appends config `Num + 1`; Join and Leave rebalance
//! with [`rebalance`] (deterministic, max - min <= 1, fewest moves), Move does not (a later Join or
//! Leave may undo it). [`CtrlOp::Query`]`(num)` returns config `num`, or the latest for -1 or a
//! number past the end; it goes through the log, so it reflects every completed operation.
//! Writes are executed at most once per `(client, seq)`.
//!
//! [`Mutation`] puts a known bug back for the harness's mutant catalog (off by default).
//!
//! # Pieces
//! - `config`: [`Config`], [`NSHARDS`], [`rebalance`].
//! - `server`: [`CtrlServer`] and its state machine [`Configs`], on [`raft::rsm::Rsm`] (proposals,
//!   pending callers, apply loop, snapshots past `maxraftstate`), as kvraft's and shardkv's servers.
//! - `clerk`: [`CtrlClerk`], which finds the leader with [`raft::rsm::Retry`].
//!
//! # Example
//! ```
//! use shardctrler::{CtrlOp, CtrlReply, CtrlRequest, CtrlServer, Input, Output, RsmConfig};
//! use rand::SeedableRng;
//!
//! let rng = Box::new(rand_chacha::ChaCha8Rng::seed_from_u64(1));
//! let mut s = CtrlServer::new(RsmConfig::new(0, 1), 0, rng);
//! let mut out = Vec::new();
//! let t = s.next_deadline();
//! s.step(t, Input::Tick, &mut out); // a one-server cluster elects itself
//! let join = CtrlOp::Join { groups: [(7, vec!["a".to_string()])].into() };
//! s.step(t, Input::Request { token: 1, req: CtrlRequest { client: 1, seq: 1, op: join } }, &mut out);
//! let t = s.next_deadline();
//! s.step(t, Input::Tick, &mut out);
//! assert!(out.contains(&Output::Reply { token: 1, reply: CtrlReply::Ok }));
//! assert_eq!(s.configs().latest().shards, [7; 10]);
//! ```

mod clerk;
mod config;
mod message;
mod server;

pub use clerk::{CtrlClerk, CtrlOutcome, CtrlStep, BACKOFF_MS};
pub use config::{rebalance, Config, Gid, NSHARDS};
pub use message::{ClientId, CtrlOp, CtrlReply, CtrlRequest, Seq};
// Re-exported for the users of the controller's configuration and restore API.
pub use raft::rsm::{RestoreError, RsmConfig};
pub use server::{Configs, CtrlServer, Input, Mutation, Output};
