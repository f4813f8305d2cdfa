//! kvraft (4A/4B) in virtual time: [`kvraft::KvServer`]s and one host per clerk on the labrpc
//! network of [`sim`], mirroring `src/kvraft/config.go`, and the lab's 23 tests as scenarios (then the `Nemesis*`
//! scenarios, [`crate::nemesis`]), with every client history checked and the Raft safety
//! invariants checked on every server.

mod host;
mod nemesis_scenarios;
mod scenarios;
mod world;

pub use host::{ClerkHost, Done, Host, Msg, ServerHost};
pub use scenarios::catalog;
pub use world::{run_world, KvraftLab, World, ELECTION_TIMEOUT, FAST_POLL_MS, POLL_MS};
