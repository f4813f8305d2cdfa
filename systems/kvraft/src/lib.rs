//! `kvraft`: a key/value service replicated with [`raft`] (lab 4A/4B), as deterministic sans-IO
//! state machines: the [`KvServer`] that embeds a Raft node, and the [`Clerk`] that finds the leader.
//!
//! # How an operation goes
//! 1. A clerk sends a [`Request`] (its [`ClientId`], a fresh sequence number and the [`Op`]) to the
//!    server it believes leads. A server that is not the leader answers [`Reply::WrongLeader`]; the
//!    clerk then tries the next server, and after a full round without success it backs off briefly.
//! 2. The leader proposes the request as a log entry and remembers the call under the entry's index.
//! 3. When the entry is applied (on every server, in log order) the operation executes (an Append
//!    computes the value it replaces at this point). **Gets go
//!    through the log too**, so a read is ordered with every write: a deposed leader that still
//!    believes it leads cannot answer from stale state, because its entry never commits.
//! 4. The server that holds the call answers it if the entry applied at that index is the same
//!    request; if another entry took the index (leadership changed), or the term moved on, or the
//!    entry did not commit within [`raft::rsm::RsmConfig::op_timeout`], it answers
//!    `WrongLeader`/`Timeout` and the clerk retries elsewhere.
//!
//! # Append returns the previous value
//! Unlike the lab's kvraft, whose Append returns nothing, an Append here answers
//! [`Reply::Appended`] with the value it replaced, as kvsrv's Append does. The reason is the
//! checker: an Append with no output can sit anywhere among the writes to its key that overlap it,
//! so a history of many concurrent Appends to one key (TestUnreliableOneKey4A) leaves the checker
//! to search their orders, and it runs out of time. The old value says where the Append took
//! effect, which makes such histories decidable.
//!
//! # At most once
//! A clerk has one operation outstanding, so the largest sequence number applied for a client
//! identifies everything it has done. A write whose `(client, seq)` is not newer than that is a
//! retransmission and is not executed again; the retransmission of the newest write gets that
//! write's reply again (for an Append, the same old value), so the table keeps, per client, the
//! newest write's sequence number and reply ([`LastWrite`]), and only that one. This duplicate
//! table is part of the replicated state: every server builds it by applying the log, and it travels
//! in snapshots.
//!
//! # Snapshots
//! With `maxraftstate` set, after applying, a server whose persisted Raft state has reached that
//! many bytes hands Raft a snapshot of the store, the duplicate table and the applied index, and Raft
//! discards the log prefix. A restarted server restores the snapshot from its persister; a lagging
//! one gets it from the leader (`InstallSnapshot`) as an [`raft::ApplyMsg::Snapshot`].
//!
//! # Example
//! ```
//! use kvraft::{Config, Input, KvServer, Op, Output, Reply, Request};
//! use rand::SeedableRng;
//!
//! // A single server is its own majority.
//! let rng = Box::new(rand_chacha::ChaCha8Rng::seed_from_u64(1));
//! let mut s = KvServer::new(Config::new(0, 1), 0, rng);
//! let mut out = Vec::new();
//! let t = s.next_deadline();
//! s.step(t, Input::Tick, &mut out);
//! assert!(s.is_leader());
//! let put = Request { client: 9, seq: 1, op: Op::Put { key: "k".into(), value: "v".into() } };
//! s.step(t, Input::Request { token: 1, req: put }, &mut out);
//! let t = s.next_deadline();
//! s.step(t, Input::Tick, &mut out); // replicate (to nobody) and commit
//! assert!(out.iter().any(|o| *o == Output::Reply { token: 1, reply: Reply::Done }));
//! assert_eq!(s.value("k"), "v");
//!
//! // An Append answers with the value it replaced.
//! let append = Request { client: 9, seq: 2, op: Op::Append { key: "k".into(), value: "w".into() } };
//! s.step(t, Input::Request { token: 2, req: append }, &mut out);
//! let t = s.next_deadline();
//! s.step(t, Input::Tick, &mut out);
//! let old = Reply::Appended { old: "v".into() };
//! assert!(out.iter().any(|o| *o == Output::Reply { token: 2, reply: old.clone() }));
//! assert_eq!(s.value("k"), "vw");
//! ```
//!
//! # Modules
//! - `message`: [`Request`], [`Reply`], [`Op`] and the log [`Command`].
//! - `server`: [`KvServer`]: [`Input`] in, [`Output`] out; its state machine [`KvState`] (the
//!   store and the duplicate table) on a [`raft::rsm::Rsm`], which does steps 2 and 4 and the
//!   snapshots.
//! - `clerk`: [`Clerk`], on [`raft::rsm::Retry`].

mod clerk;
mod message;
mod server;

pub use clerk::{Clerk, Step};
pub use message::{ClientId, Command, Op, Outcome, Reply, Request, Seq};
pub use server::{Config, Input, KvServer, KvState, LastWrite, Mutation, Output, RestoreError};
