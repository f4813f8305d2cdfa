//! The lab's ten tests (src/kvsrv/test_test.go, 2024) as scenarios.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use checker::models::KvInput;

use super::world::{run_world, World};
use crate::kv::{
    append_value, arc, check_clnt_appends, check_concurrent_appends, in_history, next_value,
};
use crate::runner::{Catalog, RunOptions, Scenario};
use std::sync::Arc;

use sim::Time;

use super::world::POLL_MS;
use crate::failure::Failure;

const MIB: usize = 1 << 20;

// ----- the tests (src/kvsrv/test_test.go, 2024) --------------------------------------------------

type R = Result<(), Failure>;

/// `GenericTest(nclients, unreliable, randomkeys)`: 3 iterations of clients appending and getting
/// for 1 s, each client checking what it sees against what it wrote.
async fn generic_test(w: Rc<World>, nclients: usize, randomkeys: bool) -> R {
    const NITER: usize = 3;
    const TIME: Time = 1000;
    let ck = w.make_clerk();
    for _ in 0..NITER {
        let stop = Rc::new(Cell::new(false));
        let counts: Rc<RefCell<Vec<Option<usize>>>> = Rc::new(RefCell::new(vec![None; nclients]));
        for cli in 0..nclients {
            let (w2, stop, counts) = (w.clone(), stop.clone(), counts.clone());
            let myck = w.make_clerk();
            w.spawn(async move {
                let w = w2;
                let mut j = 0;
                let mut last = String::new();
                if !randomkeys {
                    w.put(myck, &cli.to_string(), arc(&last)).await;
                }
                while !stop.get() {
                    let key = if randomkeys {
                        w.rand(nclients as u64).to_string()
                    } else {
                        cli.to_string()
                    };
                    let nv = append_value(cli, j);
                    if w.rand(1000) < 500 {
                        let l = w.append(myck, &key, arc(&nv)).await;
                        if !randomkeys {
                            if j > 0 {
                                let o = append_value(cli, j - 1);
                                if !in_history(&o, &l) {
                                    return w.fail(format!("error: old {o} not in return\n{l}"));
                                }
                            }
                            if in_history(&nv, &l) {
                                return w.fail(format!(
                                    "error: new value {nv} in returned values\n{l}"
                                ));
                            }
                            last = next_value(&last, &nv);
                        }
                        j += 1;
                    } else if randomkeys && w.rand(1000) < 100 {
                        w.put(myck, &key, arc(&nv)).await;
                        j += 1;
                    } else {
                        let v = w.get(myck, &key).await;
                        if !randomkeys && v != last {
                            return w.fail(format!(
                                "get wrong value, key {key}, wanted:\n{last}\n, got\n{v}"
                            ));
                        }
                    }
                }
                counts.borrow_mut()[cli] = Some(j);
            });
        }
        w.sleep(TIME).await;
        stop.set(true);
        for i in 0..nclients {
            let j = loop {
                if let Some(j) = counts.borrow()[i] {
                    break j;
                }
                w.sleep(POLL_MS).await;
            };
            let v = w.get(ck, &i.to_string()).await;
            if !randomkeys {
                check_clnt_appends(i, &v, j).map_err(|e| Failure::assertion(e.to_string()))?;
            }
        }
    }
    Ok(())
}

/// TestUnreliableOneKey2: 5 clients append 10 values each to one key; no Append's old value holds
/// its own value, and the final value holds every append once, in order per client.
async fn unreliable_one_key(w: Rc<World>) -> R {
    const NCLIENT: usize = 5;
    const UPTO: usize = 10;
    let ck = w.make_clerk();
    w.put(ck, "k", arc("")).await;
    let finished = Rc::new(Cell::new(0));
    for me in 0..NCLIENT {
        let (w2, finished) = (w.clone(), finished.clone());
        let myck = w.make_clerk();
        w.spawn(async move {
            for n in 0..UPTO {
                let nv = append_value(me, n);
                let ov = w2.append(myck, "k", arc(&nv)).await;
                if in_history(&nv, &ov) {
                    return w2.fail(format!("error: nv {nv} in returned values\n{ov}"));
                }
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

/// TestMemGet2: after a 10 MiB value is read by two clerks and overwritten, the server keeps no
/// copy of it (no cached Get replies).
async fn mem_get(w: Rc<World>) -> R {
    const MEM: usize = 10;
    let (ck0, ck1) = (w.make_clerk(), w.make_clerk());
    let rd: Arc<str> = w.rand_value(MIB * MEM).into();
    w.put(ck0, "k", rd.clone()).await;
    if w.get(ck0, "k").await.len() != rd.len() {
        return Err(Failure::assertion("error: incorrect len"));
    }
    if w.get(ck1, "k").await.len() != rd.len() {
        return Err(Failure::assertion("error: incorrect len"));
    }
    w.put(ck0, "k", arc("0")).await;
    memory_below(&w, MEM * MIB)
}

/// The tests' memory bound: the server holds fewer than `limit` bytes.
fn memory_below(w: &World, limit: usize) -> R {
    let m = w.server_bytes();
    if m >= limit {
        return Err(Failure::assertion(format!(
            "error: server using too much memory {m} B (limit {limit} B)"
        )));
    }
    Ok(())
}

/// TestMemPut2: a Put of 10 MiB by one clerk, then a Put of "" by another: Put values are not cached.
async fn mem_put(w: Rc<World>) -> R {
    const MEM: usize = 10;
    let (ck0, ck1) = (w.make_clerk(), w.make_clerk());
    let rd: Arc<str> = w.rand_value(MIB * MEM).into();
    w.put(ck0, "k", rd).await;
    w.put(ck1, "k", arc("")).await;
    memory_below(&w, MEM * MIB)
}

/// TestMemAppend2: two Appends of 10 MiB from two clerks leave at most 30 MiB (the value, 20 MiB,
/// and the one old value cached for the second clerk), compared in whole MiB as the Go test does.
async fn mem_append(w: Rc<World>) -> R {
    const MEM: usize = 10;
    let (ck0, ck1) = (w.make_clerk(), w.make_clerk());
    let rd: Arc<str> = w.rand_value(MIB * MEM).into();
    w.append(ck0, "k", rd.clone()).await;
    w.append(ck1, "k", rd).await;
    let m = w.server_bytes() / MIB;
    if m > 3 * MEM {
        return Err(Failure::assertion(format!(
            "error: server using too much memory {m} MiB (limit {} MiB)",
            3 * MEM
        )));
    }
    Ok(())
}

/// TestMemPutManyClients: 100,000 clerks each Put 1000 B once: at most 200 B per client remain.
async fn mem_put_many(w: Rc<World>) -> R {
    const NCLIENT: usize = 100_000;
    const SZ: usize = 1000;
    let v: Arc<str> = w.rand_value(SZ).into();
    let cks: Vec<usize> = (0..NCLIENT).map(|_| w.make_clerk()).collect();
    w.sleep(1000).await;
    let m0 = w.server_bytes();
    let key = arc("k");
    w.sequence(
        cks.iter()
            .map(|&ck| {
                (
                    ck,
                    KvInput::Put {
                        key: key.clone(),
                        value: v.clone(),
                    },
                )
            })
            .collect(),
    )
    .await;
    let m1 = w.server_bytes();
    if m1 > m0 + NCLIENT * 200 {
        let f = (m1 as f64 - m0 as f64) / NCLIENT as f64;
        return Err(Failure::assertion(format!(
            "error: server using too much memory {m0} {m1} ({f:.2} per client)"
        )));
    }
    Ok(())
}

/// TestMemGetManyClients: 100,000 clerks each Get once: at most 10 B per client remain.
async fn mem_get_many(w: Rc<World>) -> R {
    const NCLIENT: usize = 100_000;
    let ck = w.make_clerk();
    w.put(ck, "0", arc("")).await;
    let cks: Vec<usize> = (0..NCLIENT).map(|_| w.make_clerk()).collect();
    w.sleep(1000).await;
    let m0 = w.server_bytes();
    let key = arc("0");
    w.sequence(
        cks.iter()
            .map(|&ck| (ck, KvInput::Get { key: key.clone() }))
            .collect(),
    )
    .await;
    let m1 = w.server_bytes();
    if m1 >= m0 + NCLIENT * 10 {
        let f = (m1 as f64 - m0 as f64) / NCLIENT as f64;
        return Err(Failure::assertion(format!(
            "error: server using too much memory {m0} {m1} ({f:.2} per client)"
        )));
    }
    Ok(())
}

/// TestMemManyAppends: one clerk appends 1000 B 1000 times: less than 3 MB retained (old cached
/// values are freed).
async fn mem_many_appends(w: Rc<World>) -> R {
    const N: usize = 1000;
    const MEM: usize = 1000;
    let ck = w.make_clerk();
    let rd: Arc<str> = w.rand_value(MEM).into();
    let key = arc("k");
    w.skip_append_outputs();
    w.sequence(
        (0..N)
            .map(|_| {
                (
                    ck,
                    KvInput::Append {
                        key: key.clone(),
                        value: rd.clone(),
                    },
                )
            })
            .collect(),
    )
    .await;
    let m1 = w.server_bytes();
    if m1 >= 3 * N * MEM {
        return Err(Failure::assertion(format!(
            "error: server using too much memory: {m1} B (limit {} B)",
            3 * N * MEM
        )));
    }
    // Not in the Go test: every append is there exactly once.
    let v = w.get(ck, "k").await;
    if v != rd.repeat(N) {
        return Err(Failure::assertion(format!(
            "final value has {} B, wanted {N} appends of {MEM} B",
            v.len()
        )));
    }
    Ok(())
}

macro_rules! scenarios {
    ($($name:literal => ($unreliable:expr, $body:expr)),* $(,)?) => {
        vec![$(Scenario {
            name: $name,
            run: |seed: u64, opts: &RunOptions| run_world(seed, opts, $unreliable, $body),
        }),*]
    };
}

/// The kvsrv catalog, in the order of the Go test file, then the `Nemesis*` scenarios
/// (`nemesis_scenarios`).
pub fn catalog() -> Catalog {
    lab_catalog().followed_by(super::nemesis_scenarios::scenarios())
}

/// The ten tests of the lab alone.
fn lab_catalog() -> Catalog {
    Catalog {
        system: "kvsrv",
        scenarios: scenarios![
            "TestBasic2" => (false, |w| generic_test(w, 1, false)),
            "TestConcurrent2" => (false, |w| generic_test(w, 5, false)),
            "TestUnreliable2" => (true, |w| generic_test(w, 5, false)),
            "TestUnreliableOneKey2" => (true, unreliable_one_key),
            "TestMemGet2" => (true, mem_get),
            "TestMemPut2" => (false, mem_put),
            "TestMemAppend2" => (false, mem_append),
            "TestMemPutManyClients" => (false, mem_put_many),
            "TestMemGetManyClients" => (false, mem_get_many),
            "TestMemManyAppends" => (false, mem_many_appends),
        ],
    }
}
