//! The tests of `src/shardctrler/test_test.go` (2024). TestBasic and TestMulti are `t.Run` parts
//! there; here each part is a scenario of its own that runs the parts before it as its set-up
//! (they build on one another's configs), so `TestBasic/Move` runs leave/join, historical queries
//! and move.

use std::collections::BTreeMap;
use std::rc::Rc;

use shardctrler::{Config, Gid, NSHARDS};

use crate::failure::Failure;
use crate::runner::{Catalog, RunOptions, Scenario, ScenarioOutcome};
use crate::shardkv::{Setup, World};

type R = Result<(), Failure>;

const NSERVERS: usize = 3;

/// `check(t, groups, ck)`: the latest config has exactly `groups`, every shard on one of them
/// (when there are any), and max - min <= 1 shards per group.
async fn check(w: &World, ck: usize, groups: &[Gid]) -> R {
    let c = w.query(ck, -1).await;
    if c.groups.len() != groups.len() {
        return Err(Failure::assertion(format!(
            "wanted {} groups, got {}",
            groups.len(),
            c.groups.len()
        )));
    }
    for g in groups {
        if !c.groups.contains_key(g) {
            return Err(Failure::assertion(format!("missing group {g}")));
        }
    }
    if !groups.is_empty() {
        for (s, g) in c.shards.iter().enumerate() {
            if !c.groups.contains_key(g) {
                return Err(Failure::assertion(format!(
                    "shard {s} -> invalid group {g}"
                )));
            }
        }
    }
    let mut counts: BTreeMap<Gid, usize> = BTreeMap::new();
    for g in c.shards {
        *counts.entry(g).or_default() += 1;
    }
    let (mut min, mut max) = (257, 0);
    for g in c.groups.keys() {
        let n = counts.get(g).copied().unwrap_or(0);
        max = max.max(n);
        min = min.min(n);
    }
    if max > min + 1 {
        return Err(Failure::assertion(format!(
            "max {max} too much larger than min {min}"
        )));
    }
    Ok(())
}

fn check_same_config(c1: &Config, c2: &Config) -> R {
    if c1.num != c2.num {
        return Err(Failure::assertion("num wrong"));
    }
    if c1.shards != c2.shards {
        return Err(Failure::assertion("shards wrong"));
    }
    if c1.groups != c2.groups {
        return Err(Failure::assertion("groups wrong"));
    }
    Ok(())
}

fn servers(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn one(gid: Gid, names: &[&str]) -> BTreeMap<Gid, Vec<String>> {
    [(gid, servers(names))].into()
}

/// The lab's minimal-transfer check, which looks only at gids `1..=npara`.
fn minimal(c1: &Config, c2: &Config, c3: Option<&Config>, npara: Gid, what: &str) -> R {
    for i in 1..=npara {
        for j in 0..NSHARDS {
            if c2.shards[j] == i {
                let before = match c3 {
                    None => c1.shards[j],
                    Some(c3) => c3.shards[j],
                };
                if before != i {
                    return Err(Failure::assertion(format!(
                        "non-minimal transfer after {what}"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// TestBasic, up to and including part `upto` (0-based).
async fn basic(w: Rc<World>, upto: usize) -> R {
    let ck = w.make_admin();

    // Basic leave/join
    let mut cfa = Vec::new();
    cfa.push(w.query(ck, -1).await);
    check(&w, ck, &[]).await?;
    let (gid1, gid2) = (1, 2);
    w.join(ck, one(gid1, &["x", "y", "z"])).await;
    check(&w, ck, &[gid1]).await?;
    cfa.push(w.query(ck, -1).await);
    w.join(ck, one(gid2, &["a", "b", "c"])).await;
    check(&w, ck, &[gid1, gid2]).await?;
    cfa.push(w.query(ck, -1).await);
    let cfx = w.query(ck, -1).await;
    if cfx.groups[&gid1] != servers(&["x", "y", "z"]) {
        return Err(Failure::assertion(format!(
            "wrong servers for gid {gid1}: {:?}",
            cfx.groups[&gid1]
        )));
    }
    if cfx.groups[&gid2] != servers(&["a", "b", "c"]) {
        return Err(Failure::assertion(format!(
            "wrong servers for gid {gid2}: {:?}",
            cfx.groups[&gid2]
        )));
    }
    // The Go test's `cfa := make([]Config, 6)` never sets cfa[3]: it stays the zero Config,
    // which is config 0, and Historical queries asks for it too.
    cfa.push(Config::default());
    w.leave(ck, vec![gid1]).await;
    check(&w, ck, &[gid2]).await?;
    cfa.push(w.query(ck, -1).await);
    w.leave(ck, vec![gid2]).await;
    cfa.push(w.query(ck, -1).await);
    if upto == 0 {
        return Ok(());
    }

    // Historical queries
    for s in 0..NSERVERS {
        w.shutdown_ctrler(s);
        for c in &cfa {
            let got = w.query(ck, c.num as i64).await;
            check_same_config(&got, c)?;
        }
        w.start_ctrler(s);
    }
    if upto == 1 {
        return Ok(());
    }

    // Move
    let (gid3, gid4) = (503, 504);
    w.join(ck, one(gid3, &["3a", "3b", "3c"])).await;
    w.join(ck, one(gid4, &["4a", "4b", "4c"])).await;
    for i in 0..NSHARDS {
        let cf = w.query(ck, -1).await;
        let to = if i < NSHARDS / 2 { gid3 } else { gid4 };
        w.move_shard(ck, i, to).await;
        if cf.shards[i] != to {
            let cf1 = w.query(ck, -1).await;
            if cf1.num <= cf.num {
                return Err(Failure::assertion("Move should increase Config.Num"));
            }
        }
    }
    let cf2 = w.query(ck, -1).await;
    for i in 0..NSHARDS {
        let want = if i < NSHARDS / 2 { gid3 } else { gid4 };
        if cf2.shards[i] != want {
            return Err(Failure::assertion(format!(
                "expected shard {i} on gid {want} actually {}",
                cf2.shards[i]
            )));
        }
    }
    w.leave(ck, vec![gid3]).await;
    w.leave(ck, vec![gid4]).await;
    if upto == 2 {
        return Ok(());
    }

    // Concurrent leave/join
    const NPARA: usize = 10;
    let cka: Vec<usize> = (0..NPARA).map(|_| w.make_admin()).collect();
    let gids: Vec<Gid> = (0..NPARA).map(|i| (i as Gid * 10) + 100).collect();
    let finished = Rc::new(std::cell::Cell::new(0));
    for (i, &c) in cka.iter().enumerate() {
        let (w2, f, gid) = (w.clone(), finished.clone(), gids[i]);
        w.spawn(async move {
            let sid1 = format!("s{gid}a");
            let sid2 = format!("s{gid}b");
            w2.join(c, [(gid + 1000, vec![sid1])].into()).await;
            w2.join(c, [(gid, vec![sid2])].into()).await;
            w2.leave(c, vec![gid + 1000]).await;
            f.set(f.get() + 1);
        });
    }
    while finished.get() < NPARA {
        w.sleep(10).await;
    }
    check(&w, ck, &gids).await?;
    if upto == 3 {
        return Ok(());
    }

    // Minimal transfers after joins
    let c1 = w.query(ck, -1).await;
    for i in 0..5 {
        let gid = (NPARA + 1 + i) as Gid;
        let names = [format!("{gid}a"), format!("{gid}b"), format!("{gid}b")];
        w.join(ck, [(gid, names.to_vec())].into()).await;
    }
    let c2 = w.query(ck, -1).await;
    minimal(&c1, &c2, None, NPARA as Gid, "Join()s")?;
    if upto == 4 {
        return Ok(());
    }

    // Minimal transfers after leaves
    for i in 0..5 {
        w.leave(ck, vec![(NPARA + 1 + i) as Gid]).await;
    }
    let c3 = w.query(ck, -1).await;
    minimal(&c1, &c2, Some(&c3), NPARA as Gid, "Leave()s")
}

/// TestMinimalAgain.
async fn minimal_again(w: Rc<World>) -> R {
    let ck = w.make_admin();
    w.join(ck, one(1, &["1a", "1b", "1c"])).await;
    w.join(ck, one(2, &["2a", "2b", "2c"])).await;
    let c1 = w.query(ck, -1).await;
    w.join(ck, one(3, &["3a", "3b", "3c"])).await;
    let c2 = w.query(ck, -1).await;
    let mut moved = 0;
    for s in 0..NSHARDS {
        if c2.shards[s] != c1.shards[s] {
            if c2.shards[s] != 3 {
                return Err(Failure::assertion(format!(
                    "shard {s} moved to {} rather than 3",
                    c2.shards[s]
                )));
            }
            moved += 1;
        }
    }
    if moved > NSHARDS / 3 + 1 {
        return Err(Failure::assertion(format!(
            "too many shards moved after join: {moved}"
        )));
    }
    w.leave(ck, vec![1]).await;
    let c3 = w.query(ck, -1).await;
    moved = 0;
    for s in 0..NSHARDS {
        if c3.shards[s] != c2.shards[s] {
            if c2.shards[s] != 1 {
                return Err(Failure::assertion(format!(
                    "shard {s} not on the leaving group moved"
                )));
            }
            moved += 1;
        }
    }
    if moved > NSHARDS / 3 + 1 {
        return Err(Failure::assertion(format!(
            "too many shards moved after leave: {moved}"
        )));
    }
    Ok(())
}

/// TestMulti, up to and including part `upto`.
async fn multi(w: Rc<World>, upto: usize) -> R {
    let ck = w.make_admin();

    // Multi-group join/leave
    let _cfa0 = w.query(ck, -1).await;
    check(&w, ck, &[]).await?;
    let (gid1, gid2, gid3) = (1, 2, 3);
    let mut m = one(gid1, &["x", "y", "z"]);
    m.insert(gid2, servers(&["a", "b", "c"]));
    w.join(ck, m).await;
    check(&w, ck, &[gid1, gid2]).await?;
    let _cfa1 = w.query(ck, -1).await;
    w.join(ck, one(gid3, &["j", "k", "l"])).await;
    check(&w, ck, &[gid1, gid2, gid3]).await?;
    let _cfa2 = w.query(ck, -1).await;
    let cfx = w.query(ck, -1).await;
    for (g, names) in [
        (gid1, ["x", "y", "z"]),
        (gid2, ["a", "b", "c"]),
        (gid3, ["j", "k", "l"]),
    ] {
        if cfx.groups[&g] != servers(&names) {
            return Err(Failure::assertion(format!(
                "wrong servers for gid {g}: {:?}",
                cfx.groups[&g]
            )));
        }
    }
    w.leave(ck, vec![gid1, gid3]).await;
    check(&w, ck, &[gid2]).await?;
    // (The Go test keeps these as cfa[1..=3] and never reads them; the queries are in the
    // controller history all the same.)
    let _cfa3 = w.query(ck, -1).await;
    let cfx = w.query(ck, -1).await;
    if cfx.groups[&gid2] != servers(&["a", "b", "c"]) {
        return Err(Failure::assertion(format!("wrong servers for gid {gid2}")));
    }
    w.leave(ck, vec![gid2]).await;
    if upto == 0 {
        return Ok(());
    }

    // Concurrent multi leave/join
    const NPARA: usize = 10;
    let cka: Vec<usize> = (0..NPARA).map(|_| w.make_admin()).collect();
    let gids: Vec<Gid> = (0..NPARA).map(|i| i as Gid + 1000).collect();
    let finished = Rc::new(std::cell::Cell::new(0));
    for (i, &c) in cka.iter().enumerate() {
        let (w2, f, gid) = (w.clone(), finished.clone(), gids[i]);
        w.spawn(async move {
            let m: BTreeMap<Gid, Vec<String>> = [
                (
                    gid,
                    vec![format!("{gid}a"), format!("{gid}b"), format!("{gid}c")],
                ),
                (gid + 1000, vec![format!("{}a", gid + 1000)]),
                (gid + 2000, vec![format!("{}a", gid + 2000)]),
            ]
            .into();
            w2.join(c, m).await;
            w2.leave(c, vec![gid + 1000, gid + 2000]).await;
            f.set(f.get() + 1);
        });
    }
    while finished.get() < NPARA {
        w.sleep(10).await;
    }
    check(&w, ck, &gids).await?;
    if upto == 1 {
        return Ok(());
    }

    // Minimal transfers after multijoins
    let c1 = w.query(ck, -1).await;
    let m: BTreeMap<Gid, Vec<String>> = (0..5)
        .map(|i| {
            let gid = (NPARA + 1 + i) as Gid;
            (gid, vec![format!("{gid}a"), format!("{gid}b")])
        })
        .collect();
    w.join(ck, m).await;
    let c2 = w.query(ck, -1).await;
    minimal(&c1, &c2, None, NPARA as Gid, "multijoins")?;
    if upto == 2 {
        return Ok(());
    }

    // Minimal transfers after multileaves
    let l: Vec<Gid> = (0..5).map(|i| (NPARA + 1 + i) as Gid).collect();
    w.leave(ck, l).await;
    let c3 = w.query(ck, -1).await;
    minimal(&c1, &c2, Some(&c3), NPARA as Gid, "multileaves")?;
    if upto == 3 {
        return Ok(());
    }

    // Check Same config on servers
    let Some(leader) = w.ctrl_leader() else {
        return Err(Failure::assertion("Leader not found"));
    };
    let c = w.query(ck, -1).await;
    w.shutdown_ctrler(leader);
    // As written in Go: `for isLeader, leader = cfg.Leader(); isLeader; time.Sleep(1s)` asks
    // for the leader once, so it waits only while a server that still believes it leads is
    // there, and fails on the third pass; the Query below then waits for the new leader.
    if w.ctrl_leader().is_some() {
        // Passes 1 and 2 sleep 1 s each; the third fails.
        w.sleep(2000).await;
        return Err(Failure::assertion("Leader not found"));
    }
    let c1 = w.query(ck, -1).await;
    check_same_config(&c, &c1)
}

fn run(
    seed: u64,
    opts: &RunOptions,
    body: impl FnOnce(Rc<World>) -> BodyFuture,
) -> ScenarioOutcome {
    let w = World::new(seed, opts, Setup::ctrl(NSERVERS));
    let fut = body(w.clone());
    w.run_body(fut)
}

type BodyFuture = std::pin::Pin<Box<dyn std::future::Future<Output = R>>>;

macro_rules! part {
    ($name:literal, $f:ident, $upto:expr) => {
        Scenario {
            name: $name,
            run: |seed: u64, opts: &RunOptions| run(seed, opts, |w| Box::pin($f(w, $upto))),
        }
    };
}

/// The shardctrler catalog, in the order of the Go test file.
pub fn catalog() -> Catalog {
    Catalog {
        system: "shardctrler",
        scenarios: vec![
            part!("TestBasic/BasicLeaveJoin", basic, 0),
            part!("TestBasic/HistoricalQueries", basic, 1),
            part!("TestBasic/Move", basic, 2),
            part!("TestBasic/ConcurrentLeaveJoin", basic, 3),
            part!("TestBasic/MinimalTransfersAfterJoins", basic, 4),
            part!("TestBasic/MinimalTransfersAfterLeaves", basic, 5),
            Scenario {
                name: "TestMinimalAgain",
                run: |seed, opts| run(seed, opts, |w| Box::pin(minimal_again(w))),
            },
            part!("TestMulti/MultiGroupJoinLeave", multi, 0),
            part!("TestMulti/ConcurrentMultiLeaveJoin", multi, 1),
            part!("TestMulti/MinimalTransfersAfterMultijoins", multi, 2),
            part!("TestMulti/MinimalTransfersAfterMultileaves", multi, 3),
            part!("TestMulti/CheckSameConfigOnServers", multi, 4),
        ],
    }
}
