//! The `Nemesis*` Raft scenarios: beyond the lab catalog, a [`crate::nemesis`] drawn per seed
//! against a cluster under a steady stream of commands.
//!
//! Every scenario has the same shape, and its name says which fault kinds the seed's nemesis draws
//! from: three clients start commands on whichever servers accept them and note the values they
//! see committed, while the nemesis acts for [`NEMESIS_MS`]; then the nemesis settles (network
//! healed, rules cleared, every server restarted) and the cluster must make progress within
//! [`PROGRESS_MS`] (a command applied by every server: the lab's `one` bound, ten election
//! timeouts), else the run fails with a liveness failure. Last, every value a client saw committed
//! must be in the final log. The Raft invariants and the tester's appliers check every event
//! throughout, as in the lab's own scenarios, whose semantics these leave alone.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::world::{cmd, cmd_value, run_cluster, Cluster, ELECTION_TIMEOUT};
use crate::fail;
use crate::failure::Failure;
use crate::nemesis::{Driver, Kind};
use crate::runner::{RunOptions, Scenario, ScenarioOutcome};

type R = Result<(), Failure>;

/// How long the nemesis acts, in virtual ms.
pub const NEMESIS_MS: u64 = 20_000;
/// Once it stopped, a command must be applied by every server within this (`one`'s 10 s).
pub const PROGRESS_MS: u64 = 10 * ELECTION_TIMEOUT;

/// A client: starts commands on every server until `stop`, and keeps the values it saw committed.
async fn client(c: Rc<Cluster>, me: u64, stop: Rc<Cell<bool>>, seen: Rc<RefCell<Vec<u64>>>) {
    while !stop.get() {
        let x = c.rand_value();
        let mut index = None;
        for i in 0..c.n() {
            if let Some((index1, _, true)) = c.start_cmd(i, cmd(x)) {
                index = Some(index1);
            }
        }
        let Some(index) = index else {
            c.sleep(79 + me * 17).await;
            continue;
        };
        for to in [10, 20, 50, 100, 200] {
            match c.n_committed(index) {
                Err(f) => return c.fail(f),
                Ok((nd, Some(v))) if nd > 0 => {
                    if cmd_value(&v) == Some(x) {
                        seen.borrow_mut().push(x);
                    }
                    break;
                }
                Ok(_) => {}
            }
            c.sleep(to).await;
        }
    }
}

/// After the nemesis settled: a fresh command applied by all servers within [`PROGRESS_MS`]
/// (the tester's `one` with retries: a server that still believes it leads may accept the command
/// and lose it, so it is started again, on the next server that accepts it, every 2 s). Returns
/// its index. A safety failure on the way is returned as it is.
async fn progress(c: &Cluster) -> Result<u64, Failure> {
    let (t0, n) = (c.now(), c.n());
    let x = cmd(c.rand_value());
    let mut next = 0;
    while c.now() - t0 < PROGRESS_MS {
        let mut index = None;
        for _ in 0..n {
            next = (next + 1) % n;
            if let Some((i, _, true)) = c.start_cmd(next, x.clone()) {
                index = Some(i);
                break;
            }
        }
        let Some(index) = index else {
            c.sleep(50).await;
            continue;
        };
        let t1 = c.now();
        while c.now() - t1 < 2000 && c.now() - t0 < PROGRESS_MS {
            if let (nd, Some(v)) = c.n_committed(index)? {
                if nd == n && v == x {
                    return Ok(index);
                }
            }
            c.sleep(20).await;
        }
    }
    Err(Failure::liveness(format!(
        "no command applied by all {n} servers within {PROGRESS_MS} ms after the nemesis stopped \
         (network healed, every server restarted)"
    )))
}

async fn nemesis_body(c: Rc<Cluster>, kinds: &'static [Kind]) -> R {
    let stop = Rc::new(Cell::new(false));
    let clients = 3u64;
    let done = Rc::new(Cell::new(0u64));
    let seen: Rc<RefCell<Vec<u64>>> = Rc::default();
    for me in 0..clients {
        let (c2, stop2, seen2, done2) = (c.clone(), stop.clone(), seen.clone(), done.clone());
        c.spawn(async move {
            client(c2, me, stop2, seen2).await;
            done2.set(done2.get() + 1);
        });
    }
    let mut nemesis = Driver::draw(&c, kinds);
    nemesis.run(&c, NEMESIS_MS).await;
    nemesis.settle(&c);
    stop.set(true);
    while done.get() < clients {
        c.sleep(10).await;
    }
    let last = progress(&c).await?;
    let mut log = Vec::new();
    for index in 1..=last {
        match c
            .wait(index, c.n(), None)
            .await?
            .as_deref()
            .and_then(cmd_value)
        {
            Some(x) => log.push(x),
            None => fail!("index {index} holds no integer command"),
        }
    }
    for v in seen.borrow().iter() {
        if !log.contains(v) {
            fail!("value {v} was seen committed but is not in the final log");
        }
    }
    Ok(())
}

macro_rules! nemesis_scenarios {
    ($( $name:literal => ($n:expr, snapshot: $snap:expr, $kinds:expr) ),* $(,)?) => {
        vec![$(
            Scenario {
                name: $name,
                run: {
                    fn run(seed: u64, opts: &RunOptions) -> ScenarioOutcome {
                        const KINDS: &[Kind] = $kinds;
                        run_cluster(seed, opts, $n, false, $snap, |c| nemesis_body(c, KINDS))
                    }
                    run
                },
            }
        ),*]
    };
}

/// The `Nemesis*` scenarios, appended to the Raft catalog.
pub fn scenarios() -> Vec<Scenario> {
    nemesis_scenarios![
        "NemesisSwarm" => (5, snapshot: false, &Kind::ALL),
        "NemesisSwarmSnapshot" => (5, snapshot: true, &Kind::ALL),
        "NemesisPartitions" => (5, snapshot: false, &[Kind::Partition]),
        "NemesisOneWay" => (5, snapshot: false, &[Kind::OneWay]),
        "NemesisCrashAnywhere" => (5, snapshot: false, &[Kind::Crash, Kind::CrashAfterPersist]),
        "NemesisCrashAfterPersistSnapshot" => (3, snapshot: true, &[Kind::CrashAfterPersist]),
        "NemesisDuplicate" => (5, snapshot: false, &[Kind::Duplicate, Kind::Latency]),
        "NemesisLatency" => (5, snapshot: false, &[Kind::Latency, Kind::Reordering]),
    ]
}
