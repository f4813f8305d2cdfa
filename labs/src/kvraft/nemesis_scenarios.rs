//! The `Nemesis*` kvraft scenarios: beyond the lab catalog, a [`crate::nemesis`] drawn per seed
//! against five servers and five clients.
//!
//! The clients append, put and get on three shared keys while the nemesis acts for
//! [`NEMESIS_MS`]; the nemesis then settles (network healed, rules cleared, every server
//! restarted) and every client's operation in flight must finish, and a fresh clerk must read every
//! key, within [`PROGRESS_MS`], else the run fails with a liveness failure. The history is checked
//! for linearizability at the end, and the Raft invariants on every server after every event, as
//! in the lab's own scenarios (which these leave alone). Appends carry values unique per client
//! and operation, so a duplicated request executed twice shows in the history.

use std::cell::Cell;
use std::rc::Rc;

use super::world::{run_world, World, ELECTION_TIMEOUT, POLL_MS};
use crate::failure::Failure;
use crate::nemesis::{wait_until, Clients, Kind, KvMix, KvOp};
use crate::runner::{RunOptions, Scenario, ScenarioOutcome};

type R = Result<(), Failure>;

/// How long the nemesis acts, in virtual ms (longer histories cost the checker more).
pub const NEMESIS_MS: u64 = 10_000;
/// Once it stopped, what was in flight finishes, and a fresh read succeeds, within this.
pub const PROGRESS_MS: u64 = 10 * ELECTION_TIMEOUT;

const CLIENTS: usize = 5;
const KEYS: u64 = 3;

async fn client(w: Rc<World>, cli: usize, stop: Rc<Cell<bool>>) {
    let ck = w.make_clerk(&w.all());
    let mut mix = KvMix::new(KEYS, cli);
    while !stop.get() {
        match mix.draw(|n| w.rand(n)) {
            (key, KvOp::Append(v)) => {
                w.append(ck, &key, &v).await;
            }
            (key, KvOp::Put(v)) => {
                w.put(ck, &key, &v).await;
            }
            (key, KvOp::Get) => {
                w.get(ck, &key).await;
            }
        }
    }
}

async fn nemesis_body(w: Rc<World>, kinds: &'static [Kind]) -> R {
    let clients = Clients {
        count: CLIENTS,
        nemesis_ms: NEMESIS_MS,
        progress_ms: PROGRESS_MS,
        poll_ms: POLL_MS,
        settled: " (network healed, every server restarted)",
    };
    let w2 = w.clone();
    clients
        .run(&w, kinds, |cli, stop| client(w2.clone(), cli, stop))
        .await?;
    // A fresh clerk reads every key.
    let reads = Rc::new(Cell::new(0));
    let (w2, reads2) = (w.clone(), reads.clone());
    w.spawn(async move {
        let ck = w2.make_clerk(&w2.all());
        for key in 0..KEYS {
            w2.get(ck, &key.to_string()).await;
            reads2.set(reads2.get() + 1);
        }
    });
    let deadline = w.now() + PROGRESS_MS;
    if !wait_until(&w, &reads, KEYS as usize, deadline, POLL_MS).await {
        let msg = format!(
            "a fresh clerk read {} of {KEYS} keys within {PROGRESS_MS} ms after the nemesis \
             stopped",
            reads.get()
        );
        return Err(Failure::liveness(msg));
    }
    Ok(())
}

macro_rules! nemesis_scenarios {
    ($( $name:literal => ($snapshot:expr, $kinds:expr) ),* $(,)?) => {
        vec![$(
            Scenario {
                name: $name,
                run: {
                    fn run(seed: u64, opts: &RunOptions) -> ScenarioOutcome {
                        const KINDS: &[Kind] = $kinds;
                        run_world(seed, opts, 5, false, $snapshot, |w| nemesis_body(w, KINDS))
                    }
                    run
                },
            }
        ),*]
    };
}

/// The `Nemesis*` scenarios, appended to the kvraft catalog. The `Snapshot` ones run with
/// `maxraftstate` 1000, as the lab's 4B tests do.
pub fn scenarios() -> Vec<Scenario> {
    nemesis_scenarios![
        "NemesisSwarm" => (None, &Kind::ALL),
        "NemesisSwarmSnapshot" => (Some(1000), &Kind::ALL),
        "NemesisPartitions" => (None, &[Kind::Partition]),
        "NemesisOneWay" => (None, &[Kind::OneWay]),
        "NemesisCrashAnywhere" => (Some(1000), &[Kind::Crash, Kind::CrashAfterPersist]),
        "NemesisDuplicate" => (None, &[Kind::Duplicate, Kind::Latency]),
    ]
}
