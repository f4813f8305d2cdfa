//! The kvraft catalog (4A/4B): every scenario passes with a linearizable history, and the figures
//! the Go tests assert on are where they should be.

use labs::runner::{find_catalog, run_guarded, trace_hash, RunOptions};

use super::passes_linearizable;

#[test]
fn part_4a_reliable() {
    for name in [
        "TestBasic4A",
        "TestConcurrent4A",
        "TestPersistOneClient4A",
        "TestPersistConcurrent4A",
    ] {
        passes_linearizable("kvraft", name, 1..=1);
    }
}

#[test]
fn part_4a_unreliable() {
    for name in ["TestUnreliable4A", "TestPersistConcurrentUnreliable4A"] {
        passes_linearizable("kvraft", name, 1..=2);
    }
}

#[test]
fn part_4a_partitions() {
    for name in [
        "TestOnePartition4A",
        "TestManyPartitionsOneClient4A",
        "TestManyPartitionsManyClients4A",
        "TestPersistPartition4A",
        "TestPersistPartitionUnreliable4A",
    ] {
        passes_linearizable("kvraft", name, 1..=1);
    }
}

#[test]
fn part_4a_linearizable_15_clients_7_servers() {
    for o in passes_linearizable(
        "kvraft",
        "TestPersistPartitionUnreliableLinearizable4A",
        1..=1,
    ) {
        assert_eq!(o.stats.peers, 7);
    }
}

#[test]
fn speed_is_under_a_third_of_a_heartbeat_per_op() {
    for name in ["TestSpeed4A", "TestSpeed4B"] {
        for o in passes_linearizable("kvraft", name, 1..=2) {
            // 1000 appends and two gets, in virtual time well inside 1000 x 33 ms.
            assert_eq!(o.stats.commands, 1002);
            assert!(
                o.stats.virtual_ms < 33_000,
                "{name} took {} ms",
                o.stats.virtual_ms
            );
        }
    }
}

#[test]
fn part_4b_snapshots() {
    for name in [
        "TestSnapshotRPC4B",
        "TestSnapshotSize4B",
        "TestSnapshotRecover4B",
        "TestSnapshotRecoverManyClients4B",
    ] {
        passes_linearizable("kvraft", name, 1..=1);
    }
}

#[test]
fn part_4b_unreliable() {
    for name in [
        "TestSnapshotUnreliable4B",
        "TestSnapshotUnreliableRecover4B",
        "TestSnapshotUnreliableRecoverConcurrentPartition4B",
        "TestSnapshotUnreliableRecoverConcurrentPartitionLinearizable4B",
    ] {
        passes_linearizable("kvraft", name, 1..=1);
    }
}

/// Five clients appending to one key: each Append is recorded with the value it replaced, which
/// fixes the order of the 50 appends, so the history is decided (Ok) rather than left Unknown by a
/// search through their interleavings, and the run carries no warning.
#[test]
fn unreliable_one_key_is_decided() {
    for o in passes_linearizable("kvraft", "TestUnreliableOneKey4A", 1..=3) {
        assert!(o.warnings.is_empty(), "{:?}", o.warnings);
        // The setup Put, 5 x 10 Appends and the final Get.
        assert_eq!(o.stats.commands, 52);
    }
}

#[test]
fn the_catalog_has_the_23_go_tests() {
    let mut c = find_catalog("kvraft").unwrap();
    // The Nemesis* scenarios come after the lab's own.
    c.scenarios.retain(|s| !s.name.starts_with("Nemesis"));
    assert_eq!(c.scenarios.len(), 23);
    assert_eq!(
        c.scenarios
            .iter()
            .filter(|s| s.name.ends_with("4A"))
            .count(),
        14
    );
    assert_eq!(
        c.scenarios
            .iter()
            .filter(|s| s.name.ends_with("4B"))
            .count(),
        9
    );
}

#[test]
fn same_seed_same_trace() {
    let s = super::scenario("kvraft", "TestOnePartition4A");
    let a = run_guarded(
        &s,
        5,
        &RunOptions {
            trace: true,
            ..RunOptions::default()
        },
    );
    let b = run_guarded(
        &s,
        5,
        &RunOptions {
            trace: true,
            ..RunOptions::default()
        },
    );
    let (ta, tb) = (a.trace.unwrap(), b.trace.unwrap());
    assert!(ta.lines().count() > 100);
    assert_eq!(trace_hash(&ta), trace_hash(&tb));
}
