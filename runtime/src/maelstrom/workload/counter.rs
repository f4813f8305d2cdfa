//! g-counter and pn-counter: clients add deltas and read the total.
//!
//! Generator: half the requests add a delta (g-counter 0..4, pn-counter -5..4), half read; after the run,
//! the network is healed and every node is read (the final reads).
//!
//! Check: a final read must equal the sum of the acknowledged adds plus the deltas of some subset of the
//! adds whose outcome is unknown (computed exactly, as a set of reachable sums). The counters are only
//! eventually consistent, so a read during the run need not see an acknowledged add; it is only checked to
//! lie within what some subset of the adds called before it returned could sum to (the sum of their
//! negative deltas to the sum of their positive ones).

use std::collections::BTreeSet;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::{ops_of, verdict_of, Analysis, JsonHistory, Request};

/// Above this many unknown adds the reachable sums are bounded by a range instead of enumerated.
const EXACT_LIMIT: usize = 4096;

pub fn next(negative: bool, node: String, rng: &mut ChaCha8Rng) -> Request {
    if rng.gen_bool(0.5) {
        let delta: i64 = if negative {
            rng.gen_range(-5..5)
        } else {
            rng.gen_range(0..5)
        };
        Request {
            input: json!({"f": "add", "delta": delta, "node": node}),
            body: json!({"type": "add", "delta": delta}),
            idempotent: false,
        }
    } else {
        Request {
            input: json!({"f": "read", "node": node}),
            body: json!({"type": "read"}),
            idempotent: true,
        }
    }
}

struct Add {
    call: i64,
    /// Return time when acknowledged.
    acked: Option<i64>,
    delta: i64,
}

pub fn check(history: &JsonHistory, node_count: usize) -> Analysis {
    let adds: Vec<Add> = ops_of(history, "add")
        .filter(|(_, op)| !op.failed)
        .filter_map(|(_, op)| {
            Some(Add {
                call: op.call,
                acked: op.ret.filter(|_| op.is_complete()),
                delta: op.input["delta"].as_i64()?,
            })
        })
        .collect();
    let base: i64 = adds
        .iter()
        .filter(|a| a.acked.is_some())
        .map(|a| a.delta)
        .sum();
    let unknown: Vec<i64> = adds
        .iter()
        .filter(|a| a.acked.is_none())
        .map(|a| a.delta)
        .collect();
    let low = base + unknown.iter().filter(|d| **d < 0).sum::<i64>();
    let high = base + unknown.iter().filter(|d| **d > 0).sum::<i64>();
    let reachable: Option<BTreeSet<i64>> = (unknown.len() <= EXACT_LIMIT).then(|| {
        let mut sums = BTreeSet::from([base]);
        for d in &unknown {
            let shifted: Vec<i64> = sums.iter().map(|s| s + d).collect();
            sums.extend(shifted);
        }
        sums
    });
    let possible = |v: i64| match &reachable {
        Some(set) => set.contains(&v),
        None => (low..=high).contains(&v),
    };

    let mut finals = BTreeSet::new();
    let mut wrong_finals = Vec::new();
    let mut wrong_reads = Vec::new();
    let mut malformed = Vec::new();
    for (index, op) in ops_of(history, "read") {
        let (Some(ret), Some(output)) = (op.ret, op.output.as_ref().filter(|_| op.is_complete()))
        else {
            continue;
        };
        let Some(value) = output["value"].as_i64() else {
            malformed.push(index);
            continue;
        };
        let node = op.input["node"].as_str().unwrap_or("?").to_string();
        if op.input["final"] == true {
            finals.insert(node.clone());
            if !possible(value) {
                wrong_finals.push(json!({"op": index, "node": node, "value": value, "acknowledged_sum": base, "unknown_adds": unknown.len(), "range": [low, high]}));
            }
            continue;
        }
        // Counters are only eventually consistent, so a read need not see an acknowledged add; it can
        // only be some subset of the adds called before it returned.
        let (mut lo, mut hi) = (0, 0);
        for a in adds.iter().filter(|a| a.call <= ret) {
            if a.delta < 0 {
                lo += a.delta;
            } else {
                hi += a.delta;
            }
        }
        if !(lo..=hi).contains(&value) {
            wrong_reads
                .push(json!({"op": index, "node": node, "value": value, "bounds": [lo, hi]}));
        }
    }
    let missing: Vec<String> = (0..node_count)
        .map(|i| format!("n{i}"))
        .filter(|n| !finals.contains(n))
        .collect();
    let mut summary = vec![format!(
        "{} adds ({} acknowledged, {} unknown), acknowledged sum {base}, possible final values {low}..={high}",
        adds.len(),
        adds.len() - unknown.len(),
        unknown.len()
    )];
    if let Some(w) = wrong_finals.first() {
        summary.push(format!(
            "final read of {} is {}, which no set of the adds sums to",
            w["node"].as_str().unwrap_or("?"),
            w["value"]
        ));
    }
    if let Some(w) = wrong_reads.first() {
        summary.push(format!(
            "read {} of {} saw {}, outside the bounds {} of what could have been applied",
            w["op"],
            w["node"].as_str().unwrap_or("?"),
            w["value"],
            w["bounds"]
        ));
    }
    if !missing.is_empty() {
        summary.push(format!("no final read from {}", missing.join(", ")));
    }
    let problems = !wrong_finals.is_empty() || !wrong_reads.is_empty() || !malformed.is_empty();
    Analysis {
        verdict: verdict_of(problems, missing.is_empty()),
        summary,
        evidence: json!({
            "acknowledged_sum": base,
            "unknown_adds": unknown,
            "final_range": [low, high],
            "wrong_final_reads": wrong_finals,
            "wrong_reads": wrong_reads,
            "malformed_reads": malformed,
            "missing_final_reads": missing,
        }),
        checked: None,
    }
}
