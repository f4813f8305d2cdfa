//! The lab's 23 tests (src/kvraft/test_test.go, 2024) as scenarios, 4A then 4B.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use sim::{HostId, Time};

use super::world::{run_world, World, ELECTION_TIMEOUT, POLL_MS};
use crate::failure::Failure;
use crate::kv::{append_value, check_clnt_appends, check_concurrent_appends, next_value};
use crate::runner::{Catalog, RunOptions, Scenario, ScenarioOutcome};

// ----- the tests (src/kvraft/test_test.go, 2024) -------------------------------------------------

type R = Result<(), Failure>;

/// The parameters of the Go `GenericTest`.
#[derive(Clone, Copy, Debug)]
struct Generic {
    nclients: usize,
    unreliable: bool,
    crash: bool,
    partitions: bool,
    maxraftstate: Option<usize>,
    randomkeys: bool,
}

/// `partitioner`: every second or so, split the servers into two random halves.
async fn partitioner(w: Rc<World>, stop: Rc<Cell<bool>>, finished: Rc<Cell<bool>>) {
    while !stop.get() {
        let n = w.n();
        let a: Vec<u64> = (0..n).map(|_| w.rand(2)).collect();
        let pa: Vec<Vec<HostId>> = (0..2)
            .map(|g| (0..n).filter(|&j| a[j] == g).collect())
            .collect();
        w.partition(&pa[0], &pa[1]);
        let ms = ELECTION_TIMEOUT + w.rand(200);
        w.sleep(ms).await;
    }
    finished.set(true);
}

/// `GenericTest`: 3 iterations of clients appending and getting for 5 s, with the faults the
/// parameters ask for, then checks of every client's appends and of the log and snapshot sizes.
async fn generic_test(w: Rc<World>, g: Generic) -> R {
    const NITER: usize = 3;
    let n = w.n();
    let ck = w.make_clerk(&w.all());
    for _ in 0..NITER {
        let stop_clients = Rc::new(Cell::new(false));
        let stop_partitioner = Rc::new(Cell::new(false));
        let partitioner_done = Rc::new(Cell::new(false));
        let counts: Rc<RefCell<Vec<Option<usize>>>> = Rc::new(RefCell::new(vec![None; g.nclients]));
        for cli in 0..g.nclients {
            let (w2, stop, counts) = (w.clone(), stop_clients.clone(), counts.clone());
            let myck = w.make_clerk(&w.all());
            w.spawn(async move {
                let w = w2;
                let mut j = 0;
                let mut last = String::new();
                if !g.randomkeys {
                    w.put(myck, &cli.to_string(), &last).await;
                }
                while !stop.get() {
                    let key = if g.randomkeys {
                        w.rand(g.nclients as u64).to_string()
                    } else {
                        cli.to_string()
                    };
                    let nv = append_value(cli, j);
                    if w.rand(1000) < 500 {
                        w.append(myck, &key, &nv).await;
                        if !g.randomkeys {
                            last = next_value(&last, &nv);
                        }
                        j += 1;
                    } else if g.randomkeys && w.rand(1000) < 100 {
                        w.put(myck, &key, &nv).await;
                        j += 1;
                    } else {
                        let v = w.get(myck, &key).await;
                        if !g.randomkeys && v != last {
                            return w.fail(format!(
                                "get wrong value, key {key}, wanted:\n{last}\n, got\n{v}"
                            ));
                        }
                    }
                }
                counts.borrow_mut()[cli] = Some(j);
            });
        }
        if g.partitions {
            // Allow the clients to perform some operations without interruption.
            w.sleep(1000).await;
            w.spawn(partitioner(
                w.clone(),
                stop_partitioner.clone(),
                partitioner_done.clone(),
            ));
        }
        w.sleep(5000).await;
        stop_clients.set(true);
        stop_partitioner.set(true);
        if g.partitions {
            while !partitioner_done.get() {
                w.sleep(POLL_MS).await;
            }
            // Reconnect the network and let any client with an outstanding request finish.
            w.connect_all();
            w.sleep(ELECTION_TIMEOUT).await;
        }
        if g.crash {
            for i in 0..n {
                w.shutdown_server(i);
            }
            // Wait for a while for servers to shut down, since shutdown isn't a real crash.
            w.sleep(ELECTION_TIMEOUT).await;
            for i in 0..n {
                w.start_server(i);
            }
            w.connect_all();
        }
        for i in 0..g.nclients {
            let j = loop {
                if let Some(j) = counts.borrow()[i] {
                    break j;
                }
                w.sleep(POLL_MS).await;
            };
            let v = w.get(ck, &i.to_string()).await;
            if !g.randomkeys {
                check_clnt_appends(i, &v, j).map_err(|e| Failure::assertion(e.to_string()))?;
            }
        }
        match g.maxraftstate {
            Some(max) => {
                let sz = w.log_size();
                if sz > 8 * max {
                    return Err(Failure::assertion(format!(
                        "logs were not trimmed ({sz} > 8*{max})"
                    )));
                }
            }
            None => {
                let ssz = w.snapshot_size();
                if ssz > 0 {
                    return Err(Failure::assertion(format!(
                        "snapshot too large ({ssz}), should not be used when maxraftstate = -1"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// `GenericTestSpeed`: after a leader is known, 1000 sequential appends, each within a third of a
/// heartbeat interval on average.
async fn speed_test(w: Rc<World>, maxraftstate: Option<usize>) -> R {
    const NUM_OPS: usize = 1000;
    const TIME_PER_OP: Time = 100 / 3;
    w.poll_fast();
    let ck = w.make_clerk(&w.all());
    // Wait until the first op completes, so we know a leader is elected.
    w.get(ck, "x").await;
    let start = w.now();
    for i in 0..NUM_OPS {
        w.append(ck, "x", &append_value(0, i)).await;
    }
    let dur = w.now() - start;
    let v = w.get(ck, "x").await;
    check_clnt_appends(0, &v, NUM_OPS).map_err(|e| Failure::assertion(e.to_string()))?;
    if dur > NUM_OPS as Time * TIME_PER_OP {
        return Err(Failure::assertion(format!(
            "Operations completed too slowly {} ms/op > {TIME_PER_OP} ms/op",
            dur / NUM_OPS as Time
        )));
    }
    if let Some(max) = maxraftstate {
        let sz = w.log_size();
        if sz > 8 * max {
            return Err(Failure::assertion(format!(
                "logs were not trimmed ({sz} > 8*{max})"
            )));
        }
    }
    Ok(())
}

/// TestUnreliableOneKey4A: 5 clients × 10 appends to one key on an unreliable network.
async fn unreliable_one_key(w: Rc<World>) -> R {
    const NCLIENT: usize = 5;
    const UPTO: usize = 10;
    let ck = w.make_clerk(&w.all());
    w.put(ck, "k", "").await;
    let finished = Rc::new(Cell::new(0));
    for me in 0..NCLIENT {
        let (w2, finished) = (w.clone(), finished.clone());
        let myck = w.make_clerk(&w.all());
        w.spawn(async move {
            for n in 0..UPTO {
                w2.append(myck, "k", &append_value(me, n)).await;
            }
            finished.set(finished.get() + 1);
        });
    }
    while finished.get() < NCLIENT {
        w.sleep(POLL_MS).await;
    }
    let vx = w.get(ck, "k").await;
    check_concurrent_appends(&vx, &[UPTO; NCLIENT]).map_err(|e| Failure::assertion(e.to_string()))
}

/// `make_partition()`: the leader and one other server in the minority.
fn make_partition(w: &World) -> (Vec<HostId>, Vec<HostId>) {
    let n = w.n();
    let l = w.leader().unwrap_or(0);
    let others: Vec<HostId> = (0..n).filter(|&i| i != l).collect();
    let p1 = others[..n / 2 + 1].to_vec();
    let mut p2 = others[n / 2 + 1..].to_vec();
    p2.push(l);
    (p1, p2)
}

/// TestOnePartition4A: progress in the majority, none in the minority, completion after heal.
async fn one_partition(w: Rc<World>) -> R {
    let ck = w.make_clerk(&w.all());
    w.put(ck, "1", "13").await;

    // Test: progress in majority (4A)
    let (p1, p2) = make_partition(&w);
    w.partition(&p1, &p2);
    let ckp1 = w.make_clerk(&p1);
    let ckp2a = w.make_clerk(&p2);
    let ckp2b = w.make_clerk(&p2);
    w.put(ckp1, "1", "14").await;
    w.check(ckp1, "1", "14").await?;

    // Test: no progress in minority (4A)
    let done0 = Rc::new(Cell::new(false));
    let done1 = Rc::new(Cell::new(false));
    {
        let (w2, d) = (w.clone(), done0.clone());
        w.spawn(async move {
            w2.put(ckp2a, "1", "15").await;
            d.set(true);
        });
        let (w2, d) = (w.clone(), done1.clone());
        w.spawn(async move {
            w2.get(ckp2b, "1").await; // different clerk in p2
            d.set(true);
        });
    }
    w.sleep(1000).await;
    if done0.get() {
        return Err(Failure::assertion("Put in minority completed"));
    }
    if done1.get() {
        return Err(Failure::assertion("Get in minority completed"));
    }
    w.check(ckp1, "1", "14").await?;
    w.put(ckp1, "1", "16").await;
    w.check(ckp1, "1", "16").await?;

    // Test: completion after heal (4A)
    w.connect_all();
    w.connect_client(ckp2a, &w.all());
    w.connect_client(ckp2b, &w.all());
    w.sleep(ELECTION_TIMEOUT).await;
    let t0 = w.now();
    while !done0.get() {
        if w.now() - t0 >= 30 * 100 {
            return Err(Failure::assertion("Put did not complete"));
        }
        w.sleep(POLL_MS).await;
    }
    // The Go test does not wait for the Get here (its select has a default case).
    w.check(ck, "1", "15").await
}

/// TestSnapshotRPC4B: a lagging server catches up by InstallSnapshot.
async fn snapshot_rpc(w: Rc<World>) -> R {
    const MAXRAFTSTATE: usize = 1000;
    let ck = w.make_clerk(&w.all());
    w.put(ck, "a", "A").await;
    w.check(ck, "a", "A").await?;
    // A bunch of puts into the majority partition.
    w.partition(&[0, 1], &[2]);
    {
        let ck1 = w.make_clerk(&[0, 1]);
        for i in 0..50 {
            w.put(ck1, &i.to_string(), &i.to_string()).await;
        }
        w.sleep(ELECTION_TIMEOUT).await;
        w.put(ck1, "b", "B").await;
    }
    // Check that the majority partition has thrown away most of its log entries.
    let sz = w.log_size();
    if sz > 8 * MAXRAFTSTATE {
        return Err(Failure::assertion(format!(
            "logs were not trimmed ({sz} > 8*{MAXRAFTSTATE})"
        )));
    }
    // Now make a group that requires participation of the lagging server, so it has to catch up.
    w.partition(&[0, 2], &[1]);
    {
        let ck1 = w.make_clerk(&[0, 2]);
        w.put(ck1, "c", "C").await;
        w.put(ck1, "d", "D").await;
        w.check(ck1, "a", "A").await?;
        w.check(ck1, "b", "B").await?;
        w.check(ck1, "1", "1").await?;
        w.check(ck1, "49", "49").await?;
    }
    // Now everybody.
    w.partition(&[0, 1, 2], &[]);
    w.put(ck, "e", "E").await;
    w.check(ck, "c", "C").await?;
    w.check(ck, "e", "E").await?;
    w.check(ck, "1", "1").await
}

/// TestSnapshotSize4B: 400 Puts and Gets on one key keep the Raft state and the snapshot small.
async fn snapshot_size(w: Rc<World>) -> R {
    const MAXRAFTSTATE: usize = 1000;
    const MAXSNAPSHOTSTATE: usize = 500;
    let ck = w.make_clerk(&w.all());
    for _ in 0..200 {
        w.put(ck, "x", "0").await;
        w.check(ck, "x", "0").await?;
        w.put(ck, "x", "1").await;
        w.check(ck, "x", "1").await?;
    }
    // Check that servers have thrown away most of their log entries.
    let sz = w.log_size();
    if sz > 8 * MAXRAFTSTATE {
        return Err(Failure::assertion(format!(
            "logs were not trimmed ({sz} > 8*{MAXRAFTSTATE})"
        )));
    }
    // Check that the snapshots are not unreasonably large.
    let ssz = w.snapshot_size();
    if ssz > MAXSNAPSHOTSTATE {
        return Err(Failure::assertion(format!(
            "snapshot too large ({ssz} > {MAXSNAPSHOTSTATE})"
        )));
    }
    Ok(())
}

fn generic(seed: u64, opts: &RunOptions, nservers: usize, g: Generic) -> ScenarioOutcome {
    run_world(seed, opts, nservers, g.unreliable, g.maxraftstate, |w| {
        generic_test(w, g)
    })
}

/// `GenericTest(part, nclients, nservers, unreliable, crash, partitions, maxraftstate, randomkeys)`
/// as a scenario; `maxraftstate` -1 is `None`.
macro_rules! generic {
    ($name:literal, $nclients:expr, $nservers:expr, $unreliable:expr, $crash:expr, $partitions:expr, $max:expr, $random:expr) => {
        Scenario {
            name: $name,
            run: |seed: u64, opts: &RunOptions| {
                let max: i64 = $max;
                let g = Generic {
                    nclients: $nclients,
                    unreliable: $unreliable,
                    crash: $crash,
                    partitions: $partitions,
                    maxraftstate: usize::try_from(max).ok(),
                    randomkeys: $random,
                };
                generic(seed, opts, $nservers, g)
            },
        }
    };
}

/// The kvraft catalog (4A then 4B), in the order of the Go test file, then the `Nemesis*`
/// scenarios (`nemesis_scenarios`).
pub fn catalog() -> Catalog {
    lab_catalog().followed_by(super::nemesis_scenarios::scenarios())
}

/// One row of the catalog table: `generic(nclients, nservers, unreliable, crash, partitions,
/// maxraftstate, randomkeys)` (see [`generic!`]) or `custom(nservers, unreliable, maxraftstate,
/// body)`.
macro_rules! scenarios {
    (@row $name:literal, generic($($args:expr),*)) => { generic!($name, $($args),*) };
    (@row $name:literal, custom($nservers:expr, $unreliable:expr, $max:expr, $body:expr)) => {
        Scenario {
            name: $name,
            run: |seed: u64, opts: &RunOptions| {
                run_world(seed, opts, $nservers, $unreliable, $max, $body)
            },
        }
    };
    ($( $name:literal => $kind:ident ( $($args:tt)* ) ),* $(,)?) => {
        vec![$( scenarios!(@row $name, $kind($($args)*)) ),*]
    };
}

/// The 23 tests of the lab alone.
fn lab_catalog() -> Catalog {
    Catalog {
        system: "kvraft",
        scenarios: scenarios![
            "TestBasic4A" => generic(1, 5, false, false, false, -1, false),
            "TestSpeed4A" => custom(3, false, None, |w| speed_test(w, None)),
            "TestConcurrent4A" => generic(5, 5, false, false, false, -1, false),
            "TestUnreliable4A" => generic(5, 5, true, false, false, -1, false),
            "TestUnreliableOneKey4A" => custom(3, true, None, unreliable_one_key),
            "TestOnePartition4A" => custom(5, false, None, one_partition),
            "TestManyPartitionsOneClient4A" => generic(1, 5, false, false, true, -1, false),
            "TestManyPartitionsManyClients4A" => generic(5, 5, false, false, true, -1, false),
            "TestPersistOneClient4A" => generic(1, 5, false, true, false, -1, false),
            "TestPersistConcurrent4A" => generic(5, 5, false, true, false, -1, false),
            "TestPersistConcurrentUnreliable4A" => generic(5, 5, true, true, false, -1, false),
            "TestPersistPartition4A" => generic(5, 5, false, true, true, -1, false),
            "TestPersistPartitionUnreliable4A" => generic(5, 5, true, true, true, -1, false),
            "TestPersistPartitionUnreliableLinearizable4A" =>
                generic(15, 7, true, true, true, -1, true),
            "TestSnapshotRPC4B" => custom(3, false, Some(1000), snapshot_rpc),
            "TestSnapshotSize4B" => custom(3, false, Some(1000), snapshot_size),
            "TestSpeed4B" => custom(3, false, Some(1000), |w| speed_test(w, Some(1000))),
            "TestSnapshotRecover4B" => generic(1, 5, false, true, false, 1000, false),
            "TestSnapshotRecoverManyClients4B" => generic(20, 5, false, true, false, 1000, false),
            "TestSnapshotUnreliable4B" => generic(5, 5, true, false, false, 1000, false),
            "TestSnapshotUnreliableRecover4B" => generic(5, 5, true, true, false, 1000, false),
            "TestSnapshotUnreliableRecoverConcurrentPartition4B" =>
                generic(5, 5, true, true, true, 1000, false),
            "TestSnapshotUnreliableRecoverConcurrentPartitionLinearizable4B" =>
                generic(15, 7, true, true, true, 1000, true),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partition_puts_the_leader_in_the_minority() {
        let w = World::new(1, &RunOptions::default(), 5, false, None);
        // No leader yet: server 0 stands in for it.
        let (p1, p2) = make_partition(&w);
        assert_eq!((p1, p2), (vec![1, 2, 3], vec![4, 0]));
    }
}
