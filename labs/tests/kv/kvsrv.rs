//! The kvsrv catalog (2024 lab 2): every scenario passes with a linearizable history.

use super::passes_linearizable;
use labs::runner::{find_catalog, run_guarded, trace_hash, RunOptions};

#[test]
fn basic_and_concurrent() {
    for name in ["TestBasic2", "TestConcurrent2"] {
        for o in passes_linearizable("kvsrv", name, 1..=2) {
            // Three 1 s iterations of virtual time, as in the Go test.
            assert!(
                o.stats.virtual_ms >= 3000,
                "{name} ran {} ms",
                o.stats.virtual_ms
            );
        }
    }
}

#[test]
fn unreliable() {
    for o in passes_linearizable("kvsrv", "TestUnreliable2", 1..=3) {
        // Drops happened: more RPCs than operations.
        assert!(
            o.stats.rpcs > o.stats.commands,
            "rpcs {} ops {}",
            o.stats.rpcs,
            o.stats.commands
        );
    }
    passes_linearizable("kvsrv", "TestUnreliableOneKey2", 1..=3);
}

#[test]
fn memory_scenarios() {
    for name in [
        "TestMemGet2",
        "TestMemPut2",
        "TestMemAppend2",
        "TestMemManyAppends",
    ] {
        passes_linearizable("kvsrv", name, 1..=1);
    }
}

#[test]
fn memory_many_clients() {
    for name in ["TestMemPutManyClients", "TestMemGetManyClients"] {
        let o = &passes_linearizable("kvsrv", name, 1..=1)[0];
        assert!(
            o.stats.commands >= 100_000,
            "{name}: {} operations",
            o.stats.commands
        );
    }
}

#[test]
fn the_catalog_has_the_ten_go_tests() {
    let names: Vec<&str> = find_catalog("kvsrv")
        .unwrap()
        .scenarios
        .iter()
        .map(|s| s.name)
        // The Nemesis* scenarios come after the lab's own.
        .filter(|n| !n.starts_with("Nemesis"))
        .collect();
    assert_eq!(
        names,
        [
            "TestBasic2",
            "TestConcurrent2",
            "TestUnreliable2",
            "TestUnreliableOneKey2",
            "TestMemGet2",
            "TestMemPut2",
            "TestMemAppend2",
            "TestMemPutManyClients",
            "TestMemGetManyClients",
            "TestMemManyAppends"
        ]
    );
}

#[test]
fn same_seed_same_trace() {
    let s = super::scenario("kvsrv", "TestUnreliable2");
    let a = run_guarded(
        &s,
        11,
        &RunOptions {
            trace: true,
            ..RunOptions::default()
        },
    );
    let b = run_guarded(
        &s,
        11,
        &RunOptions {
            trace: true,
            ..RunOptions::default()
        },
    );
    let (ta, tb) = (a.trace.unwrap(), b.trace.unwrap());
    assert!(ta.lines().count() > 100);
    assert_eq!(trace_hash(&ta), trace_hash(&tb));
    let c = run_guarded(
        &s,
        12,
        &RunOptions {
            trace: true,
            ..RunOptions::default()
        },
    );
    assert_ne!(
        trace_hash(&ta),
        trace_hash(&c.trace.unwrap()),
        "the seed changes nothing"
    );
}
