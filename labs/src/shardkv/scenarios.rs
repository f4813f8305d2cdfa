//! The tests of `src/shardkv/test_test.go` (2024: 5A, 5B and the two challenges) as scenarios,
//! with the same set-ups and assertions. Every clerk operation is also in the run's kv history and
//! every tester controller operation in its controller history; both are checked at the end (see
//! [`super::World`]).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use shardkv::key2shard;

use super::world::{Setup, World, POLL_MS};
use crate::failure::Failure;
use crate::runner::{Catalog, RunOptions, Scenario, ScenarioOutcome};

type R = Result<(), Failure>;

/// The tester: the world, its controller clerk `mck` and the main clerk `ck`.
struct T {
    w: Rc<World>,
    mck: usize,
}

impl T {
    fn new(w: Rc<World>) -> T {
        let mck = w.make_admin();
        T { w, mck }
    }

    /// `cfg.joinm(gis)`.
    async fn joinm(&self, gis: &[usize]) {
        let m: BTreeMap<u64, Vec<String>> = gis
            .iter()
            .map(|g| (self.w.gid(*g), self.w.group_servers(*g)))
            .collect();
        self.w.join(self.mck, m).await;
    }
    async fn join(&self, g: usize) {
        self.joinm(&[g]).await
    }
    /// `cfg.leavem(gis)`.
    async fn leavem(&self, gis: &[usize]) {
        let gids = gis.iter().map(|g| self.w.gid(*g)).collect();
        self.w.leave(self.mck, gids).await;
    }
    async fn leave(&self, g: usize) {
        self.leavem(&[g]).await
    }

    /// Shuts down all three groups, then starts them again.
    fn restart_all_groups(&self) {
        for g in 0..3 {
            self.w.shutdown_group(g);
        }
        for g in 0..3 {
            self.w.start_group(g);
        }
    }

    /// `randstring(n)`.
    fn randstring(&self, n: usize) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
        (0..n)
            .map(|_| CHARS[self.w.rand(CHARS.len() as u64) as usize] as char)
            .collect()
    }

    /// Puts `n` keys "0".."n-1" with random values of `len` bytes.
    async fn fill(&self, ck: usize, n: usize, len: usize) -> (Vec<String>, Vec<String>) {
        let mut ka = Vec::new();
        let mut va = Vec::new();
        for i in 0..n {
            ka.push(i.to_string());
            va.push(self.randstring(len));
            self.w.put(ck, &ka[i], &va[i]).await;
        }
        (ka, va)
    }

    /// For every key: check, then append a random string of `len` (updating `va`).
    async fn check_append(&self, ck: usize, ka: &[String], va: &mut [String], len: usize) -> R {
        for i in 0..ka.len() {
            self.w.check(ck, &ka[i], &va[i]).await?;
            let x = self.randstring(len);
            self.w.append(ck, &ka[i], &x).await;
            va[i].push_str(&x);
        }
        Ok(())
    }

    /// Puts `value` to each of the keys `0..n`; returns the keys and their values.
    async fn put_all(&self, ck: usize, n: usize, value: &str) -> (Vec<String>, Vec<String>) {
        let ka: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        let va = vec![value.to_string(); n];
        for i in 0..n {
            self.w.put(ck, &ka[i], &va[i]).await;
        }
        (ka, va)
    }

    /// For each key whose shard `owned` marks: check it, put its value with `suffix`, check it.
    async fn check_and_put_owned(
        &self,
        ck: usize,
        ka: &[String],
        va: &[String],
        owned: &[bool],
        suffix: &str,
    ) -> R {
        for i in 0..ka.len() {
            if owned[key2shard(&ka[i])] {
                self.w.check(ck, &ka[i], &va[i]).await?;
                let v = format!("{}{suffix}", va[i]);
                self.w.put(ck, &ka[i], &v).await;
                self.w.check(ck, &ka[i], &v).await?;
            }
        }
        Ok(())
    }

    async fn check_all(&self, ck: usize, ka: &[String], va: &[String]) -> R {
        for i in 0..ka.len() {
            self.w.check(ck, &ka[i], &va[i]).await?;
        }
        Ok(())
    }
}

/// Concurrent appenders on keys `0..n` (filled first by the main clerk), each with its own
/// clerk, until stopped; `pause` between appends (0: none). `va` is shared with the test.
struct Appenders {
    ka: Vec<String>,
    va: Rc<RefCell<Vec<String>>>,
    done: Rc<Cell<bool>>,
    finished: Rc<Cell<usize>>,
}

impl Appenders {
    async fn start(t: &Rc<T>, ck: usize, n: usize, len: usize, pause: u64) -> Appenders {
        let (ka, va) = t.fill(ck, n, len).await;
        let va = Rc::new(RefCell::new(va));
        let done = Rc::new(Cell::new(false));
        let finished = Rc::new(Cell::new(0));
        for (i, key) in ka.iter().enumerate() {
            let (t2, va, done, finished, key) = (
                t.clone(),
                va.clone(),
                done.clone(),
                finished.clone(),
                key.clone(),
            );
            let ck1 = t.w.make_clerk();
            t.w.spawn(async move {
                while !done.get() {
                    let x = t2.randstring(len);
                    t2.w.append(ck1, &key, &x).await;
                    va.borrow_mut()[i].push_str(&x);
                    if pause > 0 {
                        t2.w.sleep(pause).await;
                    }
                }
                finished.set(finished.get() + 1);
            });
        }
        Appenders {
            ka,
            va,
            done,
            finished,
        }
    }

    /// Tells the appenders to stop after their current append.
    fn stop(&self) {
        self.done.set(true);
    }

    /// Stops the appenders, waits for them, and checks every key with the main clerk.
    async fn stop_and_check(self, t: &T, ck: usize) -> R {
        self.stop();
        wait_for(&t.w, &self.finished, self.ka.len()).await;
        let va = self.va.borrow().clone();
        t.check_all(ck, &self.ka, &va).await
    }
}

async fn wait_for(w: &World, finished: &Cell<usize>, n: usize) {
    while finished.get() < n {
        w.sleep(POLL_MS).await;
    }
}

/// TestStaticShards5A: with one of two groups down, exactly half the Gets complete.
async fn static_shards(w: Rc<World>) -> R {
    let t = T::new(w.clone());
    let ck = w.make_clerk();
    t.join(0).await;
    t.join(1).await;
    let n = 10;
    let (ka, va) = t.fill(ck, n, 20).await;
    t.check_all(ck, &ka, &va).await?;
    // Make sure that the data really is sharded by shutting down one shard and checking that
    // some Get()s don't succeed.
    w.shutdown_group(1);
    w.checklogs()?; // forbid snapshots
    let ndone = concurrent_gets(&t, &ka, &va, |_| w.make_clerk()).await?;
    if ndone != 5 {
        return Err(Failure::assertion(format!(
            "expected 5 completions with one shard dead; got {ndone}"
        )));
    }
    // Bring the crashed shard/group back to life.
    w.start_group(1);
    t.check_all(ck, &ka, &va).await
}

/// One Get per key, each on a fresh clerk, all at once; counts those that complete before a 2 s
/// window passes with none completing (the Go test's `select` with `time.After(2s)`).
async fn concurrent_gets(
    t: &T,
    ka: &[String],
    va: &[String],
    mut clerk: impl FnMut(usize) -> usize,
) -> Result<usize, Failure> {
    let results: Rc<RefCell<Vec<Result<(), Failure>>>> = Rc::new(RefCell::new(Vec::new()));
    for i in 0..ka.len() {
        let ck1 = clerk(i); // only one call allowed per client
        let (w2, r, k, v) = (t.w.clone(), results.clone(), ka[i].clone(), va[i].clone());
        t.w.spawn(async move {
            let got = w2.get(ck1, &k).await;
            r.borrow_mut().push(if got == v {
                Ok(())
            } else {
                Err(Failure::assertion(format!(
                    "Get({k}): expected:\n{v}\nreceived:\n{got}"
                )))
            });
        });
    }
    let mut ndone = 0;
    let mut last = t.w.now();
    loop {
        let fresh: Vec<Result<(), Failure>> = results.borrow_mut().drain(..).collect();
        if !fresh.is_empty() {
            last = t.w.now();
        }
        for r in fresh {
            r?;
            ndone += 1;
        }
        if t.w.now() - last >= 2000 {
            return Ok(ndone);
        }
        t.w.sleep(POLL_MS).await;
    }
}

/// TestRejection5A: clerks of a second controller that gives every shard to group 0 get only
/// group 0's keys: the others are refused with ErrWrongGroup.
async fn rejection(w: Rc<World>) -> R {
    let t = T::new(w.clone());
    let ck = w.make_clerk();
    t.join(0).await;
    t.join(1).await;
    let n = 10;
    let (ka, va) = t.fill(ck, n, 20).await;
    t.check_all(ck, &ka, &va).await?;
    // Now a separate controller that thinks there is only one group (0).
    let ctrl2 = w.start_second_controller();
    let mck2 = w.make_admin_of(ctrl2);
    w.join(mck2, [(w.gid(0), w.group_servers(0))].into()).await;
    let ndone = concurrent_gets(&t, &ka, &va, |_| w.make_clerk_of(ctrl2)).await?;
    if ndone != 5 {
        return Err(Failure::assertion(format!(
            "expected 5 completions with the second controller; got {ndone}"
        )));
    }
    Ok(())
}

/// TestJoinLeave5B.
async fn join_leave(w: Rc<World>) -> R {
    let t = T::new(w.clone());
    let ck = w.make_clerk();
    t.join(0).await;
    let (ka, mut va) = t.fill(ck, 10, 5).await;
    t.check_all(ck, &ka, &va).await?;
    t.join(1).await;
    t.check_append(ck, &ka, &mut va, 5).await?;
    t.leave(0).await;
    t.check_append(ck, &ka, &mut va, 5).await?;
    // Allow time for shards to transfer.
    w.sleep(1000).await;
    w.checklogs()?;
    w.shutdown_group(0);
    t.check_all(ck, &ka, &va).await
}

/// TestSnapshot5B.
async fn snapshot(w: Rc<World>) -> R {
    let t = T::new(w.clone());
    let ck = w.make_clerk();
    t.join(0).await;
    let (ka, mut va) = t.fill(ck, 30, 20).await;
    t.check_all(ck, &ka, &va).await?;
    t.join(1).await;
    t.join(2).await;
    t.leave(0).await;
    t.check_append(ck, &ka, &mut va, 20).await?;
    t.leave(1).await;
    t.join(0).await;
    t.check_append(ck, &ka, &mut va, 20).await?;
    w.sleep(1000).await;
    t.check_all(ck, &ka, &va).await?;
    w.sleep(1000).await;
    w.checklogs()?;
    t.restart_all_groups();
    t.check_all(ck, &ka, &va).await
}

/// TestMissChange5B: one server of each group misses configuration changes and catches up.
async fn miss_change(w: Rc<World>) -> R {
    let t = T::new(w.clone());
    let ck = w.make_clerk();
    t.join(0).await;
    let (ka, mut va) = t.fill(ck, 10, 20).await;
    t.check_all(ck, &ka, &va).await?;
    t.join(1).await;
    for g in 0..3 {
        w.shutdown_server(g, 0);
    }
    t.join(2).await;
    t.leave(1).await;
    t.leave(0).await;
    t.check_append(ck, &ka, &mut va, 20).await?;
    t.join(1).await;
    t.check_append(ck, &ka, &mut va, 20).await?;
    for g in 0..3 {
        w.start_server(g, 0);
    }
    t.check_append(ck, &ka, &mut va, 20).await?;
    w.sleep(2000).await;
    for g in 0..3 {
        w.shutdown_server(g, 1);
    }
    t.join(0).await;
    t.leave(2).await;
    t.check_append(ck, &ka, &mut va, 20).await?;
    for g in 0..3 {
        w.start_server(g, 1);
    }
    t.check_all(ck, &ka, &va).await
}

/// TestConcurrent1_5B: appenders every 10 ms while groups join, leave, shut down and restart.
async fn concurrent1(w: Rc<World>) -> R {
    let t = Rc::new(T::new(w.clone()));
    let ck = w.make_clerk();
    t.join(0).await;
    let appenders = Appenders::start(&t, ck, 10, 5, 10).await;
    w.sleep(150).await;
    t.join(1).await;
    w.sleep(500).await;
    t.join(2).await;
    w.sleep(500).await;
    t.leave(0).await;
    w.shutdown_group(0);
    w.sleep(100).await;
    w.shutdown_group(1);
    w.sleep(100).await;
    w.shutdown_group(2);
    t.leave(2).await;
    w.sleep(100).await;
    w.start_group(0);
    w.start_group(1);
    w.start_group(2);
    w.sleep(100).await;
    t.join(0).await;
    t.leave(1).await;
    w.sleep(500).await;
    t.join(1).await;
    w.sleep(1000).await;
    appenders.stop_and_check(&t, ck).await
}

/// TestConcurrent2_5B: slower appenders; leave/join at 3 s intervals; two groups restarted.
async fn concurrent2(w: Rc<World>) -> R {
    let t = Rc::new(T::new(w.clone()));
    let ck = w.make_clerk();
    t.join(1).await;
    t.join(0).await;
    t.join(2).await;
    let appenders = Appenders::start(&t, ck, 10, 1, 50).await;
    t.leave(0).await;
    t.leave(2).await;
    w.sleep(3000).await;
    t.join(0).await;
    t.join(2).await;
    t.leave(1).await;
    w.sleep(3000).await;
    t.join(1).await;
    t.leave(0).await;
    t.leave(2).await;
    w.sleep(3000).await;
    w.shutdown_group(1);
    w.shutdown_group(2);
    w.sleep(1000).await;
    w.start_group(1);
    w.start_group(2);
    w.sleep(2000).await;
    appenders.stop_and_check(&t, ck).await
}

/// TestConcurrent3_5B: for 12 s, joins, a restart of every group and leaves at random intervals.
async fn concurrent3(w: Rc<World>) -> R {
    let t = Rc::new(T::new(w.clone()));
    let ck = w.make_clerk();
    t.join(0).await;
    let appenders = Appenders::start(&t, ck, 10, 1, 0).await;
    let t0 = w.now();
    while w.now() - t0 < 12_000 {
        t.join(2).await;
        t.join(1).await;
        w.sleep(w.rand(900)).await;
        t.restart_all_groups();
        w.sleep(w.rand(900)).await;
        t.leave(1).await;
        t.leave(2).await;
        w.sleep(w.rand(900)).await;
    }
    w.sleep(2000).await;
    appenders.stop_and_check(&t, ck).await
}

/// TestUnreliable1_5B.
async fn unreliable1(w: Rc<World>) -> R {
    let t = T::new(w.clone());
    let ck = w.make_clerk();
    t.join(0).await;
    let n = 10;
    let (ka, mut va) = t.fill(ck, n, 5).await;
    t.join(1).await;
    t.join(2).await;
    t.leave(0).await;
    for ii in 0..n * 2 {
        let i = ii % n;
        w.check(ck, &ka[i], &va[i]).await?;
        let x = t.randstring(5);
        w.append(ck, &ka[i], &x).await;
        va[i].push_str(&x);
    }
    t.join(0).await;
    t.leave(1).await;
    for ii in 0..n * 2 {
        let i = ii % n;
        w.check(ck, &ka[i], &va[i]).await?;
    }
    Ok(())
}

/// The reconfigurations of TestUnreliable2_5B and 3: joins and leaves 500 ms apart.
async fn unreliable_changes(t: &T) {
    let w = &t.w;
    w.sleep(150).await;
    t.join(1).await;
    w.sleep(500).await;
    t.join(2).await;
    w.sleep(500).await;
    t.leave(0).await;
    w.sleep(500).await;
    t.leave(1).await;
    w.sleep(500).await;
    t.join(1).await;
    t.join(0).await;
    w.sleep(2000).await;
}

/// TestUnreliable2_5B: appenders without pause on an unreliable network during reconfiguration.
async fn unreliable2(w: Rc<World>) -> R {
    let t = Rc::new(T::new(w.clone()));
    let ck = w.make_clerk();
    t.join(0).await;
    let appenders = Appenders::start(&t, ck, 10, 5, 0).await;
    unreliable_changes(&t).await;
    appenders.stop();
    w.set_reliable(true);
    appenders.stop_and_check(&t, ck).await
}

/// TestUnreliable3_5B: random Gets, Puts and Appends, checked for linearizability (here every
/// scenario's history is; this one has no other assertion).
async fn unreliable3(w: Rc<World>) -> R {
    let t = Rc::new(T::new(w.clone()));
    let ck = w.make_clerk();
    t.join(0).await;
    let n = 10;
    let (ka, _va) = t.fill(ck, n, 5).await;
    let done = Rc::new(Cell::new(false));
    let finished = Rc::new(Cell::new(0));
    for _ in 0..n {
        let (t2, done, finished, ka) = (t.clone(), done.clone(), finished.clone(), ka.clone());
        let ck1 = w.make_clerk();
        w.spawn(async move {
            while !done.get() {
                let ki = t2.w.rand(n as u64) as usize;
                let nv = t2.randstring(5);
                if t2.w.rand(1000) < 500 {
                    t2.w.append(ck1, &ka[ki], &nv).await;
                } else if t2.w.rand(1000) < 100 {
                    t2.w.put(ck1, &ka[ki], &nv).await;
                } else {
                    t2.w.get(ck1, &ka[ki]).await;
                }
            }
            finished.set(finished.get() + 1);
        });
    }
    unreliable_changes(&t).await;
    done.set(true);
    w.set_reliable(true);
    wait_for(&w, &finished, n).await;
    Ok(())
}

/// TestChallenge1Delete: shards no longer owned are deleted, so the persisted bytes stay small.
async fn challenge1_delete(w: Rc<World>) -> R {
    let t = T::new(w.clone());
    let ck = w.make_clerk();
    t.join(0).await;
    // 30,000 bytes of total values.
    let n = 30;
    let (ka, va) = t.fill(ck, n, 1000).await;
    let check3 = || async {
        for i in 0..3 {
            w.check(ck, &ka[i], &va[i]).await?;
        }
        Ok::<(), Failure>(())
    };
    check3().await?;
    for _ in 0..2 {
        t.join(1).await;
        t.leave(0).await;
        t.join(2).await;
        w.sleep(3000).await;
        check3().await?;
        t.leave(1).await;
        t.join(0).await;
        t.leave(2).await;
        w.sleep(3000).await;
        check3().await?;
    }
    t.join(1).await;
    t.join(2).await;
    w.sleep(1000).await;
    check3().await?;
    w.sleep(1000).await;
    check3().await?;
    w.sleep(1000).await;
    check3().await?;
    let total = w.total_bytes();
    // 27 keys should be stored once, 3 keys also in client dup tables, everything on 3
    // replicas, plus slop.
    let expected = 3 * (((n - 3) * 1000) + 2 * 3 * 1000 + 6000);
    if total > expected {
        return Err(Failure::assertion(format!(
            "snapshot + persisted Raft state are too big: {total} > {expected}"
        )));
    }
    t.check_all(ck, &ka, &va).await
}

/// TestChallenge2Unaffected: 101's shards keep working while 100 is dead and has left.
async fn challenge2_unaffected(w: Rc<World>) -> R {
    let t = T::new(w.clone());
    let ck = w.make_clerk();
    // JOIN 100
    t.join(0).await;
    // Do a bunch of puts to keys in all shards.
    let n = 10;
    let (ka, mut va) = t.put_all(ck, n, "100").await;
    // JOIN 101
    t.join(1).await;
    // QUERY to find shards now owned by 101.
    let c = w.query(t.mck, -1).await;
    let owned: Vec<bool> = c.shards.iter().map(|g| *g == w.gid(1)).collect();
    // Wait for migration to the new config to complete, and for clients to start using it.
    w.sleep(1000).await;
    // (The Go test indexes `owned` by key index here, and by shard below.)
    for i in 0..n {
        if owned[i] {
            va[i] = "101".into();
            w.put(ck, &ka[i], &va[i]).await;
        }
    }
    // KILL 100
    w.shutdown_group(0);
    // LEAVE 100: 101 doesn't get a chance to migrate things previously owned by 100.
    t.leave(0).await;
    // Wait to make sure clients see the new config.
    w.sleep(1000).await;
    // And finally: gets/puts for 101-owned keys still complete.
    t.check_and_put_owned(ck, &ka, &va, &owned, "-1").await
}

/// TestChallenge2Partial: 101 serves the shards it got from 102 without waiting for 100's.
async fn challenge2_partial(w: Rc<World>) -> R {
    let t = T::new(w.clone());
    let ck = w.make_clerk();
    // JOIN 100 + 101 + 102
    t.joinm(&[0, 1, 2]).await;
    // Give the implementation some time to reconfigure.
    w.sleep(1000).await;
    let (ka, va) = t.put_all(ck, 10, "100").await;
    // QUERY to find shards owned by 102.
    let c = w.query(t.mck, -1).await;
    let owned: Vec<bool> = c.shards.iter().map(|g| *g == w.gid(2)).collect();
    // KILL 100
    w.shutdown_group(0);
    // LEAVE 100 + 102: 101 can get old shards from 102, but not from 100.
    t.leavem(&[0, 2]).await;
    // Give the implementation some time to start reconfiguration and migrate 102 -> 101.
    w.sleep(1000).await;
    t.check_and_put_owned(ck, &ka, &va, &owned, "-2").await
}

type Body = fn(Rc<World>) -> Pin<Box<dyn Future<Output = R>>>;

fn run(seed: u64, opts: &RunOptions, setup: Setup, body: Body) -> ScenarioOutcome {
    let w = World::new(seed, opts, setup);
    let fut = body(w.clone());
    w.run_body(fut)
}

macro_rules! scenario {
    ($name:literal, $unreliable:expr, $max:expr, $f:ident) => {
        Scenario {
            name: $name,
            run: |seed: u64, opts: &RunOptions| {
                let max: i64 = $max;
                let setup = Setup::kv(3, $unreliable, usize::try_from(max).ok());
                run(seed, opts, setup, |w| Box::pin($f(w)))
            },
        }
    };
}

/// The shardkv catalog, in the order of the Go test file.
pub fn catalog() -> Catalog {
    Catalog {
        system: "shardkv",
        scenarios: vec![
            scenario!("TestStaticShards5A", false, -1, static_shards),
            scenario!("TestRejection5A", false, -1, rejection),
            scenario!("TestJoinLeave5B", false, -1, join_leave),
            scenario!("TestSnapshot5B", false, 1000, snapshot),
            scenario!("TestMissChange5B", false, 1000, miss_change),
            scenario!("TestConcurrent1_5B", false, 100, concurrent1),
            scenario!("TestConcurrent2_5B", false, -1, concurrent2),
            scenario!("TestConcurrent3_5B", false, 300, concurrent3),
            scenario!("TestUnreliable1_5B", true, 100, unreliable1),
            scenario!("TestUnreliable2_5B", true, 100, unreliable2),
            scenario!("TestUnreliable3_5B", true, 100, unreliable3),
            scenario!("TestChallenge1Delete", false, 1, challenge1_delete),
            scenario!("TestChallenge2Unaffected", true, 100, challenge2_unaffected),
            scenario!("TestChallenge2Partial", true, 100, challenge2_partial),
        ],
    }
}
