//! g-set and broadcast: elements added (broadcast) by clients, read back whole; the set-full check.
//!
//! Generator: half the requests add a fresh element (0, 1, 2, ... across all clients), half read. After
//! the run the network is healed and every node is read once more (the final reads).
//!
//! Check: every element whose add was acknowledged must be in every node's final read (otherwise it is
//! *lost*), and no read may hold an element that was never added (*unexpected*). If a final read could not
//! be made the verdict is unknown. For each element, the *visibility latency* is the time from its add's
//! call until, on every node, every read from then on holds it (Maelstrom's stable latency); elements that
//! never became stable are counted apart.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value as Json};

use super::{ops_of, verdict_of, Analysis, JsonHistory, Request};

/// The next fresh element.
#[derive(Default)]
pub struct Elements(AtomicU64);

impl Elements {
    fn fresh(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}

pub fn gset(elements: &Elements, node: String, rng: &mut ChaCha8Rng) -> Request {
    if rng.gen_bool(0.5) {
        let e = elements.fresh();
        Request {
            input: json!({"f": "add", "element": e, "node": node}),
            body: json!({"type": "add", "element": e}),
            idempotent: false,
        }
    } else {
        read(node)
    }
}

pub fn broadcast(elements: &Elements, node: String, rng: &mut ChaCha8Rng) -> Request {
    if rng.gen_bool(0.5) {
        let m = elements.fresh();
        Request {
            input: json!({"f": "broadcast", "message": m, "node": node}),
            body: json!({"type": "broadcast", "message": m}),
            idempotent: false,
        }
    } else {
        read(node)
    }
}

fn read(node: String) -> Request {
    Request {
        input: json!({"f": "read", "node": node}),
        body: json!({"type": "read"}),
        idempotent: true,
    }
}

/// Quantiles of a sorted list of durations in nanoseconds, in milliseconds.
pub fn quantiles_ms(sorted: &[i64]) -> Json {
    if sorted.is_empty() {
        return Json::Null;
    }
    let q = |p: f64| {
        let i = ((sorted.len() - 1) as f64 * p).round() as usize;
        sorted[i] as f64 / 1e6
    };
    json!({"count": sorted.len(), "min": q(0.0), "p50": q(0.5), "p95": q(0.95), "p99": q(0.99), "max": q(1.0)})
}

/// The set-full check; `add` elements are in the input field `element`, reads in the output field `field`.
pub fn check(history: &JsonHistory, node_count: usize, element: &str, field: &str) -> Analysis {
    let add_f = if element == "message" {
        "broadcast"
    } else {
        "add"
    };
    // Adds: element -> (call time, acknowledged).
    let mut attempted: BTreeMap<u64, (i64, bool)> = BTreeMap::new();
    for (_, op) in ops_of(history, add_f) {
        if let Some(e) = op.input[element].as_u64() {
            attempted.insert(e, (op.call, op.is_complete()));
        }
    }
    // Reads by node, in call order: (call, return, elements).
    let mut reads: BTreeMap<String, Vec<(i64, i64, BTreeSet<u64>)>> = BTreeMap::new();
    let mut finals: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    let mut unexpected: BTreeSet<u64> = BTreeSet::new();
    let mut malformed = Vec::new();
    for (index, op) in ops_of(history, "read") {
        let (Some(ret), Some(output)) = (op.ret, op.output.as_ref().filter(|_| op.is_complete()))
        else {
            continue;
        };
        let Some(items) = output[field].as_array() else {
            malformed.push(index);
            continue;
        };
        let set: BTreeSet<u64> = items.iter().filter_map(Json::as_u64).collect();
        if items.iter().any(|v| v.as_u64().is_none()) {
            malformed.push(index);
        }
        unexpected.extend(set.iter().filter(|e| !attempted.contains_key(e)));
        let node = op.input["node"].as_str().unwrap_or("?").to_string();
        if op.input["final"] == true {
            finals.insert(node.clone(), set.clone());
        }
        reads.entry(node).or_default().push((op.call, ret, set));
    }
    let missing_finals: Vec<String> = (0..node_count)
        .map(|i| format!("n{i}"))
        .filter(|n| !finals.contains_key(n))
        .collect();
    // Lost: acknowledged, yet missing from some final read.
    let mut lost: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (&e, &(_, acked)) in &attempted {
        if !acked {
            continue;
        }
        for (node, set) in &finals {
            if !set.contains(&e) {
                lost.entry(e).or_default().push(node.clone());
            }
        }
    }
    // Stable latency: per node, the call time of the first read after which every read holds e.
    let mut latencies = Vec::new();
    let mut never_stable = 0;
    for (&e, &(call, _)) in &attempted {
        let mut stable_at = Some(call);
        for node_reads in reads.values() {
            let mut since: Option<i64> = None;
            for (read_call, _, set) in node_reads {
                if set.contains(&e) {
                    since.get_or_insert(*read_call);
                } else {
                    since = None;
                }
            }
            stable_at = match (stable_at, since) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
        }
        match stable_at {
            Some(t) if !reads.is_empty() => latencies.push((t - call).max(0)),
            _ => never_stable += 1,
        }
    }
    latencies.sort_unstable();
    let acked = attempted.values().filter(|(_, a)| *a).count();
    let mut summary = vec![format!(
        "{} added ({} acknowledged), {} lost, {} unexpected, final reads from {} of {} nodes",
        attempted.len(),
        acked,
        lost.len(),
        unexpected.len(),
        finals.len(),
        node_count
    )];
    if let Some((e, nodes)) = lost.iter().next() {
        summary.push(format!(
            "lost: {e} (acknowledged) is missing from the final read of {}",
            nodes.join(", ")
        ));
    }
    if let Some(e) = unexpected.iter().next() {
        summary.push(format!("unexpected: {e} was read but never added"));
    }
    if !missing_finals.is_empty() {
        summary.push(format!("no final read from {}", missing_finals.join(", ")));
    }
    let stable = quantiles_ms(&latencies);
    if !stable.is_null() {
        summary.push(format!(
            "visibility latency (ms): p50 {} p95 {} max {}; {} never stable",
            stable["p50"], stable["p95"], stable["max"], never_stable
        ));
    }
    let problems = !lost.is_empty() || !unexpected.is_empty() || !malformed.is_empty();
    Analysis {
        verdict: verdict_of(problems, missing_finals.is_empty()),
        summary,
        evidence: json!({
            "attempted": attempted.len(),
            "acknowledged": acked,
            "lost": lost.iter().map(|(e, nodes)| json!({"element": e, "missing_on": nodes})).collect::<Vec<_>>(),
            "unexpected": unexpected,
            "malformed_reads": malformed,
            "missing_final_reads": missing_finals,
            "stable_latency_ms": stable,
            "never_stable": never_stable,
        }),
        checked: None,
    }
}
