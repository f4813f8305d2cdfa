//! The `Nemesis*` kvsrv scenarios: beyond the lab catalog, a network nemesis drawn per seed
//! ([`crate::nemesis`], network kinds only: one server whose state is not durable cannot crash).
//!
//! Five clients append, put and get on three shared keys while requests are duplicated (a copy
//! may arrive up to 300 ms later, after the clerk's next request), delayed, reordered and dropped
//! for [`NEMESIS_MS`]; then the nemesis settles and every client's operation in flight must finish
//! within [`PROGRESS_MS`] (a liveness failure otherwise). The history is checked for
//! linearizability at the end: an Append executed twice shows there, since every appended value is
//! unique.

use std::cell::Cell;
use std::rc::Rc;

use super::world::{run_world, World, POLL_MS};
use crate::failure::Failure;
use crate::kv::arc;
use crate::nemesis::{Clients, Kind, KvMix, KvOp};
use crate::runner::{RunOptions, Scenario, ScenarioOutcome};

type R = Result<(), Failure>;

/// How long the nemesis acts, in virtual ms.
pub const NEMESIS_MS: u64 = 3000;
/// Once it stopped, what was in flight finishes within this.
pub const PROGRESS_MS: u64 = 5000;

const CLIENTS: usize = 5;
const KEYS: u64 = 3;

async fn client(w: Rc<World>, cli: usize, stop: Rc<Cell<bool>>) {
    let ck = w.make_clerk();
    let mut mix = KvMix::new(KEYS, cli);
    while !stop.get() {
        match mix.draw(|n| w.rand(n)) {
            (key, KvOp::Append(v)) => {
                w.append(ck, &key, arc(&v)).await;
            }
            (key, KvOp::Put(v)) => {
                w.put(ck, &key, arc(&v)).await;
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
        settled: "",
    };
    let w2 = w.clone();
    clients
        .run(&w, kinds, |cli, stop| client(w2.clone(), cli, stop))
        .await
        .map_err(Failure::from)
}

/// The `Nemesis*` scenarios, appended to the kvsrv catalog.
pub fn scenarios() -> Vec<Scenario> {
    fn duplicate(seed: u64, opts: &RunOptions) -> ScenarioOutcome {
        const KINDS: &[Kind] = &[Kind::Duplicate];
        run_world(seed, opts, false, |w| nemesis_body(w, KINDS))
    }
    fn network(seed: u64, opts: &RunOptions) -> ScenarioOutcome {
        run_world(seed, opts, false, |w| {
            nemesis_body(w, crate::nemesis::NETWORK_KINDS)
        })
    }
    vec![
        Scenario {
            name: "NemesisDuplicate",
            run: duplicate,
        },
        Scenario {
            name: "NemesisNetwork",
            run: network,
        },
    ]
}
