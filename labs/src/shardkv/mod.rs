//! The sharded key/value lab (5A's static tests, 5B and both challenges) under the simulator, and
//! the hosts and world it shares with the shardctrler lab ([`crate::shardctrler`]).
//!
//! - `host`: the processes (controller servers, shardkv servers, clerks) on one network.
//! - `world`: config.go's API, the per-event invariants, both histories and their checks.
//! - `scenarios`: `src/shardkv/test_test.go` (2024) as scenarios.

mod host;
mod scenarios;
mod world;

pub use scenarios::catalog;
pub use world::{
    check_ctrl_history, ctrl_history_json, CtrlChecked, Setup, ShardLab, World, POLL_MS,
};
