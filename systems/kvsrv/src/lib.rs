//! `kvsrv`: the single key/value server of the 2024 lab 2, and the clerk that talks to it, as
//! deterministic sans-IO state machines.
//!
//! The server keeps a map from keys to values and executes `Get`, `Put` and `Append` (which
//! returns the value it replaced). The network may drop requests and replies, so a clerk retries
//! until it hears back; the server makes the retried `Put`s and `Append`s execute **at most once**:
//! - each clerk has a random 62-bit [`ClientId`] and numbers its writes `1, 2, ...` ([`Seq`]);
//!   it has at most one operation outstanding, so a request with a new sequence number tells the
//!   server that the client saw the reply to its previous one;
//! - the server therefore keeps, per client, the last sequence number it executed and, for an
//!   `Append`, the old value it returned, and frees that cached value as soon as the next write of
//!   the same client arrives. A `Put` caches no value at all;
//! - `Get` is idempotent: a retried `Get` simply reads again (every attempt falls inside the
//!   operation's interval, so any of the answers is linearizable), and Gets keep no per-client state.
//!
//! Nothing here reads a clock, sends a message or draws randomness: the server is a function
//! from a [`Request`] to a [`Reply`], and the clerk turns replies (or their absence) into the next
//! request to send. A driver (the simulator in `harness`, or a real RPC layer) moves the bytes.
//!
//! # Example
//! ```
//! use kvsrv::{Clerk, Config, Op, Outcome, Server, Step};
//!
//! let mut server = Server::new(Config::default());
//! let mut clerk = Clerk::new(42);
//! let req = clerk.begin(Op::Append { key: "k".into(), value: "a".into() });
//! // The first reply is lost: the clerk sends the same request again...
//! let _lost = server.handle(req.clone());
//! let Step::Send(again) = clerk.on_reply(None) else { unreachable!() };
//! assert_eq!(again, req);
//! // ...and the server answers from its cache instead of appending twice.
//! let Step::Done(outcome) = clerk.on_reply(Some(server.handle(again))) else { unreachable!() };
//! assert_eq!(outcome, Outcome::Appended { old: "".into() });
//! assert_eq!(server.value("k"), "a");
//! ```
//!
//! # Modules
//! - `message`: [`Request`], [`Reply`] and the clerk-facing [`Op`] and [`Outcome`].
//! - `server`: [`Server`], its duplicate table and its exact accounting of retained heap bytes.
//! - `clerk`: [`Clerk`], the retrying client.

mod clerk;
mod message;
mod server;

pub use clerk::{Clerk, Step};
pub use message::{ClientId, Op, Outcome, Reply, Request, Seq};
pub use server::{Config, Mutation, Server};
