//! The seven tests of `test-mr.sh` (catalog section 3), driven in virtual time. What each test
//! runs and asserts is shared with the real-process suite ([`mapreduce::script`]); this file only
//! drives.
//!
//! Each starts the coordinator, then (after the script's `sleep 1`, plus a per-seed jitter of
//! up to 50 ms per worker so that seeds explore different interleavings) its workers, and waits
//! for every process under its time limit (45 s; 120 s in the crash test) before it compares.

use std::rc::Rc;

use mapreduce::script::{check_early_exit, lab_test, LabTest};

use super::host::COORDINATOR;
use super::world::{reference, run_world, World, POLL_MS};
use crate::failure::Failure;
use crate::runner::{Catalog, RunOptions, Scenario};

type R = Result<(), Failure>;

fn the(name: &str) -> &'static LabTest {
    lab_test(name).expect("every scenario is a test of the script")
}

/// The script's assertion on the final output of `t`.
fn check(w: &World, t: &LabTest) -> R {
    let want = t.reference.map(reference).transpose()?;
    t.check(&w.output(), want)
        .map_err(|e| Failure::assertion(e.to_string()))
}

/// The coordinator, `sleep 1`, then the test's workers; waits for them all under its limit.
async fn run_job(w: &World, t: &LabTest) -> R {
    w.start_coordinator();
    w.sleep(1000).await;
    for slot in 1..=t.workers {
        w.sleep(w.rand(50)).await;
        w.start_worker(slot, t.app);
    }
    w.wait_exit(COORDINATOR, t.limit_ms).await?;
    for slot in 1..=t.workers {
        w.wait_exit(slot, t.limit_ms).await?;
    }
    Ok(())
}

/// wc, indexer, map_parallelism, reduce_parallelism, job_count: run, then check the output.
async fn plain(w: Rc<World>, name: &'static str) -> R {
    let t = the(name);
    // Computed (once per process) before the run, so a missing input fails before it starts.
    t.reference.map(reference).transpose()?;
    run_job(&w, t).await?;
    check(&w, t)
}

async fn early_exit(w: Rc<World>) -> R {
    run_job(&w, the("early_exit")).await?;
    let Some((at, first)) = w.first_exit() else {
        return Err(Failure::assertion("no process exited"));
    };
    check_early_exit(&first, &w.output())
        .map_err(|e| Failure::assertion(format!("{e} (the first exit at {at} ms)")))
}

/// One worker, and three loops that restart a worker while the coordinator runs (the script's
/// `while [ -e $SOCKNAME -a ! -f mr-done ]`), each restarted worker on its own slot.
async fn crash(w: Rc<World>) -> R {
    let t = the("crash");
    t.reference.map(reference).transpose()?;
    w.start_coordinator();
    w.sleep(1000).await;
    w.start_worker(1, t.app);
    for slot in 2..=t.workers {
        let w2 = w.clone();
        w.spawn(async move {
            w2.sleep(w2.rand(50)).await;
            while w2.alive(COORDINATOR) && !w2.coordinator_exited() {
                w2.start_worker(slot, t.app);
                while w2.alive(slot) {
                    w2.sleep(POLL_MS).await;
                }
                w2.sleep(1000).await;
            }
        });
    }
    w.wait_exit(COORDINATOR, t.limit_ms).await?;
    for slot in 1..=t.workers {
        w.wait_exit(slot, t.limit_ms).await?;
    }
    check(&w, t)
}

macro_rules! scenarios {
    ($($name:literal => $body:expr),* $(,)?) => {
        vec![$(Scenario {
            name: $name,
            run: |seed: u64, opts: &RunOptions| run_world(seed, opts, the($name).workers, $body),
        }),*]
    };
}

/// The MapReduce catalog, in the script's order.
pub fn catalog() -> Catalog {
    Catalog {
        system: "mr",
        scenarios: scenarios![
            "wc" => |w| plain(w, "wc"),
            "indexer" => |w| plain(w, "indexer"),
            "map_parallelism" => |w| plain(w, "map_parallelism"),
            "reduce_parallelism" => |w| plain(w, "reduce_parallelism"),
            "job_count" => |w| plain(w, "job_count"),
            "early_exit" => early_exit,
            "crash" => crash,
        ],
    }
}
