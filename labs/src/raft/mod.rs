//! The Raft lab (3A-3D) on the simulator: [`RaftHost`] runs a [`raft::Raft`] on a simulated host,
//! [`Cluster`] is raft/config.go in virtual time with the safety invariants checked after every
//! event, and [`catalog`] lists the 28 tests of the lab as named scenarios, then the `Nemesis*` scenarios
//! (a fault schedule drawn per seed, [`crate::nemesis`]).
//!
//! ```
//! use labs::raft::catalog;
//! use labs::runner::RunOptions;
//!
//! let scenario = catalog().scenarios.into_iter().find(|s| s.name == "TestInitialElection3A").unwrap();
//! let outcome = (scenario.run)(42, &RunOptions::default());
//! assert!(outcome.passed(), "{:?}", outcome.failure);
//! ```

mod host;
mod invariants;
mod liveness;
mod nemesis_scenarios;
mod scenarios;
mod seen;
mod world;

pub use host::{perform_output, perform_outputs, RaftHost};
pub use invariants::{Invariants, Observed};
pub use liveness::{talking_majority, Liveness, LEADER_BOUND, MAX_LEADERLESS_ELECTIONS};
pub use scenarios::catalog;
pub use seen::{message_term, Seen, TimerReset};
pub use world::{
    cmd, cmd_value, describe, run_cluster, show, Cluster, Cmd, RaftLab, ELECTION_TIMEOUT,
    MAX_LOG_SIZE, SNAPSHOT_INTERVAL, TEST_TIME_LIMIT,
};
