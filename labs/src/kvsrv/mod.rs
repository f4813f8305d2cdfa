//! kvsrv (2024 lab 2) in virtual time: one [`kvsrv::Server`] host and one host carrying every
//! clerk on the labrpc network of [`sim`], and the lab's ten tests as scenarios (then the `Nemesis*`
//! scenarios: duplicated, delayed, dropped requests), every client history checked for
//! linearizability.

mod host;
mod nemesis_scenarios;
mod scenarios;
mod world;

pub use host::{ClerkPool, Done, Host, Msg};
pub use scenarios::catalog;
pub use world::{run_world, KvsrvLab, World, POLL_MS};
