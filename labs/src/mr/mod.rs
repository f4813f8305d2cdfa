//! MapReduce (lab 1) in virtual time: the coordinator and workers of [`mapreduce`] on the
//! simulator, sharing a simulated directory, and the seven tests of `test-mr.sh` as scenarios.
//!
//! - [`fs`]: the simulated directory, with whole-file writes, atomic renames and the check that a
//!   final file never changes.
//! - [`host`]: the coordinator and worker host adapters (needs into effects, virtual time,
//!   simulated pids).
//! - [`world`]: one run: hosts, books, references, invariants after every event, time limits.
//! - [`scenarios`]: the seven tests and the catalog (`quill test mr`).
//!
//! Applications that sleep, look at pids or crash see virtual time, simulated pids and the run's
//! seeded RNG, so the parallelism, job-count, early-exit and crash tests are deterministic: a seed
//! replays a run event for event.

pub mod fs;
pub mod host;
pub mod scenarios;
pub mod world;

pub use scenarios::catalog;
