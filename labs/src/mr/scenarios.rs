//! The seven tests of `test-mr.sh` (catalog section 3), with the script's assertions.
//!
//! Each starts the coordinator, then (after the script's `sleep 1`, plus a per-seed jitter of
//! up to 50 ms per worker so that seeds explore different interleavings) its workers, and waits
//! for every process under its time limit (45 s; 120 s in the crash test) before it compares.

use std::rc::Rc;

use sim::Time;

use super::host::COORDINATOR;
use super::world::{reference, run_world, World, POLL_MS};
use crate::runner::{Catalog, RunOptions, Scenario};

type R = Result<(), String>;

/// `timeout -k 2s 45s`.
const LIMIT: Time = 45_000;
/// The crash test's `timeout -k 2s 120s`.
const CRASH_LIMIT: Time = 120_000;

fn compare(test: &str, got: &[u8], want: &[u8]) -> R {
    if got == want {
        return Ok(());
    }
    let (g, w) = (String::from_utf8_lossy(got), String::from_utf8_lossy(want));
    let at = g
        .lines()
        .zip(w.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| g.lines().count().min(w.lines().count()));
    Err(format!(
        "{test}: output is not the same as the sequential output ({} lines, want {}); line {}: got {:?}, want {:?}",
        g.lines().count(),
        w.lines().count(),
        at + 1,
        g.lines().nth(at).unwrap_or("<end>"),
        w.lines().nth(at).unwrap_or("<end>")
    ))
}

/// The coordinator, `sleep 1`, then `workers` workers of `app`; waits for them all.
async fn run_job(w: &World, app: &'static str, workers: usize, limit: Time) -> R {
    w.start_coordinator();
    w.sleep(1000).await;
    for slot in 1..=workers {
        w.sleep(w.rand(50)).await;
        w.start_worker(slot, app);
    }
    w.wait_exit(COORDINATOR, limit).await?;
    for slot in 1..=workers {
        w.wait_exit(slot, limit).await?;
    }
    Ok(())
}

async fn wc(w: Rc<World>) -> R {
    let want = reference("wc")?;
    run_job(&w, "wc", 3, LIMIT).await?;
    compare("wc", &w.output(), want)
}

async fn indexer(w: Rc<World>) -> R {
    let want = reference("indexer")?;
    run_job(&w, "indexer", 2, LIMIT).await?;
    compare("indexer", &w.output(), want)
}

async fn map_parallelism(w: Rc<World>) -> R {
    run_job(&w, "mtiming", 2, LIMIT).await?;
    let out = String::from_utf8_lossy(&w.output()).into_owned();
    let times = out.lines().filter(|l| l.starts_with("times-")).count();
    if times != 2 {
        return Err(format!(
            "map workers did not run in parallel: {times} `times-` lines, want 2"
        ));
    }
    // grep '^parallel.* 2'
    if !out
        .lines()
        .any(|l| l.starts_with("parallel") && l.contains(" 2"))
    {
        return Err("map workers did not run in parallel: no line `^parallel.* 2`".into());
    }
    Ok(())
}

async fn reduce_parallelism(w: Rc<World>) -> R {
    run_job(&w, "rtiming", 2, LIMIT).await?;
    let out = String::from_utf8_lossy(&w.output()).into_owned();
    // grep '^[a-z] 2'
    let n = out
        .lines()
        .filter(|l| {
            let b = l.as_bytes();
            b.len() >= 3 && b[0].is_ascii_lowercase() && &b[1..3] == b" 2"
        })
        .count();
    if n < 2 {
        return Err(format!(
            "too few parallel reduces: {n} lines `^[a-z] 2`, want at least 2"
        ));
    }
    Ok(())
}

async fn job_count(w: Rc<World>) -> R {
    run_job(&w, "jobcount", 4, LIMIT).await?;
    let out = String::from_utf8_lossy(&w.output()).into_owned();
    if !out.lines().any(|l| l == "a 8") {
        return Err(format!(
            "map jobs ran incorrect number of times: output {:?}, want `a 8`",
            out.trim()
        ));
    }
    Ok(())
}

async fn early_exit(w: Rc<World>) -> R {
    run_job(&w, "early_exit", 3, LIMIT).await?;
    let Some((at, first)) = w.first_exit() else {
        return Err("no process exited".into());
    };
    let last = w.output();
    if first != last {
        return Err(format!(
            "output changed after the first process exited at {at} ms: {} lines then, {} at the end",
            String::from_utf8_lossy(&first).lines().count(),
            String::from_utf8_lossy(&last).lines().count()
        ));
    }
    Ok(())
}

/// One worker, and three loops that restart a worker while the coordinator runs (the script's
/// `while [ -e $SOCKNAME -a ! -f mr-done ]`), each restarted worker on its own slot.
async fn crash(w: Rc<World>) -> R {
    let want = reference("nocrash")?;
    w.start_coordinator();
    w.sleep(1000).await;
    w.start_worker(1, "crash");
    for slot in 2..=4 {
        let w2 = w.clone();
        w.spawn(async move {
            w2.sleep(w2.rand(50)).await;
            while w2.alive(COORDINATOR) && !w2.coordinator_exited() {
                w2.start_worker(slot, "crash");
                while w2.alive(slot) {
                    w2.sleep(POLL_MS).await;
                }
                w2.sleep(1000).await;
            }
        });
    }
    w.wait_exit(COORDINATOR, CRASH_LIMIT).await?;
    for slot in 1..=4 {
        w.wait_exit(slot, CRASH_LIMIT).await?;
    }
    compare("crash", &w.output(), want)
}

macro_rules! scenarios {
    ($($name:literal => ($slots:expr, $body:expr)),* $(,)?) => {
        vec![$(Scenario {
            name: $name,
            run: |seed: u64, opts: &RunOptions| run_world(seed, opts, $slots, $body),
        }),*]
    };
}

/// The MapReduce catalog, in the script's order.
pub fn catalog() -> Catalog {
    Catalog {
        system: "mr",
        scenarios: scenarios![
            "wc" => (3, wc),
            "indexer" => (2, indexer),
            "map_parallelism" => (2, map_parallelism),
            "reduce_parallelism" => (2, reduce_parallelism),
            "job_count" => (4, job_count),
            "early_exit" => (3, early_exit),
            "crash" => (4, crash),
        ],
    }
}
