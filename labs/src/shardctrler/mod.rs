//! The shard controller lab (5A's shardctrler tests) under the simulator: 3 controller servers on
//! a reliable network, the tester's clerks, and the lab's tests as scenarios. The hosts and the
//! world are shardkv's ([`crate::shardkv::World`] with no replica groups); every clerk operation
//! is recorded and the history checked with the `shard-config` model at the end of the run, on top
//! of the lab's own `check()` assertions.

mod scenarios;

pub use scenarios::catalog;
