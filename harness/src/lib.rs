//! The Quill harness: a deterministic network simulator with the 6.824 fault model, the lab test catalog as
//! scenarios, client history recording and checking, and the stress runner behind `quill test`.
//!
//! # Modules
//! - [`sim`]: the discrete-event simulator (virtual time, labrpc network semantics, crash/restart
//!   with persisters) and [`sim::exec`], virtual-time tasks for test scripts.
//! - [`raft`]: the Raft lab (3A-3D): a cluster mirroring raft/config.go, safety invariants checked
//!   after every event, and the 28 lab tests as named scenarios.
//! - [`kv`]: the key/value labs (kvsrv, kvraft 4A/4B) with every client history checked for
//!   linearizability.
//! - [`runner`]: the scenario registry ([`runner::Catalog`]) and the multi-seed parallel runner.
//!
//! # Example: run one Raft scenario for one seed
//! ```
//! let catalog = harness::runner::find_catalog("raft").unwrap();
//! let s = catalog.scenarios.iter().find(|s| s.name == "TestBasicAgree3B").unwrap();
//! let outcome = harness::runner::run_guarded(s, 7, &harness::runner::RunOptions::default());
//! assert!(outcome.passed());
//! assert_eq!(outcome.stats.commands, 3);
//! ```

pub mod kv;
pub mod raft;
pub mod runner;
pub mod sim;
