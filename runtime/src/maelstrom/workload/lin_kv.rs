//! lin-kv: a linearizable key/value store, checked by Quill's checker as a cas-register per key.
//!
//! Generator (Maelstrom's): the clients form groups of 2 x node-count threads, each group on one key at a
//! time. In a group, half the threads only read; the rest choose among write, cas and cas, with values
//! 0-4. A key is retired for a fresh one (0, 1, 2, ...) once 20 distinct processes have touched it, or
//! once it has had `--per-key-limit` operations (Quill's addition, which keeps every key's history short).
//!
//! Recording: a read answered with error 20 (key does not exist) *observed* the absent initial value, and
//! a cas answered with 20 or 22 (precondition failed) *observed* that the register did not hold `from`:
//! both are completed operations that constrain the state, not failures, so the checker uses them (a
//! store that says "no such key" for a key that has a value is caught). Other definite errors fail the
//! operation; indefinite errors and timeouts leave it unknown, except for reads, which then fail.

use std::collections::BTreeSet;
use std::sync::Mutex;

use checker::models::{CasOutput, KeyedCasInput, KeyedCasRegister};
use checker::{History, HistoryView, Operation, Options, Verdict};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value as Json};

use super::{classify, error_code, Analysis, BadReply, JsonHistory, Outcome, Request};
use crate::maelstrom::config::Config;
use crate::maelstrom::protocol::{code, Message};

/// A key is retired once this many distinct processes have used it.
const PROCESSES_PER_KEY: usize = 20;

struct Group {
    key: u64,
    ops: usize,
    processes: BTreeSet<u64>,
}

/// The keys the groups are working on.
pub struct Keys {
    group_size: usize,
    per_key_limit: usize,
    groups: Vec<Mutex<Group>>,
    next_key: Mutex<u64>,
}

impl Keys {
    pub fn new(config: &Config) -> Self {
        let group_size = 2 * config.node_count;
        let count = (config.concurrency / group_size).max(1);
        Keys {
            group_size,
            per_key_limit: config.per_key_limit.max(1),
            groups: (0..count)
                .map(|g| {
                    Mutex::new(Group {
                        key: g as u64,
                        ops: 0,
                        processes: BTreeSet::new(),
                    })
                })
                .collect(),
            next_key: Mutex::new(count as u64),
        }
    }

    pub fn next(&self, worker: usize, process: u64, rng: &mut ChaCha8Rng) -> Request {
        let group = &self.groups[(worker / self.group_size) % self.groups.len()];
        let key = {
            let mut g = group.lock().unwrap_or_else(|e| e.into_inner());
            g.processes.insert(process);
            if g.ops >= self.per_key_limit || g.processes.len() > PROCESSES_PER_KEY {
                let mut next = self.next_key.lock().unwrap_or_else(|e| e.into_inner());
                g.key = *next;
                *next += 1;
                g.ops = 0;
                g.processes = BTreeSet::from([process]);
            }
            g.ops += 1;
            g.key
        };
        let reader = worker % self.group_size < self.group_size / 2;
        let choice = if reader { 0 } else { rng.gen_range(1..4) };
        match choice {
            0 => Request {
                input: json!({"key": key, "op": "read"}),
                body: json!({"type": "read", "key": key}),
                idempotent: true,
            },
            1 => {
                let value = rng.gen_range(0..5);
                Request {
                    input: json!({"key": key, "op": "write", "value": value}),
                    body: json!({"type": "write", "key": key, "value": value}),
                    idempotent: false,
                }
            }
            _ => {
                let (from, to) = (rng.gen_range(0..5), rng.gen_range(0..5));
                Request {
                    input: json!({"key": key, "op": "cas", "from": from, "to": to}),
                    body: json!({"type": "cas", "key": key, "from": from, "to": to}),
                    idempotent: false,
                }
            }
        }
    }
}

/// Classifies a reply with lin-kv's error semantics (module guide).
pub fn complete(request: &Request, reply: &Message) -> Result<Outcome, BadReply> {
    let op = request.input["op"].as_str().unwrap_or_default();
    if reply.kind() == "error" {
        let code = error_code(reply)?;
        match (op, code) {
            ("read", code::KEY_DOES_NOT_EXIST) => return Ok(Outcome::Ok(json!({"value": null}))),
            ("cas", code::KEY_DOES_NOT_EXIST | code::PRECONDITION_FAILED) => {
                return Ok(Outcome::Ok(json!({"ok": false})))
            }
            _ => {}
        }
    }
    let body = match classify(reply, &format!("{op}_ok"), request.idempotent)? {
        Ok(body) => body,
        Err(outcome) => return Ok(outcome),
    };
    Ok(Outcome::Ok(match op {
        "read" => json!({"value": body.get("value").cloned().unwrap_or(Json::Null)}),
        "cas" => json!({"ok": true}),
        _ => json!({}),
    }))
}

/// Types the recorded history for the keyed cas-register model.
pub fn typed(history: &JsonHistory) -> History<KeyedCasInput, CasOutput> {
    let operations = history
        .operations
        .iter()
        .map(|op| Operation {
            client: op.client,
            call: op.call,
            ret: op.ret,
            input: serde_json::from_value(op.input.clone())
                .expect("the runner records lin-kv inputs in the keyed-cas-register format"),
            output: op
                .output
                .as_ref()
                .filter(|_| !op.failed)
                .map(|o| serde_json::from_value(o.clone()).unwrap_or_default()),
            failed: op.failed,
        })
        .collect();
    History {
        operations,
        annotations: history.annotations.clone(),
    }
}

pub fn check(history: &JsonHistory) -> Analysis {
    let typed = typed(history);
    let model = KeyedCasRegister;
    let view = HistoryView::new(&model, "keyed-cas-register", &typed);
    let options = Options {
        all_partitions: true,
        ..Options::default()
    };
    let result = match checker::check(&model, &typed, &options) {
        Ok(result) => result,
        Err(e) => {
            return Analysis {
                verdict: Verdict::Unknown,
                summary: vec![format!("the history could not be checked: {e}")],
                evidence: json!({"error": e.to_string()}),
                checked: None,
            }
        }
    };
    let mut summary = vec![format!(
        "{}: {} operations on {} keys, {} states explored, checked in {:.3} s",
        result.verdict,
        typed.len(),
        result.partitions.len(),
        result.states_explored(),
        result.micros as f64 / 1e6
    )];
    let mut illegal = Vec::new();
    for partition in result.illegal() {
        let detail = partition.partial.first().map(|p| {
            let op = &view.operations[p.blocking];
            json!({
                "key": partition.label,
                "linearized": p.steps.len(),
                "state": p.steps.last().map(|s| s.state.clone()).unwrap_or_else(|| partition.initial_state.clone()),
                "blocking_op": p.blocking,
                "blocking": op.label(),
                "client": op.client,
            })
        });
        if let Some(detail) = &detail {
            summary.push(format!(
                "key {}: after {} operations (state {}), {} by process {} cannot be linearized",
                partition.label,
                detail["linearized"],
                detail["state"].as_str().unwrap_or(""),
                detail["blocking"].as_str().unwrap_or(""),
                detail["client"]
            ));
        }
        illegal.push(detail.unwrap_or(json!({"key": partition.label})));
    }
    Analysis {
        verdict: result.verdict,
        summary,
        evidence: json!({
            "model": "keyed-cas-register",
            "keys": result.partitions.len(),
            "states_explored": result.states_explored(),
            "analysis_micros": result.micros,
            "illegal_keys": illegal,
        }),
        checked: Some((view, result)),
    }
}
