//! The lab catalogs of MIT 6.824/6.5840 as deterministic scenarios on the [`sim`] simulator: client
//! history recording and checking, and the stress runner behind `quill test`.
//!
//! # Modules
//! - [`raft`]: the Raft lab (3A-3D): a cluster mirroring raft/config.go, safety invariants checked
//!   after every event, and the 28 lab tests as named scenarios.
//! - [`kv`]: the key/value labs (kvsrv, kvraft 4A/4B) with every client history checked for
//!   linearizability.
//! - [`mr`]: MapReduce (lab 1): coordinator and workers sharing a simulated directory, the seven
//!   tests of `test-mr.sh`, invariants after every event.
//! - [`shardctrler`], [`shardkv`]: the sharded key/value labs (5A, 5B, both challenges), with the
//!   client and controller histories checked and shard ownership checked after every event.
//! - [`nemesis`]: fault schedules drawn per seed (swarm testing) for the `Nemesis*` scenarios.
//! - [`runner`]: the scenario registry ([`runner::Catalog`]) and the multi-seed parallel runner.
//! - [`mutants`], [`hunt`]: the catalog of known bugs and the hunt behind `quill mutants` (how many
//!   seeds and how long until each is caught).
//!
//! # Example: run one Raft scenario for one seed
//! ```
//! let catalog = labs::runner::find_catalog("raft").unwrap();
//! let s = catalog.scenarios.iter().find(|s| s.name == "TestBasicAgree3B").unwrap();
//! let outcome = labs::runner::run_guarded(s, 7, &labs::runner::RunOptions::default());
//! assert!(outcome.passed());
//! assert_eq!(outcome.stats.commands, 3);
//! ```

pub mod failure;
pub mod fault;
pub mod history;
pub mod hunt;
pub mod kv;
pub mod kvraft;
pub mod kvsrv;
pub mod mr;
pub mod mutants;
pub mod nemesis;
pub mod raft;
pub mod run;
pub mod runner;
pub mod shardctrler;
pub mod shardkv;
